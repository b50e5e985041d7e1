"""Fixed-budget random search in an inner stratified cross-validation.

The budget ``n_iter`` counts candidates: the family's default parameters first, then
``n_iter - 1`` draws from its search space (:meth:`~prom.models.specs.ModelSpec.sample`).
Every candidate is scored by the log loss of its pooled out-of-fold probabilities over the
same inner folds; the lowest wins (ties: the earlier candidate). Everything the model
learns — the preprocessor's medians, knots and scales included — is fitted on the inner
training rows only.

Reproducible by seed: the folds (``StratifiedKFold(shuffle=True, random_state=seed)``),
the candidates (``numpy.random.default_rng(seed)``) and the estimators' own randomness all
derive from one integer, so the same seed gives the same chosen parameters and the same
predictions.

The out-of-fold probabilities of the chosen candidate are kept: they are what the
calibrator is fitted on (:mod:`prom.models.calibration`). They are slightly optimistic,
having won a selection among ``n_iter`` candidates on these rows.
"""

from __future__ import annotations

import contextlib
import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from sklearn.model_selection import StratifiedKFold

from prom.errors import StatisticalWarning
from prom.models.calibration import brier_multi, log_loss
from prom.models.preprocess import Preprocessor
from prom.models.specs import ModelSpec

__all__ = [
    "TuningResult",
    "inner_folds",
    "fold_designs",
    "cross_fit_proba",
    "tune",
    "candidate_params",
    "fit_estimator",
]


@dataclass
class TuningResult:
    """Outcome of :func:`tune`: the candidates, their scores, and the winner's OOF."""

    candidates: list[dict]
    log_losses: list[float]
    briers: list[float]
    best_index: int
    oof_proba: np.ndarray = field(repr=False)
    folds: np.ndarray = field(repr=False)

    @property
    def best_params(self) -> dict:
        return dict(self.candidates[self.best_index])

    def as_records(self) -> list[dict]:
        """JSON-friendly table of the search: one dict per candidate."""
        return [
            {"params": dict(c), "log_loss": ll, "brier": b}
            for c, ll, b in zip(self.candidates, self.log_losses, self.briers, strict=True)
        ]


def inner_folds(y_codes: np.ndarray, n_splits: int, random_state: int) -> np.ndarray:
    """Fold number (0 … n_splits-1) of every row, stratified by class."""
    counts = np.bincount(y_codes)
    if counts.min() < n_splits:
        raise ValueError(
            f"the smallest class has {int(counts.min())} row(s); inner_cv={n_splits} folds "
            f"need at least {n_splits} rows of every class (lower inner_cv, or use "
            "calibration='none' with a family that needs no tuning)"
        )
    folds = np.empty(y_codes.size, dtype=int)
    skf = StratifiedKFold(n_splits=n_splits, shuffle=True, random_state=random_state)
    for f, (_, test) in enumerate(skf.split(np.zeros(y_codes.size), y_codes)):
        folds[test] = f
    return folds


def candidate_params(spec: ModelSpec, n_iter: int, random_state: int) -> list[dict]:
    """The defaults, then ``n_iter - 1`` draws (just the defaults if nothing is tuned)."""
    defaults = {k: spec.default_params[k] for k in spec.search_space if k in spec.default_params}
    if not spec.search_space:
        return [{}]
    return [defaults, *spec.sample(max(n_iter - 1, 0), random_state)]


