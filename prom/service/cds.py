"""CDS Hooks 2.0: the discovery document and cards from the calculator's answer.

Two services (https://cds-hooks.hl7.org/2.0/):

- ``prom-patient-view`` (hook ``patient-view``): when a chart is opened, the chance of a
  meaningful improvement (MCID at 12 months) per PROM and treatment, the TFESI response,
  and the triage suggestion with the transparent rule beside it;
- ``prom-order-select`` (hook ``order-select``): the same when a surgery or injection
  order is selected, with the selected treatment's numbers first.

Both read two prefetched resources (the templates are in the discovery document):
``patient`` (the Patient: age and sex) and ``responses`` (a searchset Bundle of the
patient's completed QuestionnaireResponses). The service does not call the EHR's FHIR
server: without prefetched responses it returns one card saying so. The region is read
from the questionnaires answered (an mJOA response: cervical; otherwise lumbar), as a
CDS request carries no region; every other predictor is what FHIR gives, and the models
fill in the rest with their training medians — the card says which (the imputation note).

Cards: ``summary`` (< 140 characters), ``indicator`` (``warning`` for the demonstration
bundle or entries outside the training ranges, else ``info``), ``detail`` (markdown),
``source`` (label and the model card's URL). Nothing is logged.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from prom.service.orders import order_context_problems, order_treatment

__all__ = [
    "PATIENT_VIEW",
    "ORDER_SELECT",
    "SERVICE_IDS",
    "PREFETCH",
    "discovery",
    "prefetch_bundle",
    "order_treatment",
    "cards",
    "no_data_card",
    "SUMMARY_LIMIT",
    "answer_hook",
    "check_request",
    "region_of",
]

PATIENT_VIEW = "prom-patient-view"
ORDER_SELECT = "prom-order-select"
SUMMARY_LIMIT = 140

#: Prefetch templates: the Patient and the patient's completed questionnaire responses.
PREFETCH: dict[str, str] = {
    "patient": "Patient/{{context.patientId}}",
    "responses": "QuestionnaireResponse?subject={{context.patientId}}&status=completed",
}

#: The services' ids.
SERVICE_IDS = (PATIENT_VIEW, ORDER_SELECT)

_SERVICES = {
    PATIENT_VIEW: (
        "patient-view",
        "Spine outcome prediction",
        (
            "Chance of a meaningful improvement (MCID at 12 months) per PROM and treatment, "
            "TFESI response and a triage suggestion beside a transparent rule, from the "
            "patient's PROM questionnaire responses."
        ),
    ),
    ORDER_SELECT: (
        "order-select",
        "Spine outcome prediction for a surgery or injection order",
        (
            "When a spine surgery or epidural steroid injection order is selected: the "
            "chance of a meaningful improvement with that treatment, beside the others."
        ),
    ),
}


def discovery() -> dict[str, Any]:
    """The CDS Hooks discovery document (``GET /cds-services``)."""
    return {
        "services": [
            {
                "hook": hook,
                "id": sid,
                "title": title,
                "description": description,
                "prefetch": dict(PREFETCH),
                "usageRequirements": "A bearer token from the service's operator; "
                "prefetch is required (the service does not query the FHIR server).",
            }
            for sid, (hook, title, description) in _SERVICES.items()
        ]
    }


def prefetch_bundle(prefetch: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """The prefetched Patient and QuestionnaireResponses as one ``searchset`` Bundle for
    :func:`prom.fhir.entries_from_fhir` (the responses' entries as sent, so a search's
    included Patient and its own OperationOutcome keep their ``search.mode``), or ``None``
    when no response was prefetched.

    ``responses`` may be a Bundle (a search result) or a single QuestionnaireResponse.
    Raises :class:`prom.fhir.FhirInputError` for a prefetch member the EHR could not fill
    (an OperationOutcome in its place, as CDS Hooks 2.0 allows) or that is not the
    resource its template asks for."""
    from prom.fhir import FhirInputError, FhirProblem

    if not prefetch:
        return None
    problems: list[FhirProblem] = []
    entries: list[dict[str, Any]] = []

    def refuse(key: str, value: Any, expected: str) -> None:
        kind = value.get("resourceType") if isinstance(value, Mapping) else type(value).__name__
        why = "the EHR could not prefetch it" if kind == "OperationOutcome" else ""
        problems.append(FhirProblem(f"prefetch.{key}", "resourceType", kind, expected, why))

    patient = prefetch.get("patient")
    if isinstance(patient, Mapping) and patient.get("resourceType") == "Patient":
        entry: dict[str, Any] = {"resource": dict(patient), "search": {"mode": "include"}}
        if isinstance(patient.get("id"), str):
            entry["fullUrl"] = f"Patient/{patient['id']}"
        entries.append(entry)
    elif patient is not None:
        refuse("patient", patient, "the Patient (PREFETCH['patient'])")
    responses = prefetch.get("responses")
    listed = _response_entries(responses)
    found: list[Any] = []
    if listed is None:
        if responses is not None:
            refuse("responses", responses, "a Bundle of QuestionnaireResponses")
    elif not isinstance(listed[0], list):
        problems.append(
            FhirProblem("prefetch.responses", "Bundle.entry", listed[0], "a list of entries")
        )
    else:
        found = listed[0]
        for i, e in enumerate(found):
            if not isinstance(e, Mapping):
                problems.append(
                    FhirProblem("prefetch.responses", f"Bundle.entry[{i}]", e, "an entry object")
                )
    if problems:
        raise FhirInputError(problems)
    if not found:
        return None
    entries += [dict(e) for e in found]
    return {"resourceType": "Bundle", "type": "searchset", "entry": entries}


def _response_entries(responses: Any) -> tuple[Any, bool] | None:
    """The prefetched ``responses`` as Bundle entries — a search Bundle's ``entry`` as sent
    (``[]`` when absent; possibly not a list, which the caller names), or a single
    QuestionnaireResponse as one entry — and whether they came as a Bundle; ``None`` for
    anything else. One reading for :func:`prefetch_bundle` and the identity check."""
    if not isinstance(responses, Mapping):
        return None
    kind = responses.get("resourceType")
    if kind == "Bundle":
        return responses.get("entry") or [], True
    if kind == "QuestionnaireResponse":
        return [{"resource": responses}], False
    return None


def region_of(bundle: Mapping[str, Any]) -> str:
    """``cervical`` when an mJOA response is among the bundle's resources, else ``lumbar``
    (also for entries that are not resources: reading the bundle says what is wrong)."""
    found = bundle.get("entry")
    for e in found if isinstance(found, list) else ():
        r = e.get("resource") if isinstance(e, Mapping) else None
        if (
            isinstance(r, Mapping)
            and r.get("resourceType") == "QuestionnaireResponse"
            and "/Questionnaire/mjoa" in str(r.get("questionnaire", ""))
        ):
            return "cervical"
    return "lumbar"


def check_request(
    service_id: str, hook: str, context: Mapping[str, Any], prefetch: Mapping[str, Any] | None
) -> list[dict[str, str]]:
    """What is wrong with the shape of a hook call to ``service_id``, as ``{"field",
    "message"}`` (empty when nothing is): the hook must be the service's; ``context``
    must hold ``patientId`` (and for order-select ``selections`` and ``draftOrders``, as
    CDS Hooks 2.0 requires); and the prefetched Patient and responses must be of that
    patient — predictions from another patient's chart are never given."""
    want = _SERVICES[service_id][0]
    problems: list[dict[str, str]] = []
    if hook != want:
        problems.append(
            {"field": "body.hook", "message": f"{service_id} answers the {want!r} hook"}
        )
    pid = context.get("patientId")
    if not isinstance(pid, str) or not pid.strip():
        problems.append(
            {
                "field": "body.context.patientId",
                "message": "required: the id of the patient whose chart is open",
            }
        )
    if want == "order-select":
        problems += order_context_problems(context)
    if problems or not prefetch or not isinstance(pid, str):
        return problems
    return _identity_problems(pid, prefetch)


