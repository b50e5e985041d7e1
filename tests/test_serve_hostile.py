"""The prediction service against what careless or hostile clients send: malformed FHIR
and CDS Hooks calls get a problem naming the field (never a 500), and no prediction is
made from another patient's resources than the one the request is about.

In process, through the ASGI application (:func:`prom.server.create_app`): the same
handlers the real server runs (``tests/test_serve.py`` starts that one).
"""

from __future__ import annotations

import asyncio
import copy
from typing import Any

import pytest

pytest.importorskip("fhir.resources")
httpx = pytest.importorskip("httpx")

from prom.calculator import DEMO_BUNDLE_PATH  # noqa: E402
from prom.calculator.inputs import example_entries  # noqa: E402
from prom.fhir import FHIR_BASE, example_bundle  # noqa: E402

TOKEN = "hostile-clients-token-0123456789"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture(scope="module")
def app():
    from prom.server import create_app
    from prom.service import load_service

    return create_app(load_service([DEMO_BUNDLE_PATH]), TOKEN, rate=0)


def _call(app, path: str, body: Any = None, content: bytes | None = None) -> httpx.Response:
    async def go():
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app, raise_app_exceptions=False),
            base_url="http://test",
        ) as c:
            if content is not None:
                headers = {**AUTH, "content-type": "application/json"}
                return await c.post(path, content=content, headers=headers)
            return await c.post(path, json=body, headers=AUTH)

    return asyncio.run(go())


def _fields(r: httpx.Response) -> list[str]:
    assert r.headers["content-type"] == "application/problem+json", r.text
    return [e["field"] for e in r.json()["errors"]]


def _patient_bundle() -> dict[str, Any]:
    """The lumbar example patient as a Bundle: Patient ``example-patient`` and its
    responses, each response's subject the Patient's reference."""
    bundle = example_bundle(example_entries("lumbar", items=True))
    for e in bundle["entry"]:
        r = e["resource"]
        if r["resourceType"] == "Patient":
            e["fullUrl"] = "https://ehr.example/fhir/Patient/example-patient"
        else:
            r["subject"] = {"reference": "Patient/example-patient"}
    return bundle


def _hook(hook: str, bundle: dict[str, Any], patient_id="example-patient", **context):
    patient = bundle["entry"][0]["resource"]
    responses = [e for e in bundle["entry"] if e["resource"]["resourceType"] != "Patient"]
    return {
        "hook": hook,
        "hookInstance": "d1577c69-dfbe-44ad-ba6d-3e05e953b2ea",
        "context": {"userId": "Practitioner/1", "patientId": patient_id, **context},
        "prefetch": {
            "patient": patient,
            "responses": {"resourceType": "Bundle", "type": "searchset", "entry": responses},
        },
    }


_QR = {
    "resourceType": "QuestionnaireResponse",
    "questionnaire": f"{FHIR_BASE}/Questionnaire/nrs_back|0-10",
    "status": "completed",
    "authored": "2026-01-15",
    "item": [{"linkId": "back", "answer": [{"valueDecimal": int("1" + "0" * 400)}]}],
}
_ORDER = {"resourceType": "ServiceRequest", "id": "o1", "status": "draft", "intent": "order"}


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/v1/predict/fhir", {"resourceType": "Bundle", "type": "collection", "entry": [1]}, ""),
        ("/v1/predict/fhir", {"resourceType": "Bundle", "entry": [{"resource": "QR"}]}, ""),
        ("/v1/predict/fhir", {"resourceType": "Bundle", "entry": "QR"}, ""),
        ("/v1/predict/fhir", _QR, "valueDecimal"),
        (
            "/v1/predict",
            {"entries": {"region": "lumbar", "age_years": 50, "sex": "female"}, "fhir": _QR},
            "valueDecimal",
        ),
    ],
)
def test_malformed_fhir_is_a_problem_naming_the_field(app, path, body, field):
    r = _call(app, path, body)
    assert r.status_code == 422, r.text
    assert all(f.startswith("fhir") for f in _fields(r)) and any(field in f for f in _fields(r))


