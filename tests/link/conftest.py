"""A small synthetic case for linkage tests: families with siblings, three lists, known truth.

Lists: 'moh' (Arabic, valid IDs, a few duplicates), 'survey' (Arabic, no IDs, some grandfather
names dropped, ages off by one), 'press' (English transliteration, no IDs). A few named persons
('sib-*', 'cross', 'dropped') are placed in every run so that tests can look them up by truth id.
"""

from __future__ import annotations

import csv
import random
from pathlib import Path

import pandas as pd
import pytest

from undercount.ingest import import_list
from undercount.link import link_case
from undercount.store import Case

MALE = [
    ("محمد", "Mohammed"), ("أحمد", "Ahmed"), ("محمود", "Mahmoud"), ("علي", "Ali"), ("عمر", "Omar"),
    ("خالد", "Khaled"), ("يوسف", "Yousef"), ("إبراهيم", "Ibrahim"), ("حسن", "Hassan"),
    ("حسين", "Hussein"), ("سامي", "Sami"), ("رامي", "Rami"), ("وليد", "Walid"), ("طارق", "Tarek"),
    ("ياسر", "Yasser"), ("عادل", "Adel"), ("خليل", "Khalil"), ("سليمان", "Suleiman"),
    ("مصطفى", "Mustafa"), ("عبد الله", "Abdullah"), ("عبد الرحمن", "Abdelrahman"), ("كريم", "Karim"),
    ("نادر", "Nader"), ("زياد", "Ziad"), ("فادي", "Fadi"), ("ماجد", "Majed"), ("سعيد", "Saeed"),
    ("جمال", "Jamal"), ("رائد", "Raed"), ("هاني", "Hani"),
]
FEMALE = [
    ("فاطمة", "Fatima"), ("مريم", "Mariam"), ("عائشة", "Aisha"), ("نور", "Nour"), ("هدى", "Huda"),
    ("سارة", "Sara"), ("ليلى", "Layla"), ("أمل", "Amal"), ("رنا", "Rana"), ("دينا", "Dina"),
    ("هالة", "Hala"), ("سلمى", "Salma"), ("رهف", "Rahaf"), ("جنى", "Jana"), ("شهد", "Shahd"),
]
FAMILIES = [
    ("النجار", "Al-Najjar"), ("العطار", "Al-Attar"), ("أبو شمالة", "Abu Shamala"), ("الشريف", "Al-Sharif"),
    ("المصري", "Al-Masri"), ("حمدان", "Hamdan"), ("عاشور", "Ashour"), ("الكرد", "Al-Kurd"),
    ("البطش", "Al-Batsh"), ("السقا", "Al-Saqqa"), ("شحادة", "Shehada"), ("عوض", "Awad"),
    ("الحلو", "Al-Helou"), ("أبو ندى", "Abu Nada"), ("الغول", "Al-Ghoul"), ("درويش", "Darwish"),
    ("بركة", "Baraka"), ("الهور", "Al-Hour"), ("سالم", "Salem"), ("منصور", "Mansour"),
]


def luhn_id(rng: random.Random) -> str:
    """A random 9-digit ID whose last digit is the Luhn check digit."""
    digits = [rng.randrange(10) for _ in range(8)]
    total = 0
    for i, d in enumerate(digits):
        p = d * (2 if i % 2 else 1)
        total += p // 10 + p % 10
    return "".join(map(str, digits)) + str((10 - total % 10) % 10)


def _people(rng: random.Random, families: int) -> list[dict[str, object]]:
    people: list[dict[str, object]] = []
    for f in range(families):
        father, grand, fam = rng.choice(MALE), rng.choice(MALE), rng.choice(FAMILIES)
        used: set[str] = set()
        for k in range(rng.randint(1, 4)):
            sex = rng.choice(["male", "female"])
            given = rng.choice(MALE if sex == "male" else FEMALE)
            if given[0] in used or given[0] == father[0]:
                continue
            used.add(given[0])
            people.append({"pid": f"f{f}-{k}", "parts": [given, father, grand, fam], "sex": sex,
                           "age": rng.randint(1, 70), "id": luhn_id(rng)})
    return people


