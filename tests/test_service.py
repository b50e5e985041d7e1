"""The prediction service's application layer without HTTP (:mod:`prom.service`):
merging entries with FHIR, CDS Hooks helpers, the model card, refusals."""

from __future__ import annotations

import pytest

pytest.importorskip("fhir.resources")

from prom.calculator import DEMO_BUNDLE_PATH, PatientInputError
from prom.fhir import FhirInputError, example_bundle
from prom.service import (
    MAX_BATCH,
    PatientRequest,
    cds,
    load_service,
    merge_entries,
)

NRS = {"age_years": 52.0, "sex": "female", "nrs_back_0m": 5.0, "nrs_leg_0m": 7.0}


@pytest.fixture(scope="module")
def service():
    return load_service([DEMO_BUNDLE_PATH])


def test_merge_takes_fhir_columns_and_keeps_the_others():
    merged = merge_entries({"region": "lumbar", "diagnosis": None}, example_bundle(NRS))
    assert merged.entries == {"region": "lumbar", "diagnosis": None, **NRS}
    assert set(merged.from_fhir) == set(NRS)


def test_merge_refuses_a_column_from_both_naming_it():
    with pytest.raises(PatientInputError, match=r"age_years is given in entries and by the FHIR"):
        merge_entries({"region": "lumbar", "age_years": 50}, example_bundle(NRS))


def test_merge_without_fhir_is_the_entries():
    assert merge_entries({"a": 1}).entries == {"a": 1}
    with pytest.raises(TypeError, match="mapping"):
        merge_entries([("a", 1)])  # type: ignore[arg-type]


def test_bad_fhir_is_a_fhir_error(service):
    with pytest.raises(FhirInputError, match="QuestionnaireResponse"):
        service.predict(
            PatientRequest(
                entries={"region": "lumbar"},
                fhir={"resourceType": "QuestionnaireResponse", "status": "in-progress"},
            )
        )


def test_batch_is_bounded_and_row_by_row(service):
    with pytest.raises(ValueError, match=f"at most {MAX_BATCH}"):
        service.predict_batch([PatientRequest()] * (MAX_BATCH + 1))
    rows = service.predict_batch(
        [
            PatientRequest(entries={"region": "lumbar", **NRS}, reasons=0),
            PatientRequest(bundle="zz"),
        ]
    )
    assert rows[0]["problems"] == [] and rows[0]["result"]["region"] == "lumbar"
    assert rows[1]["result"] is None and rows[1]["problems"][0]["field"] == "bundle"


def test_reasons_out_of_range_is_refused(service):
    with pytest.raises(ValueError, match="reasons = 11"):
        service.predict(PatientRequest(entries={"region": "lumbar", **NRS}, reasons=11))


def test_no_bundle_and_unsigned_bundle_are_refused(tmp_path):
    import shutil

    from prom.bundle import BundleError

    with pytest.raises(ValueError, match="no bundle given"):
        load_service([])
    shutil.copytree(DEMO_BUNDLE_PATH, tmp_path / "b")
    (tmp_path / "b" / "signature.json").unlink()
    with pytest.raises(BundleError, match="unsigned"):
        load_service([tmp_path / "b"])


def test_model_card_holds_aggregates_only(service):
    card = service.model_card()
    assert card["demonstration"] is True
    text = repr(card)
    # training ranges (one patient's value at the extremes) are not in it
    assert "p01" not in text and "median" not in text and "feature_schema" not in text
    tasks = {t["task"]: t for t in card["tasks"]}
    assert tasks["triage"]["regions"] == ["lumbar"]
    assert all(
        v.get("auc") is None or 0 < v["auc"] < 1 for v in tasks["mcid_odi_12m"]["validation"]
    )


# --- CDS helpers -------------------------------------------------------------------------


