"""Plain command-line values without pydantic: the start-up cost of a command such as ``status``.

typer 0.29 turns every parameter's value into its Python type through a pydantic ``TypeAdapter``:
the first value a command coerces imports pydantic (about 0.15 s of a 0.6 s ``undercount status``)
and builds an adapter per parameter. Most values this command line receives need no such
machinery: a text option given as text, a flag that is already a bool, a path given as a string,
a whole number or a number already of its type with no bounds. :func:`plain_values` gives typer's
parameters a coercion that answers those cases directly and hands every other value (choices,
bounded numbers, dates, lists, tuples, files, a custom parser, numbers given as text) to the
adapter typer would have built, built then and only then. The values are those typer gives:
``Path(value)`` after typer's own path checks (``exists``, ``dir_okay``, ``readable``, ...), which run
unchanged; errors come from typer's adapters, so their messages do not change either.

Like :mod:`undercount.cli.helptext` this reaches into typer's parameter class; tests/cli/test_start.py
checks that ``status`` runs without importing pydantic and that a delegated value still fails with
typer's message, so a typer upgrade that renames what is patched here fails the tests, not users.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

__all__ = ["plain_values"]


def plain_values() -> None:
    """Install the plain coercion on typer's parameter class (idempotent)."""
    from typer import _coercion, core
    from typer._param_types import coerce_cli_path

    if getattr(core, "_undercount_plain_values", False):
        return
    runtime_param, build = _coercion.RuntimeParam, _coercion.build_runtime_param

    class PlainRuntimeParam(runtime_param):  # type: ignore[misc, valid-type]
        """Answers plain values itself; anything else goes to the runtime parameter typer builds."""

        def _coerce_value(self, value: Any, param: Any, ctx: Any) -> Any:
            annotation, info = self.annotation, self.parameter_info
            plain = info.parser is None and type(value) is annotation
            if plain and annotation is str:
                return value
            if plain and annotation in (bool, int, float) and info.min is None and info.max is None:
                return value
            if annotation is Path and type(value) is str and value and info.path_type is None and info.parser is None:
                return Path(str(coerce_cli_path(value, info, path_type=None, param=param, ctx=ctx)))
            delegate = self.__dict__.get("_delegate")
            if delegate is None:
                delegate = build(param.type_descriptor)
                object.__setattr__(self, "_delegate", delegate)  # a frozen dataclass: built once, kept
            return delegate._coerce_value(value, param, ctx)

    def get_runtime_param(self: Any) -> Any:
        if self._runtime_param is None:
            descriptor = self.type_descriptor
            if descriptor.file_annotation is not None or descriptor.is_list or descriptor.is_tuple:
                self._runtime_param = build(descriptor)
            else:
                self._runtime_param = PlainRuntimeParam(parameter_info=descriptor.parameter_info,
                                                        annotation=descriptor.annotation)
        return self._runtime_param

    core._TyperParameter.get_runtime_param = get_runtime_param  # type: ignore[method-assign]
    core._undercount_plain_values = True  # type: ignore[attr-defined]
