"""The survival task (surgery_conversion) through fit_task, bundles and `prom evaluate`.

References: lifelines' own CoxPHFitter predictions (the fitted model's, to 1e-12); R
survival 3.5-3 ``coxph(Surv(time, event) ~ score, ties = ...)`` for the calibration slope
(tests/reference/metrics/make_cox_slope_reference.R → cox_slope_ref.csv); the simulator's
true linear predictor (``true_lp_surgery_conversion``) for the oracle C.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from prom.bundle import (
    MANIFEST,
    BundleError,
    load_bundle,
    manifest_id,
    sha256_file,
    sign_bundle,
    write_bundle,
)
from prom.cli import app
from prom.cohort.simulate import simulate_cohort
from prom.instruments import add_scores
from prom.models import PromCoxModel
from prom.outcomes import derive_label
from prom.validation import harrell_c, survival_calibration_slope
from prom.workflows import FitSettings, fit_task, prepare_task_data

pytestmark = pytest.mark.filterwarnings("ignore::prom.errors.StatisticalWarning")
REF = Path(__file__).parent / "reference" / "metrics"
TIMES = [0.25, 1.0, 3.0, 6.0, 12.0, 18.0, 24.0]
runner = CliRunner()


@pytest.fixture(scope="module")
def cohort():
    df = add_scores(simulate_cohort(2000, seed=5))
    _, X, y, _, _ = prepare_task_data(df, "surgery_conversion")
    return df, X, y


@pytest.fixture(scope="module")
def cox(cohort):
    _, X, y = cohort
    return PromCoxModel(predictors=list(X.columns), horizon=12.0).fit(X, y)


@pytest.fixture(scope="module")
def task_fit(cohort):
    """The whole task at n = 2,000 (1,604 labelled): one CV repeat to keep the test fast."""
    df, _, _ = cohort
    return fit_task(
        df,
        "surgery_conversion",
        settings=FitSettings(n_splits=5, n_repeats=1, n_boot=100, optimism_boot=4, random_state=3),
    )


# ---- PromCoxModel state ------------------------------------------------------------------


def test_state_round_trip_is_bit_exact(cohort, cox):
    _, X, _ = cohort
    state = json.loads(json.dumps(cox.get_state(), allow_nan=True))
    loaded = PromCoxModel.from_state(state)
    assert not hasattr(loaded, "cox_")
    assert np.array_equal(loaded.predict(X), cox.predict(X))
    assert np.array_equal(
        loaded.predict_survival(X, TIMES).to_numpy(), cox.predict_survival(X, TIMES).to_numpy()
    )
    assert np.array_equal(loaded.predict_risk(X), cox.predict_risk(X))
    assert np.array_equal(loaded.predict_risk(X, horizon=6), cox.predict_risk(X, horizon=6))
    pd.testing.assert_frame_equal(loaded.summary(), cox.summary())
    assert state["baseline"]["estimator"] == "breslow"
    assert list(state["coefficients"]) == cox.feature_names_


def test_predictions_equal_lifelines_own(cohort, cox):
    """Centring and the baseline as lifelines: its predict_survival_function to 1e-12."""
    _, X, _ = cohort
    design = cox._design(X)
    ll_surv = cox.cox_.predict_survival_function(design, times=TIMES).to_numpy().T
    np.testing.assert_allclose(
        cox.predict_survival(X, TIMES).to_numpy(), ll_surv, rtol=0, atol=1e-12
    )
    np.testing.assert_allclose(
        cox.predict(X), cox.cox_.predict_log_partial_hazard(design), rtol=0, atol=1e-12
    )


def test_a_loaded_model_predicts_without_lifelines(cohort, cox, monkeypatch):
    _, X, _ = cohort
    state = cox.get_state()
    expected = cox.predict_risk(X)
    for name in [m for m in sys.modules if m == "lifelines" or m.startswith("lifelines.")]:
        monkeypatch.setitem(sys.modules, name, None)  # any import of lifelines now fails
    with pytest.raises(ImportError):
        import lifelines  # noqa: F401
    assert np.array_equal(PromCoxModel.from_state(state).predict_risk(X), expected)


def test_baseline_re_estimated_on_the_training_rows_is_lifelines_breslow(cohort, cox):
    _, X, y = cohort
    again = cox.recalibrate_baseline(X, y, note="same rows")
    np.testing.assert_array_equal(again.baseline_time_, cox.baseline_time_)
    np.testing.assert_allclose(
        again.baseline_cumulative_hazard_, cox.baseline_cumulative_hazard_, rtol=1e-12
    )
    assert np.array_equal(again.coef_, cox.coef_) and again.baseline_source_ == "same rows"
    # every time halved: same risk sets in the same order, so H0_new(t) = H0_old(2t)
    fast = y.assign(time=y["time"] / 2)
    h6 = cox.recalibrate_baseline(X, fast).baseline_cumulative_hazard([3.0, 6.0])
    np.testing.assert_allclose(h6, cox.baseline_cumulative_hazard([6.0, 12.0]), rtol=1e-12)


def test_state_errors():
    with pytest.raises(ValueError, match="not a PromCoxModel state"):
        PromCoxModel.from_state({"format": "prom.models.PromClassifier"})
    with pytest.raises(ValueError, match="version 9 is not supported"):
        PromCoxModel.from_state({"format": "prom.models.PromCoxModel", "version": 9})
    with pytest.raises(
        ValueError, match=r"penalizer='ridge'; expected a number in \[0, inf\] or 'cv'"
    ):
        PromCoxModel(penalizer="ridge").fit(
            pd.DataFrame({"x": [1.0, 2.0]}), pd.DataFrame({"time": [1.0, 2.0], "event": [1, 0]})
        )


def test_edited_baseline_in_a_state_is_refused(cox):
    state = cox.get_state()
    state["baseline"]["cumulative_hazard"] = state["baseline"]["cumulative_hazard"][::-1]
    with pytest.raises(ValueError, match="non-decreasing"):
        PromCoxModel.from_state(state)
    state = cox.get_state()
    state["coefficients"] = dict(reversed(list(state["coefficients"].items())))
    with pytest.raises(ValueError, match="expected the same columns in the same order"):
        PromCoxModel.from_state(state)


# ---- calibration slope against R ---------------------------------------------------------


def test_calibration_slope_matches_r_coxph():
    """survival 3.5-3 coxph(ties = "breslow"/"efron"), eps 1e-11: rtol 1e-9 on the slope."""
    d = pd.read_csv(REF / "survival_inputs.csv")
    ref = pd.read_csv(REF / "cox_slope_ref.csv")
    scores = {"risk": d.risk, "cloglog_surv_t": np.log(-np.log(d.surv_t)), "group": d.group}
    assert len(ref) == 6
    for r in ref.itertuples():
        s = survival_calibration_slope(d.time, d.event, scores[r.score], ties=r.ties)
        assert s.slope == pytest.approx(r.coef, rel=1e-9)
        assert s.se == pytest.approx(r.se, rel=1e-9)
    with pytest.raises(ValueError, match="ties='exact'; expected 'efron' or 'breslow'"):
        survival_calibration_slope(d.time, d.event, d.risk, ties="exact")
    with pytest.raises(ValueError, match="score is constant"):
        survival_calibration_slope(d.time, d.event, np.ones(len(d)))


# ---- fit_task ----------------------------------------------------------------------------


def test_fit_task_discrimination_against_the_oracle(cohort, task_fit):
    """Held-out C within 0.05 of the oracle C (the true linear predictor on the same rows,
    which includes a site effect no predictor carries), and not above it."""
    df, X, y = cohort
    oracle = harrell_c(y["time"], y["event"], df.loc[X.index, "true_lp_surgery_conversion"])
    m = task_fit.cv[task_fit.primary].metrics
    assert 0.6 < m["c"] < 0.8
    assert oracle > m["c"] - 0.01
    assert abs(oracle - m["c"]) < 0.05
    assert m["c_low"] < m["c"] < m["c_high"]
    for name, cv in task_fit.cv.items():  # both families discriminate
        assert cv.metrics["c"] > 0.6, name


def test_fit_task_calibration_and_results(cohort, task_fit):
    _, _X, y = cohort
    fit = task_fit
    assert (
        fit.kind == "survival" and fit.horizon == 12.0 and set(fit.models) == {"cox", "cox_ridge"}
    )
    assert fit.n == len(y) and fit.n_events == int(y["event"].sum())
    acc = fit.row_accounting
    assert acc["used"] == fit.n and sum(v for k, v in acc.items() if k != "read") == acc["read"]
    ridge = fit.cv["cox_ridge"].metrics
    assert 0.75 < ridge["calibration_slope"] < 1.3
    assert 0.85 < ridge["o_e"] < 1.15
    # unpenalised with ~7 events per design column: overfitted, its slope well below 1
    assert fit.cv["cox"].metrics["calibration_slope"] < ridge["calibration_slope"]
    cal = fit.cv[fit.primary].calibration
    assert len(cal) == 10 and cal["n"].sum() == fit.n
    assert cal["predicted_risk"].is_monotonic_decreasing  # group 1 = highest risk
    opt = fit.optimism["cox"].table
    assert opt.loc["c", "corrected"] < opt.loc["c", "apparent"]
    assert opt.loc["calibration_slope", "apparent"] == pytest.approx(1.0, abs=1e-6)
    km = fit.km_by_risk_at.set_index(["group", "time"])["survival"]
    assert km["high", 12.0] < km["middle", 12.0] < km["low", 12.0]
    assert set(fit.km_by_risk["group"]) == {"low", "middle", "high"}


def test_manifest_entry_and_summary(task_fit):
    entry = json.loads(json.dumps(task_fit.manifest_entry().to_dict(), allow_nan=True))
    assert entry["kind"] == "survival" and entry["horizon"] == 12.0
    assert entry["time_unit"] == "months"
    assert (entry["time_column"], entry["event_column"]) == (
        "time_to_surgery_months",
        "surgery_event",
    )
    d = entry["definition"]
    assert d["population"] == {"region": ["lumbar"], "treatment": ["conservative", "tfesi"]}
    assert {"time_origin", "censoring", "event"} <= set(d)
    assert {"c", "c_low", "c_high", "calibration_slope", "o_e"} <= set(entry["cv_metrics"]["cox"])
    text = task_fit.summary()
    for part in (
        "Harrell",
        "calibration slope",
        "hazard ratios",
        "no comparison with logistic",
        "primary model",
    ):
        assert part in text


def test_fit_task_refuses_binary_families_and_a_horizon_beyond_follow_up(cohort):
    df, _, _ = cohort
    with pytest.raises(ValueError, match="its model families are cox, cox_ridge; got xgboost"):
        fit_task(df, "surgery_conversion", families=["xgboost"])
    with pytest.raises(ValueError, match="follow-up ends at 24 months, before the horizon 36"):
        fit_task(df, "surgery_conversion", families=["cox"], settings=FitSettings(horizon=36))


# ---- bundle ------------------------------------------------------------------------------


def test_bundle_round_trip_with_cox_json(tmp_path, cohort, task_fit, lab_keys):
    _, X, _ = cohort
    path = write_bundle(tmp_path / "b", [task_fit], signing_key=lab_keys.key)
    m = json.loads((path / MANIFEST).read_text(encoding="utf-8"))
    t = m["tasks"]["surgery_conversion"]
    assert {mm["format"] for mm in t["models"].values()} == {"cox-json"}
    assert sorted(p.name for p in (path / "surgery_conversion" / "cox").iterdir()) == ["model.json"]
    b = load_bundle(path)
    bt = b.task("surgery_conversion")
    assert bt.primary == task_fit.primary and bt.entry.horizon == 12.0
    for name, model in task_fit.models.items():
        assert np.array_equal(
            bt.models[name].predict_survival(X, TIMES).to_numpy(),
            model.predict_survival(X, TIMES).to_numpy(),
        ), name
    assert np.array_equal(bt.predict_risk(X), task_fit.models[task_fit.primary].predict_risk(X))
    with pytest.raises(BundleError, match="is a survival task; use predict_risk"):
        bt.predict_proba(X)


def test_a_tampered_cox_file_is_refused(tmp_path, task_fit, lab_keys):
    path = write_bundle(tmp_path / "b", [task_fit], signing_key=lab_keys.key)
    rel = "surgery_conversion/cox/model.json"
    state = json.loads((path / rel).read_text(encoding="utf-8"))
    state["coefficients"]["odi_0m"] *= 2
    (path / rel).write_text(json.dumps(state))
    with pytest.raises(BundleError, match=r"model.json: SHA-256 does not match the manifest"):
        load_bundle(path)
    # hashes made consistent again and signed by a trusted key: the content itself must
    # still be a valid Cox model
    state["format"] = "something.else"
    (path / rel).write_text(json.dumps(state))
    m = json.loads((path / MANIFEST).read_text(encoding="utf-8"))
    m["files"][rel] = sha256_file(path / rel)
    m["bundle_id"] = manifest_id(m)
    (path / MANIFEST).write_text(json.dumps(m))
    sign_bundle(path, lab_keys.key)
    with pytest.raises(BundleError, match=r"not a readable Cox model.*not a PromCoxModel state"):
        load_bundle(path)


# ---- CLI ---------------------------------------------------------------------------------


def test_prom_fit_and_evaluate_on_csv(tmp_path):
    train, new = tmp_path / "train.csv", tmp_path / "site_new.csv"
    simulate_cohort(1500, seed=31).to_csv(train, index=False)
    site = simulate_cohort(1200, seed=32)
    site["time_to_surgery_months"] = site["time_to_surgery_months"] / 1.5  # surgery sooner
    site.to_csv(new, index=False)
    out = tmp_path / "bundle"
    res = runner.invoke(
        app,
        [
            "fit",
            "--data",
            str(train),
            "--task",
            "surgery_conversion",
            "--models",
            "cox",
            "--folds",
            "3",
            "--boot",
            "30",
            "--optimism-boot",
            "0",
            "--jobs",
            "1",
            "--out",
            str(out),
        ],
    )
    assert res.exit_code == 0, res.output
    assert "Harrell's C" in res.output and "bundle written to" in res.output
    assert "no comparison with logistic regression" in res.output
    assert load_bundle(out).task().kind == "survival"

    res = runner.invoke(
        app,
        [
            "evaluate",
            "--bundle",
            str(out),
            "--data",
            str(new),
            "--recalibrate",
            "intercept",
            "--out",
            str(tmp_path / "recal"),
        ],
    )
    assert res.exit_code == 0, res.output
    assert "recalibrated bundle written" in res.output
    b = load_bundle(out)
    from prom.cohort import load_cohort
    from prom.workflows import evaluate_bundle

    data = add_scores(load_cohort(new)[0])
    ev = evaluate_bundle(b, data, recalibrate="intercept").tables["surgery_conversion"]
    before, after = ev.iloc[0], ev.iloc[1]
    assert (before["recalibration"], after["recalibration"]) == ("none", "baseline")
    assert before["o_e"] > 1.15  # surgery came sooner than the bundle predicts
    assert abs(after["o_e"] - 1) < abs(before["o_e"] - 1)
    assert after["c"] == before["c"]  # the ranking is untouched
    recal = load_bundle(tmp_path / "recal").task().models["cox"]
    assert recal.baseline_source_.startswith("baseline hazard re-estimated")

    res = runner.invoke(
        app,
        ["evaluate", "--bundle", str(out), "--data", str(new), "--recalibrate", "intercept_slope"],
    )
    assert res.exit_code == 2 and "refit with prom fit instead" in res.output
    res = runner.invoke(
        app,
        [
            "fit",
            "--data",
            str(train),
            "--task",
            "surgery_conversion",
            "--models",
            "cox,svm",
            "--out",
            str(tmp_path / "x"),
        ],
    )
    assert res.exit_code == 2 and "unknown model family svm" in res.output


def test_derive_label_rows_are_what_prepare_task_data_uses(cohort):
    df, X, y = cohort
    lab = derive_label(df, "surgery_conversion")
    rows = lab["time"].notna()
    assert list(X.index) == list(df.index[rows])
    np.testing.assert_array_equal(y["time"], lab.loc[rows, "time"])
