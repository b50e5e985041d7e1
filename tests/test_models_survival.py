"""Cox model and Kaplan–Meier curves: R's coxph, a known hazard ratio, the KM estimator.

R reference: R 4.2.2, survival 3.5-3 (Debian bookworm), data computed identically here:

    j <- 1:400; x1 <- sin(j); x2 <- cos(3 * j) * 2
    g <- factor(ifelse(j %% 6 < 3, "a", ifelse(j %% 6 < 5, "b", "c")), levels = c("a", "b", "c"))
    tt <- -log(1 - ((j * 0.7548776662466927) %% 1)) / (0.05 * exp(0.5 * x1 + 0.8 * (g == "b")))
    cens <- 5 + 40 * ((j * 0.5698402909980532) %% 1)
    time <- pmin(tt, cens); event <- as.integer(tt <= cens)          # 288 events
    summary(coxph(Surv(time, event) ~ x1 + x2 + g, ties = "efron",
                  control = coxph.control(eps = 1e-10, iter.max = 50)))$coefficients[, c(1, 3)]
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from prom.models.survival import PromCoxModel, kaplan_meier_curves, survival_target
from prom.validation import kaplan_meier

R_COX = {  # feature: (coef, se)
    "x1": (0.5205640854573973, 0.087034785531157025),
    "x2": (0.0058815436455029579, 0.04122227928892841),
    "g=b": (0.88321437556370075, 0.1310209669562386),
    "g=c": (0.12147180670436387, 0.17201707254226062),
}


def _r_data():
    j = np.arange(1, 401)
    x1, x2 = np.sin(j), np.cos(3 * j) * 2
    g = np.where(j % 6 < 3, "a", np.where(j % 6 < 5, "b", "c"))
    tt = -np.log(1 - np.mod(j * 0.7548776662466927, 1)) / (
        0.05 * np.exp(0.5 * x1 + 0.8 * (g == "b"))
    )
    cens = 5 + 40 * np.mod(j * 0.5698402909980532, 1)
    y = pd.DataFrame({"time": np.minimum(tt, cens), "event": (tt <= cens).astype(float)})
    return pd.DataFrame({"x1": x1, "x2": x2, "g": g}), y


def test_matches_r_coxph():
    """Efron ties in both; estimates to 1e-6 relative (both iterate to ~1e-10)."""
    X, y = _r_data()
    assert y["event"].sum() == 288
    s = PromCoxModel().fit(X, y).summary().set_index("feature")
    assert list(s.index) == list(R_COX)
    for f, (coef, se) in R_COX.items():
        assert s.loc[f, "coef"] == pytest.approx(coef, rel=1e-6, abs=1e-9)
        assert s.loc[f, "se"] == pytest.approx(se, rel=1e-6)
        assert s.loc[f, "hazard_ratio"] == pytest.approx(np.exp(coef), rel=1e-6)
    assert s.loc["g=b", "variable"] == "g"


def _weibull_ph(n, seed, beta=(0.7, -0.5)):
    """Weibull PH (shape 0.8), binary x and normal z, independent uniform censoring."""
    rng = np.random.default_rng(seed)
    X = pd.DataFrame({"treated": (rng.random(n) < 0.4).astype(float), "z": rng.normal(size=n)})
    lp = beta[0] * X["treated"] + beta[1] * X["z"]
    t = (-np.log(rng.random(n)) / (0.02 * np.exp(lp))) ** (1 / 0.8)
    c = rng.uniform(10, 80, n)
    return X, pd.DataFrame({"time": np.minimum(t, c), "event": (t <= c).astype(float)})


def test_recovers_a_known_hazard_ratio():
    """n = 3,000 with ~1,700 events: SE of each coefficient ≈ 0.03; 3.5 SE band."""
    X, y = _weibull_ph(3000, 1)
    m = PromCoxModel().fit(X, y)
    s = m.summary().set_index("feature")
    assert s.loc["treated", "coef"] == pytest.approx(0.7, abs=3.5 * s.loc["treated", "se"])
    assert s.loc["z", "coef"] == pytest.approx(-0.5, abs=3.5 * s.loc["z", "se"])
    assert s.loc["treated", "ci_low"] < np.exp(0.7) < s.loc["treated", "ci_high"]
    # predictions: risk rises with the linear predictor; C-index well above 0.5
    risk = m.predict_risk(X, horizon=24)
    assert ((risk > 0) & (risk < 1)).all()
    lp = m.predict(X)
    assert np.all(np.diff(risk[np.argsort(lp)]) >= -1e-12)
    assert 0.6 < m.score(X, y) < 0.75
    sv = m.predict_survival(X.head(3), times=[6, 12, 24])
    assert (np.diff(sv.to_numpy(), axis=1) <= 0).all()
    # partial effects: the hazard ratio of 'treated' 1 vs 0 is exp(coef)
    pe = m.partial_effects("treated", values=[0.0, 1.0])
    assert pe["hazard_ratio"].iloc[1] / pe["hazard_ratio"].iloc[0] == pytest.approx(
        np.exp(s.loc["treated", "coef"]), rel=1e-9
    )
    assert pe["risk"].iloc[1] > pe["risk"].iloc[0]


def test_kaplan_meier_curves_match_the_validation_estimator():
    """Survival estimates equal prom.validation.kaplan_meier (checked against R survfit)."""
    X, y = _weibull_ph(1000, 2)
    groups = np.where(X["treated"] == 1, "treated", "control")
    curves = kaplan_meier_curves(y["time"], y["event"], groups)
    assert set(curves["group"]) == {"treated", "control"}
    for name in ("treated", "control"):
        m = groups == name
        c = curves[curves["group"] == name]
        times = [5.0, 20.0, 40.0]
        ref = kaplan_meier(y["time"][m], y["event"][m], times)
        at = np.searchsorted(c["time"].to_numpy(), times, side="right") - 1
        np.testing.assert_allclose(c["survival"].to_numpy()[at], ref["survival"], rtol=1e-12)
        assert c["at_risk"].iloc[0] == m.sum()
        assert (np.diff(c["survival"]) <= 0).all()
        assert (c["ci_low"] <= c["survival"]).all() and (c["survival"] <= c["ci_high"]).all()
    # treated (HR 2) falls faster than control
    s_t = curves[curves.group == "treated"].survival.iloc[-1]
    s_c = curves[curves.group == "control"].survival.iloc[-1]
    assert s_t < s_c
    single = kaplan_meier_curves(y["time"], y["event"])
    assert set(single["group"]) == {"all"}


def test_survival_target_and_errors():
    time, event = survival_target(np.array([[1.0, 1], [2.0, 0]]))
    np.testing.assert_array_equal(time, [1, 2])
    np.testing.assert_array_equal(event, [1, 0])
    from prom.outcomes import derive_label  # noqa: F401  (y may be derive_label's output)

    y = pd.DataFrame({"time": [1.0, np.nan, 3.0], "event": [1.0, 0.0, np.nan]}, index=[10, 11, 12])
    with pytest.raises(ValueError, match=r"2 row\(s\) without time or event \(rows 11, 12\)"):
        survival_target(y, y.index)
    with pytest.raises(ValueError, match="no events"):
        survival_target(np.array([[1.0, 0], [2.0, 0]]))
    with pytest.raises(ValueError, match="negative"):
        survival_target(np.array([[-1.0, 1], [2.0, 0]]))
    X, yy = _r_data()
    with pytest.raises(ValueError, match="penalizer=-1"):
        PromCoxModel(penalizer=-1).fit(X, yy)
    with pytest.raises(ValueError, match="'nope' is not a predictor"):
        PromCoxModel().fit(X, yy).partial_effects("nope")


def test_on_the_simulated_cohort_surgery_conversion():
    """The task's own columns: derive_label's output is accepted as y; the fitted hazard
    ratios point the way the simulator's DGP does (higher ODI → earlier surgery)."""
    from prom.cohort.simulate import simulate_cohort
    from prom.instruments import add_scores
    from prom.outcomes import TASKS, derive_label

    df = add_scores(simulate_cohort(3000, seed=3))
    lab = derive_label(df, "surgery_conversion")
    rows = lab["time"].notna()
    preds = ["age_years", "odi_0m", "nrs_leg_0m", "diagnosis", "opioid_use", "treatment"]
    assert set(preds) <= set(TASKS["surgery_conversion"].predictors)
    m = PromCoxModel(predictors=preds, penalizer=0.01).fit(df[rows], lab[rows])
    s = m.summary().set_index("feature")
    assert s.loc["odi_0m", "coef"] > 0 and s.loc["nrs_leg_0m", "coef"] > 0
    true_lp = df.loc[rows, "true_lp_surgery_conversion"]
    assert np.corrcoef(m.predict(df[rows]), true_lp)[0, 1] > 0.7


def test_a_rows_risk_does_not_depend_on_the_rows_scored_with_it():
    """Every row alone, in sevens and all at once: the same bytes (the linear predictor's
    matrix product changed the last bit with the number of rows; a registry's row scored
    from one file or from four got two numbers)."""
    X, y = _weibull_ph(3000, seed=4)
    rng = np.random.default_rng(0)
    X = X.assign(**{f"z{k}": rng.normal(size=len(X)) for k in range(8)})
    m = PromCoxModel().fit(X, y)
    full = m.predict_risk(X, horizon=1.0)
    for k in (1, 7, 333):
        parts = np.concatenate(
            [m.predict_risk(X.iloc[i : i + k], horizon=1.0) for i in range(0, len(X), k)]
        )
        assert (parts == full).all(), k
