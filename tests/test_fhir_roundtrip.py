"""Round trip: the calculator's example patients typed directly, and the same patients
sent as a FHIR Bundle and read back, give the same Patient and the same predictions."""

from __future__ import annotations

import json

import pytest

from prom.calculator import DEMO_BUNDLE_PATH, Calculator, check_patient
from prom.calculator.inputs import example_entries
from prom.fhir import entries_from_fhir, example_bundle, fhir_columns

pytest.importorskip("fhir.resources")

REGIONS = ("lumbar", "cervical")


def _via_fhir(typed):
    """``typed`` with the columns FHIR carries replaced by what the Bundle gives back."""
    bundle = json.dumps(example_bundle(typed))
    read = entries_from_fhir(bundle).entries
    rest = {k: v for k, v in typed.items() if k not in fhir_columns()}
    return {**rest, **read}, read


@pytest.fixture(scope="module")
def calculator():
    from prom.bundle import load_bundle

    return Calculator(load_bundle(DEMO_BUNDLE_PATH))


def test_example_entries_with_items_score_to_the_example_totals():
    for region in REGIONS:
        totals = check_patient(example_entries(region)).values
        items = check_patient(example_entries(region, items=True))
        for key in ("odi", "comi", "mjoa"):
            assert items.values.get(f"{key}_0m") == totals.get(f"{key}_0m")
        assert set(items.scored_from_items) == ({"odi", "comi"} if region == "lumbar" else {"mjoa"})


@pytest.mark.parametrize("region", REGIONS)
def test_fhir_round_trip_gives_the_same_patient(region):
    typed = example_entries(region, items=True)
    entries, read = _via_fhir(typed)
    # every PROM item, age and sex came through FHIR, not from the typed entries
    carried = {k for k in typed if k in fhir_columns()}
    assert set(read) == carried
    assert {"age_years", "sex"} <= carried
    direct, via = check_patient(typed), check_patient(entries)
    assert via == direct
    assert {k: type(v) for k, v in via.values.items()} == {
        k: type(v) for k, v in direct.values.items()
    }


@pytest.mark.parametrize("region", REGIONS)
def test_fhir_round_trip_gives_the_same_probabilities(calculator, region):
    typed = example_entries(region, items=True)
    entries, _ = _via_fhir(typed)
    direct = calculator.predict(typed, explain=False)
    via = calculator.predict(entries, explain=False)
    probs = [
        (row.task, row.treatment, name, answer.probability)
        for row in (*direct.mcid, *([direct.tfesi] if direct.tfesi else []))
        for name, answer in row.answers.items()
    ]
    assert probs, "the demo bundle answered nothing"
    assert [
        (row.task, row.treatment, name, answer.probability)
        for row in (*via.mcid, *([via.tfesi] if via.tfesi else []))
        for name, answer in row.answers.items()
    ] == probs
    assert via == direct
