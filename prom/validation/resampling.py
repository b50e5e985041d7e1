"""Resampling validation of a whole modelling pipeline.

Three answers to "how well will this model do for new patients?":

``cross_validated_predictions``
    (repeated) stratified k-fold cross-validation: out-of-fold predictions, fold ids and,
    per repeat, the AUC, Brier score and calibration of the pooled out-of-fold predictions.
``bootstrap_optimism``
    Harrell's bootstrap optimism correction (Harrell, Lee & Mark, Stat Med 1996; 15:361;
    Steyerberg, *Clinical Prediction Models*, 2nd ed. 2019, ch. 17; ``rms::validate``).
``internal_external_cv``
    leave one site out at a time (Royston, Parmar & Sylvester, Stat Med 2004; 23:907;
    Steyerberg & Harrell, J Clin Epidemiol 2016; 69:245): per-site performance, pooled
    out-of-site performance and a random-effects meta-analysis across sites
    (``random_effects_meta``; Debray et al., BMJ 2017; 356:i6460; Riley et al., BMJ 2016;
    353:i3140).

The estimator is anything with ``fit`` and ``predict_proba`` that
:func:`sklearn.base.clone` copies: a bare classifier, a Pipeline with its preprocessing, a
``GridSearchCV`` (tuning is then redone inside every fold and every bootstrap sample, as
it must be). The estimator passed in is never fitted; every fit is on a clone. Results
are deterministic for a given ``random_state`` as long as the estimator itself is (fix
its own ``random_state`` if it has one), and do not depend on ``n_jobs``.

Binary outcomes are 0/1 (or boolean; 1 = event) and a model's probability of class 1 is
used. Outcomes with three or more classes (labels of any type) are multiclass: the
probabilities are kept per class, the AUC is the macro one-vs-rest AUC and the Brier score
the multiclass one, ``mean(sum_k (p_k - [y = k])^2)`` (Brier 1950; range 0 to 2).

Calibration intercept and slope need ``logit(p)``: predictions of exactly 0 or 1 (deep
trees, nearest neighbours) are clipped to ``[1e-8, 1 - 1e-8]`` for them, with a
:class:`~prom.errors.StatisticalWarning` giving the count, because the slope then depends
on the clip (it is close to 0 either way, which is the message such a model deserves).
"""

from __future__ import annotations

import warnings
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from numbers import Integral

import numpy as np
import pandas as pd
from scipy.special import expit, logit, ndtri
from scipy.stats import t as t_dist

from prom.errors import StatisticalWarning, format_values
from prom.validation import _checks
from prom.validation._smoothers import logistic_fit
from prom.validation.calibration import calibration_intercept_slope
from prom.validation.discrimination import auc_ci, auc_from_ranks

__all__ = [
    "CVResult",
    "OptimismResult",
    "IECVResult",
    "MetaAnalysis",
    "cross_validated_predictions",
    "bootstrap_optimism",
    "internal_external_cv",
    "random_effects_meta",
]

#: predictions are clipped to [CLIP, 1 - CLIP] where their logit is needed
CLIP = 1e-8
BINARY_METRICS = (
    "auc",
    "brier",
    "scaled_brier",
    "calibration_intercept",
    "calibration_slope",
    "citl",
)
MULTICLASS_METRICS = ("auc", "brier")
_CALIBRATION = {"calibration_intercept", "calibration_slope", "citl"}


# ---- inputs ----------------------------------------------------------------------------


@dataclass(frozen=True)
class _Outcome:
    kind: str  # "binary" or "multiclass"
    classes: tuple
    codes: np.ndarray  # class positions 0..k-1
    fit_y: np.ndarray  # what the estimator is fitted on (0/1 ints or the labels)


