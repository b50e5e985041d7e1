"""Calibration of predicted probabilities: cross-fitted at development, logistic at a new site.

Development (used by :class:`~prom.models.estimator.PromClassifier`)
--------------------------------------------------------------------
The calibrator is fitted on *out-of-fold* predictions — those of the tuned model from the
inner cross-validation, each row predicted by a model that did not see it — and then
applied to the final model refitted on all training rows (the ``ensemble=False`` scheme of
scikit-learn's ``CalibratedClassifierCV``; the final model has seen a little more data than
the out-of-fold models, a small, conservative mismatch).

``"none"``      the model's own probabilities.
``"platt"``     ``p' = expit(a + b logit p)`` (Platt 1999), fitted by maximum likelihood
                with Platt's smoothed targets ``(N+ + 1)/(N+ + 2)`` and ``1/(N- + 2)`` (as
                scikit-learn), which keeps ``a``, ``b`` finite when the predictions
                separate the classes. The slope is kept ≥ 0: when the out-of-fold
                predictions rank worse than chance (a hopelessly overfitted model) the fit
                is intercept-only (``b = 0``, every row gets the mean risk) rather than a
                reversal of the model's ranking. Multiclass: one such map per class on that class's
                probability (one-vs-rest), then rows renormalised to sum to 1
                (``CalibratedClassifierCV``'s scheme).
``"isotonic"``  ``sklearn.isotonic.IsotonicRegression`` (increasing, out-of-range values
                clipped to the fitted range, linear interpolation between thresholds), then
                clipped to ``[ISOTONIC_CLIP, 1 - ISOTONIC_CLIP]`` so no prediction is a
                certain 0 or 1. Binary only.
``"auto"``      two classes: Platt, or isotonic where it does better by cross-fitted log
                loss on the out-of-fold predictions (for each inner fold the calibrator is
                fitted on the other folds' out-of-fold rows and scored on this fold's
                rows): isotonic must be lower by more than :data:`AUTO_TOLERANCE`, or
                within it and lower in Brier score. ``"none"`` is scored too, for the
                record, but not chosen. More classes: ``"none"`` or per-class Platt by
                the same comparison (exact ties to the simpler, none < platt).

Why ``"auto"`` no longer keeps a binary model's own probabilities. Until 2026-12-07 it
chose among all three by the cross-fitted comparison. That comparison fits a map on two
folds' models and scores it on a third model, whose scale differs from theirs; the final
model, fitted on every row, differs less from the pooled out-of-fold predictions, so the
comparison understated Platt. Measured on held-out rows, with the calibrator fitted on the
fit's own out-of-fold predictions and applied to the fitted model
(``benchmarks/calibration_choice.py`` and the key check):

- 5,000 rows, six tasks × three seeds of the key check (validation cohorts of 8,400–70,000
  rows): Platt's mean held-out log loss was lower than that of the method the old rule
  chose for every family (logistic 0.57798 → 0.57794, elastic net 0.57694 → 0.57687,
  random forest 0.58426 → 0.58424, XGBoost 0.57477 → 0.57459, LightGBM 0.57486 →
  0.57469), and lower than no calibration in 75 of the 90 fits (higher by at most
  0.001). The boosters' held-out calibration slopes, 0.93–1.16 with the old rule, were
  0.97–1.12; isotonic never did better than Platt there.
- The 310-row table of ``benchmarks/fit_small.py``, 20 training sets: Platt's mean held-out
  log loss was the lowest of the three for every family (e.g. XGBoost 0.5614 against the
  old rule's 0.5642 and no calibration's 0.5656); isotonic was the worst.
- 1,742 rows of the simulated cohort, 10 training sets: mixed, within ±0.001 (random
  forest and logistic better with Platt, the boosters and the elastic net 0.0003–0.0007
  worse than the old rule).

Every calibrator is JSON-serialisable (``get_state``/``calibrator_from_state``): Platt is
two numbers per class, isotonic its two threshold arrays.

New site
--------
:func:`recalibrate` refits the logit of a model's predictions on a new site's outcomes:
``"intercept"`` (calibration-in-the-large; slope fixed at 1, ``logit p`` an offset) or
``"intercept_slope"`` (logistic recalibration, Steyerberg 2019 ch. 20), by plain maximum
likelihood (the same fit as :func:`prom.validation.calibration_intercept_slope`).
"""

