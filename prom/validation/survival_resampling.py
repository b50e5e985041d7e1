"""Resampling validation of a survival model: repeated cross-validation, bootstrap optimism.

The survival counterparts of :func:`~prom.validation.cross_validated_predictions` and
:func:`~prom.validation.bootstrap_optimism`, for an estimator with ``fit(X, y)`` (``y`` a
DataFrame with ``time`` and ``event``), ``predict(X)`` (a linear predictor: higher means an
earlier event) and ``predict_survival(X, [t])`` — :class:`prom.models.PromCoxModel`. Every
fit is on a clone, so the whole pipeline (preprocessing included) is refitted per fold and
per bootstrap sample.

What is computed
----------------
Every set of out-of-fold predictions is scored by
:func:`~prom.validation.survival_performance.survival_performance` on the scale of the
log cumulative hazard at the horizon, ``lh = log(-log S(horizon | x))``, which unlike the
linear predictor is comparable between fits: Harrell's C, the calibration slope and
calibration at the horizon (O/E and per risk decile).

Cross-validation (:func:`cross_validated_survival`)
---------------------------------------------------
``n_repeats`` × ``n_splits``-fold CV stratified by event status. Per repeat the pooled
out-of-fold ``lh`` of all rows gives the metrics above (``per_repeat``); the headline is
their mean over repeats. The interval of C and of the slope is a percentile bootstrap over
patients (``n_boot`` resamples of rows, the out-of-fold predictions held fixed, each
replicate's value the mean over repeats): it reflects the sampling of patients, not the
variation between refits. Each fold's own held-out C is in ``fold_c`` (its mean and SD
over folds in the summary). The decile table uses each row's ``lh`` averaged over the
repeats.

Bootstrap optimism (:func:`survival_bootstrap_optimism`)
-------------------------------------------------------
Harrell's correction (``rms::validate.cph``) for C and the calibration slope of the
linear predictor: fit on each bootstrap sample, score it on the sample and on the original
rows, subtract the mean difference from the apparent value. Samples whose fit fails (a
``ValueError``, e.g. a Cox fit that does not converge) are skipped and counted.
"""

from __future__ import annotations

import warnings
from collections import Counter
from dataclasses import dataclass

import numpy as np
import pandas as pd

from prom.errors import StatisticalWarning
from prom.options import SEED, Count, check_option
from prom.parallel import (
    CaughtWarning,
    batches,
    parallel_map,
    reissue_warnings,
    resolve_n_jobs,
    run_quietly,
)
from prom.validation import _checks
from prom.validation.resampling.bootstrap import OptimismResult, optimism_table
from prom.validation.resampling.inputs import take_rows
from prom.validation.survival_metrics import count_concordance, fit_cox_slope
from prom.validation.survival_performance import survival_performance

__all__ = [
    "SurvivalCVResult",
    "cross_validated_survival",
    "survival_bootstrap_optimism",
]


# ---- fitting (in worker processes when n_jobs > 1) -------------------------------------


def _target(t, e, idx) -> pd.DataFrame:
    return pd.DataFrame({"time": t[idx], "event": e[idx]})


def _fold_task(estimator, X, t, e, train, test, horizon):
    from sklearn.base import clone

    def work():
        est = clone(estimator).fit(take_rows(X, train), _target(t, e, train))
        Xt = take_rows(X, test)
        s = est.predict_survival(Xt, [horizon]).to_numpy(dtype=float)[:, 0]
        return np.asarray(est.predict(Xt), dtype=float), np.log(-np.log(s))

    return run_quietly(work)


def _c_slope(t, e, score) -> tuple[float, float]:
    """C and Efron slope without warnings; NaN where undefined (resampled data)."""
    if not e.any():
        return np.nan, np.nan
    try:
        c = count_concordance(t, e, score).c
    except ValueError:
        c = np.nan
    try:
        s = fit_cox_slope(t, e, score, "efron")[0] if np.ptp(score) > 0 else np.nan
    except ValueError:
        s = np.nan
    return c, s


