"""From a cohort table and a task to the rows, predictors and label a model is fitted on.

Three entry points, one rule for which rows and predictors a task applies to:

- :func:`resolve_task` turns what a user names — a built-in task, or their own outcome:
  a binary or multiclass ``target`` column, or ``time`` and ``event`` columns
  (:func:`custom_task`, :mod:`prom.outcomes.custom`) — into one
  :class:`~prom.outcomes.Task`, once, with its candidate predictors settled; everything
  downstream takes that object;
- :func:`prepare_task_data` derives the label and keeps the labelled rows, counting every
  dropped row by its reason (``row_accounting``), checks the predictors
  (:func:`~prom.outcomes.predictors.screen_predictors`: a predictor left out is recorded
  with its reason, one the user named and cannot be used is an error), and returns a
  :class:`TaskData`;
- :func:`rows_for_definition` does the same for a task read back from a bundle (its stored
  :mod:`definition <prom.outcomes.definitions>` and predictors), adding a predictor the
  new table lacks as all-missing so the model imputes it as it was trained to (and saying
  which ones it added). Evaluation on new data, reports, the calculator and the bulk
  scorer all go through it.
"""

from __future__ import annotations

import dataclasses
import shlex
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np
import pandas as pd

from prom.cohort.derived import derive_available
from prom.errors import MissingColumnError
from prom.naming import DISC_LEVELS
from prom.outcomes.custom import row_accounting, target_definition, user_label
from prom.outcomes.definitions import (
    ClassDefinition,
    ColumnDefinition,
    McidDefinition,
    SurvivalDefinition,
    TaskDefinition,
    mcid_definition,
    survival_definition,
    user_survival_definition,
)
from prom.outcomes.predictors import ExcludedPredictor, PredictorError, screen_predictors
from prom.outcomes.registry import Task, derive_label, get_task

__all__ = [
    "TaskData",
    "TaskRows",
    "custom_task",
    "is_custom_task",
    "resolve_task",
    "prepare_task_data",
    "task_for_definition",
    "rows_for_definition",
]

#: Baseline PROM scores a custom target's default predictors include when present.
_BASELINE_SCORES = ("odi_0m", "nrs_back_0m", "nrs_leg_0m", "comi_0m", "mjoa_0m")


@dataclass(frozen=True)
class TaskData:
    """A task's labelled rows: ``X`` (predictors), ``y`` (label; for a survival task a
    DataFrame with ``time`` and ``event``), what the label means, where every input
    row went (``row_accounting``: ``read``, ``used`` and one count per reason for a row
    without a label), and the candidate predictors left out of ``X`` with their reasons
    (``excluded``). Unpacks as ``task, X, y, definition, row_accounting``, as it always has.
    """

    task: Task
    X: pd.DataFrame
    y: pd.Series | pd.DataFrame
    definition: TaskDefinition
    row_accounting: dict[str, int]
    excluded: tuple[ExcludedPredictor, ...] = ()

    def __iter__(self) -> Iterator[Any]:
        return iter((self.task, self.X, self.y, self.definition, self.row_accounting))


