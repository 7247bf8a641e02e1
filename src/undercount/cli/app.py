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
from typer.core import TyperGroup

from undercount.cli.coercion import plain_values
from undercount.cli.helptext import plain_help
from undercount.errors import UndercountError

if TYPE_CHECKING:
    from rich.console import Console

    from undercount.store import Case

class _JsonErrors(TyperGroup):
    """The root group: under ``--json`` a usage error (exit 2) prints as JSON too, as every other error.

    Without ``--json`` typer prints usage errors as it always does.
    """

    def main(self, args: Any = None, prog_name: str | None = None, complete_var: str | None = None,
             standalone_mode: bool = True, windows_expand_args: bool = True, **extra: Any) -> Any:
        argv = list(sys.argv[1:] if args is None else args)
        if not standalone_mode or "--json" not in argv:
            return super().main(args, prog_name, complete_var, standalone_mode, windows_expand_args, **extra)
        from typer import Abort
        from typer._click.exceptions import ClickException

        try:
            code = super().main(argv, prog_name, complete_var, False, windows_expand_args, **extra)
        except ClickException as exc:
            print_json({"error": "UsageError", "message": exc.format_message(), "exit_code": exc.exit_code})
            sys.exit(exc.exit_code)
        except Abort:
            print_json({"error": "Aborted", "message": "stopped before it finished", "exit_code": 1})
            sys.exit(1)
        sys.exit(code if isinstance(code, int) else 0)


app = typer.Typer(
    cls=_JsonErrors,
    name="undercount",
    help="Deduplicate casualty lists and estimate how many victims no list holds.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
plain_help()
plain_values()


class _Console:
    """rich's Console, made when a command first prints through it.

    Importing rich's console is about 35 ms of CPU at start-up; ``undercount status`` prints plain
    lines without it. Every attribute is the real console's; :meth:`get` gives the console itself
    to rich's own classes (a progress bar).
    """

    def __init__(self, *, stderr: bool = False) -> None:
        self._stderr = stderr
        self._console: Console | None = None

    def get(self) -> Console:
        if self._console is None:
            from rich.console import Console

            self._console = Console(stderr=self._stderr)
        return self._console

    def __getattr__(self, name: str) -> Any:
        return getattr(self.get(), name)


console: Console = _Console()  # type: ignore[assignment]
err_console: Console = _Console(stderr=True)  # type: ignore[assignment]


def real_console(out: Console) -> Console:
    """The rich Console behind ``console`` or ``err_console`` (or ``out`` itself), for rich's classes."""
    wrapped: object = out
    return wrapped.get() if isinstance(wrapped, _Console) else out


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


def error_dict(exc: UndercountError) -> dict[str, Any]:
    """An error as JSON-ready values: ``error`` (its kind), ``message``, and for bad input the file and
    the problems per column (never a person's name or ID: messages name file, row and column)."""
    to_dict = getattr(exc, "to_dict", None)
    found = to_dict() if callable(to_dict) else {"error": type(exc).__name__, "message": str(exc)}
    return {**found, "exit_code": 1}


def fail(exc: UndercountError, *, as_json: bool = False) -> None:
    """Print ``ErrorName: message`` on stderr (``as_json``: the error as JSON on stdout) and exit 1."""
    from rich.markup import escape

    if as_json:
        print_json(error_dict(exc))
        raise typer.Exit(code=1)

    # The message is text, not markup: "[columns]" in a message must print as written.
    err_console.print(f"[bold red]{type(exc).__name__}[/]: {escape(str(exc))}", markup=True, highlight=False,
                      soft_wrap=True)
    raise typer.Exit(code=1)


def handle_errors(func: Any) -> Any:
    """Decorate a command so an UndercountError prints ``Name: message`` and exits 1.

    A command called with ``--json`` (its ``as_json`` parameter) prints the error as JSON instead.

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
            fail(exc, as_json=bool(kwargs.get("as_json")))

    return wrapper


def redaction_flags(redact: bool, personal_data: bool, fmt: str, kept: str) -> bool | None:
    """An export's --redact / --personal-data as the exports take them (``True`` or ``None``: HXL's default).

    Raises:
        typer.BadParameter: both flags, or --personal-data with a format other than HXL (which keeps ``kept``).
    """
    if redact and personal_data:
        raise typer.BadParameter("--redact and --personal-data contradict each other", param_hint="--personal-data")
    if personal_data and fmt != "hxl":
        raise typer.BadParameter(f"--personal-data is for --format hxl (other formats keep {kept} unless --redact)",
                                 param_hint="--personal-data")
    return True if redact else None


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
                                      TimeElapsedColumn(), console=real_console(err_console), transient=True)
            self._progress.start()
            self._task = self._progress.add_task(self.label, total=self._total)
        return self

    def _show(self, what: str, done: int, total: int) -> None:
        if self._progress is not None:
            # drawn at once: a step shorter than the bar's refresh interval would otherwise never show
            self._progress.update(self._task, completed=done, total=total, description=f"{self.label}: {what}",
                                  refresh=True)

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
