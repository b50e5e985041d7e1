"""The uncertainty range shown with each predicted probability, from the bundle's validation.

What a bundle holds, and what it does not
-----------------------------------------
A bundle stores each fitted model and its validation summary, not the bootstrap refits or
the training rows; so neither a bootstrap percentile interval nor a delta-method interval
(which needs the coefficients' covariance, i.e. the training design) can be computed from
it. What every bundle *does* record for a binary task is how well each model's
probabilities were calibrated out of sample:

- the cross-validated **calibration slope** with its 95% bootstrap confidence interval
  (``comparison`` rows: ``calibration_slope``, ``slope_low``, ``slope_high``);
- where the task was validated site by site, the random-effects pooled
  **observed/expected ratio** with its 95% confidence interval
  (``internal_external[model].meta``, metric ``o_e``: ``low``, ``high``);
- the development event rate ``n_events / n``.

The calibration range
---------------------
Logistic recalibration describes the observed risk among patients given prediction
``p`` as ``logit P = π₀ + b·(logit p − π₀) + δ``, with the slope ``b`` pivoting at the
development event rate (``π₀ = logit(n_events / n)``) and ``δ`` the shift of the intercept
that multiplies the mean risk by an observed/expected ratio ``r``:
``δ = logit(r·ρ) − logit(ρ)``, ``ρ = n_events / n``. The range is the smallest and largest
observed risk over the four corners ``b ∈ {slope_low, slope_high}``, ``r ∈ {oe_low,
oe_high}`` (``r = 1`` when there is no site-by-site validation), widened to contain ``p``
itself.

It answers "how far from this prediction could the observed risk of patients like this
be, given how precisely the validation pinned down the model's calibration?" On the
log-odds scale its width from the slope grows with the distance of ``logit p`` from the
pivot (zero at the event rate when no observed/expected ratio is recorded), as
calibration uncertainty does. It does **not** contain the sampling uncertainty of the model's own
coefficients for this particular patient, which the bundle cannot provide; the app says
so next to every range.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.special import expit, logit

from prom.bundle import ClassifierTaskEntry

__all__ = [
    "CalibrationEvidence",
    "calibration_range",
    "evidence_for",
    "RANGE_LABEL",
    "RANGE_METHOD",
]

_CLIP = 1e-6

#: The short label shown wherever a range is: what the bracketed numbers are, and are not.
RANGE_LABEL = (
    "In brackets: the calibration range — the observed risk compatible with how well the "
    "model's probabilities were calibrated in validation. Not a confidence interval: this "
    "patient's own sampling uncertainty is not in it; 'range < 1 pt': narrower than one "
    "percentage point (method under 'Definitions, sources and method')."
)

RANGE_METHOD = (
    "Range: the observed risk compatible with the model's out-of-sample calibration — "
    "its cross-validated calibration slope (95% CI) and, where validated site by site, "
    "the pooled observed/expected ratio (95% CI) — pivoting at the development event "
    "rate. The bundle stores no bootstrap refits or coefficient covariance, so the "
    "sampling uncertainty of this patient's own prediction is not included."
)


@dataclass(frozen=True)
class CalibrationEvidence:
    """What a bundle recorded about one model's calibration on one binary task."""

    event_rate: float
    slope_low: float
    slope_high: float
    oe_low: float = 1.0
    oe_high: float = 1.0
    site_validated: bool = False

    def __post_init__(self) -> None:
        if not 0 < self.event_rate < 1:
            raise ValueError(
                f"event_rate={self.event_rate!r}; expected a rate strictly between 0 and 1"
            )
        for name in ("slope_low", "slope_high", "oe_low", "oe_high"):
            v = getattr(self, name)
            if not isinstance(v, (int, float)) or not math.isfinite(v):
                raise ValueError(f"{name}={v!r}; expected a finite number")
        if self.slope_low > self.slope_high or self.oe_low > self.oe_high:
            raise ValueError(
                f"confidence limits out of order: slope {self.slope_low}–"
                f"{self.slope_high}, O/E {self.oe_low}–{self.oe_high}"
            )
        if self.oe_low <= 0:
            raise ValueError(f"oe_low={self.oe_low!r}; an observed/expected ratio is > 0")


def calibration_range(p, evidence: CalibrationEvidence) -> tuple[np.ndarray, np.ndarray]:
    """Lower and upper observed risk for predictions ``p`` (see the module docstring)."""
    p = np.asarray(p, dtype=float)
    if np.any(~np.isfinite(p)) or np.any((p < 0) | (p > 1)):
        raise ValueError("predicted probabilities must lie in [0, 1]")
    rho = evidence.event_rate
    pivot = logit(rho)
    lp = logit(np.clip(p, _CLIP, 1 - _CLIP))
    corners = np.stack(
        [
            expit(pivot + b * (lp - pivot) + logit(min(r * rho, 1 - _CLIP)) - pivot)
            for b in (evidence.slope_low, evidence.slope_high)
            for r in (evidence.oe_low, evidence.oe_high)
        ]
    )
    return np.minimum(corners.min(axis=0), p), np.maximum(corners.max(axis=0), p)


def _finite_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def evidence_for(entry: ClassifierTaskEntry, model: str) -> CalibrationEvidence | None:
    """The calibration evidence a bundle's task entry records for ``model``, or ``None``
    when it records none (a multiclass task, or a slope interval that is missing)."""
    n, events = entry.n, entry.n_events
    if not n or events is None or not 0 < events < n:
        return None
    row = entry.comparison_row(model)
    if row is None:
        return None
    lo: Any = row.get("slope_low")
    hi: Any = row.get("slope_high")
    if not (_finite_number(lo) and _finite_number(hi)):
        return None
    oe_lo = oe_hi = 1.0
    site = False
    sites = entry.internal_external.get(model)
    oe = sites.meta_row("o_e") if sites is not None else None
    if oe is not None and all(
        isinstance(oe.get(k), (int, float)) and math.isfinite(oe[k]) and oe[k] > 0
        for k in ("low", "high")
    ):
        oe_lo, oe_hi, site = float(oe["low"]), float(oe["high"]), True
    return CalibrationEvidence(
        event_rate=events / n,
        slope_low=float(lo),
        slope_high=float(hi),
        oe_low=oe_lo,
        oe_high=oe_hi,
        site_validated=site,
    )
