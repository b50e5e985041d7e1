"""Fit a survival task end to end: time to an event → Cox model → honest validation.

:func:`fit_survival_task` is what :func:`prom.workflows.fit_task` (and so ``prom fit``)
runs for a task of kind ``"survival"``: the built-in ``surgery_conversion`` (months to
surgery, horizon 12 months by default) or the user's own time and event columns
(``prom fit --time COL --event COL --horizon H``: times in the unit of COL unless the
user names it with ``--time-unit``; no default horizon, since only the user knows what a
sensible one is in their unit):

1. derive ``time``/``event`` and keep the labelled rows, every dropped row counted by
   reason, and check the predictors, every one left out recorded with its reason
   (:func:`prom.workflows.fit_checks.task_data_for_fit`), and diagnose them before any
   model is fitted (:mod:`prom.workflows.fit_diagnostics`);
2. repeated k-fold cross-validation stratified by event status, the whole pipeline
   (preprocessing and Cox fit) refitted per fold: Harrell's C with a percentile-bootstrap
   interval over patients, the calibration slope of the held-out log cumulative hazard,
   and predicted against Kaplan–Meier risk at the horizon, overall and by risk decile
   (:func:`prom.validation.cross_validated_survival` says exactly what is computed);
3. Harrell's bootstrap optimism of C and the calibration slope (``optimism_boot`` > 0);
4. Kaplan–Meier curves by tertile of the out-of-fold predicted risk;
5. the final fit of every family on all labelled rows; the primary model is the family
   with the largest cross-validated C.

Model families, both :class:`prom.models.PromCoxModel` on the shared preprocessing:

- ``"cox"``: unpenalised, so its hazard ratios are the partial-likelihood estimates;
- ``"cox_ridge"``: a ridge penalty chosen by 3-fold cross-validated partial likelihood
  inside every fit (so inside every CV fold too). It costs about 13 lifelines fits per
  fit (≈ 2 s at 1,600 rows); with ~7 events per design column it is the better
  calibrated of the two (slope ≈ 1 against ≈ 0.6 unpenalised, simulated cohort).

Bootstrap optimism is computed for ``optimism_families`` (default the unpenalised
``"cox"``: refitting the tuned ridge a hundred times is slow and its CV slope already
shows its calibration).

There is no comparison against logistic regression: the outcome is a censored time, not
a binary label, and a logistic model of "surgery by 12 months" would have to drop or
guess the patients censored before then.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from prom.bundle import FitProvenance, SurvivalSettings, SurvivalTaskEntry
from prom.bundle.development_rows import DevelopmentRows, record_development_rows
from prom.errors import StatisticalWarning
from prom.jsonable import table_records, to_jsonable
from prom.outcomes import (
    TIME_UNIT,
    ExcludedPredictor,
    SurvivalDefinition,
    Task,
    get_task,
    is_custom_task,
)
from prom.workflows.cautions import Cautions, chance_caution, separation_caution
from prom.workflows.fit_checks import fit_frame, task_data_for_fit
from prom.workflows.fit_diagnostics import diagnose_task_data
from prom.workflows.missing import imputed_counts
from prom.workflows.progress import StepClock
from prom.workflows.provenance import fit_provenance
from prom.workflows.record import is_simulated, survival_record
from prom.workflows.settings import DEFAULT_HORIZON, SURVIVAL_FAMILIES, FitSettings
from prom.workflows.subgroups import check_subgroup_columns, subgroups_of_rows

__all__ = ["SurvivalTaskFit", "fit_survival_task", "KM_TIMES", "MIN_EVENTS_PER_PARAMETER"]

#: Times (months) at which the manifest records the Kaplan–Meier curves by risk tertile.
KM_TIMES = (3.0, 6.0, 12.0, 18.0, 24.0)
#: The same for a user's own time unit: these multiples of the horizon.
KM_HORIZON_FRACTIONS = (0.25, 0.5, 0.75, 1.0, 1.5, 2.0)
#: Fewer events per design column than this earns a StatisticalWarning (Peduzzi 1995).
MIN_EVENTS_PER_PARAMETER = 10
#: What the manifest says instead of a comparison table.
NO_COMPARISON = "none: a time-to-event task is not compared with logistic regression"


@dataclass
class SurvivalTaskFit:
    """Everything :func:`fit_survival_task` produced for one survival task.

    ``cv`` and ``optimism`` map family → :class:`~prom.validation.SurvivalCVResult` /
    :class:`~prom.validation.OptimismResult`; ``km_by_risk`` is the tidy table of
    Kaplan–Meier curves by tertile of the primary model's out-of-fold predicted risk
    (:func:`prom.models.kaplan_meier_curves`; ``group`` is ``low``/``middle``/``high``),
    ``km_by_risk_at`` the same read at :data:`KM_TIMES` (:func:`prom.validation.kaplan_meier`).
    """

    task_name: str
    description: str
    definition: SurvivalDefinition
    predictors: list[str]
    n: int
    n_events: int
    row_accounting: dict[str, int]
    models: dict[str, Any]
    cv: dict[str, Any]
    horizon: float
    km_by_risk: pd.DataFrame
    km_by_risk_at: pd.DataFrame
    settings: SurvivalSettings
    optimism: dict[str, Any] = field(default_factory=dict)
    #: candidate predictors left out of the fit, each with its reason
    excluded_predictors: tuple[ExcludedPredictor, ...] = ()
    primary: str = "cox"
    warnings: list[str] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)
    kind: str = "survival"
    time_unit: str = TIME_UNIT
    baseline: str | None = None  # no baseline comparison for a survival task
    #: aggregates for reports (Table 1, Kaplan–Meier by risk group): prom.workflows.record
    record: dict[str, Any] = field(default_factory=dict)
    #: how the fit got its rows, predictors and label (prom.workflows.provenance)
    provenance: FitProvenance | None = None
    #: keyed digests of the labelled rows' keys (prom.bundle.development_rows)
    development_rows: DevelopmentRows | None = None
    #: missing values of numeric predictors the models impute, per column (labelled rows)
    imputed: dict[str, int] = field(default_factory=dict)
    #: what the predictors looked like before fitting (prom.workflows.fit_diagnostics)
    diagnostics: Any = None

    @property
    def time_column(self) -> str:
        return self.definition.time_column

    @property
    def event_column(self) -> str:
        return self.definition.event_column

    def manifest_entry(self) -> SurvivalTaskEntry:
        """What a bundle's manifest records about this task (models: filled by the writer)."""
        return SurvivalTaskEntry(
            name=self.task_name,
            kind=self.kind,
            description=self.description,
            definition=self.definition,
            predictors=tuple(self.predictors),
            excluded_predictors=tuple(self.excluded_predictors),
            n=int(self.n),
            n_events=int(self.n_events),
            row_accounting={k: int(v) for k, v in self.row_accounting.items()},
            primary=self.primary,
            baseline=None,
            settings=self.settings,
            warnings=tuple(self.warnings),
            horizon=self.horizon,
            time_unit=self.time_unit,
            time_column=self.time_column,
            event_column=self.event_column,
            comparison_note=NO_COMPARISON,
            cv_metrics={k: to_jsonable(v.metrics) for k, v in self.cv.items()},
            cv_per_repeat={
                k: table_records(v.per_repeat.reset_index()) for k, v in self.cv.items()
            },
            calibration_at_horizon={k: table_records(v.calibration) for k, v in self.cv.items()},
            km_by_risk_tertile=table_records(self.km_by_risk_at),
            hazard_ratios={k: table_records(m.summary()) for k, m in self.models.items()},
            optimism={
                k: table_records(v.table.reset_index(names="metric"))
                for k, v in self.optimism.items()
            },
            provenance=self.provenance,
            development_rows=self.development_rows,
            imputed=dict(self.imputed),
            diagnostics=self.diagnostics,
        )

    def summary(self, top: int = 8) -> str:
        """C, calibration, optimism and the hazard ratios of the strongest predictors."""
        h = f"{self.horizon:g} {self.time_unit}"
        first = next(iter(self.cv.values()))
        lines = [
            (
                f"{self.task_name}: {self.n:,} labelled rows, {self.n_events:,} events "
                f"({first.metrics['events_by_horizon']:,} by {h}); time in {self.time_unit} from "
                + (self.definition.time_origin or "the time origin")
            ),
            (
                f"out-of-fold ({first.n_splits}-fold CV × {first.n_repeats} repeat(s)); 95% CIs "
                "by bootstrap over patients; risk by "
                f"{h}: Kaplan–Meier {first.metrics['observed_risk']:.1%}"
            ),
        ]
        for name, cv in self.cv.items():
            m = cv.metrics
            pen = self.models[name].penalizer_
            lines.append(
                f"{'*' if name == self.primary else ' '} {name}"
                + (f" (penalizer {pen:g})" if pen else "")
                + f": Harrell's C {m['c']:.3f} ({m['c_low']:.3f}–{m['c_high']:.3f}), calibration slope "
                f"{m['calibration_slope']:.2f} ({m['slope_low']:.2f}–{m['slope_high']:.2f}), "
                f"predicted risk {m['expected_risk']:.1%} (O/E {m['o_e']:.2f}), mean "
                f"|predicted − observed| over risk deciles {m['mean_abs_group_error']:.3f}"
            )
        for name, res in self.optimism.items():
            t = res.table
            lines.append(
                f"{name}, bootstrap optimism ({res.n_boot - res.n_skipped} refits): C apparent "
                f"{t.loc['c', 'apparent']:.3f}, corrected {t.loc['c', 'corrected']:.3f}; "
                f"slope corrected {t.loc['calibration_slope', 'corrected']:.2f}"
            )
        s = self.models[self.primary].summary()
        s = s.assign(z=(s["coef"] / s["se"]).abs()).sort_values("z", ascending=False).head(top)
        shrunk = ", shrunk towards 1 by the penalty" if self.models[self.primary].penalizer_ else ""
        lines.append(
            f"hazard ratios of {self.primary} (per unit of the predictor{shrunk}; the "
            f"{len(s)} largest |z|):"
        )
        lines += [
            f"  {r.feature:<36} {r.hazard_ratio:6.3f} ({r.ci_low:.3f}–{r.ci_high:.3f})"
            for r in s.itertuples()
        ]
        lines.append(
            "no comparison with logistic regression: the outcome is a censored time, "
            "not a binary label"
        )
        lines.append(f"primary model: {self.primary} (largest cross-validated C)")
        lines += [f"excluded predictor: {e.describe()}" for e in self.excluded_predictors]
        if self.diagnostics is not None:
            lines += [f"diagnostics: {d}" for d in self.diagnostics.lines()]
        lines += [f"caution: {w}" for w in self.warnings]
        return "\n".join(lines)


