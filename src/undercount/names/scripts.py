"""The scripts names are written in, as data: one :class:`Script` per script, in a registry.

A script says how to recognise its letters (detection), how to write one of its name tokens in
its pivot form (the form two lists compare as equal) and how the token is spelled in Latin
letters (its English spellings). Linkage reads the registry: for every script with spellings it
adds a pivot column per name part (``<part>_<column>``: the record's own token in that script's
records, the token a Latin spelling writes in Latin records) and the comparison "same name
across scripts" compares those columns. Adding a script is one module that builds its
:class:`Script` and one :func:`register_script` call; nothing in linkage changes.

Arabic (``undercount.names.arabic``) is registered with its spellings; Hebrew
(``undercount.names.hebrew``) is registered for detection only (its names are keyed, see
``undercount.names.translit``, but no spelling table ships yet, so it has no pivot column).

Example:
    >>> from undercount.names.scripts import detect_script, pivot_scripts
    >>> [s.id for s in pivot_scripts()]
    ['arabic']
    >>> detect_script("محمد Ahmad")
    'mixed'
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache

from undercount.names.charmap import SCRIPT_LATIN, SCRIPT_MIXED

__all__ = [
    "SCRIPT_LATIN",
    "SCRIPT_MIXED",
    "Script",
    "detect_script",
    "on_registry_change",
    "pivot_columns",
    "pivot_scripts",
    "register_script",
    "registered_scripts",
    "unregister_script",
]

# Values a record's script column may hold that are not registrable scripts.
_RESERVED = frozenset((SCRIPT_LATIN, SCRIPT_MIXED, "unknown"))
_LATIN_LETTER = re.compile(r"[A-Za-z\u00c0-\u00d6\u00d8-\u00f6\u00f8-\u024f\u1e00-\u1eff]")
# Script ids and column suffixes become column names in linkage SQL: lower-case letters only.
_NAME = re.compile(r"[a-z]{2,16}")


def _same(token: str) -> str:
    return token


@dataclass(frozen=True)
class Script:
    """One script names are written in.

    Args:
        id: the value of a record's ``script`` column for names in this script ('arabic').
        letters: a regular-expression character class (without brackets) of the script's
            letters; a name holding one of them is (partly) in this script.
        column: suffix of the pivot columns linkage adds per name part ('ar' -> ``given_ar``),
            or None for a script without spellings (detected and keyed, no pivot).
        spellings: a pivot token -> its Latin spellings, most usual first (capitalised or not;
            linkage normalises them), or None.
        pivot: a normalised token of this script -> its pivot form (the default keeps it as
            normalised).

    Raises:
        ValueError: an id or column that is not 2-16 lower-case letters, a reserved id
            (latin, mixed, unknown), spellings without a column (or a column without spellings),
            or letters that are not a character class.
    """

    id: str
    letters: str
    column: str | None = None
    spellings: Callable[[str], Sequence[str]] | None = None
    pivot: Callable[[str], str] = _same

    def __post_init__(self) -> None:
        if not _NAME.fullmatch(self.id) or self.id in _RESERVED:
            raise ValueError(f"a script id must be 2-16 lower-case letters and not latin/mixed/unknown: {self.id!r}")
        if self.column is not None and not _NAME.fullmatch(self.column):
            raise ValueError(f"a pivot column suffix must be 2-16 lower-case letters: {self.column!r}")
        if (self.column is None) != (self.spellings is None):
            raise ValueError(f"script {self.id!r}: give both a pivot column and spellings, or neither")
        try:
            re.compile(f"[{self.letters}]")
        except re.error as error:
            raise ValueError(f"script {self.id!r}: letters must be a character class: {error}") from None

    @property
    def keeps_tokens(self) -> bool:
        """True when the pivot form of a token is the normalised token itself (Arabic)."""
        return self.pivot is _same

    @property
    def has_pivot(self) -> bool:
        """True when linkage gives this script pivot columns (it has spellings)."""
        return self.column is not None


_REGISTRY: dict[str, Script] = {}
# Called after every change of the registry (caches of detected scripts empty themselves).
_ON_CHANGE: list[Callable[[], None]] = []


def on_registry_change(callback: Callable[[], None]) -> None:
    """Call ``callback`` after every later change of the registry (for caches that depend on it)."""
    _ON_CHANGE.append(callback)


def _changed() -> None:
    _patterns.cache_clear()
    for callback in _ON_CHANGE:
        callback()


def register_script(script: Script, *, replace: bool = False) -> Script | None:
    """Add a script to the registry (linkage and detection read it at each call).

    Args:
        script: the script.
        replace: allow replacing a registered script of the same id.

    Returns:
        The script it replaced, or None.

    Raises:
        ValueError: the id is registered already (without ``replace``), or another script
            uses the same pivot column suffix.
    """
    previous = _REGISTRY.get(script.id)
    if previous is not None and not replace:
        raise ValueError(f"script {script.id!r} is registered already")
    clash = [s.id for s in _REGISTRY.values() if s.id != script.id and script.column and s.column == script.column]
    if clash:
        raise ValueError(f"pivot column suffix {script.column!r} is used by script {clash[0]!r}")
    _REGISTRY[script.id] = script
    _changed()
    return previous


def unregister_script(script_id: str) -> Script:
    """Remove a script from the registry and return it (KeyError when it is not registered)."""
    script = _REGISTRY.pop(script_id)
    _changed()
    return script


def registered_scripts() -> tuple[Script, ...]:
    """Every registered script, in registration order."""
    return tuple(_REGISTRY.values())


def pivot_scripts() -> tuple[Script, ...]:
    """The registered scripts with spellings (those linkage gives pivot columns), in order."""
    return tuple(s for s in _REGISTRY.values() if s.has_pivot)


def pivot_columns(part: str) -> tuple[str, ...]:
    """The pivot columns of one name part, one per script with spellings ('given' -> ('given_ar',))."""
    return tuple(f"{part}_{s.column}" for s in pivot_scripts())


@lru_cache(maxsize=1)
def _patterns() -> tuple[tuple[str, re.Pattern[str]], ...]:
    return ((SCRIPT_LATIN, _LATIN_LETTER), *((s.id, re.compile(f"[{s.letters}]")) for s in _REGISTRY.values()))


def detect_script(text: object) -> str | None:
    """Tell which script a name is written in.

    Args:
        text: a name (any object; non-strings and empty strings give None).

    Returns:
        ``'latin'`` or a registered script's id (``'arabic'``, ``'hebrew'``) when the letters
        are of one script, ``'mixed'`` when letters of two or more occur, None when there are none.

    Example:
        >>> detect_script("محمد Ahmad")
        'mixed'
    """
    if not isinstance(text, str) or not text:
        return None
    if text.isascii():
        return SCRIPT_LATIN if _LATIN_LETTER.search(text) is not None else None
    found = [script for script, pattern in _patterns() if pattern.search(text) is not None]
    if not found:
        return None
    return found[0] if len(found) == 1 else SCRIPT_MIXED
