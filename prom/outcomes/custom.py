"""The user's own outcome columns: what kind of outcome they hold, and their labels.

``prom fit --target COL`` takes any outcome column of the user's table, and ``prom fit
--time COL --event COL`` a time to an event. This module decides, from the column alone
and never by guessing, what the outcome is, and derives its label row by row:

- :func:`target_definition` — a column's distinct values decide its kind:

  ========================== =================================================================
  values (non-missing)       outcome
  ========================== =================================================================
  0 and 1                    binary, 1 the event (:class:`ColumnDefinition` as always)
  two other values           binary only with ``event_value`` (``--event-value``) naming the
                             event; refused otherwise, saying how — never guessed
  3 … :data:`MAX_CLASSES`    multiclass, the classes exactly as the table writes them
  more                       refused naming the count (a measurement, not an outcome class)
  one                        refused: nothing to predict
  ========================== =================================================================

- :func:`user_label` — the label of every row under a stored definition (binary, class or
  survival), a row without one counted by its reason in ``row_accounting``, and any
  value the definition does not know refused naming the rows, the values and what was
  expected (a new table is never silently relabelled).

Class labels are compared as text: ``1``, ``1.0`` and ``"1"`` are the class ``"1"``, so
a column read as numbers in one table and as text in another means the same. Classes are
listed in sorted text order, the order the models' probability columns have.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from prom.cohort.column_checks import empty_rows
from prom.cohort.missing_values import COMMON_MARKERS, missing_hint
from prom.errors import MissingColumnError, PromError, format_rows, format_values
from prom.instruments import OUTPUTS_ATTR
from prom.outcomes.definitions import (
    ClassDefinition,
    ColumnDefinition,
    SurvivalDefinition,
    TaskDefinition,
)

__all__ = [
    "EMPTY_KEY",
    "MAX_CLASSES",
    "TargetError",
    "as_class_text",
    "row_accounting",
    "target_definition",
    "user_label",
]

#: The row accounting's count of empty rows (no value in any column).
EMPTY_KEY = "empty"

#: Most classes a ``--target`` column may hold; more looks like a measurement.
MAX_CLASSES = 10


class TargetError(PromError, ValueError):
    """The user's outcome column cannot be read as the outcome asked for."""


def as_class_text(values: pd.Series) -> pd.Series:
    """``values`` as class labels (text, missing kept): whole numbers without a decimal
    part (``2.0`` → ``"2"``), booleans as ``"1"``/``"0"``, other numbers as Python writes
    them, text as it is."""

    def one(v: object) -> object:
        if v is None or (isinstance(v, float) and np.isnan(v)) or v is pd.NA:
            return np.nan
        if isinstance(v, (bool, np.bool_)):  # True is the event, as 1 is
            return str(int(v))
        if isinstance(v, (int, np.integer)):
            return str(int(v))
        if isinstance(v, (float, np.floating)):
            f = float(v)
            return str(int(f)) if f.is_integer() else repr(f)
        return str(v)

    return pd.Series(
        [one(v) for v in values.to_numpy(dtype=object)], index=values.index, dtype=object
    )


def _column(data: pd.DataFrame, column: str, what: str) -> pd.Series:
    if column not in data.columns:
        from prom.cohort.mapping_format import did_you_mean

        hint = did_you_mean(column, data.columns)
        raise MissingColumnError(f"{what} column {column!r} is not in the table{hint}")
    return data[column]


def _distinct(text: pd.Series) -> list[str]:
    return sorted(pd.unique(text.dropna()).tolist())


def target_definition(
    data: pd.DataFrame, target: str, event_value: str | None = None
) -> ColumnDefinition | ClassDefinition:
    """The definition of the outcome in the user's column ``target`` (see the module
    docstring); :class:`TargetError` saying what to do when it cannot be decided."""
    raw = _column(data, target, "target")
    _refuse_time_types(raw, target, "target")
    text = as_class_text(raw)
    values = _distinct(text)
    _refuse_unclear_classes(data, target, raw, text, values)
    shown = format_values(values[:MAX_CLASSES])
    if event_value is not None:
        event_value = str(event_value)
        if len(values) != 2:
            raise TargetError(
                f"--event-value (event_value=) names the event of a two-valued target; "
                f"column {target!r} has {len(values)} distinct value(s) ({shown}); leave "
                "--event-value out for a multiclass target"
            )
        if event_value not in values:
            raise TargetError(
                f"--event-value {event_value!r} is not a value of column {target!r}; its "
                f"values are {shown}"
            )
        other = next(v for v in values if v != event_value)
        return ColumnDefinition(target, event_value=event_value, other_value=other)
    if len(values) == 0:
        raise TargetError(f"target column {target!r} is missing in every row ({len(data):,})")
    if len(values) == 1:
        raise TargetError(
            f"target column {target!r} holds one value only ({shown}) in {len(data):,} rows; "
            "there is nothing to predict"
        )
    if set(values) == {"0", "1"}:
        return ColumnDefinition(target)
    if len(values) == 2:
        a, b = values
        raise TargetError(
            f"target column {target!r} has two values ({shown}), not 0/1; say which one is "
            f"the event: --event-value {a!r} or --event-value {b!r} (event_value=)"
        )
    if len(values) > MAX_CLASSES:
        raise TargetError(
            f"target column {target!r} has {len(values):,} distinct values "
            f"(e.g. {format_values(list(pd.unique(raw.dropna()))[:5])}); "
            f"a --target is a binary or multiclass outcome with at most {MAX_CLASSES} "
            "classes, and this looks like a measurement: make a class column of it in your "
            "table, or for a time to an event give --time and --event instead"
        )
    return ClassDefinition(target, tuple(values), user_column=True)


