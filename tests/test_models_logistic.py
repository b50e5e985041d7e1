"""Odds ratios of the logistic baseline: R's glm, scikit-learn's fit, separation.

R reference: R 4.2.2 (Debian bookworm), on data computed identically in R and here:

    j <- 1:400; x1 <- sin(j); x2 <- cos(3 * j) * 2
    g <- factor(ifelse(j %% 6 < 3, "a", ifelse(j %% 6 < 5, "b", "c")), levels = c("a", "b", "c"))
    u <- (j * 0.6180339887498949) %% 1
    y <- as.integer(u < plogis(0.3 + 0.8 * x1 - 0.5 * x2 + 0.7 * (g == "b") - 0.6 * (g == "c")))
    fit <- glm(y ~ x1 + x2 + g, family = binomial,
               control = glm.control(epsilon = 1e-14, maxit = 100))
    coef(summary(fit))[, 1:2]; exp(confint.default(fit))

(sum(y) = 233 in both.) Level "a" is the most frequent, so it is the reference in both.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.special import expit

from prom.models import PromClassifier
from prom.models.logistic import LogisticFitError, odds_ratios

R_COEF = {  # feature: (estimate, standard error)
    "(intercept)": (0.20774212970309286, 0.15467885416164909),
    "x1": (0.82639214732143362, 0.16336372712113359),
    "x2": (-0.48308600474163987, 0.082502740976703903),
    "g=b": (0.79964071836408868, 0.2572800258858654),
    "g=c": (-0.42132588561599632, 0.31071349469171278),
}
R_CI = {
    "(intercept)": (0.90898848411647137, 1.66680248764033),
    "x1": (1.6589836001617733, 3.1474077227044623),
    "x2": (0.5247735694654313, 0.72514502924026369),
    "g=b": (1.3436383669520764, 3.6836359822319578),
    "g=c": (0.35689518322576586, 1.2064249187132901),
}


def _r_data():
    j = np.arange(1, 401)
    x1, x2 = np.sin(j), np.cos(3 * j) * 2
    g = np.where(j % 6 < 3, "a", np.where(j % 6 < 5, "b", "c"))
    u = np.mod(j * 0.6180339887498949, 1)
    y = (u < expit(0.3 + 0.8 * x1 - 0.5 * x2 + 0.7 * (g == "b") - 0.6 * (g == "c"))).astype(int)
    return pd.DataFrame({"x1": x1, "x2": x2, "g": g}), y


def test_matches_r_glm():
    """Coefficients and SEs to 1e-6 relative (R's glm stops at epsilon = 1e-14 on the
    deviance; statsmodels' Newton at its own tolerance), Wald intervals likewise."""
    X, y = _r_data()
    assert y.sum() == 233
    table = odds_ratios(X, y).set_index("feature")
    assert list(table.index) == list(R_COEF)
    for f, (est, se) in R_COEF.items():
        assert table.loc[f, "coef"] == pytest.approx(est, rel=1e-6)
        assert table.loc[f, "se"] == pytest.approx(se, rel=1e-6)
        assert table.loc[f, "odds_ratio"] == pytest.approx(np.exp(est), rel=1e-6)
        lo, hi = R_CI[f]
        assert table.loc[f, "ci_low"] == pytest.approx(lo, rel=1e-6)
        assert table.loc[f, "ci_high"] == pytest.approx(hi, rel=1e-6)
    assert table.loc["g=b", "variable"] == "g"
    assert (table["outcome"] == 1).all()


def test_equals_sklearn_on_the_same_design():
    """The logistic family's coefficients are the log odds ratios (same MLE, same design)."""
    rng = np.random.default_rng(2)
    n = 800
    X = pd.DataFrame(
        {
            "age_years": rng.uniform(20, 80, n),
            "bmi_kg_m2": np.where(rng.random(n) < 0.1, np.nan, rng.normal(27, 4, n)),
            "smoking": pd.Categorical(
                rng.choice(["never", "former", "current"], n, p=[0.5, 0.3, 0.2]),
                categories=["never", "former", "current"],
            ),
            "odi_0m": rng.uniform(10, 80, n),
        }
    )
    eta = -1 + 0.02 * X["age_years"] + 0.04 * (X["odi_0m"] - 40) - 0.7 * (X["smoking"] == "current")
    y = (rng.random(n) < expit(eta)).astype(int)
    model = PromClassifier("logistic", calibration="none", splines=True).fit(X, y)
    table = odds_ratios(X, y, model=model)
    sk = np.r_[model.estimator_.intercept_, model.estimator_.coef_[0]]
    np.testing.assert_allclose(np.log(table["odds_ratio"]), sk, rtol=1e-6, atol=1e-9)
    assert list(table["feature"][1:]) == list(model.preprocessor_.feature_names_out_)
    assert "age_years__rcs1" in set(table["feature"])
    # without a model, the same design is rebuilt from the predictors
    again = odds_ratios(X, y, splines=True)
    np.testing.assert_allclose(again["coef"], table["coef"], rtol=1e-8)


def test_separation_names_the_column():
    rng = np.random.default_rng(3)
    n = 300
    X = pd.DataFrame(
        {
            "x": rng.normal(size=n),
            "employment": rng.choice(["employed", "retired", "student"], n, p=[0.6, 0.35, 0.05]),
        }
    )
    y = (rng.random(n) < 0.4).astype(int)
    y[X["employment"].to_numpy() == "student"] = 1
    with pytest.raises(LogisticFitError, match=r"separat.*employment=student.*have outcome 1"):
        odds_ratios(X, y)


def test_multiclass_gives_one_block_per_outcome():
    rng = np.random.default_rng(4)
    n = 900
    X = pd.DataFrame({"x": rng.normal(size=n)})
    logits = np.column_stack([np.zeros(n), 0.8 * X["x"], -0.5 * X["x"] - 0.5])
    p = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    y = np.array(["conservative", "surgery", "tfesi"])[
        (p.cumsum(1) < rng.random(n)[:, None]).sum(1)
    ]
    table = odds_ratios(X, y)
    assert list(table["outcome"]) == ["surgery", "surgery", "tfesi", "tfesi"]
    x = table[table["feature"] == "x"].set_index("outcome")["coef"]
    assert x["surgery"] == pytest.approx(0.8, abs=0.25)
    assert x["tfesi"] == pytest.approx(-0.5, abs=0.25)


def test_errors():
    X, y = _r_data()
    with pytest.raises(TypeError, match="PromClassifier\\(family='logistic'\\)"):
        odds_ratios(
            X, y, model=PromClassifier("lightgbm", n_iter=1, calibration="none").fit(X[["x1"]], y)
        )
    with pytest.raises(ValueError, match="confidence level"):
        odds_ratios(X, y, level=95)
