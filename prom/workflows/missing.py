"""The checks of a user's table that keep missing and unreadable values from being silent.

- :func:`check_task_inputs` — before a fit: a numeric predictor of the task holding text
  that is not a number is an error naming the column, the rows and the values
  (:func:`prom.cohort.missing_values.check_numeric_columns`), never a value quietly
  treated as missing and imputed, and never a numeric column quietly turned into a
  category.
- :func:`check_bundle_inputs` — before ``prom evaluate`` / ``prom report`` apply a bundle
  to a table: the same, for the columns the bundle's models read as numbers.
- :func:`imputed_counts` (from :mod:`prom.models.imputed`) — the values a fit imputes, per
  column, recorded in the bundle (``TaskEntry.imputed``) and shown by the commands and the
  report.
"""

from __future__ import annotations

from collections.abc import Iterable

import pandas as pd

from prom.cohort.missing_values import check_numeric_columns
from prom.models.imputed import describe_imputed, imputed_counts

__all__ = [
    "check_task_inputs",
    "check_bundle_inputs",
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


def check_bundle_inputs(bundle, data: pd.DataFrame, tasks: Iterable[str] | None = None) -> None:
    """Refuse text that is not a number in a column ``bundle``'s models (of ``tasks``,
    default all) read as numbers; a column they read as a category is left alone.

    Raises
    ------
    prom.cohort.missing_values.UnparseableValueError
    """
    from prom.models.ranges import NumericRange

    names = list(bundle.tasks) if tasks is None else [t for t in tasks if t in bundle.tasks]
    schema = bundle.feature_schema
    predictors: list[str] = []
    for t in names:
        predictors += [p for p in bundle.tasks[t].predictors if p not in predictors]
    numeric = [p for p in predictors if isinstance(schema.get(p), NumericRange)]
    categorical = [p for p in predictors if p in schema and p not in numeric]
    check_numeric_columns(
        data, predictors, numeric=numeric, categorical=categorical, what="predictor"
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
