# Longer than 500 lines: every field of a task entry sits next to its reader and writer; split the part classes out when it grows further
"""What a manifest records about one task: the typed task entries and their parts."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from prom.bundle.development_rows import DevelopmentRows
from prom.bundle.manifest.provenance import FitProvenance, provenance_from_manifest
from prom.bundle.manifest.reader import (
    BundleError,
    FieldReader,
    Records,
    records,
    records_by_model,
    rows,
)
from prom.models.diagnostics import FitDiagnostics
from prom.outcomes import (
    TASKS,
    ExcludedPredictor,
    McidDefinition,
    Task,
    TaskDefinition,
    TaskRows,
    definition_from_dict,
    is_custom_task,
    rows_for_definition,
    task_for_definition,
)

__all__ = [
    "ModelEntry",
    "SampleSize",
    "SiteValidation",
    "ClassifierSettings",
    "SurvivalSettings",
    "TaskEntry",
    "ClassifierTaskEntry",
    "SurvivalTaskEntry",
    "task_entry_from_dict",
]


@dataclass(frozen=True)
class ModelEntry:
    """One fitted model's files: ``estimator`` (and for classifiers ``state``)."""

    family: str
    format: str
    estimator: str
    state: str | None = None
    n_classes: int | None = None

    @classmethod
    def from_dict(cls, d: Any, where: str) -> ModelEntry:
        r = FieldReader(d, where)
        entry = cls(
            family=r.text("family"),
            format=r.text("format"),
            estimator=r.text("estimator"),
            state=r.text("state", required=False),
            n_classes=r.integer("n_classes", required=False),
        )
        r.done()
        if entry.format != "cox-json" and (entry.state is None or entry.n_classes is None):
            raise BundleError(f"{where}: a {entry.format} model needs 'state' and 'n_classes'")
        return entry

    def to_dict(self) -> dict[str, Any]:
        if self.format == "cox-json":  # one JSON file holds the whole Cox model
            return {"family": self.family, "format": self.format, "estimator": self.estimator}
        return {
            "family": self.family,
            "format": self.format,
            "state": self.state,
            "estimator": self.estimator,
            "n_classes": self.n_classes,
        }


@dataclass(frozen=True)
class SampleSize:
    """Riley et al.'s sample-size check of a binary task, as a sentence and a verdict;
    ``override`` says why a user's outcome below the minimum was fitted anyway
    (``prom fit --allow-small-sample``; absent otherwise)."""

    statement: str
    adequate: bool
    override: str | None = None

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"statement": self.statement, "adequate": self.adequate}
        if self.override is not None:
            d["override"] = self.override
        return d


@dataclass(frozen=True)
class SiteValidation:
    """Internal–external (leave-one-site-out) validation of one model family."""

    per_site: Records
    pooled: Records
    meta: Records

    def meta_row(self, metric: str) -> Mapping[str, Any] | None:
        """The random-effects summary of ``metric`` (e.g. ``"auc"``), or None."""
        return next((r for r in self.meta if r.get("metric") == metric), None)

    def to_dict(self) -> dict[str, Any]:
        return {
            "per_site": rows(self.per_site),
            "pooled": rows(self.pooled),
            "meta": rows(self.meta),
        }


