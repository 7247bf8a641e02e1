"""Write a corpus of hostile list files (and import specs) for the fuzz suite.

Usage: python tests/fuzz/make_corpus.py OUT_DIR     (prints the count per category)

Every file is generated here, from a fixed seed: nothing is downloaded and nothing is kept in
the repository. The categories are those of issue #20: huge fields, wide files, odd headers,
broken CSV, mixed and odd encodings, corrupt XLSX (zip, XML, styles, no sheet, bombs), deep and
odd JSON, Parquet with nested, decimal, bytes and invalid UTF-8 columns, hostile import specs,
extreme values, and files whose only "header" is a person's row. Every person in them is a
canary (``CANARIES``): no message may ever print one.
"""

from __future__ import annotations

import csv
import io
import json
import random
import struct
import sys
import zipfile
from collections.abc import Callable, Collection, Iterator
from dataclasses import dataclass
from pathlib import Path

#: Names and an ID that must never appear in what undercount prints.
CANARIES = ("Zzcanary", "Qqname", "Qqdot", "زززكناري", "ققاسم", "918273645", "Wwtwo")
HEADER = ["name", "age", "sex", "id_number", "date_of_death", "place"]
ROWS = [
    ["Zzcanary Qqname", "34", "male", "918273645", "2023-10-20", "Gaza"],
    ["زززكناري ققاسم علي", "7", "female", "", "2023-10-21", "رفح"],
    ["Qqdot.Zzcanary Wwtwo", "61", "female", "", "2023-11-02", "Khan Yunis"],
]


@dataclass(frozen=True)
class Hostile:
    """One hostile input: the file, an optional spec, and what must happen (None: anything but a
    crash). ``expect`` is a fragment the output must hold."""

    category: str
    file: Path
    spec: Path | None = None
    exit_code: int | None = None
    expect: str | None = None


def _csv(rows: list[list[str]], header: list[str] | None = HEADER, delimiter: str = ",") -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, delimiter=delimiter, lineterminator="\n")
    if header is not None:
        writer.writerow(header)
    writer.writerows(rows)
    return buf.getvalue()


class Corpus:
    """Collects hostile inputs into a folder, one sub-folder per category."""

    def __init__(self, out: Path) -> None:
        self.out = out
        self.items: list[Hostile] = []
        self.rng = random.Random(20)

    def add(self, category: str, name: str, data: bytes | str, *, spec: bytes | str | None = None,
            exit_code: int | None = None, expect: str | None = None) -> None:
        folder = self.out / category
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / name
        path.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)
        spec_path = None
        if spec is not None:
            spec_path = folder / (path.stem + ".spec.toml")
            spec_path.write_bytes(spec.encode("utf-8") if isinstance(spec, str) else spec)
        self.items.append(Hostile(category, path, spec_path, exit_code, expect))


