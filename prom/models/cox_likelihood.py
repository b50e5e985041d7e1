"""Cox partial-likelihood quantities for a fixed linear predictor.

:func:`partial_log_likelihood` scores a linear predictor on a set of rows (the
cross-validated partial likelihood that chooses ``PromCoxModel``'s penalty);
:func:`breslow_cumulative_hazard` estimates the baseline hazard that goes with it (the fit's
own baseline, or a new site's in :meth:`~prom.models.survival.PromCoxModel.recalibrate_baseline`).
"""

from __future__ import annotations

import numpy as np

__all__ = ["partial_log_likelihood", "breslow_cumulative_hazard"]


def partial_log_likelihood(time, event, lp) -> float:
    """Cox log partial likelihood of a linear predictor, Breslow's handling of ties:
    the sum over events of ``lp_i - log(sum_{j: t_j >= t_i} exp(lp_j))``."""
    t = np.asarray(time, dtype=float)
    order = np.argsort(-t, kind="mergesort")
    ts = t[order]
    e = np.asarray(event, dtype=float)[order]
    x = np.asarray(lp, dtype=float)[order]
    end = np.searchsorted(-ts, -ts, side="right") - 1  # last row still at risk
    top = x.max()
    log_risk = np.log(np.cumsum(np.exp(x - top)))[end] + top
    return float(np.sum(e * (x - log_risk)))


def breslow_cumulative_hazard(time, event, lp) -> tuple[np.ndarray, np.ndarray]:
    """Breslow cumulative baseline hazard for a fixed linear predictor ``lp``.

    Returns ``(times, H0)`` on the grid of distinct ``time`` values: at each time the
    events there divided by the sum of ``exp(lp)`` over rows still at risk (``time_j >=
    t``), accumulated. With the fit's own ``lp`` this is lifelines' ``baseline_cumulative_
    hazard_`` and R's ``basehaz(fit, centered = TRUE)``.
    """
    t = np.asarray(time, dtype=float)
    e = np.asarray(event, dtype=float)
    w = np.exp(np.asarray(lp, dtype=float))
    grid, inv = np.unique(t, return_inverse=True)
    d = np.bincount(inv, weights=e, minlength=grid.size)
    at_risk = np.cumsum(np.bincount(inv, weights=w, minlength=grid.size)[::-1])[::-1]
    return grid, np.cumsum(d / at_risk)
