"""What every part of a task's report reads: the manifest entry, the validation record,
the loaded models, and (optionally) SHAP summaries — plus a few derived facts."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from prom.bundle import ClassifierTaskEntry, Manifest, SurvivalTaskEntry
from prom.report.html import slug

__all__ = ["TaskContext"]


@dataclass(frozen=True)
class TaskContext:
    """One task of a bundle, as the report sees it."""

    name: str
    entry: ClassifierTaskEntry | SurvivalTaskEntry
    record: dict[str, Any] | None
    manifest: Manifest
    models: dict[str, Any]
    shap: dict[str, Any] | None = None

    @property
    def tid(self) -> str:
        """The task's element-id prefix (``task-<slug>``)."""
        return f"task-{slug(self.name)}"

    @property
    def kind(self) -> str:
        return self.entry.kind

    @property
    def primary(self) -> str:
        return self.entry.primary

    @property
    def simulated(self) -> bool:
        """Trained on the simulator's data (by the record, or the bundle's description)."""
        from_record = bool(self.record and self.record.get("simulated"))
        return from_record or "simulated" in self.manifest.description.lower()

    @property
    def iecv(self) -> dict[str, Any]:
        e = self.entry
        return dict(e.internal_external) if isinstance(e, ClassifierTaskEntry) else {}

    def primary_row(self) -> Any:
        """The primary model's comparison row (binary/multiclass) or CV metrics (survival)."""
        return self.entry.primary_row()

    def headline(self) -> str:
        """The primary model's out-of-fold performance in one phrase."""
        r = self.primary_row()
        if r is None:
            return "not recorded"
        e = self.entry
        if isinstance(e, SurvivalTaskEntry):
            return (
                f"Harrell's C {r['c']:.3f} ({r['c_low']:.3f} to {r['c_high']:.3f}), "
                f"calibration slope {r['calibration_slope']:.2f}, O/E {r['o_e']:.2f} at "
                f"{e.horizon:g} {e.time_unit}"
            )
        text = (
            f"{'macro one-vs-rest ' if self.kind == 'multiclass' else ''}AUC "
            f"{r['auc']:.3f} ({r['auc_low']:.3f} to {r['auc_high']:.3f}), Brier "
            f"{r['brier']:.4f}"
        )
        if self.kind == "binary":
            text += f", calibration slope {r['calibration_slope']:.2f}"
        return text
