"""The typed bundle manifest (prom.bundle.manifest): exact round trip, versions, refusals."""

from __future__ import annotations

import copy
import json

import pytest

from prom.bundle import (
    BUNDLE_FORMAT_VERSION,
    BundleError,
    ClassifierTaskEntry,
    Manifest,
    SurvivalTaskEntry,
    manifest_id,
)
from prom.bundle import manifest as manifest_module
from prom.calculator import DEMO_BUNDLE_PATH
from prom.outcomes import (
    ClassDefinition,
    ColumnDefinition,
    McidDefinition,
    SurvivalDefinition,
    definition_from_dict,
    survival_definition,
)

TEXT = (DEMO_BUNDLE_PATH / "manifest.json").read_text(encoding="utf-8")
RAW = json.loads(TEXT)


def _survival_raw() -> dict:
    """A survival task entry as a bundle writes it (the demo bundle has none)."""
    return {
        "kind": "survival",
        "description": "time to surgery",
        "definition": survival_definition("surgery_conversion").to_dict(),
        "predictors": ["age_years", "odi_0m"],
        "n": 100,
        "n_events": 20,
        "row_accounting": {"read": 120, "used": 100, "not_in_population": 20},
        "primary": "cox",
        "baseline": None,
        "settings": {
            "families": ["cox"],
            "horizon": 12.0,
            "time_unit": "months",
            "n_splits": 5,
            "n_repeats": 2,
            "n_boot": 200,
            "optimism_boot": 0,
            "optimism_families": [],
            "random_state": 0,
            "ci": "percentile bootstrap over patients of the out-of-fold predictions",
        },
        "warnings": [],
        "horizon": 12.0,
        "time_unit": "months",
        "time_column": "time_to_surgery_months",
        "event_column": "surgery_event",
        "comparison": "none: a time-to-event task is not compared with logistic regression",
        "cv_metrics": {"cox": {"c": 0.7, "calibration_slope": 1.0}},
        "cv_per_repeat": {"cox": [{"repeat": 0, "c": 0.7}]},
        "calibration_at_horizon": {"cox": [{"group": 1, "predicted": 0.1, "observed": 0.12}]},
        "km_by_risk_tertile": [{"group": "low", "time": 3.0, "survival": 0.95}],
        "hazard_ratios": {"cox": [{"feature": "age_years", "hazard_ratio": 1.01}]},
        "models": {"cox": {"family": "cox", "format": "cox-json", "estimator": "s/cox/model.json"}},
        "validation_record": "s/validation.json",
    }


def test_the_embedded_manifest_round_trips_to_the_same_bytes():
    """Reading and writing back gives the file byte for byte (key order included), so a
    bundle's bytes do not depend on the typed layer."""
    m = Manifest.read(RAW)
    assert json.dumps(m.to_dict(), indent=1, allow_nan=True) == TEXT
    assert m.sealed() == RAW
    assert m.bundle_id == RAW["bundle_id"] == manifest_id(RAW)


def test_typed_fields_of_the_embedded_manifest():
    m = Manifest.read(RAW)
    assert m.is_demonstration and m.spine_prom_version == RAW["packages"]["spine-prom"]
    odi = m.tasks["mcid_odi_12m"]
    assert isinstance(odi, ClassifierTaskEntry)
    assert isinstance(odi.definition, McidDefinition)
    assert odi.threshold == "odi_ostelo2008" and odi.instrument == "odi"
    assert odi.outcome_columns == ("odi_0m", "odi_12m")
    assert odi.comparison_row("logistic")["verdict"] == "baseline"
    assert odi.population() == {"region": ("lumbar",)}
    assert odi.internal_external["logistic"].meta_row("auc")["metric"] == "auc"
    assert odi.settings.n_splits == 3 and odi.models["lightgbm"].format == "lightgbm-text"
    tri = m.tasks["triage"]
    assert isinstance(tri.definition, ClassDefinition) and tri.n_events is None
    assert tri.classes == ("conservative", "surgery", "tfesi")
    from prom.models.ranges import CategoricalRange, Finding, NumericRange

    age, sex = m.feature_schema["age_years"], m.feature_schema["sex"]
    assert isinstance(age, NumericRange) and isinstance(sex, CategoricalRange)
    assert age.check(age.max + 1) is Finding.ABOVE and sex.check("female") is None


def test_a_survival_entry_round_trips():
    raw = _survival_raw()
    entry = manifest_module.task_entry_from_dict("surgery_conversion", raw)
    assert isinstance(entry, SurvivalTaskEntry) and entry.horizon == 12.0
    assert isinstance(entry.definition, SurvivalDefinition)
    assert entry.primary_row() == {"c": 0.7, "calibration_slope": 1.0}
    assert json.dumps(entry.to_dict()) == json.dumps(raw)


@pytest.mark.parametrize(
    "definition",
    [
        McidDefinition("odi_ostelo2008", "rule", "source", "odi", "12m"),
        ColumnDefinition("good"),
        ClassDefinition("treatment", ("conservative", "tfesi", "surgery")),
        survival_definition("surgery_conversion"),
    ],
)
def test_definitions_round_trip(definition):
    assert definition_from_dict(definition.to_dict()) == definition
    assert definition_from_dict(json.loads(json.dumps(definition.to_dict()))) == definition


