"""compare_models: paired comparison of models with the logistic baseline.

The point estimates come from the metric functions already checked against R (pROC's
DeLong test, rms val.prob, dcurves' net benefit; tests/test_metrics_*.py); here they are
checked to be those functions' values, the vectorised bootstrap is checked against a
plain loop over the same resamples, and the verdict rules on constructed cases.
"""

from __future__ import annotations

import time

import numpy as np
import pandas as pd
import pytest
from scipy.special import expit

from prom.errors import StatisticalWarning
from prom.validation import (
    auc_ci,
    brier_loss,
    calibration_intercept_slope,
    delong_test,
    multiclass_auc_ovr,
    net_benefit,
)
from prom.validation.compare import ComparisonTable, compare_models
from prom.validation.discrimination import auc_from_ranks as _auc
from prom.validation.paired_bootstrap import count_matrix as _count_matrix
from prom.validation.paired_bootstrap import weighted_auc as _weighted_auc


@pytest.fixture(scope="module")
def binary():
    rng = np.random.default_rng(3)
    n = 3000
    x = rng.normal(size=(n, 3))
    lp = -0.5 + x @ [0.9, 0.6, 0.4]
    y = rng.binomial(1, expit(lp))
    base = expit(-0.5 + x @ [0.9, 0.6, 0.0])  # logistic without the third predictor
    return y, {
        "logistic": base,
        "same": base.copy(),
        "better": expit(lp),  # the true risk
        "worse": expit(-0.5 + 0.9 * x[:, 0]),  # one predictor only
        "overconfident": expit(1.4 * lp),  # higher AUC, slope ~0.69
    }


def test_verdicts_on_constructed_cases(binary):
    y, preds = binary
    res = compare_models(y, preds, thresholds=(0.2, 0.4))
    assert isinstance(res, ComparisonTable)
    v = res.table["verdict"]
    assert v["logistic"] == "baseline"
    assert v["same"] == "no clear difference"
    assert v["better"] == "better"
    assert v["worse"] == "worse"
    assert v["overconfident"] == "no clear difference"
    ex = res.table["explanation"]
    assert ex["same"].startswith("no better than logistic regression: AUC difference +0.000")
    assert ex["better"].startswith("better than logistic regression: AUC difference +0.0")
    assert "DeLong p < 0.001" in ex["better"]
    assert ex["worse"].startswith("worse than logistic regression: lower AUC")
    assert "calibration slope 0.69 is outside 0.8-1.2; recalibrate" in ex["overconfident"]
    # identical predictions: every difference and its interval is exactly 0
    same = res.table.loc["same"]
    assert same.delta_auc == 0 and same.delta_auc_p == 1
    assert same.delta_brier_low == same.delta_brier_high == 0
    nb = res.net_benefit[res.net_benefit.model == "same"]
    assert (nb.delta_net_benefit == 0).all() and (nb.delta_low == 0).all()
    # table order: baseline first, then the dict order
    assert list(res.table.index) == ["logistic", "same", "better", "worse", "overconfident"]


def test_worse_by_brier_alone():
    """A model that ranks as well but is badly miscalibrated is worse by the Brier score."""
    rng = np.random.default_rng(5)
    x = rng.normal(size=4000)
    y = rng.binomial(1, expit(-1 + x))
    res = compare_models(y, {"logistic": expit(-1 + x), "shifted": expit(0.5 + x)})
    r = res.table.loc["shifted"]
    assert r.delta_auc == 0 and r.verdict == "worse"
    assert "higher Brier score" in r.explanation and "lower AUC" not in r.explanation


