"""The validation record: what a report needs from a fit, computed when the fit is made.

Where the report's inputs come from
-----------------------------------
A report shows curves (ROC, calibration, decision), Table 1, missingness and odds ratios.
Honest curves need the *out-of-fold* predictions and the labels, which exist only while
:func:`prom.workflows.fit_task` runs (re-creating them later would mean refitting every
model in every fold). So the fit computes this record once, from the same rows and the
same out-of-fold predictions behind the comparison table, and
:func:`prom.bundle.write_bundle` writes it into the bundle as ``<task>/validation.json``:
listed and hashed in the manifest like every model file, so an edited record makes the
whole bundle refuse to load, and ``prom report --bundle B`` needs nothing else.

It holds aggregates only — no patient's row, no individual prediction: Table 1 statistics
(counts, medians, quartiles, means, SDs), missing counts, the Riley sample-size check,
ROC curves interpolated on a fixed grid of false-positive rates, smoothed calibration
curves with their band on 100 predicted risks spanning the range of the predictions,
counts of predictions in 20 bins, net benefit on a grid of thresholds, odds ratios,
patients per site, and Kaplan–Meier curves by risk group on a time grid cut where fewer
than :data:`MIN_AT_RISK` patients remain at risk. Everything else a report prints (comparison table, internal–external
results, optimism, hazard ratios) is already in the manifest.

SHAP summaries are the exception: they need rows to explain, so ``prom report --data``
computes them from the bundle's models on the rows given (see :mod:`prom.report.build`).
The bundle reads a record back with :meth:`prom.bundle.BundleTask.read_record`.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pandas as pd

from prom.bundle import RECORD_VERSION
from prom.errors import StatisticalWarning
from prom.jsonable import to_jsonable
from prom.outcomes import ClassDefinition, ColumnDefinition, McidDefinition, TaskDefinition
from prom.report.cohort import missingness_table, table_one
from prom.workflows.fit_diagnostics import mark_odds_ratios

__all__ = [
    "is_simulated",
    "outcome_groups",
    "roc_on_grid",
    "validation_record",
    "survival_record",
]

#: False-positive rates at which ROC curves are stored.
ROC_GRID = np.linspace(0.0, 1.0, 201)
#: Threshold probabilities of the stored decision curves.
DECISION_GRID = np.round(np.arange(0.01, 1.0, 0.01), 2)
#: Bins of the stored prediction histograms (counts by outcome).
HIST_BINS = np.linspace(0.0, 1.0, 21)
#: Kaplan–Meier curves are cut where fewer patients than this remain at risk in a group.
MIN_AT_RISK = 10
#: As the comparison table (prom.validation.resampling.scores.CLIP): predictions of exactly 0 or 1
#: are clipped for the logit-scale calibration curve.
CLIP = 1e-8


def is_simulated(data: pd.DataFrame) -> bool:
    """True when the table carries the simulator's truth columns (``true_p_*``)."""
    from prom.cohort.contract import COHORT_CONTRACT

    return any(c.name in data.columns for c in COHORT_CONTRACT.by_role("truth"))


def outcome_groups(
    kind: str, y: Any, definition: TaskDefinition, classes: Any = None
) -> tuple[np.ndarray, list[str]]:
    """Readable outcome group of every row and the groups' order, for Table 1."""
    if kind == "binary":
        if isinstance(definition, McidDefinition):
            names = ["not reached", "reached"]
        else:
            column = definition.column if isinstance(definition, ColumnDefinition) else "outcome"
            names = [f"{column} = 0", f"{column} = 1"]
            if isinstance(definition, ColumnDefinition) and definition.event_value is not None:
                names = [
                    f"{column} = {v}" for v in (definition.other_value, definition.event_value)
                ]
        codes = np.asarray(y, dtype=int)
        return np.asarray(names, dtype=object)[codes], names
    if kind == "survival":
        names = ["no event (censored)", "event"]
        return np.asarray(names, dtype=object)[np.asarray(y, dtype=int)], names
    stored = definition.classes if isinstance(definition, ClassDefinition) else ()
    order = [str(c) for c in (stored or classes)]
    return np.asarray(y, dtype=object).astype(str), order


