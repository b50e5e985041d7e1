"""DerSimonian–Laird random-effects meta-analysis of estimates from several settings.

:func:`random_effects_meta` pools k estimates (one per site, study or setting) with their
standard errors, and says how much the true value varies between settings: the
between-setting variance ``tau2``, I² and a prediction interval for a new setting
(DerSimonian & Laird, Control Clin Trials 1986; 7:177; Higgins, Thompson & Spiegelhalter,
JRSS A 2009; Riley, Higgins & Deeks, BMJ 2011; 342:d549). Internal–external
cross-validation (:func:`prom.validation.internal_external_cv`) uses it to pool site-level
performance (Debray et al., BMJ 2017; 356:i6460; Riley et al., BMJ 2016; 353:i3140).
Checked against metafor ``rma(method = "DL")``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import ndtri
from scipy.stats import t as t_dist

from prom.validation import _checks

__all__ = ["MetaAnalysis", "random_effects_meta", "prediction_interval_text"]


def prediction_interval_text(low: float, high: float, k: int, sep: str = " to ") -> str:
    """``prediction interval 0.612 to 0.701``, or why there is none: with fewer than three
    sites its t quantile has no degrees of freedom (k − 2), and the interval is undefined."""
    if np.isfinite(low) and np.isfinite(high):
        return f"prediction interval {low:.3f}{sep}{high:.3f}"
    return f"no prediction interval ({k} sites; it needs at least 3)"


@dataclass(frozen=True)
class MetaAnalysis:
    """DerSimonian–Laird random-effects meta-analysis of k estimates.

    ``estimate``/``se``/``low``/``high``: pooled mean, its standard error and Wald
    interval (normal quantile). ``tau2``: between-study variance (DL moment estimator,
    truncated at 0); ``q``: Cochran's Q; ``i2``: ``max(0, (Q - (k - 1)) / Q)``.
    ``pi_low``/``pi_high``: approximate prediction interval for the value in a new
    setting, ``estimate ± t(k - 2) * sqrt(tau2 + se^2)`` (Higgins, Thompson &
    Spiegelhalter, JRSS A 2009; Riley, Higgins & Deeks, BMJ 2011; 342:d549); NaN for
    k < 3.
    """

    estimate: float
    se: float
    low: float
    high: float
    tau2: float
    q: float
    i2: float
    pi_low: float
    pi_high: float
    k: int
    level: float = 0.95


def random_effects_meta(estimates, standard_errors, level: float = 0.95) -> MetaAnalysis:
    """DerSimonian–Laird random-effects meta-analysis (DerSimonian & Laird 1986).

    Weights ``1 / (se_i^2 + tau2)`` with ``tau2 = max(0, (Q - (k - 1)) / (S1 - S2 / S1))``,
    ``S1 = sum(w)``, ``S2 = sum(w^2)``, ``w = 1 / se^2``. Matches metafor
    ``rma(yi, sei = se, method = "DL")`` (estimate, se, interval, tau², Q, I²).
    Needs k >= 2 finite estimates with positive standard errors.
    """
    level = _checks.level_arg(level)
    y = _checks.as_numeric_1d(estimates, "estimates")
    se = _checks.as_numeric_1d(standard_errors, "standard_errors")
    _checks.same_length(estimates=y, standard_errors=se)
    if y.size < 2:
        raise ValueError(f"a meta-analysis needs at least 2 estimates; got {y.size}.")
    bad = np.flatnonzero(se <= 0)
    if bad.size:
        raise ValueError(
            f"standard_errors must be > 0; {bad.size} are not "
            f"({_checks.where_rows(standard_errors, bad)})."
        )
    k = y.size
    w = 1 / se**2
    fe = np.sum(w * y) / w.sum()
    q = float(np.sum(w * (y - fe) ** 2))
    tau2 = max(0.0, (q - (k - 1)) / (w.sum() - np.sum(w**2) / w.sum()))
    wr = 1 / (se**2 + tau2)
    est = float(np.sum(wr * y) / wr.sum())
    se_re = float(np.sqrt(1 / wr.sum()))
    z = float(ndtri(1 - (1 - level) / 2))
    i2 = max(0.0, (q - (k - 1)) / q) if q > 0 else 0.0
    if k >= 3:
        half = float(t_dist.ppf(1 - (1 - level) / 2, k - 2)) * np.sqrt(tau2 + se_re**2)
        pi = (est - half, est + half)
    else:
        pi = (np.nan, np.nan)
    return MetaAnalysis(
        estimate=est,
        se=se_re,
        low=est - z * se_re,
        high=est + z * se_re,
        tau2=float(tau2),
        q=q,
        i2=float(i2),
        pi_low=float(pi[0]),
        pi_high=float(pi[1]),
        k=k,
        level=level,
    )
