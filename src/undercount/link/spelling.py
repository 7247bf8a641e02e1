"""How a Latin record spells a name part as evidence about the part's level across scripts.

An English list romanises each person's name by one scheme, and a scheme the shipped
dictionary does not know spells names in ways it lacks. For a pair of a Latin record and an
Arabic one, the level a name part falls in depends on which: when the Latin part is a spelling
the dictionary gives, one person's part agrees as "same name across scripts" and a weaker level
("same sound", "close spelling", "different") is a real difference of names; when the Latin part
is no dictionary spelling, the same weak levels are what one person's name looks like in an
unknown romanisation. The model's m and u of each level are pooled over both, so the first were
over-scored and the second under-scored (docs/linkage.md, session 15; stored pairs at 0.02-0.98
of the real-list case, 12,000 people, seeds 1-2, true pairs against expected: the given name
"different" 6 against 13.6 where the Latin given name is a dictionary spelling, 9 against 5.2
where it is not; the family name at "same sound across scripts" 24 against 26.4 and 84 against
54.8).

Each Latin record gets, from its own names, which of its name parts are not spellings the
dictionary gives for the case's names (:func:`unspelled_parts`); each stored pair of a Latin
record and a record of a script with spellings takes, for each name part at a level other than
missing, ``log2(m_c / m) - log2(u_c / u)`` bits, where ``c`` says whether the Latin record's part
is a dictionary spelling, ``m_c`` is the level's share of the pairs of class ``c`` (of that part)
weighted by their probabilities and ``m`` its share of all such pairs (``u_c`` and ``u`` alike
with ``1 - p``): the model's own posterior, no truth and no labels; a half pair as pseudo-count
per level. Pairs within one script are unchanged.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["SPELLING_COLUMN", "SPELLING_LEVELS", "SpellingWeights", "spelling_bits", "spelling_summary", "spelling_weights",
           "unspelled_parts"]

#: The linkage table's column: which name parts of a Latin record are no dictionary spelling (bit k for
#: the k-th part; -1 for the records of other scripts).
SPELLING_COLUMN = "unspelled_parts"
#: The classes of a pair across scripts, by its Latin record, in the order of their codes.
SPELLING_LEVELS = (
    "every Latin name part a dictionary spelling",
    "a Latin name part the dictionary does not spell",
)
_PSEUDO = 0.5
_MAX_BITS = 10.0


def unspelled_parts(values: Sequence[pd.Series], latin: np.ndarray, spelled: Collection[str]) -> np.ndarray:
    """For each record, a bit per name part that is not in ``spelled`` (spaces removed; bit k for the
    k-th of ``values``); -1 where the record is not Latin.

    Args:
        values: the name parts (given, father, ...), one Series each, aligned.
        latin: True where the record is written in Latin letters.
        spelled: the Latin spellings the dictionary gives for the case's names.

    Example:
        >>> parts = [pd.Series(["mohammed", "محمد", "mhmmd"]), pd.Series(["al najjar", None, "najar"])]
        >>> unspelled_parts(parts, np.array([True, False, True]), {"mohammed", "alnajjar"}).tolist()
        [0, -1, 3]
    """
    mask = np.zeros(len(latin), dtype=np.int16)
    for bit, column in enumerate(values):
        joined = column.astype("string").str.replace(" ", "", regex=False)  # name parts: strings or missing
        unknown = (joined.notna() & ~joined.isin(list(spelled))).to_numpy(dtype=bool)
        mask |= unknown.astype(np.int16) << bit
    return np.where(np.asarray(latin, dtype=bool), mask, -1).astype(np.int16)


@dataclass(frozen=True)
class SpellingWeights:
    """The bits learnt for each name part's levels across scripts, by the Latin record's spelling of the part.

    Learnt once on a run's stored pairs (:func:`spelling_weights`), applied to them and to any other
    pair of the same linkage table (:meth:`apply`: the sample of unstored pairs that
    :mod:`undercount.link.missed` scores), so that both stand on one footing.

    Attributes:
        unspelled: :func:`unspelled_parts` of every record, indexed by record id.
        pivoted: True for the records of a script with spellings (Arabic), indexed by record id.
        tables: per name part (in the order of its bit), the levels learnt (sorted level indexes)
            and the bits of each level where the Latin part is a dictionary spelling and where it is
            not (0 for a class no stored pair held).
    """

    unspelled: pd.Series
    pivoted: pd.Series
    tables: tuple[tuple[np.ndarray, np.ndarray, np.ndarray], ...]

    def apply(self, left: np.ndarray, right: np.ndarray, gammas: Sequence[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        """The bits and class (index in :data:`SPELLING_LEVELS`, -1 within one script) of each pair.

        A level the stored pairs did not hold takes no bits.
        """
        left, right = np.asarray(left, dtype=np.int64), np.asarray(right, dtype=np.int64)
        bits = np.zeros(len(left))
        across, latin_mask = _across(left, right, self.unspelled, self.pivoted)
        code = np.where(across, (latin_mask > 0).astype(np.int8), np.int8(-1)).astype(np.int8)
        for bit, (gamma, (levels, spelled, unknown_bits)) in enumerate(zip(gammas, self.tables)):
            g = np.asarray(gamma, dtype=np.int64)
            ok = np.flatnonzero(across & (g >= 0))
            if not len(ok) or not len(levels):
                continue
            pos = np.minimum(np.searchsorted(levels, g[ok]), len(levels) - 1)
            seen = levels[pos] == g[ok]
            unknown = ((latin_mask[ok] >> bit) & 1).astype(bool)
            bits[ok[seen]] += np.where(unknown, unknown_bits[pos], spelled[pos])[seen]
        return bits, code


def _across(left: np.ndarray, right: np.ndarray, unspelled: pd.Series, pivoted: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Which pairs join a Latin record and a record of a script with spellings, and the Latin record's bits."""
    ul, ur = unspelled.reindex(left).fillna(-1).to_numpy(dtype=int), unspelled.reindex(right).fillna(-1).to_numpy(dtype=int)
    pl = pivoted.reindex(left).fillna(False).to_numpy(dtype=bool)
    pr = pivoted.reindex(right).fillna(False).to_numpy(dtype=bool)
    across = ((ul >= 0) & pr) | ((ur >= 0) & pl)
    return across, np.where(ul >= 0, ul, ur)


