"""The calculator's input layer (prom.calculator.entries): every kind of value a web form,
an API client or a script can send, in every field, gives a result or the calculator's
own PatientInputError — nothing else.

Three parts: named cases with their exact reading or message; an exhaustive loop over
every field × every kind of value; and a property-based test (hypothesis, derandomized)
that replaces one or several fields of a valid example patient and adds stray keys.
"""

from __future__ import annotations

import datetime as dt
import functools
import math
from decimal import Decimal
from fractions import Fraction
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from prom.bundle import load_bundle
from prom.calculator import (
    DEMO_BUNDLE_PATH,
    Calculator,
    PatientInputError,
    check_patient,
    field_names,
    item_fields,
    patient_fields,
)
from prom.calculator.entries import parse_entry, shown_value
from prom.calculator.fields import ITEM_INSTRUMENTS, REGIONS, field_label
from prom.calculator.inputs import example_entries
from prom.cohort.contract import COHORT_CONTRACT

#: Every kind of value, by name. Whole numbers are 1 and fractions 0.5 in every
#: representation, so that accepted entries of one field lead to few distinct patients.
KINDS: dict[str, Any] = {
    "blank": "",
    "whitespace": " \t\n ",
    "none": None,
    "nan": float("nan"),
    "numpy_nan": np.float32("nan"),
    "pandas_na": pd.NA,
    "nat": pd.NaT,
    "numpy_nat": np.datetime64("NaT"),
    "inf": float("inf"),
    "minus_inf": float("-inf"),
    "numpy_inf": np.float64("inf"),
    "huge_float": 1e308,
    "huge_int": 10**400,
    "huger_int": 10**5000,
    "negative": -3,
    "negative_fraction": -0.5,
    "zero": 0,
    "one": 1,
    "half": 0.5,
    "text": "abc",
    "number_then_text": "12a",
    "padded_number": "  1 ",
    "decimal_comma": "0,5",
    "text_nan": "nan",
    "text_inf": "inf",
    "underscored": "1_000",
    "long_text": "x" * 10_000,
    "yes": "yes",
    "no_shouting": " NO ",
    "category": "female",
    "category_cased": "Female",
    "level": "l4_l5",
    "true": True,
    "false": False,
    "numpy_bool": np.bool_(True),
    "list": [1, 2],
    "empty_list": [],
    "dict": {"value": 1},
    "set": {1},
    "tuple": (1,),
    "bytes": b"1",
    "complex": 1 + 2j,
    "complex_real": 1 + 0j,
    "decimal": Decimal("1"),
    "decimal_fraction": Decimal("0.5"),
    "decimal_nan": Decimal("NaN"),
    "decimal_snan": Decimal("sNaN"),
    "decimal_inf": Decimal("Infinity"),
    "decimal_huge": Decimal("1e400"),
    "fraction": Fraction(1, 2),
    "numpy_int": np.int64(1),
    "numpy_float": np.float64(0.5),
    "numpy_float32": np.float32(0.5),
    "numpy_uint8": np.uint8(1),
    "date": dt.date(2024, 1, 2),
    "timestamp": pd.Timestamp("2024-01-02"),
    "object": object(),
}


@functools.cache
def calculator() -> Calculator:
    return Calculator(load_bundle(DEMO_BUNDLE_PATH))


@functools.cache
def base_entries(region: str, items: str | None = None) -> dict[str, Any]:
    """The example patient of ``region``; with ``items``, that PROM given item by item
    (every item 1, the total left out) so that replaced items reach the instrument."""
    out = dict(example_entries(region))
    if items is not None:
        out.pop(f"{items}_0m", None)
        out |= {f.name: 1 for f in item_fields(items)}
    return out


def _start(column: str) -> tuple[str, str | None]:
    """The region and item-entered instrument an entry of ``column`` is tried in."""
    for inst in ITEM_INSTRUMENTS:
        if column in {f.name for f in item_fields(inst)}:
            return ("cervical" if inst == "mjoa" else "lumbar"), inst
    return next(f.regions[0] for f in patient_fields() if f.name == column), None


def _probabilities(result) -> list[float]:
    out = []
    rows = list(result.mcid) + ([result.tfesi] if result.tfesi else [])
    for r in rows:
        for a in r.answers.values():
            out += [x for x in (a.probability, a.low, a.high) if x is not None]
    if result.triage is not None:
        out += [p for probs in result.triage.probabilities.values() for p in probs.values()]
    return out


