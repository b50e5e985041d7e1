"""The quarantine records of one batch: which problems, in which order, in which words.

A row with any problem is quarantined with one record per problem
(:data:`QUARANTINE_COLUMNS`): its input row number (from 1), its line in a CSV file
(empty for other inputs), its id, the column, the check, the value seen and what was
expected. A CSV row whose structure is broken (:mod:`prom.cohort.csv_reader`: wrong
number of fields, a last line cut off, a quote left open) holds no values to check: it is
quarantined with its structural problem alone, with an empty column; so is a row that
holds nothing in the columns read (``empty_row``: the line of delimiters only that a
spreadsheet writes for a row once used), instead of a missing value in every column.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from prom.cohort.column_checks import EMPTY_ROW
from prom.score.checks import check_rows
from prom.score.plan import ID_COLUMN, ScoreError

__all__ = [
    "QUARANTINE_COLUMNS",
    "in_order",
    "with_structure",
    "with_empty_rows",
    "quarantine_frame",
    "strict_stop",
]

QUARANTINE_COLUMNS = ("row", "line", ID_COLUMN, "column", "check", "value", "expected")

_CHECK_TEXT = {
    "missing_value": "missing value where one is required",
    "type": "value of the wrong kind",
    "not_integer": "value with a fraction in an integer column",
    "out_of_range": "value out of range",
    "category": "value not among the declared categories",
    "duplicate_id": "id used on more than one row of the input",
    "empty_row": "row with nothing in it",
}


def in_order(parts: list, checked) -> pd.DataFrame:
    """Problem records ordered by row, then by the order of the ``checked`` columns (the id
    first), a duplicated id after the id's own problems."""
    parts = [p for p in parts if p is not None and len(p)]
    if not parts:
        return check_rows(pd.DataFrame(), [])
    out = pd.concat(parts, ignore_index=True) if len(parts) > 1 else parts[0]
    order = {c: i for i, c in enumerate(checked)}
    rank = out["column"].map(order).to_numpy() * 2 + (out["check"] == "duplicate_id")
    keys = np.lexsort((rank, out["position"].to_numpy()))
    return out.iloc[keys].reset_index(drop=True)


def with_structure(problems: pd.DataFrame, structure, first_row: int) -> pd.DataFrame:
    """``problems`` with those of the structurally broken rows (``structure``: their
    :class:`~prom.cohort.csv_reader.StructureProblem` s) replaced by their one structural
    problem, whose column is ``""``: it concerns the row, not a column."""
    broken = pd.DataFrame(
        {
            "position": np.asarray([p.row - first_row for p in structure], dtype=np.int64),
            "column": "",
            "check": [p.check for p in structure],
            "value": [p.value for p in structure],
            "expected": [p.expected for p in structure],
        }
    )
    return _replace_rows(problems, broken)


def with_empty_rows(problems: pd.DataFrame, empty: np.ndarray) -> pd.DataFrame:
    """``problems`` with those of the rows that hold nothing (``empty``, a mask of the
    batch, :func:`~prom.cohort.column_checks.empty_rows`) replaced by one ``empty_row``
    problem each, whose column is ``""``."""
    at = np.flatnonzero(empty)
    if not at.size:
        return problems
    rows = pd.DataFrame(
        {"position": at.astype(np.int64), "column": "", "check": "empty_row", "value": ""}
    )
    rows["expected"] = EMPTY_ROW
    return _replace_rows(problems, rows)


def _replace_rows(problems: pd.DataFrame, rows: pd.DataFrame) -> pd.DataFrame:
    """``problems`` without those of ``rows``' positions, and ``rows``, by position."""
    rest = problems[~problems["position"].isin(rows["position"])]
    out = pd.concat([rest, rows], ignore_index=True)
    return out.sort_values("position", kind="stable").reset_index(drop=True)


def quarantine_frame(
    problems: pd.DataFrame, rows: np.ndarray, lines: np.ndarray | None, ids: np.ndarray
) -> pd.DataFrame:
    """The records of :data:`QUARANTINE_COLUMNS` for ``problems`` (positions in a batch
    whose input row numbers, CSV lines and ids are ``rows``, ``lines``, ``ids``)."""
    at = problems["position"].to_numpy(dtype=np.int64)
    return pd.DataFrame(
        {
            "row": rows[at],
            "line": pd.array(lines[at] if lines is not None else [None] * at.size, "Int64"),
            ID_COLUMN: ids[at],
            **{c: problems[c].to_numpy() for c in QUARANTINE_COLUMNS[3:]},
        }
    )


def strict_stop(problems: pd.DataFrame, rows: np.ndarray, lines: np.ndarray | None) -> ScoreError:
    """The error that ends a ``strict`` run at the batch's first problem."""
    p = problems.iloc[0]
    at = int(p["position"])
    tail = (
        ". Stopped at the first bad row; no output was written. Without --strict, bad rows "
        "go to the quarantine file and the rest are scored."
    )
    if p["column"] == "":  # a CSV row whose structure is broken
        line = f" (line {int(lines[at])})" if lines is not None else ""
        return ScoreError(
            f"--strict: input row {int(rows[at])}{line}: {p['check']}: {p['value']}; "
            f"expected {p['expected']}{tail}"
        )
    what = _CHECK_TEXT.get(p["check"], p["check"])
    value = f"; value {p['value']!r}" if p["value"] != "" else ""
    line = f" (line {int(lines[at])})" if lines is not None else ""
    return ScoreError(
        f"--strict: input row {int(rows[at])}{line}, column {p['column']!r}: {what}"
        f"{value}; expected {p['expected']}{tail}"
    )