def test_an_unknown_definition_is_refused():
    with pytest.raises(ValueError, match=r"unknown task definition type 'odds'"):
        definition_from_dict({"type": "odds"})
    with pytest.raises(ValueError, match=r"task definition of type 'mcid' is malformed"):
        definition_from_dict({"type": "mcid", "threshold": "x"})


def _with_task_change(change) -> dict:
    raw = copy.deepcopy(RAW)
    change(raw["tasks"]["mcid_odi_12m"])
    return raw


@pytest.mark.parametrize(
    ("change", "match"),
    [
        (lambda t: t.update(odds=1), r"manifest task 'mcid_odi_12m': unknown field\(s\) 'odds'"),
        (lambda t: t.pop("n"), r"manifest task 'mcid_odi_12m': field 'n' is missing"),
        (lambda t: t.update(n="many"), r"field 'n' must be an integer; found 'many'"),
        (lambda t: t.update(kind="ordinal"), r"kind 'ordinal'; expected 'binary', 'multiclass'"),
        (lambda t: t.update(primary="svm"), r"primary model 'svm' is not among logistic, lightgbm"),
        (
            lambda t: t["models"]["logistic"].pop("state"),
            r"model 'logistic': a linear-json model needs 'state' and 'n_classes'",
        ),
        (lambda t: t.update(predictors="age"), r"field 'predictors' must be a list"),
        (lambda t: t.update(comparison={}), r"field 'comparison' must be a list of JSON objects"),
        (lambda t: t["definition"].update(type="x"), r"unknown task definition type 'x'"),
    ],
)
def test_a_malformed_task_entry_is_refused_naming_task_and_field(change, match):
    with pytest.raises(BundleError, match=match):
        Manifest.from_dict(_with_task_change(change))


def test_versions_newer_refused_older_upgraded_or_refused(monkeypatch):
    newer = {**RAW, "format_version": BUNDLE_FORMAT_VERSION + 1}
    with pytest.raises(BundleError, match=r"format version 2 was written by a newer spine-prom"):
        Manifest.from_dict(newer)
    older = {**RAW, "format_version": 0}
    with pytest.raises(BundleError, match=r"format version 0 is older than any .* refit"):
        Manifest.from_dict(older)

    def upgrade_0(d):
        return {**d, "format_version": 1, "description": d["description"] + " (upgraded)"}

    monkeypatch.setitem(manifest_module.UPGRADES, 0, upgrade_0)
    m = Manifest.from_dict(older)
    assert m.format_version == 1 and m.description.endswith("(upgraded)")
    with pytest.raises(BundleError, match=r"format_version is '1'; expected an integer"):
        Manifest.from_dict({**RAW, "format_version": "1"})


def test_an_edited_or_foreign_manifest_is_refused_before_it_is_typed():
    edited = copy.deepcopy(RAW)
    edited["description"] = "real patients"
    with pytest.raises(BundleError, match="modified after the bundle was written"):
        Manifest.read(edited)
    with pytest.raises(BundleError, match=r"format is 'other', expected 'prom-model-bundle'"):
        Manifest.read({**RAW, "format": "other"})
    with pytest.raises(BundleError, match=r"format is None"):
        Manifest.read([1, 2])


def test_a_stored_definition_gives_the_rows_the_fit_used():
    """TaskEntry.rows derives the label as the bundle defines it: the same rows and labels
    as prepare_task_data for the task, exactly the stored predictors in their order, and a
    predictor the table lacks added as missing and named."""
    import numpy as np
    import pandas as pd

    from prom.cohort import simulate_cohort
    from prom.instruments import add_scores
    from prom.outcomes import prepare_task_data

    df = add_scores(simulate_cohort(600, seed=3))
    entry = Manifest.read(RAW).tasks["mcid_odi_12m"]
    rows = entry.rows(df)
    ref = prepare_task_data(df, "mcid_odi_12m", predictors=list(entry.predictors))
    assert list(rows.X.columns) == list(entry.predictors)
    pd.testing.assert_series_equal(rows.y, ref.y)
    assert rows.row_accounting == ref.row_accounting and rows.absent == ()
    rows2 = entry.rows(df.drop(columns=["bmi_kg_m2"]))
    assert rows2.absent == ("bmi_kg_m2",) and rows2.X["bmi_kg_m2"].isna().all()
    custom = ClassifierTaskEntry(
        **{**entry.__dict__, "name": "good", "definition": ColumnDefinition("good")}
    )
    df["good"] = (np.arange(len(df)) % 3 == 0).astype(int)
    assert custom.population() == {}
    assert custom.rows(df).row_accounting == {"read": 600, "used": 600, "good missing": 0}


def test_a_malformed_feature_schema_is_refused():
    raw = copy.deepcopy(RAW)
    raw["feature_schema"]["age_years"]["kind"] = "ordinal"
    with pytest.raises(BundleError, match=r"feature_schema: .*age_years.* kind 'ordinal'"):
        Manifest.from_dict(raw)
