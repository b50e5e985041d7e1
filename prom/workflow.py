"""Fit one prediction task end to end: labels → models → honest validation → comparison.

:func:`fit_task` is what ``prom fit`` runs and what a researcher calls from Python:

1. derive the task's label (built-in task with its MCID definition, or any 0/1 column the
   user names) and keep the labelled rows — every dropped row is counted by reason;
2. check the sample size against Riley et al.'s criteria (a ``StatisticalWarning`` says
   what is short);
3. for every model family, out-of-fold predictions from stratified k-fold CV in which
   the whole pipeline — preprocessing, tuning, calibration — is refitted in every fold;
4. compare every family with logistic regression on those predictions
   (:func:`prom.validation.compare_models`);
5. internal–external validation, leaving one site out at a time, for the baseline and
   the best family (binary tasks with two or more sites);
6. Harrell's bootstrap optimism correction for the baseline (and any family asked for);
7. refit every family on all labelled rows; the *primary* model is the best family whose
   verdict is "better" than logistic regression, else logistic regression itself;
8. the validation record for reports (:mod:`prom.report.record`: Table 1, missingness,
   curves of the out-of-fold predictions, odds ratios — aggregates only).

The survival task (time to surgery) has its own path, :mod:`prom.workflow_survival`:
a Cox model validated by repeated cross-validation (C, calibration at a horizon) and
bootstrap optimism, with no comparison against logistic regression.
"""

from __future__ import annotations

import dataclasses
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from prom.cohort.derived import derive_available
from prom.errors import MissingColumnError, StatisticalWarning
from prom.jsonable import to_jsonable
from prom.naming import DISC_LEVELS
from prom.outcomes import Task, derive_label, get_task

__all__ = ["FAMILIES", "TaskFit", "fit_task", "prepare_task_data"]

FAMILIES: tuple[str, ...] = ("logistic", "elastic_net", "random_forest", "xgboost", "lightgbm")

#: Anticipated C-statistic used for the Riley sample-size check when the user gives none
#: (a typical value for published spine PROM models; Berg 2024 report 0.74–0.84).
DEFAULT_ANTICIPATED_C = 0.75


@dataclass
class TaskFit:
    """Everything :func:`fit_task` produced for one task."""

    task_name: str
    kind: str
    description: str
    definition: dict
    predictors: list[str]
    classes: list
    n: int
    n_events: int | None
    row_accounting: dict[str, int]
    models: dict[str, Any]
    cv: dict[str, Any]
    comparison: Any
    iecv: dict[str, Any] = field(default_factory=dict)
    optimism: dict[str, Any] = field(default_factory=dict)
    sample_size: Any = None
    primary: str = "logistic"
    baseline: str = "logistic"
    settings: dict = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)
    #: aggregates for reports (Table 1, curves, odds ratios): prom.report.record; the
    #: bundle stores it as <task>/validation.json
    record: dict = field(default_factory=dict)

    def manifest_entry(self) -> dict:
        """What a bundle's manifest records about this task (JSON-ready after conversion)."""
        entry: dict[str, Any] = {
            "kind": self.kind,
            "description": self.description,
            "definition": self.definition,
            "predictors": self.predictors,
            "classes": self.classes,
            "n": self.n,
            "n_events": self.n_events,
            "row_accounting": self.row_accounting,
            "primary": self.primary,
            "baseline": self.baseline,
            "settings": self.settings,
            "warnings": self.warnings,
            "comparison": _records(self.comparison.table.reset_index(names="model")),
        }
        nb = getattr(self.comparison, "net_benefit", None)
        if nb is not None and len(nb):
            entry["net_benefit"] = _records(nb)
        entry["cv_metrics"] = {k: _records(v.metrics) for k, v in self.cv.items()}
        if self.iecv:
            entry["internal_external"] = {
                k: {
                    "per_site": _records(v.per_site.reset_index()),
                    "pooled": _records(v.pooled.reset_index(drop=True)),
                    "meta": _records(v.meta.reset_index(names="metric")),
                }
                for k, v in self.iecv.items()
            }
        if self.optimism:
            entry["optimism"] = {
                k: _records(v.table.reset_index(names="metric")) for k, v in self.optimism.items()
            }
        if self.sample_size is not None:
            entry["sample_size"] = {
                "statement": self.sample_size.statement,
                "adequate": bool(self.sample_size.adequate),
            }
        return entry

    def summary(self) -> str:
        lines = [
            f"{self.task_name}: {self.n:,} labelled rows"
            + (f", {self.n_events:,} events" if self.n_events is not None else ""),
            self.comparison.summary(),
            f"primary model: {self.primary}",
        ]
        lines += [f"warning: {w}" for w in self.warnings]
        return "\n".join(lines)


