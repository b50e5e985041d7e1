"""The prediction service without HTTP: signed bundles loaded once, patients answered.

:class:`PredictionService` holds one :class:`prom.calculator.Calculator` per bundle and
answers through it — :meth:`~PredictionService.predict` is ``Calculator.predict`` on the
merged entries (:mod:`prom.service.inputs`) written out by :mod:`prom.service.results`,
so a service answer equals the calculator's number for number. A batch is bounded
(:data:`MAX_BATCH`) and answers each row with its result or its problems.

:func:`load_service` refuses a bundle that is unsigned, signed by an untrusted key or
damaged (:class:`prom.bundle.BundleError`): the service has no opt-out. Nothing here logs,
writes or keeps a patient's entries.
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from prom.bundle import BundleError, load_bundle
from prom.calculator import Calculator, PatientInputError, Problem, check_patient
from prom.fhir import FhirInputError
from prom.service.card import model_card
from prom.service.inputs import merge_entries
from prom.service.results import result_dict

__all__ = [
    "PredictionService",
    "PatientRequest",
    "UnknownBundleError",
    "load_service",
    "MAX_BATCH",
    "MAX_REASONS",
    "input_problems",
]

#: Most patients in one batch request.
MAX_BATCH = 100
#: Most reasons per outcome a client may ask for.
MAX_REASONS = 10


class UnknownBundleError(LookupError):
    """A request named a bundle the service does not hold."""


@dataclass(frozen=True)
class PatientRequest:
    """One patient as a client sends it (:mod:`prom.service.inputs`): calculator
    ``entries``, a ``fhir`` resource, or both; ``bundle``: a bundle id or its prefix
    (default: the service's first bundle); ``reasons``: top reasons per outcome."""

    entries: Mapping[str, Any] = field(default_factory=dict)
    fhir: Any = None
    bundle: str | None = None
    reasons: int = 3


class PredictionService:
    """Calculators over verified bundles, in the order given (the first is the default)."""

    def __init__(self, calculators: Sequence[Calculator], *, fhir_base: str | None = None):
        """``fhir_base``: the canonical base of the Questionnaires whose responses are read
        (:data:`prom.fhir.FHIR_BASE`, this project's, by default), for a deployment that
        publishes them under its own."""
        if not calculators:
            raise ValueError("a prediction service needs at least one bundle")
        self.fhir_base = fhir_base
        self.calculators = {c.bundle.bundle_id: c for c in calculators}
        self.default = calculators[0].bundle.bundle_id
        self.started = time.time()

    # ------------------------------------------------------------------------------------
    def calculator(self, bundle: str | None = None) -> Calculator:
        """The calculator of bundle id (or unique prefix) ``bundle``; the default without."""
        if not bundle:
            return self.calculators[self.default]
        found = [c for b, c in self.calculators.items() if b.startswith(bundle)]
        if len(found) != 1:
            held = ", ".join(b[:12] for b in self.calculators)
            how = "matches no" if not found else f"matches {len(found)}"
            raise UnknownBundleError(f"bundle {bundle!r} {how} bundle of this service ({held})")
        return found[0]

    def predict(self, request: PatientRequest) -> dict[str, Any]:
        """Every outcome for one patient, as JSON-able data.

        Raises :class:`prom.fhir.FhirInputError` or :class:`prom.calculator.
        PatientInputError` for input the calculator does not take, and
        :class:`UnknownBundleError` for a bundle the service does not hold.
        """
        if not 0 <= int(request.reasons) <= MAX_REASONS:
            raise ValueError(f"reasons = {request.reasons}; expected 0 to {MAX_REASONS}")
        calc = self.calculator(request.bundle)
        merged = merge_entries(request.entries, request.fhir, base=self.fhir_base)
        try:
            patient = check_patient(merged.entries)
        except PatientInputError as e:
            if request.fhir is None:
                raise
            raise PatientInputError(
                [_from_fhir_hint(p, request.entries or {}) for p in e.problems]
            ) from None
        # always as the calculator shows it (with explanations where prom.explain is
        # installed: the primary model's probability is then the explanation's end point),
        # so that the numbers do not depend on how many reasons a client asks for
        result = calc.predict(patient)
        return result_dict(
            result,
            reasons=request.reasons,
            rule_missing=calc.rule_missing(patient),
            fhir_notes=merged.fhir_notes,
        )

    def predict_batch(self, requests: Sequence[PatientRequest]) -> list[dict[str, Any]]:
        """Each patient's result or problems, in order: ``{"index", "result"}`` or
        ``{"index", "problems"}`` (a problem: ``field``, ``message``). Every row is
        answered; one row's bad input does not stop the others."""
        if len(requests) > MAX_BATCH:
            raise ValueError(f"{len(requests)} patients in one batch; at most {MAX_BATCH}")
        out: list[dict[str, Any]] = []
        for i, r in enumerate(requests):
            try:
                out.append({"index": i, "result": self.predict(r), "problems": []})
            except (PatientInputError, FhirInputError, UnknownBundleError, ValueError) as e:
                out.append({"index": i, "result": None, "problems": input_problems(e)})
        return out

    # ------------------------------------------------------------------------------------
    def bundles(self) -> list[dict[str, Any]]:
        """Each bundle's id, description, signature and tasks (no patient data)."""
        return [
            {
                "bundle_id": b,
                "description": c.description,
                "demonstration": c.is_demo,
                "trust": c.bundle.trust.describe(),
                "tasks": [t.name for t in c.tasks],
                "not_served": dict(c.skipped),  # task → why the service does not serve it
                "default": b == self.default,
            }
            for b, c in self.calculators.items()
        ]

    def model_card(self, bundle: str | None = None) -> dict[str, Any]:
        """The bundle's model card and validation summary (:mod:`prom.service.card`)."""
        return model_card(self.calculator(bundle))

    def health(self) -> dict[str, Any]:
        """Liveness: the process answers."""
        return {"status": "ok", "uptime_s": round(time.time() - self.started, 3)}

    def ready(self) -> dict[str, Any]:
        """Readiness: every bundle loaded and verified (a service exists only then)."""
        return {"status": "ready", "bundles": len(self.calculators)}


#: Where a FHIR input gives the required entries it can give.
_FHIR_SOURCE = {
    "age_years": "Patient.birthDate of a Patient in the Bundle (age on the responses' "
    "authored date)",
    "sex": "Patient.gender of a Patient in the Bundle",
}


def _from_fhir_hint(p: Problem, entries: Mapping[str, Any]) -> Problem:
    """A required entry missing from a request with FHIR input: the message says where
    FHIR would have given it (a bare QuestionnaireResponse carries no age or sex)."""
    if p.kind != "required" or p.column not in _FHIR_SOURCE or entries.get(p.column) is not None:
        return p
    return replace(p, message=f"{p.message}: give it in entries or as {_FHIR_SOURCE[p.column]}")


def input_problems(e: Exception) -> list[dict[str, Any]]:
    """The problems of an input error as ``{"field", "message"}`` — the field a JSON path:
    ``entries.age_years`` or the FHIR resource and path (values stay in the message, which
    goes back only to the client that sent them)."""
    if isinstance(e, PatientInputError):
        return [{"field": f"entries.{p.column}", "message": p.message} for p in e.problems]
    if isinstance(e, FhirInputError):
        return [
            {"field": f"fhir: {p.resource}: {p.path}", "message": p.message} for p in e.problems
        ]
    if isinstance(e, UnknownBundleError):
        return [{"field": "bundle", "message": str(e)}]
    return [{"field": "(request)", "message": str(e)}]


def load_service(
    paths: Sequence[str | os.PathLike[str]],
    *,
    trust_store: str | os.PathLike[str] | None = None,
    fhir_base: str | None = None,
) -> PredictionService:
    """Verify and load every bundle of ``paths`` (signature against the trust store, then
    hashes, then safe formats). Raises :class:`prom.bundle.BundleError` naming the first
    bundle refused: a service starts only when every bundle is trusted. ``fhir_base``: as
    for :class:`PredictionService`."""
    if not paths:
        raise ValueError("no bundle given: pass at least one bundle directory")
    calculators = []
    for p in paths:
        try:
            calc = Calculator(load_bundle(p, trust_store=trust_store))
        except BundleError as e:
            if os.fspath(p) in str(e):
                raise
            raise type(e)(f"bundle {os.fspath(p)}: {e}") from None
        if not calc.tasks:  # ready, yet answering nothing from it: refused instead
            why = "; ".join(f"{t}: {r}" for t, r in calc.skipped.items()) or "no task"
            raise BundleError(
                f"bundle {os.fspath(p)} has no task the service can serve ({why}); the "
                "service serves the built-in MCID, TFESI-response and triage tasks with the "
                "calculator's fields — prom score scores any bundle's tasks in bulk"
            )
        calculators.append(calc)
    return PredictionService(calculators, fhir_base=fhir_base)