from __future__ import annotations

import copy
import warnings
from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd
from scipy.special import expit, logit

from prom.errors import StatisticalWarning, format_values
from prom.options import RECALIBRATION_METHOD, check_option

__all__ = [
    "NoCalibration",
    "PlattCalibrator",
    "IsotonicCalibrator",
    "LogisticRecalibration",
    "make_calibrator",
    "calibrator_from_state",
    "choose_calibration",
    "recalibrate",
    "log_loss",
    "brier_multi",
    "ISOTONIC_CLIP",
    "AUTO_TOLERANCE",
    "auto_methods",
    "auto_rule",
]

#: Isotonic predictions are kept inside [ISOTONIC_CLIP, 1 - ISOTONIC_CLIP].
ISOTONIC_CLIP = 1e-3
#: Log-loss differences (nats per row) below this are treated as ties by "auto".
AUTO_TOLERANCE = 1e-4
_P_CLIP = 1e-7  # probabilities are clipped to [_P_CLIP, 1 - _P_CLIP] before a logit
METHODS = ("none", "platt", "isotonic")


def log_loss(y: np.ndarray, proba: np.ndarray) -> float:
    """Mean negative log-likelihood of class codes ``y`` under probability rows ``proba``."""
    p = np.clip(proba[np.arange(y.size), y], 1e-15, 1.0)
    return float(-np.mean(np.log(p)))


def brier_multi(y: np.ndarray, proba: np.ndarray) -> float:
    """Brier score: mean over rows of the squared distance to the one-hot outcome.

    For two classes this is twice the usual binary Brier score; only used to compare.
    """
    onehot = np.zeros_like(proba)
    onehot[np.arange(y.size), y] = 1.0
    return float(np.mean(np.sum((proba - onehot) ** 2, axis=1)))


def _logit(p: np.ndarray) -> np.ndarray:
    return logit(np.clip(p, _P_CLIP, 1 - _P_CLIP))


def _newton_logistic(
    X: np.ndarray,
    t: np.ndarray,
    offset: np.ndarray | float = 0.0,
    max_iter: int = 100,
    tol: float = 1e-10,
):
    """Maximum likelihood for ``P(t) = expit(X b + offset)`` with targets ``t`` in [0, 1].

    Newton–Raphson with step halving; returns ``(b, converged)``.
    """
    b = np.zeros(X.shape[1])
    tbar = float(np.clip(np.mean(t), 1e-6, 1 - 1e-6))
    b[0] = np.log(tbar / (1 - tbar)) - float(np.mean(offset))

    def nll(beta):
        eta = X @ beta + offset
        return float(np.sum(np.logaddexp(0.0, eta) - t * eta))

    current = nll(b)
    for _ in range(max_iter):
        mu = expit(X @ b + offset)
        w = mu * (1 - mu)
        H = X.T @ (X * w[:, None]) + 1e-10 * np.eye(X.shape[1])
        g = X.T @ (t - mu)
        try:
            step = np.linalg.solve(H, g)
        except np.linalg.LinAlgError:
            return b, False
        factor = 1.0
        while True:
            cand = b + factor * step
            value = nll(cand)
            if value <= current + 1e-12 or factor < 1e-6:
                break
            factor /= 2
        b, previous, current = cand, current, value
        if np.max(np.abs(factor * step)) < tol * (1 + np.max(np.abs(b))) or abs(
            previous - current
        ) < 1e-14 * max(1.0, abs(current)):
            return b, True
    return b, False