def test_order_treatment_reads_the_selected_order():
    def ctx(text, selected="ServiceRequest/a"):
        order = {"resourceType": "ServiceRequest", "id": "a", "code": {"text": text}}
        other = {"resourceType": "ServiceRequest", "id": "b", "code": {"text": "Lumbar fusion"}}
        return {
            "selections": [selected],
            "draftOrders": {"entry": [{"resource": order}, {"resource": other}]},
        }

    assert cds.order_treatment(ctx("Transforaminal epidural steroid injection")) == "tfesi"
    assert cds.order_treatment(ctx("Microdiscectomy L5-S1")) == "surgery"
    assert cds.order_treatment(ctx("Physiotherapy")) is None
    assert cds.order_treatment(ctx("Physiotherapy", "ServiceRequest/b")) == "surgery"
    assert cds.order_treatment({}) is None


def test_prefetch_bundle_and_region():
    assert cds.prefetch_bundle(None) is None
    assert cds.prefetch_bundle({"patient": {"resourceType": "Patient", "id": "p"}}) is None
    qr = {"resourceType": "QuestionnaireResponse", "questionnaire": "x/Questionnaire/mjoa|1"}
    b = cds.prefetch_bundle({"responses": {"resourceType": "Bundle", "entry": [{"resource": qr}]}})
    assert b is not None and b["entry"] == [{"resource": qr}]
    assert cds.region_of(b) == "cervical"
    odi = {**qr, "questionnaire": "x/Questionnaire/odi|2.1a"}
    assert cds.region_of(cds.prefetch_bundle({"responses": odi})) == "lumbar"


def test_cards_without_prefetch_and_with_bad_patient(service):
    (card,) = cds.answer_hook(service, cds.PATIENT_VIEW, {}, None, "u")
    assert "prefetched" in card["summary"]
    qr = example_bundle(NRS)["entry"][1]["resource"]
    qr = {**qr, "subject": {"reference": "Patient/p"}}
    (card,) = cds.answer_hook(
        service,
        cds.PATIENT_VIEW,
        {},
        {"patient": {"resourceType": "Patient", "id": "p"}, "responses": qr},
        "u",
    )
    assert "No spine outcome prediction" in card["summary"] and "Age" in card["detail"]
    with pytest.raises(KeyError):
        cds.answer_hook(service, "nope", {}, None, "u")


def test_discovery_lists_both_hooks():
    services = cds.discovery()["services"]
    assert [(s["id"], s["hook"]) for s in services] == [
        ("prom-patient-view", "patient-view"),
        ("prom-order-select", "order-select"),
    ]


def test_an_order_naming_no_treatment_is_said_on_the_card(service):
    """order-select for a physiotherapy referral: every treatment shown, and said why."""
    bundle = example_bundle(NRS)
    patient = next(
        e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Patient"
    )
    responses = {
        "resourceType": "Bundle",
        "type": "searchset",
        "entry": [
            {"resource": {**e["resource"], "subject": {"reference": f"Patient/{patient['id']}"}}}
            for e in bundle["entry"]
            if e["resource"]["resourceType"] == "QuestionnaireResponse"
        ],
    }
    prefetch = {"patient": patient, "responses": responses}

    def context(text):
        order = {"resourceType": "ServiceRequest", "id": "a", "code": {"text": text}}
        return {
            "patientId": patient["id"],
            "selections": ["ServiceRequest/a"],
            "draftOrders": {"resourceType": "Bundle", "entry": [{"resource": order}]},
        }

    said = "The selected order names neither a surgery nor an epidural steroid injection"
    cards = cds.answer_hook(
        service, cds.ORDER_SELECT, context("Physiotherapy referral"), prefetch, "u"
    )
    assert any(said in c["detail"] for c in cards)
    cards = cds.answer_hook(
        service, cds.ORDER_SELECT, context("Lumbar decompression surgery"), prefetch, "u"
    )
    assert not any(said in c["detail"] for c in cards)
    cards = cds.answer_hook(service, cds.PATIENT_VIEW, {"patientId": patient["id"]}, prefetch, "u")
    assert not any(said in c["detail"] for c in cards)