def test_one_unreadable_row_of_a_batch_is_that_rows_problem(app):
    good = {"entries": example_entries("lumbar")}
    bad = {"entries": {"region": "lumbar", "age_years": 50, "sex": "female"}, "fhir": _QR}
    r = _call(app, "/v1/predict/batch", {"patients": [good, bad]})
    assert r.status_code == 200, r.text
    rows = r.json()["results"]
    assert rows[0]["result"] is not None and rows[0]["problems"] == []
    assert rows[1]["result"] is None and "valueDecimal" in rows[1]["problems"][0]["field"]


@pytest.mark.parametrize(
    ("edit", "fields"),
    [
        (lambda c: c.update(selections=7), ["body.context.selections"]),
        (lambda c: c.update(draftOrders={"entry": 7}), ["body.context.draftOrders"]),
        (
            lambda c: c.update(draftOrders={"resourceType": "Bundle", "entry": 7}),
            ["body.context.draftOrders.entry"],
        ),
        (
            lambda c: c["draftOrders"]["entry"][0]["resource"].update(code="surgery"),
            ["body.context.draftOrders.entry.0.resource.code"],
        ),
        (
            lambda c: c["draftOrders"]["entry"][0]["resource"].update(code={"coding": 5}),
            ["body.context.draftOrders.entry.0.resource.code"],
        ),
        (lambda c: c.pop("patientId"), ["body.context.patientId"]),
    ],
)
def test_a_malformed_order_select_context_is_a_422_naming_the_field(app, edit, fields):
    drafts = {"resourceType": "Bundle", "entry": [{"resource": copy.deepcopy(_ORDER)}]}
    call = _hook(
        "order-select", _patient_bundle(), selections=["ServiceRequest/o1"], draftOrders=drafts
    )
    edit(call["context"])
    r = _call(app, "/cds-services/prom-order-select", call)
    assert r.status_code == 422 and _fields(r) == fields, r.text


def test_a_hook_call_to_the_wrong_service_or_without_patient_is_a_422(app):
    call = _hook("order-select", _patient_bundle())
    r = _call(app, "/cds-services/prom-patient-view", call)
    assert r.status_code == 422 and _fields(r) == ["body.hook"]
    call = _hook("patient-view", _patient_bundle(), patient_id="")
    r = _call(app, "/cds-services/prom-patient-view", call)
    assert r.status_code == 422 and _fields(r) == ["body.context.patientId"]


def test_cds_prefetch_of_another_patient_than_the_chart_is_refused(app):
    ok = _call(app, "/cds-services/prom-patient-view", _hook("patient-view", _patient_bundle()))
    assert ok.status_code == 200 and any("Chance" in c["summary"] for c in ok.json()["cards"])
    call = _hook("patient-view", _patient_bundle(), patient_id="someone-else")
    r = _call(app, "/cds-services/prom-patient-view", call)
    assert r.status_code == 422, r.text
    fields = _fields(r)
    assert fields[0] == "body.prefetch.patient.id"
    assert all(f.endswith(".subject.reference") for f in fields[1:]) and len(fields) >= 2


def _refused_subject(app, bundle) -> str:
    r = _call(app, "/v1/predict", {"entries": {"region": "lumbar"}, "fhir": bundle})
    assert r.status_code == 422, r.text
    assert all(f.endswith("QuestionnaireResponse.subject.reference") for f in _fields(r))
    return r.json()["errors"][0]["message"]


def test_a_response_that_cannot_be_shown_to_be_the_bundles_patient_is_refused(app):
    anonymous = _patient_bundle()
    anonymous["entry"][0].pop("fullUrl")
    anonymous["entry"][0]["resource"].pop("id")
    assert "has no id and no fullUrl" in _refused_subject(app, anonymous)
    elsewhere = _patient_bundle()
    for e in elsewhere["entry"][1:]:
        e["resource"]["subject"]["reference"] = (
            "https://other-hospital.example/fhir/Patient/example-patient"
        )
    assert "another server" in _refused_subject(app, elsewhere)


def test_versioned_and_absolute_references_to_the_same_patient_are_read(app):
    bundle = _patient_bundle()
    refs = [
        "Patient/example-patient/_history/2",
        "https://ehr.example/fhir/Patient/example-patient",
        "https://ehr.example/fhir/Patient/example-patient/_history/7",
    ]
    for e, ref in zip(bundle["entry"][1:], refs * 3, strict=False):
        e["resource"]["subject"]["reference"] = ref
    r = _call(app, "/v1/predict", {"entries": {"region": "lumbar"}, "fhir": bundle})
    assert r.status_code == 200, r.text


