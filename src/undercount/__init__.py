"""undercount: deduplicated registers of victims and honest estimates of the uncounted."""

from typing import TYPE_CHECKING

from undercount.errors import (
    ConfigError,
    InputError,
    LinkError,
    ModelError,
    StoreError,
    UndercountError,
)

if TYPE_CHECKING:
    from undercount.store import Case

from undercount._version import __version__

__all__ = [
    "Case",
    "ConfigError",
    "InputError",
    "LinkError",
    "ModelError",
    "StoreError",
    "UndercountError",
    "__version__",
]


def __getattr__(name: str) -> object:
    """Import ``Case`` on first use.

    The store loads DuckDB and pandas, which the command line must not pay for before it knows
    the command (``undercount --help`` answers without them; tests/cli/test_start.py).
    """
    if name == "Case":
        from undercount.store import Case

        return Case
    raise AttributeError(f"module 'undercount' has no attribute {name!r}")