def _identity_problems(pid: str, prefetch: Mapping[str, Any]) -> list[dict[str, str]]:
    """The prefetched resources that are not of patient ``pid`` (``context.patientId``)."""
    from prom.fhir import patient_reference

    problems = []
    patient = prefetch.get("patient")
    if (
        isinstance(patient, Mapping)
        and patient.get("resourceType") == "Patient"
        and patient.get("id") != pid
    ):
        problems.append(
            {
                "field": "body.prefetch.patient.id",
                "message": "the prefetched Patient is not the patient of context.patientId",
            }
        )
    listed = _response_entries(prefetch.get("responses"))
    if listed is None or not isinstance(listed[0], list):
        return problems  # not responses: prefetch_bundle names what is wrong
    found, searched = listed
    for i, e in enumerate(found):
        r = e.get("resource") if isinstance(e, Mapping) else None
        if not isinstance(r, Mapping) or r.get("resourceType") != "QuestionnaireResponse":
            continue
        subject = r.get("subject")
        ref = subject.get("reference") if isinstance(subject, Mapping) else None
        named = patient_reference(ref) if isinstance(ref, str) else None
        if ref is not None and (named is None or named[1] != pid):
            where = "body.prefetch.responses" + (f".entry.{i}.resource" if searched else "")
            problems.append(
                {
                    "field": f"{where}.subject.reference",
                    "message": "a response of another patient than context.patientId",
                }
            )
    return problems


