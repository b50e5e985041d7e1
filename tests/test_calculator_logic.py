"""The calculator's logic (prom.calculator), without the UI: rules, ranges, checking,
predictions through the embedded demonstration bundle, the summary, scan features.

Reference values are counted by hand from the documented rules and formulas (module
docstrings of prom.calculator.rules and prom.calculator.intervals); predictions are
checked against the bundle's own predict_proba, which the calculator must reproduce.
"""

from __future__ import annotations

import dataclasses
import fnmatch
import math
import re
import tomllib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from prom.bundle import load_bundle, verify_bundle
from prom.calculator import (
    DEMO_BUNDLE_PATH,
    Calculator,
    CalibrationEvidence,
    PatientInputError,
    calibration_range,
    cervical_triage_rule,
    check_patient,
    lumbar_triage_rule,
)
from prom.calculator.intervals import evidence_for
from prom.calculator.rules import odi_class, pain_class
from prom.calculator.summary import answer_text, summary_html
from prom.workflows.demo.bundle import DEMO_TASKS

ROOT = Path(__file__).resolve().parents[1]

LUMBAR = {
    "region": "lumbar",
    "diagnosis": "disc_herniation",
    "age_years": 46.0,
    "sex": "female",
    "bmi_kg_m2": 26.5,
    "smoking": "never",
    "employment": "employed",
    "symptom_duration_months": 5.0,
    "prior_spine_surgery": False,
    "opioid_use": False,
    "diabetes": False,
    "depression_anxiety": False,
    "asa_grade": 2,
    "index_level": "l5_s1",
    "odi_0m": 46.0,
    "nrs_back_0m": 4.0,
    "nrs_leg_0m": 8.0,
    "comi_0m": 7.5,
    "img_index_canal_ap_mm": 12.5,
    "img_index_pfirrmann": 4,
}
CERVICAL = {"region": "cervical", "age_years": 61.0, "sex": "male", "mjoa_0m": 13.0}


# --- the rules -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "odi, leg, back, expected",
    [
        (10, 9, 2, "tfesi"),  # minimal, leg-dominant severe
        (10, 6, 2, "conservative"),  # minimal, leg-dominant moderate
        (30, 5, 3, "tfesi"),  # moderate, leg-dominant moderate
        (30, 4, 3, "conservative"),  # moderate, leg pain mild
        (30, 8, 9, "conservative"),  # moderate, back-dominant
        (50, 7, 7, "surgical consultation"),  # severe, leg = back counts as leg-dominant
        (50, 6, 2, "tfesi"),  # severe, leg-dominant moderate
        (50, 3, 8, "conservative"),  # severe, back-dominant
        (61, 0, 9, "surgical consultation"),  # crippled: every column
        (95, 2, 2, "surgical consultation"),  # bed-bound
    ],
)
def test_lumbar_rule_matrix_cells(odi, leg, back, expected):
    """Each cell of the matrix in prom.calculator.rules' docstring, counted by hand."""
    assert lumbar_triage_rule(odi, leg, back).suggestion == expected


@pytest.mark.parametrize(
    "odi, band",
    [
        (0, "minimal"),
        (20, "minimal"),
        (20.5, "moderate"),
        (40, "moderate"),
        (41, "severe"),
        (60, "severe"),
        (61, "crippled"),
        (80, "crippled"),
        (81, "bed-bound"),
    ],
)
def test_odi_class_edges_follow_fairbank(odi, band):
    assert odi_class(odi) == band


@pytest.mark.parametrize(
    "nrs, cls",
    [
        (0, "none"),
        (1, "mild"),
        (4, "mild"),
        (4.5, "moderate"),
        (6, "moderate"),
        (6.1, "severe"),
        (10, "severe"),
    ],
)
def test_pain_class_edges_follow_serlin(nrs, cls):
    assert pain_class(nrs) == cls