def test_point_estimates_are_the_metric_functions(binary):
    y, preds = binary
    res = compare_models(y, preds, thresholds=(0.1, 0.3), level=0.9)
    for name, p in preds.items():
        r = res.table.loc[name]
        a = auc_ci(y, p, level=0.9)
        c = calibration_intercept_slope(y, p, level=0.9)
        # rtol=0: the same functions on the same arrays
        assert (r.auc, r.auc_low, r.auc_high) == (a.auc, a.low, a.high)
        assert (r.calibration_slope, r.calibration_intercept, r.citl) == (
            c.slope,
            c.intercept,
            c.citl,
        )
        np.testing.assert_allclose(r.brier, brier_loss(y, p), rtol=1e-15)
        if name != "logistic":
            d = delong_test(y, p, preds["logistic"], level=0.9)
            assert (r.delta_auc, r.delta_auc_low, r.delta_auc_high, r.delta_auc_p) == (
                d.diff,
                d.low,
                d.high,
                d.p_value,
            )
        nb = net_benefit(y, p, [0.1, 0.3])
        got = res.net_benefit[res.net_benefit.model == name]
        np.testing.assert_allclose(got.net_benefit, nb.net_benefit, rtol=1e-15)
        np.testing.assert_allclose(got.treat_all, nb.treat_all, rtol=1e-15)


def test_bootstrap_matches_a_plain_loop(binary):
    """Percentile intervals of ΔBrier and ΔNB equal a loop over the same resampled rows."""
    y, preds = binary
    y, preds = y[:400], {k: v[:400] for k, v in preds.items()}
    res = compare_models(y, preds, n_boot=50, thresholds=(0.25,), random_state=11)
    idx = np.random.default_rng(11).integers(0, 400, size=(50, 400))
    base = preds["logistic"]
    for name in ("better", "worse"):
        p = preds[name]
        d_brier = [np.mean((p[i] - y[i]) ** 2) - np.mean((base[i] - y[i]) ** 2) for i in idx]
        d_nb = [
            net_benefit(y[i], p[i], [0.25]).net_benefit[0]
            - net_benefit(y[i], base[i], [0.25]).net_benefit[0]
            for i in idx
        ]
        r = res.table.loc[name]
        # rtol=1e-12: a matrix product instead of per-replicate means (summation order)
        np.testing.assert_allclose(
            [r.delta_brier_low, r.delta_brier_high],
            np.quantile(d_brier, [0.025, 0.975]),
            rtol=1e-12,
        )
        nb = res.net_benefit[res.net_benefit.model == name].iloc[0]
        np.testing.assert_allclose(
            [nb.delta_low, nb.delta_high], np.quantile(d_nb, [0.025, 0.975]), rtol=1e-12, atol=1e-15
        )


def test_weighted_auc_equals_auc_of_resampled_rows():
    rng = np.random.default_rng(0)
    n = 300
    y = rng.binomial(1, 0.3, n).astype(float)
    p = np.round(rng.uniform(size=n) * 0.5 + 0.3 * y, 1)  # heavy ties
    idx = rng.integers(0, n, size=(40, n))
    got = _weighted_auc(_count_matrix(idx, n), y, p)
    want = [_auc(y[i], p[i]) for i in idx]
    # atol=1e-15: the same Mann-Whitney count, accumulated by tie groups
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-15)


def test_deterministic_by_seed(binary):
    y, preds = binary
    a = compare_models(y, preds, n_boot=30, random_state=1)
    b = compare_models(y, preds, n_boot=30, random_state=1)
    c = compare_models(y, preds, n_boot=30, random_state=2)
    pd.testing.assert_frame_equal(a.to_frame(), b.to_frame())
    assert not np.array_equal(
        a.table.delta_brier_low.to_numpy()[1:], c.table.delta_brier_low.to_numpy()[1:]
    )


def test_speed_five_models_200_replicates_10000_rows():
    """5 models x 200 replicates at n = 10,000: ~0.15 s measured; 10 s is a loose bound
    for a loaded 2-core CI machine."""
    rng = np.random.default_rng(0)
    n = 10_000
    x = rng.normal(size=(n, 3))
    y = rng.binomial(1, expit(x @ [1, 0.5, 0.2]))
    preds = {f"m{j}": expit(x @ [1, 0.5, 0.2 * j / 4]) for j in range(5)}
    t0 = time.perf_counter()
    res = compare_models(y, preds, baseline="m0", n_boot=200)
    assert time.perf_counter() - t0 < 10
    assert res.n_boot_used == 200 and len(res.net_benefit) == 25


