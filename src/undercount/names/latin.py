"""Latin-script name tokens: spelling rules and the common transliteration variants folded.

A Latin token (already lower case, accents removed by :mod:`undercount.names.charmap`) goes
through two steps:

* rules applied until nothing changes: ``ou`` -> ``u``, ``oo`` -> ``u``, ``ee`` -> ``i``, doubled
  letters written once (``Youssef`` -> ``yusef``, ``Saeed`` -> ``said``, ``Mahmoud`` -> ``mahmud``);
* a table of variant spellings of frequent names folded to one form (``Mohammed``,
  ``Muhammad``, ``Mohamad``, ``Mohamed``, ``Mohammad`` -> ``muhamad``; ``Ahmed`` -> ``ahmad``).

Whole names then join compounds: ``abd``/``abdel``/``abdul``/``abd al`` + next -> ``abdul...``
(``Abd Allah``, ``Abdallah``, ``Abdullah`` -> ``abdulah``); ``abu``/``abou``/``abo`` + next;
detached ``al``/``el`` + next -> ``al...``; ``... el din``/``eddin``/``uddin`` -> ``...aldin``;
``... allah`` as a second part -> ``...alah``. The normalised form is for matching, not display.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import lru_cache

__all__ = ["ABD", "ABU", "ARTICLE", "fold_latin_token", "join_latin_compounds", "variant_spellings"]

_VOWEL_RULES = ((re.compile("ou"), "u"), (re.compile("oo"), "u"), (re.compile("ee"), "i"))
_DOUBLE = re.compile(r"([a-z])\1+")

ABD = "abdul"
ABU = "abu"
ARTICLE = "al"

# Canonical form: written spellings (before the rules). The keys are folded with the rules
# when the table is built, so the table works on rule output.
_VARIANTS: dict[str, tuple[str, ...]] = {
    "muhammad": ("mohammed", "muhammad", "mohamad", "mohamed", "mohammad", "muhammed",
                 "mohamud", "mohd", "mhd", "mohamd", "mohammd", "mouhamed", "mouhammad",
                 "mehmed", "muhamed", "mohmmed", "mohmed", "mohamaed", "mouhamad"),
    "ahmad": ("ahmed", "ahamed", "ahamad", "ahmd", "ahmet"),
    "mahmud": ("mahmod", "mahmoud", "mahmood", "mahmut"),
    "mustafa": ("mostafa", "mustapha", "mostapha", "moustafa", "mustafah", "mostafah"),
    "yusuf": ("yousef", "yusef", "yosef", "yousif", "yusif", "yosif", "yousuf", "youssef",
              "yucef", "youcef", "yossef", "yousof"),
    "ibrahim": ("ebrahim", "ibrahem", "ibraheem", "ibraheim", "ebraheem", "brahim", "ibraim"),
    "husein": ("hussein", "husain", "hosain", "hosein", "hussien", "husin", "hossain",
               "hossein", "hussain", "hosen", "hussin"),
    "hasan": ("hassan", "hasen", "hassen"),
    "khalid": ("khaled", "khalad", "khaaled"),
    "said": ("saeed", "saed", "saaid", "saied", "saeid"),
    "omar": ("umar", "omer", "oumar"),
    "osama": ("usama", "usamah", "osamah", "oussama", "ousama"),
    "fatima": ("fatma", "fatimah", "fatmeh", "fatemah", "fatemeh", "fatme", "fatema", "fatmah"),
    "aisha": ("aysha", "aicha", "ayesha", "aishah", "aesha", "ayshah", "aysheh", "aisheh"),
    "maryam": ("mariam", "mariem", "mirriam", "maryem"),
    "zainab": ("zaynab", "zeinab", "zenab", "zeynab"),
    "yasin": ("yaseen", "yassin", "yassine", "yasine"),
    "ismail": ("esmail", "ismael", "ismaeel", "ismaiel", "esmaeel", "ismaeil"),
    "ayman": ("aiman", "eyman", "aymen"),
    "iyad": ("eyad", "eyyad", "iyyad"),
    "hamza": ("hamzah", "hamzeh", "hamzi"),
    "nur": ("nour", "noor", "nor"),
    "abu": ("abou", "abo", "abuu"),
    "ali": ("aly", "alee", "aliy"),
    "musa": ("mousa", "moussa", "mosa", "moosa"),
    "isa": ("issa", "eisa", "esa"),
    "yahya": ("yehia", "yahia", "yehya", "yihya"),
    "sulaiman": ("suleiman", "sulayman", "soliman", "sleiman", "suliman", "solaiman"),
    "abdulah": ("abdallah", "abdullah", "abdalla", "abdulla", "abdellah", "abdella", "abdillah",
                "abdollah", "abdlah"),
}
_ABD_FORMS = ("abdel", "abdal", "abdul", "abdil", "abdol", "abdur", "abdar", "abder", "abdor",
              "abdu", "abd")
_ABD_TOKENS = frozenset(("abd", "abdel", "abdal", "abdul", "abdil", "abdol", "abdur", "abdar",
                         "abder", "abdu"))
_ALLAH_TAILS = frozenset(("alah", "ala", "lah", "la", "elah", "ulah", "olah", "ilah", "ah", "a",
                          "hla"))
_ARTICLES = frozenset(("al", "el"))
_MINOR_ARTICLES = frozenset(("ul", "il", "ad", "ed", "ud", "id", "ar", "ur", "er", "as", "es",
                             "us", "an", "en", "un", "at", "et", "az", "ez", "ash", "esh"))
_DIN_TAILS = ("eldin", "uldin", "ildin", "edin", "udin", "aldin")
_DIN_TOKENS = frozenset(("din", "eldin", "aldin", "uldin", "edin", "udin", "adin"))
_ALLAH_TOKENS = frozenset(("alah", "ulah", "olah", "elah", "hla"))
_TAILS = _DIN_TOKENS | _ALLAH_TOKENS
_TRIGGERS = _ARTICLES | _ABD_TOKENS | _TAILS | {ABU}


def _rules(token: str) -> str:
    """Vowel-pair rules and doubled letters, until nothing changes."""
    while True:
        before = token
        for pattern, repl in _VOWEL_RULES:
            token = pattern.sub(repl, token)
        token = _DOUBLE.sub(r"\1", token)
        if token == before:
            return token


def _build_variants() -> dict[str, str]:
    table: dict[str, str] = {}
    for canonical, spellings in _VARIANTS.items():
        target = _rules(canonical)
        for spelling in (canonical, *spellings):
            table[_rules(spelling)] = target
    return table


_VARIANT_TABLE = _build_variants()


def variant_spellings(spelling: str, limit: int = 4) -> list[str]:
    """Usual written variants of a frequent name (``mohammed`` -> ``muhammad``, ``mohamed`` ...).

    Args:
        spelling: a lower-case spelling of one name.
        limit: at most this many variants.

    Returns:
        The variants of the name's group, the canonical spelling first; ``[]`` for other names.
    """
    canonical = _VARIANT_TABLE.get(_rules(spelling))
    for written, spellings in _VARIANTS.items():
        if _rules(written) == canonical:
            return list(dict.fromkeys((written, *spellings)))[:limit]
    return []


def _join_abd(rest: str) -> str:
    """``abdul`` + the second part, without a repeated article; Allah's forms give ``abdulah``."""
    while True:
        while len(rest) > 4 and rest[:2] in _ARTICLES:
            rest = rest[2:]
        if rest in _ALLAH_TAILS:
            return "abdulah"
        joined = _rules(ABD + rest)
        if joined[len(ABD):] == rest:
            return joined
        rest = joined[len(ABD):]


