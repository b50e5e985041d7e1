"""Were the evaluation rows the bundle's own development rows?

Figures computed on rows a model was fitted on are *apparent* performance: optimistic,
and not a validation. :func:`check_development_rows` matches a task's labelled
evaluation rows against the development record of its bundle
(:class:`prom.bundle.development_rows.DevelopmentRows`) and returns a
:class:`DevelopmentOverlap` that says how many were development rows and so what the
figures are:

===================  ==========================================================
``performance``      the evaluation rows were
===================  ==========================================================
``apparent``         all development rows: apparent performance, not validation
``partly apparent``  some development rows (the figures mix the two); the
                     development rows can be left out
                     (``exclude_development_rows``, ``prom evaluate
                     --exclude-development-rows``)
``new rows``         none a development row (or those were left out)
``not checked``      unknown: the bundle records no development rows (written
                     before it did), or the table lacks the key column(s)
===================  ==========================================================

A row whose id is missing cannot be checked; it is counted (``n_unknown``) and kept. A row
whose id is a development row's but whose values are not (``n_id_only``: another patient
under the same id, or values corrected since the fit) is counted as a new row, and said.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from prom.bundle import ClassifierTaskEntry, SurvivalTaskEntry
from prom.outcomes import TaskRows

__all__ = ["DevelopmentOverlap", "check_development_rows", "EXCLUDED_KEY"]

#: The row-accounting entry of the development rows left out of an evaluation.
EXCLUDED_KEY = "development rows left out"


@dataclass(frozen=True)
class DevelopmentOverlap:
    """How many of a task's labelled evaluation rows were development rows.

    ``n_rows``: labelled rows checked; ``n_development``: of them, development rows;
    ``n_unknown``: rows without a key (missing id); ``excluded``: the development rows
    were left out of the figures; ``method``: how rows were matched; ``reason``: why no
    row was checked (None when they were); ``fitted_on``: what the models did on the
    development rows (``"fitted"``, or ``"fitted or recalibrated"`` for a recalibrated
    bundle, whose record also holds the rows it was recalibrated on); ``n_id_only``: rows
    sharing a development row's id but not its values, counted as new rows;
    ``values_reason``: why ids were matched without values where the record has them.
    """

    n_rows: int
    n_development: int = 0
    n_unknown: int = 0
    excluded: bool = False
    method: str = ""
    reason: str | None = None
    fitted_on: str = "fitted"
    n_id_only: int = 0
    values_reason: str | None = None

    @property
    def checked(self) -> bool:
        return self.reason is None

    @property
    def n_evaluated(self) -> int:
        """Rows the figures are computed on."""
        return self.n_rows - (self.n_development if self.excluded else 0)

    @property
    def performance(self) -> str:
        """``apparent``, ``partly apparent``, ``new rows`` or ``not checked`` (module docstring)."""
        if not self.checked:
            return "not checked"
        if self.n_development and not self.excluded:
            return "apparent" if self.n_development == self.n_rows else "partly apparent"
        return "new rows"

    def label(self) -> str:
        """A few words for a table's title."""
        k, n = self.n_development, self.n_rows
        return {
            "apparent": f"APPARENT performance: all {n:,} rows were development rows",
            "partly apparent": f"partly APPARENT: {k:,} of {n:,} rows were development rows",
            "new rows": f"{self.n_evaluated:,} rows that were not development rows",
            "not checked": "development rows not checked",
        }[self.performance]

    def sentence(self) -> str:
        """The line ``prom evaluate`` prints under a task's figures."""
        k, n = self.n_development, self.n_rows
        if not self.checked:
            return f"development rows: not checked ({self.reason})"
        unknown = (
            f"; {self.n_unknown:,} row(s) without an id could not be checked"
            if self.n_unknown
            else ""
        )
        if self.n_id_only:
            unknown += (
                f"; {self.n_id_only:,} row(s) share an id with a development row but not its "
                "values: counted as new rows"
            )
        if self.values_reason:
            unknown += f"; {self.values_reason}"
        if self.excluded:
            return (
                f"development rows: {k:,} of the {n:,} labelled rows were development rows and "
                f"were left out; the figures are on the other {self.n_evaluated:,} "
                f"({self.method}){unknown}"
            )
        return f"development rows: {k:,} of the {n:,} evaluation rows ({self.method}){unknown}"

    def _id_only_text(self) -> str:
        if not self.n_id_only:
            return ""
        return (
            f"; {self.n_id_only:,} row(s) share an id with a development row but not its "
            "values, and are counted as new rows: other patients under the same ids (another "
            "site's numbering?), or development patients whose values were corrected since "
            "the fit — if so, their figures are apparent"
        )

    def caution(self, task: str) -> str | None:
        """A caution when the figures are (partly) apparent performance, or rows share a
        development row's id but not its values; else None."""
        k, n = self.n_development, self.n_rows
        shared = self._id_only_text()
        if self.performance == "apparent":
            return (
                f"{task}: all {n:,} evaluation rows were development rows of the bundle "
                f"({self.method}): the figures are apparent performance, not validation — "
                f"the models were {self.fitted_on} on these rows"
            )
        if self.performance == "partly apparent":
            return (
                f"{task}: {k:,} of the {n:,} evaluation rows were development rows of the "
                f"bundle ({self.method}): the figures mix apparent performance with "
                f"performance on new rows; to evaluate the {n - k:,} new rows only, pass "
                f"--exclude-development-rows (exclude_development_rows=True){shared}"
                + (
                    f"; {self.values_reason} — if the ids are another numbering, these are "
                    "new patients: supply the columns to compare their values"
                    if self.values_reason
                    else ""
                )
            )
        if shared:
            return f"{task}: {shared[2:]}"
        return None

    def to_dict(self) -> dict[str, Any]:
        return {
            "performance": self.performance,
            "checked": self.checked,
            "n_rows": self.n_rows,
            "n_development": self.n_development,
            "n_unknown": self.n_unknown,
            "n_id_only": self.n_id_only,
            "values_reason": self.values_reason,
            "excluded": self.excluded,
            "n_evaluated": self.n_evaluated,
            "method": self.method or None,
            "reason": self.reason,
        }


