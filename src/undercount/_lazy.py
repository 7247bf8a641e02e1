"""Public names that a package imports on first use (PEP 562), so that importing it stays cheap.

The command line starts in a fraction of a second only if importing ``undercount`` or one of its
packages loads neither pandas, DuckDB, numba nor the estimators (tests/cli/test_start.py): a
package lists its names and their modules, and each name is imported when it is first read.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from importlib import import_module

__all__ = ["lazy_names"]


def lazy_names(package: str, homes: dict[str, str],
               public: list[str]) -> tuple[Callable[[str], object], Callable[[], list[str]]]:
    """The ``__getattr__`` and ``__dir__`` of ``package`` for the names of ``homes``.

    Args:
        package: the package's ``__name__``.
        homes: public name -> the module that defines it, absolute or relative to the package
            (``".case"``).
        public: the package's ``__all__``, which ``dir()`` lists besides what is loaded.

    Example:
        >>> getattr_, dir_ = lazy_names("json", {"JSONEncoder": ".encoder"}, ["JSONEncoder"])
        >>> getattr_("JSONEncoder").__module__
        'json.encoder'
        >>> getattr_("nothing")
        Traceback (most recent call last):
        ...
        AttributeError: module 'json' has no attribute 'nothing'
    """

    def __getattr__(name: str) -> object:
        """Import a public name from its module on first use."""
        home = homes.get(name)
        if home is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        return getattr(import_module(home, package), name)

    def __dir__() -> list[str]:
        return sorted(set(vars(sys.modules[package])) | set(public))

    return __getattr__, __dir__
