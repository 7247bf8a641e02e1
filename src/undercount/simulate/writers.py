"""Write a simulated case: list files (CSV or XLSX), specs, truth tables and the manifest.

Every file is byte-for-byte reproducible from the seed: XLSX archives get fixed timestamps and
fixed document properties, JSON is written with sorted keys, CSV with fixed line endings.
"""

from __future__ import annotations

import io
import json
import re
import zipfile
from pathlib import Path
from typing import Any

import pandas as pd

from undercount.errors import ConfigError
from undercount.simulate.config import ListConfig
from undercount.simulate.lists import TITLE

__all__ = ["write_csv", "write_xlsx", "write_list", "write_toml", "write_json", "write_table"]

FIXED_TIME = "2024-01-01T00:00:00Z"
_ZIP_TIME = (2024, 1, 1, 0, 0, 0)


def write_csv(table: pd.DataFrame, path: Path, *, encoding: str, title: str | None = None,
              newline: str = "\n") -> None:
    """Write cells as CSV, with an optional title line above the header.

    Raises:
        ConfigError: a cell cannot be written in the encoding (e.g. Latin text in Windows-1256).
    """
    text = table.to_csv(index=False, lineterminator=newline)
    if title:
        text = title + "," * (table.shape[1] - 1) + newline + text
    try:
        data = text.encode(encoding)
    except UnicodeEncodeError as exc:
        raise ConfigError(f"list {path.name}: a value cannot be written in {encoding} ({exc.reason})") from None
    path.write_bytes(data)


def _fix_archive(path: Path) -> None:
    """Rewrite an XLSX archive with fixed entry times and fixed created/modified properties."""
    with zipfile.ZipFile(path) as src:
        items = [(info.filename, src.read(info.filename)) for info in src.infolist()]
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as out:
        for name, data in sorted(items, key=lambda item: item[0] != "[Content_Types].xml"):
            if name == "docProps/core.xml":
                data = re.sub(rb"(<dcterms:(?:created|modified)[^>]*>)[^<]*", rb"\g<1>" + FIXED_TIME.encode(), data)
            info = zipfile.ZipInfo(name, date_time=_ZIP_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o600 << 16
            out.writestr(info, data)
    path.write_bytes(buffer.getvalue())


def write_xlsx(table: pd.DataFrame, path: Path, *, title: str | None = None, sheet: str = "Sheet1") -> None:
    """Write cells as an XLSX workbook (streaming), reproducibly, with an optional title row."""
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    book.properties.creator = "undercount simulate"
    ws = book.create_sheet(sheet)
    if title:
        ws.append([title])
    ws.append(list(table.columns))
    for row in table.itertuples(index=False, name=None):
        ws.append([None if v is None or v is pd.NA or (isinstance(v, float) and v != v) else v for v in row])
    book.save(path)
    _fix_archive(path)


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


def write_toml(data: dict[str, dict[str, Any]], path: Path, *, comment: str = "") -> None:
    """Write a TOML file of tables (one level of sub-tables, as import specs have)."""
    lines = [f"# {comment}"] if comment else []
    for section, values in data.items():
        plain = {k: v for k, v in values.items() if not isinstance(v, dict)}
        nested = {k: v for k, v in values.items() if isinstance(v, dict)}
        if plain:
            lines.append(f"\n[{section}]")
            lines.extend(f"{json.dumps(k, ensure_ascii=False)} = {_toml_value(v)}" for k, v in plain.items())
        for sub, table in nested.items():
            lines.append(f"\n[{section}.{sub}]")
            lines.extend(f"{json.dumps(k, ensure_ascii=False)} = {_toml_value(v)}" for k, v in table.items())
    path.write_text("\n".join(lines).lstrip("\n") + "\n", encoding="utf-8")


def write_json(data: Any, path: Path) -> None:
    """Write JSON with sorted keys, two-space indent, UTF-8."""
    path.write_text(json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n", encoding="utf-8")


def write_table(frame: pd.DataFrame, path: Path) -> None:
    """Write a truth table as UTF-8 CSV (dates ISO, missing values empty)."""
    frame.to_csv(path, index=False, lineterminator="\n", encoding="utf-8")
