"""The estimator registry: every method is one :class:`Estimator` object.

An estimator has a name (``--method``), a display name and a description (the report's words),
a one-line help (the CLI and the docs), a frozen options dataclass with typed fields, and
``fit(table, *, level, seed, options) -> EstimateResult``. ``auto``, the CLI, the case-level
estimate, the report and the docs read this registry; nothing else lists the methods.

Adding a method is one module and one registration:

1. write ``undercount/estimate/mymethod.py`` with a frozen options dataclass (every field typed
   and defaulted; check values in ``__post_init__`` and raise :class:`ConfigError`) and a module
   constant ``ESTIMATOR = Estimator(name="mymethod", ..., options_type=MyOptions, fit_function=...)``;
2. add ``"mymethod"`` to :data:`BUILTIN` below (or call :func:`register` from your own package).

Its options are then given as ``--option KEY=VALUE`` on the command line (parsed to the field's
type, a misspelt key is a :class:`ConfigError` naming the closest option), appear in the docs'
table and in the report's methods text; with ``in_range=True`` the method joins the range
across models that ``auto`` reports.
"""

from __future__ import annotations

import dataclasses
import difflib
import importlib
import math
import types
import typing
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import (
    TYPE_CHECKING,
    Any,
    Generic,
    Literal,
    TypeGuard,
    TypeVar,
    get_args,
    get_origin,
)

from undercount.errors import ConfigError

if TYPE_CHECKING:  # annotations only: the command line imports this module and must start at once
    import pandas as pd

    from undercount.estimate.results import EstimateResult

__all__ = [
    "BUILTIN",
    "Convergence",
    "Estimator",
    "Fitting",
    "choose",
    "estimators",
    "get_estimator",
    "method_names",
    "option_fields",
    "parse_options",
    "register",
]

OptionsT = TypeVar("OptionsT")

# The built-in methods, in the order the CLI and the docs show them: one module each, whose
# ``ESTIMATOR`` is registered on first use.
BUILTIN = ("auto", "chapman", "chao", "loglinear", "lcmcr", "dga")


@dataclass(frozen=True)
class Convergence:
    """The targets a sampler runs to: R-hat at most ``rhat_max``, bulk ESS at least ``ess_min``,
    within ``time_budget`` seconds (per stratum in a case estimate)."""

    rhat_max: float
    ess_min: float
    time_budget: float


@dataclass(frozen=True)
class Estimator(Generic[OptionsT]):
    """One estimation method.

    Attributes:
        name: the ``--method`` name.
        display_name: a short name for tables and figures ('LCMCR (latent classes)').
        description: the method in words with its citation, for the report's methods text.
        help: one line: how many lists, what it assumes (CLI help and docs).
        options_type: a frozen dataclass of the method's options, every field defaulted.
        fit_function: ``(table, level, seed, options) -> EstimateResult``.
        min_lists, max_lists: the lists the method can use (``max_lists`` None: no limit).
        in_range: whether ``auto`` includes it in the range across models.
        for_replicates: the options for one of R replicates whose draws are pooled (for
            samplers: shorter chains); None keeps them.
        extend: the options asking for ``factor`` times more draws (samplers; None: cannot).
        convergence: the targets a sampler runs to with these options (None: not a sampler,
            or a run of fixed length).
    """

    name: str
    display_name: str
    description: str
    help: str
    options_type: type[OptionsT]
    fit_function: Callable[[pd.DataFrame, float, int, OptionsT], EstimateResult]
    min_lists: int = 2
    max_lists: int | None = None
    in_range: bool = False
    for_replicates: Callable[[OptionsT, int], OptionsT] | None = None
    extend: Callable[[OptionsT, float], OptionsT] | None = None
    convergence: Callable[[OptionsT], Convergence | None] | None = None

    def default_options(self) -> OptionsT:
        """The options with every default."""
        return self.options_type()

    def options(self, given: OptionsT | Mapping[str, Any] | Sequence[str] | None = None) -> OptionsT:
        """Typed options from an options object, a mapping, or ``KEY=VALUE`` texts.

        Raises:
            ConfigError: an unknown option (the closest name is suggested) or a bad value.
        """
        if given is None:
            return self.default_options()
        if isinstance(given, self.options_type):
            return given
        if dataclasses.is_dataclass(given) or not isinstance(given, (Mapping, Sequence)):
            raise ConfigError(f"method {self.name!r} takes {self.options_type.__name__}, "
                              f"not {type(given).__name__}")
        return parse_options(self.options_type, given, method=self.name)

    def supports(self, lists: int) -> bool:
        """Whether the method can estimate from ``lists`` lists."""
        return lists >= self.min_lists and (self.max_lists is None or lists <= self.max_lists)

    def fit(
        self, table: pd.DataFrame, *, level: float = 0.95, seed: int = 0,
        options: OptionsT | Mapping[str, Any] | Sequence[str] | None = None,
    ) -> EstimateResult:
        """Estimate N from a validated capture table.

        Args:
            table: a capture table (one 0/1 column per list and ``count``).
            level: the interval level.
            seed: seed of any random draws.
            options: the method's options (object, mapping or ``KEY=VALUE`` texts); None: defaults.

        Returns:
            The method's :class:`EstimateResult`.

        Raises:
            ConfigError: bad options. ModelError: the method cannot fit this table.
        """
        return self.fit_function(table, level, seed, self.options(options))

    def replicate_options(self, options: OptionsT, replicates: int) -> OptionsT:
        """The options for one of ``replicates`` fits whose results are pooled."""
        if self.for_replicates is None or replicates <= 1:
            return options
        return self.for_replicates(options, replicates)


