"""The ``undercount`` command line. Each stage registers its commands in its own module."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager

# Importing the modules registers their commands on ``app``.
from undercount.cli import case as _case  # noqa: F401
from undercount.cli import estimate as _estimate  # noqa: F401
from undercount.cli import incidents as _incidents  # noqa: F401
from undercount.cli import link as _link  # noqa: F401
from undercount.cli import releases as _releases  # noqa: F401
from undercount.cli import report as _report  # noqa: F401
from undercount.cli import review as _review  # noqa: F401
from undercount.cli import sample as _sample  # noqa: F401
from undercount.cli import simulate as _simulate  # noqa: F401
from undercount.cli import web as _web  # noqa: F401
from undercount.cli.app import app, err_console
from undercount.errors import UndercountError

__all__ = ["app", "main"]


@contextmanager
def _only_the_command(first: list[str]) -> Iterator[None]:
    """While a top-level command runs, the application holds that command alone.

    typer builds every command's parameters, those of the groups' commands included, from their
    signatures whenever the application is called (about 40 ms of CPU for some 40 commands), though
    one runs. When the first argument names a
    top-level command (not a group such as ``review``, not an option such as ``--help``), the
    application is built with that command only; its help, usage and errors are the same, since
    they are the command's own. Anything else builds the whole application.
    """
    from typer.main import get_command_name

    commands = app.registered_commands
    named = [c for c in commands if first and (c.name or get_command_name(c.callback.__name__)) == first[0]]  # type: ignore[union-attr]
    if len(named) != 1:
        yield
        return
    groups = app.registered_groups
    app.registered_commands, app.registered_groups = named, []
    try:
        yield
    finally:
        app.registered_commands, app.registered_groups = commands, groups


def main() -> None:
    """Entry point of the ``undercount`` command.

    Typer handles usage errors (exit 2); an UndercountError that a command did not catch is
    printed as ``ErrorName: message`` with exit 1.
    """
    try:
        with _only_the_command(sys.argv[1:2]):
            app()
    except UndercountError as exc:
        err_console.print(f"{type(exc).__name__}: {exc}", markup=False, highlight=False, soft_wrap=True)
        sys.exit(1)


if __name__ == "__main__":
    main()
