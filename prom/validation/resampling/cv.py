"""(Repeated) stratified k-fold cross-validation of a whole modelling pipeline.

:func:`cross_validated_predictions` returns every row's out-of-fold prediction per repeat,
the fold it was held out in and, per repeat, the AUC, Brier score and calibration of the
pooled out-of-fold predictions (:class:`CVResult`).
"""

from __future__ import annotations

import warnings
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from prom.options import SEED, Count, check_option
from prom.parallel import (
    Batch,
    CaughtWarning,
    parallel_map,
    reissue_warnings,
    resolve_n_jobs,
    run_batches,
)
from prom.validation.outcome_encoding import encode_outcome
from prom.validation.resampling.fitting import fit_predict_held_out
from prom.validation.resampling.inputs import check_estimator, check_groups, check_rows
from prom.validation.resampling.scores import (
    BINARY_METRICS,
    MULTICLASS_METRICS,
    resample_scores,
    warn_few_events,
    warn_notes,
)

__all__ = ["CVResult", "cross_validated_predictions", "cross_validate_each", "PendingCV"]


@dataclass(frozen=True)
class CVResult:
    """Out-of-fold predictions of (repeated) stratified k-fold cross-validation.

    ``probabilities``: shape ``(n_repeats, n)`` (binary: probability of class 1) or
    ``(n_repeats, n, k)`` (multiclass, columns in ``classes`` order); every row's value in
    repeat r comes from the model fitted without that row's fold. ``folds``: shape
    ``(n_repeats, n)``, the fold (0 … n_splits - 1) each row was held out in.
    ``metrics``: one row per repeat, computed on that repeat's pooled out-of-fold
    predictions: ``auc``, ``brier`` and, for binary outcomes, ``scaled_brier``,
    ``calibration_intercept``, ``calibration_slope``, ``citl``. Arrays are read-only.
    """

    probabilities: np.ndarray
    folds: np.ndarray
    metrics: pd.DataFrame
    classes: tuple
    kind: str
    n_splits: int
    n_repeats: int
    random_state: int | None

    def mean_probabilities(self) -> np.ndarray:
        """Out-of-fold predictions averaged over the repeats, shape ``(n,)`` or ``(n, k)``."""
        return self.probabilities.mean(axis=0)

    def to_frame(self) -> pd.DataFrame:
        """The per-repeat metrics (a copy)."""
        return self.metrics.copy()

    def summary(self) -> str:
        m = self.metrics
        lines = [
            (
                f"{self.n_splits}-fold stratified cross-validation, {self.n_repeats} "
                f"repeat(s), n = {self.probabilities.shape[1]}, {self.kind} outcome:"
            )
        ]
        for col in m.columns:
            v = m[col].to_numpy(dtype=float)
            if self.n_repeats > 1:
                lines.append(
                    f"  {col:<22} {np.mean(v):.3f} (range {np.min(v):.3f} to "
                    f"{np.max(v):.3f} over repeats)"
                )
            else:
                lines.append(f"  {col:<22} {v[0]:.3f}")
        return "\n".join(lines)


def _splits(
    codes: np.ndarray, groups: np.ndarray | None, n_splits: int, n_repeats: int, seed: int | None
) -> Iterator[tuple[int, int, np.ndarray, np.ndarray]]:
    """``(repeat, fold, train rows, test rows)`` of every fit, stratified by outcome; with
    ``groups``, a group's rows are always in the same fold."""
    from sklearn.model_selection import RepeatedStratifiedKFold, StratifiedGroupKFold

    dummy = np.zeros(codes.size)
    if groups is None:
        rskf = RepeatedStratifiedKFold(n_splits=n_splits, n_repeats=n_repeats, random_state=seed)
        for i, (train, test) in enumerate(rskf.split(dummy, codes)):
            yield i // n_splits, i % n_splits, train, test
        return
    seeds: list[int | None] = (
        [int(s) for s in np.random.SeedSequence(seed).generate_state(n_repeats)]
        if seed is not None
        else [None] * n_repeats
    )
    for r in range(n_repeats):
        sgkf = StratifiedGroupKFold(n_splits=n_splits, shuffle=True, random_state=seeds[r])
        for f, (train, test) in enumerate(sgkf.split(dummy, codes, groups)):
            yield r, f, train, test