def check_refusal(err: PatientInputError) -> None:
    """Every problem has a message, and a field's problem names the field's label."""
    assert err.problems
    for p in err.problems:
        assert p.message
        if p.kind != "unknown":
            assert p.message.startswith(field_label(p.column)), p.message
    assert str(err)


def check_result(result) -> None:
    probs = _probabilities(result)
    assert all(math.isfinite(p) and 0.0 <= p <= 1.0 for p in probs), probs


def check_patient_values(patient) -> None:
    """After check_patient every value is typed and inside the contract."""
    for column, v in patient.values.items():
        if v is None:
            continue
        spec = COHORT_CONTRACT[column]
        if spec.dtype == "bool":
            assert type(v) is bool, (column, v)
        elif spec.dtype == "category":
            assert type(v) is str and v in (spec.categories or ()), (column, v)
        else:
            assert type(v) is (int if spec.dtype == "int" else float), (column, v)
            assert spec.low <= v <= spec.high, (column, v)


# --- named cases ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "column, value, read",
    [
        ("age_years", "  42 ", 42.0),
        ("age_years", "4.25e1", 42.5),
        ("age_years", Decimal("42.5"), 42.5),
        ("age_years", np.float32(42.5), 42.5),
        ("age_years", np.int64(42), 42.0),
        ("age_years", Fraction(85, 2), 42.5),
        ("age_years", "", None),
        ("age_years", "   ", None),
        ("bmi_kg_m2", float("nan"), None),
        ("bmi_kg_m2", pd.NA, None),
        ("bmi_kg_m2", pd.NaT, None),
        ("bmi_kg_m2", Decimal("NaN"), None),
        ("asa_grade", "2", 2),
        ("asa_grade", 2.0, 2),
        ("asa_grade", Decimal("3"), 3),
        ("opioid_use", "yes", True),
        ("opioid_use", " No ", False),
        ("opioid_use", "Y", True),
        ("opioid_use", "1.0", True),
        ("opioid_use", 0, False),
        ("opioid_use", Decimal("1"), True),
        ("opioid_use", np.bool_(False), False),
        ("opioid_use", " ", None),
        ("sex", " female ", "female"),
        ("index_level", np.str_("l4_l5"), "l4_l5"),
        ("odi_lifting_0m", " 3 ", 3),
    ],
)
def test_accepted_entries_are_read_as_their_field_type(column, value, read):
    got, problem = parse_entry(column, value)
    assert problem is None
    assert got == read and type(got) is type(read)


@pytest.mark.parametrize(
    "column, value, message",
    [
        ("age_years", "12a", r"^Age \(years\): '12a' is not a number; expected a number in 0–110"),
        ("age_years", "2,5", r"'2,5' is not a number \(decimals take a point: 4\.5\)"),
        ("age_years", "nan", r"'nan' is not a number"),
        ("age_years", "1_000", r"'1_000' is not a number"),
        ("age_years", True, r"Age \(years\): True is a yes/no value, not a number"),
        ("age_years", [1, 2], r"Age \(years\): \[1, 2\] \(list\) is not a number"),
        ("age_years", {"a": 1}, r"\{'a': 1\} \(dict\) is not a number"),
        ("age_years", b"42", r"b'42' \(bytes\) is not a number"),
        ("age_years", 1 + 2j, r"\(1\+2j\) \(complex\) is a complex number, not a real one"),
        ("age_years", dt.date(2024, 1, 2), r"datetime\.date\(2024, 1, 2\) is not a number"),
        ("age_years", float("inf"), r"Age \(years\): inf is not a finite number; expected"),
        ("age_years", Decimal("-Infinity"), r"Decimal\('-Infinity'\) is not a finite number"),
        ("age_years", 1e308, r"Age \(years\): 1e\+308 is not allowed; expected a number in"),
        ("age_years", 10**400, r"<an integer of about 401 digits> is not allowed"),
        ("age_years", 10**5000, r"<an integer of about 5001 digits> is not allowed"),
        ("age_years", Decimal("1e400"), r"Decimal\('1E\+400'\) is not allowed"),
        ("age_years", -3, r"Age \(years\): -3 is not allowed; expected a number in 0–110"),
        ("age_years", 110.0000001, r"Age \(years\): 110\.0000001 is not allowed"),
        ("age_years", "x" * 500, r"'x{17}\.\.\.x{18}' is not a number"),
        (
            "asa_grade",
            2.5,
            r"^ASA physical status: 2\.5 is not allowed; expected an integer in 1–5",
        ),
        ("asa_grade", "2.5", r"ASA physical status: 2\.5 is not allowed"),
        ("odi_lifting_0m", 6, r"^ODI item 'lifting': 6 is not allowed; expected an integer in 0–5"),
        ("opioid_use", "maybe", r"^Regular opioid use: 'maybe' is not yes/no; expected 0 or 1"),
        ("opioid_use", 2, r"Regular opioid use: 2 is not yes/no"),
        ("opioid_use", 1 + 0j, r"\(1\+0j\) \(complex\) is not yes/no"),
        ("sex", "Female", r"^Sex: 'Female' is not allowed; expected one of female, male \(did "),
        ("sex", 1, r"^Sex: 1 is not one of the choices; expected one of female, male$"),
        ("sex", True, r"Sex: True is not one of the choices"),
    ],
    ids=lambda v: shown_value(v)[:24],
)
def test_refused_entries_name_the_field_the_value_and_what_is_accepted(column, value, message):
    with pytest.raises(PatientInputError, match=message) as err:
        check_patient({**base_entries("lumbar"), column: value})
    assert [p.column for p in err.value.problems] == [column]
    assert err.value.problems[0].value is value


