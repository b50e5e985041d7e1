"""Restricted cubic splines (Harrell): knot placement and the non-linear basis terms.

Shared by the model preprocessing (splines of continuous predictors) and the flexible
calibration curve (a spline of the logit of the predictions).
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "knot_quantiles",
    "quantile_knots",
    "distinct_knots",
    "rcs_nonlinear_terms",
    "rcs_columns",
]

_KNOT_QUANTILES = {
    3: (0.10, 0.50, 0.90),
    4: (0.05, 0.35, 0.65, 0.95),
    5: (0.05, 0.275, 0.50, 0.725, 0.95),
}


def knot_quantiles(n_knots: int) -> np.ndarray:
    """Harrell's default knot quantiles (``Hmisc::rcspline.eval``) for 3–7 knots."""
    if n_knots in _KNOT_QUANTILES:
        return np.asarray(_KNOT_QUANTILES[n_knots])
    outer = 0.025 if n_knots == 7 else 0.05
    return np.linspace(outer, 1 - outer, n_knots)


def quantile_knots(x: np.ndarray, n_knots: int) -> np.ndarray:
    """Knots at Harrell's default quantiles of ``x`` (type 7, as R's ``quantile``), ties kept.

    ``Hmisc::rcspline.eval`` moves the outer knots when n < 100 or a value holds >= 5% of
    the data; here the quantiles are used as they are. The flexible calibration curve
    uses these (and refuses tied knots itself).
    """
    return np.quantile(x, knot_quantiles(n_knots))


def distinct_knots(x: np.ndarray, n_knots: int) -> np.ndarray:
    """:func:`quantile_knots` with ties removed, sorted: may return fewer than ``n_knots``.

    The model preprocessing uses these and drops a spline that is left with fewer than 3.
    """
    return np.unique(quantile_knots(x, n_knots))


def rcs_nonlinear_terms(x: np.ndarray, knots) -> np.ndarray:
    """The ``k - 2`` nonlinear restricted-cubic-spline terms of ``x`` (Harrell, norm = 2).

    Column ``j`` is ``[(x - t_j)+^3 - (x - t_{k-1})+^3 (t_k - t_j)/(t_k - t_{k-1})
    + (x - t_k)+^3 (t_{k-1} - t_j)/(t_k - t_{k-1})] / (t_k - t_1)^2`` (1-based ``t``):
    linear beyond the outer knots, as ``Hmisc::rcspline.eval(x, knots, inclx = FALSE)``.
    """
    t = np.asarray(knots, dtype=float)
    k = t.size
    norm = (t[-1] - t[0]) ** 2
    tail_a = np.maximum(x - t[k - 2], 0.0) ** 3
    tail_b = np.maximum(x - t[k - 1], 0.0) ** 3
    d = t[k - 1] - t[k - 2]
    cols = [
        (
            np.maximum(x - t[j], 0.0) ** 3
            - tail_a * (t[k - 1] - t[j]) / d
            + tail_b * (t[k - 2] - t[j]) / d
        )
        / norm
        for j in range(k - 2)
    ]
    return np.column_stack(cols) if cols else np.empty((x.size, 0))


def rcs_columns(x: np.ndarray, knots) -> np.ndarray:
    """``x`` followed by its ``k - 2`` nonlinear terms: the full spline design of ``x``."""
    return np.column_stack([x, rcs_nonlinear_terms(x, knots)])
