"""Match the records of two releases one to one, and tell what happened to each record.

The pairs and their probabilities come from the project's linkage model (ID number as strong
evidence among the others, never as a key); this module only decides, from them:

1. which record of the later release continues which record of the earlier one: a one-to-one
   assignment of greatest total match weight among the pairs at or above the threshold, solved
   exactly within each connected group of candidate pairs;
2. which unmatched records are duplicates of a matched record of their own release (the earlier
   release's extra copies were *resolved*, the later release's were *added*);
3. which unmatched records share a valid ID number with a different person (*ID reassigned*);
4. for each matched pair, which fields changed (names compared as written and after
   normalisation, so a change of spelling only is told apart), and so its class.

Every record of either release ends in exactly one row, so the counts of each release add up to
its size.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["CLASSES", "COMPARED", "MatchRows", "classify_pairs", "match_releases"]

#: The classes of the diff, in the order tables show them.
CLASSES = (
    "unchanged",          # the same person, every field as before
    "corrected",          # the same person, some field changed (a name, an age ...), status and ID aside
    "status_moved",       # the same person, another status (missing -> killed ...)
    "reappeared_new_id",  # the same person under another ID number (the earlier one dropped)
    "id_reassigned",      # an ID number that named one person now names another
    "added",              # only in the later release
    "removed",            # only in the earlier release
    "duplicate_resolved",  # an extra copy of a person in the earlier release, gone from the later
    "duplicate_added",    # an extra copy of a person in the later release
)

#: Match weight (log2 odds) above which pairs count as equally certain when matching releases.
WEIGHT_CAP = 20.0

#: The fields compared between matched records ('name' stands for the name as written).
COMPARED = ("name", "id_number", "sex", "age", "date_of_birth", "event_date", "place", "status", "cause",
            "reported_date")


@dataclass(frozen=True)
class MatchRows:
    """The rows of a diff before their details are read: one per record of either release.

    Attributes:
        frame: class, record_from, record_to (nullable Int64), probability, match_weight,
            reference (the record a duplicate copies, or the other holder of a reassigned ID).
    """

    frame: pd.DataFrame


def _components(left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """The connected component of each candidate pair (bipartite graph of record ids)."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    ids, inverse = np.unique(np.concatenate([left, right]), return_inverse=True)
    n = len(left)
    graph = coo_matrix((np.ones(n), (inverse[:n], inverse[n:])), shape=(len(ids), len(ids)))
    _, labels = connected_components(graph, directed=False)
    labels_arr: np.ndarray = labels[inverse[:n]]
    return labels_arr


def _assign(cross: pd.DataFrame) -> dict[int, int]:
    """One-to-one assignment of greatest total weight among the pairs (from -> to record id)."""
    from scipy.optimize import linear_sum_assignment

    if cross.empty:
        return {}
    a = cross["a"].to_numpy(np.int64)
    b = cross["b"].to_numpy(np.int64)
    w = cross["match_weight"].to_numpy(float)
    comp = _components(a, b)
    out: dict[int, int] = {}
    order = np.argsort(comp, kind="stable")
    bounds = np.flatnonzero(np.diff(comp[order])) + 1
    for idx in np.split(order, bounds):
        if len(idx) == 1:
            out[int(a[idx[0]])] = int(b[idx[0]])
            continue
        rows, ri = np.unique(a[idx], return_inverse=True)
        cols, ci = np.unique(b[idx], return_inverse=True)
        # weights at or above the threshold are >= 0 once shifted; a missing edge costs more than any path
        shift = w[idx].min()
        cost = np.full((len(rows), len(cols)), 1e9)
        np.minimum.at(cost, (ri, ci), -(w[idx] - shift + 1.0))
        r, c = linear_sum_assignment(cost)
        for i, j in zip(r, c):
            if cost[i, j] < 1e8:
                out[int(rows[i])] = int(cols[j])
    return out


def _best_partner(pairs: pd.DataFrame, unmatched: set[int], partner_of: dict[int, int]) -> dict[int, int]:
    """For each unmatched record, the matched record it is most strongly linked to (its original)."""
    out: dict[int, int] = {}
    if pairs.empty:
        return out
    for x, y, _ in pairs.sort_values("match_weight", ascending=False, kind="stable")[["x", "y", "match_weight"]].itertuples(index=False):
        for lone, other in ((int(x), int(y)), (int(y), int(x))):
            if lone in unmatched and lone not in out and other in partner_of:
                out[lone] = partner_of[other]
    return out


def _as_written_bonus(recs: pd.DataFrame, cross: pd.DataFrame) -> np.ndarray:
    """A weight (at most 2) for fields written the same in both records of a pair."""
    bonus = np.zeros(len(cross))
    for fld in COMPARED:
        col = "full_name" if fld == "name" else fld
        if col not in recs:
            continue
        before = recs[col].reindex(cross["a"].to_numpy()).reset_index(drop=True)
        after = recs[col].reindex(cross["b"].to_numpy()).reset_index(drop=True)
        bonus += np.where(_differs(before, after), 0.0, 1.0 if fld == "name" else 0.1)
    return bonus


