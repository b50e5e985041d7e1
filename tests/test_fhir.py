"""prom.fhir: the Questionnaires generated from the instruments, and QuestionnaireResponses
and Bundles read into the calculator's entries, every problem named by resource and path."""

from __future__ import annotations

import copy
import json
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from prom.fhir import (
    FHIR_BASE,
    FhirInputError,
    age_at,
    canonical_url,
    entries_from_fhir,
    example_bundle,
    packaged_questionnaire,
    questionnaire,
    questionnaire_json,
)
from prom.fhir.questionnaires import QUESTIONNAIRE_DIR
from prom.instruments import INSTRUMENTS

pytest.importorskip("fhir.resources")

KEYS = list(INSTRUMENTS)
ODI_URL = f"{FHIR_BASE}/Questionnaire/odi|2.1a"


def _qr(key="odi", answers=None, **extra):
    """A completed response to instrument ``key`` (answers: linkId → answer dict)."""
    inst = INSTRUMENTS[key]
    if answers is None:
        answers = {it.name: {"valueInteger": 1} for it in inst.items}
    res = {
        "resourceType": "QuestionnaireResponse",
        "id": f"r-{key.replace('_', '-')}",
        "questionnaire": f"{canonical_url(key)}|{inst.version}",
        "status": "completed",
        "authored": "2026-01-15T09:30:00+01:00",
        "item": [{"linkId": k, "answer": [a]} for k, a in answers.items()],
    }
    res.update(extra)
    return res


def _problems(resource):
    with pytest.raises(FhirInputError) as info:
        entries_from_fhir(resource)
    return info.value.problems


# --- Questionnaires ------------------------------------------------------------------------


@pytest.mark.parametrize("key", KEYS)
def test_packaged_questionnaires_equal_the_generator(key):
    """The shipped files are what the declarations give now (regenerate with
    prom.fhir.write_questionnaires() after changing an instrument)."""
    path = QUESTIONNAIRE_DIR / f"Questionnaire-{key}.json"
    assert path.read_text(encoding="utf-8") == questionnaire_json(key)
    assert packaged_questionnaire(key) == questionnaire(key)


def test_questionnaire_files_are_package_data():
    """Each file is matched by a package-data glob of pyproject.toml (as setuptools reads
    it: ``*`` does not cross a ``/``)."""
    import tomllib
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    conf = tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8"))
    globbed = {
        f
        for p in conf["tool"]["setuptools"]["package-data"]["prom"]
        for f in (root / "prom").glob(p)
    }
    files = sorted(QUESTIONNAIRE_DIR.glob("*.json"))
    assert len(files) == len(KEYS)
    assert [f for f in files if f not in globbed] == []


@pytest.mark.parametrize("key", KEYS)
def test_questionnaires_validate_as_fhir_r4(key):
    from fhir.resources.R4B.questionnaire import Questionnaire

    q = Questionnaire.model_validate(packaged_questionnaire(key))
    assert q.url == f"{FHIR_BASE}/Questionnaire/{key}"
    assert q.version == INSTRUMENTS[key].version


@pytest.mark.parametrize("key", KEYS)
def test_questionnaire_items_follow_the_declaration(key):
    inst = INSTRUMENTS[key]
    q = questionnaire(key)
    assert [i["linkId"] for i in q["item"]] == list(inst.item_names)
    for item, it in zip(q["item"], inst.items, strict=True):
        assert item["type"] == ("integer" if it.integer else "decimal")
        bounds = {e["url"].rsplit("/", 1)[-1]: next(iter(e.values())) for e in item["extension"]}
        values = [v for e in item["extension"] for k, v in e.items() if k != "url"]
        assert values == [it.low, it.high]
        assert set(bounds) == {"minValue", "maxValue"}
        assert item["text"] == it.label


def test_only_the_verified_loinc_code_is_given():
    assert questionnaire("odi")["code"] == [
        {"system": "http://loinc.org", "code": "97908-8", "display": "Oswestry Disability Index"}
    ]
    assert all("code" not in questionnaire(k) for k in KEYS if k != "odi")
    assert all("code" not in i for k in KEYS for i in questionnaire(k)["item"])