def roc_on_grid(y: np.ndarray, p: np.ndarray, grid: np.ndarray = ROC_GRID) -> np.ndarray:
    """True-positive rate of the empirical ROC curve at each false-positive rate in ``grid``.

    The curve joins the points of every distinct threshold (tied predictions give a
    diagonal segment, as in the Mann–Whitney AUC); at a vertical step the upper point is
    used, so ``tpr(0)`` is the sensitivity reached before the first false positive.
    """
    y = np.asarray(y, dtype=float)
    order = np.argsort(-np.asarray(p, dtype=float), kind="stable")
    ps, ys = np.asarray(p, dtype=float)[order], y[order]
    last = np.r_[ps[1:] != ps[:-1], True]  # last row of each tied group
    tp = np.r_[0.0, np.cumsum(ys)[last]] / ys.sum()
    fp = np.r_[0.0, np.cumsum(1 - ys)[last]] / (1 - ys).sum()
    j = np.searchsorted(fp, grid, side="right")  # points with fp <= x: the first j
    at = fp[j - 1] == grid  # on a point (or the top of a step)
    k = np.minimum(j, fp.size - 1)
    w = np.where(at, 0.0, (grid - fp[j - 1]) / np.where(at, 1.0, fp[k] - fp[j - 1]))
    return np.where(at, tp[j - 1], tp[j - 1] + w * (tp[k] - tp[j - 1]))


def _binary_curves(y: np.ndarray, p: np.ndarray) -> dict:
    from prom.validation import calibration_curve, calibration_errors

    out: dict[str, Any] = {"roc": {"fpr": ROC_GRID, "tpr": roc_on_grid(y, p)}}
    try:
        cc = calibration_curve(y, np.clip(p, CLIP, 1 - CLIP), n_points=100, method="spline")
        out["calibration"] = {
            "predicted": cc.predicted,
            "observed": cc.observed,
            "low": cc.low,
            "high": cc.high,
            "method": cc.method,
            "knots": list(cc.knots),
            "level": cc.level,
        }
    except ValueError as e:  # e.g. constant predictions
        out["calibration"] = {"error": str(e)}
    errors = calibration_errors(y, p)
    out["calibration_errors"] = {
        "eavg": errors.eavg,
        "e50": errors.e50,
        "e90": errors.e90,
        "emax": errors.emax,
        "smoother": "lowess (rms val.prob)",
    }
    out["histogram"] = {
        "edges": HIST_BINS,
        "events": np.histogram(p[y == 1], HIST_BINS)[0],
        "non_events": np.histogram(p[y == 0], HIST_BINS)[0],
    }
    return out


def _decision(y: np.ndarray, preds: dict[str, np.ndarray]) -> dict:
    from prom.validation import net_benefit

    out: dict[str, Any] = {"thresholds": DECISION_GRID, "models": {}}
    for name, p in preds.items():
        nb = net_benefit(y, p, DECISION_GRID)
        out["models"][name] = nb["net_benefit"].to_numpy()
        out["treat_all"] = nb["treat_all"].to_numpy()
    return out


def _sample_size(check, anticipated_c) -> dict | None:
    if check is None:
        return None
    req = check.required
    return {
        "n": check.n,
        "n_events": check.n_events,
        "events_label": check.events_label,
        "n_parameters": req.n_parameters,
        "prevalence": req.prevalence,
        "anticipated_c": anticipated_c,
        "r2_cs": req.r2_cs,
        "events_per_parameter": check.events_per_parameter,
        "expected_shrinkage": check.expected_shrinkage,
        "expected_optimism_r2": check.expected_optimism_r2,
        "margin_of_error": check.margin_of_error,
        "n_required": req.n_required,
        "binding": req.binding,
        "shortfalls": list(check.shortfalls),
        "statement": check.statement,
        "adequate": bool(check.adequate),
        "criteria": req.to_frame().to_dict(orient="records"),
    }


def _sites(sites: pd.Series | None, column: str | None) -> dict | None:
    if sites is None:
        return None
    counts = sites.astype(str).value_counts().sort_index()
    return {
        "column": column,
        "n_sites": int(counts.size),
        "per_site": {k: int(v) for k, v in counts.items()},
    }


def _odds_ratios(fit, X: pd.DataFrame, y) -> dict:
    from prom.models.logistic import LogisticFitError, odds_ratios

    model = fit.models.get("logistic")
    if model is None:
        return {"error": "no logistic model in this fit"}
    try:
        table = odds_ratios(X, y, model=model)
    except LogisticFitError as e:
        return {"error": str(e)}
    rows = table.to_dict(orient="records")
    mark_odds_ratios(rows, getattr(fit, "diagnostics", None))  # near-aliased: not shown
    return {"level": 0.95, "rows": rows}


