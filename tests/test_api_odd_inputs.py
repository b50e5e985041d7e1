"""The Python API with the frames a notebook holds: rows paired by their labels, not by
position; odd indexes and column labels read or refused by name; empty selections and
degenerate samples answered as documented, never a raw error from pandas or NumPy."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from prom.bundle import load_bundle
from prom.calculator import DEMO_BUNDLE_PATH
from prom.cohort import simulate_cohort
from prom.cohort.derived import add_index_level_imaging
from prom.instruments import ODI, add_scores, score_table
from prom.instruments.mcid import improvement, mcid_attained
from prom.outcomes import PredictorError
from prom.validation import auc_ci, multiclass_auc_ovr
from prom.workflows import FitSettings, fit_task

SMALL = FitSettings(n_splits=3, n_iter=1, inner_cv=2, n_boot=10, optimism_boot=0)


def test_baseline_and_follow_up_series_are_paired_by_their_index():
    baseline = pd.Series([60.0, 20.0, 50.0], index=["P1", "P2", "P3"])
    follow_up = pd.Series([50.0, 10.0, 18.0], index=["P3", "P1", "P2"])
    got = mcid_attained(baseline, follow_up, "odi_ostelo2008")
    assert got.to_dict() == {"P1": 1.0, "P2": 0.0, "P3": 0.0}  # 60→10, 20→18, 50→50
    assert improvement(baseline, follow_up, "odi").tolist() == [50.0, 2.0, 0.0]
    other = follow_up.set_axis([10, 11, 12])
    with pytest.raises(ValueError, match="different indexes"):
        mcid_attained(baseline, other, "odi_ostelo2008")
    # arrays are paired by position, as before
    assert mcid_attained(
        baseline.to_numpy(), np.array([10.0, 18.0, 50.0]), "odi_ostelo2008"
    ).tolist() == [1.0, 0.0, 0.0]


@pytest.fixture(scope="module")
def cohort():
    return add_scores(simulate_cohort(500, seed=1))


def test_a_repeated_row_index_fits_as_a_fresh_one(cohort):
    """Two exports concatenated without ignore_index: the same fit, not a false
    duplicate-id refusal or a failure after the cross-validation."""
    d = cohort.copy()
    d.index = np.repeat(np.arange(len(d) // 2), 2)
    kw = {"families": ["logistic", "elastic_net"], "settings": SMALL}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        a = fit_task(d, "mcid_odi_12m", **kw)
        b = fit_task(cohort.reset_index(drop=True), "mcid_odi_12m", **kw)
    assert a.comparison.table["auc"].to_dict() == b.comparison.table["auc"].to_dict()


def test_column_labels_that_are_not_text_are_refused_by_fit(cohort):
    d = pd.DataFrame(np.random.default_rng(0).normal(size=(50, 2)))
    d[2] = np.arange(50) % 2
    with pytest.raises(ValueError, match=r"column labels must be text; .* \(0, 1, 2\)"):
        fit_task(d, target=2, predictors=[0, 1], families=["logistic", "elastic_net"])


def test_a_column_named_twice_is_named_not_a_raw_error(cohort):
    odi = ODI()
    cols = [f"odi_{n}_0m" for n in odi.item_names]
    form = pd.DataFrame([[1] * 10, [2] * 10], columns=cols)
    dup = pd.concat([form, form[[cols[0]]]], axis=1)
    for call in (lambda: odi.score(dup, timepoint="0m"), lambda: score_table(dup)):
        with pytest.raises(ValueError, match="more than one column named 'odi_pain_intensity_0m'"):
            call()
    task = load_bundle(DEMO_BUNDLE_PATH).tasks["mcid_odi_12m"]
    X = add_index_level_imaging(cohort[cohort["region"] == "lumbar"])
    with pytest.raises(ValueError, match="more than one column named 'age_years'"):
        task.predict_proba(pd.concat([X, X[["age_years"]]], axis=1))


def test_a_prediction_for_no_rows_is_an_empty_answer(cohort):
    task = load_bundle(DEMO_BUNDLE_PATH).tasks["mcid_odi_12m"]
    empty = add_index_level_imaging(cohort).iloc[:0]
    assert task.predict_proba(empty).shape == (0, 2)
    assert task.models["logistic"].predict_proba(empty).shape == (0, 2)


def test_dates_with_a_time_zone_are_refused_as_dates():
    rng = np.random.default_rng(0)
    d = pd.DataFrame({"x1": rng.normal(size=400), "y": rng.integers(0, 2, 400)})
    days = pd.to_datetime(["2021-01-04", "2021-02-01", "2021-03-01", "2021-04-05"])
    s = SMALL
    for col in (
        pd.date_range("2020-01-01", periods=400, tz="UTC"),
        days.tz_localize("Europe/Zurich")[rng.integers(0, 4, 400)],
    ):
        d["visit"] = col
        with pytest.raises(PredictorError, match=r"predictor 'visit' is a date"):
            fit_task(
                d,
                target="y",
                predictors=["x1", "visit"],
                families=["logistic", "elastic_net"],
                settings=s,
            )


def test_an_auc_interval_with_one_event_is_undefined_not_zero_to_one():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        r = auc_ci([0, 0, 0, 0, 1], [0.1, 0.2, 0.3, 0.4, 0.9])
    assert r.auc == 1.0 and np.isnan(r.se) and np.isnan(r.low) and np.isnan(r.high)


def test_class_probabilities_named_by_class_are_read_by_name():
    rng = np.random.default_rng(3)
    y = rng.choice(["a", "b", "c"], 300)
    P = rng.dirichlet([1, 1, 1], 300)
    P[np.arange(300), pd.Series(y).map({"a": 0, "b": 1, "c": 2})] += 1
    P /= P.sum(axis=1, keepdims=True)
    df = pd.DataFrame(P, columns=["a", "b", "c"])
    want = multiclass_auc_ovr(y, df, ["a", "b", "c"]).macro
    assert multiclass_auc_ovr(y, df[["c", "a", "b"]], ["a", "b", "c"]).macro == want
    with pytest.raises(ValueError, match="name some of the classes"):
        multiclass_auc_ovr(y, df.rename(columns={"c": "z"}), ["a", "b", "c"])


def test_a_categorical_0_1_outcome_and_a_list_with_none_are_read_as_what_they_hold():
    from prom.validation import auc_score
    from prom.validation.outcome_encoding import encode_outcome

    assert encode_outcome(pd.Series([0, 1, 1, 0], dtype="category"), "y").kind == "binary"
    with pytest.raises(ValueError, match=r"y has 1 missing value\(s\) \(0-based row 2\)"):
        auc_score([0, 1, None, 1], [0.1, 0.2, 0.3, 0.4])
