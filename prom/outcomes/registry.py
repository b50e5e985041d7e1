"""The task registry: which label, which rows, which candidate predictors.

A *task* is one prediction question asked before treatment. Each declares its label
(how it is derived from the cohort table), who is eligible, and which columns may be used
as predictors (never anything measured after baseline, never the simulator's truth).

================== ========== ============================================================
task               kind       label
================== ========== ============================================================
mcid_odi_12m       binary     ODI MCID at 12 months (default Ostelo 2008), lumbar
mcid_nrs_back_12m  binary     NRS back-pain MCID at 12 months (Ostelo 2008), lumbar
mcid_nrs_leg_12m   binary     NRS leg-pain MCID at 12 months (Ostelo 2008), lumbar
mcid_comi_12m      binary     COMI MCID at 12 months (Mannion 2009), lumbar
mcid_mjoa_12m      binary     mJOA MCID at 12 months (Tetreault 2015), cervical myelopathy
tfesi_response     binary     ≥ 50% NRS leg-pain reduction at 1 month, TFESI patients
                              (Kim & Chang 2026)
triage             multiclass treatment received: conservative / tfesi / surgery, lumbar
surgery_conversion survival   months to surgery (censored), lumbar patients not operated
                              first
================== ========== ============================================================

Every row without a label gets a reason (``<task>_reason``): not in the task's
population, a score missing at baseline or follow-up, or a baseline that leaves no room to
reach the threshold. Nothing is silently dropped.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd

from prom.cohort.contract import CATEGORIES, IMAGING_FEATURES
from prom.errors import MissingColumnError
from prom.instruments import INSTRUMENTS, instrument_times
from prom.instruments.mcid import MCIDThreshold, get_threshold, mcid_attained, mcid_eligible
from prom.naming import DISC_LEVELS, imaging_column, score_column

__all__ = ["Task", "TASKS", "get_task", "derive_label", "derive_labels", "missing_score_hint"]

Kind = Literal["binary", "multiclass", "survival"]

DEMOGRAPHICS: tuple[str, ...] = (
    "age_years",
    "sex",
    "bmi_kg_m2",
    "smoking",
    "diabetes",
    "depression_anxiety",
    "symptom_duration_months",
    "prior_spine_surgery",
    "opioid_use",
    "asa_grade",
    "employment",
)
LUMBAR_BASELINE: tuple[str, ...] = (
    "diagnosis",
    "index_level",
    "odi_0m",
    "nrs_back_0m",
    "nrs_leg_0m",
    "comi_0m",
)
#: Every per-level imaging column (``img_l1_l2_*`` … ``img_l5_s1_*``), for users who want them.
IMAGING: tuple[str, ...] = tuple(
    imaging_column(level, feature) for level in DISC_LEVELS for feature, *_ in IMAGING_FEATURES
)
#: The imaging features read at the index level (``img_index_*``, :mod:`prom.cohort.derived`),
#: which the built-in lumbar tasks use; the model layer derives them from ``index_level``
#: and the per-level columns when a table does not carry them.
IMAGING_INDEX: tuple[str, ...] = tuple(f"img_index_{feature}" for feature, *_ in IMAGING_FEATURES)


@dataclass(frozen=True)
class Task:
    """A prediction task.

    ``population`` is a mapping column → allowed values that defines eligibility before
    any outcome is looked at (e.g. ``{"region": ("lumbar",)}``). For an MCID task,
    ``instrument``/``timepoint``/``threshold`` define the label; for a multiclass task the
    label is ``label_column``; for a survival task ``time_column``/``event_column``.
    ``predictors_named`` is True when the user named the predictors
    (:func:`prom.outcomes.resolve_task` with ``predictors=``): a fit then checks every one
    and refuses one it cannot use (:mod:`prom.outcomes.predictors`).
    ``user_definition`` is set on a task of the user's own outcome columns
    (:func:`prom.outcomes.custom_task`): the definition its label is derived by
    (:mod:`prom.outcomes.definitions`); a built-in task has none.
    """

    name: str
    kind: Kind
    description: str
    predictors: tuple[str, ...]
    population: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    instrument: str | None = None
    timepoint: str | None = None
    threshold: str | None = None
    label_column: str | None = None
    classes: tuple[str, ...] = ()
    time_column: str | None = None
    event_column: str | None = None
    predictors_named: bool = False
    user_definition: Any = None

    def declared(self, field: str) -> str:
        """A column or id the task must declare (``instrument``, ``label_column``, …)."""
        value = getattr(self, field)
        if not value:
            raise ValueError(f"task {self.name} ({self.kind}) declares no {field}")
        return str(value)

    @property
    def score_columns(self) -> tuple[str, str]:
        """An MCID task's baseline and follow-up score columns."""
        inst = self.declared("instrument")
        return score_column(inst, "0m"), score_column(inst, self.declared("timepoint"))

    def required_columns(self, threshold: MCIDThreshold | None = None) -> tuple[str, ...]:
        cols = list(self.population)
        if self.kind == "binary":
            cols += self.score_columns
        elif self.kind == "multiclass":
            cols.append(self.declared("label_column"))
        else:
            cols += [self.declared("time_column"), self.declared("event_column")]
        return tuple(cols)