def _outcome(y, name: str = "y") -> _Outcome:
    if y is None or isinstance(y, str | bytes | dict | set) or np.isscalar(y):
        raise TypeError(f"{name} must be a 1-D array-like of outcomes; got {type(y).__name__}.")
    if isinstance(y, pd.DataFrame):
        if y.shape[1] != 1:
            raise TypeError(f"{name} must be 1-D; got a DataFrame with {y.shape[1]} columns.")
        y = y.iloc[:, 0]
    if isinstance(y, pd.Series):
        ser = y
    elif isinstance(y, pd.Categorical):
        ser = pd.Series(y)
    else:
        arr = np.asarray(y)
        if arr.ndim != 1:
            raise ValueError(f"{name} must be 1-D; got an array of shape {arr.shape}.")
        ser = pd.Series(arr)
    if ser.empty:
        raise ValueError(f"{name} is empty.")
    miss = np.flatnonzero(ser.isna().to_numpy())
    if miss.size:
        raise ValueError(
            f"{name} has {miss.size} missing value(s) ({_checks.where_rows(y, miss)}); rows "
            "without an outcome are never dropped silently: remove them from X and y first."
        )
    dtype = ser.dtype
    numeric = pd.api.types.is_numeric_dtype(dtype) or pd.api.types.is_bool_dtype(dtype)
    if isinstance(dtype, pd.CategoricalDtype):
        classes = tuple(dtype.categories)
        values = ser.astype(object).to_numpy()
    else:
        values = ser.to_numpy(dtype=float if numeric else object)
        classes = tuple(
            np.unique(values).tolist() if numeric else sorted(pd.unique(values), key=str)
        )
    if numeric and not isinstance(dtype, pd.CategoricalDtype):
        uniq = np.unique(values)
        if set(uniq.tolist()) <= {0.0, 1.0}:
            codes = values.astype(int)
            if uniq.size < 2:
                raise ValueError(
                    f"{name} has a single class: all {values.size} value(s) are {int(uniq[0])}; "
                    "validation needs events and non-events."
                )
            return _Outcome("binary", (0, 1), codes, codes)
        if uniq.size == 2:
            raise ValueError(
                f"{name} has two values ({format_values(uniq.tolist())}); code a binary outcome "
                "as 0/1 (1 = event), e.g. (y == 2).astype(int)."
            )
        if not np.all(uniq == np.round(uniq)):
            raise ValueError(
                f"{name} has {uniq.size} distinct non-integer values (e.g. "
                f"{format_values(uniq[:3].tolist())}); it looks continuous. Validation here is "
                "for binary (0/1) or multiclass outcomes."
            )
    codes = pd.Index(classes).get_indexer(values)
    counts = np.bincount(codes, minlength=len(classes))
    if len(classes) == 2:
        raise ValueError(
            f"{name} has two classes ({format_values(list(classes))}); code a binary outcome "
            f"as 0/1 (1 = event), e.g. (y == {classes[1]!r}).astype(int)."
        )
    if (counts == 0).any() or len(classes) < 2:
        absent = [c for c, m in zip(classes, counts, strict=True) if m == 0]
        if len(classes) - len(absent) < 2:
            raise ValueError(
                f"{name} has a single class ({values[0]!r} in all "
                f"{values.size} rows); validation needs at least two."
            )
        raise ValueError(
            f"class(es) {absent!r} of {name} never occur; drop the unused "
            "categories (y.cat.remove_unused_categories()) first."
        )
    return _Outcome("multiclass", classes, codes, values)


def _n_rows(X, y, n: int) -> None:
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


def _take(X, idx: np.ndarray):
    return X.iloc[idx] if hasattr(X, "iloc") else X[idx]


def _check_estimator(estimator) -> None:
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


def _seed_arg(random_state) -> int | None:
    if random_state is None:
        return None
    if isinstance(random_state, bool) or not isinstance(random_state, Integral):
        raise TypeError(f"random_state must be an integer seed or None; got {random_state!r}.")
    if random_state < 0:
        raise ValueError(f"random_state must be >= 0; got {random_state}.")
    return int(random_state)


def _n_jobs_arg(n_jobs) -> int:
    if isinstance(n_jobs, bool) or not isinstance(n_jobs, Integral):
        raise TypeError(
            f"n_jobs must be an integer (1, 2, …, or -1 for all cores); got {n_jobs!r}."
        )
    if n_jobs == 0 or n_jobs < -1:
        raise ValueError(f"n_jobs must be a positive integer or -1 (all cores); got {n_jobs}.")
    from joblib import effective_n_jobs

    return int(effective_n_jobs(n_jobs))


def _groups_arg(groups, n: int, name: str = "groups") -> np.ndarray:
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


# ---- fitting (runs in worker processes when n_jobs > 1) --------------------------------


def _proba(est, Xt, out_classes: tuple, kind: str) -> np.ndarray:
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


