"""``explain_rows``: per-row contributions of a fitted model, checked for additivity.

Grouping
--------
With ``group=True`` the contributions of a variable's design columns — one-hot levels,
its missing indicator, its spline terms — are summed back to the clinical variable, using
the preprocessor's own record of where each design column came from
(``Preprocessor.feature_groups_``). Shapley values are additive over features, so the sum
is the Shapley value of the group (exactly, for the linear and Cox models; for trees it
is the sum of the per-column TreeSHAP values, the usual convention). One caveat comes from
the preprocessor: a design column identical to an earlier one in the training rows is kept
once, under the first name — e.g. the missing indicators of all imaging columns of
patients without MRI become one column, credited to the first imaging variable.

Additivity
----------
For every row ``Σ contributions + base`` must equal the model's output, computed by the
model itself (``decision_function`` for the linear models, the booster's margin, the
forest's ``predict_proba``, the Cox linear predictor). The tolerance is relative to the
magnitude of the terms, ``max(1, |base| + Σ |contributions|)``, because the terms of the sum
set its rounding error: :data:`ADDITIVITY_RTOL` (1e-6) for the double-precision paths,
whose errors are ~1e-15; for XGBoost, which sums the leaf values of its T trees in single
precision (unit roundoff 2^-24 ≈ 6e-8), ``T × 2^-24``, the classical bound for a float32 sum
of T terms — observed errors grow like √T × 2^-24 and pass 1e-6 at a few hundred trees
(1.4e-6 with 572 trees). A wrong base value, a dropped tree or a misaligned column gives
errors of order 1e-3 or more, far above either tolerance. The residual is always logged
(logger ``prom.explain``, level INFO) and stored on the explanation; beyond the tolerance
``check_additivity=True`` raises :class:`AdditivityError`, ``False`` warns
(:class:`AdditivityWarning`) and logs a warning.
"""

from __future__ import annotations

import functools
import logging
import warnings
from collections.abc import Sequence

import numpy as np
import pandas as pd

from prom.errors import format_rows
from prom.explain.contributions import (
    ADDITIVITY_RTOL,
    LINEAR_FAMILIES,
    TREE_FAMILIES,
    DesignContributions,
    design_contributions,
)
from prom.explain.explanation import Explanation
from prom.explain.groups import merge_groups
from prom.models.inputs import as_column_list, to_frame
from prom.options import EXPLAIN_METHOD, check_option

__all__ = [
    "explain_rows",
    "explained_columns",
    "AdditivityError",
    "AdditivityWarning",
    "ADDITIVITY_RTOL",
    "plain_label",
]

logger = logging.getLogger("prom.explain")


class AdditivityError(ValueError):
    """Contributions plus base do not reproduce the model's output."""


class AdditivityWarning(UserWarning):
    """As :class:`AdditivityError`, when ``check_additivity=False``."""


@functools.lru_cache(maxsize=4096)  # the contract is fixed; a model asks for the same names
def plain_label(column: str) -> str:
    """``'age at baseline (years)'`` from the cohort contract; the name itself otherwise."""
    from prom.cohort.contract import COHORT_CONTRACT

    if column not in COHORT_CONTRACT:
        return column
    spec = COHORT_CONTRACT[column]
    unit = f" ({spec.unit})" if spec.unit and spec.unit not in ("points", "grade") else ""
    return f"{spec.description}{unit}"


def _family(model) -> str:
    from prom.models.estimator import PromClassifier
    from prom.models.survival import PromCoxModel

    if isinstance(model, PromClassifier):
        return model.family
    if isinstance(model, PromCoxModel):
        return "cox"
    raise TypeError(
        f"explain_rows takes a fitted PromClassifier or PromCoxModel, got "
        f"{type(model).__name__}; from a bundle pass bundle.tasks[name].models[family]"
    )


