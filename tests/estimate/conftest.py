"""A small linked case with known truth, built directly in the store (no linkage needed)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from undercount.store import Case

LISTS = ("hospital", "survey", "social")


def build_linked_case(path: Path, *, people: int = 3000, seed: int = 1, unknown_age: float = 0.2) -> tuple[Case, int]:
    """A case of three lists drawn from ``people`` persons; children are rarely on 'social'.

    Returns the case and the true N.
    """
    rng = np.random.default_rng(seed)
    case = Case.init(path)
    age = rng.integers(0, 90, size=people)
    sex = rng.choice(["male", "female"], size=people)
    child = age < 18
    probs = np.column_stack([
        np.full(people, 0.5),
        np.full(people, 0.35),
        np.where(child, 0.08, 0.45),
    ])
    caught = rng.random((people, 3)) < probs
    rows = []
    record_id = 0
    for k, name in enumerate(LISTS):
        for row, person in enumerate(np.flatnonzero(caught[:, k]), start=1):
            record_id += 1
            known = name != "social" or rng.random() > unknown_age
            rows.append({"record_id": record_id, "source": name, "row": row, "file_hash": name,
                         "age": int(age[person]) if known else None, "sex": sex[person],
                         "run_id": "import-1", "person": person})
    store_linked(case, pd.DataFrame(rows), LISTS, caught.sum(axis=0))
    return case, people


def store_linked(case: Case, recs: pd.DataFrame, lists: Sequence[str], rows_per_list: Sequence[int]) -> None:
    """Store records (with their true ``person``) as imported lists and their true persons as a link run."""
    with case.transaction() as con:
        con.register("recs", recs.drop(columns="person"))
        con.execute("INSERT INTO uc_records BY NAME SELECT * FROM recs")
        for i, name in enumerate(lists):
            con.execute(
                "INSERT INTO uc_sources (name, file_hash, file_name, stored_as, size, row_count, imported_at, run_id) "
                "VALUES (?, ?, ?, ?, 0, ?, ?, 'import-1')",
                [name, name, f"{name}.csv", f"sources/{name}.csv", int(rows_per_list[i]), datetime(2026, 1, 1, 0, i)],
            )
        clusters = pd.DataFrame({"run_id": "link-1", "record_id": recs["record_id"],
                                 "person_id": "P" + recs["person"].astype(str), "probability": 1.0})
        con.register("cl", clusters)
        con.execute("INSERT INTO uc_clusters BY NAME SELECT * FROM cl")
        case.record_run(con, run_id="link-1", kind="link", started_at=datetime(2026, 1, 1))


@pytest.fixture(scope="module")
def linked_case(tmp_path_factory: pytest.TempPathFactory) -> tuple[Case, int]:
    """A linked three-list case with 3,000 true persons and unknown ages on 'social'."""
    return build_linked_case(tmp_path_factory.mktemp("est") / "case")
