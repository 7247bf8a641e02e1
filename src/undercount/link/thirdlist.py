"""A third list as evidence for each pair of records of two other lists.

A pair of records of lists X and Y says nothing by its own names about a third list Z, yet the
links of its two records to Z do: when both records link the same record of Z the pair is
likely one person, when they link two different records of Z it is likely two (a person is
written once in a list that holds few duplicates), and when one record links a record of Z that
was not even compared with the other record, the two are unlikely one person (cf. the
transitivity checks of multiple-list linkage, Sadinle and Fienberg 2013). Each stored pair of
two different lists gets, for each other list Z, one of five classes:

* ``one record of the third list links both`` (support),
* ``the third list links them to two records`` (contradict),
* ``one links the third list, its partner compared with the other``,
* ``one links the third list, its partner never compared with the other``,
* ``neither links the third list``;

and each class weighs ``log2(m / u)`` bits, where ``m`` is the class's share of the pairs' summed
probabilities and ``u`` its share of their summed ``1 - p`` (the model's own posterior, no truth
and no labels; a half pair as pseudo-count per class). On the kept 12,000-person cases these bits
came within about a bit of those the truth gives (contradict -5.4 against -7.2, support +2.6
against +3.2; docs/linkage.md, session 13). A link is a pair at ``threshold`` or more; the
classes read the probabilities after the one-to-one competition, and the pair's own probability
plays no part in its class. Two lists alone have no third list: nothing changes.

Off by default (``LinkOptions.third_list``): the measured trade-off is in docs/linkage.md
(session 13).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["THIRD_LIST_LEVELS", "ThirdListWeights", "third_list_bits", "third_list_weights"]

#: The classes, in the order of their codes.
THIRD_LIST_LEVELS = (
    "neither links the third list",
    "one record of the third list links both",
    "the third list links them to two records",
    "one links the third list, its partner compared with the other",
    "one links the third list, its partner never compared with the other",
)
_NONE, _SUPPORT, _CONTRADICT, _ONE_COMPARED, _ONE_APART = range(5)
_PSEUDO = 0.5
_MAX_BITS = 10.0


def _pair_keys(a: np.ndarray, b: np.ndarray, ids: np.ndarray) -> np.ndarray:
    """One int64 per unordered pair of record ids: their positions in ``ids`` (the sorted distinct ids of
    the stored pairs) packed into 32 bits each, whatever the ids' size; -1 where an id is not in ``ids``."""
    ca, cb = np.searchsorted(ids, a).astype(np.int64), np.searchsorted(ids, b).astype(np.int64)
    known = (ca < len(ids)) & (cb < len(ids))
    known[known] &= (ids[ca[known]] == a[known]) & (ids[cb[known]] == b[known])
    return np.where(known, (np.minimum(ca, cb) << 32) | np.maximum(ca, cb), -1).astype(np.int64)


