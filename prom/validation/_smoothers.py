"""Numerical pieces behind the calibration metrics: R's lowess, a restricted cubic spline
basis, and a small logistic-regression fitter.

``lowess_fit`` is a port of R's ``clowess`` (``stats/src/lowess.c``; Cleveland, JASA
1979; 74:829) for ``iter = 0``, the call ``rms::val.prob`` makes: the same neighbourhood
search, the same tricube weights with R's cut-offs (weight 1 within 0.001·h, 0 beyond
0.999·h, ties at the right edge included), the same ``delta`` skipping with linear
interpolation and the same fall-back to a weighted mean when the x values in a window
are too close. Each local fit is vectorised over its window. statsmodels' ``lowess``
differs from clowess in those cut-offs (it has none), which moves the smoothed values by
about 2e-10 on the reference data (tests/test_metrics_calibration.py); hence the port.
"""

from __future__ import annotations

import numpy as np
from scipy.special import expit

__all__ = ["lowess_fit", "logistic_fit"]


def lowess_fit(x: np.ndarray, y: np.ndarray, f: float = 2 / 3, delta: float | None = None):
    """R's ``lowess(x, y, f, iter = 0, delta)``: returns ``(x_sorted, fitted)``.

    ``delta`` defaults to R's ``0.01 * diff(range(x))``. Ties in x keep R's stable order.
    """
    order = np.argsort(x, kind="stable")
    xs = np.ascontiguousarray(x[order], dtype=float)
    ys_in = np.ascontiguousarray(y[order], dtype=float)
    n = xs.size
    if delta is None:
        delta = 0.01 * (xs[-1] - xs[0])
    out = np.empty(n)
    if n < 2:
        out[:] = ys_in
        return xs, out
    ns = max(2, min(n, int(f * n + 1e-7)))
    rng = xs[-1] - xs[0]
    nleft = 0
    last = -1
    i = 0
    while True:
        xi = xs[i]
        # slide the window [nleft, nleft + ns) right while that does not widen it; the
        # condition (xi - x[l]) > (x[l + ns] - xi) is monotone in l: binary search.
        lo, hi = nleft, n - ns
        if lo < hi and (xi - xs[lo]) > (xs[lo + ns] - xi):
            while hi - lo > 1:
                mid = (lo + hi) // 2
                if (xi - xs[mid]) > (xs[mid + ns] - xi):
                    lo = mid
                else:
                    hi = mid
            nleft = hi
        nright = nleft + ns - 1
        fit = _lowest(xs, ys_in, xi, nleft, nright, rng)
        out[i] = ys_in[i] if fit is None else fit  # all weights zero: copy y, as R
        if last < i - 1:
            j = np.arange(last + 1, i)
            alpha = (xs[j] - xs[last]) / (xs[i] - xs[last])
            out[j] = alpha * out[i] + (1.0 - alpha) * out[last]
        last = i
        # copy the fit to ties of x[last]; next fit at the last point within delta
        tie_end = int(np.searchsorted(xs, xs[last], side="right")) - 1
        if tie_end > last:
            out[last + 1 : tie_end + 1] = out[last]
            last = tie_end
        k = int(np.searchsorted(xs, xs[last] + delta, side="right"))
        i = max(last + 1, k - 1)
        if last >= n - 1:
            break
    return xs, out


def _lowest(x, y, xs, nleft, nright, rng) -> float | None:
    """clowess's ``lowest``: the local linear fit at ``xs`` (unit robustness weights)."""
    n = x.size
    h = max(xs - x[nleft], x[nright] - xs)
    h9, h1 = 0.999 * h, 0.001 * h
    # candidates: from nleft up to the last point within h of xs (ties beyond nright)
    stop = min(n, int(np.searchsorted(x, xs + h, side="right")) + 1)
    xw = x[nleft:stop]
    r = np.abs(xw - xs)
    keep = r <= h9
    if h > 0:
        u = r / h
        v = u * u
        v *= u
        np.subtract(1.0, v, out=v)
        w = v * v
        w *= v
    else:
        w = np.ones_like(r)
    w[r <= h1] = 1.0
    w[~keep] = 0.0
    # sums as (a * b).sum(), not np.dot: BLAS threads cost milliseconds per call here
    a = w.sum()
    if a <= 0:
        return None
    w /= a
    if h > 0:
        a = (w * xw).sum()
        b = xs - a
        d = xw - a
        c = (w * d * d).sum()
        if np.sqrt(c) > 0.001 * rng:
            d *= b / c
            d += 1.0
            w *= d
    return float((w * y[nleft:stop]).sum())


def logistic_fit(
    X: np.ndarray,
    y: np.ndarray,
    offset: np.ndarray | float = 0.0,
    max_iter: int = 100,
    tol: float = 1e-12,
):
    """Maximum-likelihood logistic regression by Newton-Raphson.

    ``X`` must include the intercept column. Stops when the largest step is below
    ``tol * (1 + |beta|)`` (relative 1e-12: the MLE to about machine precision, tighter
    than R's glm default 1e-8 on the deviance). Returns ``(beta, cov, converged)`` with
    ``cov`` the inverse Fisher information at ``beta``.
    """
    beta = np.zeros(X.shape[1])
    # start at the intercept-only solution: faster and safe for any data with both classes
    ybar = y.mean()
    beta[0] = np.log(ybar / (1 - ybar)) - (np.mean(offset) if np.ndim(offset) else offset)
    converged = False
    for _ in range(max_iter):
        mu = expit(X @ beta + offset)
        w = mu * (1 - mu)
        info = X.T @ (X * w[:, None])
        score = X.T @ (y - mu)
        try:
            step = np.linalg.solve(info, score)
        except np.linalg.LinAlgError:
            break
        beta = beta + step
        if not np.all(np.isfinite(beta)):
            break
        if np.max(np.abs(step) / (1 + np.abs(beta))) < tol:
            converged = True
            break
    mu = expit(X @ beta + offset)
    w = mu * (1 - mu)
    info = X.T @ (X * w[:, None])
    try:
        cov = np.linalg.inv(info)
    except np.linalg.LinAlgError:
        cov = np.full_like(info, np.nan)
    return beta, cov, converged