# -- CSV ----------------------------------------------------------------------------------------
def huge_fields(c: Corpus) -> None:
    for size in (131_073, 200_000, 1_000_000):
        big = "x" * size
        c.add("huge_field", f"cell_{size}.csv", _csv([ROWS[0], [big, "3", "", "", "", ""]]), exit_code=1,
              expect="characters, more than the 65,536")
        c.add("huge_field", f"header_{size}.csv", _csv(ROWS, [big, *HEADER[1:]]), exit_code=1)
        c.add("huge_field", f"quoted_lines_{size}.csv",
              _csv([ROWS[0], ['a\n' * (size // 2), "3", "", "", "", ""]]), exit_code=1)
        c.add("huge_field", f"last_{size}.csv", _csv(ROWS).rstrip("\n") + "," + "y" * size)
    c.add("huge_field", "just_below.csv", _csv([*ROWS, ["z" * 65_536, "3", "", "", "", ""]]), exit_code=0)
    c.add("huge_field", "one_line_9mb.csv", "n" * (9 << 20), exit_code=1)


def wide(c: Corpus) -> None:
    def table(columns: int, rows: int = 3, header: list[str] | None = None) -> str:
        head = header or ["name", "age"] + [f"c{i}" for i in range(columns - 2)]
        body = [[r[0], r[1]] + [str(i % 10) for i in range(columns - 2)] for r in ROWS[:rows]]
        return _csv(body, head)

    for columns in (2_000, 16_384):
        c.add("wide", f"cols_{columns}.csv", table(columns), exit_code=0)
    for columns in (16_385, 20_000, 50_000):
        c.add("wide", f"cols_{columns}.csv", table(columns), exit_code=1, expect="columns, more than the 16,384")
    c.add("wide", "dup_headers_5000.csv", table(5_000, header=["name"] * 5_000), exit_code=0)
    c.add("wide", "empty_headers_3000.csv", table(3_000, header=["name", "age"] + [""] * 2_998), exit_code=0)
    c.add("wide", "wide_header_narrow_rows.csv", _csv(ROWS, HEADER + [f"h{i}" for i in range(10_000)]))
    c.add("wide", "narrow_header_wide_rows.csv", _csv([r + ["1"] * 20_000 for r in ROWS]))


def odd_headers(c: Corpus) -> None:
    headers = {
        "renamed_repeat": ["name (2)", "name", "name", "age"],
        "repeat_three": ["name", "name", "name (2)", "name (3)", "age"],
        "case_repeat": ["name", "NAME", "Name", "age"],
        "nfc_repeat": ["café", "cafe\u0301", "name", "age"],
        "empty_cells": ["", "name", "", "age"],
        "all_empty": ["", "", "", ""],
        "spaces": ["   ", "name", "\t", "age"],
        "bom_inside": ["\ufeffname", "\ufeffage", "sex", "place"],
        "control_chars": ["na\x01me", "age\x07", "sex", "place"],
        "rtl_marks": ["\u200fالاسم", "\u200eage\u202e", "sex", "place"],
        "zero_width": ["na\u200bme", "\u2060age", "sex", "place"],
        "formula": ["=cmd|' /C calc'!A0", "+name", "-age", "@sex"],
        "numbers": ["1", "2", "3", "4"],
        "quotes": ['na"me', '"age"', "s,ex", "pl\nace"],
        "emoji": ["📛 name", "🎂", "⚧", "📍"],
        "tags": ["name\U000e0041", "age", "sex", "place"],
        "escape_text": ["\\ud800", "\\u0000", "age", "name"],
        "long_70k": ["n" * 70_000, "age", "sex", "place"],
        "long_60k": ["n" * 60_000, "name", "sex", "place"],
        "arabic_variants": ["الإسم", "الاسم", "الأسم", "العمر"],
        "one_column": ["name"],
        "trailing_delims": ["name", "age", "", "", ""],
    }
    for key, head in headers.items():
        rows = [(r + [""] * len(head))[: len(head)] for r in ROWS]
        c.add("odd_headers", f"{key}.csv", _csv(rows, head))
    c.add("odd_headers", "issue_dup.csv", "name (2),name,name\nZzcanary Qqname,x,y\n", exit_code=0)
    c.add("odd_headers", "header_line_25.csv", "title\n" * 24 + _csv(ROWS))
    c.add("odd_headers", "header_line_21.csv", "note,,,\n" * 20 + _csv(ROWS))
    c.add("odd_headers", "semicolon.csv", _csv(ROWS, delimiter=";"), exit_code=0)
    c.add("odd_headers", "pipe.csv", _csv(ROWS, delimiter="|"), exit_code=0)
    c.add("odd_headers", "tab.tsv", _csv(ROWS, delimiter="\t"), exit_code=0)
    c.add("odd_headers", "mixed_delims.csv", "name;age,sex|place\n" + "Zzcanary Qqname;3,m|Gaza\n")


def broken_csv(c: Corpus) -> None:
    good = _csv(ROWS)
    for cut in (10, 40, 70, 100, 130):
        c.add("broken_csv", f"open_quote_{cut}.csv", good[:cut] + '"' + good[cut:])
    c.add("broken_csv", "quote_never_closed.csv", good + '"Zzcanary Qqname,3,male\n', exit_code=1)
    c.add("broken_csv", "nul_bytes.csv", good.replace("a", "\x00"), exit_code=1)
    c.add("broken_csv", "empty.csv", b"", exit_code=1, expect="empty")
    c.add("broken_csv", "whitespace.csv", "  \n\t\n\r\n", exit_code=1)
    c.add("broken_csv", "one_byte.csv", b"x")
    c.add("broken_csv", "bom_only.csv", b"\xef\xbb\xbf")
    c.add("broken_csv", "header_only.csv", _csv([]), exit_code=1)
    c.add("broken_csv", "cr_only.csv", good.replace("\n", "\r"), exit_code=0)
    c.add("broken_csv", "crlf.csv", good.replace("\n", "\r\n"), exit_code=0)
    c.add("broken_csv", "lone_cr_in_cells.csv", good.replace("Gaza", "Ga\rza"))
    c.add("broken_csv", "nel_u2028.csv", good.replace("Gaza", "Ga\u2028za\x85\x0c\x1e"))
    c.add("broken_csv", "quote_in_field.csv", good.replace("Gaza", 'Ga"za'))
    c.add("broken_csv", "more_fields.csv", good + "Zzcanary Qqname,1,2,3,4,5,6,7,8\n", exit_code=1)
    c.add("broken_csv", "fewer_fields.csv", good + "Zzcanary Qqname,1\n")
    c.add("broken_csv", "commas_1mb.csv", "name,age\n" + "," * (1 << 20) + "\n")
    c.add("broken_csv", "newlines_1mb.csv", "name,age\n" + "\n" * (1 << 20), exit_code=1)
    c.add("broken_csv", "quotes_1mb.csv", '"' * (1 << 20))
    c.add("broken_csv", "rows_100k.csv", _csv([ROWS[0]] * 100_000), exit_code=0)
    c.add("broken_csv", "truncated_utf8.csv", _csv(ROWS).encode("utf-8")[:-4] + "ق".encode()[:1], exit_code=1)
    for seed in range(8):
        rng = random.Random(seed)
        c.add("broken_csv", f"random_{seed}.csv", bytes(rng.randrange(256) for _ in range(rng.choice((64, 4096)))))
    for seed in range(4):
        rng = random.Random(100 + seed)
        text = bytearray(good.encode("utf-8"))
        for _ in range(5):
            text[rng.randrange(len(text))] = rng.randrange(256)
        c.add("broken_csv", f"flipped_{seed}.csv", bytes(text))
    c.add("broken_csv", "no_extension", good.encode("utf-8"), exit_code=0)


def encodings(c: Corpus) -> None:
    arabic_rows = [["محمد أحمد علي", "30", "ذكر", "", "2023-10-20", "غزة"],
                   ["زززكناري ققاسم علي", "7", "أنثى", "", "2023-10-21", "رفح"],
                   ["فاطمة حسن محمود", "44", "أنثى", "", "2023-10-22", "خان يونس"]] * 4
    ar_header = ["الاسم", "العمر", "الجنس", "رقم الهوية", "تاريخ الوفاة", "المحافظة"]
    lines = _csv(arabic_rows, ar_header).splitlines(keepends=True)
    for where, index in (("first_data", 1), ("middle", 6), ("last", len(lines) - 1), ("header", 0)):
        mixed = b"".join(line.encode("utf-8" if i == index else "cp1256") for i, line in enumerate(lines))
        c.add("encodings", f"cp1256_utf8_{where}.csv", mixed, exit_code=1, expect=f"line {index + 1}")
        mixed = b"".join(line.encode("cp1256" if i == index else "utf-8") for i, line in enumerate(lines))
        c.add("encodings", f"utf8_cp1256_{where}.csv", mixed, exit_code=1)
    text = _csv(arabic_rows, ar_header)
    for enc in ("utf-8", "utf-8-sig", "utf-16", "utf-16-le", "utf-16-be", "cp1256"):
        c.add("encodings", f"plain_{enc}.csv", text.encode(enc), exit_code=0)
    c.add("encodings", "utf16_odd_length.csv", text.encode("utf-16")[:-1], exit_code=1)
    c.add("encodings", "utf16_lone_surrogate.csv", text.encode("utf-16-le")[:40] + b"\x00\xd8A\x00" +
          text.encode("utf-16-le")[40:], exit_code=1)
    c.add("encodings", "utf16_bom_then_utf8.csv", b"\xff\xfe" + text.encode("utf-8"), exit_code=1)
    c.add("encodings", "utf32.csv", text.encode("utf-32"))
    c.add("encodings", "latin1.csv", _csv([["Zzcanary Éloïse", "3", "f", "", "", "Lyon"]]).encode("latin-1"))
    hebrew = _csv([["זזקנרי כהן", "30", "זכר", "", "", "חברון"]] * 5, ["שם", "age", "sex", "id", "dod", "place"])
    c.add("encodings", "cp1255.csv", hebrew.encode("cp1255"))
    hl = hebrew.splitlines(keepends=True)
    c.add("encodings", "cp1255_utf8_line.csv", b"".join(ln.encode("utf-8" if i == 2 else "cp1255")
                                                        for i, ln in enumerate(hl)), exit_code=1)
    c.add("encodings", "overlong.csv", _csv(ROWS).encode() + b"\xc0\xaf\xe0\x80\xaf\n")
    c.add("encodings", "utf8_surrogates.csv", _csv(ROWS).encode() + b"\xed\xa0\x80x,1\n")
    c.add("encodings", "five_byte.csv", _csv(ROWS).encode() + b"\xf8\x88\x80\x80\x80\n")
    c.add("encodings", "utf7.csv", b"name,age\n+2AA-,3\n+2ADYAA-,4\n")
    c.add("encodings", "shift_jis.csv", "name,age\n日本語の名前,3\n".encode("shift_jis"))
    c.add("encodings", "double_utf8.csv", text.encode("utf-8").decode("latin-1").encode("utf-8"))
    c.add("encodings", "bom_cp1256.csv", b"\xef\xbb\xbf" + text.encode("cp1256"), exit_code=1)
    c.add("encodings", "mixed_utf16_utf8.csv", text.encode("utf-16-le")[:200] + text.encode("utf-8"), exit_code=1)


# -- XLSX ---------------------------------------------------------------------------------------
def _workbook(rows: list[list[object]] | None = None, header: list[str] | None = HEADER) -> bytes:
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.title = "data"
    if header is not None:
        sheet.append(header)
    for row in rows if rows is not None else ROWS:
        sheet.append(row)
    buf = io.BytesIO()
    book.save(buf)
    return buf.getvalue()


def _rezip(data: bytes, change: Callable[[str, bytes], bytes | None], *, add: dict[str, bytes] | None = None) -> bytes:
    """The workbook with each part passed through ``change`` (None drops the part)."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            body = change(info.filename, src.read(info.filename))
            if body is not None:
                dst.writestr(info.filename, body)
        for name, body in (add or {}).items():
            dst.writestr(name, body)
    return out.getvalue()


def _sheet_xml(rows: Iterator[str], dimension: str = "A1") -> bytes:
    head = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?><worksheet xmlns="http://schemas.openxml'
            f'formats.org/spreadsheetml/2006/main"><dimension ref="{dimension}"/><sheetData>')
    return (head + "".join(rows) + "</sheetData></worksheet>").encode("utf-8")


def _cells(values: list[str], r: int) -> str:
    def col(i: int) -> str:
        name = ""
        i += 1
        while i:
            i, rem = divmod(i - 1, 26)
            name = chr(65 + rem) + name
        return name

    cells = "".join(f'<c r="{col(i)}{r}" t="inlineStr"><is><t>{v}</t></is></c>' for i, v in enumerate(values))
    return f'<row r="{r}">{cells}</row>'


def xlsx(c: Corpus) -> None:
    base = _workbook()
    c.add("xlsx", "base.xlsx", base, exit_code=0)
    for frac in (0.1, 0.3, 0.5, 0.7, 0.9, 0.99):
        c.add("xlsx", f"truncated_{int(frac * 100)}.xlsx", base[: int(len(base) * frac)], exit_code=1)
    with zipfile.ZipFile(io.BytesIO(base)) as z:
        sheet_info = z.getinfo("xl/worksheets/sheet1.xml")
    for seed in range(6):
        rng = random.Random(seed)
        data = bytearray(base)
        start = sheet_info.header_offset + 30 + len(sheet_info.filename)
        for _ in range(3):
            data[start + rng.randrange(max(1, sheet_info.compress_size))] ^= 0xFF
        c.add("xlsx", f"corrupt_deflate_{seed}.xlsx", bytes(data), exit_code=1)
    parts = ["xl/worksheets/sheet1.xml", "xl/workbook.xml", "xl/styles.xml", "[Content_Types].xml",
             "xl/_rels/workbook.xml.rels", "_rels/.rels", "docProps/app.xml"]
    breakers: dict[str, Callable[[bytes], bytes]] = {
        "truncated": lambda b: b[: len(b) // 2],
        "garbage": lambda b: b"\x00\xff garbage <<<>>> &&&",
        "empty": lambda b: b"",
        "wrong_root": lambda b: b'<?xml version="1.0"?><nothing/>',
    }
    for part in parts:
        for how, breaker in breakers.items():
            tag = part.replace("/", "_").replace("[", "").replace("]", "")
            data = _rezip(base, lambda name, body, p=part, f=breaker: f(body) if name == p else body)
            c.add("xlsx", f"{tag}_{how}.xlsx", data)
    for part in ("xl/worksheets/sheet1.xml", "xl/workbook.xml", "xl/styles.xml", "[Content_Types].xml",
                 "xl/_rels/workbook.xml.rels"):
        tag = part.replace("/", "_").replace("[", "").replace("]", "")
        c.add("xlsx", f"missing_{tag}.xlsx", _rezip(base, lambda name, body, p=part: None if name == p else body))

    def workbook_xml(change: Callable[[str], str]) -> bytes:
        return _rezip(base, lambda name, body: change(body.decode()).encode() if name == "xl/workbook.xml" else body)

    c.add("xlsx", "no_sheets.xlsx", workbook_xml(lambda t: t.split("<sheets>")[0] + "<sheets/>" + t.split("</sheets>")[1]),
          exit_code=1)
    c.add("xlsx", "bad_styles_numfmt.xlsx", _rezip(base, lambda n, b: b.replace(b"<cellXfs", b'<numFmts count="1">'
          b'<numFmt numFmtId="200" formatCode="[[[&quot;;;;@@@"/></numFmts><cellXfs') if n == "xl/styles.xml" else b))
    c.add("xlsx", "style_index_999.xlsx", _rezip(base, lambda n, b: b.replace(b'<c r="A2"', b'<c s="999" r="A2"')
          if n == "xl/worksheets/sheet1.xml" else b))
    c.add("xlsx", "shared_string_out_of_range.xlsx", _rezip(base, lambda n, b: _sheet_xml(iter([
        '<row r="1"><c r="A1" t="s"><v>99999</v></c></row>'])) if n == "xl/worksheets/sheet1.xml" else b))
    c.add("xlsx", "dimension_xfd.xlsx", _rezip(base, lambda n, b: _sheet_xml(
        (_cells(r, i + 1) for i, r in enumerate([HEADER, *ROWS])), "A1:XFD1048576")
        if n == "xl/worksheets/sheet1.xml" else b), exit_code=0)
    c.add("xlsx", "sparse_last_row.xlsx", _rezip(base, lambda n, b: _sheet_xml(iter(
        [_cells(HEADER, 1), _cells(ROWS[0], 2), _cells(ROWS[1], 1_048_576)])) if n == "xl/worksheets/sheet1.xml" else b))
    for columns in (16_384, 16_385):
        row = ["name", "age"] + [f"h{i}" for i in range(columns - 2)]
        c.add("xlsx", f"cols_{columns}.xlsx", _rezip(base, lambda n, b, r=row: _sheet_xml(iter(
            [_cells(r, 1), _cells(ROWS[0][:2] + ["1"] * (len(r) - 2), 2)])) if n == "xl/worksheets/sheet1.xml" else b),
            exit_code=0 if columns == 16_384 else 1)
    # A bomb: 300 MB of spaces in the sheet (compressed to about 300 KB).
    bomb = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(base)) as src, zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            body = src.read(info.filename)
            if info.filename == "xl/worksheets/sheet1.xml":
                body = body.replace(b"<sheetData>", b"<sheetData>" + b" " * (300 << 20))
            dst.writestr(info.filename, body)
    c.add("xlsx", "bomb_300mb_spaces.xlsx", bomb.getvalue())
    c.add("xlsx", "declared_3gb.xlsx", _declare_size(base, "xl/worksheets/sheet1.xml", 3 << 30), exit_code=1,
          expect="would unzip to")
    laughs = ('<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">' + "".join(
        f'<!ENTITY lol{i} "{("&lol" + str(i - 1) + ";") * 10 if i > 1 else "&lol;" * 10}">' for i in range(1, 10))
        + ']><sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" count="1" uniqueCount="1">'
        '<si><t>&lol9;</t></si></sst>').encode()
    c.add("xlsx", "billion_laughs.xlsx", _rezip(base, lambda n, b: b, add={"xl/sharedStrings.xml": laughs}))
    xxe = ('<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/hostname">]>' +
           _sheet_xml(iter(['<row r="1"><c r="A1" t="inlineStr"><is><t>&e;</t></is></c></row>'])).decode()
           .split("?>", 1)[1]).encode()
    c.add("xlsx", "xxe.xlsx", _rezip(base, lambda n, b: xxe if n == "xl/worksheets/sheet1.xml" else b))
    c.add("xlsx", "text_as_xlsx.xlsx", _csv(ROWS), exit_code=1)
    c.add("xlsx", "ole2_encrypted.xlsx", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(4096), exit_code=1)
    c.add("xlsx", "empty_zip.xlsx", _empty_zip(), exit_code=1)
    many = io.BytesIO()
    with zipfile.ZipFile(many, "w") as z:
        for i in range(10_001):
            z.writestr(f"f{i}", b"")
    c.add("xlsx", "parts_10001.xlsx", many.getvalue(), exit_code=1)
    c.add("xlsx", "headerless.xlsx", _workbook(header=None))
    c.add("xlsx", "canary_sheet_name.xlsx", _rezip(base, lambda n, b: b.replace(b'name="data"',
          b'name="Zzcanary Qqname"') if n == "xl/workbook.xml" else b))
    c.add("xlsx", "formulas.xlsx", _workbook([["=1/0", "=A1", "=HYPERLINK(\"x\")", "", "", ""], *ROWS]))
    c.add("xlsx", "huge_cell.xlsx", _rezip(base, lambda n, b: _sheet_xml(iter(
        [_cells(HEADER, 1), _cells(["q" * 70_000, "3"], 2)])) if n == "xl/worksheets/sheet1.xml" else b), exit_code=1)
    c.add("xlsx", "no_extension_zip", base, exit_code=0)


def _declare_size(data: bytes, name: str, size: int) -> bytes:
    """The zip with the central directory claiming ``size`` bytes for ``name`` once unzipped."""
    out = bytearray(data)
    at = out.rfind(b"PK\x01\x02" + b"", 0)
    while at != -1:
        name_len = struct.unpack_from("<H", out, at + 28)[0]
        if out[at + 46: at + 46 + name_len].decode() == name:
            struct.pack_into("<I", out, at + 24, min(size, 0xFFFFFFFF))
            break
        at = out.rfind(b"PK\x01\x02", 0, at)
    return bytes(out)


def _empty_zip() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w"):
        pass
    return buf.getvalue()


# -- JSON ---------------------------------------------------------------------------------------
def json_files(c: Corpus) -> None:
    records = [dict(zip(HEADER, r)) for r in ROWS]
    good = json.dumps(records, ensure_ascii=False)
    c.add("json", "base.json", good, exit_code=0)
    c.add("json", "array_100k_deep.json", "[" * 100_000 + "]" * 100_000, exit_code=1, expect="nest more than 64")
    c.add("json", "object_100k_deep.json", '{"a":' * 100_000 + "1" + "}" * 100_000, exit_code=1)
    c.add("json", "unclosed_100k_deep.json", "[" * 100_000, exit_code=1)
    c.add("json", "value_65_deep.json", json.dumps([{"name": "Zzcanary Qqname", "x": "PLACE"}]).replace(
        '"PLACE"', "[" * 63 + "]" * 63), exit_code=1)
    c.add("json", "value_30_deep.json", json.dumps([{"name": "Zzcanary Qqname", "x": "PLACE"}]).replace(
        '"PLACE"', "[" * 30 + "]" * 30), exit_code=0)
    c.add("json", "brackets_in_strings.json", json.dumps([{"name": "Zzcanary Qqname", "x": "[" * 200}]), exit_code=0)
    c.add("json", "int_5000_digits.json", '[{"name": "Zzcanary Qqname", "id_number": ' + "9" * 5000 + "}]",
          exit_code=0)
    c.add("json", "float_1e400.json", '[{"name": "Zzcanary Qqname", "age": 1e400, "x": -1e400}]', exit_code=0)
    c.add("json", "nan_literals.json", '[{"name": "Zzcanary Qqname", "age": NaN, "x": Infinity, "y": -Infinity}]')
    for where, text in (("value", '[{"name": "Zzcanary Qqname\\ud800"}]'), ("low", '[{"name": "\\udc00x"}]'),
                        ("key", '[{"na\\ud83dme": "Zzcanary Qqname"}]'), ("jsonl", '{"name": "a"}\n{"name": "\\ud800"}\n')):
        c.add("json", f"lone_surrogate_{where}.json", text, exit_code=1, expect="lone surrogate")
    c.add("json", "pair_escaped.json", '[{"name": "Zzcanary Qqname \\ud83d\\ude00"}]', exit_code=0)
    c.add("json", "nul_value.json", '[{"name": "Zzcanary\\u0000Qqname", "age": "3"}]')
    c.add("json", "nul_key.json", '[{"na\\u0000me": "Zzcanary Qqname"}]')
    for keys in (16_384, 16_385, 20_000):
        rec = {"name": "Zzcanary Qqname", **{f"k{i}": str(i % 10) for i in range(keys - 1)}}
        c.add("json", f"keys_{keys}.json", json.dumps([rec]), exit_code=0 if keys <= 16_384 else 1)
    c.add("json", "keys_spread_20000.json", json.dumps([{"name": "Zzcanary Qqname", f"k{i}": "1"}
                                                        for i in range(20_000)]), exit_code=1)
    c.add("json", "not_objects.json", "[1, 2, 3]", exit_code=1)
    c.add("json", "arrays.json", '[["Zzcanary Qqname", 3]]', exit_code=1)
    c.add("json", "scalar.json", '"Zzcanary Qqname"', exit_code=1)
    c.add("json", "records_not_list.json", '{"records": 5}', exit_code=1)
    c.add("json", "records_key.json", json.dumps({"records": records}), exit_code=0)
    c.add("json", "truncated.json", good[: len(good) // 2], exit_code=1)
    c.add("json", "trailing_garbage.json", good + "}}}", exit_code=1)
    c.add("json", "jsonl_bad_line.jsonl", "\n".join(json.dumps(r) for r in records) + '\n{"name": \n', exit_code=1)
    c.add("json", "jsonl.jsonl", "\n".join(json.dumps(r) for r in records), exit_code=0)
    c.add("json", "bom.json", b"\xef\xbb\xbf" + good.encode(), exit_code=0)
    c.add("json", "utf16.json", good.encode("utf-16"), exit_code=0)
    c.add("json", "empty_array.json", "[]", exit_code=1)
    c.add("json", "empty_objects.json", "[{}, {}]", exit_code=1)
    c.add("json", "duplicate_keys.json", '[{"name": "a", "name": "Zzcanary Qqname"}]', exit_code=0)
    c.add("json", "long_string.json", json.dumps([{"name": "Zzcanary Qqname", "x": "q" * 70_000}]), exit_code=1)
    c.add("json", "long_key.json", json.dumps([{"name": "Zzcanary Qqname", "k" * 70_000: "1"}]), exit_code=1)
    c.add("json", "nested_values.json", json.dumps([{"name": "Zzcanary Qqname", "x": {"a": [1, {"b": None}]}}]),
          exit_code=0)
    c.add("json", "records_20k.json", json.dumps(records[:1] * 20_000), exit_code=0)
    c.add("json", "mixed_types.json", json.dumps([{"name": 5, "age": "x"}, {"name": None, "age": [1]},
                                                   {"name": True, "age": {"a": 1}}]))
    c.add("json", "empty_key.json", json.dumps([{"": "Zzcanary Qqname", "name": "x"}]))
    c.add("json", "canary_keys.json", json.dumps([{"Zzcanary Qqname": "Gaza", "Qqdot.Zzcanary Wwtwo": "3"}]),
          exit_code=1)
    c.add("json", "formula_key.json", json.dumps([{"=cmd|' /C calc'!A0": "x", "name": "Zzcanary Qqname"}]))
    c.add("json", "ctrl_chars.json", json.dumps([{"name": "Zzcanary\x01\x02Qqname\x7f"}]))


# -- Parquet ------------------------------------------------------------------------------------
def parquet(c: Corpus) -> None:
    import datetime as dt
    import decimal

    import pyarrow as pa
    import pyarrow.parquet as pq

    def write(name: str, table: pa.Table, exit_code: int | None = None, expect: str | None = None) -> bytes:
        buf = io.BytesIO()
        pq.write_table(table, buf)
        data = buf.getvalue()
        c.add("parquet", name, data, exit_code=exit_code, expect=expect)
        return data

    names = pa.array([r[0] for r in ROWS])
    base = write("base.parquet", pa.table({"name": names, "age": pa.array([34, 7, 61])}), exit_code=0)
    columns: dict[str, pa.Array] = {
        "list": pa.array([[1, 2], None, []], type=pa.list_(pa.int64())),
        "struct": pa.array([{"a": 1, "b": "x"}, None, {"a": None, "b": "Zzcanary"}]),
        "map": pa.array([[("k", 1)], [], None], type=pa.map_(pa.string(), pa.int64())),
        "list_of_structs": pa.array([[{"a": 1}], [], None]),
        "decimal128": pa.array([decimal.Decimal("34.00"), None, decimal.Decimal("-1.5")], type=pa.decimal128(10, 2)),
        "decimal256": pa.array([decimal.Decimal("1" * 70), None, decimal.Decimal(0)], type=pa.decimal256(76, 0)),
        "binary_utf8": pa.array([b"Gaza", None, "رفح".encode()], type=pa.binary()),
        "binary_bad": pa.array([b"Gaza", b"\xff\xfe", b"x"], type=pa.binary()),
        "large_binary_bad": pa.array([b"ok", b"\xc3\x28", None], type=pa.large_binary()),
        "fixed_binary": pa.array([b"ab", b"\xff\xff", b"cd"], type=pa.binary(2)),
        "dictionary": pa.array(["a", "b", "a"]).dictionary_encode(),
        "timestamp_tz": pa.array([dt.datetime(2023, 10, 7, tzinfo=dt.UTC)] * 3, type=pa.timestamp("us", "UTC")),
        "timestamp_extreme": pa.array([0, 2**62, -(2**62)], type=pa.timestamp("ns")),
        "date_extreme": pa.array([0, 2**31 - 1, -(2**31)], type=pa.date32()),
        "time": pa.array([0, 86_399_999_999, None], type=pa.time64("ns")),
        "duration": pa.array([1, -5, None], type=pa.duration("s")),
        "float_special": pa.array([float("nan"), float("inf"), -0.0]),
        "bool": pa.array([True, False, None]),
        "null": pa.nulls(3),
        "int_extreme": pa.array([2**63 - 1, -(2**63), 0]),
        "uint_max": pa.array([2**64 - 1, 0, 1], type=pa.uint64()),
        "float16": pa.array([1.5, None, 2.0], type=pa.float16()),
    }
    for key, column in columns.items():
        write(f"{key}.parquet", pa.table({"name": names, key: column}),
              exit_code=1 if key.endswith("_bad") or key == "fixed_binary" else 0)
    bad = pa.array([b"ok", b"\xff\xfe", b"x"], type=pa.binary()).view(pa.string())
    write("string_invalid_utf8.parquet", pa.table({"name": names, "place": bad}), exit_code=1, expect="not UTF-8")
    large_bad = pa.array([b"\xe2\x28\xa1", b"ok", b"x"], type=pa.large_binary()).view(pa.large_string())
    write("large_string_invalid_utf8.parquet", pa.table({"name": names, "place": large_bad}), exit_code=1)
    write("name_invalid_utf8.parquet", pa.table({"name": bad}), exit_code=1)
    for count in (16_385, 20_000):
        write(f"cols_{count}.parquet", pa.table({f"c{i}": pa.array(["1"]) for i in range(count)}), exit_code=1)
    write("cols_2000.parquet", pa.table({"name": pa.array(["Zzcanary Qqname"]),
                                         **{f"c{i}": pa.array(["1"]) for i in range(1999)}}), exit_code=0)
    write("zero_rows.parquet", pa.table({"name": pa.array([], type=pa.string())}), exit_code=1)
    write("zero_columns.parquet", pa.table({"name": names}).drop(["name"]), exit_code=1)
    write("duplicate_names.parquet", pa.Table.from_arrays([names, names], names=["name", "name"]), exit_code=0)
    write("empty_name.parquet", pa.Table.from_arrays([names], names=[""]))
    write("canary_column_names.parquet", pa.Table.from_arrays([pa.array(["Gaza"]), pa.array(["3"])],
                                                              names=["Zzcanary Qqname", "918273645"]), exit_code=1)
    write("long_column_name.parquet", pa.Table.from_arrays([names], names=["n" * 70_000]), exit_code=1)
    write("huge_string.parquet", pa.table({"name": pa.array(["q" * 70_000, "a", "b"])}), exit_code=1)
    for frac in (0.2, 0.5, 0.8, 0.95):
        c.add("parquet", f"truncated_{int(frac * 100)}.parquet", base[: int(len(base) * frac)], exit_code=1)
    c.add("parquet", "bad_footer_magic.parquet", base[:-4] + b"XXXX", exit_code=1)
    c.add("parquet", "bad_footer_length.parquet", base[:-8] + struct.pack("<I", 2**31) + b"PAR1", exit_code=1)
    for seed in range(4):
        rng = random.Random(seed)
        data = bytearray(base)
        for _ in range(4):
            data[4 + rng.randrange(len(data) // 2)] ^= 0x5A
        c.add("parquet", f"flipped_{seed}.parquet", bytes(data))
    c.add("parquet", "magic_only.parquet", b"PAR1PAR1", exit_code=1)
    c.add("parquet", "parquet_as_csv.csv", base, exit_code=1)


# -- Specs --------------------------------------------------------------------------------------
def specs(c: Corpus) -> None:
    good = _csv(ROWS)
    cases = {
        "deep_arrays_5000": "[list]\nname = " + "[" * 5000 + "]" * 5000 + "\n",
        "deep_inline_5000": "[list]\nname = " + "{a = " * 5000 + "1" + "}" * 5000 + "\n",
        "deep_tables_17": "[" + ".".join(f"t{i}" for i in range(17)) + "]\nx = 1\n",
        "deep_arrays_20": "[list]\nname = " + "[" * 20 + "]" * 20 + "\n",
        "invalid_toml": "[list\nname = \n",
        "bom": "\ufeff[list]\nname = \"x\"\n",
        "not_utf8": "[list]\nname = \"زززكناري\"\n".encode("cp1256"),
        "huge_2mb": "# " + "x" * (2 << 20) + "\n",
        "columns_int": "[columns]\nfull_name = 5\n",
        "columns_list": "[columns]\nfull_name = [\"a\", \"b\"]\n",
        "columns_table": "[columns]\nfull_name = {x = 1}\n",
        "columns_unknown_field": "[columns]\nshoe_size = \"name\"\n",
        "columns_missing_header": "[columns]\nfull_name = \"Full Name Of The Dead\"\n",
        "values_int": "[values.sex]\nx = 5\n",
        "values_not_table": "[values]\nsex = \"male\"\n",
        "values_scalar": "values = 5\n",
        "values_unknown": "[values.shoe]\nx = \"male\"\n",
        "formats_string": "[dates]\nformats = \"%Y\"\n",
        "formats_ints": "[dates]\nformats = [1, 2]\n",
        "formats_percent": "[dates]\nformats = [\"%\"]\n",
        "formats_bad_directive": "[dates]\nformats = [\"%Q\", \"%Y%\"]\n",
        "on_error_int": "[dates]\non_error = 5\n",
        "header_row_zero": "[list]\nheader_row = 0\n",
        "header_row_negative": "[list]\nheader_row = -1\n",
        "header_row_huge": "[list]\nheader_row = 1000000000000000000000000000000\n",
        "header_row_bool": "[list]\nheader_row = true\n",
        "header_row_text": "[list]\nheader_row = \"3\"\n",
        "header_row_beyond": "[list]\nheader_row = 99\n",
        "period_nonsense": "[list]\nperiod_start = \"nonsense\"\n",
        "period_int": "[list]\nperiod_start = 5\n",
        "period_datetime": "[list]\nperiod_start = 1979-05-27T07:32:00Z\nperiod_end = 1979-05-26\n",
        "period_time": "[list]\nperiod_end = 07:32:00\n",
        "sheet_int": "[list]\nsheet = 5\n",
        "name_empty": "[list]\nname = \"\"\n",
        "name_count": "[list]\nname = \"count\"\n",
        "name_control": "[list]\nname = \"a\\u0007b\"\n",
        "name_long": "[list]\nname = \"" + "n" * 10_000 + "\"\n",
        "list_array": "list = [1, 2]\n",
        "array_of_tables": "[[list]]\nname = \"x\"\n",
        "surrogate_escape": "[list]\nname = \"\\ud800\"\n",
        "default_status_bad": "[list]\ndefault_status = \"zzz\"\n",
        "unknown_section": "[shoes]\nx = 1\n",
        "fields_odd": "[fields]\nx = 5\n",
        "fields_table": "[fields.eye]\ncolumn = \"Zzcanary Qqname\"\ncompare = \"nonsense\"\n",
        "date_order_bad": "[dates]\norder = \"zyx\"\n",
        "id_scheme_bad": "[list]\nid_scheme = 5\n",
        "nul_in_key": "[list]\n\"na\\u0000me\" = \"x\"\n",
    }
    for key, spec in cases.items():
        c.add("spec", f"{key}.csv", good, spec=spec)


# -- values and leaks ---------------------------------------------------------------------------
def values(c: Corpus) -> None:
    odd = {
        "age_1e309": ["1e309"], "age_huge_int": ["9" * 5000], "age_negative_zero": ["-0"],
        "age_arabic_digits": ["٣٤٥٦٧٨٩"], "age_nan": ["NaN"], "age_inf": ["inf"], "age_words": ["thirty four"],
        "age_fraction": ["34.999999999999999999"], "age_months": ["999999999 months"],
    }
    for key, (value,) in odd.items():
        c.add("values", f"{key}.csv", _csv([[ROWS[0][0], value, "male", "", "2023-10-20", "Gaza"]]), exit_code=0)
    ids = {"id_5000_digits": "9" * 5000, "id_arabic": "٩١٨٢٧٣٦٤٥", "id_float": "9.18273645e8", "id_text": "طفل رضيع",
           "id_dashes": "-" * 500, "id_nan": "NaN"}
    for key, value in ids.items():
        c.add("values", f"{key}.csv", _csv([[ROWS[0][0], "3", "male", value, "2023-10-20", "Gaza"]]), exit_code=0)
    dates = {"date_year_99999": "99999-01-01", "date_zero": "0000-00-00", "date_feb_30": "2023-02-30",
             "date_9999": "31/12/9999", "date_excel_1e308": "1e308", "date_time_bad": "2023-10-07T25:61",
             "date_hijri": "1445-03-22", "date_long": "2023-10-" + "0" * 1000 + "7", "date_negative": "-2023-01-01"}
    for key, value in dates.items():
        c.add("values", f"{key}.csv", _csv([[ROWS[0][0], "3", "male", "", value, "Gaza"]]))
    c.add("values", "status_60k.csv", _csv([[*ROWS[0], "killed " * 8000]], [*HEADER, "status"]))
    c.add("values", "sex_odd.csv", _csv([[ROWS[0][0], "3", "ذكر أنثى M F ?", "", "", ""]]), exit_code=0)
    c.add("values", "formula_cells.csv", _csv([[ROWS[0][0], "3", "male", "", "", "=cmd|' /C calc'!A0"],
                                              ["@SUM(1)", "+3", "-1", "", "", "=HYPERLINK(\"http://x\")"]]))


def leaks(c: Corpus) -> None:
    """Files with no header: their first row is a person, and no message may repeat it."""
    rows = {
        "two_words": [["Zzcanary Qqname", "Gaza", "male"]],
        "dotted": [["Qqdot.Zzcanary", "3", "Gaza"]],
        "arabic_two_words": [["زززكناري ققاسم", "غزة", "ذكر"]],
        "three_words": [["Zzcanary Qqname Wwtwo", "34", "male"]],
        "name_id_date": [["Zzcanary Qqname", "918273645", "2023-10-20", "Gaza"]],
        "issue_example": [["Zzcanary Qqname", "Gaza", "male"], ["Qqdot Zzcanary", "Rafah", "female"]],
        "single_cell": [["Zzcanary"]],
        "id_only": [["918273645"]],
    }
    for key, body in rows.items():
        c.add("leaks", f"{key}.csv", _csv(body, header=None))
    c.add("leaks", "headerless.xlsx", _workbook([["Zzcanary Qqname", "Gaza", "male"]], header=None))
    c.add("leaks", "spec_names_missing.csv", _csv(ROWS), spec="[columns]\nfull_name = \"الاسم\"\n", exit_code=1)
    c.add("leaks", "spec_wrong_header.csv", _csv([["Zzcanary Qqname", "3"]], header=None),
          spec="[columns]\nage = \"age\"\n", exit_code=1)
    c.add("leaks", "json_keys_names.json", json.dumps([{"Zzcanary Qqname": "x"}]), exit_code=1)
    c.add("leaks", "title_rows_with_names.csv", "Zzcanary Qqname list\nby Qqdot Wwtwo\n" + _csv(ROWS))
    c.add("leaks", "bad_dates_names.csv", _csv([["Zzcanary Qqname", "3", "male", "", "Qqname Zzcanary", ""]]))


#: Each category and the function that writes its inputs.
GENERATORS: dict[str, Callable[[Corpus], None]] = {
    "huge_field": huge_fields, "wide": wide, "odd_headers": odd_headers, "broken_csv": broken_csv,
    "encodings": encodings, "xlsx": xlsx, "json": json_files, "parquet": parquet, "spec": specs, "values": values,
    "leaks": leaks,
}


def generate(out: Path, categories: Collection[str] | None = None) -> list[Hostile]:
    """Write the hostile inputs of ``categories`` (default: all) under ``out`` and return them."""
    unknown = set(categories or ()) - GENERATORS.keys()
    if unknown:
        raise ValueError(f"no such categories: {sorted(unknown)}")
    corpus = Corpus(out)
    for category, make in GENERATORS.items():
        if categories is None or category in categories:
            make(corpus)
    return corpus.items


def counts(items: list[Hostile]) -> dict[str, int]:
    """Inputs per category."""
    found: dict[str, int] = {}
    for item in items:
        found[item.category] = found.get(item.category, 0) + 1
    return found


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: make_corpus.py OUT_DIR")
    made = generate(Path(sys.argv[1]))
    for category, n in counts(made).items():
        print(f"{category:12} {n:4}")
    print(f"{'total':12} {len(made):4}")

