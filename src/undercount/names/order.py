"""Which order a list writes its Latin-script names in: Arabic (given, father, grandfather, family)
or Western (given, middle names, surname).

English lists of Palestinian victims transliterate four-part Arabic names ("Mohammed Ahmed Hassan
Odeh"); other lists (a US list, foreign nationals) write "Maria de la Cruz". A Latin name is
Arabic-like when more than half of its words (particles aside) are known English spellings of
Arabic name parts (the shipped name-segment dictionary and the usual variants) or Arabic compounds
(``Abu ...``, ``Abdul ...``, ``Al-...``). A list is read in the Arabic order when at least half of
its Latin names are Arabic-like, else in the Western order. Arabic- and Hebrew-script names are
always split in the Arabic order. A spec's ``[list] name_order`` overrides (docs/names.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import pandas as pd

from undercount.names.latin import _VARIANT_TABLE, fold_latin_token
from undercount.names.normalise import NAME_ORDERS, SURNAME_PARTICLES, normalise_name
from undercount.names.spellings import _dictionary

__all__ = ["NameOrder", "choose_name_order", "arabic_like"]

_SAMPLE = 5_000
_COMPOUND_PREFIXES = ("abu", "abdul", "al")


@dataclass(frozen=True)
class NameOrder:
    """The order chosen for a list's Latin names.

    Attributes:
        order: ``arabic`` or ``western``.
        latin_names: distinct Latin-script names looked at (at most 5,000).
        arabic_like: how many of them are Arabic-like.
        source: ``names`` (decided from them), ``spec`` or ``none`` (no Latin names).
    """

    order: str
    latin_names: int = 0
    arabic_like: int = 0
    source: str = "names"


@lru_cache(maxsize=1)
def _known_tokens() -> frozenset[str]:
    known = set(_VARIANT_TABLE) | set(_VARIANT_TABLE.values())
    for spellings in _dictionary().values():
        for spelling, _ in spellings:
            known.update(fold_latin_token(w) for w in spelling.lower().replace("-", " ").split() if w.isascii())
    return frozenset(known)


def arabic_like(name: str) -> bool:
    """True when more than half of a Latin name's words are Arabic name parts.

    Example:
        >>> arabic_like("Mohammed Ahmed Hassan Odeh"), arabic_like("Maria de la Cruz")
        (True, False)
    """
    tokens = [t for t in normalise_name(name).split() if t not in SURNAME_PARTICLES]
    if not tokens:
        return False
    known = _known_tokens()
    hits = sum(1 for t in tokens if t in known or (t.startswith(_COMPOUND_PREFIXES) and len(t) > 4))
    return hits * 2 > len(tokens)


def choose_name_order(names: pd.Series, spec_order: str | None = None) -> NameOrder:
    """The order in which to split a list's Latin-script names.

    Args:
        names: the list's full names (any script; nulls ignored).
        spec_order: the spec's ``[list] name_order`` (``arabic``, ``western``), which wins.
    Returns:
        A :class:`NameOrder`.
    """
    if spec_order is not None:
        if spec_order not in NAME_ORDERS:
            raise ValueError(f"name order must be one of {', '.join(NAME_ORDERS)}")
        return NameOrder(spec_order, source="spec")
    distinct = pd.Series(names.dropna().unique())
    latin = distinct[distinct.astype(str).str.contains("[A-Za-z]", regex=True)
                     & ~distinct.astype(str).str.contains("[\u0590-\u06ff]", regex=True)]
    latin = latin.head(_SAMPLE)
    if latin.empty:
        return NameOrder("arabic", source="none")
    like = int(sum(arabic_like(str(n)) for n in latin))
    return NameOrder("arabic" if like * 2 >= len(latin) else "western", len(latin), like)