_REGISTRY: dict[str, Estimator[Any]] = {}
_LOADED = False


def register(estimator: Estimator[Any]) -> None:
    """Add a method to the registry (a later registration of the same name replaces it)."""
    if not dataclasses.is_dataclass(estimator.options_type):
        raise TypeError(f"{estimator.name}: options_type must be a dataclass")
    _REGISTRY[estimator.name] = estimator


def _load() -> None:
    global _LOADED
    if _LOADED:
        return
    _LOADED = True
    for name in BUILTIN:
        module = importlib.import_module(f"undercount.estimate.{name}")
        estimator = getattr(module, "ESTIMATOR", None)
        if estimator is None:  # pragma: no cover - a broken installation
            raise ConfigError(f"module undercount.estimate.{name} registers no ESTIMATOR")
        _REGISTRY.setdefault(name, estimator)


def estimators() -> list[Estimator[Any]]:
    """Every registered method, built-in ones first in :data:`BUILTIN` order."""
    _load()
    order = {name: i for i, name in enumerate(BUILTIN)}
    return sorted(_REGISTRY.values(), key=lambda e: (order.get(e.name, len(order)), e.name))


def method_names() -> list[str]:
    """The registered method names, as :func:`estimators` orders them."""
    return [e.name for e in estimators()]


