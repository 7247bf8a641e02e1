"""Displacement counts: HXL and Arabic files, provenance, errors, never mixed with deaths."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from undercount.displacement import import_displacement, read_displacement
from undercount.errors import InputError
from undercount.store import Case

from .conftest import snapshot, write


def test_simulated_files_give_the_true_counts(empty_case: Case, sim_dir: Path) -> None:
    first = import_displacement(empty_case, sim_dir / "displacement.csv")
    second = import_displacement(empty_case, sim_dir / "displacement_ocha.json")
    assert first.hxl and not second.hxl
    assert first.columns["displaced"].endswith("(#affected+idps+ind)")
    truth = pd.read_csv(sim_dir / "truth_displacement.csv")
    table = read_displacement(empty_case).counts
    mine = table[table["file"] == "displacement"]
    assert len(mine) == len(truth) and mine["row"].min() == 1
    merged = mine.assign(week=mine["date_start"].dt.strftime("%Y-%m-%d")).merge(
        truth, left_on=["week", "origin", "arrival"], right_on=["week", "origin", "arrival"], suffixes=("", "_t"))
    assert len(merged) == len(truth) and (merged["displaced"] == merged["displaced_t"]).all()
    arrivals = table[table["file"] == "displacement_ocha"].groupby("arrival")["displaced"].sum()
    assert arrivals.to_dict() == truth.groupby("arrival")["displaced"].sum().to_dict()
    assert set(table["population"]) == {"idps"}
    assert empty_case.records().empty  # never mixed with deaths
    assert set(table["file_hash"]) == set(empty_case.query(
        "SELECT file_hash FROM uc_entity_files WHERE kind = 'displacement'")["file_hash"])


def test_a_bad_count_file_stores_nothing(empty_case: Case, tmp_path: Path) -> None:
    before = snapshot(empty_case)
    path = write(tmp_path / "dtm.csv", "date,origin,arrival,idps\n2023-10-13,North Gaza,Rafah,12000\n"
                 "2023-10-20,Gaza,,many\n,,,5\n")
    with pytest.raises(InputError) as caught:
        import_displacement(empty_case, path)
    found = {(p.row, p.column) for p in caught.value.problems}
    assert found == {(2, "idps"), (3, "date"), (3, "arrival")}
    assert "many" not in str(caught.value)
    assert snapshot(empty_case) == before


def test_a_file_with_neither_place_is_refused(empty_case: Case, tmp_path: Path) -> None:
    path = write(tmp_path / "x.csv", "date,idps\n2023-10-13,5\n")
    with pytest.raises(InputError, match="place of origin or of arrival"):
        import_displacement(empty_case, path)
