"""Recalibrate pair probabilities per pair of lists, on labels the model did not make itself.

A Fellegi-Sunter model multiplies evidence as if it were independent and fits its parameters on
its own posterior, so its probabilities can be off by a steady amount for a whole pair of lists
(on a case built from the real lists, pairs of an English obituary list and an Arabic list scored
0.3 were true 60% of the time). This module measures that on labels that do not come from the
pair's own probability, and shifts the log-odds of every pair of that pair of lists:

1. **reviewed pairs**: the newest "same person" and "different people" decisions;
2. **a third list as a witness** (:func:`undercount.link.missed.structural_labels`): a pair of
   records of lists X and Y whose records each have exactly one strong link to a record of a
   third list Z is one person when that is the same record of Z, two when they differ
   (Sadinle and Fienberg 2013 use such transitivity across three lists).

The shift of each pair of lists is fitted as ``a`` in ``P(one person) = sigmoid(logit p + a)``
under the prior N(0, 1) (:func:`undercount.link.missed.fit_shift`), and applied one posterior
standard deviation short of its mean (toward no shift): the labels come from persons whom a
third list links strongly, who are easier to link than the rest, so the pairs move only as far
as the labels are sure. (On the real-list case of bench/end_to_end.py, seed 2, the full mean
lifted recall of survey x obituaries from 0.932 to 0.945 but dropped precision from 0.986 to
0.978; the shorter shift gave 0.941 and 0.980.) A pair of lists with few labels keeps its
probabilities; pairs of lists with fewer than ``MIN_LABELS`` labels of each kind are left alone.
Off by default (``LinkOptions.recalibrate``): on gaza-like it cost about a point of precision for
half a point of recall (docs/linkage.md). The shifts are stored with the run
(``training.calibration``) and each pair's evidence shows the bits its pair of lists' shift added.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from undercount.link.missed import fit_shift, structural_labels
from undercount.link.refit import list_pairs

__all__ = ["MIN_LABELS", "recalibrate", "pair_labels"]

#: Labels of each kind (one person, two) a pair of lists needs before its probabilities move.
MIN_LABELS = 5


def pair_labels(
    ids_l: np.ndarray, ids_r: np.ndarray, prob: np.ndarray, source: pd.Series,
    reviewed: dict[tuple[int, int], int] | None = None,
) -> np.ndarray:
    """Each pair's label: 1 one person, 0 two, -1 unknown (reviewers' decisions first, then a third list).

    Example:
        >>> src = pd.Series(["a", "b", "c", "a", "b", "c"], index=[1, 2, 3, 4, 5, 6])
        >>> l, r = np.array([1, 1, 2, 4, 1]), np.array([2, 3, 3, 5, 5])
        >>> pair_labels(l, r, np.array([0.4, 0.95, 0.95, 0.1, 0.2]), src, reviewed={(4, 5): 1}).tolist()
        [1, -1, -1, 1, -1]
    """
    left, right = np.asarray(ids_l, dtype=np.int64), np.asarray(ids_r, dtype=np.int64)
    labels = structural_labels(left, right, np.asarray(prob, dtype=float), source).astype(np.int8)
    if reviewed:
        keys = pd.MultiIndex.from_arrays([np.minimum(left, right), np.maximum(left, right)])
        decided = pd.Series(reviewed, dtype="int8").reindex(keys).to_numpy()
        labels = np.where(pd.notna(decided), decided, labels).astype(np.int8)
    return labels


def recalibrate(
    prepared: pd.DataFrame, scored: pd.DataFrame, reviewed: dict[tuple[int, int], int] | None = None
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Shift each pair of lists' log-odds by its calibration shift.

    Args:
        prepared: the linkage table (``unique_id``, ``source``).
        scored: the posterior pairs (``unique_id_l``, ``unique_id_r``, ``match_weight`` in bits,
            ``match_probability``).
        reviewed: reviewers' decisions, (smaller record id, larger) -> 1 same person, 0 different.

    Returns:
        (a copy of ``scored`` with ``mw_calibration`` in bits and the shifted ``match_weight``
        and ``match_probability``; per pair of lists {shift (natural log-odds, posterior mean),
        sd, labels, positives, applied, applied_shift}).
    """
    out = scored.copy()
    out["mw_calibration"] = 0.0
    if scored.empty:
        return out, {}
    ids_l, ids_r = scored["unique_id_l"].to_numpy(), scored["unique_id_r"].to_numpy()
    prob = scored["match_probability"].to_numpy(dtype=float)
    labels = pair_labels(ids_l, ids_r, prob, prepared.set_index("unique_id")["source"], reviewed)
    groups = list_pairs(prepared, ids_l, ids_r)
    bits = np.zeros(len(scored))
    summary: dict[str, Any] = {}
    for group in pd.unique(groups):
        rows = groups == group
        fit = fit_shift(prob[rows], labels[rows])
        negatives = fit.labels - fit.positives
        applied = fit.positives >= MIN_LABELS and negatives >= MIN_LABELS
        shift = math.copysign(max(abs(fit.shift) - fit.sd, 0.0), fit.shift) if applied else 0.0
        bits[rows] = shift / math.log(2.0)
        summary[str(group)] = {**fit.to_dict(), "applied": applied, "applied_shift": round(shift, 4)}
    out["mw_calibration"] = bits
    out["match_weight"] = out["match_weight"].to_numpy(dtype=float) + bits
    out["match_probability"] = 1.0 / (1.0 + np.exp2(-out["match_weight"].to_numpy(dtype=float)))
    return out, summary
