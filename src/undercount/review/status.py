"""What a case holds, what is out of date, and what to run next.

Each stage's newest run stored what it read (:class:`~undercount.store.runs.RunInputs`), so
staleness is computed, not guessed:

- the link is stale when a list was imported after it;
- the clusters are stale when review decisions were taken after them (re-cluster to apply them);
- an estimate is stale when the clusters it counted are no longer the current ones, or when a
  decision was taken after it;
- a report is stale when the estimate, the clusters or the decisions it showed have changed.

A run made before undercount stored its inputs (schema 1) is judged by its finish time.
``undercount status CASE`` prints this; ``--json`` gives :meth:`CaseStatus.to_dict`.

Example:
    >>> import tempfile
    >>> from undercount.store import Case
    >>> case_status(Case.init(tempfile.mkdtemp() + "/c")).next_step
    'import a list'
"""

from __future__ import annotations

import json
from contextlib import nullcontext
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from undercount.review.queue import waiting_pairs
from undercount.store.runs import CLUSTER_KINDS, Reader, RunInputs, decision_state

__all__ = ["CaseStatus", "StageStatus", "case_status", "WARNED_STAGES"]

MISSING, CURRENT, STALE = "missing", "current", "stale"
#: The stages whose staleness the report and the app warn about (a report cannot be stale inside itself).
WARNED_STAGES = ("link", "review", "estimate")
_WHAT = {"link": "The linkage is out of date", "review": "Review decisions are not yet applied to the clusters",
         "estimate": "The estimate is out of date", "report": "The report is out of date"}


@dataclass(frozen=True)
class StageStatus:
    """One stage of a case: whether it has run, and whether what it made is still current.

    Attributes:
        stage: lists, link, review, estimate or report.
        state: missing (never run), current, or stale.
        run_id: the stage's newest run.
        finished_at: when that run finished.
        summary: one line of figures (never a name).
        reasons: why it is stale.
    """

    stage: str
    state: str
    run_id: str | None = None
    finished_at: str | None = None
    summary: str = ""
    reasons: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """The stage as JSON-ready values."""
        return {"stage": self.stage, "state": self.state, "run_id": self.run_id, "finished_at": self.finished_at,
                "summary": self.summary, "reasons": list(self.reasons)}


@dataclass(frozen=True)
class CaseStatus:
    """What a case holds and what to do next.

    Attributes:
        path: the case folder.
        stages: lists, link, review, estimate, report, in pipeline order.
        next_step: what to do next, in words.
        next_command: the command that does it ('' when everything is current).
    """

    path: str
    stages: tuple[StageStatus, ...]
    next_step: str
    next_command: str
    notes: tuple[str, ...] = field(default=())

    def stage(self, name: str) -> StageStatus:
        """The status of one stage.

        Raises:
            KeyError: no such stage.
        """
        for stage in self.stages:
            if stage.stage == name:
                return stage
        raise KeyError(name)

    commands: tuple[tuple[str, str], ...] = field(default=())

    @property
    def stale(self) -> list[str]:
        """The stages whose results are out of date."""
        return [s.stage for s in self.stages if s.state == STALE]

    def warnings(self, stages: tuple[str, ...] = WARNED_STAGES) -> list[str]:
        """One plain sentence per stale stage of ``stages``: what is out of date, why, and the command.

        The command line, the report and the review app print these same sentences.

        Example:
            >>> s = CaseStatus("c", (StageStatus("estimate", STALE, reasons=("2 decision(s) taken since",)),),
            ...                "estimate", "undercount estimate c", commands=(("estimate", "undercount estimate c"),))
            >>> s.warnings()
            ['The estimate is out of date: 2 decision(s) taken since. Run: undercount estimate c']
        """
        commands = dict(self.commands)
        out, pending = [], []
        for stage in self.stages:
            if stage.state != STALE:
                continue
            if commands.get(stage.stage):
                pending.append(commands[stage.stage])  # an earlier stale stage's command comes first
            if stage.stage in stages:
                why = "; ".join(stage.reasons)
                out.append(f"{_WHAT.get(stage.stage, stage.stage)}: {why}." + (f" Run: {', then '.join(pending)}"
                                                                             if pending else ""))
        return out

    def to_dict(self) -> dict[str, Any]:
        """The status as JSON-ready values (stable keys: tools read them)."""
        return {"case": self.path, "stages": {s.stage: s.to_dict() for s in self.stages}, "stale": self.stale,
                "warnings": self.warnings(tuple(_WHAT)), "next_step": self.next_step,
                "next_command": self.next_command, "notes": list(self.notes)}