def cross_validated_predictions(
    estimator,
    X,
    y,
    *,
    n_splits: int = 5,
    n_repeats: int = 1,
    random_state: int | None = 0,
    n_jobs: int = 1,
    groups=None,
    progress: Callable[[int, int], None] | None = None,
) -> CVResult:
    """Out-of-fold predicted probabilities from (repeated) stratified k-fold CV.

    Each repeat splits the rows into ``n_splits`` folds stratified by outcome (a fresh
    shuffle per repeat, from ``random_state``), fits a clone of ``estimator`` on all folds
    but one and predicts the held-out fold. With ``groups`` (e.g. ``patient_id`` when a
    patient has several episodes) a group's rows are always in the same fold
    (``StratifiedGroupKFold``). Metrics are computed per repeat on the pooled
    out-of-fold predictions (the n rows together), not averaged over folds, so that small
    folds do not make the calibration slope unstable.

    ``n_jobs > 1`` fits the folds in parallel processes (joblib loky), each limited to
    ``cores // n_jobs`` BLAS/OpenMP threads; the results are identical to ``n_jobs=1``.
    ``progress(done, total)`` is called as each fit (fold × repeat) finishes.
    """
    plan = _plan(estimator, X, y, n_splits, n_repeats, random_state, groups)
    results = parallel_map(
        fit_predict_held_out,
        plan.tasks,
        resolve_n_jobs(n_jobs),
        None if progress is None else lambda i, _: progress(i + 1, len(plan.tasks)),
    )
    return _result(plan, results)


@dataclass(frozen=True)
class _Plan:
    """The checked inputs of one cross-validation and its fits, before they are run."""

    out: Any
    n_splits: int
    n_repeats: int
    seed: int | None
    splits: list[tuple[int, int, np.ndarray, np.ndarray]]
    tasks: list[tuple]


def _plan(estimator, X, y, n_splits, n_repeats, random_state, groups) -> _Plan:
    check_estimator(estimator)
    out = encode_outcome(y)
    n = out.codes.size
    check_rows(X, y, n)
    n_splits = check_option("n_splits", n_splits, Count(2))
    n_repeats = check_option("n_repeats", n_repeats, Count(1))
    seed = check_option("random_state", random_state, SEED)
    counts = np.bincount(out.codes, minlength=len(out.classes))
    if counts.min() < n_splits:
        j = int(np.argmin(counts))
        raise ValueError(
            f"class {out.classes[j]!r} has only {counts[j]} row(s); stratified {n_splits}-fold "
            f"cross-validation needs at least {n_splits} of each class. Use fewer folds."
        )
    g = None
    if groups is not None:
        g = check_groups(groups, n)
        k = pd.unique(g).size
        if k < n_splits:
            raise ValueError(
                f"groups has {k} distinct value(s); {n_splits}-fold grouped "
                "cross-validation needs at least n_splits groups."
            )
    warn_few_events(out.codes, out.classes, "cross-validated performance")

    splits = list(_splits(out.codes, g, n_splits, n_repeats, seed))
    tasks = [
        (estimator, X, out.fit_y, train, test, out.classes, out.kind)
        for _, _, train, test in splits
    ]
    return _Plan(out, n_splits, n_repeats, seed, splits, tasks)


def _result(plan: _Plan, results: list) -> CVResult:
    out, n_repeats = plan.out, plan.n_repeats
    n = out.codes.size
    k = len(out.classes)
    shape = (n_repeats, n) if out.kind == "binary" else (n_repeats, n, k)
    probs = np.full(shape, np.nan)
    folds = np.full((n_repeats, n), -1, dtype=int)
    caught: list[CaughtWarning] = []
    for (r, f, _, test), ((pred,), w) in zip(plan.splits, results, strict=True):
        probs[r, test] = pred
        folds[r, test] = f
        caught += w
    reissue_warnings(caught, "while fitting in cross-validation", stacklevel=4)
    if (folds < 0).any():  # every row must be held out exactly once per repeat
        raise RuntimeError("cross-validation left rows without an out-of-fold prediction.")

    wanted = BINARY_METRICS if out.kind == "binary" else MULTICLASS_METRICS
    rows, notes, clipped = [], Counter[str](), 0
    for r in range(n_repeats):
        s = resample_scores(out.codes, probs[r], out.kind, wanted)
        notes.update(s["_notes"])
        clipped += s.get("_clipped", 0)
        rows.append({m: s[m] for m in wanted})
    warn_notes(notes, clipped, n * n_repeats, "cross-validation", f"of {n_repeats} repeat(s)")
    metrics = pd.DataFrame(rows, index=pd.RangeIndex(n_repeats, name="repeat"))
    probs.flags.writeable = False
    folds.flags.writeable = False
    return CVResult(
        probabilities=probs,
        folds=folds,
        metrics=metrics,
        classes=out.classes,
        kind=out.kind,
        n_splits=plan.n_splits,
        n_repeats=n_repeats,
        random_state=plan.seed,
    )


