"""Brier scores, logistic recalibration, val.prob's smoothed errors, calibration curves.

R references: tests/reference/metrics/ (make_reference.R), computed with R 4.2.2,
rms 6.5-0 (``val.prob``), Hmisc 4.8-0 (``rcspline.eval``) and R's ``stats`` (``lowess``,
``approx``, ``glm`` with ``epsilon = 1e-15``), Debian bookworm packages.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy.special import expit, logit, ndtri

from prom.errors import StatisticalWarning
from prom.validation import (
    CalibrationCurve,
    brier_loss,
    calibration_curve,
    calibration_errors,
    calibration_intercept_slope,
    scaled_brier_score,
)
from prom.validation._smoothers import lowess_fit

REF = Path(__file__).parent / "reference" / "metrics"
few = pytest.mark.filterwarnings("ignore::prom.errors.StatisticalWarning")


@pytest.fixture(scope="module")
def binary():
    return pd.read_csv(REF / "binary_inputs.csv")


def _cases(binary, ref):
    for r in ref.itertuples():
        d = binary[binary.dataset == r.dataset]
        yield r, d.y, d[r.predictor]


# ---- R references ----------------------------------------------------------------------


def test_brier_matches_val_prob(binary):
    """rms 6.5-0 val.prob "Brier" = mean((p - y)^2)."""
    for r, y, p in _cases(binary, pd.read_csv(REF / "valprob_ref.csv")):
        # rtol=1e-14: one mean of squares; summation order only
        np.testing.assert_allclose(brier_loss(y, p), r.Brier, rtol=1e-14)
        ybar = y.mean()
        np.testing.assert_allclose(
            scaled_brier_score(y, p), 1 - r.Brier / (ybar * (1 - ybar)), rtol=1e-13
        )


def test_smoothed_errors_match_val_prob(binary):
    """rms 6.5-0 val.prob Eavg, E90, Emax; E50 from val.prob's own lines (R 4.2.2)."""
    ref = pd.read_csv(REF / "valprob_ref.csv")
    # the R script's replication of val.prob's lines gives val.prob's numbers exactly
    assert (ref.Eavg == ref.eavg_rep).all() and (ref.e90_rep == ref.E90).all()
    for r, y, p in _cases(binary, ref):
        ce = calibration_errors(y, p)
        # atol=1e-14: a line-by-line port of R's clowess; only the summation order of the
        # local weighted sums differs (observed differences <= 4e-15)
        np.testing.assert_allclose(
            [ce.eavg, ce.e50, ce.e90, ce.emax],
            [r.Eavg, r.e50_rep, r.E90, r.Emax],
            rtol=0,
            atol=1e-14,
        )
        assert ce.n == len(y)


def test_lowess_port_matches_r_lowess_per_row(binary):
    """R 4.2.2 approx(lowess(p, y, iter = 0), xout = p, ties = mean)$y, row by row."""
    ref = pd.read_csv(REF / "lowess_ref.csv")
    assert ref.groupby(["dataset", "predictor"]).ngroups == 4
    for _, g in ref.groupby(["dataset", "predictor"]):
        x, y = g.p.to_numpy(), g.y.to_numpy(float)
        _, fit = lowess_fit(x, y)
        rows = np.empty_like(fit)
        rows[np.argsort(x, kind="stable")] = fit
        # atol=1e-14: same algorithm as R's C code, pairwise instead of sequential sums
        np.testing.assert_allclose(rows, g.smoothed, rtol=0, atol=1e-14)


def test_statsmodels_lowess_differs_from_r_slightly(binary):
    """Why the port: statsmodels' lowess lacks clowess's 0.001h/0.999h weight cut-offs."""
    from statsmodels.nonparametric.smoothers_lowess import lowess

    g = pd.read_csv(REF / "lowess_ref.csv").query("dataset == 'main' and predictor == 'p1'")
    x = g.p.to_numpy()
    sm = lowess(
        g.y.to_numpy(float), x, frac=2 / 3, it=0, delta=0.01 * np.ptp(x), return_sorted=False
    )
    diff = np.abs(sm - g.smoothed).max()
    assert 1e-12 < diff < 1e-8  # ~2e-10: close, but not R's numbers


