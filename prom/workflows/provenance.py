"""The provenance record a fit makes: how it got its rows, predictors and label.

:func:`fit_provenance` is called by every fit (binary, multiclass, survival) once the
task's labelled rows and predictors are settled, and its result is stored in the bundle
manifest (:class:`prom.bundle.FitProvenance`), from which the report writes its TRIPOD+AI
answers and model card. It records facts, never assumptions:

- the task's source: the user's own outcome when :func:`prom.outcomes.is_custom_task`
  says so, else the task registry;
- how the predictors were chosen: named by the user (``--predictors``), else the
  registry's candidates present in the table, else (a user's outcome) the table's columns
  the cohort contract declares as predictors;
- what loading did to the table, as the readers and the scorer recorded it in the
  table's ``attrs`` (:func:`prom.cohort.provenance.loading_facts`): whether it was checked
  against the cohort data contract, the column mapping, and which of *this task's*
  columns (outcome or predictors) were PROM scores computed from item answers. A table
  built in Python without those steps carries none of this, and each fact is then "not
  recorded";
- the predictors derived in this run (columns of the fitted design that were not in the
  table, such as ``img_index_*`` from ``index_level`` and the per-level columns).
"""

from __future__ import annotations

import pandas as pd

from prom.bundle import ContractCheck, FitProvenance
from prom.cohort.provenance import loading_facts
from prom.outcomes import Task, TaskDefinition, is_custom_task

__all__ = ["fit_provenance"]


def fit_provenance(
    data: pd.DataFrame, task: Task, X: pd.DataFrame, definition: TaskDefinition
) -> FitProvenance:
    """The provenance of a fit of ``task`` on ``data`` with predictor table ``X`` (see the
    module docstring)."""
    facts = loading_facts(data)
    custom = is_custom_task(task)
    if task.predictors_named:
        chosen = "named"
    else:
        chosen = "contract" if custom else "registry"
    contract = None
    if isinstance(facts.get("contract"), dict):
        c = facts["contract"]
        contract = ContractCheck(
            checked=bool(c.get("checked")),
            errors=c.get("errors"),
            warnings=c.get("warnings"),
            mode=c.get("mode"),
            contract=c.get("contract"),
        )
    used = set(definition.outcome_columns) | {str(c) for c in X.columns}
    scored = facts.get("scored_from_items")
    mapping = facts.get("mapping")
    return FitProvenance(
        task_source="user" if custom else "registry",
        predictors=chosen,
        contract=contract,
        mapping=None if mapping is None else str(mapping),
        scored_from_items=None if scored is None else tuple(sorted(c for c in scored if c in used)),
        derived=tuple(str(c) for c in X.columns if c not in data.columns),
    )