_LUMBAR = {"region": ("lumbar",)}

TASKS: dict[str, Task] = {
    t.name: t
    for t in (
        Task(
            "mcid_odi_12m",
            "binary",
            "ODI MCID at 12 months",
            DEMOGRAPHICS + LUMBAR_BASELINE + ("treatment",) + IMAGING_INDEX,
            _LUMBAR,
            instrument="odi",
            timepoint="12m",
            threshold="odi_ostelo2008",
        ),
        Task(
            "mcid_nrs_back_12m",
            "binary",
            "NRS back-pain MCID at 12 months",
            DEMOGRAPHICS + LUMBAR_BASELINE + ("treatment",) + IMAGING_INDEX,
            _LUMBAR,
            instrument="nrs_back",
            timepoint="12m",
            threshold="nrs_back_ostelo2008",
        ),
        Task(
            "mcid_nrs_leg_12m",
            "binary",
            "NRS leg-pain MCID at 12 months",
            DEMOGRAPHICS + LUMBAR_BASELINE + ("treatment",) + IMAGING_INDEX,
            _LUMBAR,
            instrument="nrs_leg",
            timepoint="12m",
            threshold="nrs_leg_ostelo2008",
        ),
        Task(
            "mcid_comi_12m",
            "binary",
            "COMI MCID at 12 months",
            DEMOGRAPHICS + LUMBAR_BASELINE + ("treatment",) + IMAGING_INDEX,
            _LUMBAR,
            instrument="comi",
            timepoint="12m",
            threshold="comi_mannion2009",
        ),
        Task(
            "mcid_mjoa_12m",
            "binary",
            "mJOA MCID at 12 months (cervical myelopathy)",
            (*DEMOGRAPHICS, "mjoa_0m", "treatment"),
            {"region": ("cervical",), "diagnosis": ("cervical_myelopathy",)},
            instrument="mjoa",
            timepoint="12m",
            threshold="mjoa_tetreault2015",
        ),
        Task(
            "tfesi_response",
            "binary",
            "≥ 50% NRS leg-pain reduction at 1 month after TFESI",
            DEMOGRAPHICS + LUMBAR_BASELINE + IMAGING_INDEX,
            {"region": ("lumbar",), "treatment": ("tfesi",)},
            instrument="nrs_leg",
            timepoint="1m",
            threshold="nrs_leg_tfesi_50pct",
        ),
        Task(
            "triage",
            "multiclass",
            "treatment path: conservative / TFESI / surgery",
            DEMOGRAPHICS + LUMBAR_BASELINE + IMAGING_INDEX,
            _LUMBAR,
            label_column="treatment",
            classes=CATEGORIES["treatment"],
        ),
        Task(
            "surgery_conversion",
            "survival",
            "time to surgery among lumbar patients treated without surgery first",
            DEMOGRAPHICS + LUMBAR_BASELINE + ("treatment",) + IMAGING_INDEX,
            {"region": ("lumbar",), "treatment": ("conservative", "tfesi")},
            time_column="time_to_surgery_months",
            event_column="surgery_event",
        ),
    )
}


def get_task(name: str | Task) -> Task:
    if isinstance(name, Task):
        return name
    try:
        return TASKS[name]
    except KeyError:
        raise ValueError(f"unknown task {name!r}; tasks are {', '.join(TASKS)}") from None


