"""What an import did, said without personal data: column mapping, unused columns, first rows as read.

The mapping quotes only headers that were recognised or named by the spec; other headers are
described by position and kind when they could be data (:func:`describe_headers`). A dry run's
rows show names and ID numbers by their shape ("[Latin, 2 words]", "[9 characters]") unless
asked to show them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pandas as pd

from undercount.ingest.columns import ColumnMap, describe_headers
from undercount.ingest.spec import ImportSpec

__all__ = ["PREVIEW_ROWS", "PREVIEW_FIELDS", "PERSONAL_FIELDS", "column_mapping", "unused_headers", "preview"]

PREVIEW_ROWS = 5
PREVIEW_FIELDS = (
    "full_name", "given", "father", "grandfather", "family", "id_number", "id_valid", "sex", "age",
    "date_of_birth", "event_date", "place", "status", "cause", "reported_date",
)
PERSONAL_FIELDS = frozenset({"full_name", "given", "father", "grandfather", "family", "id_number"})
_FLAG_PREFIX = "f_"


def column_mapping(headers: Sequence[str], columns: ColumnMap, spec: ImportSpec | None) -> list[dict[str, str]]:
    """Header -> field, in the file's column order, with how each was decided.

    Args:
        headers: the file's headers.
        columns: the mapping used.
        spec: the import spec, or None.
    Returns:
        ``[{"header", "field", "how"}]``; how: "spec", "recognised header", "name column with the most
        Arabic cells" or "the other name column".
    """
    by_header = {header: fld for fld, header in columns.fields.items()}
    chosen = len(columns.name_candidates) > 1
    out = []
    for header in headers:
        fld = by_header.get(header)
        if fld is None:
            continue
        if spec is not None and fld in spec.columns:
            how = "spec"
        elif chosen and fld == "full_name":
            how = "name column with the most Arabic cells"
        elif chosen and fld == "full_name_en":
            how = "the other name column"
        else:
            how = "recognised header"
        out.append({"header": header, "field": fld, "how": how})
    return out


def unused_headers(headers: Sequence[str], columns: ColumnMap) -> str:
    """The columns no field uses (kept in each record's raw cells), described safely; '' when none."""
    used = set(columns.fields.values())
    rest = [h for h in headers if h not in used]
    if not rest:
        return ""
    positions = {h: i for i, h in enumerate(headers, 1)}
    return describe_headers(rest, positions=[positions[h] for h in rest])


def _shape(value: Any, fld: str) -> Any:
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return None
    text = str(value)
    if fld == "id_number":
        return f"[{len(text)} characters]"
    script = "Arabic" if any("\u0600" <= ch <= "\u06ff" for ch in text) else (
        "Hebrew" if any("\u0590" <= ch <= "\u05ff" for ch in text) else "Latin")
    words = len(text.split())
    return f"[{script}, {words} word{'s' if words != 1 else ''}]"


def _plain(value: Any) -> Any:
    if value is None:
        return None
    if isinstance(value, pd.Timestamp):
        return value.date().isoformat()
    if hasattr(value, "item"):
        value = value.item()
    try:
        if pd.isna(value):
            return None
    except (TypeError, ValueError):
        pass
    return value


def preview(frame: pd.DataFrame, rows: int, *, show_personal: bool = False) -> list[dict[str, Any]]:
    """The first rows as read: row number, canonical fields and flags.

    Args:
        frame: the built records (``build_records``).
        rows: how many.
        show_personal: show names and ID numbers as read (else their shape only).
    Returns:
        One dict per row.
    """
    out = []
    flags = [c for c in frame.columns if c.startswith(_FLAG_PREFIX)]
    for _, record in frame.head(rows).iterrows():
        item: dict[str, Any] = {"row": int(record["_row"])}
        for fld in PREVIEW_FIELDS:
            value = _plain(record.get(fld))
            item[fld] = value if show_personal or fld not in PERSONAL_FIELDS else _shape(value, fld)
        item["flags"] = [c[len(_FLAG_PREFIX):] for c in flags if bool(record[c])]
        out.append(item)
    return out
