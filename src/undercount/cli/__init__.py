"""The ``undercount`` command line. Each stage registers its commands in its own module."""

from __future__ import annotations

import sys

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


def main() -> None:
    """Entry point of the ``undercount`` command.

    Typer handles usage errors (exit 2); an UndercountError that a command did not catch is
    printed as ``ErrorName: message`` with exit 1.
    """
    try:
        app()
    except UndercountError as exc:
        err_console.print(f"{type(exc).__name__}: {exc}", markup=False, highlight=False, soft_wrap=True)
        sys.exit(1)


if __name__ == "__main__":
    main()
