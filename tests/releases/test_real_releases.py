"""The diff of the two real Gaza MoH releases in ../shared/data (skipped without it): every record
of both releases is classified once, so the counts add up to both sizes. Figures only.

The time target (under 60 s) is measured by bench/release_diff.py --real, not here.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from undercount.ingest import import_list
from undercount.releases import diff_releases
from undercount.store import Case


@pytest.mark.slow
def test_real_releases_diff_adds_up(shared_dir: Path, tmp_path: Path) -> None:
    case = Case.init(tmp_path / "case")
    import_list(case, shared_dir / "data" / "gaza_moh_raw_20240620_with_dups.csv", name="moh", released="2024-06-20")
    import_list(case, shared_dir / "data" / "gaza_moh_20240831_raw.csv", release_of="moh", released="2024-08-31")
    started = time.perf_counter()
    result = diff_releases(case, "moh")
    counts = result.counts()
    print(f"diff of {result.before.rows:,} and {result.after.rows:,} records in {time.perf_counter() - started:.1f} s")
    print(counts.to_string())
    assert (result.before.rows, result.after.rows) == (45_062, 34_344)
    assert counts["earlier"].sum() == 45_062 and counts["later"].sum() == 34_344
    # the 2024-06 file concatenates several releases (20,206 IDs occur more than once): most of its
    # extra copies are resolved in 2024-08, and the two releases share most of their people
    assert counts.loc["duplicate_resolved", "earlier"] > 15_000
    matched = counts.loc[["unchanged", "corrected", "status_moved", "reappeared_new_id"], "later"].sum()
    assert matched > 0.55 * 34_344
    profile = result.profiles["before"]
    assert profile["persons"] < 30_000 and profile["missing_id"] + profile["invalid_id"] == profile["unidentified"]
