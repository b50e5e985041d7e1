"""What the resampling functions accept: an estimator, a predictor table, row groups.

Each check raises :class:`TypeError` for a wrong type and :class:`ValueError` for a bad
value, naming the argument, what was seen and what was expected, before any model is
fitted. (The outcome itself is read by :func:`prom.validation.outcome_encoding.encode_outcome`.)
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from prom.validation import _checks

__all__ = ["check_estimator", "check_rows", "take_rows", "check_groups"]


def check_estimator(estimator) -> None:
    """An estimator instance with ``fit`` and ``predict_proba`` that
    :func:`sklearn.base.clone` can copy (every fit is on a clone)."""
    from sklearn.base import clone

    if isinstance(estimator, type):
        raise TypeError(
            f"estimator must be an instance, e.g. {estimator.__name__}(), not the class itself."
        )
    missing = [m for m in ("fit", "predict_proba") if not hasattr(estimator, m)]
    if missing:
        raise TypeError(
            f"estimator must be a classifier with fit and predict_proba (a scikit-learn "
            f"estimator or pipeline); {type(estimator).__name__} has no {' or '.join(missing)}."
        )
    try:
        clone(estimator)
    except Exception as exc:
        raise TypeError(
            f"estimator {type(estimator).__name__} cannot be copied by sklearn.base.clone "
            f"({exc}); it must follow the scikit-learn estimator API (get_params/set_params)."
        ) from exc


def check_rows(X, y, n: int) -> None:
    """``X`` is a table with one row per outcome (``n`` of them), aligned with ``y`` when
    both are pandas objects."""
    if X is None or isinstance(X, str | bytes | dict) or np.isscalar(X):
        raise TypeError(
            f"X must be a table of predictors (DataFrame or 2-D array); got {type(X).__name__}."
        )
    m = X.shape[0] if hasattr(X, "shape") else len(X)
    if m != n:
        raise ValueError(f"X and y must have one row per patient; X has {m} rows, y has {n}.")
    if isinstance(X, pd.DataFrame) and isinstance(y, pd.Series) and not X.index.equals(y.index):
        raise ValueError(
            "X and y have different indexes; align them first "
            "(y = y.loc[X.index]) so that each outcome belongs to its row."
        )


def take_rows(X, idx: np.ndarray):
    """The rows of ``X`` at positions ``idx`` (a DataFrame by ``iloc``, an array by index)."""
    return X.iloc[idx] if hasattr(X, "iloc") else X[idx]


def check_groups(groups, n: int, name: str = "groups") -> np.ndarray:
    """One label per row (a site, a patient), none missing, as an object array."""
    if groups is None or isinstance(groups, str | bytes | dict) or np.isscalar(groups):
        raise TypeError(
            f"{name} must be a 1-D array-like with one label per row; got {type(groups).__name__}."
        )
    g = groups if isinstance(groups, pd.Series) else pd.Series(np.asarray(groups, dtype=object))
    if len(g) != n:
        raise ValueError(f"{name} must have one label per row; it has {len(g)}, y has {n}.")
    miss = np.flatnonzero(g.isna().to_numpy())
    if miss.size:
        raise ValueError(
            f"{name} has {miss.size} missing label(s) "
            f"({_checks.where_rows(groups, miss)}); every row needs one."
        )
    return g.to_numpy(dtype=object)