def test_a_deployment_base_changes_the_canonical_and_is_required_when_reading():
    base = "https://hospital.example.org/fhir/"
    assert (
        questionnaire("mjoa", base)["url"] == "https://hospital.example.org/fhir/Questionnaire/mjoa"
    )
    res = _qr("nrs_leg", {"leg": {"valueDecimal": 4.5}})
    res["questionnaire"] = "https://hospital.example.org/fhir/Questionnaire/nrs_leg|0-10"
    assert entries_from_fhir(res, base=base).entries == {"nrs_leg_0m": 4.5}
    with pytest.raises(FhirInputError, match="not a Questionnaire this toolkit scores"):
        entries_from_fhir(res)


def test_unknown_instrument_key_is_refused():
    with pytest.raises(ValueError, match="unknown instrument 'oswestry'"):
        canonical_url("oswestry")


# --- one response ----------------------------------------------------------------------------


def test_a_response_gives_item_columns_at_baseline_with_provenance():
    answers = {it.name: {"valueInteger": j % 6} for j, it in enumerate(INSTRUMENTS["odi"].items)}
    got = entries_from_fhir(json.dumps(_qr("odi", answers)))
    cols = INSTRUMENTS["odi"].item_columns("0m")
    assert got.entries == {cols[k]: a["valueInteger"] for k, a in answers.items()}
    assert got.provenance[cols["lifting"]] == (
        "QuestionnaireResponse/r-odi: QuestionnaireResponse.item[2].answer[0].valueInteger "
        f"(linkId 'lifting' of {ODI_URL})"
    )
    assert got.questionnaires == {"odi": "QuestionnaireResponse/r-odi"}


def test_comi_pain_items_are_the_nrs_columns():
    answers = {it.name: {"valueInteger": 2} for it in INSTRUMENTS["comi"].items}
    answers["back_pain"] = {"valueDecimal": 6.5}
    got = entries_from_fhir(_qr("comi", answers)).entries
    assert got["nrs_back_0m"] == 6.5
    assert got["nrs_leg_0m"] == 2.0
    assert got["comi_qol_0m"] == 2


def test_unanswered_items_are_not_recorded_and_noted():
    res = _qr("odi")
    res["item"][7] = {"linkId": "sex_life"}
    del res["item"][9]
    got = entries_from_fhir(res)
    assert "odi_sex_life_0m" not in got.entries
    assert "odi_travelling_0m" not in got.entries
    assert len(got.entries) == 8
    assert got.notes == (
        (
            "QuestionnaireResponse/r-odi: QuestionnaireResponse.item[7] ('sex_life') "
            "has no answer: not recorded"
        ),
    )


def test_unversioned_canonical_is_read_as_ours_with_a_note():
    res = _qr("mjoa", questionnaire=f"{FHIR_BASE}/Questionnaire/mjoa")
    got = entries_from_fhir(res)
    assert got.notes == (
        (
            f"QuestionnaireResponse/r-mjoa: questionnaire has no version; read as "
            f"{FHIR_BASE}/Questionnaire/mjoa|Benzel-1991"
        ),
    )


@pytest.mark.parametrize(
    ("change", "path", "match"),
    [
        (
            {"questionnaire": "http://loinc.org/q/97908-8"},
            "QuestionnaireResponse.questionnaire",
            "not a Questionnaire this toolkit scores",
        ),
        (
            {"questionnaire": f"{FHIR_BASE}/Questionnaire/odi|2.0"},
            "QuestionnaireResponse.questionnaire",
            "version '2.0' of ODI",
        ),
        ({"status": "in-progress"}, "QuestionnaireResponse.status", "completed or amended"),
        ({"status": "entered-in-error"}, "QuestionnaireResponse.status", "completed or amended"),
    ],
)
def test_response_level_problems(change, path, match):
    (p,) = _problems(_qr("odi", **change))
    assert p.path == path
    assert p.resource == "QuestionnaireResponse/r-odi"
    assert match in p.message


def test_amended_is_read():
    assert entries_from_fhir(_qr("mjoa", status="amended")).entries["mjoa_sphincter_0m"] == 1


@pytest.mark.parametrize(
    ("answer", "path_end", "match"),
    [
        ({"valueInteger": 6}, "valueInteger", "outside the range of item 'lifting'"),
        ({"valueInteger": -1}, "valueInteger", "outside the range"),
        ({"valueDecimal": 2.5}, "valueDecimal", "answered with valueDecimal"),
        ({"valueString": "2"}, "valueString", "answered with valueString"),
        (
            {"valueCoding": {"code": "2"}},
            "valueCoding",
            "expected valueInteger, a whole number 0–5",
        ),
    ],
)
def test_bad_answers_name_their_path_value_and_range(answer, path_end, match):
    res = _qr("odi")
    res["item"][2]["answer"] = [answer]
    (p,) = _problems(res)
    assert p.path == f"QuestionnaireResponse.item[2].answer[0].{path_end}"
    assert match in p.message