def _population_mask(data: pd.DataFrame, task: Task) -> tuple[np.ndarray, np.ndarray]:
    """Boolean mask of rows in the task's population and the reason for each row outside."""
    n = len(data)
    inside = np.ones(n, dtype=bool)
    reason = np.full(n, None, dtype=object)
    for col, allowed in task.population.items():
        v = data[col].astype(object)
        ok = v.isin(allowed).to_numpy()
        newly_out = inside & ~ok
        if newly_out.any():
            shown = ("'" + v.astype(str) + "'").where(v.notna(), "missing").to_numpy()
            reason[newly_out] = (
                f"not in population: {col} is "
                + shown[newly_out].astype(object)
                + f", task needs {' or '.join(allowed)}"
            )
        inside &= ok
    return inside, reason


def missing_score_hint(missing: list[str], data: pd.DataFrame) -> str:
    """What the table has instead of the missing PROM score columns (``odi_12m``): their
    items at that time (then score them), the instrument at other times (a different
    follow-up), or neither; '' for other columns."""
    import re

    names = [str(c) for c in data.columns]
    unscored: list[str] = []
    said: list[str] = []
    for c in missing:
        m = re.fullmatch(r"(.+)_(\d+)m", c)
        inst = INSTRUMENTS.get(m.group(1)) if m else None
        if m is None or inst is None:
            continue
        months = int(m.group(2))
        if any(i in names and i != c for i in inst.item_columns(f"{months}m").values()):
            unscored.append(c)
            continue
        other = sorted({int(tp[:-1]) for tp in instrument_times(names, inst)} - {months})
        if other:
            at = ", ".join(map(str, other[:-1])) + (" and " if len(other) > 1 else "")
            said.append(
                f"{c}: the table has {inst.name} at {at}{other[-1]} months but not at "
                f"{months}, the time this task's outcome is defined at"
            )
        else:
            said.append(f"{c}: the table has neither the score nor its items")
    if unscored:
        said.insert(
            0,
            f"the table has the items of {', '.join(unscored)}, unscored: score them first "
            "(prom.instruments.add_scores(df); the prom commands score them themselves)",
        )
    return "; " + "; ".join(said) if said else ""