def _run_quietly(fn, *args):
    """``fn(*args)`` with its warnings recorded, to be re-issued once by the caller."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = fn(*args)
    return result, [(w.category, str(w.message)) for w in caught]


def _fit_predict(estimator, X, fit_y, train, tests, classes, kind):
    from sklearn.base import clone

    est = clone(estimator)
    est.fit(_take(X, train), fit_y[train])
    return [_proba(est, X if t is None else _take(X, t), classes, kind) for t in tests]


def _cv_task(estimator, X, fit_y, train, test, classes, kind):
    return _run_quietly(_fit_predict, estimator, X, fit_y, train, [test], classes, kind)


def _boot_task(estimator, X, fit_y, codes, classes, kind, wanted, boots):
    def work():
        out = []
        for b, idx in boots:
            p_boot, p_orig = _fit_predict(estimator, X, fit_y, idx, [idx, None], classes, kind)
            out.append(
                (b, _scores(codes[idx], p_boot, kind, wanted), _scores(codes, p_orig, kind, wanted))
            )
        return out

    return _run_quietly(work)


def _parallel(fn, tasks: list[tuple], n_jobs: int) -> list:
    """Run ``fn(*task)`` for each task; loky processes when ``n_jobs > 1``.

    Each worker may use ``cores // n_jobs`` threads in BLAS/OpenMP (joblib's
    ``inner_max_num_threads``), so that estimators that thread internally (histogram
    gradient boosting, XGBoost, LightGBM) do not oversubscribe the cores.
    """
    if n_jobs == 1 or len(tasks) <= 1:
        return [fn(*t) for t in tasks]
    from joblib import Parallel, cpu_count, delayed, parallel_config

    inner = max(1, cpu_count() // n_jobs)
    with parallel_config(backend="loky", inner_max_num_threads=inner):
        return Parallel(n_jobs=n_jobs)(delayed(fn)(*t) for t in tasks)


def _reissue(caught: list, where: str, stacklevel: int = 3) -> None:
    counts = Counter(caught)
    for (category, message), k in counts.items():
        warnings.warn(
            f"{message} [{where}: {k} time(s)]" if k > 1 else f"{message} [{where}]",
            category,
            stacklevel=stacklevel,
        )


# ---- scores without warnings, for resampled data ---------------------------------------


def _scores(codes: np.ndarray, P: np.ndarray, kind: str, wanted) -> dict:
    """Metric values; NaN where undefined, with the reason under ``"_notes"``."""
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
        for m, v in (
            ("citl", citl),
            ("calibration_intercept", intercept),
            ("calibration_slope", slope),
        ):
            if m in wanted:
                out[m] = v
    out["_notes"] = notes
    return out


def _metrics_arg(metrics, kind: str) -> tuple[str, ...]:
    allowed = BINARY_METRICS if kind == "binary" else MULTICLASS_METRICS
    if metrics is None:
        return (
            ("auc", "brier", "calibration_slope", "calibration_intercept")
            if kind == "binary"
            else MULTICLASS_METRICS
        )
    if isinstance(metrics, str) or not isinstance(metrics, Sequence):
        raise TypeError(
            f"metrics must be a sequence of metric names, e.g. ('auc', 'brier'); got {metrics!r}."
        )
    bad = [m for m in metrics if m not in allowed]
    if bad:
        extra = (
            " (calibration intercept and slope are defined for binary outcomes only)"
            if kind == "multiclass" and set(bad) <= set(BINARY_METRICS)
            else ""
        )
        raise ValueError(
            f"unknown metric(s) {bad!r} for a {kind} outcome; choose from "
            f"{', '.join(allowed)}{extra}."
        )
    if not metrics:
        raise ValueError("metrics is empty; name at least one, e.g. ('auc',).")
    return tuple(dict.fromkeys(metrics))


def _warn_notes(notes: Counter, clipped: int, total: int, what: str, unit: str) -> None:
    """One warning for clipped predictions and one per kind of undefined metric."""
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


def _few_events_warning(codes: np.ndarray, classes: tuple, what: str) -> None:
    counts = np.bincount(codes, minlength=len(classes))
    if counts.min() < _checks.MIN_EVENTS:
        j = int(np.argmin(counts))
        warnings.warn(
            f"only {counts[j]} rows of class {classes[j]!r} among {codes.size}; {what} is "
            f"unstable with fewer than {_checks.MIN_EVENTS}.",
            StatisticalWarning,
            stacklevel=3,
        )


# ---- cross-validation ------------------------------------------------------------------


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
            f"{self.n_splits}-fold stratified cross-validation, {self.n_repeats} repeat(s), "
            f"n = {self.probabilities.shape[1]}, {self.kind} outcome:"
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


def _splits(codes, groups, n_splits, n_repeats, seed):
    from sklearn.model_selection import RepeatedStratifiedKFold, StratifiedGroupKFold

    dummy = np.zeros(codes.size)
    if groups is None:
        rskf = RepeatedStratifiedKFold(n_splits=n_splits, n_repeats=n_repeats, random_state=seed)
        for i, (train, test) in enumerate(rskf.split(dummy, codes)):
            yield i // n_splits, i % n_splits, train, test
        return
    seeds = (
        np.random.SeedSequence(seed).generate_state(n_repeats)
        if seed is not None
        else [None] * n_repeats
    )
    for r in range(n_repeats):
        sgkf = StratifiedGroupKFold(
            n_splits=n_splits,
            shuffle=True,
            random_state=None if seeds[r] is None else int(seeds[r]),
        )
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
    """
    _check_estimator(estimator)
    out = _outcome(y)
    n = out.codes.size
    _n_rows(X, y, n)
    n_splits = _checks.int_arg(n_splits, "n_splits", 2)
    n_repeats = _checks.int_arg(n_repeats, "n_repeats", 1)
    seed = _seed_arg(random_state)
    n_jobs = _n_jobs_arg(n_jobs)
    counts = np.bincount(out.codes, minlength=len(out.classes))
    if counts.min() < n_splits:
        j = int(np.argmin(counts))
        raise ValueError(
            f"class {out.classes[j]!r} has only {counts[j]} row(s); stratified {n_splits}-fold "
            f"cross-validation needs at least {n_splits} of each class. Use fewer folds."
        )
    g = None
    if groups is not None:
        g = _groups_arg(groups, n)
        k = pd.unique(g).size
        if k < n_splits:
            raise ValueError(
                f"groups has {k} distinct value(s); {n_splits}-fold grouped "
                "cross-validation needs at least n_splits groups."
            )
    _few_events_warning(out.codes, out.classes, "cross-validated performance")

    splits = list(_splits(out.codes, g, n_splits, n_repeats, seed))
    tasks = [
        (estimator, X, out.fit_y, train, test, out.classes, out.kind)
        for _, _, train, test in splits
    ]
    results = _parallel(_cv_task, tasks, n_jobs)
    k = len(out.classes)
    shape = (n_repeats, n) if out.kind == "binary" else (n_repeats, n, k)
    probs = np.full(shape, np.nan)
    folds = np.full((n_repeats, n), -1, dtype=int)
    caught: list = []
    for (r, f, _, test), ((pred,), w) in zip(splits, results, strict=True):
        probs[r, test] = pred
        folds[r, test] = f
        caught += w
    _reissue(caught, "while fitting in cross-validation")
    if (folds < 0).any():  # every row must be held out exactly once per repeat
        raise RuntimeError("cross-validation left rows without an out-of-fold prediction.")

    wanted = BINARY_METRICS if out.kind == "binary" else MULTICLASS_METRICS
    rows, notes, clipped = [], Counter(), 0
    for r in range(n_repeats):
        s = _scores(out.codes, probs[r], out.kind, wanted)
        notes.update(s["_notes"])
        clipped += s.get("_clipped", 0)
        rows.append({m: s[m] for m in wanted})
    _warn_notes(notes, clipped, n * n_repeats, "cross-validation", f"of {n_repeats} repeat(s)")
    metrics = pd.DataFrame(rows, index=pd.RangeIndex(n_repeats, name="repeat"))
    probs.flags.writeable = False
    folds.flags.writeable = False
    return CVResult(
        probabilities=probs,
        folds=folds,
        metrics=metrics,
        classes=out.classes,
        kind=out.kind,
        n_splits=n_splits,
        n_repeats=n_repeats,
        random_state=seed,
    )


