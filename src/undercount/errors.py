"""Every exception and warning undercount raises.

The tree::

    UndercountError                 base: the CLI catches it, prints ``Name: message``, exits 1
    ├── InputError                  a file the user gave is wrong (holds file, row, column)
    ├── ConfigError                 a spec, setting or option is wrong
    ├── StoreError                  the case folder or its database is missing or damaged
    ├── LinkError                   linkage cannot run on what the case holds
    ├── ModelError                  an estimator cannot be fitted as asked
    └── AuthError                   login, role or CSRF failure in the review app

    UndercountWarning (UserWarning)
    └── ConvergenceWarning          a fit or a sampler did not converge; kept on the result

Messages name a file, row and column, never a person's name or ID number.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "UndercountError",
    "InputError",
    "InputProblem",
    "ConfigError",
    "StoreError",
    "LinkError",
    "ModelError",
    "AuthError",
    "UndercountWarning",
    "ConvergenceWarning",
]


class UndercountError(Exception):
    """Base of every error the user can fix."""


@dataclass(frozen=True)
class InputProblem:
    """One problem found in an input file.

    Args:
        message: what is wrong, without personal data.
        row: 1-based data-row number (header not counted), or None for the whole file.
        column: the column's header as written in the file, or None.
        count: how many problems the entry stands for (more than 1 for a summary of the rest).
    """

    message: str
    row: int | None = None
    column: str | None = None
    count: int = 1

    def describe(self, file: str | None) -> str:
        parts = []
        if file:
            parts.append(f"file {file}")
        if self.row is not None:
            parts.append(f"row {self.row}")
        if self.column is not None:
            parts.append(f"column {self.column!r}")
        where = ", ".join(parts)
        return f"{where}: {self.message}" if where else self.message


class InputError(UndercountError):
    """A file given by the user cannot be read or fails validation.

    Holds the file, and for the first problem its row and column; ``problems`` keeps
    every problem found, so that one run reports them all together.
    """

    def __init__(
        self,
        message: str,
        *,
        file: str | Path | None = None,
        row: int | None = None,
        column: str | None = None,
        problems: list[InputProblem] | None = None,
    ) -> None:
        self.file = str(file) if file is not None else None
        self.problems = list(problems) if problems else [InputProblem(message, row, column)]
        first = self.problems[0]
        self.row = first.row if row is None else row
        self.column = first.column if column is None else column
        text = InputProblem(message, self.row, self.column).describe(self.file)
        if self.total > 1:
            text += f" (and {self.total - 1} more problem(s))"
        super().__init__(text)

    @property
    def total(self) -> int:
        """How many problems were found (the listed ones and those summarised)."""
        return sum(p.count for p in self.problems)

    def grouped(self, rows: int = 3) -> list[dict[str, object]]:
        """The problems per column and kind: ``{"column", "problem", "count", "rows"}`` (first rows only).

        Args:
            rows: how many row numbers to keep per group.
        Returns:
            One dict per (column, problem), in the order they were found.
        """
        groups: dict[tuple[str | None, str], dict[str, object]] = {}
        for p in self.problems:
            group = groups.setdefault((p.column, p.message),
                                      {"column": p.column, "problem": p.message, "count": 0, "rows": []})
            group["count"] = int(str(group["count"])) + p.count
            listed = group["rows"]
            if p.row is not None and isinstance(listed, list) and len(listed) < rows:
                listed.append(p.row)
        return list(groups.values())

    def to_dict(self) -> dict[str, object]:
        """A JSON-ready form: error, message, file, total and the grouped problems."""
        return {"error": type(self).__name__, "message": str(self), "file": self.file, "total": self.total,
                "problems": self.grouped()}


class ConfigError(UndercountError):
    """A spec file, setting or command-line option is invalid."""


class StoreError(UndercountError):
    """The case folder or its database is missing, locked or damaged."""


class LinkError(UndercountError):
    """Linkage cannot run on what the case holds (no records, no link run, ...)."""


class ModelError(UndercountError):
    """An estimator cannot be fitted as asked (bad table, impossible model)."""


class AuthError(UndercountError):
    """Login, role or CSRF failure in the review app."""


class UndercountWarning(UserWarning):
    """Base of undercount's warnings."""


class ConvergenceWarning(UndercountWarning):
    """A fit or a sampler did not converge; the result keeps it."""
