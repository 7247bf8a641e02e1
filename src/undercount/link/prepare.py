"""The linkage table: one row per record with the columns comparisons and blocking read.

Records keep their normalised name parts; this module adds a transliteration key per part
(comparable across scripts), the list of every key token of the full name, the rare shared
blocking keys (``block_keys``, see :func:`undercount.link.blocking.key_families`), the first three
keys of the name (``key3``) and the sorted key tokens (``key_sorted``); the place becomes its
transliteration key, and a missing age is derived from the date of birth and the event date.
"""

from __future__ import annotations

from functools import lru_cache

import pandas as pd

from undercount.link.blocking import (
    KEYS_COLUMN,
    BlockingReport,
    capped_block_keys,
    capped_columns,
    key_families,
    rare_keys,
)
from undercount.link.comparisons import NAME_PARTS, NEIGHBOURS

__all__ = ["LINK_COLUMNS", "LIST_COLUMNS", "prepare_records"]

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
    "given_ar",
    "father_ar",
    "grandfather_ar",
    "family_ar",
    "name_tokens",
    KEYS_COLUMN,
    *capped_columns(),
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

# Columns holding a list of strings per record. Engines must be told their type: a column whose
# first rows hold only empty lists is otherwise typed as a list of NULL by DuckDB's sampling, and
# the first later list of names fails to cast (issue 13).
LIST_COLUMNS: tuple[str, ...] = ("name_tokens", KEYS_COLUMN, *(f"{p}_next" for p in NEIGHBOURS))


@lru_cache(maxsize=1)
def _key_function():  # type: ignore[no-untyped-def]
    from undercount.names import name_key

    return name_key


def _part_keys(values: pd.Series) -> pd.Series:
    """Transliteration key of each part (spaces removed, so joined and split compounds agree)."""
    key = _key_function()
    uniques = values.dropna().unique()
    mapping = {v: (key(str(v)) or "").replace(" ", "") or None for v in uniques}
    return values.map(mapping).astype("object")


def _latin_to_arabic(df: pd.DataFrame) -> dict[str, str]:
    """Map each Latin spelling to the Arabic name it most likely writes.

    Every Arabic name token of the case is spelled in English with the shipped name-segment
    dictionary (:func:`undercount.names.spellings.english_spellings`); a Latin spelling maps to
    the Arabic token, among those it spells, that the case's Arabic records hold most often.
    """
    from undercount.names import english_spellings, joined_token

    arabic = df["script"].to_numpy() == "arabic"
    counts: pd.Series = pd.concat([df.loc[arabic, p] for p in NAME_PARTS]).dropna().value_counts()
    best: dict[str, tuple[int, str]] = {}
    for token, count in counts.items():
        for spelling in english_spellings(str(token)):
            latin = joined_token(spelling)
            if latin and (latin not in best or best[latin][0] < int(count)):
                best[latin] = (int(count), str(token))
    mapping = {latin: token for latin, (_, token) in best.items()}
    latin_rows = df["script"].to_numpy() == "latin"
    unknown = {
        v.replace(" ", "") for p in NAME_PARTS for v in df.loc[latin_rows, p].dropna().unique()
    } - mapping.keys()
    mapping.update(_nearest_spellings(mapping, counts, unknown))
    return mapping


_FUZZY_MIN_LENGTH = 4


def _deletions(word: str) -> set[str]:
    return {word, *(word[:i] + word[i + 1:] for i in range(len(word)))}


def _nearest_spellings(mapping: dict[str, str], counts: pd.Series, unknown: set[str]) -> dict[str, str]:
    """Latin spellings the dictionary lacks (a typing error, an unusual spelling) mapped to the
    Arabic token of a known spelling one deletion, insertion, substitution or transposition
    away (a deletion neighbourhood index); the most frequent Arabic token when several are."""
    index: dict[str, set[str]] = {}
    for latin in mapping:
        if len(latin) >= _FUZZY_MIN_LENGTH:
            for variant in _deletions(latin):
                index.setdefault(variant, set()).add(latin)
    out: dict[str, str] = {}
    for token in unknown:
        if len(token) < _FUZZY_MIN_LENGTH:
            continue
        near = {mapping[c] for d in _deletions(token) for c in index.get(d, ())}
        if near:
            out[token] = max(sorted(near), key=lambda a: int(counts.get(a, 0)))
    return out


