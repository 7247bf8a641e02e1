"""Multiple systems estimation: capture tables, estimators, strata and the case-level estimate.

The names below are imported on first use, so that importing a submodule (the command line
reads ``undercount.estimate.registry``) does not load every estimator, numba and scipy.
"""

from typing import TYPE_CHECKING

from undercount._lazy import lazy_names as _lazy_names

if TYPE_CHECKING:
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

_HOMES = {
    "EstimateResult": ".results",
    "StratifiedResult": ".case",
    "capture_table": ".histories",
    "estimate_case": ".case",
    "estimate_table": ".auto",
    "read_table": ".histories",
    "validate_table": ".histories",
}


__getattr__, __dir__ = _lazy_names(__name__, _HOMES, __all__)
