"""Help that reads naturally: ``--json`` without ``<bool>``, ``--user USER`` instead of
``--user <str>``, and ``CASE_DIR`` instead of ``{case_dir}`` in the usage line.

typer 0.2x labels every option with its Python type in angle brackets, flags included, and
wraps required arguments in braces. :func:`plain_help` replaces those three labels on typer's
parameter classes once, when the command line is imported; tests/cli/test_help.py runs every
command's ``--help`` and fails if a ``<bool>``, ``<str>`` or ``{name}`` label comes back (for
instance after a typer upgrade renames what is patched here).
"""

from __future__ import annotations

import re
from typing import Any

__all__ = ["plain_help", "type_label"]

_NAMES = {"str": "TEXT", "int": "INTEGER", "int range": "INTEGER", "float": "NUMBER", "float range": "NUMBER",
          "path": "PATH", "file": "FILE", "directory": "FOLDER", "bool": ""}


def type_label(typer_label: str | None, name: str) -> str | None:
    """A metavar for typer's ``<type>`` label of a parameter called ``name``.

    Example:
        >>> type_label("<str>", "user"), type_label("<int range>", "limit"), type_label("<bool>", "json")
        ('USER', 'INTEGER', None)
        >>> type_label("<csv|xlsx>", "format"), type_label("<list[str]>", "option")
        ('csv|xlsx', 'OPTION')
    """
    if not typer_label:
        return None
    inner = typer_label[1:-1] if typer_label.startswith("<") and typer_label.endswith(">") else typer_label
    if inner.startswith("list[") and inner.endswith("]"):  # a repeatable option: its items' label
        inner = inner[5:-1]
    if "|" in inner:  # choices: list them
        return inner
    if inner == "str":
        return re.sub(r"\W+", "_", name).strip("_").upper() or "TEXT"
    label = _NAMES.get(inner, inner.upper())
    return label or None


def plain_help() -> None:
    """Replace typer's ``<type>`` and ``{name}`` labels in help with plain metavars (idempotent)."""
    from typer import core

    if getattr(core, "_undercount_plain_help", False):
        return
    option, argument = core.TyperOption, core.TyperArgument
    display_type = core._TyperParameter.display_type

    def option_type(self: Any, ctx: Any) -> str | None:
        if self.metavar is not None:
            return str(self.metavar)
        if self.is_flag or self.count:
            return None
        label = type_label(display_type(self, ctx), str(self.name or ""))
        return None if label is None else label + ("..." if self.nargs != 1 else "")

    def argument_type(self: Any, ctx: Any) -> str | None:
        if self.metavar is not None:
            return None  # the metavar is the argument's name already
        label = type_label(display_type(self, ctx), str(self.name or ""))
        # A TEXT argument's name says what it is; a path or a number says its kind.
        return None if label == str(self.name or "").upper() else label

    def argument_name(self: Any) -> str:
        name = str(self.metavar or self.name or "").upper()
        return name + ("..." if self.nargs != 1 else "")

    def usage_name(self: Any) -> str:
        name = argument_name(self)
        return name if self.required else f"[{name}]"

    option.display_type_rich = option_type  # type: ignore[method-assign]
    argument.display_type_rich = argument_type  # type: ignore[method-assign]
    argument._rich_display_name = argument_name  # type: ignore[method-assign]
    argument._usage_display_name = usage_name  # type: ignore[method-assign]
    core._undercount_plain_help = True  # type: ignore[attr-defined]
