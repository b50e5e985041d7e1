"""Missing and unreadable values in bulk scoring: quarantined or counted, never silent.

- :func:`unreadable_numbers` — a column the bundle's models read as numbers that the
  cohort contract does not declare (a user's own predictor: :func:`prom.score.checks`
  has no declaration to check it against) holding text that is not a number: each such
  row gets a problem record (check ``type``), so it is quarantined with its reason, like a
  contract column's bad value. Only an empty cell is missing; a marker such as ``n/a``
  becomes missing only when declared (``--missing-values``, applied before the checks and
  counted in the summary's ``missing_values``).
- :func:`count_imputed` — per task and numeric predictor, the values the task's model
  imputes (its training median) in the rows it scores; the summary lists them per task
  (``tasks.<task>.imputed``) and ``prom score`` prints ``"2 values imputed: …"``.
"""

from __future__ import annotations

from collections import Counter

import numpy as np
import pandas as pd

from prom.cohort.missing_values import unparseable_cells
from prom.score.checks import PROBLEM_FIELDS, spec_for

__all__ = [
    "unreadable_numbers",
    "count_imputed",
    "missing_summary",
    "missing_lines",
    "EXPECTED_NUMBER",
]

#: The ``expected`` of a quarantine record for text in a column the models read as numbers.
EXPECTED_NUMBER = (
    "a number (the bundle's model reads this column as numbers; only an empty cell is "
    "missing: declare a marker such as 'n/a' with --missing-values)"
)


def _user_numeric(plan) -> list[str]:
    """Columns outside the contract that some task's model reads as numbers."""
    out: list[str] = []
    for t in plan.tasks:
        for c in t.model.preprocessor_.numeric_:
            if c not in out and spec_for(c) is None:
                out.append(c)
    return out


def unreadable_numbers(frame: pd.DataFrame, plan) -> pd.DataFrame | None:
    """Problem records (:data:`~prom.score.checks.PROBLEM_FIELDS`) of the cells of
    ``frame`` that hold text where a model outside the contract's columns expects a
    number; None when there is none."""
    found = []
    for c in _user_numeric(plan):
        if c not in frame.columns:
            continue
        bad = unparseable_cells(frame[c])
        if not bad.any():
            continue
        pos = np.flatnonzero(bad)
        found.append(
            pd.DataFrame(
                {
                    "position": pos.astype(np.int64),
                    "column": c,
                    "check": "type",
                    "value": [str(v) for v in frame[c].to_numpy(dtype=object)[pos]],
                    "expected": EXPECTED_NUMBER,
                },
                columns=list(PROBLEM_FIELDS),
            )
        )
    if not found:
        return None
    return pd.concat(found, ignore_index=True)


def count_imputed(task, columns, at: np.ndarray | None, stats) -> None:
    """Add to ``stats.imputed[task.name]`` the missing values of ``task``'s numeric
    predictors in the rows ``at`` (None: all) of a batch's ``columns``."""
    counter = stats.imputed.setdefault(task.name, Counter())
    for c in task.model.preprocessor_.numeric_:
        if c not in columns:
            continue
        v = columns.numeric(c)
        n = int(np.isnan(v if at is None else v[at]).sum())
        if n:
            counter[c] += n


def missing_summary(options, stats) -> dict:
    """The summary's ``missing_values``: the declared markers and the cells they made
    missing, per input column."""
    return {
        "declared": list(options.missing_values),
        "cells_declared_missing": {k: int(v) for k, v in stats.declared_missing.items()},
    }


def missing_lines(report: dict) -> list[str]:
    """Terminal lines: the values each task's model imputed, the cells declared missing."""
    from prom.cohort.missing_values import describe_declared
    from prom.models.imputed import describe_imputed

    lines = [
        f"  {name}: {describe_imputed(t['imputed'])}"
        for name, t in report["tasks"].items()
        if t.get("imputed")
    ]
    declared = report.get("missing_values", {})
    if declared.get("declared"):
        lines.append(
            "  " + describe_declared(declared["cells_declared_missing"], declared["declared"])
        )
    return lines