@lru_cache(maxsize=200_000)
def fold_latin_token(token: str) -> str:
    """Fold one lower-case Latin token: spelling rules, variant table, joined compounds.

    Args:
        token: a cleaned token of ASCII letters.

    Returns:
        The folded token (stable: folding it again gives itself).

    Example:
        >>> fold_latin_token("mohammed"), fold_latin_token("abdelrahman")
        ('muhamad', 'abdulrahman')
    """
    if not token.isalpha() or not token.isascii():
        return token
    token = _rules(token)
    token = _VARIANT_TABLE.get(token, token)
    if token.startswith("abd") and token not in _ABD_TOKENS:
        form = next(f for f in _ABD_FORMS if token.startswith(f))
        rest = token[len(form):]
        if len(rest) >= 3 or rest in _ALLAH_TAILS:
            return _join_abd(rest)
        return token
    for tail in _DIN_TAILS:
        if token.endswith(tail) and len(token) - len(tail) >= 3:
            return _rules(token[: -len(tail)] + "aldin")
    return token


def _is_latin(token: str) -> bool:
    return token.isascii() and token.isalpha()


def join_until_stable(
    tokens: list[str], triggers: frozenset[str] | set[str], join_once: Callable[[list[str]], list[str]]
) -> list[str]:
    """Apply one joining pass until nothing changes (a join can make a new compound part).

    Args:
        tokens: the tokens of one name.
        triggers: tokens that can start or end a compound; without any, nothing is joined.
        join_once: one pass over the tokens.

    Returns:
        The joined tokens (at most ``len(tokens) + 2`` passes: each pass that changes anything
        removes a token).
    """
    for _ in range(len(tokens) + 2):
        if triggers.isdisjoint(tokens):
            break
        joined = join_once(tokens)
        if joined == tokens:
            break
        tokens = joined
    return tokens


def join_latin_compounds(tokens: list[str]) -> list[str]:
    """Join Latin compound names written in parts (tokens already folded one by one).

    Args:
        tokens: folded tokens of one name, in order (other scripts pass through).

    Returns:
        The tokens with articles, ``abd``/``abu`` prefixes and ``din``/``allah`` tails joined.
    """
    return join_until_stable(tokens, _TRIGGERS, _join_once)


def _join_once(tokens: list[str]) -> list[str]:
    """One pass of :func:`join_latin_compounds` (a join may make a new compound part)."""
    merged: list[str] = []
    pending_article = False
    for token in tokens:
        if pending_article:
            pending_article = False
            if _is_latin(token):
                token = fold_latin_token(ARTICLE + token)
            else:
                merged.append(ARTICLE)
        if token in _ARTICLES or (
            token in _MINOR_ARTICLES and merged and merged[-1] in _ABD_TOKENS
        ):
            pending_article = True
        elif merged and token in _TAILS and _is_latin(merged[-1]):
            tail = "aldin" if token in _DIN_TOKENS else "alah"
            if merged[-1] in _MINOR_ARTICLES and len(merged) > 1 and _is_latin(merged[-2]):
                merged.pop()
            merged[-1] = fold_latin_token(merged[-1] + tail)
        else:
            merged.append(token)
    if pending_article:
        merged.append(ARTICLE)
    out: list[str] = []
    for token in reversed(merged):
        if out and _is_latin(out[-1]) and (token in _ABD_TOKENS or token == ABU):
            nxt = out.pop()
            out.append(fold_latin_token(ABU + nxt) if token == ABU else _join_abd(nxt))
        else:
            out.append(ABD if token in _ABD_TOKENS else token)
    out.reverse()
    return out
