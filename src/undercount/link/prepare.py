"""The linkage table: one row per record with the columns comparisons and blocking read.

Records keep their normalised name parts; this module adds a transliteration key per part
(comparable across scripts), a pivot form per part for every script with spellings in the names
registry (``<part>_ar`` for Arabic, see :mod:`undercount.names.scripts`), the list of every key
token of the full name, the rare shared blocking keys (``block_keys``, see
:func:`undercount.link.blocking.key_families`), the first three keys of the name (``key3``) and
the sorted key tokens (``key_sorted``); the place becomes its transliteration key, and a missing
age is derived from the date of birth and the event date.
"""

from __future__ import annotations

from collections.abc import Collection
from functools import lru_cache
from typing import TYPE_CHECKING

import numpy as np
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
from undercount.link.spelling import SPELLING_COLUMN, unspelled_parts

if TYPE_CHECKING:
    from undercount.names.scripts import Script

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
    "given_ar",  # the pivot columns of Arabic (the default registry); prepare_records adds one
    "father_ar",  # set per registered script with spellings (undercount.names.pivot_columns)
    "grandfather_ar",
    "family_ar",
    "name_tokens",
    "alt_keys",
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
    SPELLING_COLUMN,
)

# Columns holding a list of strings per record. Engines must be told their type: a column whose
# first rows hold only empty lists is otherwise typed as a list of NULL by DuckDB's sampling, and
# the first later list of names fails to cast (issue 13).
LIST_COLUMNS: tuple[str, ...] = ("name_tokens", "alt_keys", KEYS_COLUMN, *(f"{p}_next" for p in NEIGHBOURS))


@lru_cache(maxsize=1)
def _key_function():  # type: ignore[no-untyped-def]
    from undercount.names import name_key

    return name_key


# Leading words of a Western surname that its key leaves out, so that "de la Cruz" and "Cruz",
# "van Beethoven" and "Beethoven" share a key (the names module keeps them in the surname; San,
# Saint, Mac and the Arabic al/abu are part of the name and stay).
_KEYLESS_PARTICLES = frozenset((
    "de", "del", "dela", "der", "den", "des", "di", "da", "das", "dos", "do", "du", "la", "le", "les", "lo",
    "van", "vander", "von", "vom", "zu", "zur", "ten", "ter", "bin", "ibn", "ben", "bint", "ap",
))


def _core(part: str) -> str:
    """A part without its leading surname particles ('van der stige' -> 'stige')."""
    words = part.split()
    while len(words) > 1 and words[0] in _KEYLESS_PARTICLES:
        words = words[1:]
    return " ".join(words)


def _part_keys(values: pd.Series) -> pd.Series:
    """Transliteration key of each part (spaces removed, so joined and split compounds agree;
    leading surname particles left out, as the names module leaves them out of full names)."""
    key = _key_function()
    uniques = values.dropna().unique()
    mapping = {v: (key(_core(str(v))) or "").replace(" ", "") or None for v in uniques}
    return values.map(mapping).astype("object")


def _pivot_scripts() -> tuple[Script, ...]:
    """The registered scripts with spellings: each gives the linkage table its pivot columns."""
    from undercount.names import pivot_scripts

    return pivot_scripts()


def _pivot_values(values: pd.Series, script: Script) -> pd.Series:
    """The pivot form of each token of one script (as the script's registry entry writes it)."""
    if script.keeps_tokens:
        return values
    mapping = {v: script.pivot(str(v)) or None for v in values.dropna().unique()}
    return values.map(mapping).astype("object")


def _pivot_counts(df: pd.DataFrame, script: Script) -> pd.Series:
    """How often each pivot token occurs in the name parts of the script's records."""
    rows = df["script"].to_numpy() == script.id
    counts: pd.Series = pd.concat([_pivot_values(df.loc[rows, p], script) for p in NAME_PARTS]).dropna().value_counts()
    return counts


def _dictionary_spellings(counts: pd.Series, script: Script) -> dict[str, str]:
    """Each Latin spelling the script's spellings give for the case's tokens of that script -> the
    most frequent token it spells (for Arabic: the shipped dictionary and spelling rules)."""
    from undercount.names import joined_token

    spellings = script.spellings
    if spellings is None:
        return {}
    best: dict[str, tuple[int, str]] = {}
    for token, count in counts.items():
        for spelling in spellings(str(token)):
            latin = joined_token(spelling)
            if latin and (latin not in best or best[latin][0] < int(count)):
                best[latin] = (int(count), str(token))
    return {latin: token for latin, (_, token) in best.items()}