def test_recalibration_matches_glm(binary):
    """R 4.2.2 glm(binomial, epsilon = 1e-15): y ~ offset(logit(p)) and y ~ logit(p)."""
    for r, y, p in _cases(binary, pd.read_csv(REF / "recal_ref.csv")):
        f = calibration_intercept_slope(y, p)
        # rtol=1e-10: both are the MLE to ~machine precision (glm epsilon 1e-15 on the
        # deviance; ours relative step 1e-12); observed differences <= 5e-15
        np.testing.assert_allclose(
            [f.citl, f.intercept, f.slope], [r.citl, r.intercept, r.slope], rtol=1e-10
        )
        # rtol=1e-7: glm's standard errors use the IRLS weights of the iteration before
        # the last, whose coefficients can be ~1e-8 from the MLE when the deviance change
        # is already below epsilon (observed up to 7e-9); ours use the weights at the MLE
        np.testing.assert_allclose(
            [f.citl_se, f.intercept_se, f.slope_se],
            [r.citl_se, r.intercept_se, r.slope_se],
            rtol=1e-7,
        )
        z = ndtri(0.975)
        np.testing.assert_allclose(
            [f.slope_low, f.slope_high], [f.slope - z * f.slope_se, f.slope + z * f.slope_se]
        )


def test_recalibration_matches_val_prob_intercept_slope(binary):
    """rms 6.5-0 val.prob "Intercept" and "Slope" (lrm.fit of y on logit(p))."""
    for r, y, p in _cases(binary, pd.read_csv(REF / "valprob_ref.csv")):
        f = calibration_intercept_slope(y, p)
        # atol=1e-9: lrm.fit's Newton iterations stop on its own criterion (change in
        # -2 log L, eps = 0.025, then a final step); observed differences <= 2e-11
        np.testing.assert_allclose(
            [f.intercept, f.slope], [r.Intercept, r.Slope], rtol=0, atol=1e-9
        )


def test_val_prob_c_index_is_binned(binary):
    """val.prob's "C (ROC)" comes from lrm.fit, which bins predictions into 5001 cells:
    it differs from the exact AUC (pROC) by about 1e-5 when predictions are continuous."""
    from prom.validation import auc_score

    ref = pd.read_csv(REF / "valprob_ref.csv")
    for r, y, p in _cases(binary, ref):
        assert abs(auc_score(y, p) - r.C) < 5e-5  # one bin width (2e-4) bounds the rank error


def test_spline_curve_matches_r_glm_rcs(binary):
    """R 4.2.2 glm(y ~ rcspline.eval(logit(p), knots, inclx = TRUE)) (Hmisc 4.8-0),
    predict(se.fit = TRUE) on seq(min(p), max(p), length.out = 100)."""
    ref = pd.read_csv(REF / "spline_ref.csv")
    z = ndtri(0.975)
    for (ds, pred), g in ref.groupby(["dataset", "predictor"]):
        d = binary[binary.dataset == ds]
        cc = calibration_curve(d.y, d[pred])
        knots = [float(k) for k in g.knots.iloc[0].split(";")]
        # rtol=1e-14: type-7 quantiles, the same arithmetic as R's quantile()
        np.testing.assert_allclose(cc.knots, knots, rtol=1e-14)
        # atol=1e-15: linspace and seq() differ in the last bit of a few grid points
        np.testing.assert_allclose(cc.predicted, g.grid, rtol=0, atol=1e-15)
        # rtol=1e-10: the same MLE (see test_recalibration_matches_glm)
        np.testing.assert_allclose(cc.observed, expit(g.eta), rtol=1e-10)
        # rtol=1e-7: the band uses glm's vcov, from the weights one iteration before the MLE
        np.testing.assert_allclose(cc.low, expit(g.eta - z * g.se_eta), rtol=1e-7)
        np.testing.assert_allclose(cc.high, expit(g.eta + z * g.se_eta), rtol=1e-7)