#: one bootstrap sample: its number, ((C, slope) in the sample, (C, slope) on all rows)
#: or None when the fit failed, and then the first line of the error
_Replicate = tuple[int, tuple[tuple[float, float], tuple[float, float]] | None, str | None]


def _boot_task(estimator, X, t, e, boots):
    from sklearn.base import clone

    def work() -> list[_Replicate]:
        out: list[_Replicate] = []
        for b, idx in boots:
            try:
                est = clone(estimator).fit(take_rows(X, idx), _target(t, e, idx))
            except ValueError as err:
                out.append((b, None, str(err).splitlines()[0]))
                continue
            boot = _c_slope(t[idx], e[idx], np.asarray(est.predict(take_rows(X, idx)), dtype=float))
            test = _c_slope(t, e, np.asarray(est.predict(X), dtype=float))
            out.append((b, (boot, test), None))
        return out

    return run_quietly(work)


# ---- cross-validation -------------------------------------------------------------------


@dataclass(frozen=True)
class SurvivalCVResult:
    """Out-of-fold predictions of repeated k-fold CV of a survival model.

    ``log_cumulative_hazard`` and ``linear_predictor``: shape ``(n_repeats, n)``, each
    row's value from the fit without its fold; ``folds``: the fold each row was held out
    in. ``per_repeat``: the metrics of each repeat's pooled out-of-fold predictions.
    ``fold_c``: each fold's held-out C. ``metrics``: the headline (see the module
    docstring). ``calibration``: the decile table of the repeat-averaged predictions.
    """

    log_cumulative_hazard: np.ndarray
    linear_predictor: np.ndarray
    folds: np.ndarray
    per_repeat: pd.DataFrame
    fold_c: pd.DataFrame
    metrics: dict
    calibration: pd.DataFrame
    horizon: float
    n_splits: int
    n_repeats: int
    n_boot: int
    random_state: int | None

    def mean_log_cumulative_hazard(self) -> np.ndarray:
        """Each row's out-of-fold ``log(-log S(horizon))`` averaged over the repeats."""
        return self.log_cumulative_hazard.mean(axis=0)

    def risk(self) -> np.ndarray:
        """Out-of-fold risk by the horizon from the repeat-averaged log cumulative hazard."""
        return 1.0 - np.exp(-np.exp(self.mean_log_cumulative_hazard()))

    def summary(self) -> str:
        m = self.metrics
        return "\n".join(
            [
                (
                    f"{self.n_splits}-fold cross-validation stratified by event, "
                    f"{self.n_repeats} repeat(s), n = {m['n']}, {m['n_events']} events:"
                ),
                (
                    f"  Harrell's C {m['c']:.3f} (95% bootstrap CI {m['c_low']:.3f}–"
                    f"{m['c_high']:.3f}; per fold {m['c_fold_mean']:.3f} ± {m['c_fold_sd']:.3f})"
                ),
                (
                    f"  calibration slope {m['calibration_slope']:.3f} "
                    f"({m['slope_low']:.3f}–{m['slope_high']:.3f})"
                ),
                (
                    f"  risk by {self.horizon:g}: predicted {m['expected_risk']:.1%}, "
                    f"Kaplan–Meier {m['observed_risk']:.1%} (O/E {m['o_e']:.2f}); mean "
                    f"|predicted − observed| over risk deciles {m['mean_abs_group_error']:.3f}"
                ),
            ]
        )


