"""Fit one prediction task end to end: labels → models → honest validation → comparison.

:func:`fit_task` is what ``prom fit`` runs and what a researcher calls from Python. It
resolves the task once (a built-in task, or the user's own outcome: a binary or
multiclass ``target`` column, or ``time`` and ``event`` columns —
:func:`prom.outcomes.custom_task`) and hands the :class:`~prom.outcomes.Task` on: a survival task to
:func:`prom.workflows.fit_survival.fit_survival_task`, a binary or multiclass task to
:func:`fit_classifier_task`, which

1. derives the label and keeps the labelled rows — every dropped row is counted by
   reason — and checks the predictors: one left out is recorded with its reason, one the
   user named and cannot be used is an error unless ``drop_unusable``
   (:func:`prom.workflows.fit_checks.task_data_for_fit`); then diagnoses them before any
   model is fitted — a predictor exactly aliased with others is left out with a record,
   and near dependence, separation, rare levels and events per parameter are reported
   (:mod:`prom.workflows.fit_diagnostics`);
2. checks the sample size against Riley et al.'s criteria (a ``StatisticalWarning`` says
   what is short); a user's own outcome (``target=``) below the minimum is refused unless
   ``allow_small_sample`` (:func:`prom.workflows.fit_checks.minimum_sample_size`), and a
   class of the user's own too small to cross-validate is refused
   (:func:`prom.workflows.fit_checks.minimum_class_size`);
3. for every model family, out-of-fold predictions from stratified k-fold CV in which
   the whole pipeline — preprocessing, tuning, calibration — is refitted in every fold;
4. compares every family with logistic regression on those predictions
   (:func:`prom.validation.compare_models`);
5. internal–external validation, leaving one site out at a time, for the baseline and
   the primary model (binary tasks with two or more sites), so the model a bundle puts
   forward is the one validated site by site;
6. Harrell's bootstrap optimism correction for the baseline (and any family asked for);
7. refits every family on all labelled rows (the families side by side on the workers:
   :mod:`prom.workflows.final_fits`); the *primary* model is the best family whose
   verdict is "better" than logistic regression, else logistic regression itself;
8. the validation record for reports (:mod:`prom.workflows.record`: Table 1,
   missingness, curves of the out-of-fold predictions, odds ratios — aggregates only),
   and the provenance record (:mod:`prom.workflows.provenance`: how the rows, predictors
   and label were obtained, as the table's loading steps recorded it).
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from prom.bundle import (
    ClassifierSettings,
    ClassifierTaskEntry,
    FitProvenance,
    SampleSize,
    SiteValidation,
)
from prom.bundle.development_rows import DevelopmentRows, record_development_rows
from prom.errors import StatisticalWarning
from prom.jsonable import table_records as records
from prom.jsonable import to_jsonable
from prom.models.out_of_bag import out_of_bag_families, out_of_bag_rungs
from prom.models.tuning import fold_race
from prom.outcomes import ExcludedPredictor, Task, TaskDefinition, is_custom_task, resolve_task
from prom.parallel import resolve_n_jobs, run_batches
from prom.workflows.cautions import Cautions, chance_caution, separation_caution
from prom.workflows.final_fits import PendingFinalFits, by_cost
from prom.workflows.fit_checks import (
    candidate_parameters,
    fit_frame,
    minimum_class_size,
    minimum_sample_size,
    task_data_for_fit,
)
from prom.workflows.fit_diagnostics import diagnose_task_data
from prom.workflows.fit_survival import SurvivalTaskFit, fit_survival_task
from prom.workflows.missing import check_contract_values, check_task_inputs, imputed_counts
from prom.workflows.progress import StepClock
from prom.workflows.provenance import fit_provenance
from prom.workflows.record import is_simulated, validation_record
from prom.workflows.settings import FAMILIES, FitSettings
from prom.workflows.subgroups import check_subgroup_columns, subgroups_of_rows

__all__ = ["FAMILIES", "TaskFit", "fit_task", "fit_classifier_task"]


@dataclass
class TaskFit:
    """Everything :func:`fit_classifier_task` produced for one binary or multiclass task."""

    task_name: str
    kind: str
    description: str
    definition: TaskDefinition
    predictors: list[str]
    classes: list[Any]
    n: int
    n_events: int | None
    row_accounting: dict[str, int]
    models: dict[str, Any]
    cv: dict[str, Any]
    comparison: Any
    settings: ClassifierSettings
    iecv: dict[str, Any] = field(default_factory=dict)
    optimism: dict[str, Any] = field(default_factory=dict)
    sample_size: Any = None
    #: set when a user's outcome below the minimum sample size was fitted anyway
    sample_size_override: str | None = None
    #: candidate predictors left out of the fit, each with its reason
    excluded_predictors: tuple[ExcludedPredictor, ...] = ()
    primary: str = "logistic"
    baseline: str = "logistic"
    warnings: list[str] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)
    #: aggregates for reports (Table 1, curves, odds ratios): prom.workflows.record; the
    #: bundle stores it as <task>/validation.json
    record: dict[str, Any] = field(default_factory=dict)
    #: how the fit got its rows, predictors and label (prom.workflows.provenance)
    provenance: FitProvenance | None = None
    #: keyed digests of the labelled rows' keys (prom.bundle.development_rows)
    development_rows: DevelopmentRows | None = None
    #: missing values of numeric predictors the models impute, per column (labelled rows)
    imputed: dict[str, int] = field(default_factory=dict)
    #: what the predictors looked like before fitting (prom.workflows.fit_diagnostics)
    diagnostics: Any = None

    def manifest_entry(self) -> ClassifierTaskEntry:
        """What a bundle's manifest records about this task (models: filled by the writer)."""
        nb = getattr(self.comparison, "net_benefit", None)
        return ClassifierTaskEntry(
            name=self.task_name,
            kind=self.kind,
            description=self.description,
            definition=self.definition,
            predictors=tuple(self.predictors),
            excluded_predictors=tuple(self.excluded_predictors),
            classes=tuple(to_jsonable(self.classes)),
            n=int(self.n),
            n_events=None if self.n_events is None else int(self.n_events),
            row_accounting={k: int(v) for k, v in self.row_accounting.items()},
            primary=self.primary,
            baseline=self.baseline,
            settings=self.settings,
            warnings=tuple(self.warnings),
            comparison=records(self.comparison.table.reset_index(names="model")),
            net_benefit=records(nb) if nb is not None and len(nb) else (),
            cv_metrics={k: records(v.metrics) for k, v in self.cv.items()},
            internal_external={
                k: SiteValidation(
                    per_site=records(v.per_site.reset_index()),
                    pooled=records(v.pooled.reset_index(drop=True)),
                    meta=records(v.meta.reset_index(names="metric")),
                )
                for k, v in self.iecv.items()
            },
            optimism={
                k: records(v.table.reset_index(names="metric")) for k, v in self.optimism.items()
            },
            sample_size=None
            if self.sample_size is None
            else SampleSize(
                statement=self.sample_size.statement,
                adequate=bool(self.sample_size.adequate),
                override=self.sample_size_override,
            ),
            provenance=self.provenance,
            development_rows=self.development_rows,
            imputed=dict(self.imputed),
            diagnostics=self.diagnostics,
        )

    def summary(self) -> str:
        lines = [
            f"{self.task_name}: {self.n:,} labelled rows"
            + (f", {self.n_events:,} events" if self.n_events is not None else ""),
            self.comparison.summary(),
            f"primary model: {self.primary}",
        ]
        lines += [f"excluded predictor: {e.describe()}" for e in self.excluded_predictors]
        if self.diagnostics is not None:
            lines += [f"diagnostics: {d}" for d in self.diagnostics.lines()]
        lines += [f"caution: {w}" for w in self.warnings]
        return "\n".join(lines)