def fit_estimator(spec: ModelSpec, est, Z: np.ndarray, y: np.ndarray):
    """``est.fit(Z, y)``, turning a solver's convergence complaint into a
    :class:`~prom.errors.StatisticalWarning` that says what it means for this design.

    The unpenalised baseline is the usual source: with few events per design column it
    overfits or the classes separate, and scikit-learn's Newton solver gives up. The
    message carries the counts so the reader can judge.

    A family that declares ``limit_openmp`` is fitted with the OpenMP runtime held to the
    estimator's ``n_jobs`` threads (:mod:`prom.models.threads`).
    """
    from scipy.linalg import LinAlgWarning
    from sklearn.exceptions import ConvergenceWarning

    from prom.models.threads import openmp_threads

    threads = (
        openmp_threads(est.get_params().get("n_jobs"))
        if spec.limit_openmp
        else contextlib.nullcontext()
    )
    with warnings.catch_warnings(record=True) as caught, threads:
        warnings.simplefilter("always", ConvergenceWarning)
        warnings.simplefilter("always", LinAlgWarning)
        est.fit(Z, y)
    solver = [w for w in caught if issubclass(w.category, (ConvergenceWarning, LinAlgWarning))]
    for w in caught:  # anything else is passed on untouched
        if w not in solver:
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    if solver:
        counts = np.bincount(y)
        warnings.warn(
            f"{spec.name}: the solver did not converge cleanly on {Z.shape[0]} rows with "
            f"{Z.shape[1]} design columns ({int(counts.min())} rows in the smallest class, "
            f"{counts.min() / max(Z.shape[1], 1):.1f} per column); the fit is unreliable — "
            f"probably overfitting or separation. Use fewer predictors or a penalised family "
            f"(elastic_net). Solver said: {str(solver[0].message).splitlines()[0]}",
            StatisticalWarning,
            stacklevel=3,
        )
    return est


#: One inner fold's designs: (held-out rows mask, training design, held-out design).
FoldDesign = tuple[np.ndarray, np.ndarray, np.ndarray]


def fold_designs(frame: pd.DataFrame, folds: np.ndarray, pre_params: dict) -> list[FoldDesign]:
    """Each inner fold's preprocessor fitted on its training rows, and the designs it makes.

    The preprocessing does not depend on the candidate being scored, so :func:`tune`
    builds these once and scores every candidate on them (the same numbers as refitting
    the preprocessor per candidate, without the repeats). These preprocessors are never
    kept, so they skip the training summaries (``summaries=False``).
    """
    out = []
    for f in np.unique(folds):
        test = folds == f
        pre = Preprocessor(**pre_params)
        train = frame.iloc[np.flatnonzero(~test)]
        Z_train = pre.fit(train, summaries=False).transform(train)  # never kept
        Z_test = pre.transform(frame.iloc[np.flatnonzero(test)])
        out.append((test, Z_train, Z_test))
    return out


def cross_fit_proba(
    spec: ModelSpec,
    params: dict,
    frame: pd.DataFrame,
    y: np.ndarray,
    folds: np.ndarray,
    pre_params: dict,
    n_classes: int,
    random_state: int,
    n_jobs: int = 1,
    designs: list[FoldDesign] | None = None,
) -> np.ndarray:
    """Out-of-fold class probabilities (n, n_classes) of one candidate (``designs``: the
    folds' designs from :func:`fold_designs`, made here when not given)."""
    out = np.empty((len(frame), n_classes))
    for test, Z_train, Z_test in designs or fold_designs(frame, folds, pre_params):
        est = spec.make_estimator(params, n_classes, random_state, n_jobs)
        fit_estimator(spec, est, Z_train, y[~test])
        out[test] = est.predict_proba(Z_test)
    return out


def tune(
    spec: ModelSpec,
    frame: pd.DataFrame,
    y: np.ndarray,
    *,
    pre_params: dict,
    n_iter: int,
    folds: np.ndarray,
    random_state: int,
    n_jobs: int = 1,
) -> TuningResult:
    """Random search over ``spec``'s space with the given inner ``folds``."""
    n_classes = int(y.max()) + 1
    cands = candidate_params(spec, n_iter, random_state)
    best, best_oof = -1, None
    lls, briers = [], []
    designs = fold_designs(frame, folds, pre_params)
    for i, params in enumerate(cands):
        oof = cross_fit_proba(
            spec, params, frame, y, folds, pre_params, n_classes, random_state, n_jobs, designs
        )
        ll = log_loss(y, oof)
        lls.append(ll)
        briers.append(brier_multi(y, oof))
        if best_oof is None or ll < lls[best]:
            best, best_oof = i, oof
    if best_oof is None:  # candidate_params always gives at least the defaults
        raise ValueError(f"{spec.name}: no candidate parameters to tune")
    return TuningResult(cands, lls, briers, best, best_oof, folds)