def _valid_ids(recs: pd.DataFrame) -> pd.Series:
    valid = recs["id_valid"].astype("boolean").fillna(False).astype(bool) & recs["id_number"].notna()
    return recs.loc[valid, "id_number"].astype(str)


def match_releases(recs: pd.DataFrame, side: pd.Series, pairs: pd.DataFrame, *, threshold: float) -> MatchRows:
    """Match two releases' records and sort the rest into added, removed, duplicates, reassigned IDs.

    Args:
        recs: the records of both releases, indexed by record_id, with id_number and id_valid.
        side: record_id -> 'from' or 'to'.
        pairs: scored pairs (record_id_l, record_id_r, match_weight, probability).
        threshold: the match probability at or above which two records are one person.

    Returns:
        A :class:`MatchRows` with the class of every row but the matched ones (class None).
    """
    strong = pairs[pairs["probability"] >= threshold]
    sl = side.reindex(strong["record_id_l"]).to_numpy()
    sr = side.reindex(strong["record_id_r"]).to_numpy()
    cross_mask = sl != sr
    cross = strong[cross_mask]
    a = np.where(sl[cross_mask] == "from", cross["record_id_l"], cross["record_id_r"])
    b = np.where(sl[cross_mask] == "from", cross["record_id_r"], cross["record_id_l"])
    cross = pd.DataFrame({"a": a, "b": b, "match_weight": cross["match_weight"].to_numpy(),
                          "probability": cross["probability"].to_numpy()})
    cross = cross.sort_values(["a", "b"], kind="stable")
    # Among near-certain pairs the model's weights differ by noise (term frequencies, lineage), so
    # they are capped and ties between copies of one person go to the record written the same:
    # the copy left over is then the duplicate.
    score = np.minimum(cross["match_weight"].to_numpy(float), WEIGHT_CAP) + _as_written_bonus(recs, cross)
    matched = _assign(cross.assign(match_weight=score))
    back = {v: k for k, v in matched.items()}
    prob = {(int(x), int(y)): (float(w), float(p)) for x, y, w, p in cross.itertuples(index=False)}

    froms = side.index[side == "from"]
    tos = side.index[side == "to"]
    lone_from = {int(r) for r in froms if int(r) not in matched}
    lone_to = {int(r) for r in tos if int(r) not in back}
    # duplicates: an unmatched record strongly linked to a matched one (across or within its release)
    links = pd.DataFrame({"x": strong["record_id_l"].to_numpy(), "y": strong["record_id_r"].to_numpy(),
                          "match_weight": strong["match_weight"].to_numpy()})
    same_of_from = {**{k: k for k in matched}, **{v: k for k, v in matched.items()}}  # any matched record -> from rec
    same_of_to = {**{v: v for v in back}, **{k: v for k, v in matched.items()}}  # any matched record -> to rec
    dup_from = _best_partner(links, lone_from, same_of_from)
    dup_to = _best_partner(links, lone_to, same_of_to)
    lone_from -= set(dup_from)
    lone_to -= set(dup_to)

    rows: list[tuple[Any, ...]] = []
    for x, y in matched.items():
        w, p = prob[(x, y)]
        rows.append((None, x, y, p, w, None))
    rows += [("duplicate_resolved", x, None, None, None, ref) for x, ref in dup_from.items()]
    rows += [("duplicate_added", None, y, None, None, ref) for y, ref in dup_to.items()]
    rows += _reassigned(recs, side, lone_from, lone_to, back)
    frame = pd.DataFrame(rows, columns=["class", "record_from", "record_to", "probability", "match_weight", "reference"])
    for col in ("record_from", "record_to", "reference"):
        frame[col] = frame[col].astype("Int64")
    return MatchRows(frame)


def _reassigned(recs: pd.DataFrame, side: pd.Series, lone_from: set[int], lone_to: set[int],
                back: dict[int, int]) -> list[tuple[Any, ...]]:
    """Rows of the records left alone: ID reassigned when a valid ID of theirs names someone else
    in the other release, else removed or added."""
    ids = _valid_ids(recs)
    holders_from: dict[str, list[int]] = {}
    holders_to: dict[str, list[int]] = {}
    for rid, value in zip(ids.index.tolist(), ids.tolist()):
        target = holders_from if side.get(rid) == "from" else holders_to
        target.setdefault(value, []).append(int(rid))
    rows: list[tuple[Any, ...]] = []
    used: set[int] = set()
    for y in sorted(lone_to):
        value = ids.get(y)
        holders = holders_from.get(value, []) if value is not None else []
        free = [x for x in holders if x in lone_from and x not in used]
        if free:
            used.add(free[0])
            rows.append(("id_reassigned", free[0], y, None, None, None))
        elif holders:
            rows.append(("id_reassigned", None, y, None, None, holders[0]))
        else:
            rows.append(("added", None, y, None, None, None))
    for x in sorted(lone_from - used):
        value = ids.get(x)
        holders = [y for y in holders_to.get(value, []) if y in back] if value is not None else []
        if holders:
            rows.append(("id_reassigned", x, None, None, None, holders[0]))
        else:
            rows.append(("removed", x, None, None, None, None))
    return rows


