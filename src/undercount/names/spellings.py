"""English spellings of Arabic name tokens: a shipped dictionary and a rule-based fallback.

The dictionary (``data/translit_ar_en.csv``) holds the public-domain name-segment dictionary of
TechForPalestine (see ``data/README.md``): normalised Arabic segment, English spelling, number
of entries. Frequent names also get the spelling variants of :mod:`undercount.names.latin`
(Mohammed, Muhammad, Mohamed ...). A token the dictionary lacks is split into its compound parts
(``عبد``, ``ابو``, ``ال``, ``...الدين``, ``...الله``) and each part is spelled from the
dictionary or letter by letter, with a vowel between consonants that the script leaves unwritten.
Every spelling is kept only when its transliteration key equals the Arabic token's key, so an
English list written with them stays linkable.
"""

from __future__ import annotations

import random
import re
from bisect import bisect_right
from functools import lru_cache
from itertools import accumulate

import numpy as np

from undercount.names.latin import variant_spellings
from undercount.names.normalise import name_key, normalise_name
from undercount.names.translit import spelling_dictionary, token_key

__all__ = ["english_spellings", "transliterate", "joined_token"]

# Letter-by-letter spellings, the most usual first.
_CONSONANTS: dict[str, tuple[str, ...]] = {
    "ب": ("b",), "ت": ("t",), "ث": ("th",), "ج": ("j", "g"), "ح": ("h",), "خ": ("kh",),
    "د": ("d",), "ذ": ("dh", "th", "z"), "ر": ("r",), "ز": ("z",), "س": ("s",), "ش": ("sh",),
    "ص": ("s",), "ض": ("d", "dh"), "ط": ("t",), "ظ": ("z", "dh"), "غ": ("gh",), "ف": ("f",),
    "ق": ("q", "k"), "ك": ("k",), "ل": ("l",), "م": ("m",), "ن": ("n",), "ه": ("h",),
}
_MAX_RESPELLINGS = 3
_DICT_WEIGHT = 3.0
_RULE_WEIGHT = 1.0

Rng = np.random.Generator | random.Random


@lru_cache(maxsize=1)
def _dictionary() -> dict[str, tuple[tuple[str, int], ...]]:
    """Arabic segment -> ((English spelling, entries), ...), most entries first."""
    table: dict[str, list[tuple[str, int]]] = {}
    for ar, en, count in spelling_dictionary():
        table.setdefault(ar, []).append((en, count))
    return {ar: tuple(sorted(v, key=lambda x: -x[1])) for ar, v in table.items()}


def _display(spelling: str) -> str:
    """Capitalise each part of a spelling: ``abdel rahman`` -> ``Abdel Rahman``."""
    out = []
    for word in spelling.split(" "):
        out.append("-".join(p[:1].upper() + p[1:] for p in word.split("-")))
    return " ".join(out)


def _letters(token: str, vowel: str, long_i: str, long_u: str, taa: str) -> str:
    """Spell a bare word letter by letter, with ``vowel`` in the usual gaps (CaCCaC)."""
    out: list[str] = []
    since_vowel = 0
    inserted = False
    last = len(token) - 1
    for i, char in enumerate(token):
        if char in "اعء":
            if i == 0 or char == "ا":
                out.append("a")
            since_vowel, inserted = 0, False
            continue
        if char in "وي" and not (i == 0 or (i < last and token[i + 1] == "ا")
                                or token[i - 1] == "ا"):
            out.append(long_u if char == "و" else long_i)
            since_vowel, inserted = 0, False
            continue
        if char == "ه" and i == last and i > 0:
            out.append(taa)
            continue
        spelling = {"و": "w", "ي": "y"}.get(char) or _CONSONANTS.get(char, ("",))[0]
        if not spelling:
            continue
        if since_vowel >= 2 or (since_vowel == 1 and not inserted):
            out.append(vowel)
            since_vowel, inserted = 0, True
        out.append(spelling)
        since_vowel += 1
    return "".join(out)


_RESPELLINGS = (("ou", "o"), ("ou", "u"), ("oo", "u"), ("ee", "i"), ("i", "ee"), ("q", "k"),
                ("ei", "ai"), ("ai", "ei"))
_DOUBLED = re.compile(r"([bdfjklmnrstz])\1")


def _respell(spelling: str) -> list[str]:
    """A few usual respellings of one spelling (vowel letters, final a/ah/eh, doubling)."""
    out = []
    for old, new in _RESPELLINGS:
        if old in spelling:
            out.append(spelling.replace(old, new, 1))
    if spelling.endswith("a"):
        out += [spelling + "h", spelling[:-1] + "eh"]
    elif spelling.endswith(("ah", "eh")):
        out.append(spelling[:-1])
    undoubled = _DOUBLED.sub(r"\1", spelling)
    if undoubled != spelling:
        out.append(undoubled)
    return out