def fit_task(
    data: pd.DataFrame,
    task: str | Task | None = None,
    *,
    target: str | None = None,
    predictors: Sequence[str] | None = None,
    threshold: str | None = None,
    families: Sequence[str] | None = None,
    settings: FitSettings | None = None,
    progress: Callable[[str], None] | None = None,
    event_value: str | None = None,
    time: str | None = None,
    event: str | None = None,
    time_unit: str | None = None,
) -> TaskFit | SurvivalTaskFit:
    """Fit, validate and compare every model family for one task (see the module docstring).

    ``task``: a built-in task (name or :class:`~prom.outcomes.Task`), or the user's own
    outcome (:func:`prom.outcomes.custom_task`): ``target=`` a 0/1, two-valued (with
    ``event_value=`` naming the event) or multiclass column of ``data``, or ``time=`` and
    ``event=`` a time to an event (``time_unit=``; ``FitSettings(horizon=...)`` required); ``predictors`` replaces the task's candidate predictors (each
    is then checked: one that is not in the table, missing in every labelled row,
    constant, named twice or identical to another is an error, or with
    ``FitSettings(drop_unusable=True)`` a recorded exclusion). ``families`` default
    :data:`FAMILIES` (survival: ``cox``, ``cox_ridge``); ``settings`` default
    :class:`FitSettings` ``()``; ``progress`` receives a
    :class:`~prom.workflows.progress.FitStep` (a ``str``: the line to show, with the
    stage, family, counts and times as attributes) as each step starts and as its folds,
    sites or bootstrap samples finish. Every caution raised in a family's fits is issued
    once, naming the family, with a count (:mod:`prom.workflows.cautions`), and recorded
    in ``warnings``.
    """
    data = fit_frame(data)  # text column labels; a repeated index: rows by position
    resolved = resolve_task(
        data,
        task,
        target=target,
        predictors=predictors,
        event_value=event_value,
        time=time,
        event=event,
        time_unit=time_unit,
    )
    check_task_inputs(data, resolved.predictors)  # text in a numeric predictor: an error
    if not is_custom_task(resolved):  # the registry's predictors mean the contract's values
        check_contract_values(data, resolved.predictors)
    settings = FitSettings() if settings is None else settings
    if resolved.kind == "survival":
        return fit_survival_task(
            data,
            resolved,
            threshold=threshold,
            families=families,
            settings=settings,
            progress=progress,
        )
    return fit_classifier_task(
        data,
        resolved,
        threshold=threshold,
        families=families,
        settings=settings,
        progress=progress,
    )


