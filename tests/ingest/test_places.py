from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from undercount.ingest import import_list
from undercount.ingest.places import GAZETTEER, canonical_place, canonical_places


@pytest.mark.parametrize(
    ("written", "canonical"),
    [
        ("غزة", "Gaza"), ("Gaza City", "Gaza"), ("محافظة خان يونس", "Khan Younis"), ("خانيونس", "Khan Younis"),
        ("Khan Yunis", "Khan Younis"), ("Deir el-Balah", "Deir al-Balah"), ("الوسطى", "Deir al-Balah"),
        ("north  gaza", "North Gaza"), ("رفح", "Rafah"), ("חברון", "Hebron"), ("Bekaa", "Beqaa"),
    ],
)
def test_spellings_become_one_place(written: str, canonical: str) -> None:
    assert canonical_place(written) == canonical


@pytest.mark.parametrize("written", ["Beit Lahia", "الشمال", "الجنوب", "Jabalia camp"])
def test_unknown_or_ambiguous_places_are_kept_as_written(written: str) -> None:
    assert canonical_place(written) == written


def test_every_canonical_name_maps_to_itself() -> None:
    assert all(canonical_place(name) == name for name in GAZETTEER)


def test_nulls_stay_null() -> None:
    out = canonical_places(pd.Series(["غزة", None], dtype="str"))
    assert out.iloc[0] == "Gaza" and pd.isna(out.iloc[1])


def test_import_unifies_places_across_scripts(empty_case, tmp_path: Path) -> None:
    ar = tmp_path / "ar.csv"
    ar.write_text("الاسم,المحافظة\nمحمد احمد علي حسن,خان يونس\n", encoding="utf-8")
    en = tmp_path / "en.csv"
    en.write_text("name,governorate\nMohammed Ahmad Ali Hassan,Khan Yunis\n", encoding="utf-8")
    import_list(empty_case, ar)
    import_list(empty_case, en)
    assert empty_case.records(["place"])["place"].tolist() == ["Khan Younis", "Khan Younis"]
    raw = empty_case.records(["raw"])["raw"].tolist()
    assert "خان يونس" in raw[0]  # the cell as written is kept