def test_blank_required_entries_are_required_not_invalid():
    entries = {**base_entries("lumbar"), "age_years": " ", "sex": "", "region": None}
    with pytest.raises(PatientInputError) as err:
        check_patient(entries)
    assert [p.message for p in err.value.problems] == [
        "Spinal region is required",
        "Age (years) is required",
        "Sex is required",
    ]
    assert err.value.invalid == []


@pytest.mark.parametrize(
    "extra, message",
    [
        (
            {"treatment": "surgery", "foo": 1},
            (
                r"^unknown field 'treatment': the calculator predicts for every treatment the "
                r"bundle's models know \(one answer per treatment\), so the treatment is not "
                r"an entry; leave it out; unknown field 'foo'; the calculator takes 46 fields, "
                r"listed by prom\.calculator\.field_names\(\)$"
            ),
        ),
        ({"age": 40}, r"^unknown field 'age' \(did you mean 'age_years'\?\); the calculator"),
        ({"Age_Years": 40}, r"unknown field 'Age_Years' \(did you mean 'age_years'\?\)"),
        ({3: 1}, r"^unknown field 3: field names are text, such as 'age_years'; the"),
        ({None: 1}, r"^unknown field None: field names are text"),
        ({("a",): 1}, r"^unknown field \('a',\) \(tuple\): field names are text"),
    ],
)
def test_unknown_keys_are_refused_by_name(extra, message):
    with pytest.raises(PatientInputError, match=message) as err:
        check_patient({**base_entries("lumbar"), **extra})
    assert len(err.value.unknown) == len(extra)


def test_unknown_keys_and_bad_values_are_reported_together():
    entries = {**base_entries("lumbar"), "treatment": "tfesi", "age_years": "old"}
    with pytest.raises(PatientInputError) as err:
        check_patient(entries)
    assert [(p.kind, p.column) for p in err.value.problems] == [
        ("unknown", "treatment"),
        ("invalid", "age_years"),
    ]


def test_what_the_form_sends_is_read_by_the_same_layer():
    """apps/calculator.py passes its widgets' values on unchanged: a number input gives
    None or a number, a yes/no selectbox "yes", "no" or None, a choice a category or None."""
    entries = {f.name: None for f in patient_fields() if "lumbar" in f.regions}
    entries |= {"region": "lumbar", "age_years": 52, "sex": "female"}
    entries |= {"opioid_use": "yes", "diabetes": "no", "asa_grade": 2}
    values = check_patient(entries).values
    assert (values["opioid_use"], values["diabetes"], values["asa_grade"]) == (True, False, 2)
    assert values["bmi_kg_m2"] is None and values["prior_spine_surgery"] is None


def test_field_names_are_every_field_once():
    names = field_names()
    assert len(names) == len(set(names)) == 46
    assert set(names) == {f.name for f in patient_fields()} | {
        f.name for inst in ITEM_INSTRUMENTS for f in item_fields(inst)
    }


def test_entries_must_be_a_mapping():
    with pytest.raises(TypeError, match="entries must be a mapping of column → value, got list"):
        check_patient([("age_years", 40)])


def test_shown_values_are_short_and_never_fail():
    assert shown_value("x" * 10_000) == "'" + "x" * 17 + "..." + "x" * 18 + "'"
    assert shown_value(10**5000) == "<an integer of about 5001 digits>"
    assert shown_value([10**5000]) == "[<an integer of about 5001 digits>] (list)"
    assert shown_value(list(range(100))).startswith("[0, 1, 2, 3, 4, 5, ...]")
    assert shown_value(None) == "None"


