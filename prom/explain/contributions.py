"""Additive contributions of the design columns, one function per kind of model.

Each function takes the fitted model and its design matrix ``Z`` (rows × design columns,
what ``estimator_`` sees) and returns :class:`DesignContributions`: per row and design
column a contribution, a base value, and the model's *own* output on the same scale
(computed by the model, not by summing) so the caller can check additivity.

======================== ============================================= =================
family                   method                                         scale explained
======================== ============================================= =================
logistic, elastic_net    exact: ``coef × (z − training design mean)``;  log-odds
                         base ``intercept + coef · mean``               (softmax margin
                                                                        for 3+ classes)
cox (PromCoxModel)       exact: ``coef × (z − center_)``; base 0        log partial hazard
random_forest            ``shap.TreeExplainer`` (path-dependent         probability (the
                         TreeSHAP, exact for the forest)                forest's own output)
xgboost                  native ``Booster.predict(pred_contribs=True)``  log-odds / margin
lightgbm                 native ``Booster.predict(pred_contrib=True)``   log-odds / margin
xgboost, lightgbm        ``method="shap"``: ``shap.TreeExplainer``       as native
xgboost                  ``method="approx"``: ``pred_contribs`` with     log-odds / margin
                         ``approx_contribs=True`` (Saabas)
======================== ============================================= =================

``method="approx"`` is XGBoost's fast approximation (Saabas 2014): each tree's output is
split along the path the row takes, each split's feature getting the change in the
node's expected value. It is additive (the terms sum to the margin) and costs about as
much as a prediction per tree, against TreeSHAP's cost that grows with the square of the
depth; but it is not SHAP — it over-credits features split near the leaves. Bulk scoring
offers it for reasons at registry scale and benchmarks/score_bulk.py measures how often
its top 3 agree with exact TreeSHAP. LightGBM has no approximate mode.

A random forest's probability is an average of leaf proportions, not a function of a
log-odds: there is no additive log-odds decomposition of it, so the forest is explained
where it is additive — probability — and labelled so (``output="probability"``).

Both boosting libraries' native contributions are path-dependent TreeSHAP (Lundberg et
al. 2020), the same algorithm ``shap.TreeExplainer`` runs; XGBoost computes in single
precision, LightGBM in double. shap is imported only where it is used (it imports
``matplotlib.pyplot`` on import).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np

__all__ = [
    "DesignContributions",
    "design_contributions",
    "LINEAR_FAMILIES",
    "TREE_FAMILIES",
    "ADDITIVITY_RTOL",
]

LINEAR_FAMILIES = ("logistic", "elastic_net")
TREE_FAMILIES = ("random_forest", "xgboost", "lightgbm")
#: Relative additivity tolerance of double-precision paths (see :mod:`prom.explain.rows`).
ADDITIVITY_RTOL = 1e-6
_FLOAT32_UNIT = 2.0**-24  # unit roundoff of single precision


@dataclass(frozen=True)
class DesignContributions:
    """Contributions on the design columns.

    ``values``: (n, p) for one output, (n, p, K) for K outputs; ``base``: float or (K,);
    ``output``: the model's own output, (n,) or (n, K); ``scale``: what is explained;
    ``rtol``: the additivity tolerance relative to the magnitude of the terms — 1e-6 for
    double precision; for XGBoost, which sums T trees' leaf values in single precision,
    ``T × 2^-24``, the classical bound on the rounding error of a sum of T float32 terms
    (Higham 2002, §4.2), as observed errors grow with ~√T·2^-24 and exceed 1e-6 at a few
    hundred trees.
    """

    values: np.ndarray
    base: np.ndarray | float
    output: np.ndarray
    scale: str
    rtol: float = ADDITIVITY_RTOL


def design_contributions(
    model,
    family: str,
    Z: np.ndarray,
    *,
    method: str = "native",
    design_mean: np.ndarray | None = None,
) -> DesignContributions:
    """Contributions of the design columns of ``Z`` for ``model`` of ``family``."""
    if family in LINEAR_FAMILIES:
        return _linear(model.estimator_, Z, design_mean)
    if family == "cox":
        return _cox(model, Z)
    if family == "random_forest":
        return _forest(model.estimator_, Z)
    if method == "approx" and family != "xgboost":
        raise ValueError(
            f"method='approx' (Saabas path attribution) is XGBoost's; a "
            f"{family} model is explained with method='native'"
        )
    if family == "xgboost":
        return (
            _xgboost_shap(model.estimator_, Z)
            if method == "shap"
            else _xgboost_native(model.estimator_, Z, approx=method == "approx")
        )
    if family == "lightgbm":
        return (
            _lightgbm_shap(model.estimator_, Z)
            if method == "shap"
            else _lightgbm_native(model.estimator_, Z)
        )
    raise ValueError(f"no explanation method for model family {family!r}")


def _one_or_many(
    values: np.ndarray,
    base: np.ndarray,
    output: np.ndarray,
    scale_binary: str,
    rtol: float = ADDITIVITY_RTOL,
) -> DesignContributions:
    """Binary models keep the positive class only; K ≥ 3 outputs keep all (n, p, K)."""
    if values.ndim == 3 and values.shape[2] == 1:
        values, base, output = values[:, :, 0], base[0], output[:, 0]
    if values.ndim == 2:
        return DesignContributions(values, np.float64(base), output, scale_binary, rtol)
    scale = "softmax_margin" if scale_binary == "log_odds" else scale_binary
    return DesignContributions(values, base, output, scale, rtol)


def _shap():
    """``import shap``, quietly: shap 0.51 calls ``Colormap.set_bad``/``set_over`` while
    importing, which matplotlib 3.11 flags with PendingDeprecationWarnings nobody using prom
    can act on. Only those, attributed to shap's modules, are ignored, and only during the
    import (the filter is process-wide for that moment)."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=PendingDeprecationWarning, module=r"shap(\.|$)")
        import shap
    return shap