def validation_record(
    fit, X: pd.DataFrame, y: pd.Series, *, sites: pd.Series | None = None, simulated: bool = False
) -> dict:
    """The record of a binary or multiclass :class:`~prom.workflows.TaskFit` (see the module docstring)."""
    from prom.validation import multiclass_auc_ovr

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", StatisticalWarning)
        groups, order = outcome_groups(fit.kind, y.to_numpy(), fit.definition, fit.classes)
        record: dict[str, Any] = {
            "record_version": RECORD_VERSION,
            "kind": fit.kind,
            "n": len(y),
            "simulated": bool(simulated),
            "sites": _sites(sites, fit.settings.site_column),
            "outcome_groups": order,
            "cohort": table_one(X, groups, order),
            "missingness": missingness_table(X, groups, order),
            "sample_size": _sample_size(fit.sample_size, fit.settings.anticipated_c),
            "odds_ratios": _odds_ratios(fit, X, y.to_numpy()),
            "prediction": "repeat 1 of the out-of-fold predictions, as the comparison table",
        }
        preds = {name: cv.probabilities[0] for name, cv in fit.cv.items()}
        if fit.kind == "binary":
            yv = y.to_numpy(dtype=float)
            record["curves"] = {name: _binary_curves(yv, p) for name, p in preds.items()}
            record["decision"] = _decision(yv, preds)
        else:
            labels = y.astype(object).to_numpy()
            classes = list(fit.classes)
            record["curves"] = {}
            for name, P in preds.items():
                per = multiclass_auc_ovr(labels, P, classes)
                record["curves"][name] = {
                    str(c): {
                        **_binary_curves((labels == c).astype(float), P[:, k]),
                        "auc_ovr": per.per_class[k],
                    }
                    for k, c in enumerate(classes)
                }
    record["notes"] = _notes(caught)
    return to_jsonable(record)


def _notes(caught: list) -> list[str]:
    """Statistical caveats met while computing the record, kept as notes; any other
    warning is passed on as it came."""
    notes = []
    for w in caught:
        if issubclass(w.category, StatisticalWarning):
            notes.append(str(w.message))
        else:
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    return list(dict.fromkeys(notes))


def _km_grid(km: pd.DataFrame, t_max: float) -> dict:
    """Kaplan–Meier survival by group on a time grid, cut below MIN_AT_RISK at risk."""
    grid = np.round(np.arange(0.0, t_max + 1e-9, 0.25), 2)
    out: dict[str, Any] = {"time": grid, "groups": {}, "min_at_risk": MIN_AT_RISK}
    names = list(pd.unique(km["group"]))
    names = [g for g in ("low", "middle", "high") if g in names] + [
        g for g in names if g not in ("low", "middle", "high")
    ]
    for g in names:
        d = km[km["group"] == g].sort_values("time")
        t = d["time"].to_numpy(dtype=float)
        idx = np.searchsorted(t, grid, side="right") - 1
        left = (d["at_risk"] - d["events"] - d["censored"]).to_numpy(dtype=float)[idx]
        keep = (idx >= 0) & ((grid == 0) | (left >= MIN_AT_RISK))
        col = {}
        for name, src in (("survival", "survival"), ("low", "ci_low"), ("high", "ci_high")):
            v = d[src].to_numpy(dtype=float)[idx]
            col[name] = np.where(keep, v, np.nan)
        out["groups"][str(g)] = col
    return out


def survival_record(
    fit,
    X: pd.DataFrame,
    y: pd.DataFrame,
    *,
    sites: pd.Series | None = None,
    simulated: bool = False,
) -> dict:
    """The record of a :class:`~prom.workflows.SurvivalTaskFit` (see the module docstring)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", StatisticalWarning)
        e = y["event"].to_numpy(dtype=int)
        t = y["time"].to_numpy(dtype=float)
        groups, order = outcome_groups("survival", e, fit.definition)
        n_par = len(fit.models[fit.primary].feature_names_)
        q1, med, q3 = np.quantile(t, [0.25, 0.5, 0.75])
        record: dict[str, Any] = {
            "record_version": RECORD_VERSION,
            "kind": "survival",
            "n": len(y),
            "simulated": bool(simulated),
            "sites": _sites(sites, "site"),
            "outcome_groups": order,
            "cohort": table_one(X, groups, order),
            "missingness": missingness_table(X, groups, order),
            "follow_up": {
                "median": float(med),
                "q1": float(q1),
                "q3": float(q3),
                "events": int(e.sum()),
                "unit": fit.time_unit,
            },
            "events_per_parameter": {
                "events": int(e.sum()),
                "parameters": int(n_par),
                "epp": float(e.sum() / n_par),
            },
            "km_by_risk": _km_grid(fit.km_by_risk, float(np.quantile(t, 0.95))),
            "prediction": "Kaplan–Meier curves by tertile of the primary model's out-of-fold "
            "predicted risk",
        }
    record["notes"] = _notes(caught)
    return to_jsonable(record)
