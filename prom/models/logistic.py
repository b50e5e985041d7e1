"""The logistic baseline's coefficients, odds ratios and confidence intervals (statsmodels).

:func:`odds_ratios` fits ``statsmodels`` ``Logit`` (``MNLogit`` for three or more classes)
by Newton–Raphson on the *same design* the ``logistic`` family uses: reference coding of
categorical predictors (most frequent level is the reference), median imputation with
missing indicators, optional restricted cubic splines, no scaling — so an odds ratio is per
unit of the predictor (per level vs the reference level; per "missing" vs observed for an
indicator). Pass a fitted ``PromClassifier(family="logistic")`` as ``model=`` to reuse its
fitted preprocessor exactly; its ``estimator_.coef_`` then equals ``log`` of the odds ratios
returned here (the same maximum-likelihood fit).

Intervals are Wald intervals ``exp(coef ± z * se)`` from the inverse observed information,
as R's ``confint.default(glm(...))``. When the fit does not converge — nearly always complete
or quasi-complete separation: a level or indicator whose rows all have the same outcome —
:class:`LogisticFitError` names the columns responsible instead of returning infinite or
meaningless odds ratios. Its fix: merge rare levels, drop the column, or use the
``elastic_net`` family (penalisation keeps the estimates finite).
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from scipy.special import ndtri
from sklearn.base import BaseEstimator

from prom.errors import PromError
from prom.models.estimator import encode_target
from prom.models.inputs import as_column_list, infer_kinds, to_frame
from prom.models.preprocess import Preprocessor

__all__ = ["odds_ratios", "LogisticFitError"]


class LogisticFitError(PromError, ValueError):
    """The logistic maximum-likelihood fit failed (separation, non-convergence)."""


class _Holder(BaseEstimator):
    """Receives ``n_features_in_``/``feature_names_in_`` from ``to_frame``."""


def _separating_columns(Z: np.ndarray, names, y: np.ndarray) -> list[str]:
    """0/1 design columns whose rows with a 1 all share one outcome (or class)."""
    out = []
    for j, name in enumerate(names):
        col = Z[:, j]
        if not np.isin(col, (0.0, 1.0)).all():
            continue
        for value in (0.0, 1.0):
            rows = col == value
            if rows.any() and np.unique(y[rows]).size == 1:
                out.append(
                    f"{name} (all {int(rows.sum())} row(s) with {name}={int(value)} "
                    f"have outcome {y[rows][0]})"
                )
                break
    return out


def odds_ratios(
    X, y, *, model=None, predictors=None, splines: bool = False, level: float = 0.95
) -> pd.DataFrame:
    """Coefficients, odds ratios and Wald intervals of the logistic baseline.

    Parameters
    ----------
    X, y : the training rows and their labels.
    model : fitted ``PromClassifier(family="logistic")``, optional — reuse its design.
    predictors, splines : as for ``PromClassifier`` when no model is given.
    level : confidence level of the intervals.

    Returns a DataFrame with one row per design column (and the intercept):
    ``outcome`` (the class compared with the reference class: the second class for a binary
    outcome), ``feature``, ``variable`` (the input column it comes from), ``coef``, ``se``,
    ``z``, ``p_value``, ``odds_ratio``, ``ci_low``, ``ci_high``.
    """
    import statsmodels.api as sm
    from statsmodels.tools.sm_exceptions import (
        ConvergenceWarning,
        HessianInversionWarning,
        PerfectSeparationWarning,
    )

    if not 0 < level < 1:
        raise ValueError(f"level={level!r}; expected a confidence level between 0 and 1")
    if model is not None:
        if getattr(model, "family", None) != "logistic" or not hasattr(model, "preprocessor_"):
            raise TypeError("model must be a fitted PromClassifier(family='logistic')")
        design = model.design_matrix(X)
        Z, names = design.to_numpy(), list(design.columns)
        groups = model.preprocessor_.feature_groups_
        index = design.index
    else:
        cols = as_column_list(predictors, "predictors")
        frame = to_frame(_Holder(), X, cols, reset=True)
        numeric, categorical = infer_kinds(frame)
        pre = Preprocessor(
            numeric=numeric, categorical=categorical, splines=splines, drop_reference=True
        ).fit(frame)
        Z, names = pre.transform(frame), list(pre.feature_names_out_)
        groups = pre.feature_groups_
        index = frame.index
    codes, classes = encode_target(y, index)
    if codes.size != Z.shape[0]:
        raise ValueError(f"X has {Z.shape[0]} rows but y has {codes.size}")
    exog = np.column_stack([np.ones(Z.shape[0]), Z])
    labels = ["(intercept)", *names]
    binary = classes.size == 2
    fitter = sm.Logit(codes.astype(float), exog) if binary else sm.MNLogit(codes, exog)
    with warnings.catch_warnings(record=True) as caught:
        # recorded, not shown: turned into LogisticFitError below with the culprit columns
        warnings.simplefilter("always")
        try:
            res = fitter.fit(method="newton", maxiter=100, disp=False)
            failed = None
        except np.linalg.LinAlgError as e:  # singular information matrix
            res, failed = None, f"the information matrix is singular ({e})"
    kinds = {type(w.message) for w in caught}
    if failed is None:
        converged = bool(res.mle_retvals.get("converged", False))
        if PerfectSeparationWarning in kinds:
            failed = "the outcome is perfectly separated"
        elif not converged or ConvergenceWarning in kinds:
            failed = "Newton–Raphson did not converge in 100 iterations"
        elif HessianInversionWarning in kinds or not np.all(np.isfinite(res.bse)):
            failed = "the standard errors could not be computed (singular information)"
    if failed is not None:
        culprits = _separating_columns(Z, names, classes[codes])
        hint = ("; separating column(s): " + "; ".join(culprits[:6])) if culprits else ""
        if res is not None and not culprits:
            params = np.atleast_2d(np.asarray(res.params).T)
            big = sorted(
                {labels[j] for j in np.argwhere(np.abs(params.T) > 15)[:, 0]}
                if params.size
                else set()
            )
            if big:
                hint = f"; coefficients diverging: {', '.join(big[:6])}"
        raise LogisticFitError(
            f"the logistic fit failed: {failed}{hint}. Merge rare levels, drop the column, "
            "or use the elastic_net family, whose penalty keeps estimates finite."
        )
    z = float(ndtri(0.5 + level / 2))
    params = np.asarray(res.params, dtype=float)
    bse = np.asarray(res.bse, dtype=float)
    pvals = np.asarray(res.pvalues, dtype=float)
    if binary:
        params, bse, pvals = params[:, None], bse[:, None], pvals[:, None]
    frames = []
    for k in range(params.shape[1]):
        coef, se = params[:, k], bse[:, k]
        frames.append(
            pd.DataFrame(
                {
                    "outcome": classes[k + 1],
                    "feature": labels,
                    "variable": ["(intercept)"] + [groups[n] for n in names],
                    "coef": coef,
                    "se": se,
                    "z": coef / se,
                    "p_value": pvals[:, k],
                    "odds_ratio": np.exp(coef),
                    "ci_low": np.exp(coef - z * se),
                    "ci_high": np.exp(coef + z * se),
                }
            )
        )
    return pd.concat(frames, ignore_index=True)