def _latin_to_pivot(df: pd.DataFrame, spelled: dict[str, str], counts: pd.Series) -> dict[str, str]:
    """Map each Latin spelling to the name of one script (Arabic: the Arabic name) it most likely writes.

    Every name token of the script in the case is spelled in English by the script's spellings
    (for Arabic the shipped name-segment dictionary,
    :func:`undercount.names.spellings.english_spellings`); a Latin spelling maps to the token,
    among those it spells, that the case's records of the script hold most often; a spelling
    one edit from a known one maps to that one's token.
    """
    mapping = dict(spelled)
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


_KNOWN_MIN_COUNT = 3
_MIN_PIECE = 2


def _known(token: str, known: set[str]) -> bool:
    return token in known


def _repair_tokens(tokens: list[str], known: set[str]) -> list[str]:
    """Undo a typing error at a space in a Latin name: a space moved by one letter
    (``mohammedn ajjar``), lost (``mohammedahmad``) or added (``moha mmed``). A repair is made
    only when every piece it makes is a known spelling and the tokens as written are not."""
    out = list(tokens)
    i = 0
    while i < len(out):
        a = out[i]
        b = out[i + 1] if i + 1 < len(out) else None
        if b is not None and not (_known(a, known) and _known(b, known)):
            candidates = [
                [a[:-1], a[-1] + b] if len(a) > _MIN_PIECE else None,
                [a + b[0], b[1:]] if len(b) > _MIN_PIECE else None,
                [a + b],
            ]
            fixed = next((c for c in candidates if c and all(_known(t, known) for t in c)), None)
            if fixed is not None:
                out[i:i + 2] = fixed
                i += len(fixed)
                continue
        if not _known(a, known) and len(a) >= 2 * _MIN_PIECE + 2:
            split = next(([a[:k], a[k:]] for k in range(_MIN_PIECE + 1, len(a) - _MIN_PIECE)
                          if _known(a[:k], known) and _known(a[k:], known)), None)
            if split is not None:
                out[i:i + 1] = split
                i += 2
                continue
        i += 1
    return out


_ABD = "عبد"


def _abd_compounds(df: pd.DataFrame) -> set[str]:
    """The keys of the case's Arabic compound names on عبد (``عبدالرحمن``: ``bdrhmn``)."""
    from undercount.names import name_key

    arabic = df["script"].to_numpy() == "arabic"
    values = pd.concat([df.loc[arabic, p] for p in NAME_PARTS]).dropna()
    return {name_key(v) for v in values.unique() if isinstance(v, str) and v.startswith(_ABD) and len(v) > len(_ABD)}


def _join_abd(tokens: list[str], compounds: set[str]) -> list[str]:
    """A compound on عبد whose first half a Latin spelling wrote in a form the names module does
    not join (``Abed El-Rahman``, ``Bed El-Rehemen``: a token keyed as عبد is), in any slot, when
    ``abd`` + the next token make a compound the case's Arabic records hold (its key)."""
    from undercount.names import name_key, normalise_name

    if len(tokens) < 3:
        return tokens
    abd = name_key(_ABD)
    out = list(tokens)
    for i in range(len(out) - 2, -1, -1):
        if out[i] != "abd" and name_key(out[i]) == abd and name_key(normalise_name(f"abd {out[i + 1]}")) in compounds:
            out[i] = "abd"
    return out