def _differs(before: pd.Series, after: pd.Series) -> np.ndarray:
    """Elementwise: the two values differ (two missing values do not)."""
    b_na, a_na = before.isna().to_numpy(), after.isna().to_numpy()
    both = ~b_na & ~a_na
    equal = np.zeros(len(before), dtype=bool)
    pairs = zip(before.astype(object).to_numpy()[both], after.astype(object).to_numpy()[both])
    equal[both] = [bool(x == y) for x, y in pairs]
    return ~((b_na & a_na) | equal)


def _id_typo(before: str, after: str) -> bool:
    """One digit changed, two neighbouring digits swapped, or only the zero padding differs."""
    if before.lstrip("0") == after.lstrip("0"):
        return True
    if len(before) != len(after):
        return False
    diff = [i for i, (x, y) in enumerate(zip(before, after)) if x != y]
    if len(diff) == 1:
        return True
    return len(diff) == 2 and diff[1] == diff[0] + 1 and before[diff[0]] == after[diff[1]] and before[diff[1]] == after[diff[0]]


def classify_pairs(frame: pd.DataFrame, recs: pd.DataFrame) -> pd.DataFrame:
    """The class and the changed fields of each matched pair (rows whose class is None).

    Args:
        frame: the rows of :func:`match_releases`.
        recs: the records, indexed by record_id, with the :data:`COMPARED` fields (``name`` as
            ``full_name`` and ``name_norm``).

    Returns:
        ``frame`` with ``class`` filled, ``fields`` (tuple of changed fields), ``spelling_only``
        (the name changed in spelling only) and ``reference`` (for a pair that took another
        person's ID number, that person's earlier record).
    """
    out = frame.copy()
    out["fields"] = [()] * len(out)
    out["spelling_only"] = False
    pair = out["class"].isna().to_numpy()
    if not pair.any():
        return out
    a = recs.reindex(out.loc[pair, "record_from"].astype("int64").to_numpy())
    b = recs.reindex(out.loc[pair, "record_to"].astype("int64").to_numpy())
    changed: dict[str, np.ndarray] = {}
    for fld in COMPARED:
        col = "full_name" if fld == "name" else fld
        if col in recs:
            changed[fld] = _differs(a[col].reset_index(drop=True), b[col].reset_index(drop=True))
    spelling = changed.get("name", np.zeros(len(a), bool)) & ~_differs(
        a["name_norm"].reset_index(drop=True), b["name_norm"].reset_index(drop=True))
    ids_before, ids_after = a["id_number"].to_numpy(object), b["id_number"].to_numpy(object)
    id_changed = changed.get("id_number", np.zeros(len(a), bool))
    both_ids = a["id_number"].notna().to_numpy() & b["id_number"].notna().to_numpy()
    new_id = np.array([bool(c and both and not _id_typo(str(x), str(y)))
                       for c, both, x, y in zip(id_changed, both_ids, ids_before, ids_after)], dtype=bool)
    # an ID number that named another person of the earlier release: reassigned to this one
    earlier_ids = _valid_ids(recs.loc[recs.index.isin(frame["record_from"].dropna().astype("int64"))])
    holder = pd.Series(earlier_ids.index.to_numpy(), index=earlier_ids.to_numpy())
    holder = holder[~holder.index.duplicated()]
    took = [holder.get(y) if n and isinstance(y, str) else None for n, y in zip(new_id, ids_after)]
    took = [None if h is None or int(h) == int(x) else int(h) for h, x in zip(took, a.index)]
    status = changed.get("status", np.zeros(len(a), bool))
    others = np.zeros(len(a), bool)
    for fld, mask in changed.items():
        if fld not in ("status", "id_number"):
            others |= mask
    others |= id_changed & ~new_id
    cls = np.where(new_id, "reappeared_new_id", np.where(status, "status_moved", np.where(others, "corrected", "unchanged")))
    cls = np.where([t is not None for t in took], "id_reassigned", cls)
    names = list(changed)
    fields = [tuple(n for n in names if changed[n][i]) for i in range(len(a))]
    idx = out.index[pair]
    out.loc[idx, "class"] = cls
    out.loc[idx, "fields"] = pd.Series(fields, index=idx, dtype=object)
    out.loc[idx, "spelling_only"] = spelling
    out.loc[idx, "reference"] = pd.array([t for t in took], dtype="Int64")
    return out