def _records(frame: pd.DataFrame) -> list[dict]:
    return [to_jsonable(r) for r in frame.to_dict(orient="records")]


def prepare_task_data(
    data: pd.DataFrame,
    task: str | Task | None = None,
    *,
    target: str | None = None,
    predictors: Sequence[str] | None = None,
    threshold: str | None = None,
) -> tuple[Task, pd.DataFrame, pd.Series, dict, dict]:
    """Rows, predictors and label for a task (built-in, or any 0/1 ``target`` column).

    Returns ``(task, X, y, definition, row_accounting)``; the accounting counts every
    input row as used or dropped with its reason. For a survival task ``y`` is a
    DataFrame with ``time`` and ``event``.
    """
    if (task is None) == (target is None):
        raise ValueError("give either a built-in task or target=<0/1 column>, not both or neither")
    n_in = len(data)
    if target is not None:
        if target not in data.columns:
            raise MissingColumnError(f"target column {target!r} is not in the table")
        raw = data[target]
        y_all = pd.to_numeric(raw, errors="coerce")
        bad = raw.notna() & ~y_all.isin([0, 1])
        if bad.any():
            from prom.errors import format_rows, format_values

            raise ValueError(
                f"target column {target!r} must hold 0/1; {int(bad.sum())} row(s) hold other "
                f"values ({format_rows(data.index[bad.to_numpy()])}; values "
                f"{format_values(raw[bad].tolist())})"
            )
        if predictors is None:
            from prom.cohort.contract import COHORT_CONTRACT
            from prom.cohort.derived import index_imaging_columns

            # as the built-in tasks: imaging read at the index level when the table allows
            index_cols = list(
                derive_available(data.head(0), index_imaging_columns()).columns.intersection(
                    index_imaging_columns()
                )
            )
            per_level = {
                f"img_{lev}_{c[len('img_index_') :]}" for c in index_cols for lev in DISC_LEVELS
            }
            predictors = [
                c.name
                for c in COHORT_CONTRACT.by_role("predictor", "imaging")
                if (c.name in data.columns or c.name in index_cols) and c.name not in per_level
            ]
            predictors += [
                c
                for c in ("odi_0m", "nrs_back_0m", "nrs_leg_0m", "comi_0m", "mjoa_0m")
                if c in data.columns and c not in predictors
            ]
        task = Task(target, "binary", f"user-defined binary outcome '{target}'", tuple(predictors))
        definition = {"type": "user column", "column": target}
        keep = y_all.notna().to_numpy()
        accounting = {
            "read": n_in,
            "used": int(keep.sum()),
            f"{target} missing": int((~keep).sum()),
        }
        y = y_all[keep].astype(int)
    else:
        task = get_task(task)
        res = derive_label(data, task, threshold)
        survival = task.kind == "survival"
        keep = (res["time"] if survival else res["label"]).notna().to_numpy()
        reasons = res.loc[~keep, "reason_code"].fillna("no label")
        accounting = {"read": n_in, "used": int(keep.sum())}
        accounting.update({k: int(v) for k, v in reasons.value_counts().items()})
        if survival:  # y: a DataFrame with time and event
            from prom.workflow_survival import survival_definition

            y = res.loc[keep, ["time", "event"]].astype(float)
            definition = survival_definition(task)
        elif task.kind == "binary":
            from prom.instruments.mcid import get_threshold

            y = res.loc[keep, "label"].astype(int)
            t = get_threshold(threshold or task.threshold)
            definition = {
                "type": "mcid",
                "threshold": t.id,
                "rule": t.describe(),
                "source": t.source,
                "instrument": t.instrument,
                "timepoint": task.timepoint,
            }
        else:
            y = res.loc[keep, "label"].astype(object)
            definition = {
                "type": "class",
                "column": task.label_column,
                "classes": list(task.classes),
            }
        if predictors is not None:
            task = dataclasses.replace(task, predictors=tuple(predictors))
    data = derive_available(data, task.predictors)
    present = [p for p in task.predictors if p in data.columns]
    if not present:
        raise MissingColumnError(
            f"none of task {task.name}'s candidate predictors is in the table "
            f"(e.g. {', '.join(task.predictors[:5])}); map your columns onto the contract"
        )
    X = data.loc[keep, present]
    empty = [c for c in present if X[c].isna().all()]
    if empty:
        X = X.drop(columns=empty)
    return task, X, y, definition, accounting