# ---- bootstrap optimism ----------------------------------------------------------------


@dataclass(frozen=True)
class OptimismResult:
    """Harrell's bootstrap optimism correction of a modelling pipeline.

    ``table``: one row per metric with ``apparent`` (the pipeline fitted and evaluated on
    all rows), ``optimism`` (mean over bootstrap samples of performance in the bootstrap
    sample minus performance of the same fit on the original rows), ``corrected``
    (``apparent - optimism``) and ``n_valid`` (replicates in which the optimism was
    defined). ``replicates``: one row per bootstrap sample used, with ``<metric>_boot``,
    ``<metric>_test`` and ``<metric>_optimism``. ``n_skipped`` samples lacked a class and
    were not used (of ``n_boot`` drawn).
    """

    table: pd.DataFrame
    replicates: pd.DataFrame
    n_boot: int
    n_skipped: int
    kind: str
    random_state: int | None

    @property
    def apparent(self) -> pd.Series:
        return self.table["apparent"]

    @property
    def optimism(self) -> pd.Series:
        return self.table["optimism"]

    @property
    def corrected(self) -> pd.Series:
        return self.table["corrected"]

    def to_frame(self) -> pd.DataFrame:
        return self.table.copy()

    def summary(self) -> str:
        used = self.n_boot - self.n_skipped
        lines = [
            f"Bootstrap optimism correction (Harrell), {used} bootstrap samples"
            + (f" ({self.n_skipped} skipped: a class was absent)" if self.n_skipped else "")
            + ":",
            f"  {'metric':<22} {'apparent':>9} {'optimism':>9} {'corrected':>9}",
        ]
        for m, r in self.table.iterrows():
            lines.append(f"  {m:<22} {r.apparent:>9.3f} {r.optimism:>9.3f} {r.corrected:>9.3f}")
        return "\n".join(lines)


def _indices_arg(indices, n: int) -> np.ndarray:
    arr = np.asarray(indices)
    if arr.dtype.kind not in "iu":
        raise TypeError(
            f"indices must be an integer array of row positions; got dtype {arr.dtype}."
        )
    if arr.ndim != 2 or arr.shape[1] != n or arr.shape[0] < 1:
        raise ValueError(f"indices must have shape (n_boot, n) = (…, {n}); got {arr.shape}.")
    if arr.min() < 0 or arr.max() >= n:
        raise ValueError(
            f"indices must be 0-based row positions in 0 … {n - 1}; got values "
            f"from {arr.min()} to {arr.max()}."
        )
    return arr.astype(np.intp)


