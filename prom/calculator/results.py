"""What the calculator answers for one patient, as plain frozen data (no bundle, no model):
each outcome's probabilities per model with their calibration ranges, the triage
suggestion, range warnings and notes."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from prom.calculator.inputs import Patient
from prom.calculator.rules import RuleSuggestion
from prom.outcomes import McidDefinition

__all__ = ["ModelAnswer", "OutcomeRow", "TriageResult", "RangeWarning", "CalculatorResult"]


@dataclass(frozen=True)
class ModelAnswer:
    """One model's calibrated probability and its calibration range (``None``: not recorded)."""

    model: str
    probability: float
    low: float | None = None
    high: float | None = None


@dataclass(frozen=True)
class OutcomeRow:
    """One binary outcome for one treatment (``None`` for TFESI response)."""

    task: str
    outcome: str
    treatment: str | None
    definition: McidDefinition
    primary: str
    baseline: str | None
    answers: dict[str, ModelAnswer] = field(default_factory=dict)
    withheld: str | None = None
    #: the primary model's explanation in calibrated probability points
    #: (:meth:`prom.explain.Explanation.to_probability_points`), all treatments' rows
    explanation: Any = None
    explanation_row: int = 0

    @property
    def best(self) -> ModelAnswer | None:
        return self.answers.get(self.primary)

    @property
    def logistic(self) -> ModelAnswer | None:
        return self.answers.get(self.baseline) if self.baseline else None

    @property
    def alternative(self) -> ModelAnswer | None:
        """When the primary *is* logistic regression: the other model with the highest
        validated AUC, for contrast."""
        if self.primary != self.baseline:
            return None
        others = [a for k, a in self.answers.items() if k != self.primary]
        return others[0] if others else None


@dataclass(frozen=True)
class TriageResult:
    """The triage model's class probabilities (primary and logistic) and the rule."""

    classes: tuple[str, ...]
    primary: str
    baseline: str | None
    probabilities: dict[str, dict[str, float]]
    rule: RuleSuggestion | None
    withheld: str | None = None
    explanation: Any = None

    @property
    def suggestion(self) -> str | None:
        if self.withheld or self.primary not in self.probabilities:
            return None
        p = self.probabilities[self.primary]
        return max(p, key=lambda c: p[c])


@dataclass(frozen=True)
class RangeWarning:
    """An entry outside what the models saw in training (``kind="range"``: a number beyond
    the training rows' range, a category they never had), in a tail of it (``kind="tail"``:
    a number within the range but below the training rows' 1st or above their 99th
    percentile), or not recorded where every training row had it (``kind="missing"``: the
    model then uses the training median, or no category — ``assumed`` says which, as the
    form shows a value: ``'7'``, ``'no'``, ``'6–7 by model'``, ``'no category'``)."""

    column: str
    message: str
    tasks: tuple[str, ...]
    kind: str = "range"
    assumed: str | None = None


@dataclass(frozen=True)
class CalculatorResult:
    """Everything the app shows for one patient."""

    patient: Patient
    mcid: tuple[OutcomeRow, ...]
    tfesi: OutcomeRow | None
    triage: TriageResult | None
    rule: RuleSuggestion | None
    warnings: tuple[RangeWarning, ...]
    notes: tuple[str, ...]
    bundle_id: str
    bundle_description: str
    is_demo: bool
    #: numeric entries left empty that the models filled in (training median), in field
    #: order; the notes say so ("2 values imputed: …")
    imputed: tuple[str, ...] = ()

    @property
    def has_prediction(self) -> bool:
        rows = list(self.mcid) + ([self.tfesi] if self.tfesi else [])
        return any(r.withheld is None for r in rows) or (
            self.triage is not None and self.triage.withheld is None
        )
