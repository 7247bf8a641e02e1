"""Transliteration keys and English spellings of Arabic name tokens.

The key of a token is a consonant skeleton in letter classes shared by the scripts, so that
``محمد``, ``Mohammed`` and ``Muhammad`` all give ``mhmd``:

* vowels are dropped (Latin a e i o u, Arabic ا ع ء, Hebrew א ע), and so are ``w``/``y``
  (و ي; ו י) except as a token's first letter;
* a final taa marbuta/ha (Arabic ه after normalisation) and a Latin final ``h`` after a vowel
  are dropped (``فاطمه`` = ``Fatimah`` = ``Fatima``);
* consonant classes: ح ه = h; ث ت ط = t (Latin ``th`` too); ذ ز ظ ض د = d (Latin ``dh``, ``z``);
  س ص = s; ش = S (``sh``, ``ch``); خ = x (``kh``); غ = g (``gh``); ق ك = k (``q``, ``k``,
  ``c``); ج = j (``j``, ``g``, ``dj``); ف = f (``f``, ``v``, ``ph``); ب = b (``b``, ``p``);
* letters repeated in a row are written once.

A token whose skeleton is empty (``آية`` = ``Aya``) gets the key ``a``.
"""

from __future__ import annotations

import csv
import io
import re
from functools import lru_cache
from importlib import resources

from undercount.names.charmap import clean_chars

__all__ = ["token_key", "arabic_key", "latin_key", "hebrew_key", "spelling_dictionary", "EMPTY_KEY"]

EMPTY_KEY = "a"

_ARABIC_CLASSES = {
    "ا": "", "ء": "", "ع": "", "و": "", "ي": "",
    "ب": "b", "ت": "d", "ث": "d", "ج": "j", "ح": "h", "خ": "k", "د": "d", "ذ": "d", "ر": "r",
    "ز": "d", "س": "s", "ش": "S", "ص": "s", "ض": "d", "ط": "d", "ظ": "d", "غ": "g", "ف": "f",
    "ق": "k", "ك": "k", "ل": "l", "م": "m", "ن": "n", "ه": "h",
}
_ARABIC_INITIAL = {"و": "w", "ي": "y"}
_ARABIC_FINAL_DROPPED = frozenset("هح")

_HEBREW_CLASSES = {
    "א": "", "ע": "", "ו": "", "י": "",
    "ב": "b", "ג": "j", "ד": "d", "ה": "h", "ז": "d", "ח": "h", "ט": "d", "כ": "k", "ל": "l",
    "מ": "m", "נ": "n", "ס": "s", "פ": "f", "צ": "s", "ק": "k", "ר": "r", "ש": "S", "ת": "d",
}
_HEBREW_INITIAL = {"ו": "w", "י": "y"}
_HEBREW_FINAL_DROPPED = frozenset("הח")

_LATIN_UNITS = re.compile(r"sh|ch|kh|gh|ph|dj|ck|[a-z]")
_SOFT_C = re.compile(r"c(?=[eiy])")
_LATIN_CLASSES = {
    "sh": "S", "ch": "S", "kh": "k", "gh": "g", "ph": "f", "dj": "j", "ck": "k",
    "a": "", "e": "", "i": "", "o": "", "u": "", "w": "", "y": "",
    "b": "b", "p": "b", "t": "d", "d": "d", "z": "d", "s": "s", "c": "k", "k": "k", "q": "k",
    "g": "j", "j": "j", "f": "f", "v": "f", "h": "h", "l": "l", "m": "m", "n": "n", "r": "r",
    "x": "ks",
}
_LATIN_INITIAL = {"w": "w", "y": "y"}
_LATIN_TRAILING = re.compile(r"[aeiouy]+$")
_DIGRAPH_FIRST = frozenset("skgtdcpz")
# An h right after these classes is dropped on every side: Latin writes t+h, d+h, k+h as
# digraphs (Fathi, Adham, Kahlout), so their h cannot be told apart.
_H_ABSORBERS = frozenset("dSkg")
_REPEATS = re.compile(r"(.)\1+")
_ARTICLES = ("ال", "al", "el")
# The article is dropped before two consonant classes or more: الصوفي, Al-Sufi and Sufi all key
# ``sf`` (with three, as before, short family names kept it on one side only: العطار ``ldr``,
# Attar ``dr``). Names whose first letters only look like the article keep them (their key as
# written): الياس/Elias/Ilyas, الهام/Ilham/Elham, الفت/Olfat, الماس/Almas.
_ARTICLE_MIN_REST = 2
_NOT_ARTICLE_KEYS = frozenset(("ls", "lhm", "lfd", "lms"))
_RUNS = re.compile(r"[a-z]+|[\u0621-\u064a]+|[\u05d0-\u05ea]+|[^a-z\u0621-\u064a\u05d0-\u05ea]+")
# Compound prefixes keyed apart: (written prefix, key of the prefix, article after it).
_PREFIXES = (("عبدال", "bd"), ("عبد", "bd"), ("abdul", "bd"), ("abd", "bd"), ("ابو", "b"),
             ("abu", "b"), ("abo", "b"), ("abw", "b"))
