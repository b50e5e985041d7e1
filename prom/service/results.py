"""The calculator's answer for one patient as plain JSON-able data.

:func:`result_dict` writes a :class:`prom.calculator.CalculatorResult` field by field —
every probability is the calculator's own ``float``, unrounded (JSON numbers written by
Python's ``repr`` read back to the same double), so a client gets the calculator's number
to the last digit. The reasons are the calculator's own wording
(:func:`prom.calculator.summary.reasons`: the primary model's largest contributions in
probability points). Nothing here computes a prediction.
"""

from __future__ import annotations

from typing import Any

from prom.calculator.results import CalculatorResult, ModelAnswer, OutcomeRow, TriageResult

__all__ = ["result_dict", "DEMO_WARNING"]

#: Shown with every answer of the demonstration bundle.
DEMO_WARNING = (
    "Demonstration bundle: these models were trained on a simulated cohort, not on "
    "patients. The numbers illustrate the toolkit and must not guide care."
)


def _answer(a: ModelAnswer) -> dict[str, Any]:
    return {"model": a.model, "probability": a.probability, "low": a.low, "high": a.high}


def _outcome(row: OutcomeRow, k: int) -> dict[str, Any]:
    from prom.calculator.summary import reasons

    why = (
        reasons(row.explanation, row.explanation_row, k=k)
        if k and row.withheld is None and row.explanation is not None
        else []
    )
    return {
        "task": row.task,
        "outcome": row.outcome,
        "treatment": row.treatment,
        "definition": row.definition.rule,
        "primary": row.primary,
        "baseline": row.baseline,
        "withheld": row.withheld,
        "answers": [_answer(a) for a in row.answers.values()],
        "reasons": why,
    }


def _triage(t: TriageResult, k: int) -> dict[str, Any]:
    from prom.calculator.summary import reasons

    suggestion = t.suggestion
    why = (
        reasons(t.explanation, 0, k=k, class_=suggestion)
        if k and suggestion is not None and t.explanation is not None
        else []
    )
    return {
        "classes": list(t.classes),
        "primary": t.primary,
        "baseline": t.baseline,
        "probabilities": [
            {"model": m, "probabilities": dict(p)} for m, p in t.probabilities.items()
        ],
        "suggestion": suggestion,
        "withheld": t.withheld,
        "reasons": why,
    }


def result_dict(
    result: CalculatorResult,
    *,
    reasons: int = 3,
    rule_missing: str | None = None,
    fhir_notes: tuple[str, ...] = (),
) -> dict[str, Any]:
    """``result`` as JSON-able data (see the module docstring); ``reasons``: how many top
    reasons per outcome (0: none)."""
    rule = result.rule
    return {
        "bundle_id": result.bundle_id,
        "bundle_description": result.bundle_description,
        "demonstration": result.is_demo,
        "simulated_data_warning": DEMO_WARNING if result.is_demo else None,
        "region": result.patient.region,
        "mcid": [_outcome(r, reasons) for r in result.mcid],
        "tfesi": None if result.tfesi is None else _outcome(result.tfesi, reasons),
        "triage": None if result.triage is None else _triage(result.triage, reasons),
        "rule": None
        if rule is None
        else {
            "suggestion": rule.suggestion,
            "severity_class": rule.severity_class,
            "pain_class": rule.pain_class,
            "reason": rule.reason,
            "source": rule.source,
        },
        "rule_missing": rule_missing,
        "warnings": [
            {"column": w.column, "message": w.message, "tasks": list(w.tasks), "kind": w.kind}
            for w in result.warnings
        ],
        "notes": list(result.notes) + list(fhir_notes),
        "imputed": list(result.imputed),
        "scored_from_items": dict(result.patient.scored_from_items),
    }