def explain_rows(
    model,
    X,
    *,
    output: str = "log_odds",
    group: bool = True,
    check_additivity: bool = True,
    method: str = "native",
    groups: Sequence[Sequence[str]] = (),
    columns=None,
) -> Explanation:
    """Explain each row of ``X``: additive contributions of the model's predictors.

    Parameters
    ----------
    model : fitted :class:`~prom.models.PromClassifier` (any family) or
        :class:`~prom.models.survival.PromCoxModel`, fitted or loaded from a bundle.
    X : DataFrame with the model's predictor columns (extra columns are ignored).
    output : ``"log_odds"`` — the raw (uncalibrated) model's additive scale: log-odds
        (binary), softmax margin (3+ classes), log partial hazard (Cox) and, for a random
        forest, which has no log-odds decomposition, probability; ``Explanation.output``
        says which. ``"probability"`` — calibrated probability points (Cox: risk by the
        model's horizon), i.e. ``explain_rows(...).to_probability_points()``.
    group : sum design columns back to their clinical variable (see module docstring).
    check_additivity : beyond the tolerance, raise :class:`AdditivityError` (``True``) or
        warn with :class:`AdditivityWarning` (``False``); the residual is logged and stored
        on the explanation either way.
    method : ``"native"`` (booster TreeSHAP; exact formulas for linear and Cox models),
        ``"shap"`` (``shap.TreeExplainer``; boosters only — the forest always uses it) or
        ``"approx"`` (XGBoost only: Saabas path attribution, fast but not SHAP; see
        :mod:`prom.explain.contributions`).
    groups : sets of predictors explained together (with ``group=True``): each set's
        contributions are summed into one feature ``"a + b"`` labelled as correlated
        (:mod:`prom.explain.groups`); from a bundle pass ``entry.explain_groups``, the
        groups decided when the model was fitted.
    columns : a :class:`~prom.models.columns.ColumnCache` over the same rows as ``X``, in
        the same order, to build the design from instead of converting ``X``'s columns
        again — the same numbers, from columns already converted for another model of
        the same rows (the calculator shares one between a patient's tasks); it must hold
        every predictor, derived ``img_index_*`` columns included. Categories
        the training rows never had are then not warned about: the caller reports them.
    """
    if output not in ("log_odds", "probability"):
        raise ValueError(
            f"output={output!r}; expected 'log_odds' (the raw model's scale) "
            "or 'probability' (calibrated probability points)"
        )
    check_option("method", method, EXPLAIN_METHOD)
    family = _family(model)
    if method == "shap" and family not in TREE_FAMILIES:
        raise ValueError(
            f"method='shap' is for tree models; {family} is explained exactly "
            "from its coefficients (method='native')"
        )
    if not isinstance(X, pd.DataFrame):
        raise TypeError(
            f"X must be a pandas DataFrame with the predictor columns, got {type(X).__name__}"
        )
    if len(X) == 0:
        raise ValueError("X has no rows; explain_rows needs at least one row to explain")
    pre = model.preprocessor_
    frame = to_frame(model, X, explained_columns(model), reset=False)
    if columns is None:
        Z = np.asarray(pre.transform(frame), dtype=float)
    elif columns.n_rows != len(frame):
        raise ValueError(f"columns= holds {columns.n_rows} row(s), X {len(frame)}")
    else:
        Z = pre.transform_columns(columns)[0]
    design_names = [str(c) for c in pre.feature_names_out_]
    design_mean = None
    if family in LINEAR_FAMILIES:
        design_mean = getattr(pre, "design_mean_", None)
        if design_mean is None:
            raise ValueError(
                f"{family} model: its preprocessor has no training design means "
                "(design_mean_; saved by an earlier version of prom), which exact linear "
                "explanations are centred at; refit the model or rewrite the bundle"
            )
    contrib = design_contributions(model, family, Z, method=method, design_mean=design_mean)
    residual = _check_additivity(contrib, family, frame.index, check_additivity)
    if group:
        values, features, data, labels = _grouped(pre, contrib.values, frame)
        if groups:
            values, features, data, labels = merge_groups(values, features, data, labels, groups)
    else:
        values, features = contrib.values, design_names
        data = pd.DataFrame(Z, index=frame.index, columns=design_names)
        labels = {n: _design_label(n, pre.feature_groups_[n]) for n in design_names}
    how = (
        "shap"
        if method == "shap" or family == "random_forest"
        else ("exact" if family in (*LINEAR_FAMILIES, "cox") else method)
    )
    index = frame.index
    common = dict(
        features=tuple(features),
        data=data,
        output=contrib.scale,
        family=family,
        additivity_residual=residual,
        grouped=bool(group),
        method=how,
        labels=labels,
        model=model,
    )
    if values.ndim == 3:
        classes = tuple(model.classes_.tolist())
        base = np.atleast_1d(contrib.base)  # one per class
        explanation = Explanation(
            values={
                c: pd.DataFrame(values[:, :, i], index=index, columns=features)
                for i, c in enumerate(classes)
            },
            base_value={c: float(base[i]) for i, c in enumerate(classes)},
            prediction=pd.DataFrame(contrib.output, index=index, columns=list(classes)),
            classes=classes,
            **common,
        )
    else:
        explanation = Explanation(
            values=pd.DataFrame(values, index=index, columns=features),
            base_value=float(contrib.base),
            prediction=pd.Series(contrib.output, index=index, name=contrib.scale),
            explained_class=None if family == "cox" else model.classes_.tolist()[-1],
            **common,
        )
    return (
        explanation.to_probability_points(calibrated=True)
        if output == "probability"
        else explanation
    )


