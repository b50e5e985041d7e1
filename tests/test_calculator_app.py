"""The Streamlit calculator driven by widget key (streamlit.testing.v1.AppTest).

The app must show what the library computes — so expected numbers come from the bundle's
own models (predict_proba) and the documented rule, never from the app — and must answer
an entry outside the data contract with a message, not a prediction.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("streamlit", reason="the calculator needs the app extra (streamlit)")
from streamlit.testing.v1 import AppTest

from prom.bundle import load_bundle
from prom.calculator import DEMO_BUNDLE_PATH
from prom.calculator.summary import percent
from prom.models.preprocess import UnknownCategoryWarning

APP = str(Path(__file__).resolve().parents[1] / "apps" / "calculator.py")
TIMEOUT = 120  # first run loads the bundle and shap on a shared 2-core machine

# a lumbar patient as a surgeon would type it (keys: in_<contract column>)
LUMBAR = {
    "in_age_years": 58.0,
    "in_bmi_kg_m2": 29.0,
    "in_symptom_duration_months": 10.0,
    "in_asa_grade": 2,
    "in_odi_0m": 32.0,
    "in_nrs_back_0m": 3.0,
    "in_nrs_leg_0m": 6.0,
    "in_comi_0m": 6.5,
    "in_img_index_canal_ap_mm": 9.5,
    "in_img_index_pfirrmann": 4,
}
CHOICES = {
    "in_sex": "male",
    "in_diagnosis": "spinal_stenosis",
    "in_smoking": "former",
    "in_employment": "retired",
    "in_index_level": "l4_l5",
}
YESNO = {
    "in_prior_spine_surgery": "no",
    "in_opioid_use": "yes",
    "in_diabetes": "no",
    "in_depression_anxiety": "no",
}


def entries() -> dict:
    """The same patient as calculator entries (contract columns)."""
    out = {k[3:]: v for k, v in {**LUMBAR, **CHOICES}.items()}
    out.update({k[3:]: v == "yes" for k, v in YESNO.items()})
    return out | {"region": "lumbar"}


@pytest.fixture(scope="module")
def bundle():
    return load_bundle(DEMO_BUNDLE_PATH)


def fresh() -> AppTest:
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def fill(at: AppTest, numbers=LUMBAR) -> AppTest:
    for k, v in numbers.items():
        at.number_input(key=k).set_value(v)
    for k, v in {**CHOICES, **YESNO}.items():
        at.selectbox(key=k).select(v)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def mcid_table(at: AppTest) -> pd.DataFrame:
    tables = [t.value for t in at.table if "best model" in t.value.columns]
    assert len(tables) == 1
    return tables[0]


def frame(task, values: dict, treatment=None) -> pd.DataFrame:
    row = {c: values.get(c, np.nan) for c in task.predictors}
    row = {k: (float(v) if isinstance(v, bool) else v) for k, v in row.items()}
    if treatment is not None:
        row["treatment"] = treatment
    return pd.DataFrame([row])


# ------------------------------------------------------------------------------------------


def test_starts_on_the_embedded_bundle_labelled_as_demonstration():
    at = fresh()
    assert any("DEMONSTRATION" in w.value and "SIMULATED" in w.value for w in at.warning)
    assert any(
        c.value.startswith("Bundle ") and "simulated" in c.value.lower() for c in at.sidebar.caption
    )
    # nothing entered yet: what is needed, no number shown
    assert [i.value for i in at.info] == ["Enter Age (years), Sex to see predictions."]
    assert not at.table and not at.metric and not at.error


def test_a_patient_entered_by_key_gets_the_bundles_probabilities(bundle):
    at = fill(fresh())
    table = mcid_table(at)
    values = entries()
    shown = 0
    for (prom, treatment), row in table.iterrows():
        task = {
            "ODI": "mcid_odi_12m",
            "NRS back pain": "mcid_nrs_back_12m",
            "NRS leg pain": "mcid_nrs_leg_12m",
            "COMI": "mcid_comi_12m",
        }[prom]
        tr = {"conservative": "conservative", "TFESI": "tfesi", "surgery": "surgery"}[treatment]
        bt = bundle.tasks[task]
        best = bt.predict_proba(frame(bt, values, tr))[0, 1]
        logistic = bt.predict_proba(frame(bt, values, tr), model="logistic")[0, 1]
        assert row["best model"].startswith(percent(best) + " (")
        assert row["logistic regression"].startswith(percent(logistic) + " (")
        assert row["model"].startswith(bt.primary)
        shown += 1
    assert shown == 12  # 4 PROMs × 3 treatments
    # TFESI response and triage beside the rule
    bt = bundle.tasks["tfesi_response"]
    p = bt.predict_proba(frame(bt, values))[0, 1]
    assert any(m.value.startswith(percent(p)) for m in at.metric)
    tri = bundle.tasks["triage"]
    probs = tri.predict_proba(frame(tri, values))[0]
    classes = [str(c) for c in tri.models[tri.primary].classes_]
    label = {"conservative": "conservative", "tfesi": "TFESI", "surgery": "surgery"}
    suggestions = [m.value for m in at.markdown if m.value.startswith("Suggestion:")]
    # model: argmax of its probabilities; rule: ODI 32 moderate, leg 6 ≥ back 3 → TFESI
    assert suggestions == [
        f"Suggestion: **{label[classes[int(np.argmax(probs))]]}**",
        "Suggestion: **TFESI**",
    ]
    assert len(at.get("imgs")) + len(at.get("image")) >= 1  # the waterfall
    assert any(m.value.startswith("Main reasons (ODI, conservative): ") for m in at.markdown)
    assert at.get("download_button")[0].label.startswith("Download a one-page summary")


@pytest.mark.parametrize(
    "key, value, message",
    [
        (
            "in_age_years",
            130.0,
            "Age (years): 130 is not allowed; expected a number in 0–110 (years)",
        ),
        ("in_odi_0m", 120.0, "ODI total (points): 120 is not allowed; expected a number in 0–100"),
        ("in_nrs_leg_0m", -1.0, "Leg pain, NRS: -1 is not allowed; expected a number in 0–10"),
        (
            "in_img_index_canal_ap_mm",
            40.0,
            (
                "Spinal canal AP diameter at the disc level (mm): 40 is "
                "not allowed; expected a number in 0–35 (mm)"
            ),
        ),
        ("in_asa_grade", 6, "ASA physical status: 6 is not allowed; expected an integer in 1–5"),
    ],
)
def test_out_of_range_entry_gives_a_message_instead_of_a_prediction(key, value, message):
    at = fill(fresh())
    assert mcid_table(at)["best model"].str.match(r"\d+% \(").all()
    at.number_input(key=key).set_value(value).run()
    assert not at.exception
    errors = [e.value for e in at.error]
    assert errors[0] == "No prediction: some entries are outside what the data contract allows."
    assert any(e.startswith(message) for e in errors), errors
    assert not [t for t in at.table if "best model" in t.value.columns]
    assert not at.metric and not at.get("download_button")


def test_odi_item_by_item_is_scored_and_checked():
    at = fill(fresh(), {k: v for k, v in LUMBAR.items() if k != "in_odi_0m"})
    at.radio(key="mode_odi").set_value("item by item").run()
    answers = dict(
        zip(
            (
                "pain_intensity",
                "personal_care",
                "lifting",
                "walking",
                "sitting",
                "standing",
                "sleeping",
                "sex_life",
                "social_life",
                "travelling",
            ),
            (3, 1, 4, 2, 2, 3, 1, 0, 2, 2),
            strict=True,
        )
    )  # 20 of 50 → ODI 40
    for item, v in answers.items():
        at.number_input(key=f"in_odi_{item}_0m").set_value(v)
    at.run()
    assert not at.exception
    assert any(c.value == "ODI scored from 10 of 10 items: 40" for c in at.caption)
    assert mcid_table(at).loc["ODI"]["best model"].str.match(r"\d+% \(").all()
    at.number_input(key="in_odi_lifting_0m").set_value(6).run()
    assert any(
        e.value.startswith("ODI item 'lifting': 6 is not allowed; expected an integer in 0–5")
        for e in at.error
    )


def test_missing_baseline_prom_withholds_only_that_outcome():
    at = fill(fresh(), {k: v for k, v in LUMBAR.items() if k != "in_comi_0m"})
    table = mcid_table(at)
    assert (table.loc["COMI"]["best model"] == "no prediction: baseline COMI not entered").all()
    others = table[table.index.get_level_values(0) != "COMI"]
    assert len(others) == 9 and others["best model"].str.match(r"\d+% \(").all()


def test_entry_beyond_the_training_rows_is_warned_about():
    at = fill(fresh(), {**LUMBAR, "in_age_years": 104.0})
    warnings = [w.value for w in at.warning if w.value.startswith("Outside the training data")]
    assert any(
        "Age (years) 104 is above every training patient's (highest" in w for w in warnings
    ), warnings
    assert mcid_table(at)["best model"].str.match(r"\d+% \(").all()  # still predicted


def test_entry_in_a_training_tail_is_warned_about_apart():
    """200 months lies within the training range but above its 99th percentile: an "In the
    training tail" warning, not an "Outside the training data" one."""
    at = fill(fresh(), {**LUMBAR, "in_symptom_duration_months": 200.0})
    tails = [w.value for w in at.warning if w.value.startswith("In the training tail: ")]
    assert any(
        "Duration of current symptoms (months) 200 is in the training tail: above the 99th" in w
        for w in tails
    ), [w.value for w in at.warning]
    outside = [w.value for w in at.warning if w.value.startswith("Outside the training data")]
    assert not any("Duration" in w for w in outside), outside