def bootstrap_optimism(
    estimator,
    X,
    y,
    *,
    n_boot: int = 200,
    random_state: int | None = 0,
    metrics: Sequence[str] | None = None,
    n_jobs: int = 1,
    indices=None,
) -> OptimismResult:
    """Optimism-corrected performance of a whole modelling pipeline (Harrell's bootstrap).

    1. Fit a clone of ``estimator`` on all rows; its performance on those rows is the
       *apparent* performance.
    2. In each of ``n_boot`` bootstrap samples (n rows drawn with replacement), fit a
       fresh clone on the sample (the whole pipeline: preprocessing, selection, tuning)
       and compute its performance in the bootstrap sample and on the original rows; the
       difference is that sample's *optimism*.
    3. ``corrected = apparent - mean(optimism)``.

    This is ``rms::validate(method = "boot")`` (Harrell, Lee & Mark 1996; Steyerberg 2019,
    ch. 17) for any scikit-learn pipeline. For the calibration slope the apparent value of
    an unpenalised logistic model is 1, and the corrected slope is the bootstrap estimate
    of the shrinkage the model needs. The correction estimates the *expected* optimism of
    the modelling procedure; the performance of one particular fit on new data scatters
    around it.

    Known limit: for learners that reproduce their training rows (unpruned trees, fully
    grown random forests, nearest neighbours) the optimism is badly underestimated, since
    about 63% of the original rows are in each bootstrap sample and are predicted as if
    seen (Efron & Tibshirani, JASA 1997; 92:548). For those use
    :func:`cross_validated_predictions`; the tests show an unpruned tree with a
    "corrected" AUC 0.25 above its cross-validated AUC.

    ``metrics``: names from ``auc``, ``brier``, ``scaled_brier``, ``calibration_slope``,
    ``calibration_intercept``, ``citl`` (binary; default the first, second, fourth and
    fifth) or ``auc`` (macro one-vs-rest), ``brier`` (multiclass; the default).
    Bootstrap samples without every class are skipped, counted in ``n_skipped`` and
    reported in a :class:`~prom.errors.StatisticalWarning`. ``indices`` (shape
    ``(n_boot, n)``, 0-based) replaces the random draws (``n_boot`` and ``random_state``
    are then not used), e.g. to reproduce the resamples of another program.
    ``n_jobs > 1`` fits the samples in parallel processes; the numbers do not change.
    """
    _check_estimator(estimator)
    out = _outcome(y)
    n = out.codes.size
    _n_rows(X, y, n)
    wanted = _metrics_arg(metrics, out.kind)
    seed = _seed_arg(random_state)
    n_jobs = _n_jobs_arg(n_jobs)
    if indices is not None:
        idx = _indices_arg(indices, n)
    else:
        n_boot = _checks.int_arg(n_boot, "n_boot", 1)
        idx = np.random.default_rng(seed).integers(0, n, size=(n_boot, n))
    n_boot = idx.shape[0]
    _few_events_warning(out.codes, out.classes, "the optimism estimate")
    k = len(out.classes)
    present = np.stack([np.bincount(out.codes[i], minlength=k) > 0 for i in idx]).all(axis=1)
    n_skipped = int(np.count_nonzero(~present))
    if n_skipped == n_boot:
        raise ValueError(
            f"all {n_boot} bootstrap samples lack a class; the outcome is too rare for a bootstrap."
        )
    if n_skipped:
        warnings.warn(
            f"{n_skipped} of {n_boot} bootstrap samples lacked an outcome class and were "
            "skipped; the optimism is the mean over the other "
            f"{n_boot - n_skipped}.",
            StatisticalWarning,
            stacklevel=2,
        )

    (p_app,), w_app = _run_quietly(
        _fit_predict, estimator, X, out.fit_y, np.arange(n), [None], out.classes, out.kind
    )
    _reissue(w_app, "while fitting on all rows")
    apparent = _scores(out.codes, p_app, out.kind, wanted)

    boots = [(b, idx[b]) for b in np.flatnonzero(present)]
    chunks = (
        [c for c in np.array_split(np.arange(len(boots)), min(len(boots), 4 * n_jobs)) if c.size]
        if n_jobs > 1
        else [np.arange(len(boots))]
    )
    tasks = [
        (estimator, X, out.fit_y, out.codes, out.classes, out.kind, wanted, [boots[i] for i in c])
        for c in chunks
    ]
    caught, reps = [], []
    for res, w in _parallel(_boot_task, tasks, n_jobs):
        reps += res
        caught += w
    _reissue(caught, "while fitting in bootstrap samples")

    notes, clipped = Counter(), apparent.get("_clipped", 0)
    notes.update({f"{k_} (apparent)": 1 for k_ in apparent["_notes"]})
    rows = []
    for b, s_boot, s_test in reps:
        row = {"replicate": int(b)}
        for m in wanted:
            row[f"{m}_boot"] = s_boot[m]
            row[f"{m}_test"] = s_test[m]
            row[f"{m}_optimism"] = s_boot[m] - s_test[m]
        rows.append(row)
        notes.update({f"{k_} (bootstrap sample)": 1 for k_ in s_boot["_notes"]})
        notes.update({f"{k_} (original rows)": 1 for k_ in s_test["_notes"]})
        clipped += s_boot.get("_clipped", 0) + s_test.get("_clipped", 0)
    replicates = pd.DataFrame(rows)
    _warn_notes(
        notes,
        clipped,
        n * (1 + 2 * len(reps)),
        "bootstrap optimism",
        f"of {len(reps)} evaluation(s)",
    )

    table = []
    for m in wanted:
        opt = replicates[f"{m}_optimism"].to_numpy(dtype=float)
        ok = np.isfinite(opt)
        mean_opt = float(opt[ok].mean()) if ok.any() else np.nan
        table.append(
            {
                "metric": m,
                "apparent": apparent[m],
                "optimism": mean_opt,
                "corrected": apparent[m] - mean_opt,
                "n_valid": int(ok.sum()),
            }
        )
    return OptimismResult(
        table=pd.DataFrame(table).set_index("metric"),
        replicates=replicates,
        n_boot=n_boot,
        n_skipped=n_skipped,
        kind=out.kind,
        random_state=seed,
    )


# ---- random-effects meta-analysis ------------------------------------------------------