def _markers(values) -> list[str]:
    """The values among ``values`` that are texts often standing for a missing value."""
    return [v for v in values if isinstance(v, str) and v.strip() in COMMON_MARKERS]


def _outcome_hint(markers: list[str]) -> str:
    """How to declare ``markers`` missing in an outcome column: its rows are then left
    out, not imputed."""
    then = "those rows are then counted as rows without an outcome and left out"
    return missing_hint(markers, then=then, what="outcome")


def _hint(values) -> str:
    """The way to declare ``values`` missing, when some of them look like markers."""
    found = _markers(values)
    return f". {_outcome_hint(found)}" if found else ""


def _refuse_time_types(raw: pd.Series, column: str, what: str) -> None:
    """A column of dates or durations is not a number of the outcome: refused naming its
    type and the conversion (pandas would read its values as nanoseconds)."""
    if pd.api.types.is_timedelta64_dtype(raw):
        raise TargetError(
            f"{what} column {column!r} holds durations ({raw.dtype}), not numbers: write the "
            "time as a number in one unit (in pandas: df[col].dt.days, or "
            "df[col].dt.days / 30.44 for months) and name the unit with --time-unit"
        )
    if pd.api.types.is_datetime64_any_dtype(raw):
        raise TargetError(
            f"{what} column {column!r} holds dates ({raw.dtype}), not numbers: a time to an "
            "event is the event's (or censoring's) date minus the patient's index date, as a "
            "number of days or months (name the unit with --time-unit)"
        )


def _refuse_unclear_classes(
    data: pd.DataFrame, column: str, raw: pd.Series, text: pd.Series, values: list[str]
) -> None:
    """Refuse outcome values that would become classes of their own by accident: text that
    usually marks a missing value (``NA``, ``nan``, ``-``), classes that differ only in
    capitals or spaces (``Yes``/``yes``), and a fraction among whole-number classes (a
    stray ``0.5`` in a 0/1 column)."""
    problems = []
    markers = _markers(values)
    if markers:
        bad = text.isin(markers).to_numpy()
        problems.append(
            f"{int(bad.sum()):,} row(s) hold {format_values(markers)}, text that usually marks "
            f"a missing value ({format_rows(data.index[bad])}), and would be a class of its "
            f"own. {_outcome_hint(markers)}"
        )
    by_key: dict[str, list[str]] = {}
    for v in values:
        if v not in markers:
            by_key.setdefault(v.strip().casefold(), []).append(v)
    alike = [group for group in by_key.values() if len(group) > 1]
    if alike:
        problems.append(
            "classes that differ only in capitals or spaces: "
            + "; ".join(format_values(g) for g in alike)
            + " — recode them to one spelling in the table"
        )
    numbers = pd.to_numeric(pd.Series(values, dtype=object), errors="coerce")
    whole = numbers.notna() & (numbers % 1 == 0)
    fractions = [v for v, n, w in zip(values, numbers, whole, strict=True) if pd.notna(n) and not w]
    if fractions and 2 <= whole.sum() <= MAX_CLASSES:  # more classes: a measurement (below)
        bad = text.isin(fractions).to_numpy()
        problems.append(
            f"{int(bad.sum()):,} row(s) hold {format_values(fractions)} "
            f"({format_rows(data.index[bad])}) among whole-number classes "
            f"{format_values([v for v, w in zip(values, whole, strict=True) if w])}: a "
            "fraction is not an outcome class; correct the value or leave the cell empty"
        )
    if problems:
        raise TargetError(f"target column {column!r}: " + "; ".join(problems))


def _refuse_unknown(
    data: pd.DataFrame, column: str, bad: np.ndarray, raw: pd.Series, expected: str
):
    found = raw[bad].tolist()
    raise TargetError(
        f"column {column!r}: {int(bad.sum()):,} row(s) hold a value the outcome does not "
        f"know ({format_rows(data.index[bad])}; values {format_values(found)}); "
        f"expected {expected}" + _hint(found)
    )