def test_text_where_a_number_is_expected_is_refused_even_if_the_models_coerce_it():
    """fhir.resources reads valueInteger "3" as 3; JSON text is not a FHIR integer."""
    res = _qr("odi")
    res["item"][0]["answer"] = [{"valueInteger": "3"}]
    (p,) = _problems(res)
    assert p.path == "QuestionnaireResponse.item[0].answer[0].valueInteger"
    assert "'3'" in p.message and "not a JSON number" in p.message


def test_every_item_problem_is_reported_at_once():
    res = _qr("odi")
    res["item"][1]["answer"] = [{"valueInteger": 9}]
    res["item"][4]["linkId"] = "sittin"
    res["item"][5]["answer"].append({"valueInteger": 1})
    res["item"].append({"linkId": "walking", "answer": [{"valueInteger": 0}]})
    res["item"][6]["item"] = [{"linkId": "x"}]
    paths = [p.path for p in _problems(res)]
    assert paths == [
        "QuestionnaireResponse.item[1].answer[0].valueInteger",
        "QuestionnaireResponse.item[4].linkId",
        "QuestionnaireResponse.item[5].answer",
        "QuestionnaireResponse.item[6].item",
        "QuestionnaireResponse.item[10].linkId",
    ]
    msg = str(FhirInputError(_problems(res)))
    assert "5 problems" in msg
    assert "unknown linkId" in msg and "answered twice (also QuestionnaireResponse.item[3])" in msg


def test_invalid_fhir_is_refused_with_the_models_path():
    res = _qr("odi", authored="2026-13-45")
    res["item"][0]["answer"] = [{"valueInteger": 1, "valueString": "x"}]
    res["unknownField"] = 1
    paths = {p.path for p in _problems(res)}
    assert "QuestionnaireResponse.authored" in paths
    assert "QuestionnaireResponse.unknownField" in paths


@pytest.mark.parametrize(
    ("resource", "match"),
    [
        ('{"resourceType": ', "not JSON (line 1 column"),
        ("[1, 2]", "a JSON object"),
        ('{"resourceType": "Observation", "status": "final"}', "resourceType = 'Observation'"),
        ('{"resourceType": "QuestionnaireResponse", "status": "completed", "x": NaN}', "not JSON"),
        (b"\xff\xfe", "not UTF-8"),
    ],
)
def test_documents_that_are_not_a_response_or_bundle(resource, match):
    with pytest.raises(FhirInputError, match=re.escape(match)):
        entries_from_fhir(resource)


def test_a_wrong_python_type_is_a_type_error():
    with pytest.raises(TypeError, match="got list"):
        entries_from_fhir([_qr()])


# --- bundles and the patient ---------------------------------------------------------------

LUMBAR = {
    "age_years": 61.25,
    "sex": "female",
    "nrs_back_0m": 6.0,
    "nrs_leg_0m": 7.5,
    **dict.fromkeys(INSTRUMENTS["odi"].item_columns("0m").values(), 2),
}


def test_bundle_gives_age_and_sex_from_the_patient():
    got = entries_from_fhir(example_bundle(LUMBAR))
    assert got.entries == LUMBAR
    assert got.provenance["sex"] == "Patient/example-patient (Bundle.entry[0]): Patient.gender"
    assert set(got.questionnaires) == {"odi", "nrs_back", "nrs_leg"}


def test_age_is_whole_days_over_365_25_at_the_earliest_authored_date():
    from datetime import date

    assert age_at(date(1960, 3, 1), date(2026, 3, 1)) == round(24106 / 365.25, 2)
    b = example_bundle(LUMBAR, authored="2026-01-15")
    b["entry"][2]["resource"]["authored"] = "2025-01-15"  # a year earlier
    assert entries_from_fhir(b).entries["age_years"] == 60.25


def _bundle_problems(edit):
    b = example_bundle(LUMBAR)
    edit(b)
    return _problems(b)


