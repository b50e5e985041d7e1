"""Exception and warning types shared across the toolkit.

Every error that concerns data names the column, the rows, the values seen and what was
expected, so that the person reading it can fix the input without opening the code.
"""

from __future__ import annotations

from collections.abc import Sequence

__all__ = [
    "PromError",
    "InvalidItemError",
    "InsufficientItemsError",
    "ContractError",
    "MappingError",
    "MissingColumnError",
    "StatisticalWarning",
    "format_rows",
    "format_values",
]


class PromError(Exception):
    """Base class for the toolkit's own errors."""


class InvalidItemError(PromError, ValueError):
    """PROM item answers outside the instrument's declared range or of the wrong kind."""


class InsufficientItemsError(PromError, ValueError):
    """Too few items answered to compute a score, when the caller asked for an error."""


class ContractError(PromError, ValueError):
    """A table breaks the cohort data contract; ``.problems`` holds every problem found."""

    def __init__(self, message: str, problems=None):
        super().__init__(message)
        self.problems = problems


class MappingError(PromError, ValueError):
    """A column-mapping file is malformed or does not fit the table it is applied to."""


class StatisticalWarning(UserWarning):
    """A statistical caveat: few events, a threshold outside the data, an unstable estimate."""


def format_rows(rows: Sequence, limit: int = 8) -> str:
    """``'rows 12, 40, 77'`` or ``'rows 1, 2, 3, … (15 in all)'``."""
    rows = list(rows)
    shown = ", ".join(str(r) for r in rows[:limit])
    word = "row" if len(rows) == 1 else "rows"
    if len(rows) > limit:
        return f"{word} {shown}, … ({len(rows)} in all)"
    return f"{word} {shown}"


def format_values(values: Sequence, limit: int = 8) -> str:
    """Distinct values, in order of first appearance, at most ``limit`` of them."""
    seen: list = []
    for v in values:
        if v not in seen:
            seen.append(v)
    shown = ", ".join(repr(v) if isinstance(v, str) else f"{v:g}" if isinstance(v, float) else str(v)
                      for v in seen[:limit])
    if len(seen) > limit:
        shown += f", … ({len(seen)} distinct)"
    return shown


class MissingColumnError(PromError, ValueError):
    """A column the operation needs is not in the table."""
