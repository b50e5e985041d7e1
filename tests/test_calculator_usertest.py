"""Defects a user test of the Streamlit calculator found, each driven by widget key
(streamlit.testing.v1.AppTest): an entry is never changed without a word, what the models
assumed for an empty entry is said once per field with its value, a range says what it
is, region switches keep entries, displayed scores share one rounding, and switching a
PROM back to its total carries the items' score.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from prom.instruments import INSTRUMENTS

pytest.importorskip("streamlit", reason="the calculator needs the app extra (streamlit)")
from streamlit.testing.v1 import AppTest

from prom.calculator import RANGE_LABEL

APP = str(Path(__file__).resolve().parents[1] / "apps" / "calculator.py")
TIMEOUT = 120

PATIENT = {
    "in_age_years": 58.0,
    "in_odi_0m": 32.0,
    "in_nrs_back_0m": 3.0,
    "in_nrs_leg_0m": 6.0,
    "in_comi_0m": 6.5,
}
ODI_ITEMS = INSTRUMENTS["odi"].item_names  # the form's order


def fresh() -> AppTest:
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def patient(at: AppTest, numbers=PATIENT) -> AppTest:
    for k, v in numbers.items():
        at.number_input(key=k).set_value(v)
    at.selectbox(key="in_sex").select("female")
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def mcid_shown(at: AppTest) -> bool:
    return any("best model" in t.value.columns for t in at.table)


@pytest.mark.parametrize(
    "key, value, message",
    [
        ("in_asa_grade", 2.5, "ASA physical status: 2.5 is not allowed; expected an integer"),
        (
            "in_img_index_pfirrmann",
            3.7,
            (
                "Pfirrmann disc degeneration grade (radiologist): 3.7 is not allowed; "
                "expected an integer in 1–5"
            ),
        ),
    ],
)
def test_a_decimal_in_a_whole_number_field_is_refused_not_truncated(key, value, message):
    at = patient(fresh())
    assert mcid_shown(at)
    at.number_input(key=key).set_value(value).run()
    assert not at.exception
    assert at.number_input(key=key).value == value  # not 2 or 3
    assert any(e.value.startswith(message) for e in at.error), [e.value for e in at.error]
    assert not mcid_shown(at)


def test_a_decimal_odi_item_is_refused_not_truncated():
    at = patient(fresh(), {k: v for k, v in PATIENT.items() if k != "in_odi_0m"})
    at.radio(key="mode_odi").set_value("item by item").run()
    for item in ODI_ITEMS:
        at.number_input(key=f"in_odi_{item}_0m").set_value(2)
    at.number_input(key="in_odi_lifting_0m").set_value(2.6)
    at.run()
    assert at.number_input(key="in_odi_lifting_0m").value == 2.6
    assert any(
        e.value.startswith("ODI item 'lifting': 2.6 is not allowed; expected an integer in 0–5")
        for e in at.error
    ), [e.value for e in at.error]


def test_missing_entries_are_said_once_each_with_the_value_the_models_use():
    """Leg pain not entered: its median differs between models, yet it is named once;
    a yes/no entry's median is shown as its option ("no"); the note names fields by label."""
    at = patient(fresh(), {k: v for k, v in PATIENT.items() if k != "in_nrs_leg_0m"})
    (warning,) = [w.value for w in at.warning if w.value.startswith("Not recorded")]
    assert warning.count("Leg pain, NRS") == 1, warning
    assert "Leg pain, NRS: " in warning and "Diabetes mellitus: no" in warning, warning
    assert "Employment: no category" in warning, warning
    (note,) = [c.value for c in at.caption if " imputed: " in c.value]
    assert "Body-mass index (kg/m2)" in note and "bmi_kg_m2" not in note, note


def test_the_range_in_brackets_is_labelled_on_the_page():
    at = patient(fresh())
    assert mcid_shown(at)
    captions = [c.value for c in at.caption]
    assert RANGE_LABEL in captions  # on the page, not only in the collapsed expander
    assert "Not a confidence interval" in RANGE_LABEL and "calibration range" in RANGE_LABEL


def test_switching_region_and_back_keeps_the_lumbar_entries():
    at = patient(fresh())
    at.selectbox(key="in_diagnosis").select("disc_herniation")
    at.selectbox(key="in_index_level").select("l4_l5")
    at.run()
    at.radio(key="in_region").set_value("cervical").run()
    at.number_input(key="in_mjoa_0m").set_value(12.0).run()
    assert not at.exception
    at.radio(key="in_region").set_value("lumbar").run()
    assert not at.exception
    assert at.selectbox(key="in_diagnosis").value == "disc_herniation"
    assert at.selectbox(key="in_index_level").value == "l4_l5"
    assert at.number_input(key="in_odi_0m").value == 32.0
    assert mcid_shown(at)
    at.radio(key="in_region").set_value("cervical").run()
    assert at.number_input(key="in_mjoa_0m").value == 12.0


def test_items_scored_to_a_fraction_are_shown_with_one_rounding_and_carried_to_the_total():
    """9 of 10 ODI items summing to 20: ODI = 100 × 20 / 45 = 44.444…; the rule's reason,
    the scoring note and the total carried back all show 44.4."""
    at = patient(fresh(), {k: v for k, v in PATIENT.items() if k != "in_odi_0m"})
    at.radio(key="mode_odi").set_value("item by item").run()
    assert at.radio(key="mode_odi").label == "ODI entered as"
    answers = (3, 1, 4, 2, 2, 3, 1, None, 2, 2)  # sex life not answered; 20 of 45
    for item, v in zip(ODI_ITEMS, answers, strict=True):
        at.number_input(key=f"in_odi_{item}_0m").set_value(v)
    at.run()
    texts = [c.value for c in at.caption] + [m.value for m in at.markdown]
    assert "ODI scored from 9 of 10 items: 44.4" in texts
    rule = next(c for c in texts if c.startswith("ODI 44.4 is severe disability"))
    assert "44.44" not in rule
    at.radio(key="mode_odi").set_value("total score").run()
    assert not at.exception
    assert at.number_input(key="in_odi_0m").value == pytest.approx(100 * 20 / 45, rel=1e-12)
    assert "ODI total filled in from the items entered (scored from 9 of 10 items): 44.4." in [
        i.value for i in at.info
    ]
    assert mcid_shown(at)


def test_cervical_rule_heading_and_mjoa_spelling():
    at = fresh()
    at.radio(key="in_region").set_value("cervical").run()
    at.number_input(key="in_age_years").set_value(63.0)
    at.selectbox(key="in_sex").select("female")
    at.radio(key="mode_mjoa").set_value("item by item").run()
    for col, v in (("motor_upper", 4), ("motor_lower", 5), ("sensory_upper", 2)):
        at.number_input(key=f"in_mjoa_{col}_0m").set_value(v)
    at.number_input(key="in_mjoa_sphincter_0m").set_value(2).run()
    assert not at.exception
    markdown = [m.value for m in at.markdown]
    assert "**Rule** — mJOA severity and the AO Spine/CSRS guideline" in markdown
    assert not any("severity matrix" in m for m in markdown)
    assert "mJOA scored from 4 of 4 items: 13" in [c.value for c in at.caption]
    assert not any("MJOA" in t for t in markdown + [c.value for c in at.caption])


def test_the_example_buttons_are_not_side_by_side_in_the_sidebar():
    """Side by side the sidebar cut their labels to 'Example lum…'."""
    at = fresh()
    assert [b.label for b in at.sidebar.button] == [
        "Example lumbar patient",
        "Example cervical patient",
    ]
    assert not at.sidebar.columns