@pytest.mark.parametrize(
    "mjoa, expected, band",
    [
        (11, "surgical consultation", "severe"),
        (14, "surgical consultation", "moderate"),
        (15, "surgical consultation", "mild"),
        (18, "conservative", "none"),
    ],
)
def test_cervical_rule_by_mjoa_severity(mjoa, expected, band):
    r = cervical_triage_rule(mjoa)
    assert (r.suggestion, r.severity_class) == (expected, band)
    assert "Fehlings" in r.source


def test_rules_refuse_values_outside_their_scales():
    with pytest.raises(ValueError, match=r"ODI = 101 is outside 0–100"):
        lumbar_triage_rule(101, 5, 5)
    with pytest.raises(ValueError, match=r"NRS = 11 is outside 0–10"):
        lumbar_triage_rule(40, 11, 5)
    with pytest.raises(TypeError, match="mJOA must be a number"):
        cervical_triage_rule(True)


# --- the calibration range -----------------------------------------------------------------


def test_range_collapses_to_the_prediction_when_calibration_is_exact():
    ev = CalibrationEvidence(event_rate=0.3, slope_low=1.0, slope_high=1.0)
    p = np.array([0.01, 0.3, 0.62, 0.99])
    lo, hi = calibration_range(p, ev)
    np.testing.assert_allclose(lo, p, rtol=1e-12)
    np.testing.assert_allclose(hi, p, rtol=1e-12)


def test_range_by_hand_slope_and_observed_expected():
    """event rate 0.5 (pivot 0), slope 0.8–1.2, O/E 0.9–1.1, p = expit(1):
    δ = ±logit(0.55) = ±ln(0.55/0.45); corners expit(0.8 ± δ), expit(1.2 ± δ)."""
    d = math.log(0.55 / 0.45)
    expit = lambda x: 1 / (1 + math.exp(-x))  # noqa: E731
    ev = CalibrationEvidence(0.5, 0.8, 1.2, oe_low=0.9, oe_high=1.1, site_validated=True)
    lo, hi = calibration_range([expit(1.0)], ev)
    assert lo[0] == pytest.approx(expit(0.8 - d), rel=1e-9)
    assert hi[0] == pytest.approx(expit(1.2 + d), rel=1e-9)
    # slope only: zero width at the event rate; on the log-odds scale 0.4 × |logit p − 0|
    ev = CalibrationEvidence(0.5, 0.8, 1.2)
    lo, hi = calibration_range([0.5, expit(1.0), expit(3.0)], ev)
    assert lo[0] == hi[0] == pytest.approx(0.5, abs=1e-12)
    logit = lambda q: math.log(q / (1 - q))  # noqa: E731
    assert [logit(h) - logit(lw) for lw, h in zip(lo[1:], hi[1:], strict=True)] == pytest.approx(
        [0.4, 1.2], rel=1e-9
    )


def test_range_always_contains_the_prediction():
    ev = CalibrationEvidence(0.2, 1.05, 1.4, oe_low=1.02, oe_high=1.2)
    p = np.linspace(0.001, 0.999, 200)
    lo, hi = calibration_range(p, ev)
    assert np.all(lo <= p) and np.all(p <= hi)


def test_range_evidence_is_validated():
    with pytest.raises(ValueError, match="event_rate"):
        CalibrationEvidence(1.0, 0.9, 1.1)
    with pytest.raises(ValueError, match="out of order"):
        CalibrationEvidence(0.4, 1.2, 0.9)
    with pytest.raises(ValueError, match="must lie in"):
        calibration_range([1.2], CalibrationEvidence(0.4, 0.9, 1.1))


