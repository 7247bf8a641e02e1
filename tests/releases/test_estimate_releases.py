"""Estimation counts one release per list (the newest unless told), never two releases as two lists."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import pytest
from tests.estimate.conftest import build_linked_case

from undercount.errors import ConfigError
from undercount.estimate.case import estimate_case
from undercount.store import Case
from undercount.store.releases import choose_releases


def _older_release_of_hospital(case: Case) -> None:
    """Copy 'hospital' as 'hospital_old', record it as the earlier release of list 'hospital', cluster it."""
    with case.transaction() as con:
        con.execute("INSERT INTO uc_records BY NAME SELECT * REPLACE (record_id + 100000 AS record_id, "
                    "'hospital_old' AS source) FROM uc_records WHERE source = 'hospital' AND row % 2 = 0")
        con.execute("INSERT INTO uc_sources BY NAME SELECT * REPLACE ('hospital_old' AS name, 'old' AS file_hash, "
                    "TIMESTAMP '2026-01-02' AS imported_at) FROM uc_sources WHERE name = 'hospital'")
        con.execute("INSERT INTO uc_clusters BY NAME SELECT c.* REPLACE (c.record_id + 100000 AS record_id) "
                    "FROM uc_clusters c JOIN uc_records r USING (record_id) WHERE r.source = 'hospital' AND r.row % 2 = 0")
        for source, day in (("hospital_old", date(2025, 1, 1)), ("hospital", date(2025, 6, 1))):
            con.execute("INSERT INTO uc_releases VALUES (?, 'hospital', ?, NULL, NULL, ?, 'import-1')",
                        [source, day, datetime(2026, 1, 3)])


def test_estimation_uses_the_newest_release_and_says_so(tmp_path: Path) -> None:
    case, _ = build_linked_case(tmp_path / "case", people=1500)
    plain = estimate_case(case, by="none", method="loglinear", store=False)
    _older_release_of_hospital(case)
    choice = choose_releases(case)
    assert set(choice.sources) == {"hospital", "survey", "social"} and choice.left_out == ("hospital_old",)
    res = estimate_case(case, by="none", method="loglinear", store=False)
    assert res.population_notes["lists"] == plain.population_notes["lists"]  # three lists, not four
    assert res.total.estimate == pytest.approx(plain.total.estimate)
    assert res.population_notes["releases"]["hospital"]["release"] == "hospital"
    assert "release hospital (2025-06-01) is counted (the newest of its 2 releases)" in res.population_notes["release_notes"][0]
    older = estimate_case(case, by="none", method="loglinear", store=False, releases=["hospital=2025-01-01"])
    assert "hospital_old" in older.population_notes["lists"] and "hospital" not in older.population_notes["lists"]
    assert older.population_notes["releases"]["hospital"]["chosen"] is True
    with pytest.raises(ConfigError, match="has no release"):
        estimate_case(case, by="none", method="loglinear", store=False, releases=["hospital=2024-01-01"])
