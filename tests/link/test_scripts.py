"""Scripts are data: a script registered in undercount.names links across scripts with no change to link.

The test registers Hebrew with spellings (a small letter table: consonants, the vowel letters
and the vowels a reader inserts) in place of the shipped detection-only entry, and links a Hebrew
list against an English one through the same code that links Arabic.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator

import duckdb
import pandas as pd
import pytest

from undercount.link.backends.duckdb import arrow_table
from undercount.link.comparisons import LevelRole, default_comparisons, level_sql
from undercount.link.prepare import prepare_records
from undercount.link.run import _RECORD_COLUMNS
from undercount.names import parse_names, pivot_columns
from undercount.names.hebrew import HEBREW, HEBREW_LETTERS
from undercount.names.scripts import Script, register_script

# A minimal letter table: each Hebrew letter -> the Latin letters it may be written with.
_LETTERS = {
    "א": ("a", ""), "ב": ("b", "v"), "ג": ("g",), "ד": ("d",), "ה": ("h", ""), "ו": ("v", "o", "u"),
    "ז": ("z",), "ח": ("ch", "h"), "ט": ("t",), "י": ("y", "i"), "כ": ("k", "ch", "c"), "ל": ("l",),
    "מ": ("m",), "נ": ("n",), "ס": ("s",), "ע": ("a", ""), "פ": ("p", "f"), "צ": ("tz",), "ק": ("k",),
    "ר": ("r",), "ש": ("sh", "s"), "ת": ("t",),
}
_VOWELS = ("", "a", "e", "i")  # the vowels Hebrew leaves unwritten, one may follow each consonant


def hebrew_spellings(token: str) -> list[str]:
    """Latin spellings of a Hebrew token by the letter table (at most a few thousand)."""
    if not token or any(c not in _LETTERS for c in token) or len(token) > 6:
        return []
    choices = [tuple(a + v for a in _LETTERS[c] for v in _VOWELS) for c in token]
    return sorted({"".join(p) for p in itertools.product(*choices)} - {""})


HEBREW_SPELLED = Script(HEBREW.id, HEBREW_LETTERS, column="he", spellings=hebrew_spellings)


@pytest.fixture
def hebrew() -> Iterator[Script]:
    previous = register_script(HEBREW_SPELLED, replace=True)
    try:
        yield HEBREW_SPELLED
    finally:
        register_script(previous or HEBREW, replace=True)


NAMES = [
    ("hebrew", "דוד כהן", "male", 34), ("hebrew", "שרה לוי", "female", 29), ("hebrew", "משה ברק", "male", 51),
    ("english", "David Cohen", "male", 34), ("english", "Sarah Levi", "female", 29), ("english", "Moshe Barak", "male", 51),
    ("arabic", "محمد النجار", "male", 40), ("english", "Mohammed Al-Najjar", "male", 40),
]


def _records() -> pd.DataFrame:
    parsed = parse_names(pd.Series([n for _, n, _, _ in NAMES]))
    frame = pd.DataFrame({"record_id": range(1, len(NAMES) + 1), "source": [s for s, _, _, _ in NAMES]})
    for column in ("given", "father", "grandfather", "family", "script", "name_key", "name_norm"):
        frame[column] = parsed[column].astype(object).where(parsed[column].notna(), None).to_numpy()
    frame["sex"] = [s for _, _, s, _ in NAMES]
    frame["age"] = [a for _, _, _, a in NAMES]
    for column in ("id_number", "id_valid", "date_of_birth", "event_date", "place"):
        frame[column] = None
    return frame[[*_RECORD_COLUMNS, "name_norm"]]


def _levels(prepared: pd.DataFrame, part: str) -> dict[tuple[int, int], str]:
    """The level id of each cross-list pair in one name comparison, by the model's own SQL."""
    spec = next(c for c in default_comparisons() if c.name == part)
    cases = " ".join(f"WHEN {level_sql(lv, 'duckdb')} THEN '{lv.id}'" for lv in spec.levels if lv.kind != "else")
    columns = [c for c in prepared.columns if c not in ("block_keys",)]
    sides = ", ".join(f"l.{c} AS {c}_l, r.{c} AS {c}_r" for c in columns)
    con = duckdb.connect()
    try:
        con.register("t", arrow_table(prepared[columns]))
        rows = con.execute(
            f"SELECT unique_id_l, unique_id_r, CASE {cases} ELSE 'different' END FROM "
            f"(SELECT {sides} FROM t l JOIN t r ON l.source < r.source)"
        ).fetchall()
    finally:
        con.close()
    return {(min(a, b), max(a, b)): level for a, b, level in rows}


