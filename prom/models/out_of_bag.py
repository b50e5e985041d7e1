"""Tuning and calibrating a random forest on its out-of-bag predictions.

Every tree of a random forest is grown on a bootstrap sample of the rows (``max_samples``
× n rows drawn with replacement); the rows it never drew are *out of bag* for it. A
row's out-of-bag probability is the mean vote of the trees that did not see it
(Breiman, Machine Learning 2001; 45:5): an honest held-out prediction of every row from
one fit, which is what the inner cross-validation gives the other families
(:mod:`prom.models.tuning`) from three. So for the forest each candidate of the random
search is fitted once, on all the training rows, scored by the log loss of its
out-of-bag probabilities; the winner's out-of-bag probabilities are what the calibrator
is fitted on, and the winner itself is the final model (it is exactly the refit on all
rows the other families need: same rows, same parameters, same seed). That is a third of
the forests the inner 3-fold CV grows, with each candidate judged on all the rows.

The preprocessing of the tree families (median imputation with missing indicators,
one-hot levels) is fitted once on all the training rows. It never reads the outcome, so
no outcome information reaches the out-of-bag rows through it.

A row that every tree drew (possible only with very few trees) has no out-of-bag
prediction; :func:`tune_out_of_bag` then returns ``None`` and the caller uses the inner
cross-validation instead.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from prom.models.calibration import brier_multi, log_loss
from prom.models.preprocess import Preprocessor
from prom.models.specs import ModelSpec
from prom.models.tuning import fit_estimator

__all__ = [
    "OutOfBagTuning",
    "out_of_bag_proba",
    "tune_out_of_bag",
    "out_of_bag_families",
    "inner_validation_phrase",
]


def out_of_bag_families(families) -> tuple[str, ...]:
    """The families of ``families`` that are tuned and calibrated out of bag."""
    from prom.models.specs import MODEL_SPECS

    return tuple(f for f in families if f in MODEL_SPECS and MODEL_SPECS[f].out_of_bag)


def inner_validation_phrase(settings) -> str:
    """How a fit's models were tuned and calibrated, for reports: ``"3-fold inner CV"``,
    naming the families a fit with these manifest ``settings`` scored out of bag."""
    text = f"{settings.inner_cv}-fold inner CV"
    bagged = getattr(settings, "out_of_bag_families", ())
    if bagged:
        text += f"; {', '.join(bagged)}: out-of-bag predictions instead"
    return text


@dataclass
class OutOfBagTuning:
    """Outcome of :func:`tune_out_of_bag`: the candidates and their out-of-bag scores, the
    winner's out-of-bag probabilities, and the fitted preprocessor and forest."""

    candidates: list[dict]
    log_losses: list[float]
    briers: list[float]
    best_index: int
    oof_proba: np.ndarray = field(repr=False)
    preprocessor: Preprocessor = field(repr=False)
    estimator: Any = field(repr=False)

    @property
    def best_params(self) -> dict:
        return dict(self.candidates[self.best_index])

    def as_records(self) -> list[dict]:
        """JSON-friendly table of the search: one dict per candidate (as tuning's)."""
        return [
            {"params": dict(c), "log_loss": ll, "brier": b}
            for c, ll, b in zip(self.candidates, self.log_losses, self.briers, strict=True)
        ]


def out_of_bag_proba(forest, Z: np.ndarray, n_classes: int) -> np.ndarray | None:
    """Each row's mean class probability over the trees that did not draw it, shape
    ``(n, n_classes)``; ``None`` when some row was drawn by every tree.

    Uses the public ``estimators_samples_`` (the rows each tree drew) and the trees' own
    ``predict_proba``; the forest's classes are the codes ``0 … n_classes - 1``.
    """
    n = Z.shape[0]
    total = np.zeros((n, n_classes))
    votes = np.zeros(n)
    for tree, drawn in zip(forest.estimators_, forest.estimators_samples_, strict=True):
        oob = np.ones(n, dtype=bool)
        oob[drawn] = False
        if not oob.any():
            continue
        p = tree.predict_proba(Z[oob])
        cols = np.asarray(forest.classes_, dtype=int)
        total[np.ix_(np.flatnonzero(oob), cols)] += p
        votes[oob] += 1
    if (votes == 0).any():
        return None
    return total / votes[:, None]


def tune_out_of_bag(
    spec: ModelSpec,
    frame: pd.DataFrame,
    y: np.ndarray,
    *,
    pre_params: dict,
    candidates: list[dict],
    random_state: int,
    n_jobs: int = 1,
) -> OutOfBagTuning | None:
    """Random search for a bagged family scored out of bag (see the module docstring).

    ``pre_params`` are the final preprocessor's (``handle_unknown="warn"``); ``y`` the
    class codes. ``None`` when a candidate leaves a row without out-of-bag trees, or the
    design has no usable column (the caller's ordinary path then says why).
    """
    n_classes = int(y.max()) + 1
    pre = Preprocessor(**pre_params)
    Z = pre.fit_transform(frame)
    if Z.shape[1] == 0:
        return None
    best, best_est, best_oof = -1, None, None
    lls: list[float] = []
    briers: list[float] = []
    for i, params in enumerate(candidates):
        est = spec.make_estimator(params, n_classes, random_state, n_jobs)
        fit_estimator(spec, est, Z, y)
        oob = out_of_bag_proba(est, Z, n_classes)
        if oob is None:
            return None
        ll = log_loss(y, oob)
        lls.append(ll)
        briers.append(brier_multi(y, oob))
        if best_oof is None or ll < lls[best]:
            best, best_est, best_oof = i, est, oob
    if best_oof is None:
        return None
    return OutOfBagTuning(candidates, lls, briers, best, best_oof, pre, best_est)
