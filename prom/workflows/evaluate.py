"""Validate a bundle on new data (a new site), optionally recalibrating it there.

:func:`evaluate_bundle` derives each task's label in the new data exactly as the bundle
defines it (the MCID threshold or class column recorded in its manifest), predicts with
every model in the bundle, and reports discrimination and calibration on those rows.
With ``recalibrate='intercept'`` or ``'intercept_slope'`` it also fits a logistic
recalibration of each binary model on the new rows (ranking, hence AUC, unchanged) and
reports calibration after it; :func:`recalibrated_fits` turns that into a new bundle.

A survival task (Cox models) is scored at the horizon recorded in the bundle: Harrell's C
(Wald interval from survival's infinitesimal-jackknife SE), the calibration slope of the
log cumulative hazard at the horizon, and predicted against Kaplan–Meier risk at the
horizon (O/E and the mean gap over risk deciles; :func:`prom.validation.survival_performance`).
``recalibrate='intercept'`` is, for a Cox model, the analogue of a new intercept: the
Breslow baseline hazard is re-estimated on the new rows with the coefficients kept
(:meth:`prom.models.PromCoxModel.recalibrate_baseline`; C unchanged).
``'intercept_slope'`` is refused for a survival task: rescaling the coefficients is a
refit, not a recalibration.

Every task's labelled rows are matched against the development rows its bundle records
(:mod:`prom.workflows.development_overlap`): ``development`` says how many were
development rows, and so whether the figures are apparent performance; with
``exclude_development_rows=True`` those rows are left out and the figures are on the
new rows only.
"""

from __future__ import annotations

import dataclasses
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from prom.bundle import Bundle, BundleTask, ClassifierTaskEntry, SurvivalTaskEntry
from prom.errors import PromError, StatisticalWarning
from prom.options import RECALIBRATION, check_option
from prom.workflows.development_overlap import DevelopmentOverlap, check_development_rows
from prom.workflows.missing import check_bundle_columns

__all__ = [
    "EvaluationResult",
    "MIN_RECALIBRATION_EVENTS",
    "PRECISE_EVENTS",
    "evaluate_bundle",
    "recalibrated_fits",
]


@dataclass
class EvaluationResult:
    """Per task: a metrics table (one row per model), the rows used, and how many of the
    evaluation rows were development rows (``development``)."""

    tables: dict[str, pd.DataFrame]
    row_accounting: dict[str, dict[str, int]]
    recalibrated: dict[str, dict[str, Any]] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    development: dict[str, DevelopmentOverlap] = field(default_factory=dict)
    #: per task: subgroup tables of the primary and baseline models on these rows
    #: (:func:`prom.workflows.subgroups.evaluation_subgroups`)
    subgroups: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: per recalibrated task: the development record with the recalibration rows added
    #: (``None`` when they could not be added) and a sentence saying what was recorded
    recalibration_rows: dict[str, tuple[Any, str]] = field(default_factory=dict)
    #: per task recalibrated on fewer than :data:`MIN_RECALIBRATION_EVENTS` events (or
    #: non-events): the caution a bundle written from it carries
    small_recalibration: dict[str, str] = field(default_factory=dict)


#: Fewer events (or non-events) than this make a recalibration unstable (the recalibration
#: functions warn below it too); ``prom evaluate --out`` then writes no bundle unless asked.
MIN_RECALIBRATION_EVENTS = 10
#: External validation wants about this many events and as many non-events for precise
#: calibration figures (Collins, Ogundimu & Altman, Stat Med 2016; 35:214; Vergouwe et al.,
#: J Clin Epidemiol 2005; 58:475); fewer is said with the figures.
PRECISE_EVENTS = 100


def _drift(name: str, model, X: pd.DataFrame) -> list[str]:
    """A caution naming the primary model's predictors whose distribution in ``X`` differs
    from its training rows' (:mod:`prom.score.drift`, as ``prom score`` reports it): the
    figures are then those of another case mix. Empty when none shifts, or the bundle keeps
    no training distribution."""
    from prom.score.drift import PSI_MAJOR, PSI_MODERATE, SMD_NOTABLE, BatchColumns, TaskDrift

    pre = getattr(model, "preprocessor_", None)
    if getattr(pre, "training_ranges_", None) is None or not len(X):
        return []
    drift = TaskDrift.for_model(name, model)
    drift.add(BatchColumns(X), None)
    shifted = []
    for c, r in drift.report().items():
        if r.get("shift") in ("moderate", "major") and r.get("psi") is not None:
            d = r.get("std_diff")
            smd = f", standardised difference {d:+.2f}" if d and abs(d) > SMD_NOTABLE else ""
            shifted.append(f"{c} ({r['shift']}: PSI {r['psi']:.2f}{smd})")
    if not shifted:
        return []
    said = (
        f"{name}: the case mix differs from the development rows': {', '.join(shifted)} "
        f"(population stability index against the training distribution above {PSI_MODERATE:g}"
        f" moderate, above {PSI_MAJOR:g} major; or a standardised difference of means above "
        f"{SMD_NOTABLE:g}) — the figures are the models' on this population; a major shift "
        "may also be a coding or unit difference"
    )
    return [said]


