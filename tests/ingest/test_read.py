"""Reading files: encodings, formats, delimiters, header rows, damaged files."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from undercount.errors import InputError
from undercount.ingest.columns import score_headers
from undercount.ingest.read import decode_bytes, read_table

from .conftest import HEADERS_AR, ROWS, assert_no_secrets, csv_text, write_csv


def _read(path: Path, **kw: object) -> object:
    return read_table(path, score=score_headers, **kw)  # type: ignore[arg-type]


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "utf-16", "utf-16-le", "cp1256"])
def test_every_encoding_reads_the_same_cells(tmp_path: Path, encoding: str) -> None:
    rows = [[c.replace("٥", "5") for c in r] for r in ROWS]  # Windows-1256 has no Arabic-Indic digits
    path = write_csv(tmp_path / "list.csv", rows, encoding=encoding)
    table = _read(path)
    assert table.headers == HEADERS_AR
    assert table.frame.iloc[:, 0].tolist() == [r[0] for r in ROWS]
    assert table.frame.iloc[2, 2] == "5"
    assert table.frame.iloc[:, 3].tolist() == [r[3] for r in ROWS]
    expected = {"utf-16-le": "utf-16-le", "cp1256": "cp1256"}.get(encoding, encoding)
    assert table.encoding == expected
    assert table.rows.tolist() == [1, 2, 3, 4, 5, 6]


@pytest.mark.parametrize("delimiter", [",", ";", "\t", "|"])
def test_delimiter_is_sniffed(tmp_path: Path, delimiter: str) -> None:
    path = write_csv(tmp_path / "list.csv", delimiter=delimiter)
    table = _read(path)
    assert table.headers == HEADERS_AR and len(table.frame) == len(ROWS)


def test_header_found_below_title_and_note_rows(tmp_path: Path) -> None:
    above = ["وزارة الصحة - كشف بأسماء الشهداء", "تاريخ التحديث: 2024-08-31,,,", ""]
    path = write_csv(tmp_path / "list.csv", above=above)
    table = _read(path)
    assert table.headers == HEADERS_AR
    assert table.header_row == 4
    assert table.rows.tolist() == [1, 2, 3, 4, 5, 6]
    assert table.frame.iloc[0, 2] == "34"


def test_header_row_override(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "list.csv", headers=["a", "b", "c", "d", "e", "f", "g"], above=["title"])
    table = _read(path, header_row=2)
    assert table.headers == ["a", "b", "c", "d", "e", "f", "g"] and len(table.frame) == 6
    with pytest.raises(InputError, match="header_row 9"):
        _read(path, header_row=9)


def test_blank_rows_are_dropped_but_numbering_keeps_place(tmp_path: Path) -> None:
    rows = [ROWS[0], [""] * 7, ROWS[1]]
    table = _read(write_csv(tmp_path / "list.csv", rows=rows))
    assert table.rows.tolist() == [1, 3]


def _xlsx(path: Path, title: bool = True) -> Path:
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.title = "data"
    if title:
        sheet.append(["كشف بأسماء الشهداء"])
    sheet.append(HEADERS_AR)
    for r in ROWS:
        sheet.append([int(r[2]) if r[2].isdigit() else r[2] if i == 2 else c for i, c in enumerate(r)])
    other = book.create_sheet("other")
    other.append(["x"])
    book.save(path)
    return path


def test_xlsx_first_sheet_with_title_row(tmp_path: Path) -> None:
    table = _read(_xlsx(tmp_path / "list.xlsx"))
    assert table.format == "xlsx" and table.header_row == 2 and table.sheet == "data"
    assert table.headers == HEADERS_AR
    assert table.frame.iloc[0, 2] == "34"  # a number cell becomes the text "34"
    with pytest.raises(InputError, match="no sheet 'missing'"):
        _read(tmp_path / "list.xlsx", sheet="missing")


def test_xlsx_notes_sheet_first_reads_the_list_sheet(tmp_path: Path) -> None:
    from openpyxl import load_workbook

    path = _xlsx(tmp_path / "list.xlsx")
    book = load_workbook(path)
    notes = book.create_sheet("notes", 0)  # a notes sheet before the list, as releases often have
    notes.append(["Released by the ministry; see the methodology sheet"])
    book.save(path)
    table = _read(path)
    assert table.sheet == "data" and table.headers == HEADERS_AR and len(table.frame) == len(ROWS)
    assert _read(path, sheet="notes").sheet == "notes"  # the spec's sheet still wins


@pytest.mark.parametrize("shape", ["array", "records", "lines"])
def test_json_shapes(tmp_path: Path, shape: str) -> None:
    objs = [dict(zip(HEADERS_AR, r)) for r in ROWS]
    objs[0]["العمر"] = 34  # numbers become text
    text = {
        "array": json.dumps(objs, ensure_ascii=False),
        "records": json.dumps({"records": objs}, ensure_ascii=False),
        "lines": "\n".join(json.dumps(o, ensure_ascii=False) for o in objs),
    }[shape]
    path = tmp_path / "list.json"
    path.write_text(text, encoding="utf-8")
    table = _read(path)
    assert table.format == "json" and table.headers == HEADERS_AR
    assert table.frame.iloc[0, 2] == "34" and len(table.frame) == 6


def test_parquet(tmp_path: Path) -> None:
    frame = pd.DataFrame(ROWS, columns=HEADERS_AR)
    frame["n"] = range(6)
    path = tmp_path / "list.parquet"
    frame.to_parquet(path)
    table = _read(path)
    assert table.format == "parquet" and table.headers == HEADERS_AR + ["n"]
    assert table.frame["n"].tolist() == ["0", "1", "2", "3", "4", "5"]


def test_truncated_csv_names_row_not_person(tmp_path: Path) -> None:
    text = csv_text(ROWS)
    path = tmp_path / "cut.csv"
    path.write_text(text[: text.index("3 أشهر") + len("3 أشهر")], encoding="utf-8")
    with pytest.raises(InputError) as info:
        _read(path)
    assert info.value.file == "cut.csv" and info.value.row == 5
    assert "has 3 fields, the header has 7" in str(info.value)
    assert_no_secrets(str(info.value))


def test_csv_cut_inside_a_quote_or_a_character(tmp_path: Path) -> None:
    path = tmp_path / "cut.csv"
    path.write_text(csv_text(ROWS) + '"unfinished,', encoding="utf-8")
    with pytest.raises(InputError, match="quoted field is never closed"):
        _read(path)
    data = csv_text(ROWS).encode("utf-8")
    path.write_bytes(data[:-1] + "ة".encode()[:1])
    with pytest.raises(InputError, match="ends inside a character"):
        _read(path)


@pytest.mark.parametrize("suffix", [".xlsx", ".parquet", ".json"])
def test_truncated_binary_and_json(tmp_path: Path, suffix: str) -> None:
    whole = tmp_path / f"whole{suffix}"
    if suffix == ".xlsx":
        _xlsx(whole)
    elif suffix == ".parquet":
        pd.DataFrame(ROWS, columns=HEADERS_AR).to_parquet(whole)
    else:
        whole.write_text(json.dumps([dict(zip(HEADERS_AR, r)) for r in ROWS], ensure_ascii=False), encoding="utf-8")
    cut = tmp_path / f"cut{suffix}"
    data = whole.read_bytes()
    cut.write_bytes(data[: len(data) * 2 // 3])
    with pytest.raises(InputError, match="truncated") as info:
        _read(cut)
    assert info.value.file == f"cut{suffix}"
    assert_no_secrets(str(info.value))


def test_binary_garbage_is_not_text(tmp_path: Path) -> None:
    path = tmp_path / "noise.csv"
    path.write_bytes(bytes(range(256)) * 40)
    with pytest.raises(InputError, match="not text in any encoding") as info:
        _read(path)
    assert info.value.file == "noise.csv"


def test_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "empty.csv"
    path.write_bytes(b"\n\n")
    with pytest.raises(InputError, match="the file is empty"):
        _read(path)


def test_decode_prefers_utf8_then_cp1256() -> None:
    text = "الاسم,العمر\n"
    assert decode_bytes(text.encode("utf-8"), "f") == (text, "utf-8")
    assert decode_bytes(text.encode("cp1256"), "f") == (text, "cp1256")
    assert decode_bytes(b"\xef\xbb\xbf" + text.encode(), "f") == (text, "utf-8-sig")


def test_utf8_with_a_stray_byte_is_damaged_not_windows_1256(tmp_path: Path) -> None:
    # Read as Windows-1256, UTF-8 Arabic still looks Arabic, so every name would be garbled silently.
    data = csv_text(ROWS).encode("utf-8")
    third = data.index(b"\n", data.index(b"\n", data.index(b"\n") + 1) + 1) + 1  # start of line 4
    path = tmp_path / "damaged.csv"
    path.write_bytes(data[:third + 3] + b"\xff" + data[third + 3:])
    with pytest.raises(InputError, match="line 4 holds bytes that are not UTF-8") as info:
        _read(path)
    assert info.value.file == "damaged.csv"
    assert_no_secrets(str(info.value))
    text = "الاسم,العمر,ملاحظة\n" + "عبد الرحمن محمود,30,پ ؟ ک گ\n" * 200
    assert decode_bytes(text.encode("cp1256"), "f") == (text, "cp1256")  # real Windows-1256 still reads


def test_extra_empty_trailing_fields_are_tolerated(tmp_path: Path) -> None:
    text = csv_text(ROWS[:2]).replace("\n", ",,\n").replace(",,\n", "\n", 1)  # data rows end with ",,"
    path = tmp_path / "trailing.csv"
    path.write_text(text + "   \n", encoding="utf-8")
    table = _read(path)
    assert table.headers == HEADERS_AR and table.rows.tolist() == [1, 2]
    assert table.frame.iloc[1, 0] == ROWS[1][0]


def test_cp1256_whose_only_arabic_is_at_the_end(tmp_path: Path) -> None:
    path = tmp_path / "late.csv"
    path.write_bytes(b"name,age\nx,3" + "علي".encode("cp1256")[:1])
    assert _read(path).encoding == "cp1256"


_CELL = st.text(alphabet=st.sampled_from(list("abc ابتةى,;|\t\"'\n1٢-/")), max_size=12)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=st.lists(st.lists(_CELL, min_size=3, max_size=3), min_size=1, max_size=6),
       encoding=st.sampled_from(["utf-8", "utf-8-sig", "utf-16"]))
def test_csv_cells_round_trip(tmp_path: Path, rows: list[list[str]], encoding: str) -> None:
    headers = ["الاسم", "رقم الهوية", "العمر"]
    path = write_csv(tmp_path / "fuzz.csv", rows, headers, encoding=encoding)
    table = _read(path)
    kept = [r for r in rows if any(c.strip() for c in r)]
    assert table.headers == headers
    assert table.frame.values.tolist() == kept
    assert table.rows.tolist() == [i for i, r in enumerate(rows, 1) if any(c.strip() for c in r)]


@pytest.mark.parametrize("newline", ["\r\n", "\r"])
def test_line_endings_with_a_title_row(tmp_path: Path, newline: str) -> None:
    text = csv_text(ROWS, above=["كشف"]).replace("\n", newline)
    path = tmp_path / "crlf.csv"
    path.write_text(text, encoding="utf-8", newline="")
    table = _read(path)
    assert table.headers == HEADERS_AR and table.header_row == 2
    assert table.frame.iloc[:, 6].tolist() == [r[6] for r in ROWS]


@pytest.mark.parametrize(
    ("text", "encoding", "expected"),
    [
        ("Nom,Âge\nÉlodie,34\nFrançois,40\n", "latin-1", "Élodie"),
        ("שם,גיל\nדוד,34\nשרה,30\n", "cp1255", "דוד"),
    ],
)
def test_other_code_pages_are_not_read_as_arabic(text: str, encoding: str, expected: str) -> None:
    decoded, _ = decode_bytes(text.encode(encoding), "f")
    assert expected in decoded