def test_summary_and_frame(binary):
    y, preds = binary
    res = compare_models(y, preds, n_boot=20, thresholds=(0.2,))
    frame = res.to_frame()
    assert "delta_nb_0.2" in frame.columns and frame.loc["logistic", "delta_nb_0.2"] == 0
    text = res.summary()
    assert "Comparison with 'logistic' on the same 3,000 rows" in text
    assert "-> better than logistic regression" in text


def test_pandas_inputs_and_no_mutation(binary):
    y, preds = binary
    idx = pd.RangeIndex(100, 100 + len(y))
    ys = pd.Series(y, index=idx)
    ps = {k: pd.Series(v, index=idx) for k, v in preds.items()}
    before = {k: v.copy() for k, v in ps.items()}
    a = compare_models(ys, ps, n_boot=20)
    b = compare_models(y, preds, n_boot=20)
    pd.testing.assert_frame_equal(a.table, b.table)
    for k in ps:
        pd.testing.assert_series_equal(ps[k], before[k])


# ---- multiclass ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def multiclass():
    rng = np.random.default_rng(8)
    n = 1500
    x = rng.normal(size=(n, 2))
    eta = np.column_stack([np.zeros(n), 1.2 * x[:, 0], -0.8 * x[:, 0] + 1.0 * x[:, 1]])
    P_true = np.exp(eta) / np.exp(eta).sum(axis=1, keepdims=True)
    labels = np.array(["conservative", "surgery", "tfesi"])
    y = labels[[rng.choice(3, p=pr) for pr in P_true]]
    eta_b = eta.copy()
    eta_b[:, 2] = -0.8 * x[:, 0]
    P_base = np.exp(eta_b) / np.exp(eta_b).sum(axis=1, keepdims=True)
    return y, {
        "logistic": P_base,
        "same": P_base.copy(),
        "better": P_true,
        "worse": np.full((n, 3), 1 / 3),
    }


def test_multiclass_comparison(multiclass):
    y, preds = multiclass
    res = compare_models(y, preds, n_boot=100)
    assert res.kind == "multiclass" and res.net_benefit.empty
    for name, P in preds.items():
        m = multiclass_auc_ovr(y, P, ["conservative", "surgery", "tfesi"])
        # rtol=1e-14: the weighted-rank AUC with unit weights is the Mann-Whitney AUC
        np.testing.assert_allclose(res.table.loc[name, "auc"], m.macro, rtol=1e-14)
        onehot = (y[:, None] == np.array(["conservative", "surgery", "tfesi"])).astype(float)
        np.testing.assert_allclose(
            res.table.loc[name, "brier"], np.mean(np.sum((P - onehot) ** 2, axis=1)), rtol=1e-14
        )
    v = res.table["verdict"]
    assert (v["same"], v["better"], v["worse"]) == ("no clear difference", "better", "worse")
    assert res.table.loc["same", "delta_auc_low"] == res.table.loc["same", "delta_auc_high"] == 0
    assert "calibration_slope" not in res.table.columns
    assert "macro one-vs-rest AUC" in res.summary()


def test_multiclass_column_order(multiclass):
    y, preds = multiclass
    order = ["tfesi", "conservative", "surgery"]
    perm = [2, 0, 1]
    a = compare_models(y, preds, n_boot=10)
    b = compare_models(y, {k: v[:, perm] for k, v in preds.items()}, n_boot=10, classes=order)
    pd.testing.assert_frame_equal(a.table, b.table)


# ---- warnings and errors ---------------------------------------------------------------


def test_few_events_and_dropped_replicates():
    rng = np.random.default_rng(2)
    y = np.zeros(60, dtype=int)
    y[:3] = 1
    p = np.clip(rng.uniform(size=60) * 0.3 + 0.2 * y, 0.01, 0.99)
    with pytest.warns(StatisticalWarning) as rec:
        res = compare_models(y, {"logistic": p, "m": np.clip(p + 0.01, 0, 1)}, n_boot=100)
    text = " ".join(str(w.message) for w in rec)
    assert "only 3 events or non-events among 60 rows" in text
    assert "bootstrap replicates lack events or non-events and were dropped" in text
    assert 0 < res.n_boot_used < 100