def test_evidence_is_read_from_a_task_entry():
    from prom.bundle import SiteValidation, verify_bundle

    meta = dataclasses.replace(
        verify_bundle(DEMO_BUNDLE_PATH).tasks["mcid_odi_12m"],
        n=200,
        n_events=50,
        comparison=(
            {"model": "logistic", "slope_low": 0.8, "slope_high": 1.1},
            {"model": "lightgbm", "slope_low": float("nan"), "slope_high": 1.0},
        ),
        internal_external={
            "logistic": SiteValidation(
                per_site=(),
                pooled=(),
                meta=(
                    {"metric": "auc", "low": 0.6, "high": 0.7},
                    {"metric": "o_e", "low": 0.9, "high": 1.2},
                ),
            )
        },
    )
    ev = evidence_for(meta, "logistic")
    assert (ev.event_rate, ev.slope_low, ev.slope_high, ev.oe_low, ev.oe_high) == (
        0.25,
        0.8,
        1.1,
        0.9,
        1.2,
    )
    assert ev.site_validated
    assert evidence_for(meta, "lightgbm") is None  # a missing limit: no range
    assert evidence_for(dataclasses.replace(meta, n_events=None), "logistic") is None


# --- checking one patient ----------------------------------------------------------------


def test_every_out_of_range_entry_is_reported_at_once():
    bad = {
        **LUMBAR,
        "age_years": 130.0,
        "bmi_kg_m2": 5.0,
        "asa_grade": 7,
        "odi_0m": 120.0,
        "img_index_canal_ap_mm": 50.0,
    }
    with pytest.raises(PatientInputError) as err:
        check_patient(bad)
    msgs = [p.message for p in err.value.problems]
    assert msgs == [
        "Age (years): 130 is not allowed; expected a number in 0–110 (years)",
        "Body-mass index (kg/m2): 5 is not allowed; expected a number in 12–70 (kg/m2)",
        "ASA physical status: 7 is not allowed; expected an integer in 1–5 (grade)",
        "ODI total (points): 120 is not allowed; expected a number in 0–100 (points)",
        (
            "Spinal canal AP diameter at the disc level (mm): 50 is not allowed; expected a "
            "number in 0–35 (mm)"
        ),
    ]


def test_required_and_inconsistent_entries():
    with pytest.raises(PatientInputError, match=r"Age \(years\) is required"):
        check_patient({k: v for k, v in LUMBAR.items() if k != "age_years"})
    with pytest.raises(
        PatientInputError, match="cervical myelopathy needs Spinal region = cervical"
    ):
        check_patient({**LUMBAR, "diagnosis": "cervical_myelopathy"})
    with pytest.raises(PatientInputError, match="not allowed; expected one of female, male"):
        check_patient({**LUMBAR, "sex": "Female"})
    with pytest.raises(PatientInputError, match=r"unknown field 'shoe_size'; the calculator"):
        check_patient({**LUMBAR, "shoe_size": 42})


def test_items_are_scored_by_the_instrument():
    items = {
        f"odi_{n}_0m": 2
        for n in (
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
        )
    }
    base = {k: v for k, v in LUMBAR.items() if k != "odi_0m"}
    assert check_patient({**base, **items}).values["odi_0m"] == 40.0  # 20 / 50
    one_missing = {**items, "odi_sex_life_0m": None, "odi_lifting_0m": 5}  # 21 / 45
    assert check_patient({**base, **one_missing}).values["odi_0m"] == pytest.approx(100 * 21 / 45)
    two_missing = {**one_missing, "odi_walking_0m": None}
    p = check_patient({**base, **two_missing})
    assert p.values.get("odi_0m") is None
    assert p.withheld["odi_0m"].startswith(  # the items by the form's labels, not their keys
        "ODI not scored: 2 of 10 items not answered (Section 4 – walking; Section 8 – sex life"
    )
    with pytest.raises(PatientInputError, match="give either the total or the items"):
        check_patient({**LUMBAR, **items})
    with pytest.raises(PatientInputError, match=r"ODI item 'lifting': 6 is not allowed"):
        check_patient({**base, **items, "odi_lifting_0m": 6})