def user_label(
    data: pd.DataFrame, definition: TaskDefinition
) -> tuple[np.ndarray, pd.Series | pd.DataFrame, dict[str, int]]:
    """The labelled rows (boolean mask), their labels (binary: 0/1 ints; multiclass: the
    class text; survival: a DataFrame of ``time`` and ``event``) and where every row went,
    for a definition of the user's own columns (see the module docstring)."""
    if isinstance(definition, SurvivalDefinition):
        return _survival_label(data, definition)
    if not isinstance(definition, (ColumnDefinition, ClassDefinition)):
        raise TypeError(f"not a definition of a user's own outcome: {type(definition).__name__}")
    column = definition.column
    raw = _column(data, column, "target")
    if isinstance(definition, ColumnDefinition) and definition.event_value is None:
        y_all = pd.to_numeric(raw, errors="coerce")
        bad = (raw.notna() & ~y_all.isin([0, 1])).to_numpy()
        if bad.any():
            found = raw[bad].tolist()
            raise TargetError(
                f"target column {column!r} must hold 0/1; {int(bad.sum())} row(s) hold other "
                f"values ({format_rows(data.index[bad])}; values "
                f"{format_values(found)})" + _hint(found)
            )
        keep = y_all.notna().to_numpy()
        y: pd.Series = y_all[keep].astype(int)
    else:
        text = as_class_text(raw)
        known: Sequence[str]
        if isinstance(definition, ColumnDefinition):
            known = (str(definition.event_value), str(definition.other_value))
            expected = f"{known[0]!r} (the event) or {known[1]!r}"
        else:
            known = tuple(map(str, definition.classes))
            expected = "one of the classes " + ", ".join(map(repr, known))
        bad = (text.notna() & ~text.isin(known)).to_numpy()
        if bad.any():
            _refuse_unknown(data, column, bad, raw, expected)
        keep = text.notna().to_numpy()
        if isinstance(definition, ColumnDefinition):
            y = (text[keep] == definition.event_value).astype(int)
        else:
            y = text[keep].astype(object)
    return keep, y, row_accounting(data, keep, f"{column} missing")


def _survival_label(
    data: pd.DataFrame, d: SurvivalDefinition
) -> tuple[np.ndarray, pd.DataFrame, dict[str, int]]:
    if d.time_column == d.event_column:
        raise TargetError(
            f"--time and --event name the same column {d.time_column!r}; the time and the "
            "event indicator are two columns"
        )
    raw_t = _column(data, d.time_column, "time")
    raw_e = _column(data, d.event_column, "event")
    _refuse_time_types(raw_t, d.time_column, "time")
    _refuse_time_types(raw_e, d.event_column, "event")
    t = pd.to_numeric(raw_t, errors="coerce")
    e = pd.to_numeric(raw_e, errors="coerce")
    problems = []
    markers: list[str] = []
    for raw, num, col, ok, want in (
        (raw_t, t, d.time_column, t >= 0, "a time ≥ 0"),
        (raw_e, e, d.event_column, e.isin([0, 1]), "0 (censored) or 1 (event)"),
    ):
        bad = (raw.notna() & ~(num.notna() & ok)).to_numpy()
        if bad.any():
            found = raw[bad].tolist()
            problems.append(
                f"column {col!r}: {int(bad.sum()):,} row(s) hold a value that is not {want} "
                f"({format_rows(data.index[bad])}; values {format_values(found)})"
            )
            markers += _markers(found)
    if problems:
        raise TargetError("; ".join(problems) + (f". {_outcome_hint(markers)}" if markers else ""))
    keep = (t.notna() & e.notna()).to_numpy()
    y = pd.DataFrame({"time": t[keep].astype(float), "event": e[keep].astype(float)})
    return keep, y, row_accounting(data, keep, f"{d.time_column} or {d.event_column} missing")


def _empty_input_rows(data: pd.DataFrame) -> np.ndarray:
    """The rows of ``data`` with no value in any column it was read with: the columns
    :func:`~prom.instruments.add_scores` wrote (a withheld score's reason is text even for
    an empty row) are not looked at."""
    return empty_rows(data, ignore=data.attrs.get(OUTPUTS_ATTR, ()))


def row_accounting(
    data: pd.DataFrame, keep: np.ndarray, reasons: str | pd.Series
) -> dict[str, int]:
    """Where every row of ``data`` went: ``read``, ``used`` (``keep``), the rows without a
    label counted by their reason and, apart from them, the empty rows (no value in any
    column, as a spreadsheet writes for a row once used), which never had a label to miss.

    ``reasons``: one reason for every row without a label (counted even when none is), or
    each row's reason (a Series on ``data``'s rows; only the reasons that occur counted).
    """
    empty = _empty_input_rows(data) & ~keep
    unlabelled = ~keep & ~empty
    accounting = {"read": len(data), "used": int(keep.sum())}
    if isinstance(reasons, str):
        accounting[reasons] = int(unlabelled.sum())
    else:
        accounting.update({k: int(v) for k, v in reasons[unlabelled].value_counts().items()})
    if empty.any():
        accounting[EMPTY_KEY] = int(empty.sum())
    return accounting