def _tertiles(risk: np.ndarray) -> np.ndarray:
    """``low``/``middle``/``high`` by tertile of ``risk`` (ties share a group)."""
    cuts = np.quantile(risk, [1 / 3, 2 / 3])
    return np.asarray(["low", "middle", "high"], dtype=object)[
        np.searchsorted(cuts, risk, side="left")
    ]


def _km_at_times(
    t: np.ndarray, e: np.ndarray, groups: np.ndarray, times: Sequence[float] = KM_TIMES
) -> pd.DataFrame:
    from prom.validation import kaplan_meier

    wanted = [x for x in times if x <= t.max()]
    return pd.concat(
        [
            kaplan_meier(t[groups == g], e[groups == g], wanted).assign(group=g)[
                ["group", "time", "n_risk", "n_event", "survival", "low", "high"]
            ]
            for g in ("low", "middle", "high")
        ],
        ignore_index=True,
    )


def _make(family: str, predictors: list[str], horizon: float, random_state: int | None) -> Any:
    from prom.models import PromCoxModel

    if family == "cox":
        return PromCoxModel(predictors=predictors, horizon=horizon)
    if family == "cox_ridge":
        return PromCoxModel(
            predictors=predictors, horizon=horizon, penalizer="cv", random_state=random_state
        )
    raise ValueError(
        f"unknown survival model family {family!r}; choose from {', '.join(SURVIVAL_FAMILIES)}"
    )