@pytest.mark.parametrize(
    ("edit", "resource", "path", "match"),
    [
        (
            lambda b: b["entry"].append(copy.deepcopy(b["entry"][0])),
            "Patient/example-patient (Bundle.entry[4])",
            "Patient.resourceType",
            "at most one Patient",
        ),
        (
            lambda b: b["entry"][0]["resource"].update(gender="other"),
            "Patient/example-patient (Bundle.entry[0])",
            "Patient.gender",
            "female or male",
        ),
        (
            lambda b: b["entry"][0]["resource"].update(birthDate="1964"),
            "Patient/example-patient (Bundle.entry[0])",
            "Patient.birthDate",
            "a full date",
        ),
        (
            lambda b: b["entry"][0]["resource"].update(birthDate="2027-01-01"),
            "Patient/example-patient (Bundle.entry[0])",
            "Patient.birthDate",
            "age of 0–110",
        ),
        (
            lambda b: b["entry"][1]["resource"].update(subject={"reference": "Patient/other"}),
            "QuestionnaireResponse/example-odi (Bundle.entry[1])",
            "QuestionnaireResponse.subject.reference",
            "another patient",
        ),
        (
            lambda b: b["entry"].append(copy.deepcopy(b["entry"][2])),
            "QuestionnaireResponse/example-nrs-back (Bundle.entry[4])",
            "QuestionnaireResponse.questionnaire",
            "one response per questionnaire",
        ),
        (
            lambda b: b["entry"].append(
                {
                    "resource": {
                        "resourceType": "Observation",
                        "status": "final",
                        "code": {"text": "x"},
                    }
                }
            ),
            "Observation (Bundle.entry[4])",
            "Observation.resourceType",
            "refused, not skipped",
        ),
        (
            lambda b: b["entry"][1]["resource"].update(status="stopped"),
            "QuestionnaireResponse/example-odi (Bundle.entry[1])",
            "QuestionnaireResponse.status",
            "completed or amended",
        ),
        (
            lambda b: b["entry"][1]["resource"]["item"][0]["answer"][0].update(valueInteger=8),
            "QuestionnaireResponse/example-odi (Bundle.entry[1])",
            "QuestionnaireResponse.item[0].answer[0].valueInteger",
            "outside the range",
        ),
        (
            lambda b: b["entry"][0]["resource"].update(birthDate="1960-02-30"),
            "Patient/example-patient (Bundle.entry[0])",
            "Patient.birthDate",
            "valid FHIR R4",
        ),
    ],
)
def test_bundle_problems_name_the_resource_and_path(edit, resource, path, match):
    problems = _bundle_problems(edit)
    assert len(problems) == 1, [p.message for p in problems]
    (p,) = problems
    assert (p.resource, p.path) == (resource, path)
    assert match in p.message


def test_two_responses_disagreeing_on_one_column_is_a_problem():
    entries = {
        **LUMBAR,
        **{c: 1 for c in INSTRUMENTS["comi"].item_columns("0m").values() if c.startswith("comi_")},
    }
    b = example_bundle(entries)
    comi = next(e["resource"] for e in b["entry"] if e["resource"]["id"] == "example-comi")
    comi["item"][0]["answer"] = [{"valueDecimal": 3.0}]  # back pain; the NRS response says 6
    (p,) = _problems(b)
    assert p.path == "QuestionnaireResponse.item[0].answer[0].valueDecimal"
    assert "nrs_back_0m different values (6.0)" in p.message


def test_agreeing_shared_items_are_read_once_with_both_sources():
    entries = {
        **LUMBAR,
        **{c: 1 for c in INSTRUMENTS["comi"].item_columns("0m").values() if c.startswith("comi_")},
    }
    got = entries_from_fhir(example_bundle(entries))
    assert got.entries["nrs_back_0m"] == 6.0
    assert "; also QuestionnaireResponse/example-comi" in got.provenance["nrs_back_0m"]


def test_a_bundle_without_responses_and_missing_authored_dates():
    b = example_bundle({"age_years": 50.0, "sex": "male"})
    assert _problems(b)[0].path == "Bundle.entry"
    b = example_bundle({**LUMBAR})
    for e in b["entry"][1:]:
        del e["resource"]["authored"]
    problems = _problems(b)
    assert {p.path for p in problems} == {"QuestionnaireResponse.authored"}
    assert len(problems) == 3


def test_messages_and_errors_never_log(caplog):
    b = example_bundle(LUMBAR)
    b["entry"][0]["resource"]["gender"] = "unknown"
    with caplog.at_level("DEBUG"), pytest.raises(FhirInputError):
        entries_from_fhir(b)
    assert caplog.records == []


# --- property-based: nothing but FhirInputError, whatever the answers ------------------------

