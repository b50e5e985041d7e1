"""Scores of resampled predictions, without warnings, and the warnings about them.

A resampling run scores hundreds of samples; some lack a class, some give constant or
separating predictions. :func:`resample_scores` scores one sample without raising or
warning (a metric that is undefined there is NaN, with the reason noted), and
:func:`warn_notes` reports the notes of all samples together: one warning per kind, with
the count. The point estimates are the same as the public metric functions'
(:func:`~prom.validation.auc_score`, :func:`~prom.validation.brier_loss`,
:func:`~prom.validation.calibration_intercept_slope`, ...).

Binary outcomes use a model's probability of class 1; multiclass outcomes the macro
one-vs-rest AUC and the multiclass Brier score ``mean(sum_k (p_k - [y = k])^2)`` (Brier
1950; range 0 to 2). The calibration intercept and slope need ``logit(p)``: predictions
of exactly 0 or 1 (deep trees, nearest neighbours) are clipped to ``[CLIP, 1 - CLIP]`` for
them, and counted, because the slope then depends on the clip (it is close to 0 either
way, which is the message such a model deserves).
"""

from __future__ import annotations

import warnings
from collections import Counter
from collections.abc import Collection

import numpy as np
from scipy.special import logit

from prom.errors import StatisticalWarning
from prom.validation import _checks
from prom.validation._smoothers import logistic_fit
from prom.validation.discrimination import auc_from_ranks

__all__ = [
    "CLIP",
    "BINARY_METRICS",
    "MULTICLASS_METRICS",
    "resample_scores",
    "warn_notes",
    "warn_few_events",
]

#: predictions are clipped to [CLIP, 1 - CLIP] where their logit is needed
CLIP = 1e-8
#: the metrics of a binary outcome, in the order of the result tables
BINARY_METRICS = (
    "auc",
    "brier",
    "scaled_brier",
    "calibration_intercept",
    "calibration_slope",
    "citl",
)
#: the metrics of a multiclass outcome
MULTICLASS_METRICS = ("auc", "brier")
_CALIBRATION = {"calibration_intercept", "calibration_slope", "citl"}


def resample_scores(codes: np.ndarray, P: np.ndarray, kind: str, wanted: Collection[str]) -> dict:
    """The metrics in ``wanted`` of probabilities ``P`` for class codes ``codes``.

    Raises nothing and warns nothing: a metric undefined in this sample is NaN, with the
    reason under ``"_notes"`` (a set: "single class", "a class absent", "constant
    predictions", "predictions separate the outcome"), and ``"_clipped"`` counts the
    predictions clipped for the calibration metrics. The caller counts the notes over all
    samples and reports them once (:func:`warn_notes`).
    """
    out: dict = {}
    notes: set = set()
    if kind == "multiclass":
        k = P.shape[1]
        present = np.bincount(codes, minlength=k) > 0
        if "auc" in wanted:
            out["auc"] = (
                float(
                    np.mean([auc_from_ranks((codes == j).astype(float), P[:, j]) for j in range(k)])
                )
                if present.all()
                else np.nan
            )
            if not present.all():
                notes.add("a class absent")
        if "brier" in wanted:
            onehot = np.eye(k)[codes]
            out["brier"] = float(np.mean(np.sum((P - onehot) ** 2, axis=1)))
        out["_notes"] = notes
        return out
    y = codes.astype(float)
    ev = y.sum()
    both = 0 < ev < y.size
    if not both:
        notes.add("single class")
    if "auc" in wanted:
        out["auc"] = auc_from_ranks(y, P) if both else np.nan
    brier = float(np.mean((P - y) ** 2))
    if "brier" in wanted:
        out["brier"] = brier
    if "scaled_brier" in wanted:
        ybar = ev / y.size
        out["scaled_brier"] = 1.0 - brier / (ybar * (1 - ybar)) if both else np.nan
    if _CALIBRATION & set(wanted):
        pc = np.clip(P, CLIP, 1 - CLIP)
        out["_clipped"] = int(np.count_nonzero(pc != P))
        lp = logit(pc)
        citl = intercept = slope = np.nan
        if both:
            a, _, ok = logistic_fit(np.ones((y.size, 1)), y, offset=lp)
            citl = float(a[0]) if ok else np.nan
            if lp.min() == lp.max():
                notes.add("constant predictions")
            else:
                b, _, ok = logistic_fit(np.column_stack([np.ones(y.size), lp]), y)
                if ok:
                    intercept, slope = float(b[0]), float(b[1])
                else:
                    notes.add("predictions separate the outcome")
        calibration = {"citl": citl, "calibration_intercept": intercept, "calibration_slope": slope}
        out.update({m: v for m, v in calibration.items() if m in wanted})
    out["_notes"] = notes
    return out


def warn_notes(notes: Counter, clipped: int, total: int, what: str, unit: str) -> None:
    """One :class:`~prom.errors.StatisticalWarning` for clipped predictions and one per
    kind of undefined metric (``notes`` counts them), for the user's call of ``what``."""
    if clipped:
        warnings.warn(
            f"{what}: {clipped} of {total} predictions are exactly 0 or 1; they were clipped "
            f"to [{CLIP:g}, 1 - {CLIP:g}] for the calibration intercept and slope, which then "
            "depend on the clip (a slope near 0 means the model is far too confident).",
            StatisticalWarning,
            stacklevel=3,
        )
    for note, k in notes.items():
        warnings.warn(
            f"{what}: {note} in {k} {unit}; the metrics that need it are NaN there.",
            StatisticalWarning,
            stacklevel=3,
        )


def warn_few_events(codes: np.ndarray, classes: tuple, what: str) -> None:
    """A :class:`~prom.errors.StatisticalWarning` when the rarest class has fewer than
    ``MIN_EVENTS`` rows."""
    counts = np.bincount(codes, minlength=len(classes))
    if counts.min() < _checks.MIN_EVENTS:
        j = int(np.argmin(counts))
        warnings.warn(
            f"only {counts[j]} rows of class {classes[j]!r} among {codes.size}; {what} is "
            f"unstable with fewer than {_checks.MIN_EVENTS}.",
            StatisticalWarning,
            stacklevel=3,
        )