@dataclass(frozen=True)
class ThirdListWeights:
    """The bits of each class, learnt on a run's stored pairs, with the links and comparisons that class a pair.

    Applied to the stored pairs and to any other pair of the run's records (:meth:`apply`: the sample
    of unstored pairs that :mod:`undercount.link.missed` scores), so that both stand on one footing.

    Attributes:
        weight: the bits of each class of :data:`THIRD_LIST_LEVELS`.
        counts: the (pair, third list) tuples of each class among the stored pairs.
        source: list of every record, indexed by record id.
        best: each record's strongest link into each other list (index record, list; value the partner).
        ids: the sorted distinct record ids of the stored pairs.
        compared: :func:`_pair_keys` of the stored pairs (sorted).
    """

    weight: np.ndarray
    counts: np.ndarray
    source: pd.Series
    best: pd.Series
    ids: np.ndarray
    compared: np.ndarray

    def classes(self, left: np.ndarray, right: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The (pair position, class) tuples of the pairs of two lists against every third list."""
        left, right = np.asarray(left, dtype=np.int64), np.asarray(right, dtype=np.int64)
        src_l, src_r = self.source.reindex(left).to_numpy(dtype=object), self.source.reindex(right).to_numpy(dtype=object)
        found = [self._classes(left, right, src_l, src_r, z) for z in pd.unique(self.source.to_numpy(dtype=object))]
        rows = np.concatenate([r for r, _ in found]) if found else np.zeros(0, dtype=np.int64)
        codes = np.concatenate([c for _, c in found]) if found else np.zeros(0, dtype=np.int8)
        return rows.astype(np.int64), codes.astype(np.int8)

    def _classes(self, left: np.ndarray, right: np.ndarray, src_l: np.ndarray, src_r: np.ndarray,
                 third: object) -> tuple[np.ndarray, np.ndarray]:
        """The pairs (positions) of two lists other than ``third`` and their class against it."""
        rows = np.flatnonzero((src_l != src_r) & (src_l != third) & (src_r != third))
        index = pd.MultiIndex.from_arrays([np.concatenate([left[rows], right[rows]]), np.full(2 * len(rows), third, dtype=object)])
        partners = self.best.reindex(index).to_numpy(dtype=float)
        za, zb = partners[: len(rows)], partners[len(rows):]
        la, lb = ~np.isnan(za), ~np.isnan(zb)
        code = np.full(len(rows), _NONE, dtype=np.int8)
        both = la & lb
        code[both] = np.where(za[both] == zb[both], _SUPPORT, _CONTRADICT)
        one = la ^ lb
        partner = np.where(la, za, zb)[one].astype(np.int64)
        other = np.where(la, right[rows], left[rows])[one].astype(np.int64)
        keys = _pair_keys(partner, other, self.ids)
        seen = (keys >= 0) & np.isin(keys, self.compared)
        code[one] = np.where(seen, _ONE_COMPARED, _ONE_APART)
        return rows, code

    def apply(self, left: np.ndarray, right: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The bits of each pair (summed over the third lists) and the code of its strongest class (-1: none)."""
        rows, codes = self.classes(left, right)
        return _bits_of(len(left), rows, codes, self.weight)

    def summary(self) -> dict[str, Any]:
        """Per class: its bits and the (pair, third list) tuples of the stored pairs."""
        return {THIRD_LIST_LEVELS[k]: {"bits": round(float(self.weight[k]), 3), "pairs": int(self.counts[k])}
                for k in range(len(THIRD_LIST_LEVELS))}


def _bits_of(n_pairs: int, rows: np.ndarray, codes: np.ndarray, weight: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    bits = np.zeros(n_pairs)
    code = np.full(n_pairs, -1, dtype=np.int8)
    if not len(rows):
        return bits, code
    tuple_bits = weight[codes]
    bits += np.bincount(rows, weights=tuple_bits, minlength=n_pairs)
    strongest = pd.DataFrame({"row": rows, "code": codes, "size": np.abs(tuple_bits)}).sort_values(
        ["row", "size"], ascending=[True, False], kind="stable").drop_duplicates("row")
    code[strongest["row"].to_numpy()] = strongest["code"].to_numpy(dtype=np.int8)
    return bits, code


def third_list_weights(left: np.ndarray, right: np.ndarray, prob: np.ndarray, source: pd.Series, *,
                       threshold: float) -> ThirdListWeights | None:
    """The classes' bits learnt on stored pairs (the model's own posterior), with what classes a pair.

    Args: as :func:`third_list_bits`.

    Returns:
        The learnt :class:`ThirdListWeights`, or None without a third list or a pair of two lists.
    """
    left, right = np.asarray(left, dtype=np.int64), np.asarray(right, dtype=np.int64)
    prob = np.asarray(prob, dtype=float)
    src_l, src_r = source.reindex(left).to_numpy(dtype=object), source.reindex(right).to_numpy(dtype=object)
    if len(pd.unique(source.to_numpy(dtype=object))) < 3 or not len(left):
        return None
    link = (prob >= threshold) & (src_l != src_r)
    edges = pd.DataFrame({"rec": np.concatenate([left[link], right[link]]), "z": np.concatenate([src_r[link], src_l[link]]),
                          "partner": np.concatenate([right[link], left[link]]), "p": np.concatenate([prob[link], prob[link]])})
    best = edges.sort_values("p", ascending=False, kind="stable").drop_duplicates(["rec", "z"]).set_index(["rec", "z"])["partner"]
    ids = np.unique(np.concatenate([left, right]))
    n = len(THIRD_LIST_LEVELS)
    found = ThirdListWeights(np.zeros(n), np.zeros(n, dtype=np.int64), source, best, ids, np.unique(_pair_keys(left, right, ids)))
    rows, codes = found.classes(left, right)
    if not len(rows):
        return None
    p = prob[rows]
    m = (np.bincount(codes, weights=p, minlength=n) + _PSEUDO) / (p.sum() + _PSEUDO * n)
    u = (np.bincount(codes, weights=1.0 - p, minlength=n) + _PSEUDO) / ((1.0 - p).sum() + _PSEUDO * n)
    return replace(found, weight=np.clip(np.log2(m / u), -_MAX_BITS, _MAX_BITS), counts=np.bincount(codes, minlength=n))


def third_list_bits(left: np.ndarray, right: np.ndarray, prob: np.ndarray, source: pd.Series, *,
                    threshold: float) -> tuple[np.ndarray, np.ndarray, dict[str, Any]]:
    """Bits each stored pair of two lists takes from the other lists' links of its records.

    Args:
        left, right: record ids of the stored pairs.
        prob: their probabilities (after the one-to-one competition).
        source: list of every record, indexed by record id.
        threshold: the least probability of a link.

    Returns:
        The bits of every pair (0 within a list and without a third list), the code of its
        class (the index in :data:`THIRD_LIST_LEVELS` of its strongest class over the third lists;
        -1 when it has none), and per class the bits and the (pair, third list) count.

    Example:
        >>> src = pd.Series(["a", "b", "c", "c"], index=[1, 2, 3, 4])
        >>> bits, code, _ = third_list_bits(np.array([1, 1, 2, 1]), np.array([2, 3, 3, 4]),
        ...                                 np.array([0.6, 0.99, 0.99, 0.02]), src, threshold=0.5)
        >>> int(code[0]), bool(bits[0] > 0)  # a and b both link c's record 3
        (1, True)
    """
    weights = third_list_weights(left, right, prob, source, threshold=threshold)
    if weights is None:
        return np.zeros(len(left)), np.full(len(left), -1, dtype=np.int8), {}
    bits, code = weights.apply(left, right)
    return bits, code, weights.summary()
