"""The ``undercount`` command line. Each stage registers its commands in its own module."""

from __future__ import annotations

import sys

import click
import typer

from undercount.cli.app import app, err_console
from undercount.errors import UndercountError

# Importing the modules registers their commands on ``app``.
from undercount.cli import case as _case  # noqa: F401,E402
from undercount.cli import simulate as _simulate  # noqa: F401,E402
from undercount.cli import link as _link  # noqa: F401,E402
from undercount.cli import estimate as _estimate  # noqa: F401,E402
from undercount.cli import report as _report  # noqa: F401,E402
from undercount.cli import web as _web  # noqa: F401,E402

__all__ = ["app", "main"]


def main() -> None:
    """Entry point of the ``undercount`` command."""
    try:
        app(standalone_mode=False)
    except UndercountError as exc:
        err_console.print(f"{type(exc).__name__}: {exc}", markup=False, highlight=False, soft_wrap=True)
        sys.exit(1)
    except click.exceptions.Abort:
        err_console.print("Aborted.")
        sys.exit(1)
    except click.exceptions.UsageError as exc:
        exc.show()
        sys.exit(2)
    except click.exceptions.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except (typer.Exit, click.exceptions.Exit) as exc:
        sys.exit(getattr(exc, "exit_code", 0))


if __name__ == "__main__":
    main()