class NoCalibration:
    """The model's own probabilities."""

    method = "none"

    def fit(self, proba, y):
        return self

    def transform(self, proba):
        return np.asarray(proba, dtype=float)

    def get_state(self) -> dict:
        return {"method": "none"}


class PlattCalibrator:
    """``expit(a_k + b_k logit p_k)`` per class (one class's column when binary)."""

    method = "platt"

    def __init__(self, intercepts=None, slopes=None):
        self.intercepts = intercepts
        self.slopes = slopes

    def fit(self, proba, y):
        proba = np.asarray(proba, dtype=float)
        K = proba.shape[1]
        ks = [1] if K == 2 else range(K)
        a, b = [], []
        for k in ks:
            yk = (y == k).astype(float)
            n_pos = yk.sum()
            n_neg = yk.size - n_pos
            target = np.where(yk == 1, (n_pos + 1) / (n_pos + 2), 1 / (n_neg + 2))
            x = _logit(proba[:, k])
            X = np.column_stack([np.ones_like(x), x])
            beta, _ = _newton_logistic(X, target)
            if beta[1] < 0:
                # out-of-fold predictions ranked worse than chance: reversing them would be
                # fitting noise; keep the model's ranking out of it (slope 0, the mean risk)
                beta, _ = _newton_logistic(X[:, :1], target)
                beta = np.r_[beta, 0.0]
            a.append(float(beta[0]))
            b.append(float(beta[1]))
        self.intercepts, self.slopes = a, b
        return self

    def transform(self, proba):
        proba = np.asarray(proba, dtype=float)
        a, b = np.asarray(self.intercepts), np.asarray(self.slopes)
        if proba.shape[1] == 2:
            p1 = expit(a[0] + b[0] * _logit(proba[:, 1]))
            return np.column_stack([1 - p1, p1])
        out = expit(a + b * _logit(proba))
        return out / out.sum(axis=1, keepdims=True)

    def get_state(self) -> dict:
        return {"method": "platt", "intercepts": list(self.intercepts), "slopes": list(self.slopes)}


class IsotonicCalibrator:
    """Isotonic regression of the outcome on the class-1 probability (binary only)."""

    method = "isotonic"

    def __init__(self, x_thresholds=None, y_thresholds=None, clip=ISOTONIC_CLIP):
        self.x_thresholds = x_thresholds
        self.y_thresholds = y_thresholds
        self.clip = clip

    def fit(self, proba, y):
        from sklearn.isotonic import IsotonicRegression

        proba = np.asarray(proba, dtype=float)
        if proba.shape[1] != 2:
            raise ValueError(
                "isotonic calibration is for two classes; use 'platt' or 'none' for "
                f"{proba.shape[1]} classes"
            )
        iso = IsotonicRegression(increasing=True, out_of_bounds="clip", y_min=0.0, y_max=1.0)
        iso.fit(proba[:, 1], (y == 1).astype(float))
        self.x_thresholds = [float(v) for v in iso.X_thresholds_]
        self.y_thresholds = [float(v) for v in iso.y_thresholds_]
        return self

    def transform(self, proba):
        proba = np.asarray(proba, dtype=float)
        # IsotonicRegression.predict with out_of_bounds="clip" is this interpolation
        p1 = np.interp(proba[:, 1], self.x_thresholds, self.y_thresholds)
        p1 = np.clip(p1, self.clip, 1 - self.clip)
        return np.column_stack([1 - p1, p1])

    def get_state(self) -> dict:
        return {
            "method": "isotonic",
            "x_thresholds": list(self.x_thresholds),
            "y_thresholds": list(self.y_thresholds),
            "clip": float(self.clip),
        }


def make_calibrator(method: str):
    if method == "none":
        return NoCalibration()
    if method == "platt":
        return PlattCalibrator()
    if method == "isotonic":
        return IsotonicCalibrator()
    raise ValueError(f"unknown calibration method {method!r}; expected one of {', '.join(METHODS)}")