def explained_columns(model) -> list[str] | None:
    """The columns :func:`explain_rows` reads from ``X``, in the order it reads them: the
    preprocessor's inputs (numeric columns first) when they are the model's predictors,
    so that the grouped display data is that frame and not a second selection; else the
    predictors; ``None`` for a model fitted on an array. A caller holding a frame of
    exactly these columns (the calculator) saves the selection."""
    predictors = as_column_list(model.predictors, "predictors")
    inputs = _input_columns(model.preprocessor_)
    if predictors is not None and sorted(inputs) == sorted(predictors):
        return inputs
    return predictors


def _grouped(pre, values: np.ndarray, frame: pd.DataFrame):
    """Design-column contributions summed per input column (``feature_groups_``); the
    input columns' values as the display data; plain labels."""
    inputs = _input_columns(pre)
    position = {c: j for j, c in enumerate(inputs)}
    member = np.zeros((len(pre.feature_names_out_), len(inputs)))
    for i, name in enumerate(pre.feature_names_out_):
        member[i, position[pre.feature_groups_[name]]] = 1.0
    summed = np.einsum("npk,pm->nmk", values, member) if values.ndim == 3 else values @ member
    # the frame from to_frame is already the caller's own copy: taken as it is when it
    # holds exactly the inputs, in order
    data = frame if list(frame.columns) == inputs else frame[inputs].copy()
    return summed, inputs, data, {c: plain_label(c) for c in inputs}


def _input_columns(pre) -> list[str]:
    if hasattr(pre, "feature_names_in_"):
        return [str(c) for c in pre.feature_names_in_]
    return list(pre.numeric_) + list(pre.categorical_)


def _design_label(name: str, source: str) -> str:
    """Plain label of a design column: the source's label plus what the column codes."""
    base = plain_label(source)
    rest = name[len(source) :]
    if rest.startswith("="):
        return f"{base} = {rest[1:]}"
    if rest == "__missing":
        return f"{base}: missing"
    if rest.startswith("__rcs"):
        return f"{base}: spline term {rest[5:]}"
    return base if not rest else f"{base} {rest}"


def _check_additivity(c: DesignContributions, family: str, index, strict: bool) -> float:
    """Largest ``|Σ values + base − output|``; logs it, raises or warns beyond tolerance."""
    values = c.values if c.values.ndim == 3 else c.values[:, :, None]
    base = np.atleast_1d(c.base)
    output = c.output.reshape(len(values), -1)
    err = np.abs(values.sum(axis=1) + base - output)  # (n, K)
    size = np.maximum(1.0, np.abs(base) + np.abs(values).sum(axis=1))  # (n, K)
    ratio = (err / size).max(axis=1) if len(values) else np.zeros(0)
    residual = float(err.max()) if err.size else 0.0
    tol = c.rtol
    logger.info(
        "%s: explained %d row(s) on the %s scale; additivity residual %.3g "
        "(tolerance %.0e × magnitude of the terms)",
        family,
        len(values),
        c.scale,
        residual,
        tol,
    )
    bad = np.flatnonzero(ratio > tol)
    if bad.size:
        msg = (
            f"{family}: contributions + base differ from the model's {c.scale} output by up "
            f"to {residual:.3g} in {bad.size} row(s) ({format_rows(index[bad])}); "
            f"expected at most {tol:.0e} × the magnitude of the terms. The explanation does "
            "not reproduce this model — a model the explainer misreads (e.g. an "
            "unsupported booster version) or a preprocessing mismatch."
        )
        logger.warning(msg)
        if strict:
            raise AdditivityError(msg)
        warnings.warn(msg, AdditivityWarning, stacklevel=3)
    return residual