_ALLAH_RESTS = frozenset(("a", "ah", "la", "lah", "له", "hla", "hla"))
# A Latin "al"/"el" is the first syllable of some names, not the article: Alyan, Alwan (عليان,
# علوان: key ``ln``, the ayn unwritten), Abdelatif (عبداللطيف, the article's l assimilated).
# Which reading holds is voted by the shipped spelling dictionary: for each pair (key of the
# whole token, key of its rest), the dictionary's Arabic tokens whose key is the one or the
# other, weighed by their entries (issue 13).
_SPELLING_DICTIONARY = "translit_ar_en.csv"
_LATIN_ARTICLES = ("al", "el")


def _skeleton(letters: list[str]) -> str:
    out: list[str] = []
    for letter in letters:
        if not letter or (letter == "h" and out and out[-1][-1] in _H_ABSORBERS):
            continue
        out.append(letter)
    return _REPEATS.sub(r"\1", "".join(out)) or EMPTY_KEY


def _letters_key(token: str, classes: dict[str, str], initial: dict[str, str],
                 final: frozenset[str]) -> str:
    if len(token) > 1 and token[-1] in final:
        token = token[:-1]
    letters = [classes.get(c, "") for c in token]
    if token and token[0] in initial:
        letters[0] = initial[token[0]]
    return _skeleton(letters)


def arabic_key(token: str) -> str:
    """Key of a normalised Arabic token (letters ء..ي only).

    Args:
        token: one token as :func:`undercount.names.normalise.normalise_name` writes it.

    Returns:
        The consonant-class skeleton (``'a'`` when no consonant is left).
    """
    return _letters_key(token, _ARABIC_CLASSES, _ARABIC_INITIAL, _ARABIC_FINAL_DROPPED)


def hebrew_key(token: str) -> str:
    """Key of a normalised Hebrew token (final letters already folded).

    Args:
        token: one token as :func:`undercount.names.normalise.normalise_name` writes it.

    Returns:
        The consonant-class skeleton (``'a'`` when no consonant is left).
    """
    return _letters_key(token, _HEBREW_CLASSES, _HEBREW_INITIAL, _HEBREW_FINAL_DROPPED)


def latin_key(token: str) -> str:
    """Key of a folded lower-case Latin token.

    Args:
        token: one token as :func:`undercount.names.normalise.normalise_name` writes it.

    Returns:
        The consonant-class skeleton (``'a'`` when no consonant is left).
    """
    stem = token
    if len(stem) > 1 and stem.endswith("h") and stem[-2] not in _DIGRAPH_FIRST:
        stem = stem[:-1]
    stem = _LATIN_TRAILING.sub("", stem)
    units = _LATIN_UNITS.findall(_SOFT_C.sub("s", stem))
    letters = [_LATIN_CLASSES.get(u, "") for u in units]
    if units and units[0] in _LATIN_INITIAL:
        letters[0] = _LATIN_INITIAL[units[0]]
    return _skeleton(letters)