def calibrator_from_state(state: dict):
    """Rebuild a calibrator from its ``get_state()`` dict (e.g. read from JSON)."""
    method = state.get("method") if isinstance(state, dict) else None
    if method == "none":
        return NoCalibration()
    if method == "platt":
        return PlattCalibrator(list(state["intercepts"]), list(state["slopes"]))
    if method == "isotonic":
        return IsotonicCalibrator(
            list(state["x_thresholds"]), list(state["y_thresholds"]), float(state["clip"])
        )
    raise ValueError(f"not a calibrator state (method {method!r})")


def auto_methods(n_classes: int) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """``(scored, candidates)`` of ``calibration="auto"`` for ``n_classes`` classes: the
    methods scored (for the record) and those it chooses among (module docstring)."""
    if n_classes == 2:
        return ("none", "platt", "isotonic"), ("platt", "isotonic")
    return ("none", "platt"), ("none", "platt")


#: How a sentence names a calibration method.
_METHOD_NAMES = {
    "none": "no calibration",
    "platt": "Platt scaling",
    "isotonic": "isotonic regression",
}


def auto_rule(n_classes: int) -> str:
    """``calibration="auto"``'s rule for ``n_classes`` classes in words, from
    :func:`auto_methods` and :data:`AUTO_TOLERANCE` (the report's methods section)."""
    names = [_METHOD_NAMES[m] for m in auto_methods(n_classes)[1]]
    if n_classes > 2:
        names = [n.replace("Platt scaling", "per-class Platt scaling") for n in names]
    return (
        f"{' or '.join(names)}, whichever had the lower cross-fitted log loss (a difference "
        f"below {AUTO_TOLERANCE:g} nats per row is a tie, broken by the Brier score)"
    )


def choose_calibration(
    proba: np.ndarray,
    y: np.ndarray,
    folds: np.ndarray,
    methods=("none", "platt", "isotonic"),
    candidates=None,
) -> tuple[str, dict]:
    """Pick a calibration method by cross-fitted log loss (Brier as tie-break).

    ``proba`` are out-of-fold probabilities (n, K), ``y`` class codes, ``folds`` the inner
    fold of each row. Every method of ``methods`` is scored; the choice is among
    ``candidates`` (default: all of ``methods``), in their order of simplicity. Returns
    ``(method, scores)`` with ``scores[method] = {"log_loss", "brier"}`` of the
    cross-fitted calibrated predictions.
    """
    candidates = tuple(methods if candidates is None else candidates)
    scores = {}
    for method in methods:
        out = np.empty_like(proba)
        for f in np.unique(folds):
            test = folds == f
            cal = make_calibrator(method).fit(proba[~test], y[~test])
            out[test] = cal.transform(proba[test])
        scores[method] = {"log_loss": log_loss(y, out), "brier": brier_multi(y, out)}
    best = min(scores[m]["log_loss"] for m in candidates)
    close = [m for m in candidates if scores[m]["log_loss"] <= best + AUTO_TOLERANCE]
    chosen = min(close, key=lambda m: (scores[m]["brier"], candidates.index(m)))
    return chosen, scores


# --- recalibration at a new site -----------------------------------------------------------


@dataclass(frozen=True)
class LogisticRecalibration:
    """``p' = expit(intercept + slope * logit p)``; ``slope`` is 1 for ``"intercept"``."""

    method: str
    intercept: float
    slope: float
    n: int
    n_events: int
    converged: bool = True

    def transform(self, p):
        """Recalibrated class-1 probabilities from class-1 probabilities ``p``."""
        p = np.asarray(p, dtype=float)
        return expit(self.intercept + self.slope * _logit(p))

    def get_state(self) -> dict:
        return asdict(self)

    @classmethod
    def from_state(cls, state: dict) -> LogisticRecalibration:
        return cls(**state)


