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

from typing import Any

import numpy as np
import pandas as pd

__all__ = ["THIRD_LIST_LEVELS", "third_list_bits"]

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
    the stored pairs, which hold every id given here) packed into 32 bits each, whatever the ids' size."""
    ca, cb = np.searchsorted(ids, a).astype(np.int64), np.searchsorted(ids, b).astype(np.int64)
    return np.asarray((np.minimum(ca, cb) << 32) | np.maximum(ca, cb), dtype=np.int64)


def _classes(left: np.ndarray, right: np.ndarray, src_l: np.ndarray, src_r: np.ndarray,
             third: object, best: pd.Series, compared: np.ndarray, ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The pairs (positions) of two lists other than ``third`` and their class against it."""
    rows = np.flatnonzero((src_l != src_r) & (src_l != third) & (src_r != third))
    index = pd.MultiIndex.from_arrays([np.concatenate([left[rows], right[rows]]), np.full(2 * len(rows), third, dtype=object)])
    partners = best.reindex(index).to_numpy(dtype=float)
    za, zb = partners[: len(rows)], partners[len(rows):]
    la, lb = ~np.isnan(za), ~np.isnan(zb)
    code = np.full(len(rows), _NONE, dtype=np.int8)
    both = la & lb
    code[both] = np.where(za[both] == zb[both], _SUPPORT, _CONTRADICT)
    one = la ^ lb
    partner = np.where(la, za, zb)[one].astype(np.int64)
    other = np.where(la, right[rows], left[rows])[one].astype(np.int64)
    seen = np.isin(_pair_keys(partner, other, ids), compared)
    code[one] = np.where(seen, _ONE_COMPARED, _ONE_APART)
    return rows, code


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
    left, right = np.asarray(left, dtype=np.int64), np.asarray(right, dtype=np.int64)
    prob = np.asarray(prob, dtype=float)
    bits = np.zeros(len(left))
    code = np.full(len(left), -1, dtype=np.int8)
    src_l, src_r = source.reindex(left).to_numpy(dtype=object), source.reindex(right).to_numpy(dtype=object)
    lists = pd.unique(source.to_numpy(dtype=object))
    if len(lists) < 3 or not len(left):
        return bits, code, {}
    link = (prob >= threshold) & (src_l != src_r)
    edges = pd.DataFrame({"rec": np.concatenate([left[link], right[link]]), "z": np.concatenate([src_r[link], src_l[link]]),
                          "partner": np.concatenate([right[link], left[link]]), "p": np.concatenate([prob[link], prob[link]])})
    best = edges.sort_values("p", ascending=False, kind="stable").drop_duplicates(["rec", "z"]).set_index(["rec", "z"])["partner"]
    ids = np.unique(np.concatenate([left, right]))
    compared = np.unique(_pair_keys(left, right, ids))
    found = [_classes(left, right, src_l, src_r, z, best, compared, ids) for z in lists]
    rows = np.concatenate([r for r, _ in found]) if found else np.zeros(0, dtype=np.int64)
    codes = np.concatenate([c for _, c in found]) if found else np.zeros(0, dtype=np.int8)
    if not len(rows):
        return bits, code, {}
    p = prob[rows]
    n = len(THIRD_LIST_LEVELS)
    m = (np.bincount(codes, weights=p, minlength=n) + _PSEUDO) / (p.sum() + _PSEUDO * n)
    u = (np.bincount(codes, weights=1.0 - p, minlength=n) + _PSEUDO) / ((1.0 - p).sum() + _PSEUDO * n)
    weight = np.clip(np.log2(m / u), -_MAX_BITS, _MAX_BITS)
    tuple_bits = weight[codes]
    bits += np.bincount(rows, weights=tuple_bits, minlength=len(left))
    strongest = pd.DataFrame({"row": rows, "code": codes, "size": np.abs(tuple_bits)}).sort_values(
        ["row", "size"], ascending=[True, False], kind="stable").drop_duplicates("row")
    code[strongest["row"].to_numpy()] = strongest["code"].to_numpy(dtype=np.int8)
    counts = np.bincount(codes, minlength=n)
    summary = {THIRD_LIST_LEVELS[k]: {"bits": round(float(weight[k]), 3), "pairs": int(counts[k])} for k in range(n)}
    return bits, code, summary
