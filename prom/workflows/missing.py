"""The checks of a user's table that keep missing and unreadable values from being silent.

- :func:`check_task_inputs` — before a fit: a numeric predictor of the task holding text
  that is not a number is an error naming the column, the rows and the values
  (:func:`prom.cohort.missing_values.check_numeric_columns`), never a value quietly
  treated as missing and imputed, and never a numeric column quietly turned into a
  category.
- :func:`check_bundle_inputs` — before ``prom evaluate`` / ``prom report`` apply a bundle
  to a table: the same, for the columns the bundle's models read as numbers; and a column
  the models read as a category that holds *none* of the categories they were trained on
  (``F``/``M`` for ``female``/``male``, ``0``/``1``/``2`` for ``never``/``former``/
  ``current``) is refused as coded differently (:class:`CategoryCodingError`), instead of
  every row being read as an unseen category. A column where only some values are new
  keeps them: they are reported as unseen, row by row.
- :func:`imputed_counts` (from :mod:`prom.models.imputed`) — the values a fit imputes, per
  column, recorded in the bundle (``TaskEntry.imputed``) and shown by the commands and the
  report.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import pandas as pd

from prom.cohort.missing_values import check_numeric_columns
from prom.errors import PromError, format_values
from prom.models.imputed import describe_imputed, imputed_counts

__all__ = [
    "CategoryCodingError",
    "check_contract_values",
    "check_task_inputs",
    "check_bundle_inputs",
    "check_bundle_columns",
    "bundle_imputed",
    "imputed_counts",
    "describe_imputed",
]


def check_task_inputs(data: pd.DataFrame, predictors: Iterable[str]) -> None:
    """Refuse text that is not a number in the numeric ``predictors`` of ``data``.

    Raises
    ------
    prom.cohort.missing_values.UnparseableValueError
    """
    check_numeric_columns(data, list(predictors), what="predictor")


class CategoryCodingError(PromError, ValueError):
    """A column a bundle's models read as a category holds none of their categories."""


def check_category_coding(schema, data: pd.DataFrame, categorical: Iterable[str]) -> None:
    """Refuse every ``categorical`` column of ``data`` whose values (missing aside) include
    none of the categories in ``schema`` (a bundle's feature schema), naming the column,
    the values found and the categories expected. Values are matched to categories as the
    models code them (:meth:`prom.models.columns.ColumnCache.codes`).

    Raises
    ------
    CategoryCodingError
    """
    from prom.models.columns import ColumnCache

    columns = [c for c in categorical if c in data.columns]
    cache = ColumnCache(data[columns])
    problems = []
    for col in columns:
        levels = tuple(schema[col].categories)
        codes = cache.codes(col, levels)  # -1: no level, -2: missing
        filled = codes != -2
        if filled.any() and not (codes >= 0).any():
            found = pd.unique(data[col].to_numpy(dtype=object)[filled])
            problems.append(
                f"{col!r} holds none of the categories the models were trained on: found "
                f"{format_values(list(found), limit=6)} in all {int(filled.sum()):,} row(s) "
                f"with a value; expected {', '.join(repr(c) for c in levels)}"
            )
    if problems:
        which = "The column is" if len(problems) == 1 else "These columns are"
        raise CategoryCodingError(
            "; ".join(problems) + f". {which} coded differently from the training table: "
            "recode the values (a mapping file's 'values:', --mapping) — read as they are, "
            "every row would be an unseen category, predicted as if the value were unknown"
        )


#: The contract's value checks a built-in task's predictors must pass before a fit (text
#: in a numeric column is :func:`check_task_inputs`'s).
_FIT_CHECKS = frozenset({"category", "out_of_range", "not_integer"})


def check_contract_values(
    data: pd.DataFrame, predictors: Iterable[str], *, fitting: bool = True
) -> None:
    """Refuse values of a built-in task's predictors that the cohort contract does not
    allow — a category it does not declare (``M`` where it declares ``female``/``male``),
    a number outside its range (an age of 250) or with a fraction where it declares whole
    numbers — every such column at once, naming the rows, the values and what was
    expected (with a close match where there is one). Fitted as they are, the models
    would learn categories and numbers that the calculator, the scorer and the service
    never send (the scorer quarantines such rows); applied to them (``fitting=False``:
    ``prom evaluate``, ``prom report --data``), the figures would rest on inputs the
    models cannot mean (ages in months, weights in pounds).

    Raises
    ------
    CategoryCodingError
    """
    from prom.cohort.column_checks import check_column
    from prom.cohort.contract import COHORT_CONTRACT
    from prom.errors import format_rows

    lines: list[str] = []

    def add(column, check, positions, values, expected) -> None:
        if check in _FIT_CHECKS and positions is not None and len(positions):
            rows = data.index[positions]
            lines.append(
                f"{column!r}: {format_values(list(values))} at {format_rows(rows)} "
                f"(expected {expected})"
            )

    specs = {c.name: c for c in COHORT_CONTRACT.columns}
    for name in dict.fromkeys(predictors):
        spec = specs.get(name)
        if spec is not None and name in data.columns:
            check_column(data[name], spec, add)
    if lines:
        raise CategoryCodingError(
            "values the cohort contract does not allow in this task's predictors: "
            + "; ".join(lines)
            + ". Recode or correct them (a mapping file recodes categories with 'values:' "
            "and converts units with 'unit:', 'scale:' or 'offset:', --mapping; prom "
            "validate lists every problem of the table)"
            + (", or fit your own outcome (--target) to use your own coding" if fitting else "")
        )