def test_valid_entries_in_other_representations_predict_the_same():
    """The same patient typed as a form sends it (text, padded, yes/no words) or as numpy
    and Decimal values gets the same probabilities as with plain Python values."""
    calc = calculator()
    plain = base_entries("lumbar")
    as_text = {
        k: (("yes" if v else "no") if isinstance(v, bool) else f" {v} ") for k, v in plain.items()
    }
    as_numpy = {
        k: (
            v
            if isinstance(v, (bool, str))
            else (np.int64(v) if isinstance(v, int) else Decimal(repr(v)))
        )
        for k, v in plain.items()
    }
    expected = _probabilities(calc.predict(plain, explain=False))
    for other in (as_text, as_numpy):
        assert _probabilities(calc.predict(other, explain=False)) == expected


# --- every field × every kind of value -------------------------------------------------------


def test_every_field_with_every_kind_of_value():
    """Each combination gives a checked Patient with typed values inside the contract, or
    PatientInputError; each distinct accepted patient is predicted with finite
    probabilities in [0, 1] (``predict(entries)`` is ``predict(check_patient(entries))``,
    so a patient is predicted once however its entries were written)."""
    calc = calculator()
    predicted: set[tuple] = set()
    outcomes = {"accepted": 0, "refused": 0}
    for column in field_names():
        region, items = _start(column)
        base = base_entries(region, items)
        for kind, value in KINDS.items():
            entries = {**base, column: value}
            try:
                patient = check_patient(entries)
            except PatientInputError as e:
                check_refusal(e)
                outcomes["refused"] += 1
                continue
            outcomes["accepted"] += 1
            check_patient_values(patient)
            key = tuple(sorted((k, repr(v)) for k, v in patient.values.items()))
            if key not in predicted:
                predicted.add(key)
                check_result(calc.predict(patient))
            assert kind not in ("text", "list", "dict", "complex", "bytes", "object")
    assert outcomes["accepted"] > 0 and outcomes["refused"] > 0


# --- property-based ---------------------------------------------------------------------------


def _field_value(column: str) -> st.SearchStrategy:
    """Anything for ``column``: every kind above, valid values of the field, and
    arbitrary numbers, text, bytes, decimals and containers."""
    spec = COHORT_CONTRACT[column]
    valid: st.SearchStrategy
    if spec.dtype == "category":
        valid = st.sampled_from(spec.categories or ("x",))
    elif spec.dtype == "bool":
        valid = st.sampled_from([True, False, "yes", "no", "TRUE", "n", 0, 1])
    elif spec.dtype == "int":
        valid = st.integers(int(spec.low), int(spec.high))
    else:
        valid = st.floats(spec.low, spec.high)
    anything = st.one_of(
        st.sampled_from(list(KINDS.values())),
        st.floats(allow_nan=True, allow_infinity=True),
        st.integers(min_value=-(10**500), max_value=10**500),
        st.decimals(allow_nan=True, allow_infinity=True),
        st.complex_numbers(),
        st.text(max_size=20),
        st.binary(max_size=8),
        st.lists(st.integers(), max_size=3),
        st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
    )
    # a valid value (as given or as padded text) two times in three, so that many examples
    # get through the checks to the models (one_of would flatten and dilute the choice)
    return st.sampled_from((0, 1, 2)).flatmap(
        lambda k: (valid, valid.map(lambda v: f"  {v}  "), anything)[k]
    )


@st.composite
def patients(draw):
    """A valid example patient with one to four fields replaced — mostly fields of its own
    form, sometimes any field — and now and then a stray key."""
    region = draw(st.sampled_from(REGIONS))
    items = draw(st.sampled_from((None, "mjoa") if region == "cervical" else (None, "odi")))
    entries = dict(base_entries(region, items))
    own = st.sampled_from(sorted(entries))
    any_field = st.sampled_from(field_names())
    columns = draw(st.lists(st.one_of(own, own, any_field), min_size=1, max_size=4, unique=True))
    for column in columns:
        entries[column] = draw(_field_value(column))
    if draw(st.sampled_from((False, False, False, True))):
        key = draw(st.one_of(st.text(max_size=12), st.integers(), st.just("treatment")))
        entries.setdefault(key, draw(_field_value("age_years")))
    return entries


@settings(
    max_examples=60,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(patients())
def test_any_entries_give_a_result_or_the_calculators_own_error(entries):
    try:
        result = calculator().predict(entries)
    except PatientInputError as e:
        check_refusal(e)
        return
    check_patient_values(result.patient)
    check_result(result)