@dataclass(frozen=True)
class MetaAnalysis:
    """DerSimonian–Laird random-effects meta-analysis of k estimates.

    ``estimate``/``se``/``low``/``high``: pooled mean, its standard error and Wald
    interval (normal quantile). ``tau2``: between-study variance (DL moment estimator,
    truncated at 0); ``q``: Cochran's Q; ``i2``: ``max(0, (Q - (k - 1)) / Q)``.
    ``pi_low``/``pi_high``: approximate prediction interval for the value in a new
    setting, ``estimate ± t(k - 2) * sqrt(tau2 + se^2)`` (Higgins, Thompson &
    Spiegelhalter, JRSS A 2009; Riley, Higgins & Deeks, BMJ 2011; 342:d549); NaN for
    k < 3.
    """

    estimate: float
    se: float
    low: float
    high: float
    tau2: float
    q: float
    i2: float
    pi_low: float
    pi_high: float
    k: int
    level: float = 0.95


def random_effects_meta(estimates, standard_errors, level: float = 0.95) -> MetaAnalysis:
    """DerSimonian–Laird random-effects meta-analysis (DerSimonian & Laird 1986).

    Weights ``1 / (se_i^2 + tau2)`` with ``tau2 = max(0, (Q - (k - 1)) / (S1 - S2 / S1))``,
    ``S1 = sum(w)``, ``S2 = sum(w^2)``, ``w = 1 / se^2``. Matches metafor
    ``rma(yi, sei = se, method = "DL")`` (estimate, se, interval, tau², Q, I²).
    Needs k >= 2 finite estimates with positive standard errors.
    """
    level = _checks.level_arg(level)
    y = _checks.as_numeric_1d(estimates, "estimates")
    se = _checks.as_numeric_1d(standard_errors, "standard_errors")
    _checks.same_length(estimates=y, standard_errors=se)
    if y.size < 2:
        raise ValueError(f"a meta-analysis needs at least 2 estimates; got {y.size}.")
    bad = np.flatnonzero(se <= 0)
    if bad.size:
        raise ValueError(
            f"standard_errors must be > 0; {bad.size} are not "
            f"({_checks.where_rows(standard_errors, bad)})."
        )
    k = y.size
    w = 1 / se**2
    fe = np.sum(w * y) / w.sum()
    q = float(np.sum(w * (y - fe) ** 2))
    tau2 = max(0.0, (q - (k - 1)) / (w.sum() - np.sum(w**2) / w.sum()))
    wr = 1 / (se**2 + tau2)
    est = float(np.sum(wr * y) / wr.sum())
    se_re = float(np.sqrt(1 / wr.sum()))
    z = float(ndtri(1 - (1 - level) / 2))
    i2 = max(0.0, (q - (k - 1)) / q) if q > 0 else 0.0
    if k >= 3:
        half = float(t_dist.ppf(1 - (1 - level) / 2, k - 2)) * np.sqrt(tau2 + se_re**2)
        pi = (est - half, est + half)
    else:
        pi = (np.nan, np.nan)
    return MetaAnalysis(
        estimate=est,
        se=se_re,
        low=est - z * se_re,
        high=est + z * se_re,
        tau2=float(tau2),
        q=q,
        i2=float(i2),
        pi_low=float(pi[0]),
        pi_high=float(pi[1]),
        k=k,
        level=level,
    )


# ---- internal-external cross-validation ------------------------------------------------


@dataclass(frozen=True)
class IECVResult:
    """Leave-one-site-out (internal–external) cross-validation.

    ``per_site``: one row per site: ``n``, ``events``, ``auc`` with its DeLong ``auc_se``,
    ``auc_low``, ``auc_high``; ``citl``, ``calibration_intercept``, ``calibration_slope``
    (with ``slope_low``/``slope_high``); ``o_e`` (observed / expected events) with
    ``o_e_low``/``o_e_high`` (``se(ln O/E) = sqrt((1 - O/n) / O)``, Debray et al. 2017);
    ``brier``; ``reason``, set when the site's metrics were not estimated (too few
    events or non-events, or a training set without both classes); ``note``, set when
    the site has fewer than 10 events or non-events (possible with ``min_events`` below
    10) or the calibration slope could not be estimated (constant or separating
    predictions). ``pooled``: the same
    metrics on all out-of-site predictions together (one row). ``meta``: random-effects
    meta-analyses of the site estimates (rows ``auc`` on the logit scale, ``o_e`` on the
    log scale, ``calibration_slope`` as is, each back-transformed): ``estimate``,
    ``low``, ``high``, ``pi_low``, ``pi_high``, ``tau2`` (on the analysis scale), ``i2``,
    ``k``. ``predictions``: every row's out-of-site probability.
    """

    per_site: pd.DataFrame
    pooled: pd.DataFrame
    meta: pd.DataFrame
    predictions: np.ndarray
    min_events: int
    level: float

    def to_frame(self) -> pd.DataFrame:
        return self.per_site.copy()

    def summary(self) -> str:
        ok = self.per_site["reason"].isna()
        lines = [
            f"Internal-external cross-validation over {len(self.per_site)} sites "
            f"({int(ok.sum())} with site-level metrics):"
        ]
        for site, r in self.per_site.iterrows():
            if pd.isna(r.reason):
                lines.append(
                    f"  {site!s:<16} n={r.n:<6} events={r.events:<5} AUC {r.auc:.3f} "
                    f"({r.auc_low:.3f}-{r.auc_high:.3f})  slope {r.calibration_slope:.2f}"
                    f"  O/E {r.o_e:.2f}"
                )
            else:
                lines.append(f"  {site!s:<16} n={r.n:<6} events={r.events:<5} {r.reason}")
        p = self.pooled.iloc[0]
        lines.append(
            f"  pooled out-of-site: AUC {p.auc:.3f} ({p.auc_low:.3f}-{p.auc_high:.3f}),"
            f" slope {p.calibration_slope:.2f}, O/E {p.o_e:.2f}, Brier {p.brier:.3f}"
        )
        for m, r in self.meta.iterrows():
            pi = (
                f", {int(round(100 * self.level))}% prediction interval {r.pi_low:.3f} to "
                f"{r.pi_high:.3f}"
                if np.isfinite(r.pi_low)
                else ""
            )
            lines.append(
                f"  random-effects {m}: {r.estimate:.3f} ({r.low:.3f} to {r.high:.3f})"
                f"{pi}, tau2 {r.tau2:.4f}, I2 {100 * r.i2:.0f}%"
            )
        return "\n".join(lines)