def test_comi_and_mjoa_items_are_scored_by_their_instruments():
    """COMI: pain max(4, 7) = 7, function 2×2.5 = 5, well-being 7.5, QoL 5, disability
    mean(2.5, 5) = 3.75 → (7 + 5 + 7.5 + 5 + 3.75) / 5 = 5.65. mJOA: 4 + 5 + 2 + 2 = 13."""
    comi = {
        "comi_function_0m": 2,
        "comi_wellbeing_0m": 3,
        "comi_qol_0m": 2,
        "comi_social_disability_0m": 1,
        "comi_work_disability_0m": 2,
    }
    base = {k: v for k, v in LUMBAR.items() if k != "comi_0m"}
    p = check_patient({**base, **comi, "nrs_back_0m": 4.0, "nrs_leg_0m": 7.0})
    assert p.values["comi_0m"] == pytest.approx(5.65, abs=1e-12)
    no_pain = check_patient(
        {**{k: v for k, v in base.items() if k not in ("nrs_back_0m", "nrs_leg_0m")}, **comi}
    )
    assert no_pain.withheld["comi_0m"].startswith(
        "COMI not scored: 2 of 7 items not answered (Back pain, NRS; Leg pain, NRS)"
    )
    mjoa = {
        "mjoa_motor_upper_0m": 4,
        "mjoa_motor_lower_0m": 5,
        "mjoa_sensory_upper_0m": 2,
        "mjoa_sphincter_0m": 2,
    }
    cerv = {k: v for k, v in CERVICAL.items() if k != "mjoa_0m"}
    assert check_patient({**cerv, **mjoa}).values["mjoa_0m"] == 13.0


# --- predictions through the embedded bundle --------------------------------------------------


@pytest.fixture(scope="module")
def calc():
    return Calculator(load_bundle(DEMO_BUNDLE_PATH))


def _frame(task, entries, treatment=None):
    """The patient as a one-row table with every predictor of ``task`` (NaN if absent)."""
    row = {c: entries.get(c, np.nan) for c in task.predictors}
    row = {k: (float(v) if isinstance(v, bool) else v) for k, v in row.items()}
    if treatment is not None:
        row["treatment"] = treatment
    return pd.DataFrame([row])


def test_probabilities_are_the_bundles_own(calc):
    """Primary (from the explanation's end point) and logistic (predict_proba) both equal
    the bundle's predict_proba for the same patient and treatment."""
    res = calc.predict(LUMBAR)
    assert {r.outcome for r in res.mcid} == {"ODI", "NRS back pain", "NRS leg pain", "COMI"}
    assert {r.treatment for r in res.mcid} == {"conservative", "tfesi", "surgery"}
    bt = calc.bundle.tasks
    for r in res.mcid:
        X = _frame(bt[r.task], LUMBAR, r.treatment)
        assert r.best.probability == pytest.approx(bt[r.task].predict_proba(X)[0, 1], rel=1e-9)
        assert r.logistic.probability == pytest.approx(
            bt[r.task].predict_proba(X, model="logistic")[0, 1], rel=1e-12
        )
        assert r.best.low <= r.best.probability <= r.best.high
    t = res.tfesi
    assert t.best.probability == pytest.approx(
        bt["tfesi_response"].predict_proba(_frame(bt["tfesi_response"], LUMBAR))[0, 1], rel=1e-9
    )
    p = bt["triage"].predict_proba(_frame(bt["triage"], LUMBAR))[0]
    classes = [str(c) for c in bt["triage"].models[bt["triage"].primary].classes_]
    assert res.triage.suggestion == classes[int(np.argmax(p))]
    assert res.rule == lumbar_triage_rule(46.0, 8.0, 4.0)
    assert res.rule.suggestion == "surgical consultation"
    assert res.has_prediction and res.is_demo


def test_explanation_ends_at_the_shown_probability(calc):
    res = calc.predict(LUMBAR)
    for r in res.mcid:
        ex = r.explanation
        total = float(ex.base_value) + float(ex.values.iloc[r.explanation_row].sum())
        assert total == pytest.approx(r.best.probability, abs=1e-9)