def get_estimator(name: str) -> Estimator[Any]:
    """The method called ``name``.

    Raises:
        ConfigError: no method has that name (the closest is suggested).
    """
    _load()
    if name in _REGISTRY:
        return _REGISTRY[name]
    names = method_names()
    close = difflib.get_close_matches(name, names, n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    raise ConfigError(f"method {name!r}{hint}: use one of {', '.join(names)}")


# ---------------------------------------------------------------------------------------------
# Options: typed fields from KEY=VALUE texts


def option_fields(options_type: type[Any]) -> dict[str, tuple[Any, Any]]:
    """Field name -> (resolved type, default) of an options dataclass."""
    hints = typing.get_type_hints(options_type)
    out: dict[str, tuple[Any, Any]] = {}
    for f in dataclasses.fields(options_type):
        if f.default is not dataclasses.MISSING:
            default: Any = f.default
        elif f.default_factory is not dataclasses.MISSING:
            default = f.default_factory()
        else:  # pragma: no cover - the registry's contract
            raise TypeError(f"{options_type.__name__}.{f.name} has no default")
        out[f.name] = (hints[f.name], default)
    return out


def _is_options_type(hint: Any) -> TypeGuard[type[Any]]:
    """Whether a field's type is itself an options dataclass (nested options)."""
    return isinstance(hint, type) and dataclasses.is_dataclass(hint)


def _describe_type(hint: Any) -> str:
    origin = get_origin(hint)
    if origin is Literal:
        return " or ".join(repr(a) for a in get_args(hint))
    if origin in (types.UnionType, typing.Union):
        parts = [_describe_type(a) for a in get_args(hint) if a is not type(None)]
        return " or ".join(parts) + " or none"
    return getattr(hint, "__name__", str(hint))


def _coerce(text: Any, hint: Any, key: str, method: str) -> Any:
    """A value for a field of type ``hint`` from a text (or a value of the right type)."""
    bad = ConfigError(f"option {key}={text!r} of method {method!r}: expected {_describe_type(hint)}")
    origin = get_origin(hint)
    if origin in (types.UnionType, typing.Union):
        args = [a for a in get_args(hint) if a is not type(None)]
        if text is None or (isinstance(text, str) and text.strip().lower() in ("none", "null", "")):
            return None
        for arg in args:
            try:
                return _coerce(text, arg, key, method)
            except ConfigError:
                continue
        raise bad
    if origin is Literal:
        for allowed in get_args(hint):
            if allowed == text or (isinstance(text, str) and str(allowed).lower() == text.strip().lower()):
                return allowed
        raise bad
    if hint is bool:
        if isinstance(text, bool):
            return text
        words = {"true": True, "yes": True, "1": True, "false": False, "no": False, "0": False}
        if isinstance(text, str) and text.strip().lower() in words:
            return words[text.strip().lower()]
        raise bad
    if hint is int:
        if isinstance(text, bool):
            raise bad
        if isinstance(text, int):
            return text
        try:
            number = float(str(text).replace("_", "").replace(",", ""))
        except ValueError:
            raise bad from None
        if not number.is_integer():
            raise bad
        return int(number)
    if hint is float:
        if isinstance(text, bool):
            raise bad
        if isinstance(text, (int, float)):
            value = float(text)
        else:
            from fractions import Fraction  # 16 ms of import, paid by the options that give a number as text

            try:
                value = float(Fraction(str(text).strip().replace("_", "")))
            except (ValueError, ZeroDivisionError):
                raise bad from None
        if not math.isfinite(value):
            raise bad
        return value
    if hint is str:
        return str(text)
    raise bad  # pragma: no cover - options use only the types above


def _split(given: Mapping[str, Any] | Sequence[str]) -> dict[str, Any]:
    """``KEY=VALUE`` texts or a mapping, as a flat mapping of (possibly dotted) keys."""
    if isinstance(given, Mapping):
        flat: dict[str, Any] = {}
        for key, value in given.items():
            if isinstance(value, Mapping):
                flat.update({f"{key}.{k}": v for k, v in _split(value).items()})
            else:
                flat[str(key)] = value
        return flat
    out: dict[str, Any] = {}
    for item in given:
        key, sep, value = str(item).partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"--option {item!r}: write KEY=VALUE, e.g. K=5")
        out[key.strip()] = value.strip()
    return out


def _unknown(key: str, fields: dict[str, tuple[Any, Any]], method: str) -> ConfigError:
    names = list(fields)
    close = difflib.get_close_matches(key, names, n=1, cutoff=0.5) or [
        n for n in names if n.lower() == key.lower()]
    nested = [f"{n}.{key}" for n, (hint, _) in fields.items()
              if _is_options_type(hint) and key in option_fields(hint)]
    if nested:
        return ConfigError(f"option {key!r}: with method {method!r} write {nested[0]}=..., "
                           f"the option of the method it runs")
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    listed = ", ".join(names) if names else "none"
    return ConfigError(f"method {method!r} has no option {key!r}{hint}; its options: {listed}")


