"""Linkage against a known truth: pairwise and B-cubed precision, recall and F1.

Pairwise scores count pairs of records placed in the same cluster; B-cubed scores average, over
records, the share of the record's cluster that is truly the same person (precision) and the
share of the person's records found in the cluster (recall).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from collections.abc import Hashable, Mapping
from typing import Any, cast

import numpy as np
import pandas as pd

from undercount.errors import InputError, LinkError
from undercount.store import Case

__all__ = ["EvaluationResult", "evaluate_links", "score_clusters"]


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
    truth = read_truth(truth_csv)
    merged = clusters.merge(
        truth.rename(columns={"list": "source", "person_id": "true_person"}), on=["source", "row"], how="inner"
    )
    if merged.empty:
        raise LinkError(f"no record of case {case.path} is in {Path(truth_csv).name}: check the list names")
    return score_clusters(merged["person_id"], merged["true_person"])