def test_a_model_that_cannot_be_explained_still_predicts():
    """A bundle saved before the preprocessor kept its design means: the linear model's
    exact explanation is refused (ValueError), the calculator says so and still gives
    the bundle's own probability."""
    bundle = load_bundle(DEMO_BUNDLE_PATH)
    bt = bundle.tasks["tfesi_response"]
    bt.entry = dataclasses.replace(bt.entry, primary="logistic")
    bt.models["logistic"].preprocessor_.design_mean_ = None
    res = Calculator(bundle).predict(LUMBAR)
    assert res.tfesi.explanation is None
    assert any(n.startswith("tfesi_response: no explanation (") for n in res.notes)
    assert res.tfesi.best.probability == pytest.approx(
        bt.predict_proba(_frame(bt, LUMBAR))[0, 1], rel=1e-12
    )


def test_predictions_are_withheld_with_the_reason(calc):
    res = calc.predict({k: v for k, v in LUMBAR.items() if k != "odi_0m"})
    odi = [r for r in res.mcid if r.outcome == "ODI"]
    assert [r.withheld for r in odi] == ["baseline ODI not entered"] * 3
    assert all(r.withheld is None for r in res.mcid if r.outcome != "ODI")
    assert res.rule is None
    res = calc.predict({**LUMBAR, "nrs_back_0m": 0.0})
    back = [r for r in res.mcid if r.outcome == "NRS back pain"]
    assert back[0].withheld.startswith("baseline NRS back pain 0 leaves no room to reach")


def test_cervical_patient_gets_mjoa_only(calc):
    res = calc.predict(CERVICAL)
    assert [(r.outcome, r.treatment) for r in res.mcid] == [
        ("mJOA", "conservative"),
        ("mJOA", "surgery"),
    ]
    assert res.tfesi is None and res.triage is None
    assert res.rule.suggestion == "surgical consultation" and res.rule.severity_class == "moderate"


def test_entries_outside_the_training_rows_are_flagged(calc):
    res = calc.predict({**LUMBAR, "age_years": 105.0})
    msgs = [w.message for w in res.warnings]
    assert any(
        m.startswith("Age (years) 105 is above every training patient's (highest") for m in msgs
    ), msgs
    assert not [w for w in calc.predict(LUMBAR).warnings if w.kind == "range"]


def test_entries_in_a_training_tail_are_flagged_as_such(calc):
    """Inside every primary model's range but above the 99th percentile of one: a "tail"
    warning worded apart from "outside the training range"; the median gives none."""
    used = [calc.bundle.tasks[t] for t in ("mcid_odi_12m", "triage")]
    ranges = [bt.models[bt.primary].preprocessor_.training_summaries()["age_years"] for bt in used]
    top = min(r.max for r in ranges)
    p99 = max(r.p99 for r in ranges if r.p99 < top)
    res = calc.predict({**LUMBAR, "age_years": (p99 + top) / 2})
    tails = [w for w in res.warnings if w.column == "age_years"]
    assert tails and all(w.kind == "tail" for w in tails), res.warnings
    assert "is in the training tail: above the 99th percentile" in tails[0].message
    res = calc.predict({**LUMBAR, "age_years": ranges[0].median})
    assert not [w for w in res.warnings if w.column == "age_years"]


def test_a_signal_ratio_on_the_former_simulated_scale_is_flagged(calc):
    """The simulator used to draw disc/CSF ratios around 0.47; the pipeline measures
    0.08–0.17 (level medians on SPIDER), the scale the demo bundle now learned. A real
    scan's ratio passes unflagged; the former scale's median is rare, and 1.5 is unseen."""
    col = "img_index_disc_csf_signal_ratio"

    def kinds(v):
        return {w.kind for w in calc.predict({**LUMBAR, col: v}).warnings if w.column == col}

    assert kinds(0.12) == set()
    assert kinds(0.47) and kinds(0.47) <= {"tail", "range"}
    assert kinds(1.5) == {"range"}