_values = st.one_of(
    st.integers(-(2**40), 2**40),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=5),
    st.booleans(),
    st.none(),
    st.lists(st.integers(), max_size=2),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
)
_answer = st.dictionaries(
    st.sampled_from(["valueInteger", "valueDecimal", "valueString", "valueBoolean", "item"]),
    _values,
    min_size=0,
    max_size=2,
)


@settings(max_examples=60, deadline=None)
@given(
    key=st.sampled_from(KEYS),
    data=st.data(),
)
def test_any_answers_give_entries_or_fhir_input_error(key, data):
    inst = INSTRUMENTS[key]
    links = st.sampled_from([*inst.item_names, "other"])
    items = data.draw(
        st.lists(
            st.fixed_dictionaries({"linkId": links, "answer": st.lists(_answer, max_size=2)}),
            max_size=len(inst.items) + 1,
        )
    )
    res = _qr(key, {})
    res["item"] = items
    try:
        got = entries_from_fhir(res)
    except FhirInputError as e:
        assert e.problems
        return
    cols = inst.item_columns("0m")
    for it in inst.items:
        v = got.entries.get(cols[it.name])
        if v is not None:
            assert it.low <= v <= it.high
            assert (type(v) is int) == it.integer


@settings(max_examples=60, deadline=None)
@given(answers=st.lists(st.integers(-3, 9), min_size=4, max_size=4))
def test_in_range_answers_are_read_and_out_of_range_ones_named(answers):
    inst = INSTRUMENTS["mjoa"]
    res = _qr(
        "mjoa", {it.name: {"valueInteger": a} for it, a in zip(inst.items, answers, strict=True)}
    )
    bad = [
        j
        for j, (it, a) in enumerate(zip(inst.items, answers, strict=True))
        if not it.low <= a <= it.high
    ]
    if not bad:
        assert list(entries_from_fhir(res).entries.values()) == answers
        return
    assert [p.path for p in _problems(res)] == [
        f"QuestionnaireResponse.item[{j}].answer[0].valueInteger" for j in bad
    ]


_json = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(10**12), 10**12)
    | st.floats(allow_nan=False)
    | st.text(max_size=8),
    lambda c: (
        st.lists(c, max_size=3)
        | st.dictionaries(
            st.sampled_from(
                ["linkId", "answer", "item", "valueInteger", "valueDecimal", "reference"]
            ),
            c,
            max_size=3,
        )
    ),
    max_leaves=8,
)
_FIELDS = [
    (0, "gender"),
    (0, "birthDate"),
    (1, "status"),
    (1, "questionnaire"),
    (1, "authored"),
    (1, "item"),
    (2, "subject"),
    (2, "item"),
]


@settings(max_examples=60, deadline=None)
@given(edits=st.lists(st.tuples(st.sampled_from(_FIELDS), _json), min_size=1, max_size=3))
def test_any_field_values_in_a_bundle_give_entries_or_fhir_input_error(edits):
    """The FHIR models coerce some values (``birthDate: 0`` passes them); whatever they let
    through, the reader refuses with its own error, never another exception."""
    b = example_bundle(LUMBAR)
    for (entry, name), value in edits:
        b["entry"][entry]["resource"][name] = value
    try:
        entries_from_fhir(b)
    except FhirInputError as e:
        assert e.problems


@pytest.mark.parametrize(
    ("entry", "name", "value", "path"),
    [
        (0, "birthDate", 0, "Patient.birthDate"),
        (0, "gender", 1, "Patient.gender"),
    ],
)
def test_values_the_models_coerce_are_still_refused(entry, name, value, path):
    b = example_bundle(LUMBAR)
    b["entry"][entry]["resource"][name] = value
    assert [p.path for p in _problems(b)] == [path]


def test_a_linkid_that_is_not_text_is_unknown():
    res = _qr("odi")
    res["item"][0]["linkId"] = ["pain_intensity"]
    problems = _problems(res)
    assert problems[0].path.startswith("QuestionnaireResponse.item[0]")


def test_a_patient_without_gender_or_birth_date_is_noted_and_the_input_not_changed():
    b = example_bundle(LUMBAR)
    del b["entry"][0]["resource"]["gender"]
    del b["entry"][0]["resource"]["birthDate"]
    before = copy.deepcopy(b)
    got = entries_from_fhir(b)
    assert b == before
    assert "sex" not in got.entries and "age_years" not in got.entries
    assert got.notes == (
        "Patient/example-patient (Bundle.entry[0]): no Patient.gender; sex not given",
        "Patient/example-patient (Bundle.entry[0]): no Patient.birthDate; age_years not given",
    )
