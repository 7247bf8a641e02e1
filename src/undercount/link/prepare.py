"""The linkage table: one row per record with the columns comparisons and blocking read.

Records keep their normalised name parts; this module adds a transliteration key per part
(comparable across scripts), the list of every key token of the full name, the first three
keys of the name (``key3``) and the sorted key tokens (``key_sorted``); the place becomes its
transliteration key.
"""

from __future__ import annotations

from functools import lru_cache

import pandas as pd

from undercount.link.comparisons import NAME_PARTS, NEIGHBOURS

__all__ = ["LINK_COLUMNS", "prepare_records"]

LINK_COLUMNS: tuple[str, ...] = (
    "unique_id",
    "source",
    "script",
    "given",
    "father",
    "grandfather",
    "family",
    "given_key",
    "father_key",
    "grandfather_key",
    "family_key",
    "name_tokens",
    "father_next",
    "grandfather_next",
    "family_next",
    "key3",
    "key_sorted",
    "id_number",
    "id_valid",
    "sex",
    "age",
    "date_of_birth",
    "event_date",
    "place",
)


@lru_cache(maxsize=1)
def _key_function():  # type: ignore[no-untyped-def]
    from undercount.ingest.names import name_key

    return name_key


def _part_keys(values: pd.Series) -> pd.Series:
    """Transliteration key of each part (spaces removed, so joined and split compounds agree)."""
    key = _key_function()
    uniques = values.dropna().unique()
    mapping = {v: (key(str(v)) or "").replace(" ", "") or None for v in uniques}
    return values.map(mapping).astype("object")


def _tokens(row_keys: list[object], name_key: object) -> list[str]:
    out: list[str] = []
    if isinstance(name_key, str):
        out.extend(t for t in name_key.split() if t)
    out.extend(k for k in row_keys if isinstance(k, str) and k)
    return sorted(set(out))


def prepare_records(records: pd.DataFrame) -> pd.DataFrame:
    """Build the linkage table from case records.

    Args:
        records: rows of ``uc_records`` (record_id, source, the name parts, name_key,
            id_number, id_valid, sex, age, date_of_birth, event_date, place).

    Returns:
        A DataFrame with the columns of :data:`LINK_COLUMNS`; ``unique_id`` is the record_id.
    """
    df = pd.DataFrame({"unique_id": records["record_id"].astype("int64").to_numpy()})
    df["source"] = records["source"].astype("object").to_numpy()
    df["script"] = records["script"].astype("object").fillna("unknown").to_numpy()
    for part in NAME_PARTS:
        col = records[part].astype("object").where(records[part].notna(), None)
        col = col.map(lambda v: v if isinstance(v, str) and v.strip() else None)
        df[part] = col.to_numpy()
        df[f"{part}_key"] = _part_keys(df[part]).to_numpy()
    for part, neighbours in NEIGHBOURS.items():
        cols = df[[f"{n}_key" for n in neighbours]].to_numpy().tolist()
        df[f"{part}_next"] = [[k for k in row if isinstance(k, str)] for row in cols]
    keys = df[[f"{p}_key" for p in NAME_PARTS]].to_numpy().tolist()
    name_keys = records["name_key"].astype("object").to_numpy().tolist()
    df["name_tokens"] = [_tokens(k, nk) for k, nk in zip(keys, name_keys)]
    ordered = [[k for k in ks if isinstance(k, str)] for ks in keys]
    df["key3"] = [" ".join(k[:3]) if len(k) >= 3 else None for k in ordered]
    df["key_sorted"] = [" ".join(t) if len(t) >= 3 else None for t in df["name_tokens"]]
    ids = records["id_number"].astype("object")
    df["id_number"] = ids.where(ids.notna() & (ids.astype(str).str.strip() != ""), None).to_numpy()
    df["id_valid"] = records["id_valid"].astype("boolean").fillna(False).astype(bool).to_numpy()
    df["sex"] = records["sex"].astype("object").where(records["sex"].notna(), None).to_numpy()
    df["age"] = pd.to_numeric(records["age"], errors="coerce").astype("Int64").to_numpy()
    for date_col in ("date_of_birth", "event_date"):
        df[date_col] = pd.to_datetime(records[date_col], errors="coerce").dt.date.astype("object").to_numpy()
        df[date_col] = df[date_col].where(pd.notna(df[date_col]), None)
    # Places are compared by transliteration key, so غزة and Gaza agree.
    place = records["place"].astype("object")
    place = place.map(lambda v: v.strip().casefold() if isinstance(v, str) and v.strip() else None)
    df["place"] = _part_keys(place).to_numpy()
    return df