def _outcome_counts(name: str, entry, y, method: str, result: EvaluationResult) -> None:
    """Refuse a binary outcome of one class; caution about few events (or non-events) and
    record a recalibration on too few of them."""
    n = len(y)
    if isinstance(entry, SurvivalTaskEntry):
        events = int(np.asarray(y["event"], dtype=float).sum())
        fewer, what = events, "events"
    elif entry.kind == "binary":
        events = int(np.asarray(y, dtype=float).sum())
        if events in (0, n):
            raise ValueError(
                f"task {name}: {'no' if events == 0 else 'only'} events among the {n:,} "
                "labelled rows (the outcome is "
                f"{'0' if events == 0 else '1'} in every one): AUC, calibration and "
                "recalibration need both events and non-events; evaluate on rows that have both"
            )
        fewer = min(events, n - events)
        what = "events" if events <= n - events else "non-events"
    else:
        return
    if fewer < PRECISE_EVENTS:
        result.warnings.append(
            f"{name}: {fewer:,} {what} among {n:,} rows — external validation wants about "
            f"{PRECISE_EVENTS} events and {PRECISE_EVENTS} non-events for precise figures "
            "(Collins, Ogundimu & Altman 2016; Vergouwe et al. 2005): read each figure with "
            "its interval"
            + (
                "; fewer than 10: the AUC interval and the calibration slope are too wide to judge"
                if fewer < MIN_RECALIBRATION_EVENTS
                else ""
            )
        )
    if method != "none" and fewer < MIN_RECALIBRATION_EVENTS:
        result.small_recalibration[name] = (
            f"recalibrated on {fewer:,} {what} ({n:,} rows): fewer than "
            f"{MIN_RECALIBRATION_EVENTS}, an unstable estimate"
        )


def _binary_metrics(y: np.ndarray, p: np.ndarray) -> dict:
    from prom.validation import auc_ci, brier_loss, calibration_intercept_slope

    out = {
        "n": int(y.size),
        "events": int(y.sum()),
        "observed": float(y.mean()),
        "expected": float(p.mean()),
        "o_e": float(y.sum() / p.sum()),
    }
    a = auc_ci(y, p)
    out |= {"auc": a.auc, "auc_low": a.low, "auc_high": a.high}
    out["brier"] = brier_loss(y, p)
    q = np.clip(p, 1e-8, 1 - 1e-8)
    c = calibration_intercept_slope(y, q)
    out |= {
        "citl": c.citl,
        "calibration_slope": c.slope,
        "slope_low": c.slope_low,
        "slope_high": c.slope_high,
    }
    return out


def _survival_metrics(y: pd.DataFrame, model, X: pd.DataFrame, horizon: float) -> dict:
    """C, slope and risk at the horizon (``pred@h``: mean predicted, ``km@h``: Kaplan–Meier;
    ``decile_gap``: mean |predicted − observed| over risk deciles)."""
    from prom.validation import survival_performance

    surv = model.predict_survival(X, [horizon]).to_numpy(dtype=float)[:, 0]
    p = survival_performance(
        y["time"].to_numpy(dtype=float),
        y["event"].to_numpy(dtype=float),
        np.log(-np.log(surv)),
        horizon,
    )
    return {
        "n": p.n,
        "events": p.n_events,
        "c": p.c,
        "c_low": p.c_low,
        "c_high": p.c_high,
        "slope": p.calibration_slope,
        f"pred@{horizon:g}": p.expected_risk,
        f"km@{horizon:g}": p.observed_risk,
        "o_e": p.o_e,
        "decile_gap": p.mean_abs_group_error,
    }