def fit_task(
    data: pd.DataFrame,
    task: str | Task | None = None,
    *,
    target: str | None = None,
    predictors: Sequence[str] | None = None,
    threshold: str | None = None,
    families: Sequence[str] | None = None,
    n_splits: int = 5,
    n_iter: int = 10,
    inner_cv: int = 3,
    calibration: str = "auto",
    n_boot: int = 200,
    optimism_boot: int = 100,
    optimism_families: Sequence[str] = ("logistic",),
    site_column: str | None = "site",
    anticipated_c: float = DEFAULT_ANTICIPATED_C,
    random_state: int = 0,
    n_jobs: int = 1,
    progress: Callable[[str], None] | None = None,
    horizon: float | None = None,
    n_repeats: int = 2,
) -> TaskFit:
    """Fit, validate and compare every model family for one task (see module docstring).

    ``families`` default: :data:`FAMILIES`. A survival task (``surgery_conversion``) goes
    to :func:`prom.workflow_survival.fit_survival_task` (families ``cox``, ``cox_ridge``;
    ``horizon`` default 12 months; ``n_repeats`` CV repeats; ``n_boot`` bootstrap
    resamples for the interval of C; ``optimism_boot`` Harrell's optimism refits) and
    returns a :class:`~prom.workflow_survival.SurvivalTaskFit`; the binary-only options
    (tuning, calibration, sites, sample size) do not apply to it.
    """
    from prom.models import PromClassifier
    from prom.validation import (
        bootstrap_optimism,
        check_sample_size,
        compare_models,
        cross_validated_predictions,
        internal_external_cv,
    )

    if target is None and task is not None and get_task(task).kind == "survival":
        from prom.workflow_survival import DEFAULT_HORIZON, fit_survival_task

        return fit_survival_task(
            data,
            task,
            predictors=predictors,
            threshold=threshold,
            families=families,
            horizon=DEFAULT_HORIZON if horizon is None else horizon,
            n_splits=n_splits,
            n_repeats=n_repeats,
            n_boot=n_boot,
            optimism_boot=optimism_boot,
            random_state=random_state,
            n_jobs=n_jobs,
            progress=progress,
        )
    say = progress or (lambda msg: None)
    families = list(dict.fromkeys(FAMILIES if families is None else families))
    if "logistic" not in families:
        families.insert(0, "logistic")  # the baseline every model is compared against
    if len(families) < 2:
        raise ValueError(
            "fit_task compares model families with logistic regression; name at "
            "least one family besides 'logistic' (e.g. elastic_net)"
        )
    timings: dict[str, float] = {}
    caught: list[str] = []
    task, X, y, definition, accounting = prepare_task_data(
        data, task, target=target, predictors=predictors, threshold=threshold
    )
    binary = task.kind == "binary"
    classes = sorted(pd.unique(y).tolist())
    if len(classes) < 2:
        raise ValueError(
            f"task {task.name}: the labelled rows hold one class only ({classes[0]!r})"
        )
    n_events = int(y.sum()) if binary else None

    def make(family: str) -> PromClassifier:
        return PromClassifier(
            family=family,
            predictors=list(X.columns),
            calibration=calibration,
            n_iter=n_iter,
            inner_cv=inner_cv,
            random_state=random_state,
            n_jobs=1,
        )

    # sample size (binary): Riley et al. criteria for the logistic design's parameters
    sample = None
    if binary:
        from prom.models.preprocess import Preprocessor, infer_kinds

        numeric, categorical = infer_kinds(X)
        n_par = (
            Preprocessor(numeric=numeric, categorical=categorical, drop_reference=True)
            .fit(X)
            .feature_names_out_.size
        )
        with warnings.catch_warnings(record=True) as w:
            warnings.simplefilter("always", StatisticalWarning)
            sample = check_sample_size(len(y), n_events, int(n_par), c_statistic=anticipated_c)
        caught += [str(m.message) for m in w if issubclass(m.category, StatisticalWarning)]

    yv = y.to_numpy()
    cv: dict[str, Any] = {}
    for fam in families:
        say(f"{task.name}: {n_splits}-fold CV of {fam}")
        t0 = time.perf_counter()
        cv[fam] = cross_validated_predictions(
            make(fam), X, yv, n_splits=n_splits, random_state=random_state, n_jobs=n_jobs
        )
        timings[f"cv {fam}"] = time.perf_counter() - t0

    say(f"{task.name}: comparing with logistic regression ({n_boot} bootstrap replicates)")
    t0 = time.perf_counter()
    preds = {fam: (r.probabilities[0] if binary else r.probabilities[0]) for fam, r in cv.items()}
    comparison = compare_models(
        yv,
        preds,
        baseline="logistic",
        n_boot=n_boot,
        random_state=random_state,
        classes=None if binary else classes,
    )
    timings["comparison"] = time.perf_counter() - t0
    table = comparison.table
    better = table[table["verdict"] == "better"]
    primary = str(better["auc"].idxmax()) if len(better) else "logistic"
    best = str(table.drop(index="logistic")["auc"].idxmax()) if len(table) > 1 else "logistic"

    iecv: dict[str, Any] = {}
    if binary and site_column and site_column in data.columns:
        sites = data.loc[X.index, site_column]
        if sites.nunique() >= 2:
            for fam in dict.fromkeys(["logistic", best]):
                say(f"{task.name}: internal–external validation of {fam} by {site_column}")
                t0 = time.perf_counter()
                with warnings.catch_warnings(record=True) as w:
                    warnings.simplefilter("always", StatisticalWarning)
                    iecv[fam] = internal_external_cv(
                        make(fam), X, yv, sites.to_numpy(), n_jobs=n_jobs
                    )
                caught += [str(m.message) for m in w if issubclass(m.category, StatisticalWarning)]
                timings[f"iecv {fam}"] = time.perf_counter() - t0

    optimism: dict[str, Any] = {}
    if optimism_boot:
        for fam in [f for f in optimism_families if f in families]:
            say(f"{task.name}: bootstrap optimism of {fam} ({optimism_boot} replicates)")
            t0 = time.perf_counter()
            optimism[fam] = bootstrap_optimism(
                make(fam), X, yv, n_boot=optimism_boot, random_state=random_state, n_jobs=n_jobs
            )
            timings[f"optimism {fam}"] = time.perf_counter() - t0

    models: dict[str, Any] = {}
    for fam in families:
        say(f"{task.name}: final fit of {fam} on all {len(yv):,} rows")
        t0 = time.perf_counter()
        models[fam] = make(fam).fit(X, yv)
        timings[f"final {fam}"] = time.perf_counter() - t0

    for msg in caught:
        warnings.warn(msg, StatisticalWarning, stacklevel=2)
    fit = TaskFit(
        task_name=task.name,
        kind=task.kind,
        description=task.description,
        definition=definition,
        predictors=list(X.columns),
        classes=classes,
        n=len(yv),
        n_events=n_events,
        row_accounting=accounting,
        models=models,
        cv=cv,
        comparison=comparison,
        iecv=iecv,
        optimism=optimism,
        sample_size=sample,
        primary=primary,
        baseline="logistic",
        settings={
            "families": families,
            "n_splits": n_splits,
            "n_iter": n_iter,
            "inner_cv": inner_cv,
            "calibration": calibration,
            "n_boot": n_boot,
            "optimism_boot": optimism_boot,
            "random_state": random_state,
            "anticipated_c": anticipated_c,
            "site_column": site_column,
        },
        warnings=caught,
        timings=timings,
    )
    from prom.report.record import is_simulated, validation_record

    t0 = time.perf_counter()
    fit.record = validation_record(
        fit,
        X,
        y,
        simulated=is_simulated(data),
        sites=data.loc[X.index, site_column]
        if site_column and site_column in data.columns
        else None,
    )
    timings["validation record"] = time.perf_counter() - t0
    return fit
