"""Fixed-budget random search in an inner stratified cross-validation, raced over the folds.

The budget ``n_iter`` counts candidates: the family's default parameters first, then
``n_iter - 1`` draws from its search space (:meth:`~prom.models.specs.ModelSpec.sample`).
Candidates are scored by the log loss of their pooled out-of-fold probabilities over the
same inner folds; the lowest wins (ties: the earlier candidate). Everything the model
learns — the preprocessor's medians, knots and scales included — is fitted on the inner
training rows only.

Successive halving over the folds (Jamieson & Talwalkar, AISTATS 2016, with the inner
folds as the resource; a race in the sense of Maron & Moore, NIPS 1993): every candidate
is fitted on the first fold's training rows and scored on its held-out rows; the better
half (:data:`KEEP_FRACTION`, rounded up; ties to the earlier candidate) goes on to the
second fold and is ranked by the log loss over both folds' held-out rows; and so on
until the last fold, where the survivors' pooled log loss over every row picks the
winner as before. With 3 inner folds, 10 candidates cost 10 + 5 + 3 = 18 fits instead
of 30. A candidate that leaves the race keeps the scores of the rows it was scored on
(``folds_scored`` in :meth:`TuningResult.as_records`). The random forest races on its
trees instead (:mod:`prom.models.out_of_bag`).

What was measured before choosing it is in :data:`KEEP_FRACTION`'s comment;
``benchmarks/fold_race.py`` repeats it. The out-of-fold probabilities of the winner are
complete (it ran every fold), so the calibrator is fitted on every row as before.

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
import math
import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from sklearn.model_selection import StratifiedKFold

from prom.errors import StatisticalWarning
from prom.models.calibration import brier_multi, log_loss
from prom.models.preprocess import Preprocessor
from prom.models.specs import MODEL_SPECS, ModelSpec

__all__ = [
    "TuningResult",
    "inner_folds",
    "fold_designs",
    "cross_fit_proba",
    "tune",
    "candidate_params",
    "fit_estimator",
    "KEEP_FRACTION",
    "fold_race",
    "survivors",
]

#: Share of the candidates still in the race that go on to the next inner fold (see the
#: module docstring); 1.0 scores every candidate on every fold.
#:
#: Measured before choosing it (``benchmarks/fold_race.py``; ``n_iter=10``, 3 inner folds;
#: the winner of the full search against the winner of the race, each refitted on the
#: training rows and scored on the outer fold's held-out rows): XGBoost and LightGBM
#: chose the same candidate in every training set — 20 of 20 on the 310-row table of
#: ``benchmarks/fit_small.py`` (5-fold outer CV, 4 seeds), 10 of 10 on 2,000 rows of the
#: simulated cohort (2 seeds), 5 of 5 on its 9,909 rows — at 45–55% less CPU (LightGBM
#: on 9,909 rows: 32.3 s instead of 65.9 s over the 5 searches). The elastic net chose
#: another candidate in 3 of 20 and 1 of 10 (mean held-out AUC 0.7475 against 0.7480,
#: and 0.7139 against 0.7142), at about 30% less CPU.
KEEP_FRACTION = 0.5


@dataclass
class TuningResult:
    """Outcome of :func:`tune`: the candidates, their scores, and the winner's OOF."""

    candidates: list[dict]
    log_losses: list[float]
    briers: list[float]
    best_index: int
    oof_proba: np.ndarray = field(repr=False)
    folds: np.ndarray = field(repr=False)
    #: the number of inner folds each candidate was scored on before it won or left
    folds_scored: list[int] = field(default_factory=list)

    @property
    def best_params(self) -> dict:
        return dict(self.candidates[self.best_index])

    def as_records(self) -> list[dict]:
        """JSON-friendly table of the search: one dict per candidate (its scores are over
        the held-out rows of the ``folds_scored`` folds it ran)."""
        return [
            {"params": dict(c), "log_loss": ll, "brier": b, "folds_scored": k}
            for c, ll, b, k in zip(
                self.candidates, self.log_losses, self.briers, self.folds_scored, strict=True
            )
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


def survivors(n: int, fraction: float) -> int:
    """How many of ``n`` candidates in a race go on to its next step: ``fraction`` of them,
    rounded up, and at least one (the rule of both races: here and
    :mod:`prom.models.out_of_bag`)."""
    return max(1, math.ceil(n * fraction))


def fold_race(families, n_iter: int, inner_cv: int) -> tuple[int, ...]:
    """How many candidates each inner fold scores when ``families`` are tuned with
    ``n_iter`` candidates over ``inner_cv`` folds (the manifest's ``inner_fold_race``,
    e.g. ``(10, 5, 3)``); ``()`` when nothing is raced (no family tuned in the inner CV,
    or every candidate runs every fold)."""
    tuned = [
        f
        for f in families
        if f in MODEL_SPECS and MODEL_SPECS[f].search_space and not MODEL_SPECS[f].out_of_bag
    ]
    if not tuned or n_iter < 2:
        return ()
    counts = [n_iter]
    for _ in range(inner_cv - 1):
        counts.append(survivors(counts[-1], KEEP_FRACTION))
    return tuple(counts) if counts[-1] < n_iter else ()


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
    """Random search over ``spec``'s space with the given inner ``folds``, raced over the
    folds (see the module docstring)."""
    n_classes = int(y.max()) + 1
    cands = candidate_params(spec, n_iter, random_state)
    designs = fold_designs(frame, folds, pre_params)
    lls = [math.nan] * len(cands)
    briers = [math.nan] * len(cands)
    folds_scored = [0] * len(cands)
    # Each candidate still racing keeps its held-out predictions fold by fold; a candidate
    # that leaves the race drops them, so memory follows the candidates left.
    blocks: dict[int, list[np.ndarray]] = {i: [] for i in range(len(cands))}
    held: list[np.ndarray] = []  # the held-out rows of the folds run so far
    racing = list(range(len(cands)))
    for k, (test, Z_train, Z_test) in enumerate(designs):
        held.append(np.flatnonzero(test))
        rows = np.concatenate(held)
        order = np.argsort(rows, kind="stable")  # scores over the rows in table order
        y_scored = y[rows[order]]
        for i in racing:
            est = spec.make_estimator(cands[i], n_classes, random_state, n_jobs)
            fit_estimator(spec, est, Z_train, y[~test])
            blocks[i].append(np.asarray(est.predict_proba(Z_test), dtype=np.float64))
            folds_scored[i] += 1
            pred = np.concatenate(blocks[i])[order]
            lls[i] = log_loss(y_scored, pred)
            briers[i] = brier_multi(y_scored, pred)
        if k < len(designs) - 1:
            keep = survivors(len(racing), KEEP_FRACTION)
            ranked = sorted(racing, key=lambda i: (lls[i], i))
            racing = sorted(ranked[:keep])
            for i in ranked[keep:]:
                del blocks[i]
    if not racing:  # candidate_params always gives at least the defaults
        raise ValueError(f"{spec.name}: no candidate parameters to tune")
    best = min(racing, key=lambda i: (lls[i], i))
    oof = np.empty((len(frame), n_classes))
    oof[np.concatenate(held)] = np.concatenate(blocks[best])
    return TuningResult(cands, lls, briers, best, oof, folds, folds_scored)
