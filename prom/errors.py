"""Exception and warning types shared across the toolkit.

Every error that concerns data names the column, the rows, the values seen and what was
expected, so that the person reading it can fix the input without opening the code.

Rows are named by their index labels. A table read from a CSV file
(:func:`prom.cohort.read_table`) is indexed by the file's line numbers, in an index named
:data:`LINE_INDEX`; :func:`format_rows` then says ``line 12`` — the line an editor shows
and, for a file without line breaks inside quoted fields, the row a spreadsheet shows —
instead of a position only a programmer would count from 0.
"""

from __future__ import annotations

from collections.abc import Sequence

__all__ = [
    "PromError",
    "InvalidItemError",
    "InsufficientItemsError",
    "ColumnTypeError",
    "ContractError",
    "MappingError",
    "MissingColumnError",
    "StatisticalWarning",
    "LINE_INDEX",
    "row_noun",
    "format_rows",
    "format_values",
]

#: The name of a table's index whose labels are the 1-based lines of the CSV file its
#: rows were read from (the header is line 1).
LINE_INDEX = "line"


class PromError(Exception):
    """Base class for the toolkit's own errors."""


class InvalidItemError(PromError, ValueError):
    """PROM item answers outside the instrument's declared range or of the wrong kind."""


class InsufficientItemsError(PromError, ValueError):
    """Too few items answered to compute a score, when the caller asked for an error."""


class ColumnTypeError(PromError, TypeError):
    """A column of the user's table holds the wrong kind of value (text where numbers are
    expected): bad input, reported as such, not a programming error."""


class ContractError(PromError, ValueError):
    """A table breaks the cohort data contract; ``.problems`` holds every problem found."""

    def __init__(self, message: str, problems=None):
        super().__init__(message)
        self.problems = problems


class MappingError(PromError, ValueError):
    """A column-mapping file is malformed or does not fit the table it is applied to."""


class StatisticalWarning(UserWarning):
    """A statistical caveat: few events, a threshold outside the data, an unstable estimate."""


def row_noun(labels) -> str:
    """``"line"`` when ``labels`` (an index, or a selection of one) are a CSV file's lines
    (its name is :data:`LINE_INDEX`), else ``"row"``."""
    return "line" if getattr(labels, "name", None) == LINE_INDEX else "row"


def format_rows(rows: Sequence, limit: int = 8) -> str:
    """``'rows 12, 40, 77'`` or ``'rows 1, 2, 3, … (15 in all)'``; ``'lines …'`` when
    ``rows`` are labels of an index of a CSV file's lines (:func:`row_noun`)."""
    noun = row_noun(rows)
    rows = list(rows)
    shown = ", ".join(str(r) for r in rows[:limit])
    word = noun if len(rows) == 1 else noun + "s"
    if len(rows) > limit:
        return f"{word} {shown}, … ({len(rows)} in all)"
    return f"{word} {shown}"


def format_values(values: Sequence, limit: int = 8) -> str:
    """Distinct values, in order of first appearance, at most ``limit`` of them.

    Missing values (None, NaN, pd.NA) are shown once as ``missing``; text is quoted; a
    number as written in a table would have it: ``6`` for ``6.0``, ``28.123456`` in full
    (never rounded, so the value can be found in the file).
    """
    import pandas as pd

    ser = pd.Series(list(values), dtype=object)
    missing = bool(ser.isna().any())
    distinct = pd.unique(ser[ser.notna()])

    def show(v) -> str:
        if isinstance(v, str):
            return repr(v)
        if isinstance(v, float):
            return str(int(v)) if v.is_integer() and abs(v) < 1e15 else repr(float(v))
        return str(v)

    parts = [show(v) for v in distinct[:limit]]
    if missing and len(parts) < limit:
        parts.append("missing")
    n_distinct = len(distinct) + int(missing)
    shown = ", ".join(parts)
    if n_distinct > len(parts):
        shown += f", … ({n_distinct} distinct)"
    return shown


class MissingColumnError(PromError, ValueError):
    """A column the operation needs is not in the table."""


class Terminated(KeyboardInterrupt):
    """SIGTERM received (a job scheduler or ``kill`` stopping the command): raised where
    the command runs so that it unwinds as an interrupt does, removing partial outputs."""