def _pct(p: float | None) -> str:
    return "–" if p is None else f"{100 * p:.0f}%"


def _best(row: Mapping[str, Any]) -> Mapping[str, Any] | None:
    return next((a for a in row["answers"] if a["model"] == row["primary"]), None)


def _short(text: str) -> str:
    return text if len(text) < SUMMARY_LIMIT else text[: SUMMARY_LIMIT - 2] + "…"


def _source(result: Mapping[str, Any], card_url: str) -> dict[str, Any]:
    label = "spine-prom " + ("demonstration " if result["demonstration"] else "") + "models"
    return {"label": label, "url": card_url}


def cards(
    result: Mapping[str, Any],
    card_url: str,
    treatment: str | None = None,
    *,
    unread_order: bool = False,
) -> list[dict[str, Any]]:
    """The cards of one answer (:func:`prom.service.results.result_dict`); ``treatment``:
    the ordered treatment (order-select), shown first. ``card_url``: the model card's URL."""
    warn = bool(result["demonstration"] or any(w["kind"] == "range" for w in result["warnings"]))
    indicator = "warning" if warn else "info"
    source = _source(result, card_url)
    out: list[dict[str, Any]] = []
    if result["demonstration"]:
        out.append(
            {
                "uuid": str(uuid.uuid4()),
                "summary": _short("Demonstration models (simulated data): not for clinical use"),
                "indicator": "warning",
                "detail": result["simulated_data_warning"],
                "source": source,
            }
        )
    rows = [r for r in result["mcid"] if not treatment or r["treatment"] in (treatment, None)]
    rows += [r for r in result["mcid"] if r not in rows]
    lines = ["| PROM | treatment | chance of MCID (range) | logistic |", "|---|---|---|---|"]
    by_outcome: dict[str, list[tuple[str | None, str]]] = {}
    for r in rows:
        best = _best(r)
        logistic = next((a for a in r["answers"] if a["model"] == r["baseline"]), None)
        if r["withheld"] or best is None:
            lines.append(
                f"| {r['outcome']} | {r['treatment'] or ''} | not given: {r['withheld']} | |"
            )
            continue
        rng = "" if best["low"] is None else f" ({_pct(best['low'])}–{_pct(best['high'])})"
        lines.append(
            f"| {r['outcome']} | {r['treatment'] or ''} | {_pct(best['probability'])}{rng} | "
            f"{_pct(logistic['probability'] if logistic else None)} |"
        )
        if not treatment or r["treatment"] == treatment:
            by_outcome.setdefault(r["outcome"], []).append(
                (r["treatment"], _pct(best["probability"]))
            )
    # "ODI 69/75/87%, … (conservative/tfesi/surgery)"; one treatment: "ODI 87%"
    head = [f"{o} " + "/".join(p.rstrip("%") for _, p in v) + "%" for o, v in by_outcome.items()]
    order = next((v for v in by_outcome.values() if len(v) > 1), None)
    if order and not treatment:
        head[-1] += " (" + "/".join(str(tr) for tr, _ in order) + ")"
    t = result["tfesi"]
    if t is not None:
        best = _best(t)
        if t["withheld"] or best is None:
            lines.append(f"\n**TFESI response**: not given ({t['withheld']})")
        else:
            rng = (
                "" if best["low"] is None else f" (range {_pct(best['low'])}–{_pct(best['high'])})"
            )
            lines.append(
                f"\n**TFESI response** (≥ 50% leg-pain reduction at 1 month, if injected): "
                f"{_pct(best['probability'])}{rng}"
            )
            head.append(f"TFESI response {_pct(best['probability'])}")
    lines += [f"\n- {w['message']}" for w in result["warnings"]]
    lines += [f"\n- {n}" for n in result["notes"]]
    if unread_order:  # order-select: the order named no treatment the models compare
        lines.append(
            "\n- The selected order names neither a surgery nor an epidural steroid "
            "injection (TFESI): every treatment is shown."
        )
    lines.append(
        "\nAssociations in the development cohort, where treatment was chosen, not "
        "randomised: differences between treatments are not treatment effects."
    )
    what = f"with {treatment}" if treatment else "per treatment"
    out.append(
        {
            "uuid": str(uuid.uuid4()),
            "summary": _short(f"Chance of meaningful improvement {what}: " + ", ".join(head))
            if head
            else _short("No improvement prediction: baseline PROMs missing or no room"),
            "indicator": indicator,
            "detail": "\n".join(lines),
            "source": source,
        }
    )
    tri = result["triage"]
    rule = result["rule"]
    if tri is not None or rule is not None:
        model = tri["suggestion"] if tri else None
        detail = []
        if tri and model:
            probs = next(p for p in tri["probabilities"] if p["model"] == tri["primary"])
            detail.append(
                f"**Model** (what patients like this received at the development sites): "
                f"{model} — "
                + ", ".join(f"{c} {_pct(v)}" for c, v in probs["probabilities"].items())
            )
        if rule:
            detail.append(f"**Rule**: {rule['suggestion']} — {rule['reason']}. {rule['source']}")
        elif result["rule_missing"]:
            detail.append(f"**Rule**: no suggestion ({result['rule_missing']})")
        out.append(
            {
                "uuid": str(uuid.uuid4()),
                "summary": _short(
                    f"Triage: model {model or '–'}, rule {rule['suggestion'] if rule else '–'}"
                ),
                "indicator": indicator,
                "detail": "\n\n".join(detail),
                "source": source,
            }
        )
    return out


