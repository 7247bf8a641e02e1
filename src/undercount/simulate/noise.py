"""Recording errors: how a list writes down the people it holds.

Every error is drawn with its own probability from the list's :class:`ErrorConfig`, only where
it can happen (an age heaps only when it is 20 or more and not already a multiple of 5; a
spelling variant only when the name has a letter with a common variant), and always changes the
value. Each error is tallied as (changed, eligible), so realised rates can be checked against the
settings. Per-value string edits run in Python on the chosen few; everything else is vectorised.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from undercount.simulate.config import ErrorConfig, ListConfig
from undercount.simulate.population import luhn_check_digit

__all__ = [
    "ErrorTally", "NAME_PARTS", "add_duplicates", "apply_errors", "as_text", "luhn_valid_array", "spelling_variant",
    "typo",
]

NAME_PARTS = ("given", "father", "grandfather", "family")
ARABIC_LETTERS = "ابتثجحخدذرزسشصضطظعغفقكلمنهوي"
LATIN_LETTERS = "abcdefghijklmnopqrstuvwxyz"


@dataclass
class ErrorTally:
    """Counts of (changed, eligible) values per kind of error."""

    counts: dict[str, list[int]] = field(default_factory=dict)

    def add(self, kind: str, changed: int, eligible: int) -> None:
        """Add ``changed`` changes out of ``eligible`` values to ``kind``."""
        c = self.counts.setdefault(kind, [0, 0])
        c[0] += int(changed)
        c[1] += int(eligible)

    def to_dict(self) -> dict[str, dict[str, float | int]]:
        """{kind: {"rate", "changed", "eligible"}} in sorted order."""
        return {
            k: {"rate": (c / e if e else 0.0), "changed": c, "eligible": e}
            for k, (c, e) in sorted(self.counts.items())
        }


def typo(text: str, u: np.ndarray, letters: str) -> str:
    """One typing error: substitute, delete or transpose a character (``u``: 3 uniforms)."""
    n = len(text)
    op = int(u[0] * 3)
    if op == 1 and n >= 3:
        pos = int(u[1] * n)
        return text[:pos] + text[pos + 1:]
    if op == 2 and n >= 2:
        pos = int(u[1] * (n - 1))
        if text[pos] != text[pos + 1]:
            return text[:pos] + text[pos + 1] + text[pos] + text[pos + 2:]
    pos = int(u[1] * n)
    letter = letters[int(u[2] * len(letters))]
    if letter == text[pos].lower():
        letter = letters[(letters.index(letter) + 1) % len(letters)]
    if text[pos].isupper():
        letter = letter.upper()
    return text[:pos] + letter + text[pos + 1:]


def _variants(text: str) -> list[str]:
    """The common variant spellings of an Arabic name: alef/hamza, taa marbuta, alef maqsura."""
    out = []
    for hamza in "أإآ":
        if hamza in text:
            out.append(text.replace(hamza, "ا", 1))
            break
    else:
        if text.startswith("ا") and not text.startswith("ال"):
            out.append("أ" + text[1:])
    for a, b in (("ة", "ه"), ("ه", "ة"), ("ى", "ي"), ("ي", "ى")):
        if text.endswith(a):
            out.append(text[:-1] + b)
            break
    return out


def spelling_variant(text: str, u: float) -> str | None:
    """A variant spelling chosen by ``u`` in [0, 1), or None when the name has none."""
    options = _variants(text)
    return options[int(u * len(options))] if options else None


def as_text(values: np.ndarray | pd.Series, index: pd.Index) -> pd.Series:
    """A Series of Python strings (object dtype): cheap to edit cell by cell, unlike Arrow strings."""
    array = values.to_numpy(dtype=object) if isinstance(values, pd.Series) else values
    return pd.Series(array, index=index, dtype=object)


def _per_distinct(values: pd.Series, test: Callable[[str], bool]) -> np.ndarray:
    """``test`` of each present value, computed once per distinct value (False when missing)."""
    codes, uniques = pd.factorize(values)
    ok = np.array([bool(test(u)) for u in uniques] + [False], dtype=bool)
    return ok[codes]  # code -1 (missing) picks the trailing False


def _position(records: pd.DataFrame, column: str) -> int:
    """The position of a column (the simulator's frames never repeat a column name)."""
    loc = records.columns.get_loc(column)
    if not isinstance(loc, int):
        raise ValueError(f"column {column!r} appears more than once")
    return loc


def _chosen(rng: np.random.Generator, eligible: np.ndarray, p: float) -> np.ndarray:
    """Indices of eligible rows picked with probability ``p`` (draws for every row: stable)."""
    draw = rng.random(len(eligible))
    return np.flatnonzero(eligible & (draw < p))


def add_duplicates(records: pd.DataFrame, p: float, rng: np.random.Generator) -> pd.DataFrame:
    """Append a copy of each row with probability ``p``; ``is_copy`` marks the copies."""
    pick = _chosen(rng, np.ones(len(records), dtype=bool), p)
    copies = records.iloc[pick].copy()
    out = pd.concat([records.assign(is_copy=False), copies.assign(is_copy=True)], ignore_index=True)
    return out


def _edit_parts(records: pd.DataFrame, rng: np.random.Generator, p: float, kind: str, tally: ErrorTally,
                eligible_fn: Callable[[pd.Series], np.ndarray], edit: Callable[[str, np.ndarray], str | None]) -> None:
    """Apply ``edit`` to name parts chosen with probability ``p`` among the eligible ones."""
    for part in NAME_PARTS:
        values = records[part]
        eligible = eligible_fn(values)
        idx = _chosen(rng, eligible, p)
        u = rng.random((len(idx), 3))
        array = values.to_numpy(dtype=object).copy()
        changed = 0
        for j, i in enumerate(idx):
            new = edit(array[i], u[j])
            if new is not None and new != array[i]:
                array[i] = new
                changed += 1
        records[part] = as_text(array, records.index)
        tally.add(kind, changed, int(eligible.sum()))


def _name_errors(records: pd.DataFrame, errors: ErrorConfig, rng: np.random.Generator, tally: ErrorTally,
                *, script: str) -> None:
    """Part-level errors in place: compounds, variants (Arabic), dropped/swapped/missing parts."""
    if script == "arabic":
        _edit_parts(records, rng, errors.variant, "variant", tally,
                    lambda s: _per_distinct(s, lambda v: bool(_variants(v))),
                    lambda v, u: spelling_variant(v, float(u[0])))
    _edit_parts(records, rng, errors.compound, "compound", tally,
                lambda s: _per_distinct(s, lambda v: " " in v),
                lambda v, u: v.replace(" ", "", 1))
    has_gf = records["grandfather"].notna().to_numpy()
    drop = _chosen(rng, has_gf, errors.drop_grandfather)
    records.iloc[drop, _position(records, "grandfather")] = None
    tally.add("drop_grandfather", len(drop), int(has_gf.sum()))
    both = records["father"].notna().to_numpy() & records["grandfather"].notna().to_numpy()
    both &= (records["father"] != records["grandfather"]).to_numpy()
    swap = _chosen(rng, both, errors.swap_parts)
    f, g = _position(records, "father"), _position(records, "grandfather")
    fathers = records.iloc[swap, f].to_numpy()
    records.iloc[swap, f] = records.iloc[swap, g].to_numpy()
    records.iloc[swap, g] = fathers
    tally.add("swap_parts", len(swap), int(both.sum()))
    if "role" in records and "household_family" in records:
        mothers = (records["role"] == "mother").to_numpy() & records["family"].notna().to_numpy()
        mothers &= (records["family"] != records["household_family"]).to_numpy()
        married = _chosen(rng, mothers, errors.married_name)
        fam = _position(records, "family")
        records.iloc[married, fam] = records["household_family"].to_numpy(dtype=object)[married]
        tally.add("married_name", len(married), int(mothers.sum()))
    has_family = records["family"].notna().to_numpy()
    lose = _chosen(rng, has_family, errors.missing_part)
    records.iloc[lose, _position(records, "family")] = None
    tally.add("missing_part", len(lose), int(has_family.sum()))


def _typos(records: pd.DataFrame, p: float, rng: np.random.Generator, tally: ErrorTally, *, script: str) -> None:
    """Typing errors in name parts, in place (Arabic or Latin letters)."""
    letters = ARABIC_LETTERS if script == "arabic" else LATIN_LETTERS
    _edit_parts(records, rng, p, "typo", tally,
                lambda s: _per_distinct(s, lambda v: len(v) >= 2),
                lambda v, u: typo(v, u, letters))


def _age_errors(records: pd.DataFrame, errors: ErrorConfig, rng: np.random.Generator, tally: ErrorTally) -> None:
    """Age heaping on multiples of 5, off-by-one ages and missing ages, in place."""
    age = records["age"].to_numpy(dtype=float).copy()
    present = ~np.isnan(age)
    heap_ok = present & (age >= 20) & (np.nan_to_num(age) % 5 != 0)
    heap = _chosen(rng, heap_ok, errors.age_heaping)
    age[heap] = np.round(age[heap] / 5) * 5
    tally.add("age_heaping", len(heap), int(heap_ok.sum()))
    off = _chosen(rng, present, errors.age_off_by_one)
    step = np.where(rng.random(len(off)) < 0.5, -1, 1)
    age[off] = np.where(age[off] + step < 0, age[off] + 1, age[off] + step)
    tally.add("age_off_by_one", len(off), int(present.sum()))
    gone = _chosen(rng, present, errors.age_missing)
    age[gone] = np.nan
    tally.add("age_missing", len(gone), int(present.sum()))
    records["age"] = pd.array(np.where(np.isnan(age), 0, age).astype(np.int64), dtype="Int64")
    records.loc[np.isnan(age), "age"] = pd.NA


def _drop(records: pd.DataFrame, column: str, p: float, rng: np.random.Generator, tally: ErrorTally,
          kind: str) -> None:
    present = records[column].notna().to_numpy()
    gone = _chosen(rng, present, p)
    records.iloc[gone, _position(records, column)] = None
    tally.add(kind, len(gone), int(present.sum()))


def luhn_valid_array(ids: pd.Series) -> np.ndarray:
    """Whether each 9-digit ID passes the Luhn check (False for missing or malformed)."""
    text = ids.fillna("").astype(str)
    ok = text.str.fullmatch(r"\d{9}").to_numpy(dtype=bool)
    digits = np.zeros((len(text), 9), dtype=np.int64)
    if ok.any():
        digits[ok] = np.frombuffer("".join(text[ok]).encode("ascii"), dtype=np.uint8).reshape(-1, 9) - 48
    check = luhn_check_digit(digits[:, :8])
    valid: np.ndarray = ok & (check == digits[:, 8])
    return valid


def _id_errors(records: pd.DataFrame, errors: ErrorConfig, rng: np.random.Generator, tally: ErrorTally) -> None:
    """Missing IDs and mistyped IDs (a digit changed, or two adjacent digits swapped), in place."""
    _drop(records, "id_number", errors.id_missing, rng, tally, "id_missing")
    present = records["id_number"].notna().to_numpy()
    idx = _chosen(rng, present, errors.id_typo)
    u = rng.random((len(idx), 3))
    col = _position(records, "id_number")
    new = []
    for j, i in enumerate(idx):
        text = str(records.iat[i, col])
        if u[j, 0] < 0.5:  # transposition: the Luhn check misses some (09 <-> 90)
            pos = int(u[j, 1] * 8)
            if pos + 1 < len(text) and text[pos] != text[pos + 1]:
                new.append(text[:pos] + text[pos + 1] + text[pos] + text[pos + 2:])
                continue
        pos = int(u[j, 1] * 9)
        if pos >= len(text) or not text[pos].isdigit():  # an ID damaged already (a space, too short): left as is
            new.append(text)
            continue
        digit = str((int(text[pos]) + 1 + int(u[j, 2] * 9)) % 10)
        new.append(text[:pos] + digit + text[pos + 1:])
    records.iloc[idx, col] = new
    tally.add("id_typo", len(idx), int(present.sum()))


def _date_errors(records: pd.DataFrame, errors: ErrorConfig, rng: np.random.Generator, tally: ErrorTally) -> None:
    """Dates shifted by 1 to 7 days either way, and missing dates, in place."""
    dates = records["event_date"].to_numpy(dtype="datetime64[D]").copy()
    present = ~np.isnat(dates)
    shift = _chosen(rng, present, errors.date_shift)
    days = rng.integers(1, 8, size=len(shift)) * np.where(rng.random(len(shift)) < 0.5, -1, 1)
    dates[shift] = dates[shift] + days.astype("timedelta64[D]")
    tally.add("date_shift", len(shift), int(present.sum()))
    gone = _chosen(rng, present, errors.date_missing)
    dates[gone] = np.datetime64("NaT")
    tally.add("date_missing", len(gone), int(present.sum()))
    records["event_date"] = dates


def apply_errors(records: pd.DataFrame, lst: ListConfig, rng: np.random.Generator,
                 transliterate: Callable[[pd.DataFrame, np.random.Generator], None] | None = None
                 ) -> tuple[pd.DataFrame, ErrorTally]:
    """All recording errors of one list, duplicates included.

    Args:
        records: one row per captured person (population columns).
        lst: the list's settings.
        rng: the random generator.
        transliterate: writes the name parts in Latin script in place (for 'latin' lists).

    Returns:
        The rows as the list holds them (with ``is_copy`` for duplicates) and the error tally.
    """
    errors, tally = lst.errors, ErrorTally()
    n_orig = len(records)
    exact = rng.random(n_orig) < 0.5
    near = add_duplicates(records[~exact].reset_index(drop=True), errors.duplicate, rng)
    out = pd.concat([near, records[exact].reset_index(drop=True).assign(is_copy=False)], ignore_index=True)
    _name_errors(out, errors, rng, tally, script="arabic")
    if lst.script == "latin" and transliterate is not None:
        transliterate(out, rng)
    _typos(out, errors.typo, rng, tally, script=lst.script)
    _age_errors(out, errors, rng, tally)
    _drop(out, "sex", errors.sex_missing, rng, tally, "sex_missing")
    if "id" in lst.fields:
        _id_errors(out, errors, rng, tally)
        present = out["id_number"].notna().to_numpy()
        tally.add("id_invalid", int((present & ~luhn_valid_array(out["id_number"])).sum()), int(present.sum()))
    _date_errors(out, errors, rng, tally)
    if "status" in lst.fields:
        killed = (out["status"] == "killed").to_numpy()
        early = _chosen(rng, killed, errors.reported_missing)
        out.iloc[early, _position(out, "status")] = "missing"
        tally.add("reported_missing", len(early), int(killed.sum()))
    is_exact = np.concatenate([np.zeros(len(near), dtype=bool), np.ones(len(out) - len(near), dtype=bool)])
    copies = add_duplicates(out[is_exact].reset_index(drop=True), errors.duplicate, rng)
    out = pd.concat([out[~is_exact], copies], ignore_index=True)
    n_copies = int(out["is_copy"].sum())
    tally.add("duplicate", n_copies, n_orig)
    return out, tally
