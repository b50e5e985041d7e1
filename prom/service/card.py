"""A bundle's model card and validation summary as JSON, from its manifest only.

What each task predicts, for whom, from which predictors, with which models, and how
well they validated (the manifest's aggregate comparison: AUC, Brier score, calibration,
with their intervals; sample size statement; for a recalibrated bundle, the
recalibration, with the validation figures labelled as those of the models before it).
No patient data: no rows, no training
ranges (a training minimum or maximum is one patient's value), no per-site tables.
"""

from __future__ import annotations

import math
from typing import Any

from prom.bundle import ClassifierTaskEntry

__all__ = ["model_card", "VALIDATION_COLUMNS"]

#: The comparison columns the summary keeps (aggregates over the validation folds).
VALIDATION_COLUMNS: tuple[str, ...] = (
    "model",
    "auc",
    "auc_low",
    "auc_high",
    "brier",
    "scaled_brier",
    "calibration_intercept",
    "calibration_slope",
    "delta_auc",
    "delta_auc_low",
    "delta_auc_high",
)


def _clean(v: Any) -> Any:
    """JSON has no NaN: a value not computed is ``None``."""
    if isinstance(v, float) and not math.isfinite(v):
        return None
    if hasattr(v, "item") and not isinstance(v, (str, bytes)):
        return _clean(v.item())
    return v


def model_card(calc: Any) -> dict[str, Any]:
    """The model card of the bundle behind calculator ``calc`` (see the module docstring)."""
    bundle = calc.bundle
    m = bundle.manifest
    tasks = []
    for t in calc.tasks:
        entry = bundle.tasks[t.name].entry
        item: dict[str, Any] = {
            "task": t.name,
            "kind": entry.kind,
            "description": entry.description,
            "outcome": t.outcome,
            "regions": list(t.regions),
            "treatments": list(t.treatments),
            "predictors": list(entry.predictors),
            "n": int(entry.n),
            "n_events": None if entry.n_events is None else int(entry.n_events),
            "primary": entry.primary,
            "baseline": entry.baseline,
            "models": sorted(entry.models),
            "definition": getattr(entry.definition, "rule", None),
            "warnings": list(entry.warnings),
            "validation": [],
            "validation_of": "the models as developed (out-of-fold cross-validation)",
            "recalibration": entry.recalibration,
            "sample_size": None,
        }
        if entry.recalibration:  # the figures are those of the models before it
            item["validation_of"] = (
                "the models before their recalibration (out-of-fold cross-validation at "
                "development); see recalibration"
            )
        if isinstance(entry, ClassifierTaskEntry):
            item["validation"] = [
                {c: _clean(r.get(c)) for c in VALIDATION_COLUMNS if c in r}
                for r in entry.comparison
            ]
            if entry.sample_size is not None:
                item["sample_size"] = entry.sample_size.statement
        tasks.append(item)
    return {
        "bundle_id": bundle.bundle_id,
        "description": m.description,
        "created": m.created,
        "demonstration": calc.is_demo,
        "trust": bundle.trust.describe(),
        "spine_prom_version": m.spine_prom_version,
        "tasks": tasks,
        "not_shown": dict(calc.skipped),
    }