def cross_validated_survival(
    estimator,
    X,
    y,
    *,
    horizon: float,
    n_splits: int = 5,
    n_repeats: int = 2,
    n_boot: int = 200,
    n_groups: int = 10,
    random_state: int | None = 0,
    n_jobs: int = 1,
    level: float = 0.95,
) -> SurvivalCVResult:
    """Repeated k-fold CV of a survival model; see the module docstring for the metrics."""
    from sklearn.model_selection import RepeatedStratifiedKFold

    a = _checks.survival_inputs(_column(y, "time"), _column(y, "event"))
    t, e = a["time"], a["event"]
    n = t.size
    if len(X) != n:
        raise ValueError(f"X has {len(X)} rows but y has {n}")
    if not np.isfinite(horizon) or horizon <= 0:
        raise ValueError(f"horizon={horizon!r}; expected a positive time")
    n_splits = check_option("n_splits", n_splits, Count(2))
    n_repeats = check_option("n_repeats", n_repeats, Count(1))
    n_boot = check_option("n_boot", n_boot, Count(1))
    seed = check_option("random_state", random_state, SEED)
    n_jobs = resolve_n_jobs(n_jobs)
    if int(e.sum()) < n_splits:
        raise ValueError(
            f"{int(e.sum())} event(s); {n_splits}-fold CV stratified by event "
            "needs at least one event per fold. Use fewer folds."
        )
    rskf = RepeatedStratifiedKFold(n_splits=n_splits, n_repeats=n_repeats, random_state=seed)
    splits = [
        (i // n_splits, i % n_splits, tr, te)
        for i, (tr, te) in enumerate(rskf.split(np.zeros(n), e.astype(int)))
    ]
    results = parallel_map(
        _fold_task,
        [(estimator, X, t, e, tr, te, float(horizon)) for _, _, tr, te in splits],
        n_jobs,
    )
    lh = np.full((n_repeats, n), np.nan)
    lp = np.full((n_repeats, n), np.nan)
    folds = np.full((n_repeats, n), -1, dtype=int)
    caught: list[CaughtWarning] = []
    fold_rows = []
    for (r, f, _, te), ((lp_f, lh_f), w) in zip(splits, results, strict=True):
        lp[r, te], lh[r, te], folds[r, te] = lp_f, lh_f, f
        caught += w
        fold_rows.append(
            {
                "repeat": r,
                "fold": f,
                "n": int(te.size),
                "n_events": int(e[te].sum()),
                "c": _c_slope(t[te], e[te], lp_f)[0],
            }
        )
    reissue_warnings(caught, "while fitting in cross-validation")
    if (folds < 0).any() or not np.isfinite(lh).all():
        raise RuntimeError("cross-validation left rows without a finite out-of-fold prediction")

    with warnings.catch_warnings(record=True) as w_perf:
        warnings.simplefilter("always", StatisticalWarning)
        per = [
            survival_performance(t, e, lh[r], horizon, n_groups=n_groups, level=level)
            for r in range(n_repeats)
        ]
        pooled = survival_performance(
            t, e, lh.mean(axis=0), horizon, n_groups=n_groups, level=level
        )
    for msg in dict.fromkeys(str(m.message) for m in w_perf):
        warnings.warn(msg, StatisticalWarning, stacklevel=2)
    per_repeat = pd.DataFrame(
        [p.metrics() for p in per], index=pd.RangeIndex(n_repeats, name="repeat")
    )
    fold_c = pd.DataFrame(fold_rows)

    idx = np.random.default_rng(seed).integers(0, n, size=(n_boot, n))
    boot = np.array(
        [np.mean([_c_slope(t[i], e[i], lh[r, i]) for r in range(n_repeats)], axis=0) for i in idx]
    )
    q = 100 * np.array([(1 - level) / 2, 1 - (1 - level) / 2])
    c_lo, c_hi = np.nanpercentile(boot[:, 0], q)
    s_lo, s_hi = np.nanpercentile(boot[:, 1], q)
    metrics = {
        "n": n,
        "n_events": int(e.sum()),
        "horizon": float(horizon),
        "events_by_horizon": per[0].events_by_horizon,
        "c": float(per_repeat["c"].mean()),
        "c_low": float(c_lo),
        "c_high": float(c_hi),
        "c_fold_mean": float(fold_c["c"].mean()),
        "c_fold_sd": float(fold_c["c"].std(ddof=1)),
        "calibration_slope": float(per_repeat["calibration_slope"].mean()),
        "slope_low": float(s_lo),
        "slope_high": float(s_hi),
        "expected_risk": float(per_repeat["expected_risk"].mean()),
        "observed_risk": per[0].observed_risk,
        "o_e": float(per[0].observed_risk / per_repeat["expected_risk"].mean()),
        "mean_abs_group_error": float(per_repeat["mean_abs_group_error"].mean()),
        "interval": f"percentile bootstrap over patients, {n_boot} resamples, "
        "out-of-fold predictions fixed",
    }
    for arr in (lh, lp, folds):
        arr.flags.writeable = False
    return SurvivalCVResult(
        log_cumulative_hazard=lh,
        linear_predictor=lp,
        folds=folds,
        per_repeat=per_repeat,
        fold_c=fold_c,
        metrics=metrics,
        calibration=pooled.calibration,
        horizon=float(horizon),
        n_splits=n_splits,
        n_repeats=n_repeats,
        n_boot=n_boot,
        random_state=seed,
    )


def _column(y, name: str):
    if isinstance(y, pd.DataFrame) and name in y.columns:
        return y[name].to_numpy(dtype=float)
    raise TypeError(
        f"y must be a DataFrame with 'time' and 'event' columns (as derive_label "
        f"returns for a survival task); got {type(y).__name__}"
        + (f" with columns {', '.join(map(str, y.columns))}" if isinstance(y, pd.DataFrame) else "")
    )


# ---- bootstrap optimism -----------------------------------------------------------------


def survival_bootstrap_optimism(
    estimator, X, y, *, n_boot: int = 100, random_state: int | None = 0, n_jobs: int = 1
) -> OptimismResult:
    """Harrell's bootstrap optimism of C and the calibration slope of a survival model's
    linear predictor (see the module docstring); an :class:`OptimismResult` with
    ``kind="survival"`` and metrics ``c`` and ``calibration_slope``."""
    from sklearn.base import clone

    a = _checks.survival_inputs(_column(y, "time"), _column(y, "event"))
    t, e = a["time"], a["event"]
    n = t.size
    if len(X) != n:
        raise ValueError(f"X has {len(X)} rows but y has {n}")
    n_boot = check_option("n_boot", n_boot, Count(1))
    seed = check_option("random_state", random_state, SEED)
    n_jobs = resolve_n_jobs(n_jobs)
    idx = np.random.default_rng(seed).integers(0, n, size=(n_boot, n))

    def apparent_fit():
        return clone(estimator).fit(X, _target(t, e, np.arange(n)))

    full, w_app = run_quietly(apparent_fit)
    reissue_warnings(w_app, "while fitting on all rows")
    apparent = _c_slope(t, e, np.asarray(full.predict(X), dtype=float))

    boots = list(enumerate(idx))
    caught: list[CaughtWarning] = []
    reps: list[_Replicate] = []
    tasks = [(estimator, X, t, e, batch) for batch in batches(boots, n_jobs)]
    for res, w in parallel_map(_boot_task, tasks, n_jobs):
        reps += res
        caught += w
    reissue_warnings(caught, "while fitting in bootstrap samples")
    failed = Counter(msg for _, s, msg in reps if s is None)
    n_skipped = sum(failed.values())
    if n_skipped == n_boot:
        raise ValueError(
            f"the fit failed in all {n_boot} bootstrap samples (e.g. {next(iter(failed))})"
        )
    if n_skipped:
        warnings.warn(
            f"{n_skipped} of {n_boot} bootstrap fits failed and were skipped "
            f"(e.g. {next(iter(failed))}); the optimism is the mean over the other "
            f"{n_boot - n_skipped}",
            StatisticalWarning,
            stacklevel=2,
        )
    rows = []
    for b, s, _ in reps:
        if s is None:
            continue
        (c_b, sl_b), (c_t, sl_t) = s
        rows.append(
            {
                "replicate": b,
                "c_boot": c_b,
                "c_test": c_t,
                "c_optimism": c_b - c_t,
                "calibration_slope_boot": sl_b,
                "calibration_slope_test": sl_t,
                "calibration_slope_optimism": sl_b - sl_t,
            }
        )
    replicates = pd.DataFrame(rows)
    return OptimismResult(
        table=optimism_table({"c": apparent[0], "calibration_slope": apparent[1]}, replicates),
        replicates=replicates,
        n_boot=n_boot,
        n_skipped=n_skipped,
        kind="survival",
        random_state=seed,
    )
