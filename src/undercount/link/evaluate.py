"""Linkage against a known truth: pairwise and B-cubed precision, recall and F1.

Pairwise scores count pairs of records placed in the same cluster; B-cubed scores average, over
records, the share of the record's cluster that is truly the same person (precision) and the
share of the person's records found in the cluster (recall).

Capture-recapture lives on the overlaps between lists, so the scores are also given per pair of
lists (:func:`score_list_pairs`), for every record pair and for the hard ones: records written in
different scripts, and pairs where a record has no age.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any, cast

import numpy as np
import pandas as pd

from undercount.errors import InputError, LinkError
from undercount.store import Case

__all__ = ["EvaluationResult", "evaluate_links", "score_clusters", "score_list_pairs", "record_pairs"]

SUBSETS = ("all", "across scripts", "without age")


@dataclass(frozen=True)
class EvaluationResult:
    """Scores of a clustering against a truth (no names, no IDs)."""

    records: int
    true_persons: int
    predicted_persons: int
    true_pairs: int
    predicted_pairs: int
    correct_pairs: int
    pairwise_precision: float
    pairwise_recall: float
    pairwise_f1: float
    bcubed_precision: float
    bcubed_recall: float
    bcubed_f1: float
    list_pairs: tuple[dict[str, Any], ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """The result as a JSON-ready dict."""
        return asdict(self)


def _pairs(sizes: pd.Series) -> int:
    n = sizes.to_numpy(dtype=np.int64)
    return int((n * (n - 1) // 2).sum())


def _f1(p: float, r: float) -> float:
    return 0.0 if p + r == 0 else 2 * p * r / (p + r)


def score_clusters(predicted: pd.Series, truth: pd.Series) -> EvaluationResult:
    """Score predicted cluster labels against true person labels (aligned, same length).

    Args:
        predicted: cluster label of each record.
        truth: true person label of each record, in the same order.

    Returns:
        An EvaluationResult.

    Example:
        >>> r = score_clusters(pd.Series([1, 1, 2]), pd.Series(["a", "a", "b"]))
        >>> r.pairwise_f1, r.bcubed_f1
        (1.0, 1.0)
    """
    frame = pd.DataFrame({"p": np.asarray(predicted), "t": np.asarray(truth)})
    cells = frame.groupby(["p", "t"], sort=False).size()
    p_sizes = frame.groupby("p", sort=False).size()
    t_sizes = frame.groupby("t", sort=False).size()
    correct, predicted_pairs, true_pairs = _pairs(cells), _pairs(p_sizes), _pairs(t_sizes)
    precision = correct / predicted_pairs if predicted_pairs else 1.0
    recall = correct / true_pairs if true_pairs else 1.0
    # Index.map takes a Series (documented); pandas-stubs only lists Mapping and callables.
    cell = frame.set_index(["p", "t"]).index.map(cast("Mapping[Any, Hashable]", cells)).to_numpy(dtype=float)
    b_p = float(np.mean(cell / frame["p"].map(p_sizes).to_numpy(dtype=float))) if len(frame) else 1.0
    b_r = float(np.mean(cell / frame["t"].map(t_sizes).to_numpy(dtype=float))) if len(frame) else 1.0
    return EvaluationResult(
        records=len(frame), true_persons=len(t_sizes), predicted_persons=len(p_sizes),
        true_pairs=true_pairs, predicted_pairs=predicted_pairs, correct_pairs=correct,
        pairwise_precision=round(precision, 6), pairwise_recall=round(recall, 6),
        pairwise_f1=round(_f1(precision, recall), 6), bcubed_precision=round(b_p, 6),
        bcubed_recall=round(b_r, 6), bcubed_f1=round(_f1(b_p, b_r), 6),
    )


def record_pairs(labels: pd.DataFrame, column: str) -> pd.DataFrame:
    """Every pair of records that share a label (``a < b`` by record_id).

    Args:
        labels: record_id and ``column`` (a cluster or a true person), one row per record.
        column: the label column.

    Returns:
        Columns a, b (record ids).
    """
    frame = labels[["record_id", column]].dropna()
    sizes = frame.groupby(column)[column].transform("size")
    frame = frame[sizes.to_numpy() > 1]
    pairs = frame.merge(frame, on=column, suffixes=("_a", "_b"))
    pairs = pairs[pairs["record_id_a"] < pairs["record_id_b"]]
    return pd.DataFrame({"a": pairs["record_id_a"].to_numpy(dtype=np.int64), "b": pairs["record_id_b"].to_numpy(dtype=np.int64)})


def score_list_pairs(records: pd.DataFrame, candidates: pd.DataFrame | None = None) -> pd.DataFrame:
    """Pairwise precision and recall per pair of lists, for all pairs and the hard ones.

    Args:
        records: record_id, source, person_id (predicted cluster), true_person and, when known,
            script and age.
        candidates: optional a, b record-id pairs (a < b) that blocking compared: adds the share
            of true pairs among them (blocking recall).

    Returns:
        One row per (list_l, list_r, subset): subset is 'all', 'across scripts' (the two records
        in different scripts) or 'without age' (a record has no age); true_pairs,
        predicted_pairs, correct_pairs, precision, recall (and blocking_recall with candidates).

    Example:
        >>> recs = pd.DataFrame({"record_id": [1, 2, 3], "source": ["a", "b", "b"],
        ...     "person_id": ["x", "x", "y"], "true_person": [1, 1, 1]})
        >>> score_list_pairs(recs)[["list_l", "list_r", "recall"]].values.tolist()
        [['a', 'b', 0.5], ['b', 'b', 0.0]]
    """
    info = records.set_index("record_id")
    true = record_pairs(records, "true_person")
    pred = record_pairs(records, "person_id")
    true["true"], pred["pred"] = True, True
    both = true.merge(pred, on=["a", "b"], how="outer")
    both[["true", "pred"]] = both[["true", "pred"]].fillna(False).astype(bool)
    if candidates is not None and len(candidates):
        blocked = candidates[["a", "b"]].astype("int64").drop_duplicates().assign(blocked=True)
        both = both.merge(blocked, on=["a", "b"], how="left")
        both["blocked"] = both["blocked"].fillna(False).astype(bool)
    src_a = info["source"].reindex(both["a"].to_numpy()).to_numpy(dtype=object)
    src_b = info["source"].reindex(both["b"].to_numpy()).to_numpy(dtype=object)
    swap = src_a.astype(str) > src_b.astype(str)
    both["list_l"] = np.where(swap, src_b, src_a)
    both["list_r"] = np.where(swap, src_a, src_b)
    subsets = {"all": np.ones(len(both), dtype=bool)}
    if "script" in info:
        # Both scripts known (a record without a name has none) and different.
        script = info["script"].astype(object).where(info["script"].isin(["arabic", "latin", "hebrew"]), None)
        left_script, right_script = script.reindex(both["a"].to_numpy()), script.reindex(both["b"].to_numpy())
        subsets["across scripts"] = (left_script.notna().to_numpy() & right_script.notna().to_numpy()
                                     & (left_script.to_numpy() != right_script.to_numpy()))
    if "age" in info:
        age = pd.to_numeric(info["age"], errors="coerce")
        subsets["without age"] = age.reindex(both["a"].to_numpy()).isna().to_numpy() | age.reindex(both["b"].to_numpy()).isna().to_numpy()
    rows = []
    for subset, mask in subsets.items():
        part = both[mask]
        for (left, right), group in part.groupby(["list_l", "list_r"], sort=True):
            t, p = int(group["true"].sum()), int(group["pred"].sum())
            c = int((group["true"] & group["pred"]).sum())
            row: dict[str, Any] = {"list_l": left, "list_r": right, "subset": subset, "true_pairs": t,
                                   "predicted_pairs": p, "correct_pairs": c,
                                   "precision": round(c / p, 6) if p else 1.0, "recall": round(c / t, 6) if t else 1.0}
            if "blocked" in group:
                row["blocking_recall"] = round(int((group["true"] & group["blocked"]).sum()) / t, 6) if t else 1.0
            rows.append(row)
    return pd.DataFrame(rows)


def read_truth(path: str | Path) -> pd.DataFrame:
    """Read a truth file with columns list,row,person_id.

    Raises:
        InputError: the file is missing or empty, lacks a column, or a row is not a 1-based number.
    """
    try:
        truth = pd.read_csv(path, dtype={"list": str, "row": str, "person_id": str})
    except pd.errors.EmptyDataError:
        raise InputError("the truth file is empty", file=path) from None
    except (OSError, pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read the truth file: {exc.__class__.__name__}", file=path) from exc
    for column in ("list", "row", "person_id"):
        if column not in truth.columns:
            raise InputError("the truth file needs columns list,row,person_id", file=path, column=column)
    rows = pd.to_numeric(truth["row"].str.strip(), errors="coerce")
    bad = rows.isna() | (rows < 1) | (rows % 1 != 0)
    if bad.any():
        first = int(np.flatnonzero(bad.to_numpy())[0])
        cell = truth["row"].iloc[first]
        raise InputError(f"{cell if isinstance(cell, str) else ''!r} is not a row number (1, 2, ...)",
                         file=path, row=first + 1, column="row")
    return truth.assign(row=rows.astype("int64"))


def evaluate_links(case: Case, truth_csv: str | Path) -> EvaluationResult:
    """Score the case's current clusters against a truth file (list,row,person_id).

    Args:
        case: an open, linked case.
        truth_csv: CSV with list (source name), row (1-based data row) and person_id.

    Returns:
        An EvaluationResult over the records present in both the case and the truth.

    Raises:
        StoreError: the case has not been linked.
        InputError: the truth file cannot be read.
        LinkError: no record of the case appears in the truth.
    """
    clusters = case.clusters()
    records = case.records(["record_id", "script", "age"])
    clusters = clusters.merge(records, on="record_id", how="left", suffixes=("", "_rec"))
    truth = read_truth(truth_csv)
    merged = clusters.merge(
        truth.rename(columns={"list": "source", "person_id": "true_person"}), on=["source", "row"], how="inner"
    )
    if merged.empty:
        raise LinkError(f"no record of case {case.path} is in {Path(truth_csv).name}: check the list names")
    result = score_clusters(merged["person_id"], merged["true_person"])
    by_lists = score_list_pairs(merged)
    rows = [{str(k): v for k, v in row.items()} for row in by_lists.to_dict("records")]
    return replace(result, list_pairs=tuple(rows))
