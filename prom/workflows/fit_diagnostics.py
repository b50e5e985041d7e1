"""The diagnostics step of a fit: run on a task's labelled rows before any model is fitted.

:func:`diagnose_task_data` is called by :func:`prom.workflows.fit_classifier_task` and
:func:`prom.workflows.fit_survival.fit_survival_task` right after the labelled rows and
usable predictors are known (:func:`prom.workflows.fit_checks.task_data_for_fit`). It

1. leaves out a predictor that is an exact linear combination of others, recording it
   as an :class:`~prom.outcomes.ExcludedPredictor` with the relation and what to do
   (:func:`prom.models.diagnostics.leave_out_aliased` says why this, not a ridge
   penalty, keeps the unpenalised baseline estimable);
2. diagnoses the rest (:func:`prom.models.diagnostics.diagnose`): near dependence,
   separation, rare categories, events per candidate parameter, and the predictors to
   explain together.

The fit keeps the result as ``TaskFit.diagnostics``; the bundle's manifest stores it
(``diagnostics`` of the task's entry), ``prom fit`` prints it and the report shows it
(section ``task-<task>-diagnostics``). Odds ratios are marked with it
(:func:`mark_odds_ratios`).
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

from prom.models.collinearity import VIF_HIGH, VIF_NEAR_ALIASED
from prom.models.diagnostics import FitDiagnostics, diagnose, leave_out_aliased
from prom.outcomes import ExcludedPredictor, TaskData

__all__ = ["diagnose_task_data", "mark_odds_ratios"]


def diagnose_task_data(
    td: TaskData, kind: str, *, splines: bool = False
) -> tuple[TaskData, FitDiagnostics]:
    """``td`` without its exactly aliased predictors (recorded in ``td.excluded``), and the
    diagnostics of what is left (see the module docstring)."""
    from threadpoolctl import threadpool_limits

    # small dense problems (a few thousand rows × tens of columns): one BLAS thread is
    # fastest, and on a busy machine many threads are slower by a factor of a hundred
    with threadpool_limits(limits=1, user_api="blas"):
        kept, left_out, relations = leave_out_aliased(td.X, splines=splines)
        if left_out:
            td = dataclasses.replace(
                td,
                X=td.X[kept],
                excluded=td.excluded + tuple(ExcludedPredictor(n, r) for n, r in left_out),
            )
        return td, diagnose(td.X, td.y, kind, splines=splines, aliased=relations)


def mark_odds_ratios(rows: list[dict[str, Any]], diagnostics: FitDiagnostics | None) -> None:
    """Add to each odds-ratio row, in place, its design column's ``vif``; above
    :data:`VIF_HIGH` a ``collinear`` note (the odds ratio is shown, marked), above
    :data:`VIF_NEAR_ALIASED` a ``not_identifiable`` reason (the report shows the reason
    instead of an odds ratio and interval that are not identifiable on their own)."""
    if diagnostics is None:
        return
    groups = {g: members for members in diagnostics.explain_groups for g in members}
    for r in rows:
        v = diagnostics.vif_of(str(r.get("feature")))
        if v is None:
            continue
        r["vif"] = None if math.isinf(v) else v
        with_ = groups.get(str(r.get("variable")))
        along = f", explained together as {' + '.join(with_)}" if with_ else ""
        if v > VIF_NEAR_ALIASED:
            r["not_identifiable"] = (
                f"near-aliased (VIF {v:.3g} > {VIF_NEAR_ALIASED:g}{along}): its odds ratio is "
                "not identifiable on its own; drop one of the columns or combine them"
            )
        elif v > VIF_HIGH:
            r["collinear"] = f"collinear (VIF {v:.3g} > {VIF_HIGH:g}{along}): imprecise"
