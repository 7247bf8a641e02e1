"""A last EM pass of the m probabilities on every scored candidate pair, with the priors per pair of lists.

Splink estimates m on a few training blocks chosen so that they hold many matches and few
siblings; the pairs finally scored are a different population (every blocking rule, every pair of
lists). This module re-estimates each comparison level's m as the posterior-weighted share of the
candidate pairs in that level, ``m(level) = sum(p * [level]) / sum(p)``, keeping u (from random
pairs), the fixed levels and the floors, recomputes each pair's weights, corrections and
posterior with the priors per pair of lists, and repeats. It is the Fellegi-Sunter EM on the
candidates themselves, so that the probabilities agree with the mixture the case actually shows.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["refit_m", "list_pairs", "list_pair_codes", "record_lookup", "by_gamma"]

_FLOOR = 0.002


def record_lookup(index: pd.Index, values: np.ndarray, ids: np.ndarray) -> np.ndarray:
    """``values`` (aligned with ``index``, record ids) of each id in ``ids``; -1 where an id is not in ``index``.

    Integer record ids are looked up in an array indexed by id (tens of millions of pairs in a
    second, no hash table of Python objects); other ids through the index.

    Example:
        >>> record_lookup(pd.Index([10, 3, 7]), np.array([0, 1, 2]), np.array([7, 10, 5])).tolist()
        [2, 0, -1]
    """
    ids = np.asarray(ids)
    keys = index.to_numpy()
    codes = np.asarray(values, dtype=np.int64)
    if len(keys) and keys.dtype.kind in "iu" and ids.dtype.kind in "iu" and int(keys.min()) >= 0 \
            and int(keys.max()) <= 4 * len(keys) + 1_000_000:
        table = np.full(int(keys.max()) + 1, -1, dtype=np.int64)
        table[keys] = codes
        out = np.full(len(ids), -1, dtype=np.int64)
        inside = (ids >= 0) & (ids < len(table))
        out[inside] = table[ids[inside]]
        return out
    pos = index.get_indexer(pd.Index(ids))
    found: np.ndarray = np.where(pos >= 0, codes[np.maximum(pos, 0)], -1) if len(codes) else np.full(len(ids), -1, dtype=np.int64)
    return found


def list_pair_codes(sources: pd.Series, ids_l: np.ndarray, ids_r: np.ndarray) -> tuple[np.ndarray, list[str], np.ndarray]:
    """Each pair's two lists as an integer code, the names of the codes, and which pairs are flipped.

    The lists of a pair are in name order (``"a x b"``, ``a <= b``); codes number the pairs of lists
    in the order they first appear (as ``pd.factorize`` of the names would). No string is built per
    pair: on tens of millions of pairs, names per pair cost minutes and gigabytes.

    Args:
        sources: list name of every record, indexed by record id.
        ids_l, ids_r: record ids of the pairs.

    Returns:
        (code per pair, ``"a x b"`` per code, True where the pair's first record is of list ``b``).

    Raises:
        ValueError: a pair names a record ``sources`` does not hold.

    Example:
        >>> src = pd.Series(["b", "a", "a"], index=[1, 2, 3])
        >>> codes, names, flip = list_pair_codes(src, np.array([1, 2]), np.array([2, 3]))
        >>> [names[c] for c in codes], flip.tolist()
        (['a x b', 'a x a'], [True, False])
    """
    lists, names = pd.factorize(sources.astype(str), sort=True)  # codes in name order
    left = record_lookup(sources.index, lists, ids_l)
    right = record_lookup(sources.index, lists, ids_r)
    if len(left) and (left.min() < 0 or right.min() < 0):
        raise ValueError("a scored pair names a record the linkage table does not hold")
    flip = left > right
    k = max(len(names), 1)
    key = np.minimum(left, right) * k + np.maximum(left, right)
    codes, found = pd.factorize(key)
    return (codes.astype(np.int64), [f"{names[int(g) // k]} x {names[int(g) % k]}" for g in found], flip)


def list_pairs(prepared: pd.DataFrame, ids_l: np.ndarray, ids_r: np.ndarray) -> np.ndarray:
    """Each pair's two lists in order (``"a x b"``, ``a <= b``), from the linkage table.

    Example:
        >>> t = pd.DataFrame({"unique_id": [1, 2, 3], "source": ["b", "a", "a"]})
        >>> list(list_pairs(t, np.array([1, 2]), np.array([2, 3])))
        ['a x b', 'a x a']
    """
    codes, names, _ = list_pair_codes(prepared.set_index("unique_id")["source"], ids_l, ids_r)
    return np.asarray(names, dtype=object)[codes] if len(codes) else np.zeros(0, dtype=object)


def by_gamma(gamma: np.ndarray, values: dict[int, Any], default: Any) -> np.ndarray:
    """``values`` looked up for each gamma (``default`` where a gamma has none), by an array indexed by gamma.

    Example:
        >>> by_gamma(np.array([2, -1, 0]), {2: 0.5, 0: 0.1}, float("nan")).tolist()
        [0.5, nan, 0.1]
    """
    gamma = np.asarray(gamma, dtype=np.int64)
    numeric = all(isinstance(v, (int, float)) for v in (*values.values(), default))
    low = min([0, *values.keys(), *([int(gamma.min())] if len(gamma) else [])])
    high = max([0, *values.keys(), *([int(gamma.max())] if len(gamma) else [])])
    table = np.full(high - low + 1, default, dtype=float if numeric else object)
    for g, v in values.items():
        table[g - low] = v
    out: np.ndarray = table[gamma - low]
    return out


def _levels(settings: dict[str, Any]) -> dict[str, list[tuple[int, dict[str, Any]]]]:
    """comparison name -> [(gamma, level dict)] for the non-null levels (Splink's numbering)."""
    out: dict[str, list[tuple[int, dict[str, Any]]]] = {}
    for comparison in settings["comparisons"]:
        levels = [lv for lv in comparison["comparison_levels"] if not lv.get("is_null_level")]
        out[comparison["output_column_name"]] = [(len(levels) - 1 - i, lv) for i, lv in enumerate(levels)]
    return out


def refit_m(
    raw: pd.DataFrame, settings: dict[str, Any],
    score: Callable[[pd.DataFrame, dict[str, Any]], tuple[pd.DataFrame, dict[str, Any]]], *, rounds: int = 3,
    floor_of: Callable[[str, dict[str, Any]], float] | None = None,
    update: Callable[[pd.DataFrame, dict[str, Any]], None] | None = None,
) -> tuple[pd.DataFrame, dict[str, Any], dict[str, Any]]:
    """Re-estimate m on the scored candidates.

    Args:
        raw: Splink's predictions (``gamma_``, ``mw_``, ``mw_tf_adj_`` columns, ``match_weight``
            with the global prior).
        settings: the trained model (copied, not changed).
        score: turns predictions and a model into posterior pairs (with ``match_probability``)
            and a summary: the corrections and the priors per pair of lists.
        rounds: EM rounds (0: score the predictions as they are).
        floor_of: the floor of a level's m (comparison name, level dict); default 0.002.
        update: called with each round's posterior pairs and the model before m is re-estimated;
            may fit further parameters into the model (the lineage offsets).

    Returns:
        (the posterior pairs, the refitted model, the summary of the last scoring).

    Example:
        >>> model = {"probability_two_random_records_match": 0.5, "comparisons": [{"output_column_name": "x",
        ...     "comparison_levels": [{"is_null_level": True}, {"m_probability": 0.5, "u_probability": 0.1},
        ...                           {"m_probability": 0.5, "u_probability": 0.9}]}]}
        >>> raw = pd.DataFrame({"gamma_x": [1, 1, 0, 0], "mw_x": [2.32, 2.32, -0.85, -0.85]})
        >>> posterior = lambda frame, m: (frame.assign(match_probability=[1.0, 1.0, 0.0, 0.0]), {})
        >>> refit_m(raw, model, posterior, rounds=1)[1]["comparisons"][0]["comparison_levels"][1]["m_probability"]
        1.0
    """
    model = copy.deepcopy(settings)
    prior = float(model["probability_two_random_records_match"])
    base = math.log2(prior / (1 - prior))
    table = raw.copy(deep=False)  # its columns are replaced, never changed in place (copy-on-write)
    scored, summary = score(table, model)
    for _ in range(rounds):
        if update is not None:
            update(scored, model)
        p = scored["match_probability"].to_numpy(dtype=float)
        total = np.zeros(len(table))
        for name, levels in _levels(model).items():
            if f"gamma_{name}" not in table:
                continue
            gamma = table[f"gamma_{name}"].to_numpy()
            present = gamma >= 0
            mass = float(p[present].sum())
            if mass > 0:
                for g, level in levels:
                    if not level.get("fix_m_probability"):
                        m = float(p[gamma == g].sum()) / mass
                        floor = floor_of(name, level) if floor_of else _FLOOR
                        level["m_probability"] = min(max(m, floor), 1.0)
            # A level whose u no random pair measured keeps the weight Splink gave it.
            weights = {g: math.log2(float(lv["m_probability"]) / float(lv["u_probability"]))
                       for g, lv in levels if isinstance(lv.get("u_probability"), (int, float)) and lv["u_probability"] > 0}
            known = by_gamma(gamma, weights, np.nan)
            mw = np.where(np.isnan(known), table[f"mw_{name}"].to_numpy(dtype=float), known)
            mw = np.where(present, mw, 0.0)
            table[f"mw_{name}"] = mw
            total += mw
            if f"mw_tf_adj_{name}" in table:
                total += np.nan_to_num(table[f"mw_tf_adj_{name}"].to_numpy(dtype=float))
        table["match_weight"] = base + total
        table["match_probability"] = 1.0 / (1.0 + np.exp2(-table["match_weight"].to_numpy(dtype=float)))
        scored, summary = score(table, model)
    return scored, model, summary