def cross_validate_each(
    estimators: Mapping[str, Any],
    X,
    y,
    *,
    n_splits: int = 5,
    random_state: int | None = 0,
    n_jobs: int = 1,
    progress: Callable[[str, int, int], None] | None = None,
    collect: Callable[[str], AbstractContextManager] | None = None,
) -> dict[str, CVResult]:
    """:func:`cross_validated_predictions` of each estimator (name → estimator), on the
    same folds, with the fits of all of them in one pool of workers.

    The results are those of calling :func:`cross_validated_predictions` for each in turn
    (same folds, same seed, same numbers); what changes is the scheduling: the slow
    families' folds no longer leave a worker idle while the last fold of a family runs
    alone. The fits are handed out in the order given (put the slowest first).
    ``progress(name, done, total)`` counts each estimator's folds as they finish;
    ``collect(name)``, when given, is a context manager that receives the warnings of
    that estimator's results (e.g. :meth:`prom.workflows.cautions.Cautions.collect`).
    """
    pending = PendingCV(estimators, X, y, n_splits=n_splits, random_state=random_state)
    (results,) = run_batches([pending.batch(progress)], resolve_n_jobs(n_jobs))
    return pending.finish(results, collect)


class PendingCV:
    """:func:`cross_validate_each` in two halves, for a pool shared with other steps.

    ``PendingCV(estimators, X, y, ...)`` checks the inputs and plans the folds (the
    checks' cautions are issued here); :meth:`batch` gives the fits as a
    :class:`prom.parallel.Batch` for :func:`prom.parallel.run_batches`; :meth:`finish`
    turns that batch's results into the :class:`CVResult` of each estimator.
    """

    def __init__(
        self,
        estimators: Mapping[str, Any],
        X,
        y,
        *,
        n_splits: int = 5,
        random_state: int | None = 0,
    ) -> None:
        self.names = list(estimators)
        self.plans = {}
        for i, name in enumerate(self.names):
            with warnings.catch_warnings():
                if i:  # the checks' cautions are about y alone: said once, for the first
                    warnings.simplefilter("ignore")
                self.plans[name] = _plan(estimators[name], X, y, n_splits, 1, random_state, None)
        # each estimator's folds together, in the order given
        self.order = [(name, j) for name in self.names for j in range(len(self.plans[name].tasks))]

    def batch(
        self,
        progress: Callable[[str, int, int], None] | None = None,
        ranks: Mapping[str, int] | None = None,
    ) -> Batch:
        """The fits; ``ranks`` (name → rank, default the order given) place them in a
        shared pool (:class:`prom.parallel.Batch`)."""
        done = dict.fromkeys(self.names, 0)

        def tick(i: int, _: Any) -> None:
            name = self.order[i][0]
            done[name] += 1
            if progress is not None:
                progress(name, done[name], len(self.plans[name].tasks))

        rank = {n: i for i, n in enumerate(self.names)} if ranks is None else ranks
        return Batch(
            calls=[(fit_predict_held_out, self.plans[n].tasks[j]) for n, j in self.order],
            ranks=[rank[n] for n, _ in self.order],
            on_done=tick,
        )

    def finish(
        self,
        results: list,
        collect: Callable[[str], AbstractContextManager] | None = None,
    ) -> dict[str, CVResult]:
        """Each estimator's :class:`CVResult` from :meth:`batch`'s results (in its call
        order); its warnings go to ``collect(name)`` when given."""
        by_name: dict[str, list] = {n: [None] * len(self.plans[n].tasks) for n in self.names}
        for (name, j), r in zip(self.order, results, strict=True):
            by_name[name][j] = r
        out = {}
        for name in self.names:
            with collect(name) if collect is not None else nullcontext():
                out[name] = _result(self.plans[name], by_name[name])
        return out
