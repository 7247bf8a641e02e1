"""Latin names split by the list's order: whole surnames with their particles, Arabic names by parts (#15)."""

from __future__ import annotations

import pandas as pd
import pytest

from undercount.names import arabic_like, choose_name_order, normalise_name, parse_names, split_name

# (name as written, given, family) in the Western order: real-world shapes.
WESTERN = [
    ("Maria De la Cruz", "maria", "de la cruz"),
    ("Maria de los Angeles Rodriguez", "maria", "rodriguez"),
    ("Juan de Dios Pérez", "juan", "perez"),
    ("José Alonso-Téllez", "jose", "alonso telez"),
    ("Ludwig van Beethoven", "ludwig", "van bithoven"),
    ("Vincent van der Berg", "vincent", "van der berg"),
    ("Ursula von der Leyen", "ursula", "von der leyen"),
    ("Leonardo da Vinci", "leonardo", "da vinci"),
    ("Charles de Gaulle", "charles", "de gaule"),
    ("Jean-Pierre Le Roux", "jean piere", "le rux"),
    ("Mary O'Connor", "mary", "oconor"),
    ("John E. Smith", "john", "smith"),
    ("John Paul Smith", "john", "smith"),
    ("Martin Luther King Jr.", "martin", "king"),
    ("Dr. Sarah Jones", "sarah", "jones"),
    ("Ahmed Abu Khalil", "ahmad", "abukhalil"),
    ("Fatima El Amrani", "fatima", "alamrani"),
    ("Omar Bin Laden", "omar", "bin laden"),
    ("Abdul Rahman Smith", "abdulrahman", "smith"),
    ("Cher", "cher", None),
]


@pytest.mark.parametrize(("name", "given", "family"), WESTERN, ids=[n for n, _, _ in WESTERN])
def test_western_names_keep_the_whole_surname(name: str, given: str, family: str | None) -> None:
    parts = split_name(name, "western")
    assert (parts.given, parts.family) == (given, family)
    assert parts.father is None and parts.grandfather is None  # middle names never become a father
    assert parts.tokens == tuple(normalise_name(name).split())


def test_two_surnames_when_the_list_writes_both() -> None:
    assert split_name("María José García López", "western", surname_words=2).family == "garcia lopez"
    assert split_name("Maria da Silva Santos", "western", surname_words=2).family == "da silva santos"
    assert split_name("Maria da Silva Santos", "western").family == "santos"
    assert split_name("Ana Lopez", "western", surname_words=2).family == "lopez"  # never the given name


# (name, given, father, grandfather, family) in the Arabic order, Latin and Arabic script.
ARABIC = [
    ("Mohammed Ahmed Hassan Odeh", "muhamad", "ahmad", "hasan", "odeh"),
    ("Mohammed bin Salman Al Saud", "muhamad", "salman", None, "alsaud"),
    ("Osama bin Mohammed bin Awad bin Laden", "osama", "muhamad", "awad", "laden"),
    ("Abd El Rahman Youssef Abu Eisha", "abdulrahman", "yusuf", None, "abueisha"),
    ("محمد عبد الله أبو عيشة", "محمد", "عبدالله", None, "ابوعيشه"),
    ("Sami Odeh", "sami", None, None, "odeh"),
]


@pytest.mark.parametrize(("name", "given", "father", "grandfather", "family"), ARABIC, ids=[a[0] for a in ARABIC])
def test_arabic_order(name: str, given: str, father: str | None, grandfather: str | None, family: str) -> None:
    parts = split_name(name)
    assert (parts.given, parts.father, parts.grandfather, parts.family) == (given, father, grandfather, family)
    assert split_name(name, "western").given == given or not name.isascii()


def test_the_order_of_a_list_is_decided_from_its_names() -> None:
    western = pd.Series([n for n, _, _ in WESTERN[:14]])
    arabic = pd.Series(["Mohammed Ahmed Hassan Odeh", "Fatima Khalil Youssef Nasser", "Ahmed Mahmoud Ali Saleh",
                        "Aisha Omar Ibrahim Haddad", "Khaled Said Mustafa Abu Eisha"] * 3)
    assert choose_name_order(western).order == "western"
    assert choose_name_order(arabic).order == "arabic"
    assert choose_name_order(pd.Series(["محمد أحمد", "Maria De la Cruz"])).latin_names == 1
    assert choose_name_order(pd.Series(["محمد أحمد"])).source == "none"
    assert choose_name_order(western, "arabic") .order == "arabic"
    assert arabic_like("Khaled Said Mustafa Abu Eisha") and not arabic_like("Vincent van der Berg")


def test_parse_names_uses_the_order_for_latin_names_only() -> None:
    names = pd.Series(["Maria De la Cruz", "محمد أحمد علي", None])
    parsed = parse_names(names, "western")
    assert parsed.loc[0, ["given", "family"]].tolist() == ["maria", "de la cruz"] and pd.isna(parsed.loc[0, "father"])
    assert parsed.loc[1, ["given", "father", "family"]].tolist() == ["محمد", "احمد", "علي"]
    assert parsed.loc[2].isna().all()
    with pytest.raises(ValueError, match="name order"):
        parse_names(names, "eastern")