def _arabic_forms(df: pd.DataFrame) -> None:
    """Add ``<part>_ar``: the Arabic form of each part (its own token in Arabic records, the
    Arabic token a Latin spelling writes in Latin records, else None), so that a name and its
    dictionary transliteration compare equal while محمد/Mohammed and محمود/Mahmoud stay apart
    (their consonant keys agree)."""
    mapping = _latin_to_arabic(df)
    arabic = df["script"].to_numpy() == "arabic"
    latin = df["script"].to_numpy() == "latin"
    for part in NAME_PARTS:
        own = df[part].where(arabic, None)
        spelled = df[part].where(latin, None).map(
            lambda v: mapping.get(v.replace(" ", "")) if isinstance(v, str) else None
        )
        df[f"{part}_ar"] = own.where(own.notna(), spelled).astype("object").to_numpy()


def _tokens(row_keys: list[object], name_key: object) -> list[str]:
    out: list[str] = []
    if isinstance(name_key, str):
        out.extend(t for t in name_key.split() if t)
    out.extend(k for k in row_keys if isinstance(k, str) and k)
    return sorted(set(out))


def prepare_records(
    records: pd.DataFrame, *, extra: pd.DataFrame | None = None, kinds: dict[str, str] | None = None,
    skip: tuple[str, ...] = (),
) -> pd.DataFrame:
    """Build the linkage table from case records.

    Args:
        records: rows of ``uc_records`` (record_id, source, the name parts, name_key,
            id_number, id_valid, sex, age, date_of_birth, event_date, place).
        extra: extra fields declared in the import specs, one ``f_<name>`` column each, indexed
            by record_id (see :func:`undercount.link.fields.field_values`).
        kinds: each extra column's comparison kind (exact, string, numeric, date).
        skip: blocking rules and key families to leave out (``LinkOptions.skip_blocking``).

    Returns:
        A DataFrame with the columns of :data:`LINK_COLUMNS` (and the extra fields' columns);
        ``unique_id`` is the record_id. A missing age is derived from the date of birth and the
        event date. ``attrs["blocking"]`` holds the :class:`BlockingReport` of the caps.
    """
    df = pd.DataFrame({"unique_id": records["record_id"].astype("int64").to_numpy()})
    df["source"] = records["source"].astype("object").to_numpy()
    df["script"] = records["script"].astype("object").fillna("unknown").to_numpy()
    for part in NAME_PARTS:
        col = records[part].astype("object").where(records[part].notna(), None)
        col = col.map(lambda v: v if isinstance(v, str) and v.strip() else None)
        df[part] = col.to_numpy()
    _arabic_forms(df)
    latin = df["script"].to_numpy() == "latin"
    for part in NAME_PARTS:
        # A Latin part the dictionary (or its nearest spelling) maps to an Arabic name takes that
        # name's key, so a typing error in an English list does not break blocking.
        source = df[part].where(~latin | df[f"{part}_ar"].isna(), df[f"{part}_ar"])
        df[f"{part}_key"] = _part_keys(source).to_numpy()
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
    df["age"] = _age_or_derived(df)
    fields: list[tuple[str, str]] = []
    if extra is not None:
        for column in extra.columns:
            values = extra[column].reindex(df["unique_id"].to_numpy())
            df[column] = values.to_numpy() if values.dtype.kind == "f" else values.astype("object").where(values.notna(), None).to_numpy()
            fields.append((column, (kinds or {}).get(column, "exact")))
    keyed, dropped = capped_block_keys(df, skip=skip)
    for column, block_keys in keyed.items():
        df[column] = pd.Series(block_keys, index=df.index, dtype="object")
    lists, report = rare_keys(df, key_families(tuple(fields)), skip=skip)
    df[KEYS_COLUMN] = lists
    df.attrs["blocking"] = BlockingReport(dropped={**dropped, **report.dropped}, skipped=report.skipped).to_dict()
    return df


def _age_or_derived(df: pd.DataFrame) -> pd.Series:
    """The age, else the completed years between the date of birth and the event date.

    A list that gives dates of birth but no ages (a hospital register) then shares the age with
    a list that gives only ages (an obituary list), for blocking and comparison alike.
    """
    age = pd.Series(df["age"], index=df.index).astype("Int64")
    dob = pd.to_datetime(df["date_of_birth"], errors="coerce")
    event = pd.to_datetime(df["event_date"], errors="coerce")
    before_birthday = (event.dt.month < dob.dt.month) | ((event.dt.month == dob.dt.month) & (event.dt.day < dob.dt.day))
    span = pd.Series(event.dt.year - dob.dt.year - before_birthday.astype("int64"), index=df.index).astype("Float64")
    derived = span.where((span >= 0) & (span <= 120)).round().astype("Int64")
    return age.where(age.notna(), derived)