def custom_task(
    data: pd.DataFrame,
    target: str | None = None,
    predictors: Sequence[str] | None = None,
    *,
    event_value: str | None = None,
    time: str | None = None,
    event: str | None = None,
    time_unit: str | None = None,
) -> Task:
    """A task whose outcome is the user's own column(s): ``target`` (binary or multiclass,
    decided from its values by :func:`prom.outcomes.custom.target_definition`;
    ``event_value`` names the event of a two-valued column that is not 0/1), or ``time``
    and ``event`` (a time to an event, 0/1 censored/event, in ``time_unit`` — default
    "units of <time>", the column's own unit, whatever it is).

    Without ``predictors`` the candidates are the contract's predictor and imaging columns
    present in ``data`` (imaging read at the index level when the table allows, as the
    built-in tasks do) and the baseline PROM scores present. Given ``predictors`` are the
    user's own choice (:attr:`Task.predictors_named`).
    """
    if (target is None) == (time is None and event is None):
        raise ValueError(
            "give either target=<outcome column> or time= and event= (a time to an event)"
        )
    definition: TaskDefinition
    if target is None:
        if time is None or event is None:
            given = f"--time {time!r}" if time else f"--event {event!r}"
            raise ValueError(
                f"a time-to-event outcome needs both --time and --event (time=, event=); "
                f"got only {given}"
            )
        if event_value is not None:
            raise ValueError(
                "--event-value (event_value=) names the event of a two-valued --target "
                f"column; an --event column holds 0 (censored) or 1 (event): recode "
                f"{event!r} to 0/1 in the table"
            )
        definition = user_survival_definition(time, event, time_unit)
    else:
        if time_unit is not None:
            raise ValueError("--time-unit (time_unit=) is for a --time/--event outcome")
        definition = target_definition(data, target, event_value)
    named = predictors is not None
    if predictors is None:
        predictors = _default_candidates(data)
    return _user_task(definition, predictors, named=named)


def _default_candidates(data: pd.DataFrame) -> list[str]:
    """A user's outcome's default candidate predictors (see :func:`custom_task`)."""
    from prom.cohort.contract import COHORT_CONTRACT
    from prom.cohort.derived import index_imaging_columns

    index_cols = list(
        derive_available(data.head(0), index_imaging_columns()).columns.intersection(
            index_imaging_columns()
        )
    )
    per_level = {f"img_{lev}_{c[len('img_index_') :]}" for c in index_cols for lev in DISC_LEVELS}
    predictors = [
        c.name
        for c in COHORT_CONTRACT.by_role("predictor", "imaging")
        if (c.name in data.columns or c.name in index_cols) and c.name not in per_level
    ]
    predictors += [c for c in _BASELINE_SCORES if c in data.columns and c not in predictors]
    return predictors


def _user_task(
    definition: TaskDefinition, predictors: Sequence[str], *, named: bool = False
) -> Task:
    """The task of a user's own outcome definition with exactly these candidate predictors."""
    if isinstance(definition, SurvivalDefinition):
        return Task(
            definition.event_column,
            "survival",
            f"user-defined time-to-event outcome: '{definition.event_column}' over "
            f"'{definition.time_column}' ({definition.time_unit})",
            tuple(predictors),
            time_column=definition.time_column,
            event_column=definition.event_column,
            predictors_named=named,
            user_definition=definition,
        )
    if isinstance(definition, ClassDefinition):
        return Task(
            definition.column,
            "multiclass",
            f"user-defined multiclass outcome '{definition.column}' "
            f"({', '.join(map(str, definition.classes))})",
            tuple(predictors),
            label_column=definition.column,
            classes=tuple(definition.classes),
            predictors_named=named,
            user_definition=definition,
        )
    if isinstance(definition, ColumnDefinition):
        what = "" if definition.event_value is None else f" = '{definition.event_value}'"
        return Task(
            definition.column,
            "binary",
            f"user-defined binary outcome '{definition.column}'{what}",
            tuple(predictors),
            label_column=definition.column,
            predictors_named=named,
            user_definition=definition,
        )
    raise TypeError(f"not a definition of a user's own outcome: {type(definition).__name__}")


def is_custom_task(task: Task) -> bool:
    """True for a task of the user's own outcome (:func:`custom_task`): a binary, multiclass
    or time-to-event outcome read from the user's columns, with no instrument, task
    registry entry or data contract behind its label. The one test of "the user's own
    outcome" (reports use it to say only what such a fit did)."""
    if task.user_definition is not None:
        return True
    return task.kind == "binary" and task.instrument is None and task.label_column is not None


