"""Populations: one status (and kind of death) per estimate, statuses reconciled per person."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from undercount.cli import app
from undercount.errors import ConfigError
from undercount.estimate.case import estimate_case
from undercount.estimate.linkage import estimate_populations
from undercount.estimate.population import Population, parse_population, populations_present, reconcile
from undercount.store import Case

from .conftest import store_linked

LISTS = ("hospital", "survey", "social")
runner = CliRunner()


def test_killed_beats_missing_and_the_history_is_kept() -> None:
    recs = pd.DataFrame({
        "person_id": ["a", "a", "b", "b", "c", "c", "d"],
        "source": ["hospital", "survey", "hospital", "survey", "survey", "social", "social"],
        "status": ["killed", "missing", "injured", "detained", "missing", "injured", None],
        "cause": [None, "starvation", None, None, None, None, "disease"],
        "event_date": ["2024-01-01", "2024-03-01", "2024-01-01", "2024-02-01", None, None, None],
    })
    persons = reconcile(recs, list(LISTS))
    assert persons.loc["a", "status"] == "killed"  # missing later on another list: still killed
    assert [e["status"] for e in json.loads(persons.loc["a", "history"])] == ["killed", "missing"]
    assert bool(persons.loc["a", "changed"]) and persons.loc["a", "cause"] == "starvation"
    assert persons.loc["b", "status"] == "detained"  # the latest dated status
    assert persons.loc["c", "status"] == "missing"  # no dates: the gravest
    assert persons.loc["d", "status"] is None and persons.loc["d", "cause"] == "disease"
    assert not bool(persons.loc["d", "changed"])


def test_default_populations_put_killed_first_and_split_indirect_deaths() -> None:
    persons = pd.DataFrame({"status": ["injured", "killed", "missing", "killed"],
                            "cause": [None, "direct_violence", None, None]})
    assert populations_present(persons) == [Population("killed"), Population("injured"), Population("missing")]
    persons.loc[1, "cause"] = "starvation"
    assert populations_present(persons)[:2] == [Population("killed", "direct"), Population("killed", "indirect")]
    assert populations_present(pd.DataFrame({"status": [None], "cause": [None]})) == [Population()]


@pytest.mark.parametrize("status,cause,message", [
    ("dead", None, "--status 'dead': use one of killed, injured, missing, detained"),
    (None, "bombs", "--cause 'bombs': use one of direct, indirect"),
    ("injured", "starvation", "causes of death apply to the killed, not to the injured"),
])
def test_bad_population_is_a_config_error(status: str | None, cause: str | None, message: str) -> None:
    with pytest.raises(ConfigError, match=message.replace("(", r"\(")):
        parse_population(status, cause)
    assert parse_population(None, "indirect") == Population("killed", "indirect")
    assert Population("killed", "indirect").label == "killed (indirect deaths: starvation, disease)"


def _build(path: Path, *, seed: int = 3) -> tuple[Case, dict[str, int]]:
    """Killed and injured people on three lists, listed very differently; some killed also 'missing'."""
    rng = np.random.default_rng(seed)
    killed, injured = 1500, 900
    status = np.array(["killed"] * killed + ["injured"] * injured)
    probs = np.where((status == "killed")[:, None], [0.55, 0.4, 0.35], [0.15, 0.5, 0.05])
    caught = rng.random(probs.shape) < probs
    rows, record_id = [], 0
    for k, name in enumerate(LISTS):
        for row, person in enumerate(np.flatnonzero(caught[:, k]), start=1):
            record_id += 1
            written = status[person]
            if name == "survey" and written == "killed" and caught[person].sum() > 1 and rng.random() < 0.1:
                written = "missing"  # the survey still lists some of the dead (on other lists too) as missing
            rows.append({"record_id": record_id, "source": name, "row": row, "file_hash": name, "status": written,
                         "age": int(rng.integers(18, 70)), "sex": "male", "run_id": "import-1", "person": person})
    case = Case.init(path)
    store_linked(case, pd.DataFrame(rows), LISTS, caught.sum(axis=0))
    seen = caught.any(axis=1)
    return case, {"killed": int((seen & (status == "killed")).sum()), "injured": int((seen & (status == "injured")).sum())}


def test_a_case_of_killed_and_injured_estimates_them_separately(tmp_path: Path) -> None:
    case, documented = _build(tmp_path / "case")
    with pytest.raises(ConfigError, match="the case holds killed, injured persons: capture-recapture counts one"):
        estimate_case(case, method="loglinear", by="none", store=False)
    result = estimate_populations(case, method="loglinear", by="none", link_draws=0, store=True)
    killed, injured = result.results
    assert (killed.population, injured.population) == (Population("killed"), Population("injured"))
    assert killed.total.documented == documented["killed"] and injured.total.documented == documented["injured"]
    assert killed.population_notes["killed_after_other_status"] > 20  # 'missing' on the survey, killed elsewhere
    # each is its own estimate, near its own truth (1,500 and 900); nothing adds them up
    assert 1300 < killed.total.estimate < 1800 and 600 < injured.total.estimate < 1400
    data = result.to_dict()
    assert data["population"]["label"] == "killed" and [p["population"]["status"] for p in data["populations"]] == [
        "killed", "injured"]
    runs = case.runs("estimate")
    assert len(runs) == 2 and {json.loads(p)["population"]["status"] for p in runs["params"]} == {"killed", "injured"}
    assert len({json.loads(p)["batch"] for p in runs["params"]}) == 1


def test_cli_status_option(tmp_path: Path) -> None:
    case, documented = _build(tmp_path / "case")
    out = runner.invoke(app, ["estimate", str(case.path), "--status", "injured", "--method", "loglinear", "--by", "none",
                              "--link-draws", "0", "--json"])
    assert out.exit_code == 0, out.output
    data = json.loads(out.stdout)
    assert data["population"]["label"] == "injured" and data["documented"] == documented["injured"]
    assert len(data["populations"]) == 1
    text = runner.invoke(app, ["estimate", str(case.path), "--method", "loglinear", "--by", "none", "--link-draws", "0"])
    assert text.exit_code == 0 and text.stdout.index("Killed: estimate") < text.stdout.index("Injured: estimate")
    bad = runner.invoke(app, ["estimate", str(case.path), "--status", "dead"], env={"COLUMNS": "200"})
    assert bad.exit_code == 2 and "'dead' is not one of 'killed', 'injured', 'missing', 'detained'" in bad.output


def test_a_population_on_one_list_is_not_estimable(tmp_path: Path) -> None:
    case, _ = _build(tmp_path / "case")
    with case.transaction() as con:  # detained people, only ever on the survey
        con.execute("INSERT INTO uc_records (record_id, source, \"row\", file_hash, status, run_id) "
                    "SELECT 90000 + i, 'survey', 5000 + i, 'survey', 'detained', 'import-1' FROM range(40) t(i)")
        con.execute("INSERT INTO uc_clusters SELECT 'link-2', record_id, person_id, 1.0 FROM uc_clusters "
                    "WHERE run_id = 'link-1' UNION ALL SELECT 'link-2', 90000 + i, 'D' || i, 1.0 FROM range(40) t(i)")
        case.record_run(con, run_id="link-2", kind="link", started_at=datetime(2026, 1, 2))
    result = estimate_populations(case, status="detained", method="loglinear", by="none", link_draws=0, store=False)
    detained = result.headline.total
    assert not detained.estimable and detained.documented == 40
    assert detained.reason == "fewer than three usable lists: only survey names anyone in this population"