def check_bundle_inputs(
    bundle, data: pd.DataFrame, tasks: Iterable[str] | None = None, *, columns: bool = True
) -> None:
    """Refuse text that is not a number in a column ``bundle``'s models (of ``tasks``,
    default all) read as numbers, and a column they read as a category that holds none
    of their categories (:func:`check_category_coding`); a lacking predictor column
    (:func:`check_bundle_columns`, unless ``columns=False``: the caller checks it).

    Raises
    ------
    prom.cohort.missing_values.UnparseableValueError
    CategoryCodingError
    """
    from prom.models.ranges import NumericRange

    names = list(bundle.tasks) if tasks is None else [t for t in tasks if t in bundle.tasks]
    if columns:
        check_bundle_columns(bundle, data, names)
    schema = bundle.feature_schema
    predictors: list[str] = []
    builtin: list[str] = []
    for t in names:
        predictors += [p for p in bundle.tasks[t].predictors if p not in predictors]
        if bundle.tasks[t].entry.is_builtin:
            builtin += [p for p in bundle.tasks[t].predictors if p not in builtin]
    numeric = [p for p in predictors if isinstance(schema.get(p), NumericRange)]
    categorical = [p for p in predictors if p in schema and p not in numeric]
    check_numeric_columns(
        data, predictors, numeric=numeric, categorical=categorical, what="predictor"
    )
    check_category_coding(schema, data, categorical)
    check_contract_values(data, builtin, fitting=False)


def check_bundle_columns(
    bundle,
    data: pd.DataFrame,
    tasks: Iterable[str] | None = None,
    rows: Mapping[str, Any] | None = None,
) -> None:
    """Refuse a table without a predictor column of ``bundle``'s tasks (default all) —
    after deriving what the table allows (index-level imaging columns, scores from items)
    — naming the columns, the tasks and any column of the table with a close name. The
    models would impute the training median in every row: the figures would be those of
    another model than the bundle's (``prom score`` refuses such a table too). A column
    the table has but leaves empty is not refused here: its missing values are imputed
    and counted, as any others. A task whose labelled rows cannot be derived at all is
    left to the command, which names why. ``rows``: each task's rows of ``data`` already
    derived (:meth:`TaskEntry.rows`, or the exception deriving them raised), so that a
    caller who needs them anyway does not derive them twice.

    Raises
    ------
    prom.errors.MissingColumnError
    """
    import difflib

    from prom.errors import MissingColumnError
    from prom.outcomes.registry import missing_score_hint

    names = list(bundle.tasks) if tasks is None else [t for t in tasks if t in bundle.tasks]
    absent: dict[str, list[str]] = {}
    for t in names:
        derived = (rows or {}).get(t)
        if derived is None:
            try:
                derived = bundle.tasks[t].entry.rows(data)
            except (PromError, ValueError) as e:
                derived = e
        if isinstance(derived, Exception):
            continue  # no labelled rows to read: the command says why
        lacking = derived.absent
        for c in lacking:
            if c not in data.columns:  # present but empty: imputed, and said by the command
                absent.setdefault(c, []).append(t)
    if not absent:
        return
    by_key = {str(h).strip().casefold(): str(h) for h in data.columns}
    parts = []
    for c, owners in absent.items():
        hint = missing_score_hint([c], data)  # a PROM score: its items, or other times
        if not hint:
            close = difflib.get_close_matches(c.casefold(), list(by_key), n=1, cutoff=0.6)
            hint = f"; the table has {by_key[close[0]]!r}" if close else ""
        else:
            hint = hint.replace(f"; {c}: ", "; ", 1)
        parts.append(f"{c!r} (task{'s' if len(owners) > 1 else ''} {', '.join(owners)}{hint})")
    raise MissingColumnError(
        f"the table lacks {len(parts)} predictor column(s) the bundle's models read: "
        + "; ".join(parts)
        + ". Map your own names onto these with a column mapping (--mapping), or supply the "
        "columns; read without them, every row would get the training median in their "
        "place and the figures would describe another model than the bundle's"
    )


def bundle_imputed(bundle, data: pd.DataFrame) -> dict[str, dict[str, int]]:
    """Per task of ``bundle``: the missing values of its numeric predictors in the task's
    labelled rows of ``data`` — the values its models impute when evaluated there
    (``prom evaluate`` prints them)."""
    from prom.models.ranges import NumericRange

    schema = bundle.feature_schema
    out: dict[str, dict[str, int]] = {}
    for name, t in bundle.tasks.items():
        X = t.entry.rows(data).X
        numeric = [p for p in X.columns if isinstance(schema.get(p), NumericRange)]
        out[name] = imputed_counts(X, numeric)
    return out
