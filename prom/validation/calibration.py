"""Calibration and overall accuracy of predicted probabilities for a 0/1 outcome.

``brier_loss`` and ``scaled_brier_score``; logistic recalibration
(``calibration_intercept_slope``: calibration-in-the-large, intercept and slope); the
smoothed-curve errors of ``rms::val.prob`` (``calibration_errors``: Eavg = ICI, E50,
E90, Emax); and a smoothed calibration curve with a pointwise confidence band
(``calibration_curve``), computed here and drawn elsewhere.

References: Steyerberg et al., Epidemiology 2010; 21:128 (scaled Brier, calibration
intercept and slope); Van Calster et al., J Clin Epidemiol 2016; 74:167 (levels of
calibration, flexible curves); Austin & Steyerberg, Stat Med 2019; 38:4051 (ICI, E50,
E90); Harrell, ``rms::val.prob`` (rms 6.5-0).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy.special import expit, logit, ndtri

from prom.errors import StatisticalWarning
from prom.options import SEED, Count, check_option
from prom.splines import quantile_knots, rcs_columns
from prom.validation import _checks
from prom.validation._smoothers import logistic_fit, lowess_fit

__all__ = [
    "CalibrationFit",
    "CalibrationErrors",
    "CalibrationCurve",
    "brier_loss",
    "scaled_brier_score",
    "calibration_intercept_slope",
    "calibration_errors",
    "calibration_curve",
]


@dataclass(frozen=True)
class CalibrationFit:
    """Logistic recalibration of predictions ``p`` against outcomes ``y``.

    ``intercept``, ``slope``: from ``logit P(y = 1) = intercept + slope * logit(p)``
    (rms val.prob's "Intercept" and "Slope"); ideal 0 and 1. A slope below 1 means
    predictions too extreme (overfitting), above 1 too moderate.

    ``citl``: calibration-in-the-large, the intercept ``a`` of
    ``logit P(y = 1) = a + logit(p)`` (slope fixed at 1, ``logit(p)`` an offset); ideal
    0, negative when the predictions are too high on average.

    Standard errors are from the inverse Fisher information (as R's ``glm``); the
    intervals are Wald intervals ``estimate ± z * se`` at ``level``.
    """

    citl: float
    citl_se: float
    citl_low: float
    citl_high: float
    intercept: float
    intercept_se: float
    intercept_low: float
    intercept_high: float
    slope: float
    slope_se: float
    slope_low: float
    slope_high: float
    n: int
    n_events: int
    level: float = 0.95


@dataclass(frozen=True)
class CalibrationErrors:
    """Absolute differences ``|p - smoothed observed risk|`` over the rows' predictions.

    ``eavg`` (= ICI, the integrated calibration index), ``e50`` (median), ``e90`` (90th
    percentile, R's default type-7 quantile) and ``emax`` (maximum), with ``n`` rows.
    """

    eavg: float
    e50: float
    e90: float
    emax: float
    n: int


@dataclass(frozen=True)
class CalibrationCurve:
    """A smoothed calibration curve on a grid of predicted risks, with a pointwise band.

    ``predicted`` is the grid (from the smallest to the largest prediction), ``observed``
    the smoothed observed risk there, ``low``/``high`` the pointwise band at ``level``
    (``None`` for ``method="lowess"`` with ``n_boot=0``). ``knots`` are the spline knots
    on the logit scale (empty for lowess). Arrays are read-only.
    """

    predicted: np.ndarray
    observed: np.ndarray
    low: np.ndarray | None
    high: np.ndarray | None
    level: float
    method: str
    n: int
    n_events: int
    knots: tuple[float, ...] = field(default=())

    def to_frame(self) -> pd.DataFrame:
        """Columns predicted, observed, low, high (NaN when there is no band)."""
        nan = np.full(self.predicted.size, np.nan)
        return pd.DataFrame(
            {
                "predicted": self.predicted,
                "observed": self.observed,
                "low": nan if self.low is None else self.low,
                "high": nan if self.high is None else self.high,
            }
        )


def brier_loss(y, p) -> float:
    """Brier score ``mean((p - y)^2)``: lower is better, 0 is perfect.

    The same number as rms val.prob's "Brier". Defined with a single outcome class too
    (unlike the other metrics here, it does not require both).
    """
    ya, pa, _ = _checks.binary_and_probs(y, p, what="the Brier score", need_both=False)
    return float(np.mean((pa - ya) ** 2))


def scaled_brier_score(y, p) -> float:
    """Scaled Brier score ``1 - Brier / Brier_max``: higher is better, 1 is perfect.

    ``Brier_max = mean(y) * (1 - mean(y))`` is the Brier score of predicting the
    observed prevalence for everyone (a non-informative model), so 0 means no better
    than the prevalence and negative values worse (Steyerberg et al. 2010). rms
    val.prob (6.5-0) reports the unscaled "Brier" only; this is computed from that same
    Brier score and ``mean(y)``.
    """
    ya, pa, _ = _checks.binary_and_probs(y, p, what="the scaled Brier score")
    ybar = ya.mean()
    return float(1.0 - np.mean((pa - ya) ** 2) / (ybar * (1.0 - ybar)))


def calibration_intercept_slope(y, p, level: float = 0.95) -> CalibrationFit:
    """Calibration-in-the-large, calibration intercept and slope, with Wald intervals.

    Fits ``logit P(y = 1) = intercept + slope * logit(p)`` (rms val.prob's
    "Intercept" and "Slope") and ``logit P(y = 1) = citl + logit(p)`` by maximum
    likelihood (Newton-Raphson to relative 1e-12). Predictions of exactly 0 or 1 are
    refused (their logit is infinite; val.prob drops them with a warning). When the
    predictions separate events from non-events completely the slope does not exist:
    a :class:`~prom.errors.StatisticalWarning` is given and intercept and slope are NaN.
    """
    level = _checks.level_arg(level)
    ya, pa, _ = _checks.binary_and_probs(y, p, what="the calibration slope", need_both=False)
    _checks.open_probabilities(pa, p, "p", "Logistic recalibration")
    if pa.min() == pa.max():
        raise ValueError(
            f"all {pa.size} predictions are equal (p = {pa[0]:g}); the calibration slope "
            "is undefined for constant predictions (calibration-in-the-large is "
            f"logit(mean(y)) - logit({pa[0]:g}))."
        )
    n_events, _ = _checks.both_classes(ya, what="the calibration slope")
    lp = logit(pa)
    z = float(ndtri(1 - (1 - level) / 2))
    ones = np.ones((ya.size, 1))
    a, cov_a, _ = logistic_fit(ones, ya, offset=lp)
    X = np.column_stack([np.ones(ya.size), lp])
    b, cov_b, ok_b = logistic_fit(X, ya)
    if not ok_b:
        warnings.warn(
            "logistic recalibration did not converge: the predictions probably separate "
            "events from non-events completely (AUC = 1), so the calibration slope is "
            "infinite; intercept and slope are reported as NaN.",
            StatisticalWarning,
            stacklevel=2,
        )
        b = np.full(2, np.nan)
        cov_b = np.full((2, 2), np.nan)
    se_a = float(np.sqrt(cov_a[0, 0]))
    se_b = np.sqrt(np.diag(cov_b))
    return CalibrationFit(
        citl=float(a[0]),
        citl_se=se_a,
        citl_low=float(a[0] - z * se_a),
        citl_high=float(a[0] + z * se_a),
        intercept=float(b[0]),
        intercept_se=float(se_b[0]),
        intercept_low=float(b[0] - z * se_b[0]),
        intercept_high=float(b[0] + z * se_b[0]),
        slope=float(b[1]),
        slope_se=float(se_b[1]),
        slope_low=float(b[1] - z * se_b[1]),
        slope_high=float(b[1] + z * se_b[1]),
        n=int(ya.size),
        n_events=n_events,
        level=level,
    )


def _smoothed_at_rows(ya: np.ndarray, pa: np.ndarray) -> np.ndarray:
    """val.prob's ``approx(lowess(p, y, iter = 0), xout = p, ties = mean)$y``."""
    _, fit = lowess_fit(pa, ya)
    # tied x share one fitted value (clowess copies it), so approx(ties = mean) at the
    # data points is the fitted value of each row
    out = np.empty_like(fit)
    out[np.argsort(pa, kind="stable")] = fit
    return out


def calibration_errors(y, p) -> CalibrationErrors:
    """Eavg (ICI), E50, E90 and Emax from a lowess calibration curve, as rms val.prob.

    Exactly val.prob's computation (rms 6.5-0): ``Sm <- lowess(p, y, iter = 0)``
    (span 2/3, no robustness iterations, ``delta = 0.01 * diff(range(p))``), the curve
    evaluated at every row's ``p`` (``approx(Sm, xout = p, ties = mean)``), and
    ``e = |p - curve|``: ``eavg = mean(e)``, ``e50 = median(e)``, ``e90 = quantile(e,
    0.9)`` (type 7), ``emax = max(e)``. val.prob does not report E50; it is computed from
    the same ``e``.

    Austin & Steyerberg (Stat Med 2019; 38:4051), who named Eavg the integrated
    calibration index (ICI), smooth with ``loess`` (local quadratic, span 0.75) instead;
    the two smoothers give similar but not identical numbers, so state which one a
    reported ICI used. The lowess here is a port of R's C code, not statsmodels'
    (see :mod:`prom.validation._smoothers`).
    """
    ya, pa, _ = _checks.binary_and_probs(y, p, what="the calibration errors")
    er = np.abs(pa - _smoothed_at_rows(ya, pa))
    e50, e90 = np.quantile(er, [0.5, 0.9])
    return CalibrationErrors(
        eavg=float(er.mean()), e50=float(e50), e90=float(e90), emax=float(er.max()), n=int(ya.size)
    )


def calibration_curve(
    y,
    p,
    *,
    n_points: int = 100,
    level: float = 0.95,
    method: str = "spline",
    knots: int = 4,
    n_boot: int = 200,
    random_state=None,
) -> CalibrationCurve:
    """Smoothed calibration curve with a pointwise confidence band, for plotting.

    ``method="spline"`` (default): logistic regression of ``y`` on a restricted cubic
    spline of ``logit(p)`` with ``knots`` knots at Harrell's default quantiles (4 knots:
    5%, 35%, 65%, 95%), the flexible calibration curve of Van Calster et al. (2016).
    The band is the Wald interval of the linear predictor, ``eta ± z * se(eta)``,
    mapped through the inverse logit, so it stays in (0, 1) and follows the model's
    likelihood. Chosen as the default because it is deterministic, cheap at any n, has
    a standard error by construction and matches R (``glm(y ~ rcspline.eval(logit(p),
    knots, inclx = TRUE))``, ``predict(se.fit = TRUE)``); a lowess has no standard
    error for a 0/1 outcome and needs a bootstrap.

    ``method="lowess"``: val.prob's smoother (the curve behind
    :func:`calibration_errors`), evaluated on the grid by linear interpolation; the band
    is the percentile interval over ``n_boot`` bootstrap resamples of the rows (none
    when ``n_boot=0``; seeded by ``random_state``). Slower: one lowess per resample,
    about 0.1 s each at n = 100,000.

    The grid is ``n_points`` equally spaced predictions from ``min(p)`` to ``max(p)``:
    the curve is not extrapolated beyond the data.
    """
    level = _checks.level_arg(level)
    n_points = check_option("n_points", n_points, Count(2))
    if method not in ("spline", "lowess"):
        raise ValueError(f"method must be 'spline' or 'lowess'; got {method!r}.")
    if method == "spline":
        knots = _checks.int_arg(knots, "knots", 3, 7)
    else:
        n_boot = check_option("n_boot", n_boot, Count(0))
        random_state = check_option("random_state", random_state, SEED)
    ya, pa, _ = _checks.binary_and_probs(y, p, what="the calibration curve", need_both=False)
    if method == "spline":
        _checks.open_probabilities(pa, p, "p", "The spline calibration curve")
    n_events, _ = _checks.both_classes(ya, what="the calibration curve")
    grid = np.linspace(pa.min(), pa.max(), n_points)
    if method == "spline":
        obs, low, high, kn = _spline_curve(ya, pa, grid, knots, level)
    else:
        obs, low, high = _lowess_curve(ya, pa, grid, level, n_boot, random_state)
        kn = ()
    for arr in (grid, obs, low, high):
        if arr is not None:
            arr.flags.writeable = False
    return CalibrationCurve(
        predicted=grid,
        observed=obs,
        low=low,
        high=high,
        level=level,
        method=method,
        n=int(ya.size),
        n_events=n_events,
        knots=kn,
    )


def _spline_curve(ya, pa, grid, nk, level):
    lp = logit(pa)
    knots = quantile_knots(lp, nk)
    if np.unique(knots).size < nk:
        raise ValueError(
            f"the predictions have too few distinct values ({np.unique(pa).size}) for a "
            f"spline with {nk} knots at their quantiles; use fewer knots or method='lowess'."
        )
    X = np.column_stack([np.ones(lp.size), rcs_columns(lp, knots)])
    beta, cov, ok = logistic_fit(X, ya)
    if not ok:
        raise ValueError(
            "the spline calibration model did not converge (the outcome is separated by "
            "the predictions); use fewer knots or method='lowess'."
        )
    G = np.column_stack([np.ones(grid.size), rcs_columns(logit(grid), knots)])
    eta = G @ beta
    se = np.sqrt(np.einsum("ij,jk,ik->i", G, cov, G))
    z = float(ndtri(1 - (1 - level) / 2))
    return expit(eta), expit(eta - z * se), expit(eta + z * se), tuple(float(k) for k in knots)


def _lowess_on_grid(ya, pa, grid):
    xs, fit = lowess_fit(pa, ya)
    ux, first = np.unique(xs, return_index=True)
    out = np.interp(grid, ux, fit[first])
    out[(grid < ux[0]) | (grid > ux[-1])] = np.nan
    return out


def _lowess_curve(ya, pa, grid, level, n_boot, random_state):
    obs = _lowess_on_grid(ya, pa, grid)
    if n_boot == 0:
        return obs, None, None
    rng = np.random.default_rng(random_state)
    n = ya.size
    boots = np.empty((n_boot, grid.size))
    for b in range(n_boot):
        idx = rng.integers(0, n, n)
        boots[b] = _lowess_on_grid(ya[idx], pa[idx], grid)
    alpha = (1 - level) / 2
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN columns at the edges
        low, high = np.nanquantile(boots, [alpha, 1 - alpha], axis=0)
    return obs, low, high