@dataclass(frozen=True)
class _Run:
    run_id: str
    finished_at: datetime
    summary: dict[str, Any]
    inputs: RunInputs | None

    @property
    def finished(self) -> str:
        return self.finished_at.isoformat(sep=" ", timespec="seconds")


def _newest(case: Reader, kinds: tuple[str, ...]) -> _Run | None:
    rows = case.rows(
        "SELECT run_id, finished_at, summary, inputs FROM uc_runs WHERE kind IN (SELECT unnest(?)) "
        "ORDER BY finished_at DESC, run_id DESC LIMIT 1", [list(kinds)])
    if not rows:
        return None
    row = rows[0]
    summary = json.loads(row["summary"]) if isinstance(row["summary"], str) else {}
    return _Run(str(row["run_id"]), row["finished_at"], summary, RunInputs.from_json(row["inputs"]))


def _after(case: Reader, kinds: tuple[str, ...], run: _Run) -> int:
    """Complete runs of ``kinds`` that finished after ``run``."""
    return int(case.rows("SELECT count(*) AS n FROM uc_runs WHERE kind IN (SELECT unnest(?)) AND finished_at > ?",
                         [list(kinds), run.finished_at])[0]["n"])


def _decisions_since(case: Reader, run: _Run) -> int:
    """Same or different decisions taken after ``run`` read the decisions."""
    after: list[Any]
    if run.inputs is not None:
        sql, after = "decision_id > ?", [run.inputs.newest_decision or 0]
    else:  # a run of schema 1 did not store what it read: its finish time stands in
        sql, after = "decided_at > ?", [run.finished_at]
    return int(case.rows(f"SELECT count(*) AS n FROM uc_decisions WHERE decision <> 'skip' AND {sql}",
                         after)[0]["n"])


def _decision_reasons(case: Reader, run: _Run, standing: int) -> list[str]:
    since = _decisions_since(case, run)
    reasons = [f"{since} review decision(s) taken since" if since else ""]
    if run.inputs is not None and not since and run.inputs.decisions != standing:
        reasons.append(f"standing decisions changed ({run.inputs.decisions} -> {standing})")
    return [r for r in reasons if r]


def _lists(case: Reader) -> StageStatus:
    (row,) = case.rows("SELECT count(*) AS lists, coalesce(sum(row_count), 0) AS rows FROM uc_sources")
    lists, rows = int(row["lists"]), int(row["rows"])
    run = _newest(case, ("import",))
    if run is None:
        return StageStatus("lists", MISSING, summary="no list imported")
    return StageStatus("lists", CURRENT, run.run_id, run.finished, f"{lists} list(s), {rows:,} records")


def _link(case: Reader) -> StageStatus:
    run = _newest(case, ("link",))
    if run is None:
        return StageStatus("link", MISSING, summary="not linked")
    newer = _after(case, ("import",), run)
    reasons = (f"{newer} list(s) imported since",) if newer else ()
    persons = run.summary.get("persons")
    summary = f"{persons:,} persons" if isinstance(persons, int) else ""
    return StageStatus("link", STALE if reasons else CURRENT, run.run_id, run.finished, summary, reasons)


def _review(case: Reader, clusters: _Run | None, standing: int, waiting: int | None) -> StageStatus:
    if clusters is None:
        return StageStatus("review", MISSING, summary="nothing to review before linkage")
    since = _decisions_since(case, clusters)
    reasons = (f"{since} decision(s) not yet applied to the clusters",) if since else ()
    summary = f"{standing:,} decision(s)" + (f", {waiting:,} pair(s) waiting" if waiting is not None else "")
    return StageStatus("review", STALE if reasons else CURRENT, clusters.run_id, clusters.finished, summary, reasons)