def fit_classifier_task(
    data: pd.DataFrame,
    task: Task,
    *,
    threshold: str | None = None,
    families: Sequence[str] | None = None,
    settings: FitSettings | None = None,
    progress: Callable[[str], None] | None = None,
) -> TaskFit:
    """Fit and validate a binary or multiclass task (see the module docstring)."""
    data = fit_frame(data)
    from prom.models import PromClassifier
    from prom.validation import check_sample_size, compare_models, internal_external_cv
    from prom.validation.resampling import PendingCV, PendingOptimism

    s = FitSettings() if settings is None else settings
    check_subgroup_columns(data, s.subgroups)  # before any model is fitted
    clock = StepClock(task.name, progress)
    chosen = list(dict.fromkeys(FAMILIES if families is None else families))
    if "logistic" not in chosen:
        chosen.insert(0, "logistic")  # the baseline every model is compared against
    if len(chosen) < 2:
        raise ValueError(
            "a fit compares model families with logistic regression, the baseline; name "
            "at least one family besides 'logistic' (--models logistic,elastic_net; "
            "families=)"
        )
    timings: dict[str, float] = {}
    cautions = Cautions()
    td = task_data_for_fit(data, task, threshold, s)
    clock.start("diagnostics", None, "diagnostics of the predictors")
    td, diagnostics = diagnose_task_data(td, task.kind)
    X, y = td.X, td.y
    # before any fitting: a bad --id-column is refused at once
    development = record_development_rows(
        data, X, td.definition.outcome_columns, id_column=s.id_column
    )
    binary = task.kind == "binary"
    classes = sorted(pd.unique(y).tolist())
    if len(classes) < 2:
        raise ValueError(
            f"task {task.name}: the labelled rows hold one class only ({classes[0]!r})"
        )
    if is_custom_task(task):
        minimum_class_size(task.name, y, s)
    n_events = int(y.sum()) if binary else None
    sample = None
    override = None

    def make(family: str) -> PromClassifier:
        return PromClassifier(
            family=family,
            predictors=list(X.columns),
            calibration=s.calibration,
            n_iter=s.n_iter,
            inner_cv=s.inner_cv,
            random_state=s.random_state,
            n_jobs=1,
        )

    # sample size (binary): Riley et al. criteria for the logistic design's parameters
    n_par = candidate_parameters(X)
    if n_events is None and is_custom_task(task):  # several classes: events per parameter
        override = minimum_sample_size(task.name, y, n_par, 0, s)
        if override is not None:
            cautions.add(None, StatisticalWarning, override)
    if n_events is not None:  # binary
        with cautions.collect(None):
            # counted in the smaller class, as the diagnostics and the minimum do (Riley's
            # criteria are the same for either class)
            smaller = min(n_events, len(y) - n_events)
            sample = check_sample_size(
                len(y),
                smaller,
                n_par,
                c_statistic=s.anticipated_c,
                events_label="events" if smaller == n_events else "events of the smaller class",
            )
        if is_custom_task(task):
            override = minimum_sample_size(task.name, y, n_par, sample.required.n_required, s)
            if override is not None:
                cautions.add(None, StatisticalWarning, override)

    yv = y.to_numpy()
    # One pool for the steps that do not depend on each other: every family's outer
    # folds, the bootstrap refits of the optimism estimate and the final fits on all rows
    # (the costliest family's work first, the optimism refits last to fill the gaps).
    t0 = time.perf_counter()
    order = by_cost(chosen)
    final_rank = {fam: 2 * i for i, fam in enumerate(order)}  # a family's final fit, then
    cv_rank = {fam: 2 * i + 1 for i, fam in enumerate(order)}  # its folds
    pending_cv = PendingCV(
        {fam: make(fam) for fam in order}, X, yv, n_splits=s.n_splits, random_state=s.random_state
    )
    ticks = {
        fam: clock.start(
            "cv",
            fam,
            f"{s.n_splits}-fold CV of {fam} (family {i}/{len(chosen)})",
            s.n_splits,
            "folds",
        )
        for i, fam in enumerate(chosen, 1)
    }
    steps = [
        pending_cv.batch(
            None if progress is None else lambda f, k, n: ticks[f](k, n),  # type: ignore[misc]
            ranks=cv_rank,
        )
    ]
    pending_opt = {}
    wanted = ("logistic",) if s.optimism_families is None else s.optimism_families
    for fam in [f for f in wanted if f in chosen] if s.optimism_boot else []:
        with cautions.collect(fam):
            pending_opt[fam] = PendingOptimism(
                make(fam),
                X,
                yv,
                n_boot=s.optimism_boot,
                random_state=s.random_state,
                n_jobs=s.n_jobs,
                stacklevel=3,
            )
        tick = clock.start(
            "optimism", fam, f"bootstrap optimism of {fam}", s.optimism_boot, "bootstrap samples"
        )
        steps.append(pending_opt[fam].batch(tick, rank=2 * len(order)))
    pending_final = PendingFinalFits({fam: make(fam) for fam in chosen}, X, yv)
    tick = clock.start(
        "final", None, f"final fits on all {len(yv):,} rows", len(chosen), "families"
    )
    steps.append(pending_final.batch(tick, ranks=final_rank))
    results = run_batches(steps, resolve_n_jobs(s.n_jobs))
    cv_runs = pending_cv.finish(results[0], cautions.collect)
    cv: dict[str, Any] = {fam: cv_runs[fam] for fam in chosen}
    timings["cv, optimism and final fits (one pool)"] = time.perf_counter() - t0

    clock.start(
        "comparison", None, f"comparing with logistic regression ({s.n_boot} bootstrap replicates)"
    )
    t0 = time.perf_counter()
    preds = {fam: r.probabilities[0] for fam, r in cv.items()}
    with cautions.collect(None), warnings.catch_warnings():
        # the same out-of-fold predictions were counted, family by family, in cross-validation
        warnings.filterwarnings("ignore", "[0-9,]+ predictions are exactly 0 or 1 ")
        comparison = compare_models(
            yv,
            preds,
            baseline="logistic",
            n_boot=s.n_boot,
            random_state=s.random_state,
            classes=None if binary else classes,
        )
    timings["comparison"] = time.perf_counter() - t0
    table = comparison.table
    better = table[table["verdict"] == "better"]
    primary = str(better["auc"].idxmax()) if len(better) else "logistic"
    row = table.loc[primary]
    chance = chance_caution(task.name, primary, "AUC", row["auc"], row["auc_low"], row["auc_high"])
    perfect = separation_caution(task.name, primary, "AUC", row["auc"])
    for said in (chance, perfect):
        if said:
            cautions.add(None, StatisticalWarning, said)

    site_column = s.site_column
    sites = None
    if site_column and site_column in data.columns:
        sites = data.loc[X.index, site_column]
    iecv: dict[str, Any] = {}
    if binary and sites is not None and sites.nunique() >= 2:
        for fam in dict.fromkeys(["logistic", primary]):
            tick = clock.start(
                "iecv",
                fam,
                f"internal–external validation of {fam} by {site_column}",
                int(sites.nunique()),
                "sites",
            )
            t0 = time.perf_counter()
            with cautions.collect(fam):
                iecv[fam] = internal_external_cv(
                    make(fam), X, yv, sites.to_numpy(), n_jobs=s.n_jobs, progress=tick
                )
            timings[f"iecv {fam}"] = time.perf_counter() - t0

    optimism: dict[str, Any] = {}
    for (fam, pending), res in zip(pending_opt.items(), results[1:-1], strict=True):
        with cautions.collect(fam):
            optimism[fam] = pending.finish(res)
    models, seconds = pending_final.finish(results[-1], cautions)
    timings.update({f"final {fam}": v for fam, v in seconds.items()})

    cautions.reissue(stacklevel=3)
    fit = TaskFit(
        task_name=task.name,
        kind=task.kind,
        description=task.description,
        definition=td.definition,
        predictors=list(X.columns),
        classes=classes,
        n=len(yv),
        n_events=n_events,
        row_accounting=td.row_accounting,
        models=models,
        cv=cv,
        comparison=comparison,
        iecv=iecv,
        optimism=optimism,
        sample_size=sample,
        sample_size_override=override,
        excluded_predictors=td.excluded,
        primary=primary,
        baseline="logistic",
        settings=ClassifierSettings(
            families=tuple(chosen),
            n_splits=s.n_splits,
            n_iter=s.n_iter,
            inner_cv=s.inner_cv,
            calibration=s.calibration,
            n_boot=s.n_boot,
            optimism_boot=s.optimism_boot,
            random_state=s.random_state,
            anticipated_c=s.anticipated_c,
            site_column=site_column,
            out_of_bag_families=out_of_bag_families(chosen),
            out_of_bag_rungs=out_of_bag_rungs(chosen, s.n_iter),
            inner_fold_race=fold_race(chosen, s.n_iter, s.inner_cv),
        ),
        warnings=cautions.messages(),
        timings=timings,
        provenance=fit_provenance(data, task, X, td.definition),
        development_rows=development,
        imputed=imputed_counts(X),
        diagnostics=diagnostics,
    )
    t0 = time.perf_counter()
    fit.record = validation_record(fit, X, y, simulated=is_simulated(data), sites=sites)
    fit.record["subgroups"] = subgroups_of_rows(
        data,
        X.index,
        task.kind,
        yv if binary else y.astype(object).to_numpy(),
        {m: cv[m].probabilities[0] for m in dict.fromkeys([primary, "logistic"])},
        rows="out-of-fold predictions (repeat 1 of the CV), as the comparison table",
        site_column=site_column,
        columns=s.subgroups,
        classes=classes,
    )
    timings["validation record"] = time.perf_counter() - t0
    return fit
