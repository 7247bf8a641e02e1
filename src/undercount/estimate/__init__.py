"""Multiple systems estimation: capture tables, estimators, strata and the case-level estimate."""

from undercount.estimate.auto import estimate_table
from undercount.estimate.case import StratifiedResult, estimate_case
from undercount.estimate.histories import capture_table, read_table, validate_table
from undercount.estimate.results import EstimateResult

__all__ = [
    "EstimateResult",
    "StratifiedResult",
    "capture_table",
    "estimate_case",
    "estimate_table",
    "read_table",
    "validate_table",
]
