"""Results of multiple systems estimation: immutable, comparable across methods.

Every estimator returns an :class:`EstimateResult`. A stratum or table that cannot be estimated
returns a result with ``estimable=False`` and ``reason`` set, never an exception.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, replace
from typing import Any

import numpy as np

__all__ = ["EstimateResult", "NO_UPPER", "no_upper_warning"]

NO_UPPER = "no finite upper limit"  # the phrase in every warning about an interval without an upper end


def no_upper_warning(searched_to: float) -> str:
    """The warning of a profile-likelihood interval whose upper end was not found."""
    return f"the profile likelihood has {NO_UPPER} (searched to {searched_to:,.0f})"


def _clean(value: float | None) -> float | None:
    if value is None:
        return None
    value = float(value)
    return value if math.isfinite(value) else None


@dataclass(frozen=True)
class EstimateResult:
    """The estimated total population N of one table (a stratum or the whole case).

    Attributes:
        method: 'chapman', 'chao', 'loglinear', 'lcmcr', 'dga', or a pooled form.
        documented: persons observed on at least one list.
        estimate: point estimate of N (posterior median for Bayesian methods); None if not estimable.
        lower, upper: ends of the interval at ``level``; ``upper`` None means no finite upper limit.
        level: interval level, 0.95 by default.
        model: the model used, e.g. '[12,34]' for a log-linear model, 'K=10' for LCMCR.
        mean: posterior mean (Bayesian methods), else None.
        warnings: plain-language warnings (sparse table, non-convergence, chains disagree ...).
        estimable: False when no estimate can honestly be given; ``reason`` says why.
        details: method-specific numbers (AIC/BIC, R-hat, ESS, model weights ...), JSON-safe.
        draws: posterior or bootstrap draws of N (not serialised by ``to_dict``), for pooling.
        chains: a sampler's draws of N per chain, (chains, draws) (not serialised), for the
            convergence diagnostics of pooled replicates.
    """

    method: str
    documented: int
    estimate: float | None
    lower: float | None
    upper: float | None
    level: float = 0.95
    model: str | None = None
    mean: float | None = None
    warnings: tuple[str, ...] = ()
    estimable: bool = True
    reason: str | None = None
    details: dict[str, Any] = field(default_factory=dict)
    draws: np.ndarray | None = field(default=None, repr=False, compare=False)
    chains: np.ndarray | None = field(default=None, repr=False, compare=False)

    @classmethod
    def not_estimable(cls, method: str, documented: int, reason: str, **kw: Any) -> EstimateResult:
        """A result that says why no estimate is given."""
        return cls(
            method=method,
            documented=documented,
            estimate=None,
            lower=None,
            upper=None,
            estimable=False,
            reason=reason,
            warnings=tuple(kw.pop("warnings", ())) + (f"not estimable: {reason}",),
            **kw,
        )

    @property
    def total(self) -> float | None:
        """The point estimate of N."""
        return self.estimate

    @property
    def undocumented(self) -> float | None:
        """Estimated victims on no list (estimate minus documented)."""
        return None if self.estimate is None else self.estimate - self.documented

    def conf_int(self, alpha: float = 0.05) -> tuple[float | None, float | None]:
        """The interval at level 1 - alpha.

        Uses the draws when present; otherwise only the stored level is available.

        Raises:
            ValueError: a level other than the stored one without draws.
        """
        if self.draws is not None and len(self.draws) > 0:
            lo, hi = np.quantile(self.draws, [alpha / 2, 1 - alpha / 2])
            return float(lo), float(hi)
        if not math.isclose(1 - alpha, self.level):
            raise ValueError(f"only the {self.level:.0%} interval is stored for this {self.method} result")
        return self.lower, self.upper

    def with_warning(self, text: str) -> EstimateResult:
        """A copy with one more warning."""
        return replace(self, warnings=self.warnings + (text,))

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe dict with the stable keys documented, estimate, lower, upper, method, model, warnings."""
        data = asdict(self)
        data.pop("draws", None)
        data.pop("chains", None)
        for key in ("estimate", "lower", "upper", "mean"):
            data[key] = _clean(data[key])
        data["warnings"] = list(self.warnings)
        return data

    def summary(self) -> str:
        """A few lines a person can read."""
        if not self.estimable or self.estimate is None:
            return f"{self.method}: not estimable ({self.reason}); documented {self.documented:,}"
        upper = "no finite upper limit" if self.upper is None else f"{self.upper:,.0f}"
        lower = "?" if self.lower is None else f"{self.lower:,.0f}"
        lines = [
            f"{self.method} {self.model or ''}".rstrip()
            + f": estimate {self.estimate:,.0f} ({self.level:.0%} interval {lower} to {upper}); "
            f"documented {self.documented:,}"
        ]
        lines += [f"  warning: {w}" for w in self.warnings]
        return "\n".join(lines)
