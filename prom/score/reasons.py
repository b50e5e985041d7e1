"""Top-k reasons per row: the largest additive contributions to a task's probability.

The one place the bulk scorer gets reasons from. It uses :mod:`prom.explain` — the same
explanations the calculator and reports show — with the boosters' native TreeSHAP
contribution paths (XGBoost ``Booster.predict(DMatrix, pred_contribs=True)``, LightGBM
``Booster.predict(X, pred_contrib=True)``; exact formulas for linear and Cox models),
grouped back to the clinical variable and expressed in calibrated probability points
(they sum, per row, to the row's probability minus the model's base probability).
Contributions are checked for additivity against the model's own output; a mismatch
stops the run (:class:`prom.explain.AdditivityError`) rather than writing wrong reasons.

``method="approx"`` trades exactness for speed where a model family offers it: XGBoost's
Saabas path attribution (``pred_contribs`` with ``approx_contribs=True``), additive like
TreeSHAP but not SHAP; every other family is explained as with ``"exact"``.
benchmarks/score_bulk.py measures its speed and how often its top 3 agree with exact
TreeSHAP (benchmarks/RESULTS.md).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from prom.options import REASONS_METHOD

__all__ = ["Reasons", "top_k_reasons", "REASONS_METHODS", "reasons_method_of"]

#: What ``prom score --reasons-method`` accepts (:data:`prom.options.REASONS_METHOD`).
REASONS_METHODS: tuple[str, ...] = REASONS_METHOD.values


def reasons_method_of(task, method: str) -> str:
    """What a task's reasons are computed with: ``"approx"`` only for an XGBoost model."""
    return "approx" if method == "approx" and task.family == "xgboost" else "exact"


@dataclass(frozen=True)
class Reasons:
    """``variables`` and ``points``: (n, k), largest |points| first; ``classes``: the
    class explained in each row (multiclass: the most probable), else None."""

    variables: np.ndarray
    points: np.ndarray
    classes: np.ndarray | None


def top_k_reasons(model, frame: pd.DataFrame, k: int, method: str = "exact", groups=()) -> Reasons:
    """The ``k`` variables that move each row's calibrated probability the most
    (``method="approx"``: XGBoost's Saabas attribution; see the module docstring);
    ``groups``: predictors explained together (the bundle's ``entry.explain_groups``)."""
    from prom.explain import explain_rows, top_reasons

    ex = explain_rows(
        model,
        frame,
        output="probability",
        method="approx" if method == "approx" else "native",
        groups=groups,
    )
    long = top_reasons(ex, k)
    n = len(frame)
    kk = int(long["rank"].max()) if len(long) else k
    variables = long["variable"].to_numpy(dtype=object).reshape(n, kk)
    points = long["contribution"].to_numpy(dtype=float).reshape(n, kk)
    classes = (
        long["class"].to_numpy(dtype=object).reshape(n, kk)[:, 0]
        if "class" in long.columns
        else None
    )
    if classes is not None:
        classes = np.asarray([str(c) for c in classes], dtype=object)
    return Reasons(variables, points, classes)