def recalibrate(probabilities_or_model, y_new, method: str = "intercept", X=None):
    """Logistic recalibration of a binary model's predictions for a new site.

    ``probabilities_or_model`` is either the class-1 probabilities the model gives the new
    site's rows (array-like) — then a :class:`LogisticRecalibration` is returned — or a
    fitted binary :class:`~prom.models.estimator.PromClassifier` together with ``X`` (the new
    site's rows) — then a copy of the model is returned whose ``predict_proba`` applies the
    recalibration after its own calibration (``recalibration_``; the original is
    untouched). ``y_new`` are the new site's 0/1 outcomes.

    ``method="intercept"`` re-estimates only the intercept (slope 1): right when the case
    mix or baseline risk differs but the predictors act alike. ``"intercept_slope"`` also
    shrinks or stretches the logit (slope < 1: predictions too extreme there). Both keep
    the ranking of patients, so the AUC is unchanged.
    """
    check_option("method", method, RECALIBRATION_METHOD)
    model = None
    if hasattr(probabilities_or_model, "predict_proba") and hasattr(
        probabilities_or_model, "classes_"
    ):
        model = probabilities_or_model
        if X is None:
            raise TypeError("recalibrating a model needs X, the new site's rows")
        if len(model.classes_) != 2:
            raise ValueError(
                f"recalibrate is for binary models; this one has {len(model.classes_)} classes"
            )
        p = model.predict_proba(X)[:, 1]
        y = pd.Series(np.asarray(y_new).ravel()).astype(object)
        if y.isna().any():
            raise ValueError(
                f"{int(y.isna().sum())} missing outcome(s); recalibrate on rows that have one"
            )
        known = y.isin(list(model.classes_))
        if not known.all():
            raise ValueError(
                f"y_new has value(s) {format_values(y[~known].tolist())} that are not the "
                f"model's classes ({format_values(list(model.classes_))})"
            )
        y = (y == model.classes_[1]).to_numpy(dtype=float)
    else:
        if X is not None:
            raise TypeError("X is only used when recalibrating a model, not probabilities")
        p = np.asarray(probabilities_or_model, dtype=float).ravel()
        y = np.asarray(y_new, dtype=float).ravel()
    if p.size != y.size:
        raise ValueError(f"{p.size} predictions but {y.size} outcomes; they must pair up")
    if np.isnan(p).any() or np.isnan(y).any():
        raise ValueError(
            f"{int(np.isnan(p).sum())} missing prediction(s) and {int(np.isnan(y).sum())} "
            "missing outcome(s); recalibrate on rows that have both"
        )
    if not np.isin(y, (0.0, 1.0)).all():
        raise ValueError("y_new must be 0/1 outcomes (or the model's class labels)")
    if ((p < 0) | (p > 1)).any():
        raise ValueError("probabilities must lie in [0, 1]")
    n_events = int(y.sum())
    if n_events == 0 or n_events == y.size:
        raise ValueError(
            f"y_new has {'no' if n_events == 0 else 'only'} events among {y.size} rows; "
            "recalibration needs both outcomes"
        )
    if min(n_events, y.size - n_events) < 10:
        warnings.warn(
            f"recalibrating on {min(n_events, y.size - n_events)} events (or non-events); "
            "the estimate is unstable",
            StatisticalWarning,
            stacklevel=2,
        )
    lp = _logit(p)
    ones = np.ones((y.size, 1))
    if method == "intercept":
        beta, ok = _newton_logistic(ones, y, offset=lp)
        a, b = float(beta[0]), 1.0
    else:
        beta, ok = _newton_logistic(np.column_stack([ones, lp]), y)
        a, b = float(beta[0]), float(beta[1])
    if not ok:
        warnings.warn(
            "logistic recalibration did not converge (do the predictions separate the new "
            "site's outcomes?); the estimates are unreliable",
            StatisticalWarning,
            stacklevel=2,
        )
    recal = LogisticRecalibration(method, a, b, int(y.size), n_events, bool(ok))
    if model is None:
        return recal
    new = copy.deepcopy(model)
    new.recalibration_ = recal
    return new