def fit_survival_task(
    data: pd.DataFrame,
    task: str | Task = "surgery_conversion",
    *,
    threshold: str | None = None,
    families: Sequence[str] | None = None,
    settings: FitSettings | None = None,
    progress: Callable[[str], None] | None = None,
) -> SurvivalTaskFit:
    """Fit and validate a survival task (see the module docstring).

    ``settings``: :class:`~prom.workflows.FitSettings` (``horizon``: required for a
    user's own outcome, default :data:`~prom.workflows.settings.DEFAULT_HORIZON` months for
    the built-in task; ``n_splits`` ×
    ``n_repeats`` CV, ``n_boot``, ``optimism_boot`` for ``optimism_families`` — default
    ``cox`` —, ``random_state``, ``n_jobs``); the binary-only settings do not apply.
    """
    from prom.models import kaplan_meier_curves
    from prom.validation import cross_validated_survival, survival_bootstrap_optimism

    s = FitSettings() if settings is None else settings
    data = fit_frame(data)
    check_subgroup_columns(data, s.subgroups)  # before any model is fitted
    task = get_task(task)
    clock = StepClock(task.name, progress)
    if task.kind != "survival":
        raise ValueError(f"task {task.name} is {task.kind}; fit it with prom.workflows.fit_task")
    chosen = list(dict.fromkeys(SURVIVAL_FAMILIES if families is None else families))
    unknown = [f for f in chosen if f not in SURVIVAL_FAMILIES]
    if unknown or not chosen:
        raise ValueError(
            f"task {task.name} is a survival task; its model families are "
            f"{', '.join(SURVIVAL_FAMILIES)}; got {', '.join(unknown) or 'none'} (binary "
            "families such as logistic or xgboost do not model censored times)"
        )
    td = task_data_for_fit(data, task, threshold, s)
    clock.start("diagnostics", None, "diagnostics of the predictors")
    td, diagnostics = diagnose_task_data(td, "survival")
    X, y = td.X, td.y
    definition = td.definition
    # before any fitting: a bad --id-column is refused at once
    development = record_development_rows(
        data, X, definition.outcome_columns, id_column=s.id_column
    )
    if not isinstance(definition, SurvivalDefinition):  # a survival task's label always is
        raise TypeError(f"expected a survival definition, got {type(definition).__name__}")
    unit = definition.time_unit
    t, e = y["time"].to_numpy(dtype=float), y["event"].to_numpy(dtype=float)
    own = is_custom_task(task)
    if s.horizon is None and own:
        raise ValueError(
            f"task {task.name}: give the horizon at which risks are predicted and calibrated "
            f"with --horizon (horizon=), in {unit}; the follow-up in this table runs from "
            f"{t.min():g} to {t.max():g} (median {np.median(t):g}), and the "
            f"last of the {int(e.sum()):,} events at {np.max(t[e == 1], initial=0):g}"
        )
    if not e.any():
        raise ValueError(
            f"task {task.name}: no events among the {len(e):,} labelled rows (every row is "
            "censored): there is nothing to model"
        )
    horizon = DEFAULT_HORIZON if s.horizon is None else float(s.horizon)
    if t.max() < horizon:
        raise ValueError(
            f"task {task.name}: follow-up ends at {t.max():g} {unit}, before "
            f"the horizon {horizon:g}; choose horizon ≤ {t.max():g}"
        )
    km_times = tuple(horizon * f for f in KM_HORIZON_FRACTIONS) if own else KM_TIMES
    optimism_families = ("cox",) if s.optimism_families is None else s.optimism_families
    cols = list(X.columns)
    timings: dict[str, float] = {}
    cautions = Cautions()  # each caution once, naming its family, with a count

    def run(label: str, stage: str, fam: str | None, fn: Callable[..., Any], *args, **kw) -> Any:
        tick = clock.start(stage, fam, label, 1, "step")
        t0 = time.perf_counter()
        with cautions.collect(fam):
            out = fn(*args, **kw)
        timings[label] = time.perf_counter() - t0
        if tick is not None:  # a display shows the step done when it is
            tick(1, 1)
        return out

    cv: dict[str, Any] = {}
    optimism: dict[str, Any] = {}
    models: dict[str, Any] = {}
    for fam in chosen:
        cv[fam] = run(
            f"{s.n_splits}-fold CV × {s.n_repeats} of {fam}",
            "cv",
            fam,
            cross_validated_survival,
            _make(fam, cols, horizon, s.random_state),
            X,
            y,
            horizon=horizon,
            n_splits=s.n_splits,
            n_repeats=s.n_repeats,
            n_boot=s.n_boot,
            random_state=s.random_state,
            n_jobs=s.n_jobs,
        )
        if s.optimism_boot and fam in optimism_families:
            optimism[fam] = run(
                f"bootstrap optimism of {fam} ({s.optimism_boot} refits)",
                "optimism",
                fam,
                survival_bootstrap_optimism,
                _make(fam, cols, horizon, s.random_state),
                X,
                y,
                n_boot=s.optimism_boot,
                random_state=s.random_state,
                n_jobs=s.n_jobs,
            )
        models[fam] = run(
            f"final fit of {fam} on all {len(y):,} rows",
            "final",
            fam,
            _make(fam, cols, horizon, s.random_state).fit,
            X,
            y,
        )
    primary = max(chosen, key=lambda f: cv[f].metrics["c"])
    m = cv[primary].metrics
    chance = chance_caution(task.name, primary, "Harrell's C", m["c"], m["c_low"], m["c_high"])
    perfect = separation_caution(task.name, primary, "Harrell's C", m["c"])
    for said in (chance, perfect):
        if said:
            cautions.add(None, StatisticalWarning, said)
    n_par = len(models[primary].feature_names_)
    if e.sum() / n_par < MIN_EVENTS_PER_PARAMETER:
        cautions.add(
            None,
            StatisticalWarning,
            f"{task.name}: {e.sum() / n_par:.1f} events per candidate parameter "
            f"({int(e.sum())} events, {n_par} design columns); below "
            f"{MIN_EVENTS_PER_PARAMETER} the hazard ratios are imprecise and the "
            "model overfits — see the calibration slope",
        )
    at_zero = t == 0
    if at_zero.any():  # an event at the start of follow-up: a time origin worth checking
        cautions.add(
            None,
            StatisticalWarning,
            f"{task.name}: {int(at_zero.sum()):,} row(s) have time 0 "
            f"({int(e[at_zero].sum()):,} of them events, at the very start of follow-up); "
            "check the time origin — an event recorded on the index date may belong before it",
        )
    groups = _tertiles(cv[primary].risk())
    km, km_at = run(
        "Kaplan–Meier curves by risk tertile",
        "curves",
        None,
        lambda: (kaplan_meier_curves(t, e, groups), _km_at_times(t, e, groups, km_times)),
    )
    cautions.reissue(stacklevel=2)
    fit = SurvivalTaskFit(
        task_name=task.name,
        description=task.description,
        definition=definition,
        predictors=cols,
        n=len(y),
        n_events=int(e.sum()),
        row_accounting=td.row_accounting,
        models=models,
        cv=cv,
        horizon=horizon,
        km_by_risk=km,
        km_by_risk_at=km_at,
        optimism=optimism,
        excluded_predictors=td.excluded,
        primary=primary,
        warnings=cautions.messages(),
        timings=timings,
        imputed=imputed_counts(X),
        time_unit=unit,
        settings=SurvivalSettings(
            families=tuple(chosen),
            horizon=horizon,
            time_unit=unit,
            n_splits=s.n_splits,
            n_repeats=s.n_repeats,
            n_boot=s.n_boot,
            optimism_boot=s.optimism_boot,
            optimism_families=tuple(f for f in optimism_families if f in chosen),
            random_state=s.random_state,
            ci="percentile bootstrap over patients of the out-of-fold predictions",
        ),
        provenance=fit_provenance(data, task, X, definition),
        development_rows=development,
        diagnostics=diagnostics,
    )
    t0 = time.perf_counter()
    fit.record = survival_record(
        fit,
        X,
        y,
        simulated=is_simulated(data),
        sites=data.loc[X.index, "site"] if "site" in data.columns else None,
    )
    fit.record["subgroups"] = subgroups_of_rows(
        data,
        X.index,
        "survival",
        y,
        {m: cv[m].risk() for m in dict.fromkeys([primary, "cox"]) if m in cv},
        rows=f"out-of-fold predicted risk by {horizon:g} {unit} (mean over the CV repeats)",
        site_column=s.site_column,
        columns=s.subgroups,
    )
    timings["validation record"] = time.perf_counter() - t0
    return fit
