"""Multiple systems estimation."""

from undercount.estimate.results import EstimateResult

__all__ = ["EstimateResult"]
