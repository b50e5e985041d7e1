"""Calibration: Platt and isotonic repair deliberate miscalibration; site recalibration.

Data are simulated with a known logistic truth ``p = expit(eta)``; a "model" that is
miscalibrated by construction reports ``expit(a + b * eta)``. Tolerances: with n = 20,000
rows the calibration slope has a standard error of about 0.02–0.03, so |slope - 1| < 0.1
is a 3–4 SE band, and |intercept| < 0.1 likewise.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from scipy.special import expit

from prom.errors import StatisticalWarning
from prom.models import PromClassifier, recalibrate
from prom.models.calibration import (
    IsotonicCalibrator,
    LogisticRecalibration,
    PlattCalibrator,
    auto_methods,
    calibrator_from_state,
    choose_calibration,
)
from prom.validation.metrics import auc_score, calibration_intercept_slope


def _truth(n, seed):
    rng = np.random.default_rng(seed)
    eta = rng.normal(-0.2, 1.2, n)
    y = (rng.random(n) < expit(eta)).astype(int)
    return eta, y


def _two_col(p1):
    return np.column_stack([1 - p1, p1])


@pytest.mark.parametrize("method", ["platt", "isotonic"])
@pytest.mark.parametrize("a,b", [(0.5, 2.0), (-0.3, 0.5)])  # overconfident, too moderate
def test_calibrators_restore_slope_near_one(method, a, b):
    eta_fit, y_fit = _truth(20_000, 1)
    eta_new, y_new = _truth(20_000, 2)
    bad_fit, bad_new = expit(a + b * eta_fit), expit(a + b * eta_new)
    before = calibration_intercept_slope(y_new, bad_new)
    assert abs(before.slope - 1 / b) < 0.1  # the distortion is real
    cal = (PlattCalibrator() if method == "platt" else IsotonicCalibrator()).fit(
        _two_col(bad_fit), y_fit
    )
    fixed = cal.transform(_two_col(bad_new))[:, 1]
    after = calibration_intercept_slope(y_new, fixed)
    assert abs(after.slope - 1) < 0.1
    assert abs(after.intercept) < 0.1
    if method == "platt":  # Platt inverts the distortion exactly: a' = -a/b, b' = 1/b
        assert cal.slopes[0] == pytest.approx(1 / b, abs=0.06)
        assert auc_score(y_new, fixed) == pytest.approx(auc_score(y_new, bad_new), abs=1e-12)
    else:
        assert fixed.min() >= 1e-3 and fixed.max() <= 1 - 1e-3


def test_isotonic_matches_sklearn_and_round_trips():
    from sklearn.isotonic import IsotonicRegression

    eta, y = _truth(2_000, 3)
    p = expit(1.5 * eta)
    cal = IsotonicCalibrator().fit(_two_col(p), y)
    ref = IsotonicRegression(out_of_bounds="clip", y_min=0, y_max=1).fit(p, y)
    grid = np.linspace(0, 1, 101)
    np.testing.assert_allclose(
        cal.transform(_two_col(grid))[:, 1], np.clip(ref.predict(grid), 1e-3, 1 - 1e-3), rtol=1e-12
    )
    again = calibrator_from_state(json.loads(json.dumps(cal.get_state(), allow_nan=False)))
    np.testing.assert_array_equal(again.transform(_two_col(grid)), cal.transform(_two_col(grid)))


def test_platt_handles_separation_and_multiclass():
    y = np.array([0] * 20 + [1] * 20)
    p = np.r_[np.full(20, 0.2), np.full(20, 0.8)]
    cal = PlattCalibrator().fit(_two_col(p), y)
    assert np.isfinite(cal.intercepts + cal.slopes).all()  # Platt's targets keep it finite
    rng = np.random.default_rng(0)
    proba = rng.dirichlet([1, 1, 1], 300)
    yk = np.array([rng.choice(3, p=r) for r in proba])
    out = PlattCalibrator().fit(proba, yk).transform(proba)
    np.testing.assert_allclose(out.sum(1), 1, rtol=1e-12)
    with pytest.raises(ValueError, match="isotonic calibration is for two classes"):
        IsotonicCalibrator().fit(proba, yk)


def test_auto_choice_none_platt_isotonic():
    eta, y = _truth(6_000, 4)
    folds = np.arange(y.size) % 3
    calibrated = _two_col(expit(eta))
    method, scores = choose_calibration(calibrated, y, folds)
    assert method == "none"
    assert set(scores) == {"none", "platt", "isotonic"}
    method, _ = choose_calibration(_two_col(expit(0.4 + 2.5 * eta)), y, folds)
    assert method == "platt"
    # a non-logistic distortion (a step in the middle) only isotonic can undo
    p = expit(eta)
    warped = np.where(p < 0.5, p / 4, 0.75 + (p - 0.5) / 2)
    method, scores = choose_calibration(_two_col(warped), y, folds)
    assert method == "isotonic"
    assert scores["isotonic"]["log_loss"] < scores["platt"]["log_loss"]


def test_auto_keeps_none_out_of_the_binary_choice():
    """``"auto"`` for two classes scores none, Platt and isotonic but chooses between Platt
    and isotonic; on predictions that are already calibrated that is Platt (close to the
    identity), and none's cross-fitted score is still there for the record. For three
    classes none stays a candidate."""
    eta, y = _truth(6_000, 4)
    folds = np.arange(y.size) % 3
    calibrated = _two_col(expit(eta))
    methods, candidates = auto_methods(2)
    method, scores = choose_calibration(calibrated, y, folds, methods, candidates)
    assert method == "platt"
    assert set(scores) == {"none", "platt", "isotonic"}
    assert scores["none"]["log_loss"] <= scores["platt"]["log_loss"]  # none would have won
    cal = PlattCalibrator().fit(calibrated, y)
    assert abs(cal.intercepts[0]) < 0.1 and abs(cal.slopes[0] - 1) < 0.1
    assert auto_methods(3) == (("none", "platt"), ("none", "platt"))


def test_classifier_auto_calibration_is_platt_or_isotonic():
    rng = np.random.default_rng(7)
    X = pd.DataFrame({"age": rng.normal(60, 10, 600), "odi_baseline": rng.uniform(10, 80, 600)})
    y = (rng.random(600) < expit(0.05 * (X["odi_baseline"] - 45))).astype(int)
    model = PromClassifier("logistic", predictors=list(X.columns), random_state=0).fit(X, y)
    assert model.calibration_method_ in ("platt", "isotonic")
    assert set(model.calibration_scores_) == {"none", "platt", "isotonic"}


def test_classifier_calibration_restores_slope():
    """A random forest's probabilities are too moderate on a strong signal (slope ≈ 1.9);
    Platt or isotonic fitted on its inner out-of-fold predictions brings the slope near 1.

    Test slope SE ≈ 0.04 (2,000 rows). Isotonic is allowed 0.2: its step function, fitted on
    models trained on 2/3 of the rows, over-corrects the slightly sharper final model a
    little (about 0.86 here).
    """
    rng = np.random.default_rng(5)
    n = 4_000
    X = pd.DataFrame(rng.normal(size=(n, 8)), columns=list("abcdefgh"))
    eta = 1.6 * X["a"] - 1.2 * X["b"] + 0.8 * X["c"]
    y = (rng.random(n) < expit(eta)).astype(int)
    train, test = slice(0, 2000), slice(2000, None)

    def slope(p):
        return calibration_intercept_slope(y[test], np.clip(p[:, 1], 1e-3, 1 - 1e-3)).slope

    platt = PromClassifier("random_forest", calibration="platt", n_iter=1).fit(X[train], y[train])
    iso = PromClassifier("random_forest", calibration="isotonic", n_iter=1).fit(X[train], y[train])
    assert slope(platt.predict_proba(X[test], calibrated=False)) > 1.6
    assert abs(slope(platt.predict_proba(X[test])) - 1) < 0.15
    assert abs(slope(iso.predict_proba(X[test])) - 1) < 0.2


def test_recalibration_intercept_only_vs_intercept_slope():
    """Site A: outcomes shifted by -1 on the logit; site B: also a slope of 0.6."""
    eta, _ = _truth(20_000, 6)
    rng = np.random.default_rng(7)
    p_model = expit(eta)  # right where the model was developed
    y_a = (rng.random(eta.size) < expit(eta - 1.0)).astype(int)
    y_b = (rng.random(eta.size) < expit(0.6 * eta - 0.5)).astype(int)
    ra = recalibrate(p_model, y_a, method="intercept")
    assert isinstance(ra, LogisticRecalibration)
    assert ra.slope == 1.0
    assert ra.intercept == pytest.approx(-1.0, abs=0.06)
    rb = recalibrate(p_model, y_b, method="intercept_slope")
    assert rb.slope == pytest.approx(0.6, abs=0.05)
    assert rb.intercept == pytest.approx(-0.5, abs=0.06)
    # intercept-only cannot fix a slope: on site B it leaves the slope at 0.6
    rb1 = recalibrate(p_model, y_b, method="intercept")
    y_b2 = (rng.random(eta.size) < expit(0.6 * eta - 0.5)).astype(int)
    assert calibration_intercept_slope(y_b2, rb1.transform(p_model)).slope == pytest.approx(
        0.6, abs=0.05
    )
    fit = calibration_intercept_slope(y_b2, rb.transform(p_model))
    assert abs(fit.slope - 1) < 0.1 and abs(fit.intercept) < 0.1
    # the intercept-only estimate is calibration-in-the-large of the same data
    assert ra.intercept == pytest.approx(calibration_intercept_slope(y_a, p_model).citl, abs=1e-8)
    assert LogisticRecalibration.from_state(json.loads(json.dumps(rb.get_state()))) == rb


def test_recalibrating_a_model_returns_a_new_model():
    rng = np.random.default_rng(8)
    X = pd.DataFrame(rng.normal(size=(1500, 2)), columns=["a", "b"])
    eta = X["a"] - X["b"]
    y = (rng.random(1500) < expit(eta)).astype(int)
    model = PromClassifier("logistic", calibration="none").fit(X[:1000], y[:1000])
    y_site = (rng.random(500) < expit(eta[1000:] + 1.0)).astype(int)
    site = recalibrate(model, y_site, method="intercept", X=X[1000:])
    assert model.recalibration_ is None
    assert site.recalibration_.intercept > 0.5
    assert (site.predict_proba(X[1000:])[:, 1] > model.predict_proba(X[1000:])[:, 1]).all()
    np.testing.assert_array_equal(
        site.predict_proba(X[1000:], calibrated=False),
        model.predict_proba(X[1000:], calibrated=False),
    )


def test_recalibration_errors():
    with pytest.raises(ValueError, match="method='slope'"):
        recalibrate([0.2, 0.5], [0, 1], method="slope")
    with pytest.raises(ValueError, match="no events among 3 rows"):
        recalibrate([0.2, 0.5, 0.3], [0, 0, 0])
    with pytest.raises(ValueError, match="3 predictions but 2 outcomes"):
        recalibrate([0.2, 0.5, 0.3], [0, 1])
    with pytest.raises(ValueError, match="must be 0/1"):
        recalibrate([0.2, 0.5, 0.3], [0, 1, 2])
    with pytest.warns(StatisticalWarning, match="recalibrating on 2 events"):
        recalibrate(np.linspace(0.1, 0.9, 30), np.r_[np.zeros(28), 1, 1])
    with pytest.raises(TypeError, match="needs X"):
        X = pd.DataFrame({"a": np.arange(40.0)})
        y = np.r_[np.zeros(20), np.ones(20)]
        y[::7] = 1 - y[::7]
        recalibrate(PromClassifier(calibration="none").fit(X, y), y)


def test_platt_never_reverses_the_ranking():
    """Out-of-fold predictions worse than chance get slope 0 (the mean risk), not a flip."""
    eta, y = _truth(3_000, 9)
    reversed_p = expit(-eta)
    cal = PlattCalibrator().fit(_two_col(reversed_p), y)
    assert cal.slopes == [0.0]
    out = cal.transform(_two_col(reversed_p))[:, 1]
    np.testing.assert_allclose(out, out[0])
    assert out[0] == pytest.approx(y.mean(), abs=1e-3)


def test_recalibrating_a_model_with_label_names():
    rng = np.random.default_rng(10)
    X = pd.DataFrame(rng.normal(size=(800, 2)), columns=["a", "b"])
    eta = X["a"].to_numpy()
    y = np.where(rng.random(800) < expit(eta), "improved", "not_improved")
    model = PromClassifier("logistic", calibration="none").fit(X[:500], y[:500])
    assert list(model.classes_) == ["improved", "not_improved"]
    site = recalibrate(model, y[500:], method="intercept_slope", X=X[500:])
    assert site.recalibration_.n_events == int((y[500:] == "not_improved").sum())
    with pytest.raises(ValueError, match="not the model's classes"):
        recalibrate(model, np.append(y[500:-1], "unknown"), X=X[500:])