def _derived(case: Reader, stage: str, run: _Run | None, clusters: _Run | None, standing: int,
             estimate: _Run | None = None) -> StageStatus:
    """An estimate or a report: stale when what it read has changed since."""
    if run is None:
        return StageStatus(stage, MISSING, summary=f"no {stage} yet")
    reasons: list[str] = []
    if clusters is not None:
        used = run.inputs.cluster_run if run.inputs is not None else None
        if run.inputs is None and clusters.finished_at > run.finished_at:
            reasons.append(f"the clusters changed since (run {clusters.run_id})")
        elif run.inputs is not None and used != clusters.run_id:
            reasons.append(f"it counted clusters {used}, the current ones are {clusters.run_id}")
    reasons += _decision_reasons(case, run, standing)
    if estimate is not None:
        shown = run.inputs.estimate_run if run.inputs is not None else None
        if (run.inputs is None and estimate.finished_at > run.finished_at) or (
                run.inputs is not None and shown != estimate.run_id):
            reasons.append(f"a newer estimate exists ({estimate.run_id})")
    summary = ""
    if stage == "estimate" and isinstance(run.summary.get("estimate"), (int, float)):
        summary = f"estimate {run.summary['estimate']:,.0f} ({run.summary.get('documented', 0):,} documented)"
    return StageStatus(stage, STALE if reasons else CURRENT, run.run_id, run.finished, summary, tuple(reasons))


def _steps(where: str) -> tuple[tuple[str, str, str], ...]:
    return (
        ("lists", "import a list", f"undercount import {where} FILE"),
        ("link", "link the lists", f"undercount link {where}"),
        ("review", "apply the review decisions to the clusters", f"undercount review recluster {where}"),
        ("estimate", "estimate", f"undercount estimate {where}"),
        ("report", "write the report", f"undercount report {where} -o report.html"),
    )


def _next(where: str, stages: dict[str, StageStatus]) -> tuple[str, str]:
    for stage, words, command in _steps(where):
        if stages[stage].state in (MISSING, STALE) and not (stage == "review" and stages[stage].state == MISSING):
            return words, command
    return "nothing: every result is current", ""


def case_status(case: Reader, *, case_path: Path | str | None = None, count_waiting: bool = True) -> CaseStatus:
    """What the case holds, which results are stale and why, and the next command.

    Args:
        case: an open case, or any reader of one (the review app's shared connection).
        case_path: the case folder, for the commands (default: ``case.path``).
        count_waiting: count the pairs waiting for review (a query over every candidate pair; the
            app's banner, which needs only the warnings, leaves it out).

    Returns:
        A :class:`CaseStatus` (no names, no ID numbers).
    """
    reading = getattr(case, "reading", None)  # a case or the app: its reads share one connection (about 15 queries)
    with reading() if reading is not None else nullcontext():
        return _case_status(case, case_path, count_waiting)


def _case_status(case: Reader, case_path: Path | str | None, count_waiting: bool) -> CaseStatus:
    standing, _ = decision_state(case)
    clusters = _newest(case, CLUSTER_KINDS)
    estimate = _newest(case, ("estimate",))
    where = str(case_path if case_path is not None else getattr(case, "path", "CASE"))
    linked = _newest(case, ("link",)) is not None
    waiting = waiting_pairs(case, case_path=where) if linked and count_waiting else None
    stages = {
        "lists": _lists(case),
        "link": _link(case),
        "review": _review(case, clusters, standing, waiting),
        "estimate": _derived(case, "estimate", estimate, clusters, standing),
        "report": _derived(case, "report", _newest(case, ("report",)), clusters, standing, estimate),
    }
    words, command = _next(where, stages)
    notes = []
    if waiting:
        notes.append(f"{waiting:,} candidate pair(s) wait for review: undercount serve {where}")
    commands = tuple((stage, cmd) for stage, _, cmd in _steps(where))
    return CaseStatus(where, tuple(stages.values()), words, command, tuple(notes), commands)