def test_a_searchsets_own_outcome_and_included_patient_are_read_as_a_search_gives_them(app):
    plain = _call(app, "/cds-services/prom-patient-view", _hook("patient-view", _patient_bundle()))
    call = _hook("patient-view", _patient_bundle())
    listed = call["prefetch"]["responses"]["entry"]
    listed.append(
        {"resource": copy.deepcopy(call["prefetch"]["patient"]), "search": {"mode": "include"}}
    )
    outcome = {
        "resourceType": "OperationOutcome",
        "issue": [{"severity": "information", "code": "informational"}],
    }
    listed.append({"resource": outcome, "search": {"mode": "outcome"}})
    r = _call(app, "/cds-services/prom-patient-view", call)
    assert r.status_code == 200, r.text

    def summaries(resp):
        return [c["summary"] for c in resp.json()["cards"]]

    assert summaries(r) == summaries(plain)  # the same cards: nothing else was read
    outcome["issue"][0] = {"severity": "error", "code": "too-costly"}
    r = _call(app, "/cds-services/prom-patient-view", call)
    (card,) = r.json()["cards"]
    assert (
        card["summary"].startswith("No spine outcome prediction")
        and "incomplete" in (card["detail"])
    )


def test_a_prefetch_the_ehr_could_not_fill_says_so(app):
    call = _hook("patient-view", _patient_bundle())
    call["prefetch"]["responses"] = {
        "resourceType": "OperationOutcome",
        "issue": [{"severity": "error", "code": "timeout"}],
    }
    (card,) = _call(app, "/cds-services/prom-patient-view", call).json()["cards"]
    assert "could not prefetch" in card["detail"]
    call["prefetch"]["responses"] = {"resourceType": "Bundle", "type": "searchset", "entry": 5}
    (card,) = _call(app, "/cds-services/prom-patient-view", call).json()["cards"]
    assert "Bundle.entry" in card["detail"] and "a list of entries" in card["detail"]


def test_a_form_authored_in_the_future_is_refused(app):
    bundle = _patient_bundle()
    bundle["entry"][1]["resource"]["authored"] = "2099-01-01"
    r = _call(app, "/v1/predict", {"entries": {"region": "lumbar"}, "fhir": bundle})
    assert r.status_code == 422
    assert any(f.endswith("QuestionnaireResponse.authored") for f in _fields(r))


def test_nan_and_infinity_entries_are_refused_by_name(app):
    for literal in (b"NaN", b"Infinity", b"-Infinity"):
        body = b'{"entries": {"region": "lumbar", "bmi_kg_m2": ' + literal + b"}}"
        r = _call(app, "/v1/predict", content=body)
        assert r.status_code == 422 and _fields(r) == ["body.entries.bmi_kg_m2"], r.text
        assert "NaN and Infinity are not JSON numbers" in r.text


def test_a_bare_response_without_age_and_sex_says_where_fhir_gives_them(app):
    qr = next(
        e["resource"]
        for e in _patient_bundle()["entry"]
        if e["resource"]["resourceType"] == "QuestionnaireResponse"
    )
    r = _call(app, "/v1/predict/fhir", qr)
    assert r.status_code == 422
    messages = " ".join(e["message"] for e in r.json()["errors"])
    assert "Patient.birthDate" in messages and "Patient.gender" in messages


def test_a_body_json_cannot_represent_is_a_422_not_a_400(app):
    deep = b'{"entries": ' + b"[" * 5000 + b"]" * 5000 + b"}"
    huge = b'{"entries": {"age_years": ' + b"9" * 5000 + b"}}"
    for content in (deep, huge):
        r = _call(app, "/v1/predict", content=content)
        assert r.status_code == 422 and _fields(r) == ["body"], r.text


def test_a_list_or_object_entry_gets_one_message_naming_it(app):
    r = _call(app, "/v1/predict", {"entries": {"region": "lumbar", "age_years": [52]}})
    assert r.status_code == 422 and _fields(r) == ["body.entries.age_years"], r.text
    assert "a list: an entry is one value: a number, text, true/false or null" in r.text
