"""``run_demo``: all of undercount on a synthetic case whose truth is known.

Simulate the ``small`` preset with incidents, import every list (with the spec the simulator wrote
for it, if any), the incident reports and the displacement counts, link, score the linkage
against the truth, deduplicate the incidents and link victims to them (scored too), estimate, and
write the report. Each step shows
a progress bar; the result holds the headline numbers.
"""

from __future__ import annotations

import shutil
import time
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, Progress, SpinnerColumn, TaskID, TextColumn, TimeElapsedColumn

from undercount.errors import StoreError, UndercountWarning
from undercount.store import Case
from undercount.store.case import CASE_DB

__all__ = ["DemoResult", "run_demo", "DEMO_LINK_DRAWS"]

# Half of ``estimate``'s default: the demo should finish in about a minute on a laptop.
DEMO_LINK_DRAWS = 10
DEMO_MARK = "made-by-undercount-demo"  # a file in the case folder: the next demo may replace this case


@dataclass(frozen=True)
class DemoResult:
    """What the demo made and found.

    Attributes:
        out_dir: the demo folder; case_dir: the case; report: report.html; data_dir: simulated lists.
        true_n: the simulated number of victims in the headline population (the killed);
            documented: persons of that population the linkage found.
        estimate, lower, upper: the estimated total of that population and its interval.
        population: the headline population's label; true_total: every simulated victim
            (killed, missing, detained, injured), never estimated as one total.
        f1: pairwise F1 of the linkage against the truth; precision, recall likewise.
        incidents: incidents found from the reports; incident_f1: pairwise F1 of their deduplication;
        assignment_accuracy: share of records linked to their true incident or rightly left unlinked;
        displacement_rows: displacement counts imported.
        seconds: time per step (wall seconds); cpu_seconds: the process's CPU seconds per step (all its
            threads: DuckDB's, the samplers'), which a busy machine does not inflate as it does wall time.
    """

    out_dir: Path
    case_dir: Path
    report: Path
    data_dir: Path
    true_n: int
    documented: int
    estimate: float | None
    lower: float | None
    upper: float | None
    f1: float
    precision: float
    recall: float
    incidents: int = 0
    incident_f1: float | None = None
    assignment_accuracy: float | None = None
    displacement_rows: int = 0
    seconds: dict[str, float] = field(default_factory=dict)
    cpu_seconds: dict[str, float] = field(default_factory=dict)
    population: str = "all victims"
    true_total: int = 0

    def to_dict(self) -> dict[str, Any]:
        """The result as JSON-ready values."""
        return {
            "report": str(self.report), "case": str(self.case_dir), "population": self.population,
            "true_n": self.true_n, "true_total": self.true_total,
            "documented": self.documented, "estimate": self.estimate, "lower": self.lower,
            "upper": self.upper, "pairwise_f1": self.f1, "pairwise_precision": self.precision,
            "pairwise_recall": self.recall, "incidents": self.incidents, "incident_pairwise_f1": self.incident_f1,
            "incident_assignment_accuracy": self.assignment_accuracy, "displacement_rows": self.displacement_rows,
            "seconds": self.seconds, "cpu_seconds": self.cpu_seconds,
        }


class _Steps:
    """One progress bar per step, with the time each took."""

    def __init__(self, progress: Progress | None) -> None:
        self.progress = progress
        self.seconds: dict[str, float] = {}
        self.cpu_seconds: dict[str, float] = {}
        self._task: TaskID | None = None

    @contextmanager
    def step(self, name: str, total: int = 1) -> Iterator[Callable[[], None]]:
        task: TaskID | None = self.progress.add_task(name, total=total) if self.progress else None
        started, started_cpu = time.perf_counter(), time.process_time()
        self._task = task

        def advance() -> None:
            if self.progress is not None and task is not None:
                self.progress.advance(task)

        yield advance
        if self.progress is not None and task is not None:  # full, at the total the step's reports ended with
            self.progress.update(task, completed=next(t.total for t in self.progress.tasks if t.id == task) or total)
        self.seconds[name] = round(time.perf_counter() - started, 2)
        self.cpu_seconds[name] = round(time.process_time() - started_cpu, 2)

    def at(self, done: int, total: int) -> None:
        """The current step's real progress (link's steps, the estimate's strata)."""
        if self.progress is not None and self._task is not None:
            self.progress.update(self._task, completed=done, total=max(total, 1))


def _made_by_demo(path: Path, demo_files: set[str]) -> bool:
    """True for a case the demo made: marked, or (before the mark) no accounts, decisions or other lists."""
    if (path / DEMO_MARK).is_file():
        return True
    case = Case.open(path)
    users = int(case.query("SELECT count(*) AS n FROM uc_users")["n"].iloc[0])
    return users == 0 and case.decisions().empty and set(case.sources()["file_name"]) <= demo_files