def resolve_task(
    data: pd.DataFrame,
    task: str | Task | None = None,
    *,
    target: str | None = None,
    predictors: Sequence[str] | None = None,
    event_value: str | None = None,
    time: str | None = None,
    event: str | None = None,
    time_unit: str | None = None,
) -> Task:
    """The one :class:`Task` a fit runs on: a built-in task (by name), a user's ``target``
    column, or a user's ``time`` and ``event`` columns (:func:`custom_task`), with
    ``predictors`` replacing its candidate predictors when given (and then marked as named
    by the user: :attr:`Task.predictors_named`)."""
    own = target is not None or time is not None or event is not None
    if (task is None) == (not own):
        raise ValueError(
            "give either a built-in task or target=<outcome column> (or time= and event=), "
            "not both or neither"
        )
    if own:
        return custom_task(
            data,
            target,
            predictors,
            event_value=event_value,
            time=time,
            event=event,
            time_unit=time_unit,
        )
    if event_value is not None or time_unit is not None:
        raise ValueError("event_value= and time_unit= are for a user's own outcome columns")
    resolved = get_task(task)  # type: ignore[arg-type]
    if predictors is not None:
        resolved = dataclasses.replace(
            resolved, predictors=tuple(predictors), predictors_named=True
        )
    return resolved


def prepare_task_data(
    data: pd.DataFrame,
    task: str | Task | None = None,
    *,
    target: str | None = None,
    predictors: Sequence[str] | None = None,
    threshold: str | None = None,
    drop_unusable: bool = False,
    event_value: str | None = None,
    time: str | None = None,
    event: str | None = None,
    time_unit: str | None = None,
) -> TaskData:
    """Rows, predictors and label for a task (a :class:`Task`, a built-in task's name, or
    the user's own outcome: ``target`` with ``event_value``, or ``time`` and ``event``
    with ``time_unit``; :func:`custom_task`); see :class:`TaskData`.

    Predictors are checked by :func:`~prom.outcomes.predictors.screen_predictors`: a
    default candidate that is not in the table or missing in every labelled row is left
    out of ``X`` and listed in ``excluded``; a predictor the user named that cannot be
    used raises :class:`~prom.outcomes.predictors.PredictorError`, or with
    ``drop_unusable=True`` is left out and listed. ``threshold`` overrides a built-in MCID
    task's definition.
    """
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
    definition: TaskDefinition
    y: pd.Series | pd.DataFrame
    if is_custom_task(resolved):
        definition = resolved.user_definition or ColumnDefinition(str(resolved.label_column))
        keep, y, accounting = user_label(data, definition)
    else:
        res = derive_label(data, resolved, threshold)
        survival = resolved.kind == "survival"
        keep = (res["time"] if survival else res["label"]).notna().to_numpy()
        accounting = row_accounting(data, keep, res["reason_code"].fillna("no label"))
        if survival:  # y: a DataFrame with time and event
            y = res.loc[keep, ["time", "event"]].astype(float)
            definition = survival_definition(resolved)
        elif resolved.kind == "binary":
            y = res.loc[keep, "label"].astype(int)
            definition = mcid_definition(resolved, threshold)
        else:
            y = res.loc[keep, "label"].astype(object)
            definition = ClassDefinition(str(resolved.label_column), tuple(resolved.classes))
    data = derive_available(data, resolved.predictors)
    if not any(p in data.columns for p in resolved.predictors):
        raise MissingColumnError(_no_candidates_message(data, resolved))
    _refuse_outcome_as_predictor(resolved)
    usable, excluded = screen_predictors(
        data,
        keep,
        resolved.predictors,
        named=resolved.predictors_named,
        drop_unusable=drop_unusable,
        task_name=resolved.name,
    )
    X = data.loc[keep, usable]
    return TaskData(resolved, X, y, definition, accounting, excluded)