_SITE_COLS = (
    "n",
    "events",
    "auc",
    "auc_se",
    "auc_low",
    "auc_high",
    "citl",
    "calibration_intercept",
    "calibration_slope",
    "slope_se",
    "slope_low",
    "slope_high",
    "o_e",
    "o_e_low",
    "o_e_high",
    "brier",
)


def _site_metrics(y: np.ndarray, p: np.ndarray, level: float) -> tuple[dict, int, str | None]:
    """Metrics of one site's (or the pooled) predictions, the number of clipped
    predictions, and a note when the calibration slope could not be estimated."""
    z = float(ndtri(1 - (1 - level) / 2))
    pc = np.clip(p, CLIP, 1 - CLIP)
    note = None
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        a = auc_ci(y, p, level=level)
        if pc.min() < pc.max():
            c = calibration_intercept_slope(y, pc, level=level)
            cal = {
                "citl": c.citl,
                "calibration_intercept": c.intercept,
                "calibration_slope": c.slope,
                "slope_se": c.slope_se,
                "slope_low": c.slope_low,
                "slope_high": c.slope_high,
            }
        else:
            note = "constant predictions: no calibration slope"
            cal = {"citl": float(logit(y.mean()) - logit(pc[0]))}
    if any("did not converge" in str(w.message) for w in caught):
        note = "predictions separate the outcome (AUC = 1): no calibration slope"
    o, e = float(y.sum()), float(p.sum())
    se_ln = np.sqrt((1 - o / y.size) / o)
    met = {
        "n": int(y.size),
        "events": int(o),
        "auc": a.auc,
        "auc_se": a.se,
        "auc_low": a.low,
        "auc_high": a.high,
        **cal,
        "o_e": o / e,
        "o_e_low": o / e * np.exp(-z * se_ln),
        "o_e_high": o / e * np.exp(z * se_ln),
        "brier": float(np.mean((p - y) ** 2)),
    }
    return met, int(np.count_nonzero(pc != p)), note


