"""Write a simulated case: list files (CSV or XLSX), specs, truth tables and the manifest.

Every file is byte-for-byte reproducible from the seed: XLSX archives (written here, without
openpyxl, which is slow and stamps the time) get fixed entry times and document properties, JSON
is written with sorted keys, CSV with fixed line endings and minimal quoting.
"""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv

from undercount.errors import ConfigError
from undercount.simulate.config import ListConfig

__all__ = ["iso_dates", "write_csv", "write_xlsx", "write_list", "write_toml", "write_json", "write_table"]

TITLE = {"arabic": "قائمة أسماء الضحايا - بيانات مصطنعة للاختبار", "latin": "List of victims - synthetic test data"}
FIXED_TIME = "2024-01-01T00:00:00Z"
_ZIP_TIME = (2024, 1, 1, 0, 0, 0)


def _texts(column: pd.Series) -> tuple[list[str], list[bool]]:
    """A column as text cells ('' for missing), and which cells are numbers."""
    missing = column.isna().to_numpy()
    numeric = pd.api.types.is_integer_dtype(column) or pd.api.types.is_float_dtype(column)
    if pd.api.types.is_datetime64_any_dtype(column):
        values = column.to_numpy(dtype="datetime64[D]").astype(str).astype(object)
    elif pd.api.types.is_bool_dtype(column):
        values = np.where(column.to_numpy(dtype=bool), "True", "False").astype(object)
    elif pd.api.types.is_integer_dtype(column):
        values = column.fillna(0).to_numpy(dtype=np.int64).astype(str).astype(object)
    else:
        values = column.to_numpy(dtype=object, na_value="")
        if pd.api.types.is_object_dtype(column):
            values = np.array([v if isinstance(v, str) else str(v) for v in values], dtype=object)
    values[missing] = ""
    return values.tolist(), (~missing & numeric).tolist()


def _quoted(values: list[str]) -> list[str]:
    """CSV-quote the cells that need it (a comma, quote or line break)."""
    joined = "\x00".join(values)
    if not any(c in joined for c in ',"\n\r'):
        return values
    return ['"' + v.replace('"', '""') + '"' if (',' in v or '"' in v or "\n" in v or "\r" in v) else v
            for v in values]


def _has_special(column: pa.ChunkedArray) -> bool:
    """Whether a text column holds a cell that needs CSV quoting."""
    if not pa.types.is_string(column.type) and not pa.types.is_large_string(column.type):
        return False
    return bool(pc.any(pc.match_substring_regex(column, '[",\r\n]')).as_py())


def write_csv(table: pd.DataFrame, path: Path, *, encoding: str = "utf-8", title: str | None = None,
              newline: str = "\n") -> None:
    """Write cells as CSV (Arrow's writer; quotes only when a cell needs them), with an optional title line.

    Raises:
        ConfigError: a cell cannot be written in the encoding (e.g. Latin text in Windows-1256).
    """
    frame = table.copy(deep=False)
    for name in frame.columns:
        if pd.api.types.is_datetime64_any_dtype(frame[name]):
            frame[name] = iso_dates(frame[name])
    arrow = pa.Table.from_pandas(frame, preserve_index=False)
    special = any(_has_special(col) for col in arrow.columns)
    buffer = io.BytesIO()
    pa_csv.write_csv(arrow, buffer, pa_csv.WriteOptions(include_header=False,
                                                        quoting_style="needed" if special else "none"))
    head = ",".join(_quoted([str(c) for c in table.columns])) + "\n"
    if title:
        head = title + "," * (table.shape[1] - 1) + "\n" + head
    data = head.encode("utf-8") + buffer.getvalue()
    if newline != "\n":
        data = data.replace(b"\n", newline.encode("ascii"))
    try:
        if encoding == "utf-8-sig":
            data = b"\xef\xbb\xbf" + data
        elif encoding != "utf-8":
            data = data.decode("utf-8").encode(encoding)
    except UnicodeEncodeError as exc:
        raise ConfigError(f"list {path.name}: a value cannot be written in {encoding} ({exc.reason})") from None
    path.write_bytes(data)


def iso_dates(values: pd.Series, fmt: str = "%Y-%m-%d") -> pd.Series:
    """Dates as text (None when missing), fast for ISO and day/month/year formats."""
    days = values.to_numpy(dtype="datetime64[D]")
    missing = np.isnat(days)
    iso = days.astype(str)
    if fmt == "%Y-%m-%d":
        text = iso.astype(object)
    elif fmt in ("%d/%m/%Y", "%d-%m-%Y", "%d.%m.%Y"):
        sep = fmt[2]
        text = np.array([f"{d[8:10]}{sep}{d[5:7]}{sep}{d[:4]}" for d in iso.tolist()], dtype=object)
    else:
        text = pd.to_datetime(values).dt.strftime(fmt).to_numpy(dtype=object)
    text[missing] = None
    return pd.Series(text, index=values.index, dtype=object)


