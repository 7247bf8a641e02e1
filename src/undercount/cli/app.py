"""The typer application and the one place errors become exit codes.

Exit codes: 0 success; 1 the user must fix something (``ErrorName: message``); 2 wrong usage.
Commands parse options, build one object, call the library and print: no logic here.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, Self

import typer
from rich.console import Console

from undercount.cli.helptext import plain_help
from undercount.errors import UndercountError

if TYPE_CHECKING:
    from undercount.store import Case

app = typer.Typer(
    name="undercount",
    help="Deduplicate casualty lists and estimate how many victims no list holds.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
plain_help()
console = Console()
err_console = Console(stderr=True)


def _show_version(value: bool) -> None:
    if value:
        from undercount._version import __version__

        console.print(f"undercount {__version__}", highlight=False)
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", callback=_show_version, is_eager=True, help="Print the version and exit."
    ),
) -> None:
    """Deduplicate casualty lists and estimate how many victims no list holds."""


def print_json(data: Any) -> None:
    """Print JSON to stdout, stable key order, no rich markup."""
    sys.stdout.write(json.dumps(data, indent=2, ensure_ascii=False, default=str) + "\n")
    sys.stdout.flush()


def fail(exc: UndercountError) -> None:
    """Print ``ErrorName: message`` on stderr and exit 1."""
    from rich.markup import escape

    # The message is text, not markup: "[columns]" in a message must print as written.
    err_console.print(f"[bold red]{type(exc).__name__}[/]: {escape(str(exc))}", markup=True, highlight=False,
                      soft_wrap=True)
    raise typer.Exit(code=1)


def handle_errors(func: Any) -> Any:
    """Decorate a command so an UndercountError prints ``Name: message`` and exits 1.

    Example:
        >>> @app.command("x")
        ... @handle_errors
        ... def x() -> None: ...
    """
    import functools

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except UndercountError as exc:
            fail(exc)

    return wrapper


def open_case(case_dir: Path) -> Case:
    """Open a case folder.

    Commands open cases through this function, never by importing the store at the top of their
    module: the store loads DuckDB and pandas, and ``undercount --help`` must answer without them
    (tests/cli/test_start.py).
    """
    from undercount.store import Case

    return Case.open(case_dir)


class _Bar:
    """A transient rich progress bar on stderr, drawn only when stderr is a terminal."""

    def __init__(self, label: str, total: int) -> None:
        self.label, self._total = label, total
        self._progress: Any = None
        self._task: Any = None

    def __enter__(self) -> Self:
        if err_console.is_terminal:
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

            self._progress = Progress(TextColumn("{task.description:<34}"), BarColumn(), MofNCompleteColumn(),
                                      TimeElapsedColumn(), console=err_console, transient=True)
            self._progress.start()
            self._task = self._progress.add_task(self.label, total=self._total)
        return self

    def _show(self, what: str, done: int, total: int) -> None:
        if self._progress is not None:
            self._progress.update(self._task, completed=done, total=total, description=f"{self.label}: {what}")

    def __exit__(self, *exc: object) -> None:
        if self._progress is not None:
            task = self._progress.tasks[0]
            self._progress.update(self._task, completed=task.total)
            self._progress.stop()


class Steps(_Bar):
    """A progress bar of a command's real steps on stderr, drawn only on a terminal.

    Example:
        >>> with Steps(("a", "b"), "linking") as step:   # doctest: +SKIP
        ...     step("a"); step("b")
    """

    def __init__(self, names: tuple[str, ...], label: str) -> None:
        super().__init__(label, len(names))
        self.names = names
        self._done = 0

    def __call__(self, name: str) -> None:
        """A step starts: the steps before it are done."""
        self._done = self.names.index(name) if name in self.names else self._done
        self._show(name, self._done, len(self.names))


class Counts(_Bar):
    """A progress bar fed ``(what, done, total)`` reports (e.g. strata fitted), drawn only on a terminal.

    Each report names what is being done; the bar restarts when that changes.

    Example:
        >>> with Counts("Estimating") as report:   # doctest: +SKIP
        ...     report("best linkage: strata", 2, 6)
    """

    def __init__(self, label: str) -> None:
        super().__init__(label, 1)

    def __call__(self, what: str, done: int, total: int) -> None:
        """Show ``done`` of ``total`` steps of ``what``."""
        self._show(what, done, max(total, 1))
