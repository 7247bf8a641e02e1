"""The script registry: detection reads it, bad entries are refused, registering is reversible."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pandas as pd
import pytest

from undercount.names import detect_script, parse_names, pivot_columns, pivot_scripts, registered_scripts
from undercount.names.scripts import Script, register_script, unregister_script

GREEK = Script("greek", "\u0391-\u03a9\u03b1-\u03c9", column="el", spellings=lambda token: [token.upper()])


@pytest.fixture
def greek() -> Iterator[Script]:
    register_script(GREEK)
    try:
        yield GREEK
    finally:
        unregister_script("greek")


def test_the_default_registry_holds_arabic_with_spellings_and_hebrew_without() -> None:
    assert [s.id for s in registered_scripts()] == ["arabic", "hebrew"]
    assert [s.id for s in pivot_scripts()] == ["arabic"]
    assert pivot_columns("given") == ("given_ar",)


@pytest.mark.parametrize(("text", "script"), [
    ("محمد", "arabic"), ("ﻣﺤﻤﺪ", "arabic"), ("Muhammad", "latin"), ("Müller", "latin"), ("דוד", "hebrew"),
    ("محمد Ahmad", "mixed"), ("דוד محمد", "mixed"), ("123 -", None), ("", None), (None, None), ("Αλέξης", None),
])
def test_detection_reads_the_registry(text: object, script: str | None) -> None:
    assert detect_script(text) == script


def test_a_registered_script_is_detected_and_gets_pivot_columns_until_it_is_removed(greek: Script) -> None:
    assert detect_script("Αλέξης") == "greek"
    assert detect_script("Αλέξης Ahmad") == "mixed"
    assert parse_names(pd.Series(["Αλέξης Παππάς"]))["script"].tolist() == ["greek"]  # no stale cache
    assert pivot_columns("family") == ("family_ar", "family_el")
    unregister_script("greek")
    try:
        assert detect_script("Αλέξης") is None
        assert parse_names(pd.Series(["Αλέξης Παππάς"]))["script"].isna().all()
    finally:
        register_script(GREEK)


@pytest.mark.parametrize(("make", "message"), [
    (lambda: Script("Greek", "a-z"), "lower-case letters"),
    (lambda: Script("latin", "a-z"), "not latin/mixed/unknown"),
    (lambda: Script("mixed", "a-z"), "not latin/mixed/unknown"),
    (lambda: Script("greek", "a-z", column="el"), "both a pivot column and spellings"),
    (lambda: Script("greek", "a-z", spellings=lambda t: [t]), "both a pivot column and spellings"),
    # the suffix becomes a column name in linkage SQL: letters only
    (lambda: Script("greek", "a-z", column="e; DROP", spellings=lambda t: [t]), "suffix must be"),
    (lambda: Script("greek", "z-a", column="el", spellings=lambda t: [t]), "character class"),
])
def test_bad_entries_are_refused(make: Callable[[], Script], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        make()


def test_a_script_registered_twice_or_a_column_used_twice_is_refused(greek: Script) -> None:
    with pytest.raises(ValueError, match="registered already"):
        register_script(GREEK)
    with pytest.raises(ValueError, match="used by script 'arabic'"):
        register_script(Script("coptic", "\u2c80-\u2cff", column="ar", spellings=lambda t: [t]))
    assert register_script(GREEK, replace=True) is GREEK