_XLSX_PARTS = {
    "[Content_Types].xml": (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
        '<Default Extension="xml" ContentType="application/xml"/>'
        '<Override PartName="/xl/workbook.xml" '
        'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
        '<Override PartName="/xl/worksheets/sheet1.xml" '
        'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
        '<Override PartName="/xl/styles.xml" '
        'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>'
        '<Override PartName="/docProps/core.xml" '
        'ContentType="application/vnd.openxmlformats-package.core-properties+xml"/></Types>'),
    "_rels/.rels": (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        '<Relationship Id="rId1" '
        'Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" '
        'Target="xl/workbook.xml"/>'
        '<Relationship Id="rId2" '
        'Type="http://schemas.openxmlformats.org/package/2006/relationships/metadata/core-properties" '
        'Target="docProps/core.xml"/></Relationships>'),
    "docProps/core.xml": (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        '<cp:coreProperties xmlns:cp="http://schemas.openxmlformats.org/package/2006/metadata/core-properties" '
        'xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:dcterms="http://purl.org/dc/terms/" '
        'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">'
        '<dc:creator>undercount simulate</dc:creator>'
        f'<dcterms:created xsi:type="dcterms:W3CDTF">{FIXED_TIME}</dcterms:created>'
        f'<dcterms:modified xsi:type="dcterms:W3CDTF">{FIXED_TIME}</dcterms:modified>'
        '</cp:coreProperties>'),
    "xl/workbook.xml": (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        '<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
        'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
        '<sheets><sheet name="{sheet}" sheetId="1" r:id="rId1"/></sheets></workbook>'),
    "xl/_rels/workbook.xml.rels": (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        '<Relationship Id="rId1" '
        'Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" '
        'Target="worksheets/sheet1.xml"/>'
        '<Relationship Id="rId2" '
        'Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/styles" '
        'Target="styles.xml"/></Relationships>'),
    "xl/styles.xml": (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        '<styleSheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
        '<fonts count="1"><font><sz val="11"/><name val="Calibri"/></font></fonts>'
        '<fills count="1"><fill><patternFill patternType="none"/></fill></fills>'
        '<borders count="1"><border/></borders>'
        '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
        '<cellXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/></cellXfs>'
        '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>'
        '</styleSheet>'),
}


def _column_letter(index: int) -> str:
    letters = ""
    index += 1
    while index:
        index, rem = divmod(index - 1, 26)
        letters = chr(65 + rem) + letters
    return letters


def _sheet_rows(table: pd.DataFrame, title: str | None) -> list[str]:
    """The <row> elements of the sheet: an optional title row, the header, the data (inline strings)."""
    header = [(str(c), False) for c in table.columns]
    data = [list(zip(*_texts(table[c]))) for c in table.columns]
    rows = ([[(title, False)]] if title else []) + [header] + [list(r) for r in zip(*data)]
    out = []
    letters = [_column_letter(i) for i in range(max(table.shape[1], 1))]
    for n, row in enumerate(rows, start=1):
        cells = []
        for letter, (value, number) in zip(letters, row):
            if value == "":
                continue
            if number:
                cells.append(f'<c r="{letter}{n}"><v>{value}</v></c>')
            else:
                cells.append(f'<c r="{letter}{n}" t="inlineStr"><is><t>{escape(value)}</t></is></c>')
        out.append(f'<row r="{n}">' + "".join(cells) + "</row>")
    return out


def write_xlsx(table: pd.DataFrame, path: Path, *, title: str | None = None, sheet: str = "Sheet1") -> None:
    """Write cells as a one-sheet XLSX workbook, reproducibly, with an optional title row.

    Text cells are inline strings, whole numbers are numbers; entry times and document dates are
    fixed, so the same table gives the same bytes.
    """
    body = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>'
            + "".join(_sheet_rows(table, title)) + "</sheetData></worksheet>")
    parts = dict(_XLSX_PARTS)
    parts["xl/workbook.xml"] = parts["xl/workbook.xml"].replace("{sheet}", escape(sheet))
    parts["xl/worksheets/sheet1.xml"] = body
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, text in parts.items():
            info = zipfile.ZipInfo(name, date_time=_ZIP_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o600 << 16
            archive.writestr(info, text.encode("utf-8"))
    path.write_bytes(buffer.getvalue())


def write_list(table: pd.DataFrame, lst: ListConfig, out_dir: Path) -> Path:
    """Write one list in its format and encoding; return the file's path."""
    title = TITLE[lst.script] if lst.title_row else None
    if lst.file_format == "xlsx":
        path = out_dir / f"{lst.name}.xlsx"
        write_xlsx(table, path, title=title)
    else:
        path = out_dir / f"{lst.name}.csv"
        write_csv(table, path, encoding=lst.encoding, title=title,
                  newline="\r\n" if lst.encoding == "cp1256" else "\n")
    return path


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    return json.dumps(str(value), ensure_ascii=False)


def _toml_key(key: str) -> str:
    """A bare TOML key when it can be one, else a quoted key."""
    return key if key and all(c.isascii() and (c.isalnum() or c in "_-") for c in key) else json.dumps(
        key, ensure_ascii=False)


def write_toml(data: dict[str, dict[str, Any]], path: Path, *, comment: str = "") -> None:
    """Write a TOML file of tables (one level of sub-tables, as import specs have)."""
    lines = [f"# {comment}"] if comment else []
    for section, values in data.items():
        plain = {k: v for k, v in values.items() if not isinstance(v, dict)}
        nested = {k: v for k, v in values.items() if isinstance(v, dict)}
        if plain:
            lines.append(f"\n[{section}]")
            lines.extend(f"{_toml_key(k)} = {_toml_value(v)}" for k, v in plain.items())
        for sub, table in nested.items():
            lines.append(f"\n[{section}.{sub}]")
            lines.extend(f"{_toml_key(k)} = {_toml_value(v)}" for k, v in table.items())
    path.write_text("\n".join(lines).lstrip("\n") + "\n", encoding="utf-8")


def write_json(data: Any, path: Path) -> None:
    """Write JSON with sorted keys, two-space indent, UTF-8."""
    path.write_text(json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n", encoding="utf-8")


def write_table(frame: pd.DataFrame, path: Path) -> None:
    """Write a truth table as UTF-8 CSV (dates ISO, missing values empty)."""
    write_csv(frame, path)
