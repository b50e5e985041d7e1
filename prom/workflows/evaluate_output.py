"""What ``prom evaluate`` prints and writes: a readable view per task, and one JSON document.

- :func:`evaluation_view` — a task's figures as a :class:`~prom.workflows.layout.MetricView`
  (a table on a wide terminal, one line per metric elsewhere), its title saying whether the
  figures are apparent performance (:mod:`prom.workflows.development_overlap`). An
  estimate and its interval share a cell: ``auc (95% CI)  0.712 (0.650–0.774)``.
- :func:`evaluation_document` — the whole result as plain JSON: per task the metrics of
  every model with their intervals (the columns of
  :attr:`~prom.workflows.EvaluationResult.tables`, unrounded), the row accounting, the
  development-row overlap, the cautions, the subgroup tables and the imputed values per
  predictor. A missing value is
  ``null`` (strict JSON).
"""

from __future__ import annotations

import math
from typing import Any

import pandas as pd

from prom.jsonable import to_jsonable
from prom.workflows.development_overlap import DevelopmentOverlap
from prom.workflows.evaluate import EvaluationResult
from prom.workflows.layout import MetricView

__all__ = ["INTERVALS", "evaluation_view", "evaluation_document", "cells"]

#: An estimate's column and the columns of its 95% interval, shown as one cell.
INTERVALS = {
    "auc": ("auc_low", "auc_high"),
    "calibration_slope": ("slope_low", "slope_high"),
    "c": ("c_low", "c_high"),
}
#: Columns that are counts (shown without decimals).
COUNTS = ("n", "events")
_LABEL_COLUMNS = ("model", "recalibration", "recalibrated_on_these_rows")


def _number(column: str, v: Any) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "–"
    if column in COUNTS:
        return f"{int(v):,}"
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        return f"{float(v):.3f}"
    return str(v)


def cells(tab: pd.DataFrame) -> tuple[list[str], list[tuple[str, list[str]]]]:
    """``(column headers, [(row label, cells)])`` of an evaluation table: an estimate and
    its interval in one cell, the recalibration in the row label when there is one."""
    shown = [c for c in tab.columns if c not in _LABEL_COLUMNS]
    inner = {c for pair in INTERVALS.values() for c in pair}
    headers, keys = [], []
    for c in shown:
        if c in inner and any(c in INTERVALS.get(k, ()) for k in shown):
            continue
        keys.append(c)
        headers.append(f"{c} (95% CI)" if c in INTERVALS and INTERVALS[c][0] in shown else c)
    rows = []
    for r in tab.to_dict(orient="records"):
        label = str(r.get("model", ""))
        if r.get("recalibration", "none") != "none":
            label += f" (recalibrated: {r['recalibration']}"
            if r.get("recalibrated_on_these_rows") is True:
                label += "; calibration apparent: fitted on these rows"
            label += ")"
        out = []
        for c in keys:
            text = _number(c, r[c])
            if c in INTERVALS and INTERVALS[c][0] in r:
                low, high = (_number(c, r[k]) for k in INTERVALS[c])
                # a negative bound is read as a range with an en dash: "−0.188–2.555"
                sep = " to " if low.startswith("-") or high.startswith("-") else "–"
                text += f" ({low}{sep}{high})"
            out.append(text)
        rows.append((label, out))
    return headers, rows


def evaluation_view(
    task: str, tab: pd.DataFrame, source: str, overlap: DevelopmentOverlap | None = None
) -> MetricView:
    """A task's figures on ``source`` (the data's name), titled with what they are."""
    title = f"{task} on {source}"
    if overlap is not None:
        title += f" — {overlap.label()}"
    headers, rows = cells(tab)
    view = MetricView(title=title, columns=headers)
    for label, row in rows:
        view.add_row(label, row)
    return view


def _strict(obj: Any) -> Any:
    """``obj`` with every NaN or infinity made None (strict JSON has neither)."""
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    if isinstance(obj, dict):
        return {k: _strict(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_strict(v) for v in obj]
    return obj


def evaluation_document(
    result: EvaluationResult,
    *,
    source: str,
    bundle: dict[str, Any] | None = None,
    settings: dict[str, Any] | None = None,
    imputed: dict[str, dict[str, int]] | None = None,
) -> dict[str, Any]:
    """The result as one JSON object (see the module docstring).

    ``source``: the data's name; ``bundle``: what to say of the bundle (id, path, trust);
    ``settings``: the options the evaluation ran with; ``imputed``: per task, the missing
    values its models imputed, per predictor
    (:func:`prom.workflows.missing.bundle_imputed`).
    """
    tasks = {}
    for name, tab in result.tables.items():
        overlap = result.development.get(name)
        tasks[name] = {
            "performance": None if overlap is None else overlap.performance,
            "development_rows": None if overlap is None else overlap.to_dict(),
            "row_accounting": dict(result.row_accounting.get(name, {})),
            "models": tab.to_dict(orient="records"),
            # "task: …" and, from the models, "task (logistic, lightgbm): …"
            "warnings": [w for w in result.warnings if w.startswith((f"{name}:", f"{name} ("))],
            "subgroups": result.subgroups.get(name),
            "imputed": dict((imputed or {}).get(name, {})),
        }
    doc = {
        "data": source,
        "bundle": bundle or {},
        "settings": settings or {},
        "tasks": tasks,
        "warnings": list(result.warnings),
    }
    return _strict(to_jsonable(doc))
