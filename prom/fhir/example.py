"""A calculator patient's entries written as FHIR: the example and round-trip helper.

:func:`example_bundle` turns entries such as the calculator's example patients
(``prom.calculator.inputs.example_entries(region, items=True)``) into a ``Bundle`` (type
``collection``) of one ``Patient`` and one ``QuestionnaireResponse`` per instrument
answered, as a hospital system would send them. Reading it back with
:func:`prom.fhir.entries_from_fhir` gives the same entries for the columns FHIR carries
(:func:`prom.fhir.bundle.fhir_columns`); the others (region, history, imaging, PROM
totals) are not in a questionnaire response and stay with the caller.

Everything in it is made up: no identifiers, a fixed ``authored`` date, and the birth date
that gives the entered age on that date (``age_years`` with more than two decimals comes
back rounded to two).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import date, timedelta
from typing import Any

from prom.fhir.questionnaires import FHIR_BASE, canonical_url
from prom.instruments import INSTRUMENTS, Instrument

__all__ = ["example_bundle", "EXAMPLE_AUTHORED"]

#: The ``authored`` date of the example responses.
EXAMPLE_AUTHORED = "2026-01-15"

_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "https://spine-prom.example/fhir/example")


def _urn(name: str) -> str:
    return f"urn:uuid:{uuid.uuid5(_NAMESPACE, name)}"


def _given(value: Any) -> bool:
    return value is not None and not (isinstance(value, float) and value != value)


def _response(
    inst: Instrument, entries: Mapping[str, Any], authored: str, subject: str, base: str
) -> dict[str, Any] | None:
    """The instrument's response to the entries, or None when none of its own items (the
    items not borrowed from another instrument's columns) is entered."""
    columns = inst.item_columns("0m")
    own = [it for it in inst.items if it.column is None] or list(inst.items)
    if not any(_given(entries.get(columns[it.name])) for it in own):
        return None
    items = []
    for it in inst.items:
        value: Any = entries.get(columns[it.name])
        if not _given(value):
            continue
        answer = {"valueInteger": int(value)} if it.integer else {"valueDecimal": float(value)}
        items.append({"linkId": it.name, "answer": [answer]})
    return {
        "resourceType": "QuestionnaireResponse",
        "id": f"example-{inst.key.replace('_', '-')}",
        "questionnaire": f"{canonical_url(inst.key, base)}|{inst.version}",
        "status": "completed",
        "subject": {"reference": subject},
        "authored": authored,
        "item": items,
    }


def example_bundle(
    entries: Mapping[str, Any], authored: str = EXAMPLE_AUTHORED, base: str = FHIR_BASE
) -> dict[str, Any]:
    """A FHIR ``Bundle`` carrying ``entries``' item answers, age and sex (see the module
    docstring). Item columns are read as the instruments name them at ``0m``; ``age_years``
    and ``sex`` make the Patient (omitted when neither is given). Values are written as
    given: check them with :func:`prom.calculator.check_patient` first."""
    on = date.fromisoformat(authored)
    patient: dict[str, Any] = {"resourceType": "Patient", "id": "example-patient"}
    if _given(entries.get("sex")):
        patient["gender"] = str(entries["sex"])
    if _given(entries.get("age_years")):
        days = round(float(entries["age_years"]) * 365.25)
        patient["birthDate"] = (on - timedelta(days=days)).isoformat()
    subject = _urn("patient")
    bundle_entries: list[dict[str, Any]] = []
    if len(patient) > 2:
        bundle_entries.append({"fullUrl": subject, "resource": patient})
    for inst in INSTRUMENTS.values():
        response = _response(inst, entries, authored, subject, base)
        if response is not None:
            bundle_entries.append({"fullUrl": _urn(inst.key), "resource": response})
    return {
        "resourceType": "Bundle",
        "id": "example",
        "type": "collection",
        "entry": bundle_entries,
    }