def test_clipped_predictions_warn():
    y = np.array([0, 1] * 50)
    p = np.where(y == 1, 0.7, 0.2)
    p[:4] = [0.0, 1.0, 0.0, 1.0]
    with pytest.warns(
        StatisticalWarning,
        match=r"4 predictions are exactly 0 or 1 \(m 4 of 100\); they were "
        r"clipped to \[1e-08",
    ):
        compare_models(y, {"logistic": np.full(100, 0.5) + 0.001 * y, "m": p}, n_boot=10)


@pytest.mark.parametrize(
    "call, err, match",
    [
        (lambda y, p: compare_models(y, [p]), TypeError, "predictions must be a dict"),
        (
            lambda y, p: compare_models(y, {"lr": p, "m": p}),
            ValueError,
            "baseline 'logistic' is not among the predictions .*'lr', 'm'",
        ),
        (lambda y, p: compare_models(y, {"logistic": p}), ValueError, "holds only the baseline"),
        (
            lambda y, p: compare_models(y, {"logistic": p, 3: p}),
            TypeError,
            "model names must be strings",
        ),
        (
            lambda y, p: compare_models(y, {"logistic": p, "m": p}, baseline=None),
            TypeError,
            "baseline must be the name",
        ),
        (
            lambda y, p: compare_models(y, {"logistic": p, "m": p * 100}),
            ValueError,
            r"predictions\['m'\] must be predicted probabilities in \[0, 1\]",
        ),
        (
            lambda y, p: compare_models(y, {"logistic": p, "m": p[:-1]}),
            ValueError,
            "lengths differ",
        ),
        (
            lambda y, p: compare_models(y, {"logistic": p, "m": p}, thresholds=(0, 0.2)),
            ValueError,
            "thresholds must be probabilities strictly between 0 and 1; got 0",
        ),
        (
            lambda y, p: compare_models(y, {"logistic": p, "m": p}, slope_range=(1.1, 1.3)),
            ValueError,
            "slope_range must satisfy 0 <= low < 1 < high",
        ),
        (
            lambda y, p: compare_models(y, {"logistic": p, "m": p}, slope_range=0.8),
            TypeError,
            "slope_range must be two numbers",
        ),
        (
            lambda y, p: compare_models(y, {"logistic": p, "m": p}, n_boot=0),
            ValueError,
            "n_boot must be >= 1",
        ),
        (
            lambda y, p: compare_models(y, {"logistic": p, "m": p}, random_state="a"),
            TypeError,
            "random_state must be an integer seed",
        ),
        (
            lambda y, p: compare_models(y, {"logistic": p, "m": p}, classes=[0, 1]),
            ValueError,
            "classes= is for multiclass outcomes",
        ),
        (
            lambda y, p: compare_models(y.astype(float) * 2, {"logistic": p, "m": p}),
            ValueError,
            "code a binary outcome as 0/1",
        ),
        (
            lambda y, p: compare_models(np.zeros_like(y), {"logistic": p, "m": p}),
            ValueError,
            "single class",
        ),
    ],
)
def test_errors(call, err, match):
    rng = np.random.default_rng(0)
    y = rng.binomial(1, 0.4, 200)
    p = np.clip(0.3 + 0.2 * y + rng.normal(0, 0.1, 200), 0.01, 0.99)
    with pytest.raises(err, match=match):
        call(y, p)


def test_misaligned_series_are_refused():
    y = pd.Series([0, 1] * 20, index=range(40))
    p = pd.Series(np.linspace(0.1, 0.9, 40), index=range(1, 41))
    with pytest.raises(ValueError, match=r"predictions\['m'\] has a different index from y"):
        compare_models(y, {"logistic": p.to_numpy(), "m": p})


def test_multiclass_shape_error(multiclass):
    y, preds = multiclass
    with pytest.raises(ValueError, match=r"predictions\['bad'\]: P must have shape \(n, 3\)"):
        compare_models(y, {"logistic": preds["logistic"], "bad": preds["logistic"][:, :2]})