def no_data_card(why: str, card_url: str, demonstration: bool) -> dict[str, Any]:
    """The one card when there is nothing to predict from (``why``: what was missing)."""
    return {
        "uuid": str(uuid.uuid4()),
        "summary": _short(f"No spine outcome prediction: {why}"),
        "indicator": "info",
        "detail": why,
        "source": {
            "label": "spine-prom " + ("demonstration " if demonstration else "") + "models",
            "url": card_url,
        },
    }


def answer_hook(
    service: Any,
    service_id: str,
    context: Mapping[str, Any],
    prefetch: Mapping[str, Any] | None,
    card_url: str,
) -> list[dict[str, Any]]:
    """The cards for one hook call of ``service`` (a :class:`prom.service.
    PredictionService`), answered with its default bundle.

    Input the calculator does not take (a response it cannot read, a Patient without a
    birth date) gives one card naming the problems, not an error: the clinician sees why
    there is no prediction. Raises ``KeyError`` for a service id that is not ours."""
    from prom.calculator import PatientInputError
    from prom.fhir import FhirInputError
    from prom.service.core import PatientRequest

    if service_id not in _SERVICES:
        raise KeyError(service_id)
    demo = service.calculator().is_demo
    try:
        bundle = prefetch_bundle(prefetch)
        if bundle is None:
            return [no_data_card("no questionnaire responses were prefetched", card_url, demo)]
        treatment = order_treatment(context) if service_id == ORDER_SELECT else None
        request = PatientRequest(entries={"region": region_of(bundle)}, fhir=bundle)
        result = service.predict(request)
    except (PatientInputError, FhirInputError) as e:
        why = "; ".join(p.message for p in e.problems)
        return [no_data_card(why, card_url, demo)]
    unread = service_id == ORDER_SELECT and treatment is None
    return cards(result, card_url, treatment, unread_order=unread)
