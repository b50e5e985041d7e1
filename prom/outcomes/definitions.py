"""What a task's label means, as data: the definition a fit records and a bundle stores.

A fitted model is only usable on new rows if the label is derived there exactly as it was
when the model was fitted. Each task kind has one definition type, written into the bundle
manifest (``definition``) and read back from it:

==================== ============== ====================================================
type                 class          what defines the label
==================== ============== ====================================================
``"mcid"``           McidDefinition a registered MCID threshold on a PROM's baseline and
                                    follow-up scores (:mod:`prom.instruments.mcid`)
``"user column"``    ColumnDefinition
                                    a two-valued column of the user's own table (0/1, or
                                    any two values with the event value named)
``"class"``          ClassDefinition the class in a column (multiclass tasks)
``"survival"``       SurvivalDefinition
                                    time and event columns, time unit, origin, censoring
==================== ============== ====================================================

A class or survival definition of the user's own columns (``prom fit --target`` with more
than two classes, ``prom fit --time --event``) says so (``user_column``); a definition
without the field is a built-in task's, as every bundle written before it was.

``to_dict`` gives the manifest's JSON object (keys in the order bundles have always
written them, so a bundle's bytes do not depend on this module) and
:func:`definition_from_dict` reads one back, refusing anything it does not know.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

from prom.outcomes.registry import Task, get_task

__all__ = [
    "TIME_UNIT",
    "McidDefinition",
    "ColumnDefinition",
    "ClassDefinition",
    "SurvivalDefinition",
    "TaskDefinition",
    "definition_from_dict",
    "mcid_definition",
    "survival_definition",
    "user_survival_definition",
]

#: Time unit of the survival task's times (months from the baseline visit).
TIME_UNIT = "months"


@dataclass(frozen=True)
class McidDefinition:
    """Binary label: the MCID threshold ``threshold`` reached on ``instrument`` at ``timepoint``."""

    threshold: str
    rule: str
    source: str
    instrument: str
    timepoint: str
    type: ClassVar[str] = "mcid"

    @property
    def outcome_columns(self) -> tuple[str, str]:
        """The baseline and follow-up score columns the label is derived from."""
        return (f"{self.instrument}_0m", f"{self.instrument}_{self.timepoint}")

    def to_dict(self) -> dict[str, Any]:
        return {
            "type": self.type,
            "threshold": self.threshold,
            "rule": self.rule,
            "source": self.source,
            "instrument": self.instrument,
            "timepoint": self.timepoint,
        }


@dataclass(frozen=True)
class ColumnDefinition:
    """Binary label: a column of the user's own table (``prom fit --target``).

    A 0/1 column needs nothing more (1 is the event). A column with two other values
    records which one is the event (``event_value``, ``prom fit --event-value``) and the
    other (``other_value``): the label is 1 where the column holds ``event_value``, 0
    where it holds ``other_value``; any third value in new data is refused.
    """

    column: str
    event_value: str | None = None
    other_value: str | None = None
    type: ClassVar[str] = "user column"

    @property
    def outcome_columns(self) -> tuple[str]:
        return (self.column,)

    def describe_event(self) -> str:
        """``'status' = 'Abnormal' (event) against 'Normal'`` or ``'good' (1 = event)``."""
        if self.event_value is None:
            return f"column '{self.column}' (1 = event)"
        return f"column '{self.column}' = '{self.event_value}' (event) against '{self.other_value}'"

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"type": self.type, "column": self.column}
        if self.event_value is not None:  # absent for a 0/1 column, as bundles always were
            d["event_value"] = self.event_value
            d["other_value"] = self.other_value
        return d


@dataclass(frozen=True)
class ClassDefinition:
    """Multiclass label: the class in ``column``, one of ``classes``; ``user_column`` when
    the column is the user's own (``prom fit --target``: classes exactly as the table
    writes them, as text)."""

    column: str
    classes: tuple[str, ...]
    user_column: bool = False
    type: ClassVar[str] = "class"

    @property
    def outcome_columns(self) -> tuple[str]:
        return (self.column,)

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {
            "type": self.type,
            "column": self.column,
            "classes": list(self.classes),
        }
        if self.user_column:
            d["user_column"] = True
        return d


@dataclass(frozen=True)
class SurvivalDefinition:
    """Time-to-event label: ``time_column`` (in ``time_unit``) and ``event_column`` (0/1)."""

    time_column: str
    event_column: str
    time_unit: str
    population: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    time_origin: str = ""
    event: str = ""
    censoring: str = ""
    #: True for the user's own time and event columns (``prom fit --time --event``)
    user_column: bool = False
    type: ClassVar[str] = "survival"

    @property
    def outcome_columns(self) -> tuple[str, str]:
        return (self.time_column, self.event_column)

    def to_dict(self) -> dict[str, Any]:
        return {
            "type": self.type,
            "time_column": self.time_column,
            "event_column": self.event_column,
            "time_unit": self.time_unit,
            "population": {k: list(v) for k, v in self.population.items()},
            "time_origin": self.time_origin,
            "event": self.event,
            "censoring": self.censoring,
        } | ({"user_column": True} if self.user_column else {})


TaskDefinition = McidDefinition | ColumnDefinition | ClassDefinition | SurvivalDefinition

_TYPES: dict[str, type] = {
    c.type: c for c in (McidDefinition, ColumnDefinition, ClassDefinition, SurvivalDefinition)
}


def definition_from_dict(d: Mapping[str, Any]) -> TaskDefinition:
    """Read a stored definition; :class:`ValueError` naming what is unknown or missing."""
    if not isinstance(d, Mapping):
        raise ValueError(f"a task definition must be a JSON object; got {type(d).__name__}")
    kind = d.get("type")
    if kind not in _TYPES:
        raise ValueError(
            f"unknown task definition type {kind!r}; expected one of {', '.join(map(repr, _TYPES))}"
        )
    fields = {k: v for k, v in d.items() if k != "type"}
    if kind == "class":
        fields["classes"] = tuple(fields.get("classes", ()))
    if "user_column" in fields and not isinstance(fields["user_column"], bool):
        raise ValueError(
            f"task definition field 'user_column' must be true or false; "
            f"found {fields['user_column']!r}"
        )
    if kind == "survival":
        fields["population"] = {k: tuple(v) for k, v in fields.get("population", {}).items()}
    try:
        definition: TaskDefinition = _TYPES[kind](**fields)
        return definition
    except TypeError as e:
        raise ValueError(f"task definition of type {kind!r} is malformed ({e})") from None


def mcid_definition(task: Task, threshold: str | None = None) -> McidDefinition:
    """The definition of a built-in MCID task, with its default or an overriding threshold."""
    from prom.instruments.mcid import get_threshold

    t = get_threshold(threshold or task.declared("threshold"))
    return McidDefinition(
        threshold=t.id,
        rule=t.describe(),
        source=t.source,
        instrument=t.instrument,
        timepoint=str(task.timepoint),
    )


def survival_definition(task: str | Task) -> SurvivalDefinition:
    """What a survival task's label means: columns, unit, population, origin, censoring."""
    task = get_task(task)
    time_column, event_column = task.declared("time_column"), task.declared("event_column")
    return SurvivalDefinition(
        time_column=time_column,
        event_column=event_column,
        time_unit=TIME_UNIT,
        population={k: tuple(v) for k, v in task.population.items()},
        time_origin="the baseline visit (0-month assessment), when the first, "
        "non-surgical treatment was chosen",
        event=f"surgery ({event_column} = 1 at {time_column})",
        censoring=f"{event_column} = 0: no surgery by the last follow-up "
        f"({time_column} is then the time of that follow-up); loss to "
        "follow-up and the end of follow-up are both censoring, assumed "
        "independent of the time to surgery",
    )


def user_survival_definition(
    time_column: str, event_column: str, time_unit: str | None = None
) -> SurvivalDefinition:
    """What the user's own time-to-event outcome means, stating only what the table says:
    the time unit is "units of <time_column>" (the unit of the column, whatever it is)
    unless the user named it, so "by 365 units of days_to_reop" never claims months."""
    return SurvivalDefinition(
        time_column=time_column,
        event_column=event_column,
        time_unit=time_unit or f"units of {time_column}",
        time_origin=f"time zero of the user's column '{time_column}'",
        event=f"the user's event ({event_column} = 1 at {time_column})",
        censoring=f"{event_column} = 0: censored at {time_column}; censoring assumed "
        "independent of the time to the event",
        user_column=True,
    )