def evaluate_bundle(
    bundle: Bundle,
    data: pd.DataFrame,
    *,
    tasks: list[str] | None = None,
    recalibrate: str | None = None,
    exclude_development_rows: bool = False,
    subgroups: Sequence[str] = (),
) -> EvaluationResult:
    """Metrics of every model of every (chosen) task on new data; see the module docstring.

    ``exclude_development_rows``: leave out the rows the bundle was developed on (an error
    when the bundle or the table does not allow them to be recognised).

    Also the task's subgroup tables on these rows (``result.subgroups``): by sex, age band
    and site when the table has them, and by each column named in ``subgroups``.
    """
    from prom.models import UnknownCategoryWarning
    from prom.models.calibration import recalibrate as recalibrated_model
    from prom.validation import multiclass_auc_ovr
    from prom.workflows.subgroups import check_subgroup_columns, evaluation_subgroups

    method = (
        "none" if recalibrate is None else check_option("recalibrate", recalibrate, RECALIBRATION)
    )
    names = list(bundle.tasks) if tasks is None else list(tasks)
    check_subgroup_columns(data, subgroups)
    derived: dict[str, Any] = {}  # each task's rows, derived once (or why they cannot be)
    for name in names:
        try:
            derived[name] = bundle.task(name).entry.rows(data)
        except (PromError, ValueError) as e:
            derived[name] = e
    check_bundle_columns(bundle, data, names, derived)  # a predictor column absent: refused
    result = EvaluationResult(tables={}, row_accounting={})
    for name in names:
        bt: BundleTask = bundle.task(name)
        entry = bt.entry
        if isinstance(derived[name], Exception):
            raise derived[name]
        overlap, task_rows = check_development_rows(
            entry, data, derived[name], exclude=exclude_development_rows
        )
        X, y, accounting, empty = task_rows  # absent columns are refused above
        result.row_accounting[name] = accounting
        result.development[name] = overlap
        caution = overlap.caution(name)
        if caution:
            result.warnings.append(caution)
        if len(y) == 0:
            raise ValueError(
                f"task {name}: no labelled rows to evaluate on (rows: "
                + ", ".join(f"{k} {v:,}" for k, v in accounting.items())
                + ")"
                + (
                    "; every labelled row was a development row of the bundle, left out by "
                    "--exclude-development-rows: evaluate on rows the models were not fitted on"
                    if overlap.excluded and overlap.n_development
                    else ""
                )
            )
        _outcome_counts(name, entry, y, method, result)
        result.warnings += _drift(name, bt.models[bt.primary], X)
        rows = []
        if isinstance(entry, SurvivalTaskEntry) and method == "intercept_slope":
            raise ValueError(
                f"task {name} is a survival task: --recalibrate intercept re-estimates the Cox "
                "baseline hazard on these rows; intercept_slope would rescale the "
                "coefficients, which is a refit — refit with prom fit instead"
            )
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", StatisticalWarning)
            warnings.simplefilter("always", UnknownCategoryWarning)  # said once per task
            by_model: list[tuple[str, int]] = []  # (model, its first warning in caught)
            for mname, model in bt.models.items():
                by_model.append((mname, len(caught)))
                if isinstance(entry, SurvivalTaskEntry):
                    h = entry.horizon
                    rows.append(
                        {
                            "model": mname,
                            "recalibration": "none",
                            **_survival_metrics(y, model, X, h),
                        }
                    )
                    if method == "intercept":
                        new = model.recalibrate_baseline(
                            X, y, note="baseline hazard re-estimated on new data"
                        )
                        result.recalibrated.setdefault(name, {})[mname] = new
                        rows.append(
                            {
                                "model": mname,
                                "recalibration": "baseline",
                                "recalibrated_on_these_rows": True,
                                **_survival_metrics(y, new, X, h),
                            }
                        )
                    continue
                P = model.predict_proba(X)
                if entry.kind == "binary":
                    yy = y.to_numpy(dtype=float)
                    row = {"model": mname, "recalibration": "none", **_binary_metrics(yy, P[:, 1])}
                    rows.append(row)
                    if method != "none":
                        new = recalibrated_model(model, yy, method=method, X=X)
                        result.recalibrated.setdefault(name, {})[mname] = new
                        rows.append(
                            {
                                "model": mname,
                                "recalibration": method,
                                "recalibrated_on_these_rows": True,
                                **_binary_metrics(yy, new.predict_proba(X)[:, 1]),
                            }
                        )
                else:
                    classes = list(model.classes_)
                    m = multiclass_auc_ovr(y.astype(object).to_numpy(), P, classes)
                    onehot = y.astype(object).to_numpy()[:, None] == np.asarray(classes)[None, :]
                    rows.append(
                        {
                            "model": mname,
                            "recalibration": "none",
                            "n": len(y),
                            "auc": m.macro,
                            "brier": float(((P - onehot) ** 2).sum(axis=1).mean()),
                        }
                    )
        result.warnings += _attributed(name, caught, by_model)
        if empty:
            result.warnings.append(
                f"{name}: predictor(s) empty in all {len(y):,} labelled row(s), imputed with "
                f"the training median in every one: {', '.join(empty)}"
            )
        if name in result.recalibrated:  # their calibration on these rows is apparent now
            result.recalibration_rows[name] = _recalibration_rows(entry, data, X)
        table = pd.DataFrame(rows)
        if "recalibrated_on_these_rows" in table:  # their calibration figures are apparent
            table["recalibrated_on_these_rows"] = table["recalibrated_on_these_rows"].eq(True)
        result.tables[name] = table
        with warnings.catch_warnings():
            # the same models on the same rows as above: their warnings are already said
            warnings.simplefilter("ignore")
            result.subgroups[name] = evaluation_subgroups(
                entry, bt.models, X, y, data, columns=subgroups, describe=overlap.label()
            )
    return result