def test_cervical_patient(bundle):
    at = fresh()
    at.radio(key="in_region").set_value("cervical").run()
    at.number_input(key="in_age_years").set_value(63.0)
    at.selectbox(key="in_sex").select("female")
    at.number_input(key="in_mjoa_0m").set_value(11.0)
    at.run()
    assert not at.exception
    table = mcid_table(at)
    assert list(table.index) == [("mJOA", "conservative"), ("mJOA", "surgery")]
    bt = bundle.tasks["mcid_mjoa_12m"]
    values = {
        "region": "cervical",
        "diagnosis": "cervical_myelopathy",
        "age_years": 63.0,
        "sex": "female",
        "mjoa_0m": 11.0,
    }
    with pytest.warns(UnknownCategoryWarning, match="'employment': 1 row"):
        p = bt.predict_proba(frame(bt, values, "surgery"))[0, 1]
    assert table.loc[("mJOA", "surgery"), "best model"].startswith(percent(p) + " (")
    # employment was never missing in training: the model codes it as no level, and says so
    assert any(
        w.value.startswith("Not recorded, although every training patient had a value; ")
        and "Employment: no category" in w.value
        for w in at.warning
    )
    assert "Suggestion: **surgical consultation**" in [m.value for m in at.markdown]
    assert any(i.value == "No triage model for this patient in this bundle." for i in at.info)


def test_example_buttons_fill_a_simulated_patient():
    at = fresh()
    at.button(key="example_lumbar").click().run()
    assert not at.exception
    assert mcid_table(at)["best model"].str.match(r"\d+% \(").all()
    at.button(key="example_cervical").click().run()
    assert not at.exception
    assert list(mcid_table(at).index.get_level_values(0).unique()) == ["mJOA"]


def test_a_folder_that_is_not_a_bundle_is_refused(tmp_path):
    at = fresh()
    at.radio(key="bundle_source").set_value("a bundle folder").run()
    at.text_input(key="bundle_path").input(str(tmp_path)).run()
    assert not at.exception
    assert any(
        e.value.startswith("Bundle not loaded:") and "no manifest.json" in e.value
        for e in at.sidebar.error
    )