def _script_key(token: str) -> str:
    parts = []
    for run in _RUNS.findall(token):
        first = run[0]
        if "a" <= first <= "z":
            parts.append(latin_key(run))
        elif "\u0621" <= first <= "\u064a":
            parts.append(arabic_key(run))
        elif "\u05d0" <= first <= "\u05ea":
            parts.append(hebrew_key(run))
        else:
            parts.append(run)
    return "".join(parts) or EMPTY_KEY


def _without_prefix(token: str) -> str:
    for prefix, _ in _PREFIXES:
        if token.startswith(prefix) and len(token) > len(prefix) + 1:
            return token[len(prefix):]
    return token


@lru_cache(maxsize=1)
def spelling_dictionary() -> tuple[tuple[str, str, int], ...]:
    """The shipped spelling dictionary's rows, (Arabic segment, English spelling, entries), read once
    for the keys here and the spellings of :mod:`undercount.names.spellings`.

    Example:
        >>> all(count >= 1 for _, _, count in spelling_dictionary())
        True
    """
    ref = resources.files("undercount.names") / "data" / _SPELLING_DICTIONARY
    with io.TextIOWrapper(ref.open("rb"), encoding="utf-8", newline="") as handle:
        return tuple((row["ar"], row["en"], int(row["count"] or 1)) for row in csv.DictReader(handle))


@lru_cache(maxsize=1)
def _article_votes() -> dict[tuple[str, str], tuple[float, float]]:
    """(whole key, rest key) of Latin "al"/"el" tokens -> dictionary entries keyed (whole, rest)."""
    votes: dict[tuple[str, str], tuple[float, float]] = {}
    for ar, en, count in spelling_dictionary():
        latin = _without_prefix("".join(clean_chars(en).split()))
        arabic = _without_prefix("".join(clean_chars(ar).split()))
        if not latin.startswith(_LATIN_ARTICLES) or len(latin) <= 3 or not arabic:
            continue
        whole, rest = _script_key(latin), _script_key(latin[2:])
        target = token_key(arabic)
        if whole == rest or target not in (whole, rest):
            continue
        for_whole, for_rest = votes.get((whole, rest), (0.0, 0.0))
        votes[(whole, rest)] = (for_whole + count, for_rest) if target == whole else (for_whole, for_rest + count)
    return votes


def _latin_article_is_syllable(whole: str, rest: str) -> bool:
    """Whether a Latin token's "al"/"el" reads as part of the name (see ``_SPELLING_DICTIONARY``)."""
    for_whole, for_rest = _article_votes().get((whole, rest), (0.0, 0.0))
    return for_whole > for_rest


@lru_cache(maxsize=500_000)
def token_key(token: str) -> str:
    """Transliteration key of one normalised token, whatever its script.

    Compounds are keyed part by part, so that ``عبدربه`` and ``Abdul Rabbo``, or ``ابوالخير``
    and ``Abu Khair``, agree: the key of ``عبد``/``abd``/``abdul`` is ``bd``, of ``ابو``/``abu``
    ``b``, followed by the key of the second part without its article. A leading article
    (``ال``, ``al``, ``el``) is dropped when at least two consonant classes follow (not in
    Elias, Ilham, Olfat, Almas, whose first letters are their own, nor in a Latin token whose
    keys the spelling dictionary's Arabic tokens take whole more often than without: Alyan).

    Args:
        token: a token of :func:`undercount.names.normalise.normalise_name` output.

    Returns:
        The consonant-class key (``'a'`` when no consonant is left; digits kept as written).

    Example:
        >>> token_key("محمد") == token_key("muhamad")
        True
    """
    for prefix, prefix_key in _PREFIXES:
        if token.startswith(prefix) and len(token) > len(prefix) + 1:
            rest = token[len(prefix):]
            if prefix_key == "bd" and rest in _ALLAH_RESTS:
                return prefix_key + "l"
            return prefix_key + token_key(rest)
    whole = _script_key(token)
    if whole in _NOT_ARTICLE_KEYS:
        return whole
    for article in _ARTICLES:
        if token.startswith(article) and len(token) > len(article) + 1:
            rest = token_key(token[len(article):])
            if len(rest) >= _ARTICLE_MIN_REST and rest != EMPTY_KEY:
                if article in _LATIN_ARTICLES and _latin_article_is_syllable(whole, rest):
                    return whole
                return rest
    return whole