def _attributed(task: str, caught: list, by_model: list[tuple[str, int]]) -> list[str]:
    """Each warning once, with the task and the models it came from:
    ``mcid_odi_12m (logistic, lightgbm): categorical value(s) not seen …``."""
    bounds = [*(start for _, start in by_model), len(caught)]
    models: dict[str, list[str]] = {}
    for (mname, start), end in zip(by_model, bounds[1:], strict=True):
        for w in caught[start:end]:
            said = models.setdefault(str(w.message), [])
            if mname not in said:
                said.append(mname)
    return [f"{task} ({', '.join(names)}): {message}" for message, names in models.items()]


def _recalibration_rows(entry, data: pd.DataFrame, X: pd.DataFrame) -> tuple[Any, str]:
    """The task's development record with the rows ``X`` it is recalibrated on added."""
    record = entry.development_rows
    if record is None:
        return None, (
            f"the {len(X):,} rows it was recalibrated on are not recorded: the bundle has no "
            "development record (written before it existed)"
        )
    return record.adding(data.loc[X.index], X, "the models were recalibrated on")


@dataclass
class RecalibratedFit:
    """A task of a loaded bundle with its recalibrated models, ready for
    :func:`prom.bundle.write_bundle`: the manifest entry is the loaded one with the
    recalibration noted, and the development validation record is carried over (it
    describes how the models were developed; the note says they were recalibrated since)."""

    task_name: str
    models: dict[str, Any]
    entry: ClassifierTaskEntry | SurvivalTaskEntry
    record: dict[str, Any] | None = None

    def manifest_entry(self) -> ClassifierTaskEntry | SurvivalTaskEntry:
        return self.entry


def _updating_figures(table: pd.DataFrame | None, primary: str) -> str:
    """``; primary lightgbm on 400 rows (180 events): O/E 0.82 → 1.00, calibration slope
    0.71 → 1.00 (after: apparent, fitted on these rows); AUC 0.702 (unchanged)`` for a
    binary task's primary model, from the evaluation's table; '' otherwise."""
    if table is None or "calibration_slope" not in table.columns:
        return ""
    rows = table[table["model"] == primary]
    before = rows[rows["recalibration"] == "none"]
    after = rows[rows["recalibration"] != "none"]
    if before.empty or after.empty:
        return ""
    b, a = before.iloc[0], after.iloc[0]
    return (
        f"; primary {primary} on {int(b['n']):,} rows ({int(b['events']):,} events): O/E "
        f"{b['o_e']:.2f} → {a['o_e']:.2f}, calibration slope {b['calibration_slope']:.2f} → "
        f"{a['calibration_slope']:.2f} (after: apparent, fitted on these rows); AUC "
        f"{b['auc']:.3f} (unchanged)"
    )


def recalibrated_fits(
    bundle: Bundle, evaluation: EvaluationResult, note: str
) -> list[RecalibratedFit]:
    """Task fits for a new bundle: recalibrated models where there are any, else as loaded;
    a recalibrated task's development record also holds the rows it was recalibrated on
    (:attr:`EvaluationResult.recalibration_rows`)."""
    fits = []
    for name, bt in bundle.tasks.items():
        models = {**bt.models, **evaluation.recalibrated.get(name, {})}
        said = None
        entry = bt.entry
        if name in evaluation.recalibrated:
            said = note + _updating_figures(evaluation.tables.get(name), bt.entry.primary)
            if name in evaluation.small_recalibration:
                caution = evaluation.small_recalibration[name]
                said += f"; {caution}"
                entry = dataclasses.replace(entry, warnings=(*entry.warnings, caution.capitalize()))
        entry = dataclasses.replace(entry, recalibration=said)
        rows = evaluation.recalibration_rows.get(name, (None, ""))[0]
        if rows is not None:  # evaluating on the recalibration rows is then apparent
            entry = dataclasses.replace(entry, development_rows=rows)
        fits.append(RecalibratedFit(name, models, entry, bt.read_record()))
    return fits
