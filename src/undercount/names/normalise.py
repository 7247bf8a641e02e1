"""Names: script detection, normalisation, splitting into parts, transliteration keys.

The pipeline for one name (see docs/names.md):

1. characters (:mod:`undercount.names.charmap`): diacritics, tatweel, hamza seats, alef forms,
   taa marbuta, alef maqsura, Persian letters, digits, punctuation, Hebrew niqqud and final letters;
2. tokens: PDF artefacts are repaired (``هللا`` for ``الله``, ``االسطل`` for ``الاسطل``), Latin
   tokens are folded (:mod:`undercount.names.latin`);
3. compounds are joined into one token without a space: ``عبد`` + next, ``ابو`` + next, a
   detached ``ال`` + next, and ``الله``/``الدين``/``الاسلام`` onto the part before them, as is a
   lone final letter split off by PDF extraction (``حسي ن``);
4. honorifics are dropped (``الشهيد``, ``المرحوم``, ``الطفل`` anywhere; ``الحاج``, ``الشيخ``,
   ``د`` ... only in front of the name).

Splitting rule on the remaining tokens: 1 token = given; 2 = given family; 3 = given father
family; 4 = given father grandfather family; 5 or more = given father grandfather, the last token
is the family name and the tokens in between (great-grandfathers) stay only in ``tokens``. Latin
names of a list written in the Western order (:mod:`undercount.names.order` decides, a spec can
say) split instead into the given name and the surname with its particles (``de la cruz``).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import pandas as pd
import pyarrow as pa

from undercount.names.charmap import SCRIPT_MIXED, clean_chars
from undercount.names.latin import fold_latin_token, join_latin_compounds, join_until_stable
from undercount.names.scripts import detect_script, on_registry_change
from undercount.names.translit import token_key

__all__ = [
    "NAME_ORDERS",
    "SURNAME_PARTICLES",
    "KeyAgreement",
    "NameParts",
    "detect_script",
    "key_agreement",
    "name_key",
    "normalise_name",
    "parse_names",
    "split_name",
]

PARSED_COLUMNS = (
    "full_name", "given", "father", "grandfather", "family", "script", "name_norm", "name_key",
)

_AR_PREFIXES = frozenset(("عبد", "ابو", "ال"))
# Joined onto the part before: second halves of compounds, and the lone final letters that PDF
# extraction splits off a word (حسي ن for حسين).
_AR_SUFFIXES = frozenset(("الله", "الدين", "الاسلام", "ن", "ي", "ه"))
_LAM_ALEF_ARTEFACT = "هللا"
_ALEF_ARTEFACT = "اال"  # a PDF doubling of the article's alef: االسطل for الاسطل

# Dropped wherever they stand: they never form part of a name.
_HONORIFICS_ANYWHERE = frozenset((
    "الشهيد", "الشهيده", "المرحوم", "المرحومه", "مرحوم", "الطفل", "الطفله",
    "طفل", "طفله", "الرضيع", "الرضيعه", "رضيع", "رضيعه", "الدكتور", "الدكتوره", "دكتور",
    "martyr", "dr", "mr", "mrs", "ms", "miss",
))
# Dropped only in front of the name (they are also family names, e.g. الشيخ, الحاج).
_HONORIFICS_LEADING = frozenset((
    "الحاج", "الحاجه", "حاج", "حاجه", "الشيخ", "شيخ", "الشيخه", "المهندس", "المهندسه", "م",
    "الاستاذ", "الاستاذه", "استاذ", "د", "السيد", "السيده", "الست",
    "شهيد", "شهيده", "haj", "hajj", "haji", "hajja", "sheikh", "shaikh", "sheik", "eng",
    "prof", "sayyid", "shahid", "shaheed", "late", "דר", "הרב",
))


_AR_TRIGGERS = _AR_PREFIXES | _AR_SUFFIXES

#: The orders in which a list writes its names (see :func:`split_name`).
NAME_ORDERS = ("arabic", "western")
#: Latin words that say "son/daughter of" between the parts of an Arabic name (skipped by the split).
_CONNECTORS = frozenset(("bin", "ibn", "ben", "bint", "binti", "bn"))
#: Latin words that belong to the surname after them (folded spellings: "della" is written "dela").
SURNAME_PARTICLES = frozenset((
    "de", "del", "dela", "der", "den", "des", "di", "da", "das", "dos", "do", "du", "la", "le", "les", "lo",
    "van", "vander", "von", "vom", "zu", "zur", "ten", "ter", "st", "ste", "saint", "sainte", "san",
    "santa", "mac", "mc", "bin", "ibn", "ben", "bint", "ap", "al", "el", "abu",
))  # no one-letter words: "John E Smith" has a middle initial, not a particle
#: Latin words after a Western name that are not part of it.
_SUFFIXES = frozenset(("jr", "sr", "ii", "iii", "iv", "junior", "senior", "phd", "md", "esq"))
_HONORIFICS = _HONORIFICS_ANYWHERE | _HONORIFICS_LEADING


@dataclass(frozen=True)
class NameParts:
    """A name split into parts; each part is a normalised token or None.

    Attributes:
        given: the person's own name.
        father: the father's given name.
        grandfather: the paternal grandfather's given name.
        family: the family name (the last token).
        tokens: every normalised token, in order.
    """

    given: str | None
    father: str | None
    grandfather: str | None
    family: str | None
    tokens: tuple[str, ...]


@lru_cache(maxsize=500_000)
def _normalise_token(token: str) -> str:
    """One token: lam-alef artefact repaired (Arabic) or spelling folded (Latin)."""
    if token.endswith(_LAM_ALEF_ARTEFACT):
        token = token[: -len(_LAM_ALEF_ARTEFACT)] + "الله"
    while token.startswith(_ALEF_ARTEFACT) and len(token) > 4:
        token = token[1:]
    if token.isascii():
        return fold_latin_token(token)
    return token


def _join_arabic_compounds(tokens: list[str]) -> list[str]:
    """Join الله/الدين/الاسلام onto the part before, then عبد/ابو/ال onto the part after.

    Repeated until nothing changes: a join can repair an artefact and make a new compound part.
    """
    return join_until_stable(tokens, _AR_TRIGGERS, _join_arabic_once)


def _join_arabic_once(tokens: list[str]) -> list[str]:
    merged: list[str] = []
    for token in tokens:
        if merged and token in _AR_SUFFIXES and not merged[-1].isascii():
            merged[-1] = _normalise_token(merged[-1] + token)
        else:
            merged.append(token)
    out: list[str] = []
    for token in reversed(merged):
        if out and token in _AR_PREFIXES and not out[-1].isascii():
            out.append(_normalise_token(token + out.pop()))
        else:
            out.append(token)
    out.reverse()
    return out


def _drop_honorifics(tokens: list[str]) -> list[str]:
    if _HONORIFICS.isdisjoint(tokens):
        return tokens
    tokens = [t for t in tokens if t not in _HONORIFICS_ANYWHERE]
    start = 0
    while len(tokens) - start > 1 and tokens[start] in _HONORIFICS_LEADING:
        start += 1
    return tokens[start:] if start else tokens


class _WordCache(dict[str, tuple[tuple[str, ...], str | None]]):
    """word -> (normalised tokens, script); a plain dict is the fastest cache for hits."""

    limit = 1_000_000

    def __missing__(self, word: str) -> tuple[tuple[str, ...], str | None]:
        if len(self) >= self.limit:
            self.clear()
        value = (tuple([_normalise_token(t) for t in clean_chars(word).split()]),
                 detect_script(word))
        self[word] = value
        return value


class _KeyCache(dict[str, str]):
    """token -> transliteration key."""

    limit = 1_000_000

    def __missing__(self, token: str) -> str:
        if len(self) >= self.limit:
            self.clear()
        value = self[token] = token_key(token)
        return value


_WORDS = _WordCache()
_KEYS = _KeyCache()
on_registry_change(_WORDS.clear)  # a word's detected script depends on the registered scripts


def _tokens(words: list[str]) -> list[str]:
    """The normalised tokens of one name given as whitespace-separated words."""
    return _compose([t for word in words for t in _WORDS[word][0]])


def _compose(tokens: list[str]) -> list[str]:
    """Titles, compounds and leading titles, on the cleaned tokens of one name."""
    if not _HONORIFICS_ANYWHERE.isdisjoint(tokens):
        # before compounds too, so that a dropped title never leaves two parts to join later
        tokens = [t for t in tokens if t not in _HONORIFICS_ANYWHERE]
    tokens = _join_arabic_compounds(tokens)
    tokens = join_latin_compounds(tokens)
    return _drop_honorifics(tokens)


def normalise_name(text: object) -> str:
    """Normalise a name for comparison within its script.

    Args:
        text: a name in Arabic, Latin or Hebrew script (anything else gives ``''``).

    Returns:
        Space-separated normalised tokens; ``''`` when nothing is left. Idempotent and never
        raises.

    Example:
        >>> normalise_name("الشهيد عبد الله أحمد") == normalise_name("عبدالله احمد")
        True
    """
    if not isinstance(text, str) or not text:
        return ""
    return " ".join(_tokens(text.split()))


def _part_values(tokens: list[str], order: str = "arabic", words: list[str] | None = None,
                 surname_words: int = 1) -> tuple[str | None, str | None, str | None, str | None]:
    """(given, father, grandfather, family) by the split rule of the name's order.

    ``arabic`` (every Arabic or Hebrew name, and Latin names of lists in that order): given,
    father, grandfather, family (the last token); Latin connectors ``bin``/``ibn``/``ben``/``bint``
    ("son/daughter of") between parts are skipped. ``western`` (Latin names only): see
    :func:`_western_parts`.
    """
    if order == "western" and words is not None and tokens and all(t.isascii() for t in tokens):
        return _western_parts(words, surname_words)
    if _CONNECTORS.intersection(tokens[1:]):
        tokens = tokens[:1] + [t for t in tokens[1:] if t not in _CONNECTORS]
    n = len(tokens)
    return (
        tokens[0] if n else None,
        tokens[1] if n >= 3 else None,
        tokens[2] if n >= 4 else None,
        tokens[-1] if n >= 2 else None,
    )


def _western_parts(words: list[str], surname_words: int = 1) -> tuple[str | None, str | None, str | None, str | None]:
    """A Western name, word by word as written: the first word is the given name (``Jean-Luc``
    whole), the surname is the last ``surname_words`` words (``Alonso-Téllez`` whole: a hyphen joins)
    with the particles before each (``de la``, ``van der``, ``von``, ``abu``, ``bin``); the words
    between are middle names, kept only in ``tokens``. Titles in front and suffixes (``Jr.``,
    ``III``) after are dropped; ``Abdul``/``Abu`` + the next word make one given name."""
    groups = [normalise_name(w) for w in words]
    groups = [g for g in groups if g and g not in _HONORIFICS]
    while len(groups) > 2 and groups[-1] in _SUFFIXES:
        groups.pop()
    first = normalise_name(" ".join(groups)).split()[:1]
    for k in range(2, len(groups)):  # "Abd El Rahman Smith": a compound given name written in parts
        if groups[0] != first[0] and normalise_name(" ".join(groups[:k])) == first[0]:
            groups[:k] = first
            break
    if not groups:
        return None, None, None, None
    if len(groups) == 1:
        return groups[0], None, None, None
    start = len(groups)
    for _ in range(max(1, surname_words)):
        if start <= 1:
            break
        start -= 1
        while start > 1 and groups[start - 1] in SURNAME_PARTICLES:
            start -= 1
    return groups[0], None, None, normalise_name(" ".join(groups[start:])) or None


def split_name(text: object, order: str = "arabic", surname_words: int = 1) -> NameParts:
    """Split a full name into given, father, grandfather and family name.

    Rule (``arabic``): 1 token = given; 2 = given family; 3 = given father family; 4 = given father
    grandfather family; 5+ = given father grandfather ... family (the last token). Compound names
    are one token, so ``ابو عيشة`` as a family name stays whole; Latin ``bin``/``ibn`` between parts
    are skipped. Rule (``western``, Latin names only): given name first, the surname is the last
    word with its particles (``Maria de la Cruz`` -> family ``de la cruz``), middle names stay in
    ``tokens`` only. See docs/names.md.

    Args:
        text: a full name (any script).
        order: ``arabic`` or ``western`` (:data:`NAME_ORDERS`).
        surname_words: words of the surname in the Western order (2 for Spanish and Portuguese
            lists that write both surnames: ``Maria da Silva Santos`` -> ``da silva santos``).

    Returns:
        NameParts with normalised tokens; missing parts are None.

    Example:
        >>> split_name("محمد عبد الله أبو عيشة").father
        'عبدالله'
    """
    tokens = normalise_name(text).split()
    words = text.split() if isinstance(text, str) else []
    return NameParts(*_part_values(tokens, order, words, surname_words), tokens=tuple(tokens))


def name_key(text: object) -> str:
    """Transliteration key: the same for an Arabic name and its usual English spellings.

    Args:
        text: a name in any script.

    Returns:
        One key per normalised token (consonant classes), space-separated in token order.

    Example:
        >>> name_key("محمد أحمد") == name_key("Mohammed Ahmad")
        True
    """
    return " ".join([_KEYS[t] for t in normalise_name(text).split()])


def _analyse(text: str, order: str = "arabic", surname_words: int = 1) -> tuple[str | None, ...]:
    words = text.split()
    if not words:
        return (None,) * len(PARSED_COLUMNS)
    entries = [_WORDS[w] for w in words]
    tokens = _compose([t for entry in entries for t in entry[0]])
    scripts = {entry[1] for entry in entries}
    scripts.discard(None)
    script = (scripts.pop() if len(scripts) == 1 else SCRIPT_MIXED) if scripts else None
    return (
        " ".join(words),
        *_part_values(tokens, order, words, surname_words),
        script,
        " ".join(tokens) or None,
        " ".join([_KEYS[t] for t in tokens]) or None,
    )


def parse_names(series: pd.Series, order: str = "arabic", surname_words: int = 1) -> pd.DataFrame:
    """Parse a column of full names into the canonical name fields.

    Each distinct name is parsed once and tokens are cached, so a million rows take seconds.

    Args:
        series: full names (strings; null and empty give nulls; other values are read as str).
        order: how the list's Latin-script names are split, ``arabic`` or ``western``
            (:func:`split_name`; :func:`undercount.names.choose_name_order` decides it for a list).
        surname_words: words of the surname in the Western order (see :func:`split_name`).

    Returns:
        DataFrame on the series' index with columns full_name (whitespace-cleaned original),
        given, father, grandfather, family (normalised tokens), script, name_norm, name_key.

    Example:
        >>> parse_names(pd.Series(["محمد أحمد علي"])).loc[0, "father"]
        'احمد'
    """
    codes, uniques = pd.factorize(series, use_na_sentinel=True)
    if order not in NAME_ORDERS:
        raise ValueError(f"name order must be one of {', '.join(NAME_ORDERS)}")
    rows = [_analyse(u if isinstance(u, str) else str(u), order, surname_words) for u in uniques]
    rows.append((None,) * len(PARSED_COLUMNS))  # the last row stands for null names
    take = pa.array(np.where(codes < 0, len(rows) - 1, codes))
    out: dict[str, object] = {}
    for column, values in zip(PARSED_COLUMNS, zip(*rows)):
        taken = pa.array(values, type=pa.large_string()).take(take)
        out[column] = pd.arrays.ArrowStringArray(taken)
    return pd.DataFrame(out, index=series.index)



@dataclass(frozen=True)
class KeyAgreement:
    """How often transliteration keys of paired names agree (rates only, no names).

    Attributes:
        pairs: number of name pairs compared.
        same_token_count: share of pairs whose normalised names have as many tokens.
        token_agreement: among those, share of tokens whose keys are equal.
        first3_agreement: share of pairs whose keys agree on the first three tokens.
        full_agreement: share of pairs whose whole keys are equal.
    """

    pairs: int
    same_token_count: float
    token_agreement: float
    first3_agreement: float
    full_agreement: float


def key_agreement(first: pd.Series, second: pd.Series) -> KeyAgreement:
    """Measure how well name keys of one list agree with a transliteration of it.

    Args:
        first: names (for example Arabic), one per row.
        second: the same people's names in the other list (for example English), aligned.

    Returns:
        KeyAgreement rates over the rows where both names are present.

    Raises:
        ValueError: when the two series differ in length.
    """
    if len(first) != len(second):
        raise ValueError("the two name columns differ in length")
    a = parse_names(pd.Series(first.to_numpy(), dtype=object))["name_key"]
    b = parse_names(pd.Series(second.to_numpy(), dtype=object))["name_key"]
    present = (a.notna() & b.notna()).to_numpy()
    keys_a = [k.split() for k in a[present]]
    keys_b = [k.split() for k in b[present]]
    pairs = len(keys_a)
    same = [(x, y) for x, y in zip(keys_a, keys_b) if len(x) == len(y)]
    tokens = sum(len(x) for x, _ in same)
    equal = sum(p == q for x, y in same for p, q in zip(x, y))
    return KeyAgreement(
        pairs=pairs,
        same_token_count=len(same) / pairs if pairs else 0.0,
        token_agreement=equal / tokens if tokens else 0.0,
        first3_agreement=sum(x[:3] == y[:3] for x, y in zip(keys_a, keys_b)) / pairs if pairs else 0.0,
        full_agreement=sum(x == y for x, y in zip(keys_a, keys_b)) / pairs if pairs else 0.0,
    )