def test_a_registered_script_gets_pivot_columns_and_links_hebrew_to_english(hebrew: Script) -> None:
    prepared = prepare_records(_records()).set_index("unique_id", drop=False)
    assert set(pivot_columns("given")) <= set(prepared.columns) and "given_he" in prepared.columns
    assert prepared.loc[4, "given_he"] == prepared.loc[1, "given_he"] == "דוד"  # David writes דוד
    assert prepared.loc[5, "family_he"] == "לוי" and prepared.loc[6, "family_he"] == "ברק"
    assert prepared.loc[8, "given_ar"] == "محمد" and pd.isna(prepared.loc[8, "given_he"])  # Arabic as before
    # the English parts take the keys of the Hebrew names they write: blocking pairs them
    for he, en in ((1, 4), (2, 5), (3, 6)):
        for part in ("given", "family"):
            assert prepared.loc[he, f"{part}_key"] == prepared.loc[en, f"{part}_key"]
    across = {lv.id for spec in default_comparisons() for lv in spec.levels if LevelRole.CROSS_SCRIPT in lv.roles}
    for part in ("given", "family"):
        levels = _levels(prepared, part)
        for pair in ((1, 4), (2, 5), (3, 6), (7, 8)):
            assert levels[pair] == "spelled", (part, pair)
        wrong = [levels[p] for p in ((1, 5), (2, 6), (3, 4))]
        assert not set(wrong) & across, (part, wrong)


def test_without_the_registration_the_same_pair_is_not_spelled() -> None:
    prepared = prepare_records(_records()).set_index("unique_id", drop=False)
    assert "given_he" not in prepared.columns
    assert prepared.loc[1, "given_key"] != prepared.loc[4, "given_key"]  # דוד 'dd', David 'dfd'
    levels = _levels(prepared, "given")
    assert levels[(1, 4)] != "spelled" and levels[(7, 8)] == "spelled"


def test_arabic_forms_two_letters_apart_or_one_inside_the_other_and_unknown_spellings_have_levels() -> None:
    # one Arabic record, Latin records whose spellings the names registry read as given (pivots
    # set by hand; keys far apart, so that no key level fires first)
    frame = pd.DataFrame({
        "unique_id": [1, 2, 3, 4, 5],
        "source": ["a", "b", "b", "b", "b"],
        "script": ["arabic", "latin", "latin", "latin", "latin"],
        "given": ["عبدالرحمن", "abdelrahmn", "rahman", "xyzq", "jamal"],
        "given_key": ["bdlrhmn", "qqq", "www", "zzz", "jml"],
        "given_ar": ["عبدالرحمن", "عبدلرحمان", "الرحمن", None, "جمال"],
    })
    rows = _given_levels(frame)
    # two letters apart; one inside the other; no Arabic form known; a known different name
    assert rows == {2: "near_spelling", 3: "near_spelling", 4: "unknown_spelling", 5: "different"}


def test_two_spellings_of_one_name_within_a_script_are_the_same_name_another_spelling() -> None:
    frame = pd.DataFrame({
        "unique_id": [1, 2, 3, 4],
        "source": ["a", "a", "a", "b"],
        "script": ["latin", "latin", "latin", "arabic"],
        "given": ["mohammed", "muhamad", "mahmoud", "محمد"],
        "given_key": ["mhmd", "mhmd", "mhmd", "mhmd"],
        "given_ar": ["محمد", "محمد", "محمود", "محمد"],
    })
    rows = _given_levels(frame)
    # another spelling of the same name; a different name (its key agrees: no level within a script); across scripts
    assert rows[2] == "respelled" and rows[3] != "respelled" and rows[4] == "spelled"


def test_a_compound_on_abd_written_in_two_latin_tokens_is_joined_when_the_case_holds_it() -> None:
    from undercount.link.prepare import _join_abd
    from undercount.names import name_key

    compounds = {name_key("عبدالرحمن")}
    assert _join_abd(["bed", "alrehemen", "mehemed", "family"], compounds)[0] == "abd"  # a letter-by-letter scheme
    assert _join_abd(["abed", "alrahman", "ali", "family"], compounds)[0] == "abd"
    assert _join_abd(["abed", "muhamad", "ali", "family"], compounds)[0] == "abed"  # Abed, a name of its own
    assert _join_abd(["abed", "alrahman"], compounds) == ["abed", "alrahman"]  # too short to be a full name
    assert _join_abd(["muhamad", "abed", "alrahman", "family"], compounds)[1] == "abd"  # the father's name


def _given_levels(frame: pd.DataFrame) -> dict[int, str]:
    """The level id of the given-name comparison between record 1 and each other record (DuckDB's SQL)."""
    spec = next(c for c in default_comparisons() if c.name == "given")
    cases = " ".join(f"WHEN {level_sql(lv, 'duckdb')} THEN '{lv.id}'" for lv in spec.levels if lv.kind != "else")
    sides = ", ".join(f"l.{c} AS {c}_l, r.{c} AS {c}_r" for c in frame.columns)
    con = duckdb.connect()
    try:
        con.register("t", frame)
        return dict(con.execute(
            f"SELECT unique_id_r, CASE {cases} ELSE 'different' END FROM (SELECT {sides} FROM t l JOIN t r "
            "ON l.unique_id = 1 AND r.unique_id > 1)"
        ).fetchall())
    finally:
        con.close()