def _fresh_case(path: Path, *, demo_files: set[str]) -> Case:
    """A new case at ``path``; an earlier demo case there is replaced, never a case the demo did not make."""
    if path.exists():
        if not (path / CASE_DB).is_file():
            raise StoreError(f"{path} exists and is not a case: choose another --out folder")
        if not _made_by_demo(path, demo_files):
            raise StoreError(f"{path} holds a case that was not made by 'undercount demo' (it has accounts, "
                             "review decisions or other lists): choose another --out folder")
        shutil.rmtree(path)
    case = Case.init(path)
    (path / DEMO_MARK).write_text("Made by 'undercount demo': the next demo here replaces this case.\n",
                                  encoding="utf-8")
    return case


def run_demo(out_dir: str | Path, *, seed: int = 0, preset: str = "small", link_draws: int | None = None,
             console: Console | None = None, show_progress: bool = True) -> DemoResult:
    """Simulate, import, link, estimate and report; return the headline numbers.

    Args:
        out_dir: folder for the simulated lists (``data/``), the case (``case/``) and ``report.html``.
        seed: seed of the simulation and the estimation.
        preset: the simulation preset.
        link_draws: plausible linkages the estimate pools over (None: :data:`DEMO_LINK_DRAWS`).
        console: where progress is drawn (a new one by default).
        show_progress: draw progress bars.

    Returns:
        A :class:`DemoResult`.

    Raises:
        StoreError: ``out_dir/case`` exists and is not a case, or is a case the demo did not make.

    Example:
        >>> run_demo("demo-output", seed=1).report  # doctest: +SKIP
        PosixPath('demo-output/report.html')
    """
    from undercount.displacement import import_displacement
    from undercount.estimate.linkage import estimate_populations
    from undercount.incidents import assign_victims, dedupe_incidents, import_incidents
    from undercount.ingest import import_list
    from undercount.link import evaluate_links, link_case
    from undercount.link.incidents import evaluate_assignment, evaluate_dedupe
    from undercount.link.run import LINK_STEPS
    from undercount.report.html import write_report
    from undercount.simulate import simulate

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    progress = Progress(SpinnerColumn(), TextColumn("{task.description:<28}"), BarColumn(),
                        TextColumn("{task.completed}/{task.total}"), TimeElapsedColumn(),
                        console=console or Console(stderr=True), transient=False) if show_progress else None
    steps = _Steps(progress)
    with progress if progress is not None else _nothing(), warnings.catch_warnings():
        warnings.simplefilter("ignore", UndercountWarning)  # kept on the results and shown in the report
        with steps.step(f"Simulating '{preset}' lists"):
            sim = simulate(out / "data", preset=preset, seed=seed, incidents=True)
        case = _fresh_case(out / "case", demo_files={Path(p).name for p in sim.list_files.values()})
        with steps.step("Importing lists", total=len(sim.list_files)) as advance:
            for name, path in sim.list_files.items():
                import_list(case, path, name=name, spec=sim.spec_files.get(name))
                advance()
        entity_files = [*sim.incident_files.values(), *sim.displacement_files]
        with steps.step("Importing incidents, displacement", total=len(entity_files)) as advance:
            displaced = 0
            for path in sim.incident_files.values():
                import_incidents(case, path)
                advance()
            for path in sim.displacement_files:
                displaced += import_displacement(case, path).rows
                advance()
        with steps.step("Linking records", total=len(LINK_STEPS)):
            link_case(case, progress=lambda name: steps.at(LINK_STEPS.index(name), len(LINK_STEPS)))
        with steps.step("Scoring links against truth"):
            scores = evaluate_links(case, sim.truth_path)
        with steps.step("Incidents: dedupe, victims"):
            deduped = dedupe_incidents(case)
            assign_victims(case)
            incident_scores = evaluate_dedupe(case, sim.out_dir / "truth_incident_reports.csv")
            assigned = evaluate_assignment(case, sim.out_dir)
        draws = DEMO_LINK_DRAWS if link_draws is None else link_draws
        with steps.step(f"Estimating ({draws} linkage draws)"):
            result = estimate_populations(case, link_draws=draws, seed=seed,
                                          progress=lambda what, done, total: steps.at(done, total)).headline
        with steps.step("Writing the report"):
            report = write_report(case, out / "report.html",
                                  title=f"undercount demo: a simulated case ('{preset}' preset, seed {seed})")
    total = result.total
    status = result.population.status
    true_n = int((sim.population["status"] == status).sum()) if status else sim.true_n
    return DemoResult(
        out_dir=out, case_dir=case.path, report=report.path, data_dir=out / "data", true_n=true_n,
        documented=total.documented, estimate=total.estimate, lower=total.lower, upper=total.upper,
        f1=scores.pairwise_f1, precision=scores.pairwise_precision, recall=scores.pairwise_recall,
        incidents=deduped.incidents, incident_f1=incident_scores.pairwise_f1,
        assignment_accuracy=assigned.accuracy, displacement_rows=displaced,
        seconds=steps.seconds, cpu_seconds=steps.cpu_seconds, population=result.population.label,
        true_total=sim.true_n,
    )


@contextmanager
def _nothing() -> Iterator[None]:
    yield