def parse_options(options_type: type[OptionsT], given: Mapping[str, Any] | Sequence[str], *,
                  method: str = "") -> OptionsT:
    """Build an options dataclass from ``KEY=VALUE`` texts or a mapping.

    Keys may be dotted to reach a nested options field (``lcmcr.K=5`` under ``auto``); values
    are converted to the field's type (int, float (``1/16`` allowed), str, bool, a choice, or
    ``none`` for an optional field).

    Args:
        options_type: the method's options dataclass.
        given: ``["K=5", "chains=2"]``, or a mapping (nested mappings for nested options).
        method: the method's name, for messages.

    Returns:
        The options object.

    Raises:
        ConfigError: an unknown key (with the closest name), a value of the wrong type, a
            repeated key, or a value the options refuse.

    Example:
        >>> from undercount.estimate.lcmcr import LcmcrOptions
        >>> parse_options(LcmcrOptions, ["K=5"], method="lcmcr").K
        5
    """
    flat = _split(given)
    fields = option_fields(options_type)
    values: dict[str, Any] = {}
    nested: dict[str, dict[str, Any]] = {}
    for key, text in flat.items():
        head, dot, rest = key.partition(".")
        if head not in fields:
            raise _unknown(head if dot else key, fields, method)
        hint, default = fields[head]
        if _is_options_type(hint):
            if not dot:
                if isinstance(text, hint):
                    values[head] = text
                    continue
                raise ConfigError(f"option {key!r} of method {method!r} holds options: write {head}.NAME=VALUE")
            nested.setdefault(head, {})[rest] = text
        elif dot:
            raise ConfigError(f"option {key!r} of method {method!r}: {head} takes a value, not {head}.{rest}")
        else:
            values[head] = _coerce(text, hint, key, method)
    for head, sub in nested.items():
        hint, default = fields[head]
        base = values.get(head, default)
        parsed = parse_options(hint, sub, method=f"{method}: {head}" if method else head)
        values[head] = dataclasses.replace(base, **{k: getattr(parsed, k) for k in _set_keys(sub)})
    try:
        return options_type(**values)
    except TypeError as exc:  # pragma: no cover - guarded by the field check above
        raise ConfigError(f"options of method {method!r}: {exc}") from exc


def _set_keys(sub: Mapping[str, Any]) -> list[str]:
    return list(dict.fromkeys(k.partition(".")[0] for k in sub))


@dataclass(frozen=True)
class Fitting:
    """A method with its options: what a run fits on every table (every stratum and replicate).

    Attributes:
        estimator: the method.
        options: its options object.
    """

    estimator: Estimator[Any]
    options: Any

    @property
    def name(self) -> str:
        """The method's name."""
        return self.estimator.name

    def fit(self, table: pd.DataFrame, *, level: float = 0.95, seed: int = 0) -> EstimateResult:
        """Fit the method on one capture table."""
        return self.estimator.fit_function(table, level, seed, self.options)

    def for_replicates(self, replicates: int) -> Fitting:
        """The fitting for one of ``replicates`` pooled replicates (see :class:`Estimator`)."""
        return Fitting(self.estimator, self.estimator.replicate_options(self.options, replicates))

    def extended(self, factor: float) -> Fitting:
        """The fitting asking for ``factor`` times more draws (itself when the method does not sample)."""
        if self.estimator.extend is None:
            return self
        return Fitting(self.estimator, self.estimator.extend(self.options, factor))

    def targets(self) -> Convergence | None:
        """The convergence targets of a sampling method (None: nothing to converge, or a fixed length)."""
        return None if self.estimator.convergence is None else self.estimator.convergence(self.options)

    def params(self) -> dict[str, Any]:
        """The method and its options as JSON-ready values (stored with the run)."""
        return {"method": self.name, "options": dataclasses.asdict(self.options)}


def choose(
    method: str = "auto",
    options: Any = None,
    *,
    model: str | None = None,
    criterion: str | None = None,
) -> Fitting:
    """The method and its typed options for a run.

    Args:
        method: a registered method name.
        options: the method's options object, a mapping, ``KEY=VALUE`` texts, or None.
        model: a log-linear model (the ``--model`` shortcut; under 'auto' it means 'loglinear').
        criterion: 'aic' or 'bic' (the ``--criterion`` shortcut), for methods that search models.

    Returns:
        A :class:`Fitting`.

    Raises:
        ConfigError: an unknown method or option, a bad value, or ``model`` with a method that
            takes no model.

    Example:
        >>> choose("lcmcr", ["K=5"]).options.K
        5
    """
    if model is not None and method == "auto":
        method = "loglinear"
    estimator = get_estimator(method)
    opts = estimator.options(options)
    fields = option_fields(estimator.options_type)
    overrides: dict[str, Any] = {}
    if criterion is not None:
        if criterion not in ("aic", "bic"):
            raise ConfigError(f"criterion {criterion!r}: use 'aic' or 'bic'")
        if "criterion" in fields:
            overrides["criterion"] = criterion
    if model is not None:
        if "model" not in fields:
            raise ConfigError(f"--model names a log-linear model; it cannot be used with method {method!r}")
        overrides["model"] = model
    return Fitting(estimator, dataclasses.replace(opts, **overrides) if overrides else opts)