def test_summary_page(calc):
    res = calc.predict(LUMBAR)
    page = summary_html(res, treatment="surgery")
    assert page.startswith("<!DOCTYPE html>") and page.rstrip().endswith("</html>")
    assert "DEMONSTRATION models trained on a SIMULATED cohort" in page
    for r in res.mcid:
        assert answer_text(r.best) in page
    assert "Main reasons" in page and "Ostelo" in page
    assert "<script" not in page


def test_summary_escapes_entries(calc):
    res = calc.predict(LUMBAR)
    res = type(res)(**{**res.__dict__, "bundle_description": "<b>x</b> & y"})
    page = summary_html(res)
    assert "&lt;b&gt;x&lt;/b&gt; &amp; y" in page and "<b>x</b>" not in page


# --- the embedded bundle ------------------------------------------------------------------


def test_embedded_bundle_is_small_verified_and_labelled():
    manifest = verify_bundle(DEMO_BUNDLE_PATH)
    size = sum(p.stat().st_size for p in DEMO_BUNDLE_PATH.rglob("*") if p.is_file())
    assert size < 5_000_000
    assert "DEMONSTRATION" in manifest.description and "SIMULATED" in manifest.description
    assert tuple(manifest.tasks) == DEMO_TASKS
    for t in manifest.tasks.values():
        assert set(t.models) == {"logistic", "lightgbm"}


def test_embedded_bundle_is_package_data():
    """Every file of the bundle matches a package-data pattern of pyproject.toml."""
    conf = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    patterns = conf["tool"]["setuptools"]["package-data"]["prom"]
    for f in DEMO_BUNDLE_PATH.rglob("*"):
        if f.is_file():
            rel = f.relative_to(ROOT / "prom").as_posix()
            assert any(fnmatch.fnmatch(rel, p) for p in patterns), rel


# --- features from a scan -------------------------------------------------------------------


def test_scan_features_at_the_index_level(tmp_path):
    pytest.importorskip("SimpleITK", reason="scan features need the imaging extra")
    from prom.calculator.imaging import scan_features
    from radiomics_features.io import write_volume
    from radiomics_features.phantoms import make_phantom

    ph = make_phantom(
        disc_heights_mm=(8.0, 9.0, 10.0, 11.0, 12.0), canal_ap_mm=(16.0, 15.0, 14.0, 12.0, 10.0)
    )
    write_volume(ph.image, tmp_path / "p_t2.nii.gz")
    write_volume(ph.mask, tmp_path / "p_mask.nii.gz")
    res = scan_features(
        tmp_path / "p_t2.nii.gz", "l5_s1", mask_path=tmp_path / "p_mask.nii.gz", radiomics=False
    )
    assert res.levels_found == ("l1_l2", "l2_l3", "l3_l4", "l4_l5", "l5_s1")
    assert res.index_values["img_index_disc_height_mm"] == pytest.approx(12.0, abs=1e-6)
    assert res.index_values["img_index_canal_ap_mm"] == pytest.approx(10.0, abs=0.5)
    assert res.index_values["img_index_glcm_contrast"] is None  # radiomics off
    assert any("L5/S1" in n for n in res.notes)
    with pytest.raises(ValueError, match="index_level='s1'"):
        scan_features(tmp_path / "p_t2.nii.gz", "s1", mask_path=tmp_path / "p_mask.nii.gz")


def test_uploaded_bytes_leave_nothing_behind(tmp_path, monkeypatch):
    from prom.calculator import imaging, scan_upload

    made = []
    real = scan_upload.tempfile.mkdtemp

    def spy(**kw):
        made.append(real(**kw))
        return made[-1]

    monkeypatch.setattr(scan_upload.tempfile, "mkdtemp", spy)
    with pytest.raises(Exception):  # noqa: B017 — not a scan: the reader fails, any error
        imaging.scan_features_from_bytes(b"not a scan", "x.nii.gz", "l4_l5")
    assert made and not Path(made[0]).exists()
    with pytest.raises(ValueError, match="not a scan file this calculator reads"):
        imaging.scan_features_from_bytes(b"abc", "scan.png", "l4_l5")
    with pytest.raises(ValueError, match=r"'scan\.dcm' is not a DICOM file"):
        imaging.scan_features_from_bytes(b"abc", "scan.dcm", "l4_l5")