# ---- hand-computed and named cases -----------------------------------------------------


@few
def test_brier_by_hand():
    assert brier_loss([0, 1], [0.2, 0.6]) == pytest.approx(0.1, abs=1e-16)
    # Brier_max = 0.5 * 0.5: 1 - 0.1 / 0.25 = 0.6
    assert scaled_brier_score([0, 1], [0.2, 0.6]) == pytest.approx(0.6, abs=1e-15)
    assert brier_loss([0, 0, 1], [0, 0, 1]) == 0 and scaled_brier_score([0, 0, 1], [0, 0, 1]) == 1
    # predicting the prevalence for everyone scores 0 on the scaled Brier
    assert scaled_brier_score([0, 0, 0, 1], [0.25] * 4) == pytest.approx(0, abs=1e-15)
    # brier_loss is defined for a single class (no error, no class check)
    assert brier_loss([1, 1, 1], [1.0, 0.5, 0.0]) == pytest.approx(1.25 / 3)


def test_recalibrated_predictions_are_perfectly_calibrated(binary):
    d = binary[binary.dataset == "main"]
    f = calibration_intercept_slope(d.y, d.p1)
    p_new = expit(f.intercept + f.slope * logit(d.p1))
    g = calibration_intercept_slope(d.y, p_new)
    # 1e-10: the MLE is equivariant under the linear map of logit(p) (Newton to 1e-12)
    assert g.intercept == pytest.approx(0, abs=1e-10) and g.slope == pytest.approx(1, rel=1e-10)
    assert g.citl == pytest.approx(0, abs=1e-10)


def test_citl_sign_follows_mean_miscalibration(binary):
    d = binary[binary.dataset == "main"]
    # p1 is too high on average (mean 0.33 v. prevalence 0.27): citl < 0
    assert calibration_intercept_slope(d.y, d.p1).citl < 0
    assert calibration_intercept_slope(d.y, d.p1 * 0.7).citl > 0


@few
def test_constant_predictions_smooth_to_the_prevalence():
    y = np.array([1, 1, 0, 0, 0] * 4)
    ce = calibration_errors(y, np.full(20, 0.3))
    # all x tied: every point gets weight 1, the smooth is mean(y) = 0.4
    assert (ce.eavg, ce.e50, ce.e90, ce.emax) == pytest.approx((0.1,) * 4, abs=1e-15)
    with pytest.raises(ValueError, match=r"all 20 predictions are equal \(p = 0.3\)"):
        calibration_intercept_slope(y, np.full(20, 0.3))


def test_calibration_errors_shuffle_invariant(binary):
    d = binary[binary.dataset == "ties"]
    perm = np.random.default_rng(1).permutation(len(d))
    a = calibration_errors(d.y, d.p1)
    b = calibration_errors(d.y.to_numpy()[perm], d.p1.to_numpy()[perm])
    # 1e-14: tied x are smoothed as one (clowess copies the fit); order changes sums only
    assert b.eavg == pytest.approx(a.eavg, abs=1e-14) and b.emax == pytest.approx(a.emax, abs=1e-14)


def test_spline_curve_shape_and_band(binary):
    d = binary[binary.dataset == "main"]
    cc = calibration_curve(d.y, d.p1, n_points=25, level=0.9, knots=3)
    assert isinstance(cc, CalibrationCurve) and cc.method == "spline" and len(cc.knots) == 3
    assert cc.predicted.size == 25 and np.all(np.diff(cc.predicted) > 0)
    assert np.all(cc.low < cc.observed) and np.all(cc.observed < cc.high)
    assert cc.predicted[0] == d.p1.min() and cc.predicted[-1] == d.p1.max()
    with pytest.raises(ValueError, match="read-only"):
        cc.observed[0] = 0.5
    frame = cc.to_frame()
    assert list(frame.columns) == ["predicted", "observed", "low", "high"] and len(frame) == 25
    wide = calibration_curve(d.y, d.p1, n_points=25, level=0.99, knots=3)
    assert np.all(wide.high - wide.low > cc.high - cc.low)