def _repair_latin_names(df: pd.DataFrame, names: pd.Series, spelled: Collection[str]) -> pd.Series:
    """Re-split the Latin names that a typing error at a space damaged, or that wrote a compound
    on عبد in two tokens the names module does not join; returns the name keys.

    Known spellings are the dictionary's spellings of the case's Arabic tokens and the Latin
    tokens written at least three times in the case. Only records whose parts came from their
    full name (not from part columns) are re-split, by the names module's rule.
    """
    from undercount.names import name_key, split_name

    latin = (df["script"].to_numpy() == "latin") & names.notna().to_numpy()
    new_keys = pd.Series([None] * len(df), index=df.index, dtype=object)
    if not latin.any():
        return new_keys
    tokens = names[latin].str.split()
    counts = pd.Series([t for ts in tokens for t in ts]).value_counts()
    known = set(spelled) | set(counts[counts >= _KNOWN_MIN_COUNT].index)
    compounds = _abd_compounds(df)
    repaired: list[int] = []
    written: dict[str, list[object]] = {p: [] for p in NAME_PARTS}
    for row, words in zip(np.flatnonzero(latin).tolist(), tokens):
        fixed = _join_abd(_repair_tokens(list(words), known), compounds)
        if fixed == list(words):
            continue
        before = split_name(" ".join(words))
        parts = [df.iloc[row][p] for p in NAME_PARTS]
        if parts != [before.given, before.father, before.grandfather, before.family]:
            continue  # the parts came from part columns: leave them
        after = split_name(" ".join(fixed))
        repaired.append(row)
        for p in NAME_PARTS:
            written[p].append(getattr(after, p))
        new_keys.iat[row] = name_key(" ".join(fixed))
    # Written back once per column: a column of Arrow strings is copied whole by every write of one value,
    # so a write per repaired row grew with the rows times the repairs.
    for p in NAME_PARTS:
        if repaired:
            column = df[p].to_numpy(dtype=object, copy=True)
            column[repaired] = np.array(written[p], dtype=object)
            df[p] = pd.Series(column, index=df.index, dtype=df[p].dtype)
    return new_keys


def _written_form(df: pd.DataFrame, part: str) -> pd.Series:
    """The pivot form a part writes: the first non-null pivot column of the registered scripts."""
    from undercount.names import pivot_columns

    columns = pivot_columns(part)
    if not columns:
        return pd.Series([None] * len(df), index=df.index, dtype=object)
    form = df[columns[0]]
    for column in columns[1:]:
        form = form.where(form.notna(), df[column])
    return form


def _set_part_keys(df: pd.DataFrame, trusted: Collection[str] = ()) -> None:
    """``<part>_key``: the transliteration key of each part. A Latin part that the dictionary (or
    its nearest spelling, or a spelling learnt from the case) maps to an Arabic name takes that
    name's key, so a typing error or an unusual romanisation in an English list does not break
    blocking.

    A guess (a nearest or learnt spelling: a Latin token outside ``trusted``, the dictionary's own
    spellings) is second to the token's own key when that key is the key of an Arabic name the
    case holds: an unusual romanisation one letter from a known spelling of *another* name
    (a machine transliteration's Hamid for حامد, one edit from Hamed) is more often the name its
    letters say. On the real-list case of bench/end_to_end.py this halves the true pairs whose
    keys differ in the given name of the machine-transliterated obituaries (9% to 2%).
    """
    latin = df["script"].to_numpy() == "latin"
    pivoted = df["script"].isin([s.id for s in _pivot_scripts()]).to_numpy()
    known: set[str] = set()
    if trusted:
        for part in NAME_PARTS:
            known.update(k for k in _part_keys(df.loc[pivoted, part]).dropna().tolist() if isinstance(k, str))
    for part in NAME_PARTS:
        form = _written_form(df, part)
        source = df[part].where(~latin | form.isna(), form)
        keys = _part_keys(source)
        if known:
            own = _part_keys(df[part].where(latin, None))
            guessed = df[part].map(lambda v: isinstance(v, str) and v.replace(" ", "") not in trusted).to_numpy(dtype=bool)
            use_own = latin & guessed & own.isin(known).to_numpy() & form.notna().to_numpy()
            keys = keys.where(~use_own, own)
        df[f"{part}_key"] = keys.to_numpy()


_LEARNING_ROUNDS = 3
_MIN_VOTES = 2
_MIN_SHARE = 0.6
_ANCHOR_AGE_GAP = 2