def _no_candidates_message(data: pd.DataFrame, task: Task) -> str:
    """Why a task has no candidate predictor in the table, and what to do: name them with
    ``--predictors`` from the table's own columns (never the outcome's), or map the
    table's columns onto the contract."""
    outcome = set(_outcome_columns(task))
    others = [c for c in data.columns if str(c) not in outcome]
    ids = [str(c) for c in others if _is_identifier(data[c])]
    own = [str(c) for c in others if str(c) not in ids]
    listed = ", ".join(own[:12]) + (f", … ({len(own):,} columns)" if len(own) > 12 else "")
    if ids:
        listed += (
            "; left out as row identifiers (patient_id, or text with a different value in "
            "every row): " + ", ".join(ids[:5]) + (f", … ({len(ids):,})" if len(ids) > 5 else "")
        )
    if is_custom_task(task):
        default = "the contract's predictor columns and baseline PROM scores"
    else:
        default = (
            f"task {task.name}'s candidate predictors (e.g. " + ", ".join(task.predictors[:5]) + ")"
        )
    head = f"none of {default} is in the table"
    if not own:
        tail = f" ({listed.removeprefix('; ')})" if ids else ""
        return f"{head}, and the table has no column besides the outcome to predict it from{tail}"
    return (
        f"{head}; name the predictors from your table's columns with --predictors "
        f"(predictors=), e.g. --predictors {shlex.quote(','.join(own[:3]))} (the table's columns besides "
        f"the outcome: {listed}), or map your columns onto the contract (--mapping)"
    )


def _is_identifier(col: pd.Series) -> bool:
    """A column that identifies rows rather than describing patients: ``patient_id``, or
    text with a different value in every row (never suggested as a predictor)."""
    if col.name == "patient_id":
        return True
    if pd.api.types.is_numeric_dtype(col) or len(col) < 2:
        return False
    return bool(col.notna().all() and col.nunique() == len(col))


def _outcome_columns(task: Task) -> tuple[str, ...]:
    """The columns a task's outcome is read from (never a predictor of it)."""
    if task.kind == "survival":
        return (task.declared("time_column"), task.declared("event_column"))
    if task.kind == "binary" and not is_custom_task(task):
        return (task.score_columns[1],)  # the follow-up score; the baseline is a predictor
    return (task.declared("label_column"),)


def _refuse_outcome_as_predictor(task: Task) -> None:
    """A predictor that is the task's own outcome column would make a model that only
    reads its answer back: refused by name (no opt-out)."""
    outcome = _outcome_columns(task)
    named = [p for p in task.predictors if p in outcome]
    if named:
        raise PredictorError(
            f"task {task.name}: predictor(s) {', '.join(map(repr, named))} are the outcome "
            f"the task predicts (outcome column(s): {', '.join(outcome)}); a model cannot use "
            "its own outcome as a predictor: remove it from --predictors (predictors=)"
        )


def _is_user_definition(definition: TaskDefinition) -> bool:
    """A stored definition of the user's own outcome columns (a 0/1 or two-valued column,
    or a class or survival definition marked ``user_column``)."""
    if isinstance(definition, ColumnDefinition):
        return True
    return bool(getattr(definition, "user_column", False))


def task_for_definition(name: str, definition: TaskDefinition, predictors: Sequence[str]) -> Task:
    """The task a stored definition describes, with exactly the stored ``predictors``."""
    if _is_user_definition(definition):
        return _user_task(definition, predictors)
    return dataclasses.replace(get_task(name), predictors=tuple(predictors))


class TaskRows(NamedTuple):
    """A stored task's labelled rows in a new table: ``X`` holds exactly the stored
    predictors, in order; ``absent`` names those the table lacked (added as missing)."""

    X: pd.DataFrame
    y: pd.Series | pd.DataFrame
    row_accounting: dict[str, int]
    absent: tuple[str, ...]


def rows_for_definition(
    data: pd.DataFrame, name: str, definition: TaskDefinition, predictors: Sequence[str]
) -> TaskRows:
    """The rows and predictors a stored task applies to in ``data``, its label derived
    exactly as the definition says (see the module docstring)."""
    task = task_for_definition(name, definition, predictors)
    threshold = definition.threshold if isinstance(definition, McidDefinition) else None
    td = prepare_task_data(data, task, threshold=threshold)
    X = td.X
    absent = tuple(c for c in predictors if c not in X.columns)
    for c in absent:  # absent in the new data: all missing, imputed as in training
        X[c] = np.nan
    return TaskRows(X[list(predictors)], td.y, td.row_accounting, absent)