def internal_external_cv(
    estimator, X, y, groups, *, min_events: int = 10, n_jobs: int = 1, level: float = 0.95
) -> IECVResult:
    """Leave one site out at a time: fit on the other sites, evaluate on the held-out one.

    For each site (each distinct value of ``groups``), a clone of ``estimator`` is fitted
    on all other sites and predicts the held-out site's rows, so every row gets an
    out-of-site prediction. Site-level metrics (see :class:`IECVResult`) are estimated
    when the site has at least ``min_events`` events and ``min_events`` non-events;
    otherwise the site keeps a row with the reason, its rows still count in the pooled
    metrics, and it is left out of the meta-analysis (with a
    :class:`~prom.errors.StatisticalWarning`).

    Across sites, the AUC is meta-analysed on the logit scale with
    ``se(logit AUC) = se(AUC) / (AUC (1 - AUC))`` (delta method) and O/E on the log scale
    (the scales recommended by Debray et al., BMJ 2017; 356:i6460), the calibration slope
    on its own scale, each by DerSimonian–Laird with a prediction interval from
    ``t(k - 2)`` (:func:`random_effects_meta`; Riley, Higgins & Deeks, BMJ 2011;
    342:d549; Riley et al., BMJ 2016; 353:i3140). The pooled metrics mix
    between-site differences into one number; the meta-analysis and its prediction
    interval say how much performance varies from one site to the next.

    Binary outcomes only.
    """
    _check_estimator(estimator)
    out = _outcome(y)
    if out.kind != "binary":
        raise ValueError(
            f"internal_external_cv is for binary (0/1) outcomes; y has {len(out.classes)} classes."
        )
    n = out.codes.size
    _n_rows(X, y, n)
    g = _groups_arg(groups, n)
    min_events = _checks.int_arg(min_events, "min_events", 1)
    level = _checks.level_arg(level)
    n_jobs = _n_jobs_arg(n_jobs)
    sites = pd.unique(g)
    if sites.size < 2:
        raise ValueError(
            f"groups has a single site ({sites[0]!r}); internal-external "
            "cross-validation needs at least 2 (3 for a prediction interval)."
        )
    yv = out.codes.astype(float)
    masks = [g == s for s in sites]
    tasks, reasons = [], {}
    for s, m in zip(sites, masks, strict=True):
        train_y = out.codes[~m]
        if train_y.min() == train_y.max():
            reasons[s] = "the other sites have a single outcome class: no model was fitted"
            continue
        tasks.append(
            (estimator, X, out.fit_y, np.flatnonzero(~m), np.flatnonzero(m), out.classes, out.kind)
        )
    fitted_sites = [s for s in sites if s not in reasons]
    results = _parallel(_cv_task, tasks, n_jobs)
    preds = np.full(n, np.nan)
    caught = []
    for s, ((p,), w) in zip(fitted_sites, results, strict=True):
        preds[g == s] = p
        caught += w
    _reissue(caught, "while fitting in internal-external cross-validation")

    rows, clipped = [], 0
    for s, m in zip(sites, masks, strict=True):
        ev = int(yv[m].sum())
        row = {"site": s, "n": int(m.sum()), "events": ev}
        non = row["n"] - ev
        if s not in reasons and min(ev, non) < min_events:
            reasons[s] = (
                f"{ev} events and {non} non-events; site-level metrics need at least "
                f"min_events={min_events} of each (rows kept in the pooled results)"
            )
        if s in reasons:
            row["reason"] = reasons[s]
        else:
            met, c, note = _site_metrics(yv[m], preds[m], level)
            clipped += c
            row.update(met)
            row["reason"] = None
            if min(ev, non) < _checks.MIN_EVENTS:
                few = (
                    f"{min(ev, non)} {'events' if ev <= non else 'non-events'}: site-level "
                    f"estimates are unstable with fewer than {_checks.MIN_EVENTS}"
                )
                note = few if note is None else f"{few}; {note}"
            row["note"] = note
        rows.append(row)
    per_site = pd.DataFrame(rows, columns=["site", *_SITE_COLS, "reason", "note"])
    per_site = per_site.set_index("site")
    per_site[["reason", "note"]] = per_site[["reason", "note"]].astype(object)
    done = np.isfinite(preds)
    if np.unique(yv[done]).size == 2:
        pooled_met, c, note = _site_metrics(yv[done], preds[done], level)
        clipped += c
    else:
        pooled_met = {"n": int(done.sum()), "events": int(yv[done].sum())}
        note = "the out-of-site predictions cover a single outcome class: nothing to evaluate"
    pooled = pd.DataFrame([{**pooled_met, "note": note}], columns=[*_SITE_COLS, "note"])
    if clipped:
        _warn_notes(Counter(), clipped, n, "internal-external cross-validation", "")
    skipped = per_site[per_site["reason"].notna()]
    if len(skipped):
        shown = "; ".join(f"{s!r}: {r}" for s, r in skipped["reason"].items())
        warnings.warn(
            f"{len(skipped)} of {len(sites)} sites have no site-level metrics and are left out "
            f"of the meta-analysis ({shown}).",
            StatisticalWarning,
            stacklevel=2,
        )

    ok = per_site[per_site["reason"].isna()]
    meta_rows = []
    if len(ok) >= 2:
        auc = ok["auc"].to_numpy(float)
        with np.errstate(divide="ignore"):
            specs = {
                "auc": (logit(auc), ok["auc_se"].to_numpy(float) / (auc * (1 - auc)), expit),
                "o_e": (
                    np.log(ok["o_e"].to_numpy(float)),
                    np.sqrt((1 - ok["events"] / ok["n"]) / ok["events"]).to_numpy(float),
                    np.exp,
                ),
                "calibration_slope": (
                    ok["calibration_slope"].to_numpy(float),
                    ok["slope_se"].to_numpy(float),
                    lambda v: v,
                ),
            }
        for name, (est, se, back) in specs.items():
            fin = np.isfinite(est) & np.isfinite(se) & (se > 0)
            if fin.sum() < 2:
                continue
            ma = random_effects_meta(est[fin], se[fin], level=level)
            meta_rows.append(
                {
                    "metric": name,
                    "estimate": float(back(ma.estimate)),
                    "low": float(back(ma.low)),
                    "high": float(back(ma.high)),
                    "pi_low": float(back(ma.pi_low)),
                    "pi_high": float(back(ma.pi_high)),
                    "tau2": ma.tau2,
                    "i2": ma.i2,
                    "k": ma.k,
                }
            )
    meta = pd.DataFrame(
        meta_rows,
        columns=["metric", "estimate", "low", "high", "pi_low", "pi_high", "tau2", "i2", "k"],
    ).set_index("metric")
    preds.flags.writeable = False
    return IECVResult(
        per_site=per_site,
        pooled=pooled,
        meta=meta,
        predictions=preds,
        min_events=min_events,
        level=level,
    )
