"""Long work the app runs in the background, one job at a time: re-estimating the case.

An admin presses "Re-estimate" when the estimate is out of date; the estimate runs in a thread of
the app (as ``undercount estimate CASE`` would, with its defaults) while pages keep answering, and
the admin page shows its steps (:data:`undercount.estimate.linkage.Progress`: linkage draws,
strata). Only one job runs at once; a second press while it runs is refused. The start and the end
(done or failed, with the estimate's batch) are written to the audit log with the admin's name.

Every connection the job opens to the case is opened under the app's case lock
(:class:`_LockedCase`): DuckDB refuses a read-only and a read-write connection to one file at once
in one process, and the app's request threads hold the lock for theirs. The lock is held only
while the job reads its inputs or stores its results, not while it computes.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import duckdb

from undercount.errors import UndercountError
from undercount.store import Case

__all__ = ["EstimateJob", "JobState"]

_log = logging.getLogger(__name__)


class _LockedCase(Case):
    """The case, every connection of it opened and used under ``lock`` (the app's case lock)."""

    def __init__(self, path: str | Path, lock: Any) -> None:
        super().__init__(path)
        self._app_lock = lock

    @contextmanager
    def connect(self, *, read_only: bool = False, threads: int | None = None) -> Iterator[duckdb.DuckDBPyConnection]:
        with self._app_lock, super().connect(read_only=read_only, threads=threads) as con:
            yield con

    @contextmanager
    def reading(self) -> Iterator[None]:
        with self._app_lock, super().reading():  # the shared connection lives as long as the block
            yield


@dataclass(frozen=True)
class JobState:
    """What the background job is doing, or did last.

    Attributes:
        state: idle (never ran), running, done or failed.
        started_by: the admin who started it.
        started_at, finished_at: UTC times (seconds since the epoch).
        step: what it is doing ("best linkage: strata"); done/total: its progress.
        message: when done, the headline in words; when failed, why (plain words, no class names).
        batch: the stored estimate's batch.
    """

    state: str = "idle"
    started_by: str | None = None
    started_at: float | None = None
    finished_at: float | None = None
    step: str = ""
    done: int = 0
    total: int = 0
    message: str = ""
    batch: str | None = None
    history: tuple[str, ...] = field(default=())

    @property
    def running(self) -> bool:
        """True while the job runs."""
        return self.state == "running"

    @property
    def seconds(self) -> float:
        """How long it has run (or ran)."""
        if self.started_at is None:
            return 0.0
        return (self.finished_at or time.time()) - self.started_at

    def to_dict(self) -> dict[str, Any]:
        """The state as JSON-ready values."""
        return {**asdict(self), "history": list(self.history), "seconds": round(self.seconds, 1)}


class EstimateJob:
    """Re-estimate the case in a background thread, one run at a time, with its progress."""

    def __init__(self, case: Case, lock: Any, **options: Any) -> None:
        """The job of the app's ``case`` under its case ``lock``; ``options`` go to
        :func:`undercount.estimate.linkage.estimate_populations` (default: its defaults, as the command line's)."""
        self.case, self.lock = case, lock
        self.options = options
        self._guard = threading.Lock()  # guards _state and the start of a thread
        self._state = JobState()
        self._thread: threading.Thread | None = None

    @property
    def state(self) -> JobState:
        """The job's state now."""
        with self._guard:
            return self._state

    def start(self, username: str) -> bool:
        """Start re-estimating as ``username`` (audited); False when a job already runs."""
        with self._guard:
            if self._state.running:
                return False
            self._state = JobState("running", username, time.time(), step="starting")
            self._thread = threading.Thread(target=self._run, args=(username,), name="re-estimate", daemon=True)
        self._audit(username, {"event": "started"})
        self._thread.start()
        return True

    def wait(self, timeout: float | None = None) -> JobState:
        """Wait for the running job to end (tests, shutdown); the state then."""
        thread = self._thread
        if thread is not None:
            thread.join(timeout)
        return self.state

    def _progress(self, what: str, done: int, total: int) -> None:
        with self._guard:
            history = self._state.history if what in self._state.history else (*self._state.history, what)
            self._state = replace(self._state, step=what, done=done, total=total, history=history)

    def _run(self, username: str) -> None:
        from undercount.estimate.linkage import estimate_populations

        case = _LockedCase(self.case.path, self.lock)
        try:
            results = estimate_populations(case, progress=self._progress, **self.options)
        except UndercountError as exc:
            self._finish("failed", f"The estimate could not run: {exc}", username)
            return
        except Exception:  # noqa: BLE001 - a bug: the server log has the traceback, the page says it plainly
            _log.exception("re-estimate failed")
            self._finish("failed", "The estimate stopped on an internal error (the server log has the details).",
                         username)
            return
        head = results.headline
        total = head.total
        if total.estimable and total.estimate is not None:
            upper = "no finite upper limit" if total.upper is None else f"{total.upper:,.0f}"
            lower = "?" if total.lower is None else f"{total.lower:,.0f}"
            text = (f"{head.population.label.capitalize()}: estimate {total.estimate:,.0f} ({lower} to {upper}); "
                    f"{total.documented:,} documented")
        else:
            text = f"{head.population.label.capitalize()}: not estimable ({total.reason})"
        self._finish("done", text, username, batch=results.batch)

    def _finish(self, state: str, message: str, username: str, *, batch: str | None = None) -> None:
        with self._guard:
            full = max(self._state.total, 1) if state == "done" else self._state.total  # done: the bar is full
            self._state = replace(self._state, state=state, message=message, finished_at=time.time(), batch=batch,
                                  done=full if state == "done" else self._state.done, total=full)
            seconds = round(self._state.seconds, 1)
        self._audit(username, {"event": state, "batch": batch, "seconds": seconds})

    def _audit(self, username: str, detail: dict[str, Any]) -> None:
        try:
            with self.lock, self.case.transaction() as con:
                self.case.log(con, action="re-estimate", detail=detail, username=username)
        except UndercountError:
            _log.exception("re-estimate: the audit event could not be written")
