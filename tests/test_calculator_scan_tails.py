"""A real scan through the calculator: imaging warnings only where the values are rare.

A SPIDER scan (``../shared/data/spider-t2-lumbar``; the test skips without it) goes the
way an upload does — bundled backbone, levelling, geometry, pyradiomics — and its
index-level features are entered with an otherwise ordinary lumbar patient into the
embedded demonstration bundle. The bundle's models were trained on a simulated cohort
whose imaging features are drawn on the pipeline's measured scale
(:mod:`prom.cohort.imaging_reference`), so a real scan's values should mostly lie in
the bulk of the training distribution; and whatever the values, an imaging warning must
appear exactly where a primary model's training summary puts the value outside its range
("range") or in a tail ("tail"), recomputed here from the stored summaries.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from prom.bundle import load_bundle
from prom.calculator import DEMO_BUNDLE_PATH, Calculator

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "spider-t2-lumbar"
SCAN = DATA / "spider_005_t2.nii.gz"

pytestmark = pytest.mark.skipif(
    not SCAN.is_file(), reason=f"SPIDER data not found at {DATA} (shared data folder)"
)

PATIENT = {
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
    "index_level": "l4_l5",
    "odi_0m": 46.0,
    "nrs_back_0m": 4.0,
    "nrs_leg_0m": 8.0,
    "comi_0m": 7.5,
    "img_index_pfirrmann": 3,
}


@pytest.fixture(scope="module")
def scan():
    pytest.importorskip("SimpleITK", reason="scan features need the imaging extra")
    pytest.importorskip("onnxruntime", reason="the backbone needs onnxruntime")
    pytest.importorskip("radiomics", reason="texture features need pyradiomics")
    from prom.calculator.imaging import scan_features

    return scan_features(SCAN, "l4_l5")


def _expected(calc: Calculator, values: dict) -> set[tuple[str, str]]:
    """(column, kind) of every imaging entry a lumbar patient's primary models flag."""
    out = set()
    for name, bt in calc.bundle.tasks.items():
        if name == "mcid_mjoa_12m":  # the cervical task: not used for a lumbar patient
            continue
        ranges = bt.models[bt.primary].preprocessor_.training_summaries()
        for col, v in values.items():
            if col not in ranges:
                continue
            if ranges[col].check(v) is not None:
                out.add((col, "range"))
            elif ranges[col].tail(v) is not None:
                out.add((col, "tail"))
    return out


def test_a_spider_scan_warns_only_where_its_values_are_in_the_tails(scan):
    values = {k: v for k, v in scan.index_values.items() if v is not None}
    assert len(values) == 7, scan.index_values  # every measured feature at L4/L5
    calc = Calculator(load_bundle(DEMO_BUNDLE_PATH))
    res = calc.predict({**PATIENT, **values})
    got = {(w.column, w.kind) for w in res.warnings if w.column.startswith("img_index_")}
    assert got == _expected(calc, values)
    for w in res.warnings:
        if w.kind == "tail":
            assert "is in the training tail" in w.message
    # on the measured scale the scan sits in the bulk: no value beyond the training range,
    # and at most one of its seven features in a tail
    assert not [c for c, kind in got if kind == "range"], got
    assert len(got) <= 1, got
    # the signal ratio is a real scan's (SPIDER measures 0.04–0.65 over all discs)
    assert 0.03 <= values["img_index_disc_csf_signal_ratio"] <= 0.7