# --- linear predictors --------------------------------------------------------------------


def _linear(est, Z, design_mean) -> DesignContributions:
    coef = np.asarray(est.coef_, dtype=float)  # (1, p) binary, (K, p) multinomial
    intercept = np.asarray(est.intercept_, dtype=float)
    mu = np.asarray(design_mean, dtype=float)
    values = (Z - mu)[:, :, None] * coef.T[None, :, :]  # (n, p, K')
    base = intercept + coef @ mu
    output = np.asarray(est.decision_function(Z), dtype=float).reshape(len(Z), -1)
    return _one_or_many(values, base, output, "log_odds")


def _cox(model, Z) -> DesignContributions:
    coef = np.asarray(model.coef_, dtype=float)
    center = np.asarray(model.center_, dtype=float)
    values = (Z - center) * coef
    output = np.dot(Z - center, coef)  # PromCoxModel.predict's linear predictor
    return DesignContributions(values, np.float64(0.0), output, "log_hazard")


# --- random forest (shap) -----------------------------------------------------------------


def _forest(est, Z) -> DesignContributions:
    shap = _shap()
    explainer = shap.TreeExplainer(est, feature_perturbation="tree_path_dependent")
    values = np.asarray(explainer.shap_values(Z, check_additivity=False), dtype=float)
    if values.ndim == 2:  # a forest with a single output column
        values = values[:, :, None]
    base = np.atleast_1d(np.asarray(explainer.expected_value, dtype=float))
    output = np.asarray(est.predict_proba(Z), dtype=float)
    if output.shape[1] == 2:  # binary: explain P(class 1)
        values, base, output = values[:, :, 1:], base[1:], output[:, 1:]
    return _one_or_many(values, base, output, "probability")


# --- XGBoost --------------------------------------------------------------------------------


def _xgb_booster(est):
    return est.get_booster()  # XGBClassifier and the bundle's XGBoostBoosterClassifier


def _xgb_rtol(booster) -> float:
    return max(ADDITIVITY_RTOL, booster.num_boosted_rounds() * _FLOAT32_UNIT)


def _xgboost_native(est, Z, approx: bool = False) -> DesignContributions:
    import xgboost as xgb

    booster = _xgb_booster(est)
    dm = xgb.DMatrix(Z)
    phi = np.asarray(
        booster.predict(dm, pred_contribs=True, approx_contribs=approx, validate_features=False),
        dtype=np.float64,
    )
    margin = np.asarray(
        booster.predict(dm, output_margin=True, validate_features=False), dtype=np.float64
    )
    if phi.ndim == 2:  # (n, p + 1): contributions then the bias
        phi, margin = phi[:, :, None], margin[:, None]
    else:  # (n, K, p + 1)
        phi = np.transpose(phi, (0, 2, 1))
    return _one_or_many(phi[:, :-1, :], phi[0, -1, :], margin, "log_odds", _xgb_rtol(booster))


def _xgboost_shap(est, Z) -> DesignContributions:
    import xgboost as xgb

    shap = _shap()
    booster = _xgb_booster(est)
    result = shap.TreeExplainer(booster, feature_perturbation="tree_path_dependent")(
        Z, check_additivity=False
    )
    margin = np.asarray(
        booster.predict(xgb.DMatrix(Z), output_margin=True, validate_features=False),
        dtype=np.float64,
    )
    return _from_shap_result(result, margin, _xgb_rtol(booster))


# --- LightGBM -------------------------------------------------------------------------------


def _lgb_booster(est):
    return est.booster_  # LGBMClassifier and the bundle's LightGBMBoosterClassifier


def _lightgbm_native(est, Z) -> DesignContributions:
    booster = _lgb_booster(est)
    phi = np.asarray(booster.predict(Z, pred_contrib=True), dtype=np.float64)
    raw = np.asarray(booster.predict(Z, raw_score=True), dtype=np.float64)
    n, p = Z.shape
    k = phi.shape[1] // (p + 1)  # class-major: K blocks of p contributions + bias
    phi = np.transpose(phi.reshape(n, k, p + 1), (0, 2, 1))
    return _one_or_many(phi[:, :-1, :], phi[0, -1, :], raw.reshape(n, k), "log_odds")


def _lightgbm_shap(est, Z) -> DesignContributions:
    shap = _shap()
    booster = _lgb_booster(est)
    # the call form (not .shap_values) avoids shap's warning about binary LightGBM shapes
    result = shap.TreeExplainer(booster, feature_perturbation="tree_path_dependent")(
        Z, check_additivity=False
    )
    raw = np.asarray(booster.predict(Z, raw_score=True), dtype=np.float64)
    return _from_shap_result(result, raw)


def _from_shap_result(result, output, rtol=ADDITIVITY_RTOL) -> DesignContributions:
    values = np.asarray(result.values, dtype=np.float64)
    base = np.asarray(result.base_values, dtype=np.float64)
    n = values.shape[0]
    if values.ndim == 2:
        values = values[:, :, None]
    base = base.reshape(n, -1)[0]
    return _one_or_many(values, base, np.asarray(output).reshape(n, -1), "log_odds", rtol)
