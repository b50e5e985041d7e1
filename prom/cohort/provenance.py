"""What happened to a table on its way in, carried with the table itself.

A report may only say that a table "was checked against the cohort data contract" or
that "PROM scores were computed from item answers" when that happened in the run that
fitted the model. The steps that do these things are the readers and the scorer, far
from the fit; so each step writes what it did into the table's ``DataFrame.attrs``
(under :data:`LOADING_ATTR`, and for scoring :data:`prom.instruments.SCORED_ATTR`), and
:func:`loading_facts` reads them back when a fit starts
(:func:`prom.workflows.provenance.fit_provenance`).

The facts and what their absence means:

``contract``
    ``{"checked": False}`` when the table was read without validation
    (:func:`prom.cohort.load_cohort`, what ``prom fit`` reads with), or
    ``{"checked": True, "errors": n, "warnings": m, "mode": ...}`` when
    :func:`prom.cohort.read_cohort` validated it. Absent: not recorded.
``mapping``
    the mapping file's name when a column mapping was applied, ``""`` when none was.
    Absent: not recorded.
``scored_from_items``
    the score columns computed from item answers (:func:`prom.instruments.add_scores`,
    ``prom fit``'s scoring step), possibly none. Absent: not recorded.

A table built in Python without these steps carries none of them, and the report then
says "not recorded" instead of guessing. ``attrs`` are kept by most pandas operations
(``copy``, ``loc``, ``assign``) but not by ``join``: a step that joins re-applies them.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from prom.instruments import SCORED_ATTR

__all__ = ["LOADING_ATTR", "mark_table", "loading_facts", "contract_facts"]

#: The ``DataFrame.attrs`` key of the loading facts (a dict; see the module docstring).
LOADING_ATTR = "prom_loading"


def mark_table(data: pd.DataFrame, **facts: Any) -> pd.DataFrame:
    """``data`` with ``facts`` added to its loading facts (``contract=``, ``mapping=``,
    ``scored_from_items=``); returns the same object, which the caller owns (a reader's
    fresh table, never a caller's)."""
    known = {"contract", "mapping", "scored_from_items"}
    unknown = sorted(set(facts) - known)
    if unknown:
        raise TypeError(f"unknown loading fact(s) {', '.join(unknown)}; expected {sorted(known)}")
    scored = facts.pop("scored_from_items", None)
    if scored is not None:
        data.attrs[SCORED_ATTR] = sorted(set(data.attrs.get(SCORED_ATTR, ())) | set(scored))
    if facts:
        data.attrs[LOADING_ATTR] = {**data.attrs.get(LOADING_ATTR, {}), **facts}
    return data


def loading_facts(data: pd.DataFrame) -> dict[str, Any]:
    """The loading facts ``data`` carries: keys ``contract``, ``mapping`` and
    ``scored_from_items`` where recorded (see the module docstring), nothing else."""
    facts = dict(data.attrs.get(LOADING_ATTR, {}))
    if SCORED_ATTR in data.attrs:
        facts["scored_from_items"] = tuple(data.attrs[SCORED_ATTR])
    return facts


def contract_facts(report: Any) -> dict[str, Any]:
    """The ``contract`` fact of a :class:`~prom.cohort.validate.ValidationReport`."""
    return {
        "checked": True,
        "errors": len(report.errors),
        "warnings": len(report.warnings),
        "mode": report.mode,
        "contract": report.contract,
    }
