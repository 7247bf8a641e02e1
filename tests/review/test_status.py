"""The review stage as a library and at the command line: queue, decide, re-cluster, status.

The case is the committed schema-1 fixture (tests/store/fixtures): three simulated lists,
linked, two decisions, one estimate made by the previous release.
"""

from __future__ import annotations

import json
import tarfile
from pathlib import Path

import pytest
from typer.testing import CliRunner

from undercount.cli import app
from undercount.errors import InputError
from undercount.estimate.case import estimate_case
from undercount.estimate.population import Population
from undercount.report.html import write_report
from undercount.review import (
    case_status,
    check_decision,
    decide,
    decision_count,
    decision_page,
    recluster_case,
    review_queue,
)
from undercount.store import Case
from undercount.store.runs import RunInputs

FIXTURE = Path(__file__).parents[1] / "store" / "fixtures" / "case_v1.tar.gz"
runner = CliRunner()
KILLED = Population(status="killed")


@pytest.fixture
def case(tmp_path: Path) -> Case:
    with tarfile.open(FIXTURE) as tar:
        tar.extractall(tmp_path, filter="data")
    return Case.open(tmp_path / "case")


def _inputs(case: Case, kind: str) -> RunInputs | None:
    row = case.query("SELECT inputs FROM uc_runs WHERE kind = ? ORDER BY finished_at DESC LIMIT 1", [kind])
    return RunInputs.from_json(row["inputs"].iloc[0])


def _stale(case: Case) -> dict[str, tuple[str, ...]]:
    return {s.stage: s.reasons for s in case_status(case).stages if s.state == "stale"}


def test_status_follows_the_case_through_review_estimate_and_report(case: Case, tmp_path: Path) -> None:
    # The old release decided two pairs after linking and never re-clustered.
    status = case_status(case)
    assert [s.state for s in status.stages] == ["current", "current", "stale", "current", "missing"]
    assert status.stage("review").reasons == ("2 decision(s) not yet applied to the clusters",)
    assert status.next_command == f"undercount review recluster {case.path}"
    summary = recluster_case(case, username="ada")
    assert summary.run_id == case.current_link_run() and summary.persons_before == 104
    # The estimate counted the clusters of the link run: stale now.
    assert list(_stale(case)) == ["estimate"]
    assert _inputs(case, "recluster") == RunInputs(
        newest_import=case.current_run("import"), cluster_run=case.current_run("link"), decisions=2,
        newest_decision=2)
    estimate_case(case, method="chao", by="none", imputations=1, population=KILLED)
    assert _inputs(case, "estimate").cluster_run == summary.run_id
    assert case_status(case).next_step == "write the report"
    write_report(case, tmp_path / "report.html")
    assert _inputs(case, "report").estimate_run == case.current_run("estimate")
    done = case_status(case)
    assert done.stale == [] and done.next_command == "" and done.next_step.startswith("nothing")
    # One new decision makes the clusters, the estimate and the report stale.
    first = review_queue(case, limit=1).pairs[0]
    decide(case, first["record_id_l"], first["record_id_r"], "same", username="rita")
    stale = _stale(case)
    assert list(stale) == ["review", "estimate", "report"]
    assert stale["estimate"] == ("1 review decision(s) taken since",)
    assert case_status(case).next_command == f"undercount review recluster {case.path}"


def test_status_reads_the_case_on_one_connection(case: Case, case_opens: list[bool]) -> None:
    """Opening the case costs tens of milliseconds: the status's queries (16 on this case) share one."""
    status = case_status(case)
    assert status.stage("review").reasons == ("2 decision(s) not yet applied to the clusters",)
    assert case_opens == [True]

def test_a_skip_leaves_everything_current(case: Case) -> None:
    recluster_case(case)
    estimate_case(case, method="chao", by="none", imputations=1, population=KILLED)
    first = review_queue(case, limit=1).pairs[0]
    decide(case, first["record_id_l"], first["record_id_r"], "skip", username="rita")
    assert "estimate" not in _stale(case)


def test_a_new_list_makes_the_link_stale(case: Case, tmp_path: Path) -> None:
    from undercount.ingest import import_list

    extra = tmp_path / "late.csv"
    extra.write_text("name,age,sex\nOmar Khalil Hassan,40,m\n", encoding="utf-8")
    import_list(case, extra)
    status = case_status(case)
    assert status.stage("link").reasons == ("1 list(s) imported since",)
    assert status.next_command == f"undercount link {case.path}"


