"""Tuning and calibrating a random forest on its out-of-bag predictions.

Every tree of a random forest is grown on a bootstrap sample of the rows (``max_samples``
× n rows drawn with replacement); the rows it never drew are *out of bag* for it. A
row's out-of-bag probability is the mean vote of the trees that did not see it
(Breiman, Machine Learning 2001; 45:5): an honest held-out prediction of every row from
one fit, which is what the inner cross-validation gives the other families
(:mod:`prom.models.tuning`) from three. So for the forest each candidate of the random
search is fitted on all the training rows, scored by the log loss of its out-of-bag
probabilities; the winner's out-of-bag probabilities are what the calibrator is fitted
on, and the winner itself is the final model (it is exactly the refit on all rows the
other families need: same rows, same parameters, same seed). That is a third of the
forests the inner 3-fold CV grows, with each candidate judged on all the rows.

Successive halving (Jamieson & Talwalkar, AISTATS 2016), with the number of trees as
the resource: every candidate is grown to a quarter of its ``n_estimators`` (50 of 200)
and scored; the better half (rounded up, ties to the earlier candidate) are grown on to
half (100) and scored again; the better half of those are grown whole, and the best of
these wins (:func:`forest_rungs`: sizes under :data:`MIN_RUNG_TREES` are left out).
The forests grow with ``warm_start``: scikit-learn draws the seeds of the trees already
grown before drawing new ones, so a forest grown 50 → 100 → 200 is the forest one fit of
200 grows, tree for tree, and the winner is still exactly the final model. Its
out-of-bag votes are added tree by tree as it grows (:class:`OutOfBagVotes`), the same
numbers as scoring the whole forest at once. Ten candidates of 200 trees cost 10 × 50 +
5 × 50 + 3 × 100 = 1,050 trees instead of 2,000.

What was measured before choosing it (``n_iter=10``, the defaults; the winner of the
full search, where every candidate grows 200 trees, against the winner of the race):
on the 310-row table of ``benchmarks/fit_small.py`` (5-fold outer CV, 4 seeds: 20
training sets of 248 rows) the race chose the full search's winner in 20 of 20, at 47 s
of CPU instead of 89 s; on 2,000 rows of the simulated cohort (``mcid_odi_12m``, 2
seeds: 10 training sets of 1,600 rows) in 9 of 10, at 34 s instead of 64 s, and in the
tenth its winner did a little better on the held-out rows (AUC 0.665 against 0.662, log
loss 0.644 against 0.645; mean AUC over the 10 held-out folds 0.698 both ways). Keeping a
third instead of half chose another candidate in 4 of the 20 small training sets (mean
held-out AUC 0.734 against 0.737), so half is kept. End to end, the forest's row of the
comparison is the same as with the full search on the 310-row table (AUC 0.728, Brier
0.1919, slope 1.16) and at n = 9,909 (``benchmarks/fit_comparison.py``: AUC 0.719,
Brier 0.2084, slope 1.01). ``benchmarks/oob_race.py`` repeats the comparison. Few trees favour smooth forests a
little (the out-of-bag log loss of a small forest carries the noise of fewer votes,
more for deep trees), which is why the race starts at a quarter of the forest, not less.

The preprocessing of the tree families (median imputation with missing indicators,
one-hot levels) is fitted once on all the training rows. It never reads the outcome, so
no outcome information reaches the out-of-bag rows through it.

A row that every tree drew (possible only with very few trees) has no out-of-bag
prediction: at a size before the last, the race then goes on with every candidate; at
the full size :func:`tune_out_of_bag` returns ``None`` and the caller uses the inner
cross-validation instead.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from prom.models.calibration import brier_multi, log_loss
from prom.models.preprocess import Preprocessor
from prom.models.specs import ModelSpec
from prom.models.tuning import fit_estimator, survivors

__all__ = [
    "OutOfBagTuning",
    "OutOfBagVotes",
    "forest_rungs",
    "out_of_bag_proba",
    "tune_out_of_bag",
    "out_of_bag_families",
    "out_of_bag_rungs",
    "inner_validation_phrase",
]

#: the smallest forest a candidate is scored at before its full size
MIN_RUNG_TREES = 50
#: the share of the candidates (rounded up) that go on to the next forest size
KEEP_FRACTION = 0.5


def out_of_bag_families(families) -> tuple[str, ...]:
    """The families of ``families`` that are tuned and calibrated out of bag."""
    from prom.models.specs import MODEL_SPECS

    return tuple(f for f in families if f in MODEL_SPECS and MODEL_SPECS[f].out_of_bag)


def out_of_bag_rungs(families, n_iter: int) -> tuple[int, ...]:
    """The forest sizes a fit of ``families`` with ``n_iter`` candidates races its
    out-of-bag candidates at (the manifest's ``out_of_bag_rungs``); ``()`` when there is
    no race (no bagged family, one candidate, or one size only)."""
    from prom.models.specs import MODEL_SPECS

    sizes = {
        int(MODEL_SPECS[f].default_params["n_estimators"]) for f in out_of_bag_families(families)
    }
    if n_iter < 2 or len(sizes) != 1:
        return ()
    rungs = forest_rungs(sizes.pop())
    return tuple(rungs) if len(rungs) > 1 else ()


def inner_validation_phrase(settings) -> str:
    """How a fit's models were tuned and calibrated, for reports: ``"3-fold inner CV"``,
    with the race over the inner folds when the fit recorded one, naming the families a
    fit with these manifest ``settings`` scored out of bag and, when it recorded one, the
    successive-halving race of their candidates."""
    text = f"{settings.inner_cv}-fold inner CV"
    race = getattr(settings, "inner_fold_race", ())
    if race:
        text += (
            f", raced over the folds: {', '.join(str(n) for n in race[:-1])} and {race[-1]} "
            "candidates scored on successive folds, the better half going on after each"
        )
    bagged = getattr(settings, "out_of_bag_families", ())
    if bagged:
        text += f"; {', '.join(bagged)}: out-of-bag predictions instead"
        rungs = getattr(settings, "out_of_bag_rungs", ())
        if rungs:
            text += (
                ", the candidates raced by successive halving (forests of "
                f"{', '.join(str(r) for r in rungs[:-1])} and {rungs[-1]} trees, the better "
                "half going on at each size)"
            )
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
    #: the forest size each candidate's scores were taken at (its last rung)
    trees_scored: list[int] = field(default_factory=list)

    @property
    def best_params(self) -> dict:
        return dict(self.candidates[self.best_index])

    def as_records(self) -> list[dict]:
        """JSON-friendly table of the search: one dict per candidate (as tuning's)."""
        return [
            {"params": dict(c), "log_loss": ll, "brier": b, "trees_scored": t}
            for c, ll, b, t in zip(
                self.candidates, self.log_losses, self.briers, self.trees_scored, strict=True
            )
        ]


class OutOfBagVotes:
    """Running out-of-bag vote totals of one forest, brought up to date as it grows.

    :meth:`add` takes the trees the forest gained since the last call (a forest grown
    with ``warm_start``), so scoring a forest at 50, 100 and 200 trees predicts each tree
    once. The totals are summed tree by tree in the forest's order, so they are the same
    numbers, bit for bit, at any size as scoring that many trees in one go.

    ``Z`` is converted once to the C-contiguous float32 array the trees work on (what
    scikit-learn's own input check makes of it), and every tree predicts all rows with
    ``check_input=False``; a row's vote is kept only from the trees that did not draw it.
    """

    def __init__(self, Z: np.ndarray, n_classes: int):
        self.Z = np.ascontiguousarray(Z, dtype=np.float32)
        n = self.Z.shape[0]
        self.total = np.zeros((n, n_classes))
        self.votes = np.zeros(n)
        self.n_trees = 0

    def add(self, forest) -> None:
        """Add the votes of the trees ``forest`` gained since the last call."""
        trees = forest.estimators_[self.n_trees :]
        if not trees:
            return
        # the rows the new trees drew: a shallow copy holding only the new trees, so the
        # public ``estimators_samples_`` redraws their samples and not every tree's again
        grown = copy.copy(forest)
        grown.estimators_ = trees
        drawn_rows = grown.estimators_samples_
        cols = np.asarray(forest.classes_, dtype=int)
        n = self.Z.shape[0]
        for tree, drawn in zip(trees, drawn_rows, strict=True):
            oob = np.ones(n, dtype=bool)
            oob[drawn] = False
            if not oob.any():
                continue
            p = tree.predict_proba(self.Z, check_input=False)
            self.total[np.ix_(np.flatnonzero(oob), cols)] += p[oob]
            self.votes[oob] += 1
        self.n_trees = len(forest.estimators_)

    def proba(self) -> np.ndarray | None:
        """Each row's mean out-of-bag class probability; ``None`` when some row was drawn
        by every tree so far."""
        if (self.votes == 0).any():
            return None
        return self.total / self.votes[:, None]


def out_of_bag_proba(forest, Z: np.ndarray, n_classes: int) -> np.ndarray | None:
    """Each row's mean class probability over the trees that did not draw it, shape
    ``(n, n_classes)``; ``None`` when some row was drawn by every tree.

    Uses the public ``estimators_samples_`` (the rows each tree drew) and the trees' own
    ``predict_proba``; the forest's classes are the codes ``0 … n_classes - 1``.
    """
    votes = OutOfBagVotes(Z, n_classes)
    votes.add(forest)
    return votes.proba()


def forest_rungs(n_estimators: int) -> list[int]:
    """The forest sizes a candidate is scored at: a quarter, half and all of
    ``n_estimators``, leaving out sizes below :data:`MIN_RUNG_TREES` (a forest of fewer
    than 100 trees is scored only whole)."""
    sizes = [n_estimators // 4, n_estimators // 2]
    return [s for s in sizes if s >= MIN_RUNG_TREES] + [int(n_estimators)]


@dataclass
class _Entrant:
    """One candidate in the race: its forest (grown with ``warm_start``) and votes."""

    index: int
    forest: Any
    votes: Any  # OutOfBagVotes, None once dropped
    full: int
    log_loss: float = np.inf
    brier: float = np.inf
    oob: np.ndarray | None = None
    trees: int = 0  # the forest size the scores were taken at

    def grow(self, spec: ModelSpec, Z: np.ndarray, y: np.ndarray, size: int) -> bool:
        """Grow to ``size`` trees (at most its own ``n_estimators``) and score; ``False``
        if a row has no out-of-bag tree yet."""
        target = min(size, self.full)
        if self.votes.n_trees < target:  # else already grown to its full size and scored
            self.forest.set_params(n_estimators=target)
            fit_estimator(spec, self.forest, Z, y)
            self.votes.add(self.forest)
            self.oob = self.votes.proba()
            self.trees = target
        if self.oob is None:
            return False
        self.log_loss = log_loss(y, self.oob)
        self.brier = brier_multi(y, self.oob)
        return True

    def drop(self) -> None:
        """Out of the race: let its forest and votes go (the scores stay)."""
        self.forest = self.votes = self.oob = None


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
    """Random search for a bagged family scored out of bag, by successive halving (see
    the module docstring).

    ``pre_params`` are the final preprocessor's (``handle_unknown="warn"``); ``y`` the
    class codes. ``None`` when a candidate still in the race leaves a row without
    out-of-bag trees at its full size, or the design has no usable column (the caller's
    ordinary path then says why).
    """
    n_classes = int(y.max()) + 1
    pre = Preprocessor(**pre_params)
    Z = pre.fit_transform(frame)
    if Z.shape[1] == 0:
        return None
    entrants = []
    for i, params in enumerate(candidates):
        forest = spec.make_estimator(params, n_classes, random_state, n_jobs)
        forest.set_params(warm_start=True)
        full = int(forest.get_params()["n_estimators"])
        entrants.append(_Entrant(i, forest, OutOfBagVotes(Z, n_classes), full))
    rungs = forest_rungs(max(e.full for e in entrants))
    racing = entrants
    for r, size in enumerate(rungs):
        last = r == len(rungs) - 1
        scored = [e.grow(spec, Z, y, size if not last else e.full) for e in racing]
        if last:
            if not all(scored):
                return None
            break
        if all(scored):  # a row without out-of-bag trees yet: no one is left behind
            keep = survivors(len(racing), KEEP_FRACTION)
            ranked = sorted(racing, key=lambda e: (e.log_loss, e.index))
            racing = ranked[:keep]
            for e in ranked[keep:]:
                e.drop()
    best = min(racing, key=lambda e: (e.log_loss, e.index))
    best.forest.set_params(warm_start=False)
    if best.oob is None:
        return None
    return OutOfBagTuning(
        list(candidates),
        [e.log_loss for e in entrants],
        [e.brier for e in entrants],
        best.index,
        best.oob,
        pre,
        best.forest,
        [e.trees for e in entrants],
    )
