"""The per-list quality figures."""

from __future__ import annotations

from pathlib import Path

from undercount.ingest import audit_case, import_list
from undercount.ingest.audit import AUDIT_KEYS
from undercount.store import Case

from .conftest import ROWS, luhn_complete, write_csv


def test_audit_figures(empty_case: Case, sample_csv: Path, tmp_path: Path) -> None:
    import_list(empty_case, sample_csv)
    rows = [list(r) for r in ROWS[:3]] + [list(ROWS[0]), list(ROWS[0])]
    rows[1][1] = rows[0][1]  # same ID, other person
    import_list(empty_case, write_csv(tmp_path / "second.csv", rows))
    result = audit_case(empty_case).to_dict()
    assert list(result) == ["lists"] and list(result["lists"]) == ["moh_sample", "second"]
    first = result["lists"]["moh_sample"]
    assert set(first) == set(AUDIT_KEYS)
    assert first["rows"] == 6 and first["invalid_ids"] == 1 and first["check_digit_failures"] == 1
    assert first["missing_ids"] == 1 and first["missing_age"] == 1 and first["age_range"] == 1
    assert first["missing_sex"] == 0 and first["missing_dob"] == 3 and first["missing_event_date"] == 0
    assert first["duplicate_ids"] == 0 and first["duplicate_rows"] == 0
    assert first["age_heaping"] == 0.0  # ages >= 20: 34 and 61, neither a multiple of 5
    assert first["whipple"] is None
    second = result["lists"]["second"]
    assert second["duplicate_ids"] == 1 and second["duplicate_id_records"] == 4
    assert second["duplicate_rows"] == 2 and second["rows"] == 5


def test_audit_whipple_and_empty_case(empty_case: Case, tmp_path: Path) -> None:
    assert audit_case(empty_case).to_dict() == {"lists": {}}
    ages = [str(a) for a in range(23, 63)] * 2 + ["30", "40", "50", "60", "45", "35"] * 4
    rows = [[f"شخص {i}", luhn_complete(f"{i:08d}"), a, "ذكر", "", "", ""] for i, a in enumerate(ages)]
    assert import_list(empty_case, write_csv(tmp_path / "heaped.csv", rows)).rows == len(ages)
    fig = audit_case(empty_case).to_dict()["lists"]["heaped"]
    n, on5 = len(ages), 16 + 24
    assert fig["whipple"] == round(500 * on5 / n, 1)
    assert fig["whipple"] > 150