_NUMBER = re.compile(r"[-+]?(?:\d+\.\d*|\.\d+|\d+)(?:[eE][-+]?\d+)?")


def _differences_beyond_rounding(a: str, b: str, *, rel: float = 1e-9) -> list[str]:
    """Lines of two model files that differ in more than the last digits of their numbers:
    any text that is not a number, the number of lines, or a number beyond ``rel``.
    LightGBM's ``tree_sizes=`` (the byte length of each tree's text, which follows the
    printed digits) is not compared."""
    la, lb = a.splitlines(), b.splitlines()
    if len(la) != len(lb):
        return [f"{len(la)} lines vs {len(lb)}"]
    out = []
    for i, (x, y) in enumerate(zip(la, lb, strict=True), start=1):
        if x == y or x.startswith("tree_sizes="):
            continue
        if _NUMBER.sub("#", x) != _NUMBER.sub("#", y):
            out.append(f"line {i}: {x[:60]!r} vs {y[:60]!r}")
            continue
        for p, q in zip(_NUMBER.findall(x), _NUMBER.findall(y), strict=True):
            if not math.isclose(float(p), float(q), rel_tol=rel, abs_tol=1e-12):
                out.append(f"line {i}: {p} vs {q}")
    return out


def test_model_file_comparison_tells_rounding_from_change():
    a = "threshold=4.6500000000000012 7.626385953116988\ntree_sizes=558 570\nleaf_count=12 3\n"
    rounding = a.replace("7.626385953116988", "7.6263859531169871").replace("570", "571")
    assert _differences_beyond_rounding(a, rounding) == []
    assert _differences_beyond_rounding(a, a.replace("4.65", "4.66"))
    assert _differences_beyond_rounding(a, a.replace("leaf_count=12 3", "leaf_count=12 4"))
    assert _differences_beyond_rounding(a, a.replace("threshold", "thresh"))
    assert _differences_beyond_rounding(a, a + "x\n")


@pytest.mark.slow
def test_embedded_bundle_is_what_the_code_builds(tmp_path):
    """Rebuilding gives the committed bundle: the same files, the same description, tasks
    and feature schema (its ranges up to rounding), and every listed file the same text with the same numbers up to
    floating-point rounding (relative 1e-9). Byte identity holds on one machine (two
    builds here are identical) but not across processors: vectorised floating point
    differs in the last bits from one CPU to another. ~1–3 min."""
    import json

    from prom.workflows.demo.bundle import build_demo_bundle

    built = build_demo_bundle(tmp_path / "bundle", n_jobs=2)
    old = json.loads((DEMO_BUNDLE_PATH / "manifest.json").read_text(encoding="utf-8"))
    new = json.loads((built / "manifest.json").read_text(encoding="utf-8"))
    assert sorted(new["files"]) == sorted(old["files"])
    assert new["description"] == old["description"]
    # the schema's training ranges are numbers computed from the data: the same rounding
    schema = [json.dumps(m["feature_schema"], indent=1, sort_keys=True) for m in (old, new)]
    assert _differences_beyond_rounding(*schema) == []

    def task_record(manifest):  # the development rows' digests are salted afresh per build
        tasks = {
            t: {k: v for k, v in r.items() if k != "development_rows"}
            for t, r in manifest["tasks"].items()
        }
        return json.dumps(tasks, indent=1, sort_keys=True)

    assert _differences_beyond_rounding(task_record(old), task_record(new)) == []
    problems = {
        name: diffs
        for name in old["files"]
        if new["files"][name] != old["files"][name]
        and (
            diffs := _differences_beyond_rounding(
                (DEMO_BUNDLE_PATH / name).read_text(encoding="utf-8"),
                (built / name).read_text(encoding="utf-8"),
            )
        )
    }
    assert problems == {}