def _rule_spellings(token: str) -> list[str]:
    """Spellings of a bare (non-compound) word by rule, a few vowel choices."""
    forms = [
        _letters(token, "a", "i", "ou", "a"),
        _letters(token, "e", "ee", "o", "ah"),
        _letters(token, "i", "i", "u", "eh"),
        _letters(token, "u", "ei", "oo", "a"),
    ]
    return list(dict.fromkeys(f for f in forms if f))


def _part_spellings(token: str) -> list[str]:
    """Spellings of one word: the dictionary's, then its variants, then by rule."""
    known = [en for en, _ in _dictionary().get(token, ())]
    variants = [v for en in known[:1] for v in variant_spellings(en)]
    if known and not variants:
        variants = [v for en in known[:2] for v in _respell(en)][:_MAX_RESPELLINGS]
    return list(dict.fromkeys(known + variants + ([] if known else _rule_spellings(token))))


def _compound_spellings(token: str) -> list[str]:
    """Spellings of a joined compound from the spellings of its parts."""
    if token.startswith("عبد") and len(token) > 4:
        rest = token[3:]
        if rest == "الله":
            return ["abdullah", "abdallah", "abd allah", "abdalla"]
        if rest.startswith("ال"):
            tails = _spellings(rest[2:])[:3]
            return [f"{head}{t}" for t in tails for head in ("abdel ", "abdul ", "abd al-")]
        return [f"{head}{t}" for t in _spellings(rest)[:3] for head in ("abd ", "abed ")]
    if token.startswith("ابو") and len(token) > 4:
        return [f"{head}{t}" for t in _spellings(token[3:])[:3] for head in ("abu ", "abou ")]
    if token.startswith("ال") and len(token) > 3:
        return [f"{head}{t}" for t in _spellings(token[2:])[:3] for head in ("al-", "el-", "al ")]
    for tail, forms in (("الدين", (" el-din", " al-din", "eddin")), ("الله", ("allah", " allah"))):
        if token.endswith(tail) and len(token) > len(tail) + 1:
            stems = _spellings(token[: -len(tail)])[:3]
            return [f"{s}{f}" for s in stems for f in forms]
    return []


@lru_cache(maxsize=50_000)
def _spellings(token: str) -> list[str]:
    """All lower-case spellings of a normalised token, best first, key-consistent ones only."""
    found = _part_spellings(token) if token in _dictionary() else []
    found = found + _compound_spellings(token)
    if not found:
        found = _part_spellings(token)
    key = token_key(token)
    good = [s for s in dict.fromkeys(found) if _latin_key(s) == key]
    return good or found[:1]


def _latin_key(spelling: str) -> str:
    return name_key(spelling).replace(" ", "")


def joined_token(token: str) -> str:
    """A name token normalised with its spaces removed (``عبد الله`` and ``عبدالله`` agree).

    Example:
        >>> joined_token("Abd Allah") == joined_token("Abdallah")
        True
    """
    return "".join(normalise_name(token).split())


@lru_cache(maxsize=100_000)
def _choices(token: str) -> tuple[tuple[str, ...], tuple[float, ...]]:
    """Capitalised spellings of a token and their cumulative weights (dictionary ones weigh more)."""
    norm = joined_token(token)
    if not norm or not any("\u0621" <= c <= "\u064a" for c in norm):
        return (), ()
    spellings = _spellings(norm)
    known = {en for en, _ in _dictionary().get(norm, ())}
    weights = [_DICT_WEIGHT if s in known else _RULE_WEIGHT for s in spellings]
    return tuple(_display(s) for s in spellings), tuple(accumulate(weights))


def english_spellings(token: str) -> list[str]:
    """English spellings of an Arabic name token, most usual first.

    Args:
        token: an Arabic name token (compounds may be written with a space: ``عبد الرحمن``).

    Returns:
        Capitalised spellings (``['Mohammed', 'Muhammad', ...]``); ``[]`` when the token holds no
        Arabic letters.

    Example:
        >>> "Muhammad" in english_spellings("محمد")
        True
    """
    return list(_choices(token)[0])


def transliterate(arabic_token: str, rng: Rng | None = None) -> str:
    """Write an Arabic name token in English.

    Args:
        arabic_token: an Arabic name token (or a compound written with a space).
        rng: a ``numpy.random.Generator`` or ``random.Random``; with it a spelling is drawn among
            the plausible ones (dictionary spellings weigh more), without it the most usual one
            is returned.

    Returns:
        One capitalised English spelling; the input unchanged when it holds no Arabic letters.

    Example:
        >>> transliterate("محمد")
        'Mohammed'
    """
    spellings, cumulative = _choices(arabic_token)
    if not spellings:
        return arabic_token
    if rng is None or len(spellings) == 1:
        return spellings[0]
    draw = float(rng.random()) * cumulative[-1]
    return spellings[min(bisect_right(cumulative, draw), len(spellings) - 1)]