def check_development_rows(
    entry: ClassifierTaskEntry | SurvivalTaskEntry,
    data: pd.DataFrame,
    rows: TaskRows,
    *,
    exclude: bool = False,
) -> tuple[DevelopmentOverlap, TaskRows]:
    """Match ``rows`` (the task's labelled rows of ``data``, :meth:`TaskEntry.rows`)
    against the bundle's development record; with ``exclude`` leave the development rows
    out (the row accounting says how many).

    Raises
    ------
    ValueError  ``exclude`` and the rows cannot be checked (the reason is named)
    """
    n = len(rows.y)
    record = entry.development_rows
    if record is None:
        reason = "the bundle records no development rows: it was written before prom recorded them"
        overlap = DevelopmentOverlap(n, reason=reason)
    else:
        X = rows.X.drop(columns=list(rows.absent))
        match = record.match(data.loc[rows.X.index], X)
        overlap = DevelopmentOverlap(
            n,
            n_development=int(match.development.sum()),
            n_unknown=int(match.unknown.sum()),
            excluded=exclude,
            # values not compared (a value column lacking): matched by the id alone
            method=record.describe(values=match.values_reason is None),
            reason=match.reason,
            fitted_on="fitted or recalibrated" if entry.recalibration else "fitted",
            n_id_only=0 if match.id_only is None else int(match.id_only.sum()),
            values_reason=match.values_reason,
        )
    if not exclude:
        return overlap, rows
    if not overlap.checked:
        raise ValueError(
            f"task {entry.name}: cannot leave out the development rows (--exclude-"
            f"development-rows): {overlap.reason}"
        )
    keep = ~match.development
    accounting = dict(rows.row_accounting)
    accounting["used"] = accounting.get("used", n) - overlap.n_development
    accounting[EXCLUDED_KEY] = overlap.n_development
    y = rows.y.iloc[np.flatnonzero(keep)]
    return overlap, TaskRows(rows.X.iloc[np.flatnonzero(keep)], y, accounting, rows.absent)