@dataclass(frozen=True)
class ClassifierSettings:
    """The settings a binary or multiclass fit ran with (what determines its results)."""

    families: tuple[str, ...]
    n_splits: int
    n_iter: int
    inner_cv: int
    calibration: str
    n_boot: int
    optimism_boot: int
    random_state: int | None
    anticipated_c: float
    site_column: str | None
    #: families tuned and calibrated on out-of-bag predictions instead of the inner CV
    #: (prom.models.out_of_bag; absent in bundles written before: none)
    out_of_bag_families: tuple[str, ...] = ()
    #: the forest sizes the out-of-bag candidates were raced at by successive halving,
    #: the better half going on at each (prom.models.out_of_bag; absent in bundles
    #: written before, whose candidates were all grown whole, and when nothing was raced)
    out_of_bag_rungs: tuple[int, ...] = ()
    #: how many candidates each inner fold scored when the other tuned families raced
    #: them over the folds, the better half going on after each (prom.models.tuning;
    #: absent in bundles written before, whose candidates all ran every fold, and when
    #: nothing was raced)
    inner_fold_race: tuple[int, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d["families"] = list(self.families)
        for name in ("out_of_bag_families", "out_of_bag_rungs", "inner_fold_race"):
            d[name] = list(getattr(self, name))
            if not d[name]:  # as bundles written before it was recorded
                del d[name]
        return d


@dataclass(frozen=True)
class SurvivalSettings:
    """The settings a survival fit ran with."""

    families: tuple[str, ...]
    horizon: float
    time_unit: str
    n_splits: int
    n_repeats: int
    n_boot: int
    optimism_boot: int
    optimism_families: tuple[str, ...]
    random_state: int | None
    ci: str

    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d["families"] = list(self.families)
        d["optimism_families"] = list(self.optimism_families)
        return d


def _settings(cls: type, d: Any, where: str) -> Any:
    r = FieldReader(d, where)
    values = {
        f.name: r.req(f.name)
        for f in dataclasses.fields(cls)
        if f.default is dataclasses.MISSING or r.has(f.name)  # later fields are optional
    }
    r.done()
    tuples = (
        "families",
        "optimism_families",
        "out_of_bag_families",
        "out_of_bag_rungs",
        "inner_fold_race",
    )
    for n in tuples:
        if n in values:
            values[n] = tuple(values[n])
    return cls(**values)


@dataclass(frozen=True, kw_only=True)
class TaskEntry:
    """What a bundle records about one task (common to every kind)."""

    name: str
    kind: str
    description: str
    definition: TaskDefinition
    predictors: tuple[str, ...]
    n: int
    n_events: int | None
    row_accounting: Mapping[str, int]
    primary: str
    baseline: str | None
    #: candidate predictors the fit left out, each with its reason (absent: none)
    excluded_predictors: tuple[ExcludedPredictor, ...] = ()
    warnings: tuple[str, ...] = ()
    models: Mapping[str, ModelEntry] = field(default_factory=dict)
    optimism: Mapping[str, Records] = field(default_factory=dict)
    #: the task's validation record file (``<task>/validation.json``), when it has one
    validation_record: str | None = None
    #: set when the models were recalibrated on new data (``prom evaluate --out``)
    recalibration: str | None = None
    #: how the fit got its rows, predictors and label (absent in older bundles: None)
    provenance: FitProvenance | None = None
    #: keyed digests of the development rows' keys (absent in bundles written before them)
    development_rows: DevelopmentRows | None = None
    #: missing values of numeric predictors the models imputed in the fit's labelled rows,
    #: per column ({}: none; None: not recorded, a bundle written before the field)
    imputed: Mapping[str, int] | None = None
    #: the predictors' diagnostics before fitting (absent in older bundles: None)
    diagnostics: FitDiagnostics | None = None

    @property
    def is_survival(self) -> bool:
        return self.kind == "survival"

    @property
    def outcome_columns(self) -> tuple[str, ...]:
        """The columns the label is derived from (scores, a user's column, time/event)."""
        return self.definition.outcome_columns

    @property
    def threshold(self) -> str | None:
        """The MCID threshold id of an MCID task, else None."""
        return self.definition.threshold if isinstance(self.definition, McidDefinition) else None

    @property
    def instrument(self) -> str | None:
        """The PROM of an MCID task, else None."""
        return self.definition.instrument if isinstance(self.definition, McidDefinition) else None

    @property
    def explain_groups(self) -> tuple[tuple[str, ...], ...]:
        """Predictors explained together, decided at fit time (none recorded: empty)."""
        return () if self.diagnostics is None else self.diagnostics.explain_groups

    @property
    def is_builtin(self) -> bool:
        """A task of the toolkit's registry (not the user's own outcome columns)."""
        return self.name in TASKS and not is_custom_task(self.as_task())

    def as_task(self) -> Task:
        """The task this entry describes (its stored definition and predictors), e.g. for
        :func:`prom.outcomes.is_custom_task`: is the outcome the user's own?"""
        return task_for_definition(self.name, self.definition, self.predictors)

    def population(self) -> dict[str, tuple[str, ...]]:
        """The columns and values that define who is eligible (empty for a user's column)."""
        if not self.is_builtin:
            return {}
        return {k: tuple(v) for k, v in TASKS[self.name].population.items()}

    def rows(self, data: pd.DataFrame) -> TaskRows:
        """This task's labelled rows of ``data`` with exactly its predictors, the label
        derived as the bundle defines it (:func:`prom.outcomes.rows_for_definition`)."""
        return rows_for_definition(data, self.name, self.definition, self.predictors)

    def _head(self) -> dict[str, Any]:
        d: dict[str, Any] = {
            "kind": self.kind,
            "description": self.description,
            "definition": self.definition.to_dict(),
            "predictors": list(self.predictors),
        }
        if self.excluded_predictors:
            d["excluded_predictors"] = [e.to_dict() for e in self.excluded_predictors]
        return d

    def _tail(self, d: dict[str, Any]) -> dict[str, Any]:
        d["models"] = {k: m.to_dict() for k, m in self.models.items()}
        if self.validation_record is not None:
            d["validation_record"] = self.validation_record
        if self.recalibration is not None:
            d["recalibration"] = self.recalibration
        if self.provenance is not None:
            d["provenance"] = self.provenance.to_dict()
        if self.development_rows is not None:
            d["development_rows"] = self.development_rows.to_dict()
        if self.imputed is not None:
            d["imputed"] = {k: int(v) for k, v in self.imputed.items()}
        if self.diagnostics is not None:
            d["diagnostics"] = self.diagnostics.to_dict()
        return d

    def to_dict(self) -> dict[str, Any]:  # pragma: no cover - every entry is a subclass
        raise NotImplementedError


def _excluded_predictors(v: Any, where: str) -> tuple[ExcludedPredictor, ...]:
    """The field ``excluded_predictors`` (a list of ``{name, reason}``; absent: none)."""
    if v is None:
        return ()
    if not isinstance(v, list):
        raise BundleError(f"{where}: field 'excluded_predictors' must be a list; found {v!r}")
    out = []
    for i, item in enumerate(v):
        e = FieldReader(item, f"{where}: excluded_predictors[{i}]")
        out.append(ExcludedPredictor(name=e.text("name"), reason=e.text("reason")))
        e.done()
    return tuple(out)


def _common(r: FieldReader, name: str) -> dict[str, Any]:
    where = r.where
    try:
        definition = definition_from_dict(r.req("definition"))
    except ValueError as e:
        raise BundleError(f"{where}: {e}") from None
    predictors = r.req("predictors")
    if not isinstance(predictors, list) or not all(isinstance(p, str) for p in predictors):
        raise BundleError(f"{where}: field 'predictors' must be a list of column names")
    excluded = _excluded_predictors(r.opt("excluded_predictors"), where)
    models = {
        k: ModelEntry.from_dict(v, f"{where}, model {k!r}") for k, v in r.mapping("models").items()
    }
    if not models:
        raise BundleError(f"{where}: no models")
    primary = r.text("primary")
    if primary not in models:
        raise BundleError(f"{where}: primary model {primary!r} is not among {', '.join(models)}")
    return {
        "name": name,
        "kind": r.text("kind"),
        "description": r.text("description"),
        "definition": definition,
        "predictors": tuple(predictors),
        "excluded_predictors": excluded,
        "n": r.integer("n"),
        "n_events": r.integer("n_events", required=False),
        "row_accounting": dict(r.mapping("row_accounting")),
        "primary": primary,
        "baseline": r.text("baseline", required=False),
        "warnings": tuple(r.req("warnings")),
        "models": models,
        "optimism": records_by_model(r.mapping("optimism", required=False), f"{where}: optimism"),
        "validation_record": r.text("validation_record", required=False),
        "recalibration": r.text("recalibration", required=False),
        "provenance": provenance_from_manifest(r.opt("provenance"), where),
        "development_rows": None
        if r.opt("development_rows") is None
        else DevelopmentRows.from_dict(r.opt("development_rows"), where),
        "imputed": None if r.opt("imputed") is None else _imputed(r.mapping("imputed"), where),
        "diagnostics": r.typed("diagnostics", FitDiagnostics.from_dict),
    }


def _imputed(v: Mapping[str, Any], where: str) -> dict[str, int]:
    """The field ``imputed`` (``{column: count}``; absent: not recorded)."""
    bad = [k for k, n in v.items() if isinstance(n, bool) or not isinstance(n, int) or n < 0]
    if bad:
        raise BundleError(
            f"{where}: field 'imputed' must map columns to counts (whole numbers ≥ 0); "
            f"found {', '.join(f'{k}: {v[k]!r}' for k in bad)}"
        )
    return dict(v)


@dataclass(frozen=True, kw_only=True)
class ClassifierTaskEntry(TaskEntry):
    """A binary or multiclass task: every family compared with logistic regression."""

    classes: tuple[Any, ...]
    settings: ClassifierSettings
    comparison: Records
    cv_metrics: Mapping[str, Records]
    net_benefit: Records = ()
    internal_external: Mapping[str, SiteValidation] = field(default_factory=dict)
    sample_size: SampleSize | None = None

    def comparison_row(self, model: str) -> Mapping[str, Any] | None:
        """The comparison table's row of ``model`` (out-of-fold metrics, verdict), or None."""
        return next((r for r in self.comparison if r.get("model") == model), None)

    def primary_row(self) -> Mapping[str, Any] | None:
        return self.comparison_row(self.primary)

    def to_dict(self) -> dict[str, Any]:
        d = self._head()
        d |= {
            "classes": list(self.classes),
            "n": self.n,
            "n_events": self.n_events,
            "row_accounting": dict(self.row_accounting),
            "primary": self.primary,
            "baseline": self.baseline,
            "settings": self.settings.to_dict(),
            "warnings": list(self.warnings),
            "comparison": rows(self.comparison),
        }
        if self.net_benefit:
            d["net_benefit"] = rows(self.net_benefit)
        d["cv_metrics"] = {k: rows(v) for k, v in self.cv_metrics.items()}
        if self.internal_external:
            d["internal_external"] = {k: v.to_dict() for k, v in self.internal_external.items()}
        if self.optimism:
            d["optimism"] = {k: rows(v) for k, v in self.optimism.items()}
        if self.sample_size is not None:
            d["sample_size"] = self.sample_size.to_dict()
        return self._tail(d)

    @classmethod
    def from_reader(cls, r: FieldReader, name: str) -> ClassifierTaskEntry:
        where = r.where
        common = _common(r, name)
        ie = {}
        for k, v in r.mapping("internal_external", required=False).items():
            s = FieldReader(v, f"{where}: internal_external[{k!r}]")
            ie[k] = SiteValidation(
                per_site=records(s.req("per_site"), f"{s.where}.per_site"),
                pooled=records(s.req("pooled"), f"{s.where}.pooled"),
                meta=records(s.req("meta"), f"{s.where}.meta"),
            )
            s.done()
        sample = None
        if r.has("sample_size"):
            s = FieldReader(r.req("sample_size"), f"{where}: sample_size")
            sample = SampleSize(
                statement=s.text("statement"),
                adequate=bool(s.req("adequate")),
                override=s.text("override", required=False),
            )
            s.done()
        entry = cls(
            **common,
            classes=tuple(r.req("classes")),
            settings=_settings(ClassifierSettings, r.req("settings"), f"{where}: settings"),
            comparison=r.records("comparison") or (),
            cv_metrics=records_by_model(r.mapping("cv_metrics"), f"{where}: cv_metrics"),
            net_benefit=r.records("net_benefit", required=False) or (),
            internal_external=ie,
            sample_size=sample,
        )
        r.done()
        return entry


@dataclass(frozen=True, kw_only=True)
class SurvivalTaskEntry(TaskEntry):
    """A time-to-event task: Cox models, validated by repeated CV at a horizon."""

    settings: SurvivalSettings
    horizon: float
    time_unit: str
    time_column: str
    event_column: str
    #: why there is no comparison with logistic regression
    comparison_note: str
    #: per family: one mapping of metrics (C, calibration slope, O/E, …)
    cv_metrics: Mapping[str, Mapping[str, Any]]
    cv_per_repeat: Mapping[str, Records]
    calibration_at_horizon: Mapping[str, Records]
    km_by_risk_tertile: Records
    hazard_ratios: Mapping[str, Records]

    def primary_row(self) -> Mapping[str, Any] | None:
        return self.cv_metrics.get(self.primary)

    def to_dict(self) -> dict[str, Any]:
        d = self._head()
        d |= {
            "n": self.n,
            "n_events": self.n_events,
            "row_accounting": dict(self.row_accounting),
            "primary": self.primary,
            "baseline": self.baseline,
            "settings": self.settings.to_dict(),
            "warnings": list(self.warnings),
            "horizon": self.horizon,
            "time_unit": self.time_unit,
            "time_column": self.time_column,
            "event_column": self.event_column,
            "comparison": self.comparison_note,
            "cv_metrics": {k: dict(v) for k, v in self.cv_metrics.items()},
            "cv_per_repeat": {k: rows(v) for k, v in self.cv_per_repeat.items()},
            "calibration_at_horizon": {k: rows(v) for k, v in self.calibration_at_horizon.items()},
            "km_by_risk_tertile": rows(self.km_by_risk_tertile),
            "hazard_ratios": {k: rows(v) for k, v in self.hazard_ratios.items()},
        }
        if self.optimism:
            d["optimism"] = {k: rows(v) for k, v in self.optimism.items()}
        return self._tail(d)

    @classmethod
    def from_reader(cls, r: FieldReader, name: str) -> SurvivalTaskEntry:
        where = r.where
        common = _common(r, name)
        horizon = r.req("horizon")
        if isinstance(horizon, bool) or not isinstance(horizon, (int, float)):
            raise BundleError(f"{where}: field 'horizon' must be a number; found {horizon!r}")
        entry = cls(
            **common,
            settings=_settings(SurvivalSettings, r.req("settings"), f"{where}: settings"),
            horizon=float(horizon),
            time_unit=r.text("time_unit"),
            time_column=r.text("time_column"),
            event_column=r.text("event_column"),
            comparison_note=r.text("comparison"),
            cv_metrics={k: dict(v) for k, v in r.mapping("cv_metrics").items()},
            cv_per_repeat=records_by_model(r.mapping("cv_per_repeat"), f"{where}: cv_per_repeat"),
            calibration_at_horizon=records_by_model(
                r.mapping("calibration_at_horizon"), f"{where}: calibration_at_horizon"
            ),
            km_by_risk_tertile=r.records("km_by_risk_tertile") or (),
            hazard_ratios=records_by_model(r.mapping("hazard_ratios"), f"{where}: hazard_ratios"),
        )
        r.done()
        return entry


def task_entry_from_dict(name: str, d: Any) -> ClassifierTaskEntry | SurvivalTaskEntry:
    """One task's manifest entry, typed; :class:`BundleError` naming what is wrong."""
    r = FieldReader(d, f"manifest task {name!r}")
    kind = r.d.get("kind")
    if kind in ("binary", "multiclass"):
        return ClassifierTaskEntry.from_reader(r, name)
    if kind == "survival":
        return SurvivalTaskEntry.from_reader(r, name)
    raise BundleError(
        f"manifest task {name!r}: kind {kind!r}; expected 'binary', 'multiclass' or 'survival'"
    )