def _special(rng: random.Random) -> list[dict[str, object]]:
    khalil, ibrahim, attar = ("خليل", "Khalil"), ("إبراهيم", "Ibrahim"), ("العطار", "Al-Attar")
    sibs = [(("سامي", "Sami"), "male", 12), (("رامي", "Rami"), "male", 14), (("هالة", "Hala"), "female", 9)]
    out = [{"pid": f"sib-{i}", "parts": [g, khalil, ibrahim, attar], "sex": s, "age": a, "id": luhn_id(rng)}
           for i, (g, s, a) in enumerate(sibs)]
    out.append({"pid": "cross", "parts": [("محمود", "Mahmoud"), ("يوسف", "Yousef"), ("سليمان", "Suleiman"),
                                          ("أبو شمالة", "Abu Shamala")], "sex": "male", "age": 34, "id": luhn_id(rng)})
    out.append({"pid": "dropped", "parts": [("ياسر", "Yasser"), ("عادل", "Adel"), ("حسن", "Hassan"),
                                            ("النجار", "Al-Najjar")], "sex": "male", "age": 41, "id": luhn_id(rng)})
    return out


def write_lists(out: Path, *, seed: int = 0, families: int = 140) -> Path:
    """Write moh.csv, survey.csv, press.csv and truth.csv into ``out``; return ``out``."""
    rng = random.Random(seed)
    people = _people(rng, families) + _special(rng)
    special = {"sib-0", "sib-1", "sib-2", "cross", "dropped"}
    truth: list[tuple[str, int, str]] = []
    rows: dict[str, list[list[object]]] = {"moh": [], "survey": [], "press": []}
    for p in people:
        parts = p["parts"]  # type: ignore[assignment]
        ar = [x[0] for x in parts]  # type: ignore[index]
        en = [x[1] for x in parts]  # type: ignore[index]
        is_special = p["pid"] in special
        copies = 2 if (not is_special and rng.random() < 0.04) else 1
        if is_special or rng.random() < 0.85:
            for _ in range(copies):
                rows["moh"].append([" ".join(ar), p["sex"], p["age"], p["id"]])
                truth.append(("moh", len(rows["moh"]), str(p["pid"])))
        if p["pid"] == "dropped" or (not is_special and rng.random() < 0.5):
            name = ar[:2] + ar[3:] if (p["pid"] == "dropped" or rng.random() < 0.15) else ar
            age = int(p["age"]) + (rng.choice([-1, 1]) if rng.random() < 0.15 else 0)  # type: ignore[call-overload]
            rows["survey"].append([" ".join(name), p["sex"], age, ""])
            truth.append(("survey", len(rows["survey"]), str(p["pid"])))
        sibling = p["pid"].startswith("sib") if isinstance(p["pid"], str) else False
        if p["pid"] == "cross" or sibling or (not is_special and rng.random() < 0.4):
            rows["press"].append([" ".join(en), p["sex"], p["age"], ""])
            truth.append(("press", len(rows["press"]), str(p["pid"])))
    out.mkdir(parents=True, exist_ok=True)
    for name, data in rows.items():
        with (out / f"{name}.csv").open("w", newline="", encoding="utf-8") as fh:
            writer = csv.writer(fh)
            writer.writerow(["name", "sex", "age", "id"])
            writer.writerows(data)
    pd.DataFrame(truth, columns=["list", "row", "person_id"]).to_csv(out / "truth.csv", index=False)
    return out


def make_case(tmp: Path, *, seed: int = 0, lists: tuple[str, ...] = ("moh", "survey", "press")) -> Case:
    """A case holding the synthetic lists (not linked)."""
    data = write_lists(tmp / "lists", seed=seed)
    case = Case.init(tmp / "case")
    for name in lists:
        import_list(case, data / f"{name}.csv")
    return case


def persons_of(case: Case, truth_csv: Path) -> pd.DataFrame:
    """Current clusters joined with the truth: source, row, person_id, true_person."""
    truth = pd.read_csv(truth_csv).rename(columns={"list": "source", "person_id": "true_person"})
    return case.clusters().merge(truth, on=["source", "row"])


@pytest.fixture(scope="module")
def linked_case(tmp_path_factory: pytest.TempPathFactory) -> tuple[Case, Path]:
    """The synthetic case, linked once with the DuckDB engine (shared by a module's tests)."""
    tmp = tmp_path_factory.mktemp("linked")
    case = make_case(tmp)
    link_case(case)
    return case, tmp / "lists" / "truth.csv"