def test_decisions_are_checked_and_listed(case: Case) -> None:
    with pytest.raises(InputError, match="a decision is one of same, different, skip"):
        check_decision(case, 1, 2, "maybe", username="rita")
    with pytest.raises(InputError, match="not a candidate pair of the current link run"):
        decide(case, 1, 1, "same", username="rita")
    before = decision_count(case)
    pair = review_queue(case, limit=1).pairs[0]
    stored = decide(case, pair["record_id_r"], pair["record_id_l"], "different", username="rita")
    assert stored.record_id_l < stored.record_id_r  # stored in order, whichever order was given
    assert decision_count(case) == before + 1
    page = decision_page(case)
    assert page.total == before + 1 and page.rows[0]["username"] == "rita"
    assert case.audit_log()["action"].iloc[0] == "decide"


def test_status_and_review_at_the_command_line(case: Case) -> None:
    queue = runner.invoke(app, ["review", "queue", str(case.path), "--limit", "2", "--json"])
    assert queue.exit_code == 0, queue.output
    data = json.loads(queue.stdout)
    assert data["waiting"] == 104 and len(data["pairs"]) == 2
    assert set(data["pairs"][0]) == {"record_id_l", "record_id_r", "probability", "effect", "skipped", "matters",
                                     "cross_list", "score", "double", "third"}
    assert data["matters"] >= data["matters_decided"] >= 0
    left, right = data["pairs"][0]["record_id_l"], data["pairs"][0]["record_id_r"]
    decided = runner.invoke(app, ["review", "decide", str(case.path), str(left), str(right), "same", "--user", "rita"])
    assert decided.exit_code == 0 and "Stored 'same'" in decided.stdout
    bad = runner.invoke(app, ["review", "decide", str(case.path), str(left), str(right), "perhaps"],
                        env={"COLUMNS": "200"})
    assert bad.exit_code == 2 and "'perhaps' is not one of 'same', 'different', 'skip'" in bad.output
    text = runner.invoke(app, ["status", str(case.path)])
    assert text.exit_code == 0
    assert "review    STALE" in text.stdout and "stale: 3 decision(s) not yet applied" in text.stdout
    assert f"Next: apply the review decisions to the clusters: undercount review recluster {case.path}" in text.stdout
    re = runner.invoke(app, ["review", "recluster", str(case.path), "--json"])
    assert re.exit_code == 0 and json.loads(re.stdout)["persons_before"] == 104
    status = json.loads(runner.invoke(app, ["status", str(case.path), "--json"]).stdout)
    assert status["stale"] == ["estimate"] and status["next_command"] == f"undercount estimate {case.path}"
    # The estimate of the old release stored no inputs: its finish time stands in.
    run = json.loads(re.stdout)["run_id"]
    assert status["stages"]["estimate"]["reasons"] == [f"the clusters changed since (run {run})",
                                                       "1 review decision(s) taken since"]


def _report_warnings(case: Case, path: Path) -> str:
    write_report(case, path)
    html = path.read_text(encoding="utf-8")
    start = html.find('id="stale"')
    return "" if start < 0 else html[start:html.find("</div>", start)]


def test_after_a_decision_and_a_recluster_status_and_report_say_the_estimate_is_stale(case: Case,
                                                                                       tmp_path: Path) -> None:
    recluster_case(case)
    estimate_case(case, method="chao", by="none", imputations=1, population=KILLED)
    assert case_status(case).warnings() == [] and _report_warnings(case, tmp_path / "a.html") == ""
    first = review_queue(case, limit=1).pairs[0]
    decide(case, first["record_id_l"], first["record_id_r"], "same", username="rita")
    # Before the re-cluster: the decisions wait, and the estimate must follow them.
    before = case_status(case).warnings()
    assert before[0].startswith("Review decisions are not yet applied to the clusters: 1 decision(s)")
    assert before[1].endswith(f"Run: undercount review recluster {case.path}, then undercount estimate {case.path}")
    recluster_case(case)
    warnings = case_status(case).warnings()
    assert len(warnings) == 1 and warnings[0].startswith("The estimate is out of date: it counted clusters")
    assert warnings[0].endswith(f"Run: undercount estimate {case.path}")
    box = _report_warnings(case, tmp_path / "b.html")
    assert "The estimate is out of date: it counted clusters" in box and f"undercount estimate {case.path}" in box
    text = runner.invoke(app, ["status", str(case.path)]).stdout
    assert "estimate  STALE" in text and "Warning: The estimate is out of date" in text
    as_json = json.loads(runner.invoke(app, ["status", str(case.path), "--json"]).stdout)
    assert as_json["warnings"][0].startswith("The estimate is out of date")
    # After the estimate: neither says so.
    estimate_case(case, method="chao", by="none", imputations=1, population=KILLED)
    assert case_status(case).warnings() == []
    assert _report_warnings(case, tmp_path / "c.html") == ""
    text = runner.invoke(app, ["status", str(case.path)]).stdout
    assert "STALE" not in text and "Warning" not in text
