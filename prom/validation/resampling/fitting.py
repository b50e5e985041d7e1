"""Fit a clone, read its probabilities: the work each resampling task does.

These functions run in worker processes when ``n_jobs > 1`` (they are module-level so
that :func:`prom.parallel.parallel_map` can send them there). Every fit is on a fresh
:func:`sklearn.base.clone`; the estimator passed in is never fitted.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from prom.parallel import CaughtWarning, run_quietly
from prom.validation.resampling.inputs import take_rows

__all__ = ["class_probabilities", "fit_predict", "fit_predict_held_out"]


def class_probabilities(est, Xt, out_classes: tuple, kind: str) -> np.ndarray:
    """``est.predict_proba(Xt)`` checked and put in ``out_classes`` order: shape ``(n,)``
    (the probability of class 1) for a binary outcome, ``(n, k)`` for a multiclass one.

    A class the fitted estimator never saw (absent from its training rows) gets
    probability 0.
    """
    P = np.asarray(est.predict_proba(Xt), dtype=float)
    fitted = getattr(est, "classes_", None)
    if fitted is None:
        raise TypeError(
            f"the fitted {type(est).__name__} has no classes_; cannot tell which "
            "column of predict_proba belongs to which class."
        )
    cols = pd.Index(out_classes).get_indexer(list(np.asarray(fitted).tolist()))
    if P.ndim != 2 or P.shape[1] != len(cols) or (cols < 0).any():
        raise ValueError(
            f"predict_proba returned shape {P.shape} for classes_ "
            f"{list(fitted)!r}; expected one column per class."
        )
    if not np.all(np.isfinite(P)) or P.min() < 0 or P.max() > 1:
        raise ValueError("predict_proba returned values outside [0, 1] or not finite.")
    full = np.zeros((P.shape[0], len(out_classes)))
    full[:, cols] = P
    return full[:, 1] if kind == "binary" else full


def fit_predict(
    estimator, X, fit_y: np.ndarray, train: np.ndarray, tests: Sequence, classes: tuple, kind: str
) -> list[np.ndarray]:
    """Fit a clone of ``estimator`` on rows ``train``; its probabilities for each entry of
    ``tests`` (row positions, or ``None`` for every row of ``X``)."""
    from sklearn.base import clone

    est = clone(estimator)
    est.fit(take_rows(X, train), fit_y[train])
    return [
        class_probabilities(est, X if t is None else take_rows(X, t), classes, kind) for t in tests
    ]


def fit_predict_held_out(
    estimator,
    X,
    fit_y: np.ndarray,
    train: np.ndarray,
    test: np.ndarray,
    classes: tuple,
    kind: str,
) -> tuple[list[np.ndarray], list[CaughtWarning]]:
    """One fold (or one held-out site): fit on ``train``, predict ``test``; the result is
    ``([probabilities], warnings)`` as :func:`prom.parallel.run_quietly` returns it."""
    return run_quietly(fit_predict, estimator, X, fit_y, train, [test], classes, kind)