def _score_values(data: pd.DataFrame, column: str, inst) -> np.ndarray:
    """A score column as numbers; text that is not a number, or a score outside the
    instrument's range, refused naming the column, the rows and the values."""
    from prom.cohort.missing_values import unparseable_cells
    from prom.errors import format_rows, format_values

    raw = data[column]
    x = pd.to_numeric(raw, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    text = unparseable_cells(raw)
    lo, hi = inst.score_range
    with np.errstate(invalid="ignore"):
        out = ~np.isnan(x) & ((x < lo) | (x > hi))
    for bad, what in (
        (text, "text that is not a score (declare a marker missing with --missing-values)"),
        (out, f"{inst.name} scores outside {lo:g}–{hi:g} (scores, not item sums, are expected)"),
    ):
        if bad.any():
            raise ValueError(
                f"column {column!r}: {int(bad.sum()):,} row(s) hold {what}: "
                f"{format_values(raw[bad].tolist())} at {format_rows(data.index[bad])}"
            )
    return x


def derive_label(
    data: pd.DataFrame,
    task: str | Task,
    threshold: str | MCIDThreshold | None = None,
) -> pd.DataFrame:
    """Label of one task for every row, with eligibility and the reason for a missing label.

    Returns a DataFrame on ``data``'s index with ``label`` (binary: 1.0/0.0/NaN;
    multiclass: the class or missing; survival: see ``time``/``event``), ``eligible``,
    ``reason`` (text) and ``reason_code`` (``not_in_population``, ``baseline_missing``,
    ``follow_up_missing``, ``no_room``, ``label_missing``, ``time_missing``; missing where
    there is a label). ``threshold`` overrides an MCID task's default definition.
    """
    task = get_task(task)
    t: MCIDThreshold | None = None
    if task.kind == "binary":
        t = get_threshold(threshold or task.declared("threshold"))
        if t.instrument != task.instrument:
            raise ValueError(
                f"task {task.name} scores {task.instrument}; threshold {t.id!r} is for {t.instrument}"
            )
    elif threshold is not None:
        raise ValueError(f"task {task.name} is {task.kind}; it takes no MCID threshold")
    missing = [c for c in task.required_columns(t) if c not in data.columns]
    if missing:
        raise MissingColumnError(
            f"task {task.name} needs column(s) {', '.join(missing)}{missing_score_hint(missing, data)}"
        )

    inside, reason = _population_mask(data, task)
    code = np.full(len(data), None, dtype=object)
    code[~inside] = "not_in_population"
    out = pd.DataFrame(index=data.index)
    if t is not None:  # a binary MCID task
        inst = INSTRUMENTS[task.declared("instrument")]
        base_col, fu_col = task.score_columns
        b, f = (_score_values(data, c, inst) for c in (base_col, fu_col))
        label = mcid_attained(b, f, t, index=data.index).to_numpy()
        room = mcid_eligible(b, t)
        no_base = inside & np.isnan(b)
        no_fu = inside & ~no_base & np.isnan(f)
        no_room = inside & ~no_base & ~no_fu & ~room
        reason[no_base] = f"{base_col} missing (baseline {inst.name} not scored)"
        reason[no_fu] = f"{fu_col} missing (no {task.timepoint} {inst.name} score)"
        code[no_base], code[no_fu], code[no_room] = (
            "baseline_missing",
            "follow_up_missing",
            "no_room",
        )
        if no_room.any():
            reason[no_room] = (
                f"baseline {inst.name} "
                + pd.Series(b[no_room]).map("{:g}".format).to_numpy(dtype=object)
                + f" leaves no room to reach {t.describe()}"
            )
        label = np.where(inside, label, np.nan)
        out["label"] = label
        out["eligible"] = inside & room & ~np.isnan(b)
    elif task.kind == "multiclass":
        y = data[task.declared("label_column")].astype(object)
        present = y.notna().to_numpy()
        reason[inside & ~present] = f"{task.label_column} missing"
        code[inside & ~present] = "label_missing"
        out["label"] = pd.Categorical(y.where(inside & present), categories=task.classes)
        out["eligible"] = inside
    else:
        time = data[task.time_column].to_numpy(dtype=float, na_value=np.nan)
        event = data[task.event_column].to_numpy(dtype=float, na_value=np.nan)
        ok = ~np.isnan(time) & ~np.isnan(event)
        reason[inside & ~ok] = f"{task.time_column} or {task.event_column} missing"
        code[inside & ~ok] = "time_missing"
        out["time"] = np.where(inside & ok, time, np.nan)
        out["event"] = np.where(inside & ok, event, np.nan)
        out["eligible"] = inside
    has_label = (out["label"].notna() if "label" in out else out["time"].notna()).to_numpy()
    reason[has_label] = None
    code[has_label] = None
    out["reason"] = pd.Series(reason, index=data.index, dtype="object")
    out["reason_code"] = pd.Series(code, index=data.index, dtype="object")
    return out


def derive_labels(
    data: pd.DataFrame,
    tasks: list[str] | None = None,
    thresholds: Mapping[str, str | MCIDThreshold] | None = None,
) -> pd.DataFrame:
    """Labels of several tasks (default: every task whose columns are present).

    Returns one column per task (``<task>``; survival tasks give ``<task>_time`` and
    ``<task>_event``) and ``<task>_reason`` for rows without a label. ``thresholds``
    maps task name → MCID threshold id to override a default definition.
    """
    thresholds = dict(thresholds or {})
    mcid = [t.name for t in TASKS.values() if t.kind == "binary" and t.instrument is not None]
    unknown = set(thresholds) - set(TASKS)
    if unknown:
        raise ValueError(
            f"thresholds= (--threshold) names unknown task(s) {', '.join(sorted(unknown))}; "
            f"the tasks with an MCID threshold are {', '.join(mcid)}"
        )
    other = sorted(set(thresholds) - set(mcid))
    if other:
        raise ValueError(
            f"thresholds= (--threshold) names task(s) {', '.join(other)} without an MCID "
            f"threshold; the tasks with one are {', '.join(mcid)}"
        )
    if tasks is None:
        chosen = [
            t
            for t in TASKS.values()
            # a task given a threshold is derived, or refused naming what it lacks
            if t.name in thresholds or all(c in data.columns for c in t.required_columns())
        ]
    else:
        chosen = [get_task(t) for t in tasks]
    cols: dict[str, pd.Series] = {}
    for task in chosen:
        res = derive_label(data, task, thresholds.get(task.name))
        if task.kind == "survival":
            cols[f"{task.name}_time"] = res["time"]
            cols[f"{task.name}_event"] = res["event"]
        else:
            cols[task.name] = res["label"]
        cols[f"{task.name}_reason"] = res["reason"]
    return pd.DataFrame(cols, index=data.index)