def spelling_weights(left: np.ndarray, right: np.ndarray, prob: np.ndarray, gammas: Sequence[np.ndarray],
                     unspelled: pd.Series, pivoted: pd.Series) -> SpellingWeights | None:
    """The bits of each name part's levels, by spelling class, learnt on stored pairs (the model's own posterior).

    Args: as :func:`spelling_bits`.

    Returns:
        The learnt :class:`SpellingWeights`, or None when no pair joins a Latin record and a
        record of a script with spellings.
    """
    left, right = np.asarray(left, dtype=np.int64), np.asarray(right, dtype=np.int64)
    prob = np.asarray(prob, dtype=float)
    if not len(left):
        return None
    across, latin_mask = _across(left, right, unspelled, pivoted)
    if not across.any():
        return None
    q = 1.0 - prob
    tables = []
    for bit, gamma in enumerate(gammas):
        g = np.asarray(gamma, dtype=np.int64)
        ok = across & (g >= 0)
        levels = np.unique(g[ok])
        n = len(levels)
        weights = [np.zeros(n), np.zeros(n)]
        if n:
            pos = np.searchsorted(levels, g[ok])
            unknown = ((latin_mask[ok] >> bit) & 1).astype(bool)
            pooled_m = (np.bincount(pos, weights=prob[ok], minlength=n) + _PSEUDO) / (prob[ok].sum() + _PSEUDO * n)
            pooled_u = (np.bincount(pos, weights=q[ok], minlength=n) + _PSEUDO) / (q[ok].sum() + _PSEUDO * n)
            for k, inc in enumerate((~unknown, unknown)):
                if not inc.any():
                    continue
                m = (np.bincount(pos[inc], weights=prob[ok][inc], minlength=n) + _PSEUDO) / (prob[ok][inc].sum() + _PSEUDO * n)
                u = (np.bincount(pos[inc], weights=q[ok][inc], minlength=n) + _PSEUDO) / (q[ok][inc].sum() + _PSEUDO * n)
                weights[k] = np.clip(np.log2(m / pooled_m) - np.log2(u / pooled_u), -_MAX_BITS, _MAX_BITS)
        tables.append((levels, weights[0], weights[1]))
    return SpellingWeights(unspelled, pivoted, tuple(tables))


def spelling_summary(bits: np.ndarray, code: np.ndarray) -> dict[str, Any]:
    """Per class of :data:`SPELLING_LEVELS`: its pairs and their mean bits."""
    return {label: {"pairs": int((code == c).sum()), "mean_bits": round(float(bits[code == c].mean()), 3) if (code == c).any() else 0.0}
            for c, label in enumerate(SPELLING_LEVELS)}


def spelling_bits(left: np.ndarray, right: np.ndarray, prob: np.ndarray, gammas: Sequence[np.ndarray],
                  unspelled: pd.Series, pivoted: pd.Series) -> tuple[np.ndarray, np.ndarray, dict[str, Any]]:
    """Bits each stored pair across scripts takes from how its Latin record spells each name part.

    Args:
        left, right: record ids of the stored pairs.
        prob: their probabilities.
        gammas: each name part's level index per pair (Splink's ``gamma_<part>``; -1 missing), in the
            order of the parts' bits in ``unspelled``.
        unspelled: :func:`unspelled_parts` of every record, indexed by record id.
        pivoted: True for the records of a script with spellings (Arabic), indexed by record id.

    Returns:
        The bits of every pair (0 for pairs within one script), the class of each pair (the index
        in :data:`SPELLING_LEVELS`, by all its Latin record's parts; -1 within one script) and per
        class its pairs and mean bits.

    Example:
        >>> unspelled = pd.Series([0, 1, -1, -1], index=[1, 2, 3, 4])
        >>> pivoted = pd.Series([False, False, True, True], index=[1, 2, 3, 4])
        >>> left, right = np.array([1, 1, 2, 2, 3] * 4), np.array([3, 4, 3, 4, 4] * 4)
        >>> gamma = [np.array([5, 2, 5, 2, 5] * 4)]  # 5 a strong level, 2 a weak one
        >>> prob = np.array([0.9, 0.1, 0.9, 0.9, 0.5] * 4)  # the weak level is likelier one person for record 2
        >>> bits, code, _ = spelling_bits(left, right, prob, gamma, unspelled, pivoted)
        >>> code[:5].tolist(), bool(bits[3] > 0 > bits[1]), float(bits[4])
        ([0, 0, 1, 1, -1], True, 0.0)
    """
    weights = spelling_weights(left, right, prob, gammas, unspelled, pivoted)
    if weights is None:
        return np.zeros(len(left)), np.full(len(left), -1, dtype=np.int8), {}
    bits, code = weights.apply(left, right, gammas)
    return bits, code, spelling_summary(bits, code)