def _learn_spellings(
    df: pd.DataFrame, spelled: dict[str, str], sex: np.ndarray, age: np.ndarray, script: Script,
) -> dict[str, str]:
    """Latin spellings learnt from the case itself: Latin token -> the pivot token of ``script``
    (Arabic below) it writes.

    An English list may use a romanisation the shipped dictionary never produces (a machine
    transliteration, a francophone scheme: Chadi, Oualid, El-Djemel). Its records are anchored to
    Arabic records that agree on three of the four name keys, on sex and on the age (within two
    years, when both are known), when the Arabic candidates all carry the same name. The fourth
    slot, and the three others, then pair each Latin token with the Arabic token in its slot; a
    Latin token the dictionary lacks maps to the Arabic token it is paired with at least twice and
    in at least 60% of its pairings, when their keys are close. Run twice: the first spellings
    learnt give the keys that anchor more records.
    """
    from rapidfuzz.distance import Levenshtein

    written = df["script"].to_numpy()
    latin, arabic = np.flatnonzero(written == "latin"), np.flatnonzero(written == script.id)
    if not len(latin) or not len(arabic):
        return {}
    base = df[[*NAME_PARTS, *(f"{p}_key" for p in NAME_PARTS)]].copy()
    base["row"], base["sex"], base["age"] = np.arange(len(df)), sex, age
    votes: dict[str, dict[str, int]] = {}
    for free in NAME_PARTS:
        on = [f"{p}_key" for p in NAME_PARTS if p != free]
        left, right = base.iloc[latin].dropna(subset=on), base.iloc[arabic].dropna(subset=on)
        pairs = left.merge(right, on=on, suffixes=("_l", "_r"))
        sex_ok = pd.isna(pairs["sex_l"]) | pd.isna(pairs["sex_r"]) | (pairs["sex_l"] == pairs["sex_r"])
        gap = (pairs["age_l"] - pairs["age_r"]).abs()
        pairs = pairs[sex_ok.to_numpy() & (gap.isna() | (gap <= _ANCHOR_AGE_GAP)).to_numpy()]
        if pairs.empty:
            continue
        names = pd.Series("", index=pairs.index)
        for part in NAME_PARTS:
            names = names + "|" + pairs[f"{part}_r"].astype(object).fillna("").astype(str)
        unique = names.groupby(pairs["row_l"]).transform("nunique") == 1
        pairs = pairs[unique.to_numpy()].drop_duplicates(subset=["row_l"])
        for part in NAME_PARTS:
            # as Python lists: iterating a column of Arrow strings converts every value on its own
            for lat, ar in zip(pairs[f"{part}_l"].tolist(), pairs[f"{part}_r"].tolist()):
                if isinstance(lat, str) and isinstance(ar, str):
                    token = lat.replace(" ", "")
                    if token not in spelled:
                        votes.setdefault(token, {}).setdefault(ar, 0)
                        votes[token][ar] += 1
    key = _key_function()
    learned: dict[str, str] = {}
    for token, counts in votes.items():
        best, n = max(counts.items(), key=lambda kv: (kv[1], kv[0]))
        if n >= _MIN_VOTES and n >= _MIN_SHARE * sum(counts.values()):
            a, b = (key(token) or "").replace(" ", ""), (key(best) or "").replace(" ", "")
            if Levenshtein.distance(a, b) <= max(1, min(len(a), len(b)) // 2):
                learned[token] = script.pivot(best) or best
    return learned


def _spelled_as(values: pd.Series, mapping: dict[str, str]) -> pd.Series:
    """The token each Latin value writes by ``mapping`` (spaces removed first), else None."""
    return values.map(lambda v: mapping.get(v.replace(" ", "")) if isinstance(v, str) else None)


def _pivot_forms(
    df: pd.DataFrame, spelled: dict[str, dict[str, str]], counts: dict[str, pd.Series],
) -> None:
    """Add ``<part>_<column>`` per script with spellings (``<part>_ar`` for Arabic): the pivot
    form of each part (its own token in the script's records, the token a Latin spelling writes
    in Latin records, else None), so that a name and its dictionary transliteration compare
    equal while محمد/Mohammed and محمود/Mahmoud stay apart (their consonant keys agree)."""
    latin = df["script"].to_numpy() == "latin"
    for script in _pivot_scripts():
        mapping = _latin_to_pivot(df, spelled[script.id], counts[script.id])
        rows = df["script"].to_numpy() == script.id
        for part in NAME_PARTS:
            own = _pivot_values(df[part].where(rows, None), script)
            written = _spelled_as(df[part].where(latin, None), mapping)
            df[f"{part}_{script.column}"] = own.where(own.notna(), written).astype("object").to_numpy()


def _alternative_keys(df: pd.DataFrame) -> list[list[str]]:
    """Per record, the keys of the names (Arabic, or another pivot script's) its Latin parts were
    guessed to write where the part kept its own key instead (see :func:`_set_part_keys`): blocking also pairs on them (the
    rare keys' name tokens), so that a guess that was right still finds its pair; comparisons
    never see them."""
    out: list[list[str]] = [[] for _ in range(len(df))]
    latin = df["script"].to_numpy() == "latin"
    for part in NAME_PARTS:
        guessed = _part_keys(_written_form(df, part).where(latin, None)).to_numpy()
        kept = df[f"{part}_key"].to_numpy()
        for row in np.flatnonzero(latin & pd.notna(guessed) & (guessed != kept)).tolist():
            out[row].append(str(guessed[row]))
    return [sorted(set(keys)) for keys in out]


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
    scripts = _pivot_scripts()
    # Counted before the Latin names are repaired: the repair changes Latin records only.
    counts = {s.id: _pivot_counts(df, s) for s in scripts}
    spelled = {s.id: _dictionary_spellings(counts[s.id], s) for s in scripts}
    # the spellings' own (nearest and learnt ones are guesses)
    trusted: set[str] = set().union(*spelled.values())
    name_keys = records["name_key"].astype("object").to_numpy().tolist()
    if "name_norm" in records:
        repaired = _repair_latin_names(df, records["name_norm"].astype("object").reset_index(drop=True), trusted)
        name_keys = [r if isinstance(r, str) else k for r, k in zip(repaired, name_keys)]
    _pivot_forms(df, spelled, counts)
    _set_part_keys(df, trusted)
    sex = records["sex"].astype("object").to_numpy()
    age = pd.to_numeric(records["age"], errors="coerce").to_numpy(dtype=float)
    for _ in range(_LEARNING_ROUNDS):
        learned = {s.id: _learn_spellings(df, spelled[s.id], sex, age, s) for s in scripts}
        if not any(learned.values()):
            break
        spelled = {s.id: {**learned[s.id], **spelled[s.id]} for s in scripts}
        _pivot_forms(df, spelled, counts)
        _set_part_keys(df, trusted)
    # which name parts of a Latin record are no dictionary spelling (undercount.link.spelling)
    df[SPELLING_COLUMN] = unspelled_parts([df[p] for p in NAME_PARTS], df["script"].to_numpy() == "latin", trusted)
    for part, neighbours in NEIGHBOURS.items():
        cols = df[[f"{n}_key" for n in neighbours]].to_numpy().tolist()
        df[f"{part}_next"] = [[k for k in row if isinstance(k, str)] for row in cols]
    keys = df[[f"{p}_key" for p in NAME_PARTS]].to_numpy().tolist()
    df["name_tokens"] = [_tokens(k, nk) for k, nk in zip(keys, name_keys)]
    df["alt_keys"] = _alternative_keys(df)
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
    _share_strings(df)
    keyed, dropped, held_back = capped_block_keys(df, skip=skip)
    for column, block_keys in keyed.items():
        df[column] = pd.Series(block_keys, index=df.index, dtype="object")
    lists, report = rare_keys(df, key_families(tuple(fields)), skip=skip)
    df[KEYS_COLUMN] = lists
    df.attrs["blocking"] = BlockingReport(dropped={**dropped, **report.dropped}, skipped=report.skipped,
                                          held_back={**held_back, **report.held_back}, capped=report.capped).to_dict()
    return df


def _share_strings(df: pd.DataFrame) -> None:
    """One string object per distinct value in the text and list columns, in place.

    Each row's names and keys were made as new strings, so a million records held a hundred
    thousand copies of a common given name: gigabytes the linkage table need not take.
    """
    shared: dict[str, str] = {}
    for column in df.columns:
        if df[column].dtype != object:
            continue
        values = df[column].tolist()
        if column in LIST_COLUMNS:
            new = [[shared.setdefault(k, k) if isinstance(k, str) else k for k in v] if isinstance(v, list) else v for v in values]
        else:
            new = [shared.setdefault(v, v) if isinstance(v, str) else v for v in values]
        df[column] = pd.Series(new, index=df.index, dtype="object")


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