def test_lowess_curve_bootstrap_band(binary):
    d = binary[binary.dataset == "main"]
    cc = calibration_curve(d.y, d.p1, method="lowess", n_points=20, n_boot=25, random_state=7)
    again = calibration_curve(d.y, d.p1, method="lowess", n_points=20, n_boot=25, random_state=7)
    np.testing.assert_array_equal(cc.high, again.high)  # seeded: reproducible
    assert cc.knots == () and np.all(cc.low <= cc.high)
    # the curve at the rows' predictions is the one calibration_errors uses
    plain = calibration_curve(d.y, d.p1, method="lowess", n_boot=0)
    assert plain.low is None and plain.to_frame()["low"].isna().all()
    _xs, fit = lowess_fit(d.p1.to_numpy(), d.y.to_numpy(float))
    np.testing.assert_allclose(plain.observed[[0, -1]], fit[[0, -1]], rtol=1e-14)


# ---- errors and warnings ---------------------------------------------------------------


def test_recalibration_refuses_zero_and_one(binary):
    d = binary[binary.dataset == "main"]
    p = d.p1.to_numpy().copy()
    p[[3, 9]] = [0.0, 1.0]
    with pytest.raises(
        ValueError,
        match=r"infinite for 2 prediction\(s\) of exactly 0 or 1 "
        r"\(0-based rows 3, 9\)",
    ):
        calibration_intercept_slope(d.y.to_numpy(), p)
    with pytest.raises(ValueError, match=r"spline calibration curve uses logit"):
        calibration_curve(d.y.to_numpy(), p)
    calibration_errors(d.y, p)  # lowess needs no logit: fine


def test_separation_warns_and_gives_nan():
    y = np.r_[np.zeros(15), np.ones(15)]
    p = np.r_[np.linspace(0.05, 0.4, 15), np.linspace(0.6, 0.95, 15)]
    with pytest.warns(StatisticalWarning, match=r"did not converge.*separate"):
        f = calibration_intercept_slope(y, p)
    assert np.isnan(f.slope) and np.isnan(f.intercept) and np.isfinite(f.citl)


def test_calibration_argument_errors(binary):
    d = binary[binary.dataset == "main"]
    with pytest.raises(ValueError, match=r"method must be 'spline' or 'lowess'"):
        calibration_curve(d.y, d.p1, method="loess")
    with pytest.raises(ValueError, match=r"knots must be between 3 and 7; got 9"):
        calibration_curve(d.y, d.p1, knots=9)
    with pytest.raises(TypeError, match=r"n_points must be an integer"):
        calibration_curve(d.y, d.p1, n_points=10.5)
    with pytest.raises(ValueError, match=r"too few distinct values \(2\)"):
        calibration_curve(np.r_[np.zeros(20), np.ones(20)], np.r_[[0.2, 0.8] * 20])
    with pytest.raises(ValueError, match=r"single class"):
        scaled_brier_score(np.ones(30), np.full(30, 0.9))
    with pytest.raises(ValueError, match=r"single class: all 30 value\(s\) are 0"):
        calibration_errors(np.zeros(30), np.linspace(0, 1, 30))
    with pytest.warns(
        StatisticalWarning,
        match=r"only 3 events \(y == 1\) among 40 rows; "
        r"the calibration slope is unstable",
    ):
        calibration_intercept_slope(np.isin(np.arange(40), [5, 20, 35]), np.linspace(0.1, 0.9, 40))
