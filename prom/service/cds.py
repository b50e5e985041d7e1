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

__all__ = [
    "PATIENT_VIEW",
    "ORDER_SELECT",
    "PREFETCH",
    "discovery",
    "prefetch_bundle",
    "order_treatment",
    "cards",
    "no_data_card",
    "SUMMARY_LIMIT",
    "answer_hook",
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

#: Words in an order's code text or display that name its treatment.
ORDER_WORDS: dict[str, tuple[str, ...]] = {
    "tfesi": ("injection", "epidural", "tfesi", "steroid", "transforaminal"),
    "surgery": (
        "surgery",
        "decompression",
        "fusion",
        "discectomy",
        "laminectomy",
        "laminoplasty",
        "arthroplasty",
        "foraminotomy",
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
    """The prefetched Patient and QuestionnaireResponses as one ``collection`` Bundle for
    :func:`prom.fhir.entries_from_fhir`, or ``None`` when no response was prefetched.

    ``responses`` may be a Bundle (a search result) or a single QuestionnaireResponse."""
    if not prefetch:
        return None
    entries: list[dict[str, Any]] = []
    patient = prefetch.get("patient")
    if isinstance(patient, Mapping) and patient.get("resourceType") == "Patient":
        pid = patient.get("id")
        entries.append({"fullUrl": f"Patient/{pid}" if pid else None, "resource": dict(patient)})
    responses = prefetch.get("responses")
    found: list[Any] = []
    if isinstance(responses, Mapping):
        if responses.get("resourceType") == "Bundle":
            found = [
                e.get("resource") for e in responses.get("entry") or () if isinstance(e, Mapping)
            ]
        else:
            found = [responses]
    found = [r for r in found if isinstance(r, Mapping)]
    if not found:
        return None
    entries += [{"resource": dict(r)} for r in found]
    for e in entries:
        if e.get("fullUrl") is None:
            e.pop("fullUrl", None)
    return {"resourceType": "Bundle", "type": "collection", "entry": entries}


def region_of(bundle: Mapping[str, Any]) -> str:
    """``cervical`` when an mJOA response is among the bundle's resources, else ``lumbar``."""
    for e in bundle.get("entry") or ():
        r = e.get("resource") or {}
        if r.get("resourceType") == "QuestionnaireResponse" and "/Questionnaire/mjoa" in str(
            r.get("questionnaire", "")
        ):
            return "cervical"
    return "lumbar"


def order_treatment(context: Mapping[str, Any]) -> str | None:
    """The treatment (``surgery`` or ``tfesi``) of the order-select context's selected
    draft orders, read from their code's text and displays; ``None`` when none names one."""
    selected = {str(s) for s in context.get("selections") or ()}
    drafts = context.get("draftOrders") or {}
    for e in drafts.get("entry") or () if isinstance(drafts, Mapping) else ():
        r = e.get("resource") if isinstance(e, Mapping) else None
        if not isinstance(r, Mapping):
            continue
        ref = f"{r.get('resourceType')}/{r.get('id')}"
        if selected and ref not in selected:
            continue
        code = r.get("code") or {}
        words = [str(code.get("text", ""))] + [
            str(c.get("display", "")) for c in code.get("coding") or () if isinstance(c, Mapping)
        ]
        text = " ".join(words).lower()
        for treatment, names in ORDER_WORDS.items():
            if any(n in text for n in names):
                return treatment
    return None


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
    result: Mapping[str, Any], card_url: str, treatment: str | None = None
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
    bundle = prefetch_bundle(prefetch)
    if bundle is None:
        return [no_data_card("no questionnaire responses were prefetched", card_url, demo)]
    treatment = order_treatment(context) if service_id == ORDER_SELECT else None
    request = PatientRequest(entries={"region": region_of(bundle)}, fhir=bundle)
    try:
        result = service.predict(request)
    except (PatientInputError, FhirInputError) as e:
        why = "; ".join(p.message for p in e.problems)
        return [no_data_card(why, card_url, demo)]
    return cards(result, card_url, treatment)
