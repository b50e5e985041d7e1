"""Cross-validation, bootstrap optimism and internal-external validation by site.

R references: tests/reference/validation/ (make_reference.R), computed with R 4.2.2,
rms 6.5-0 (``validate(lrm(...), method = "boot", B = 40)`` with its bootstrap indices
recorded) and metafor 3.8-1 (``rma(method = "DL")``), Debian bookworm packages.
The other tests use synthetic data with a known data-generating process.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy.special import expit
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.compose import make_column_transformer
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.neighbors import KNeighborsClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler
from sklearn.tree import DecisionTreeClassifier
from threadpoolctl import threadpool_limits

from prom.errors import StatisticalWarning
from prom.validation import (
    auc_ci,
    auc_score,
    brier_loss,
    calibration_intercept_slope,
    multiclass_auc_ovr,
    scaled_brier_score,
)
from prom.validation._smoothers import logistic_fit
from prom.validation.resampling import (
    CVResult,
    IECVResult,
    OptimismResult,
    bootstrap_optimism,
    cross_validated_predictions,
    internal_external_cv,
    random_effects_meta,
)

REF = Path(__file__).parent / "reference" / "validation"


def lr():
    return make_pipeline(StandardScaler(), LogisticRegression(C=np.inf, solver="newton-cholesky"))


def simulate(n, rng, n_noise=0, intercept=-0.5, beta=(0.8, 0.5, 0.3)):
    X = rng.normal(size=(n, len(beta) + n_noise))
    y = rng.binomial(1, expit(intercept + X[:, : len(beta)] @ np.asarray(beta)))
    return X, y


class NewtonLogistic(ClassifierMixin, BaseEstimator):
    """Unpenalised logistic regression fitted to machine precision (as rms's lrm)."""

    def fit(self, X, y):
        X = np.asarray(X, float)
        self.coef_, _, _ = logistic_fit(np.column_stack([np.ones(len(X)), X]), np.asarray(y, float))
        self.classes_ = np.array([0, 1])
        return self

    def predict_proba(self, X):
        p = expit(np.column_stack([np.ones(len(X)), np.asarray(X, float)]) @ self.coef_)
        return np.column_stack([1 - p, p])


class Memoriser(ClassifierMixin, BaseEstimator):
    """Remembers each training row's outcome by its id (column 0); 0.5 for unseen rows."""

    def fit(self, X, y):
        self.seen_ = dict(zip(np.asarray(X)[:, 0].tolist(), np.asarray(y).tolist(), strict=True))
        self.classes_ = np.array([0, 1])
        return self

    def predict_proba(self, X):
        p = np.array([self.seen_.get(i, 0.5) for i in np.asarray(X)[:, 0].tolist()], float)
        return np.column_stack([1 - p, p])


@pytest.fixture(scope="module")
def data():
    return simulate(600, np.random.default_rng(0))


# ---- cross-validation ------------------------------------------------------------------


def test_cv_shapes_folds_and_metrics(data):
    X, y = data
    res = cross_validated_predictions(lr(), X, y, n_splits=5, n_repeats=2)
    assert isinstance(res, CVResult)
    assert res.probabilities.shape == (2, 600) and res.folds.shape == (2, 600)
    assert not res.probabilities.flags.writeable
    for r in range(2):
        counts = np.bincount(res.folds[r])
        events = np.bincount(res.folds[r], weights=y)
        assert counts.tolist() == [120] * 5  # every row held out once
        assert events.max() - events.min() <= 1  # stratified
        p = res.probabilities[r]
        c = calibration_intercept_slope(y, p)
        m = res.metrics.loc[r]
        # rtol=1e-12: the same computations (rank AUC, Newton fits) reached by another path
        np.testing.assert_allclose(
            [m.auc, m.brier, m.scaled_brier, m.calibration_intercept, m.calibration_slope, m.citl],
            [
                auc_score(y, p),
                brier_loss(y, p),
                scaled_brier_score(y, p),
                c.intercept,
                c.slope,
                c.citl,
            ],
            rtol=1e-12,
        )
    assert not np.array_equal(res.folds[0], res.folds[1])  # a fresh shuffle per repeat
    assert "5-fold stratified cross-validation, 2 repeat(s), n = 600" in res.summary()
    np.testing.assert_array_equal(res.mean_probabilities(), res.probabilities.mean(axis=0))


def test_cv_deterministic_by_seed_and_same_in_parallel(data):
    X, y = data
    a = cross_validated_predictions(lr(), X, y, random_state=7)
    b = cross_validated_predictions(lr(), X, y, random_state=7, n_jobs=2)
    c = cross_validated_predictions(lr(), X, y, random_state=8)
    np.testing.assert_array_equal(a.probabilities, b.probabilities)
    np.testing.assert_array_equal(a.folds, b.folds)
    pd.testing.assert_frame_equal(a.metrics, b.metrics)
    assert not np.array_equal(a.folds, c.folds)


def test_cv_predictions_are_out_of_fold():
    """A model that returns the stored outcome of every row it was trained on, and 0.5
    otherwise, must only ever say 0.5 out of fold."""
    rng = np.random.default_rng(1)
    y = rng.binomial(1, 0.4, 300)
    X = np.column_stack([np.arange(300), rng.normal(size=300)])
    apparent = Memoriser().fit(X, y).predict_proba(X)[:, 1]
    assert auc_score(y, apparent) == 1.0
    with pytest.warns(StatisticalWarning, match="constant predictions in 3 of 3 repeat"):
        res = cross_validated_predictions(Memoriser(), X, y, n_repeats=3)
    assert np.all(res.probabilities == 0.5)
    assert np.all(res.metrics.auc == 0.5)
    assert res.metrics.calibration_slope.isna().all()


def test_cv_one_nearest_neighbour_is_at_chance_out_of_fold():
    rng = np.random.default_rng(2)
    X = rng.normal(size=(800, 5))  # pure noise
    y = rng.binomial(1, 0.5, 800)
    knn = KNeighborsClassifier(n_neighbors=1)
    assert auc_score(y, knn.fit(X, y).predict_proba(X)[:, 1]) == 1.0
    with pytest.warns(StatisticalWarning, match="800 of 800 predictions are exactly 0 or 1"):
        res = cross_validated_predictions(knn, X, y)
    # chance: AUC of a 0/1 noise prediction has sd ~0.018 at n = 800; 0.07 is ~4 sd
    assert abs(res.metrics.auc[0] - 0.5) < 0.07
    assert res.metrics.calibration_slope[0] < 0.05  # far too confident


def test_cv_groups_keep_a_patient_in_one_fold():
    rng = np.random.default_rng(3)
    patient = np.repeat(np.arange(150), 2)  # two episodes per patient
    X, y = simulate(300, rng)
    res = cross_validated_predictions(lr(), X, y, groups=patient, n_repeats=2)
    for r in range(2):
        per_patient = pd.Series(res.folds[r]).groupby(patient).nunique()
        assert (per_patient == 1).all()


def test_cv_dataframe_pipeline_and_histgradientboosting():
    rng = np.random.default_rng(4)
    n = 400
    df = pd.DataFrame(
        {
            "age_years": rng.normal(60, 10, n),
            "sex": rng.choice(["f", "m"], n),
            "odi_0m": rng.uniform(10, 80, n),
        },
        index=np.arange(1000, 1000 + n),
    )
    y = pd.Series(rng.binomial(1, expit((df.odi_0m - 40) / 15)), index=df.index)
    pre = make_column_transformer(
        (OneHotEncoder(), ["sex"]), (StandardScaler(), ["age_years", "odi_0m"])
    )
    before = df.copy()
    res = cross_validated_predictions(make_pipeline(pre, LogisticRegression()), df, y)
    pd.testing.assert_frame_equal(df, before)  # input not mutated
    assert res.metrics.auc[0] > 0.7
    hgb = HistGradientBoostingClassifier(max_iter=20, random_state=0)
    a = cross_validated_predictions(make_pipeline(pre, hgb), df, y, n_jobs=2)
    # one OpenMP thread in this process, as in the loky workers: on a loaded 2-core
    # machine HGB's spinning OpenMP threads otherwise make 5 tiny fits take ~20 s
    with threadpool_limits(1):
        b = cross_validated_predictions(make_pipeline(pre, hgb), df, y)
    np.testing.assert_array_equal(a.probabilities, b.probabilities)


def test_cv_multiclass():
    rng = np.random.default_rng(5)
    n = 600
    X = rng.normal(size=(n, 2))
    eta = np.column_stack([np.zeros(n), 1.5 * X[:, 0], 1.5 * X[:, 1]])
    P = np.exp(eta) / np.exp(eta).sum(axis=1, keepdims=True)
    labels = np.array(["tfesi", "conservative", "surgery"])
    y = pd.Series(labels[[rng.choice(3, p=pr) for pr in P]])
    res = cross_validated_predictions(LogisticRegression(), X, y, n_repeats=2)
    assert res.kind == "multiclass"
    assert res.classes == ("conservative", "surgery", "tfesi")
    assert res.probabilities.shape == (2, n, 3)
    np.testing.assert_allclose(res.probabilities.sum(axis=2), 1, rtol=1e-12)
    assert list(res.metrics.columns) == ["auc", "brier"]
    # rtol=1e-14: the macro one-vs-rest AUC of the metrics module
    np.testing.assert_allclose(
        res.metrics.auc[0],
        multiclass_auc_ovr(y, res.probabilities[0], res.classes).macro,
        rtol=1e-14,
    )
    cat = y.astype(pd.CategoricalDtype(["surgery", "tfesi", "conservative"]))
    res2 = cross_validated_predictions(LogisticRegression(), X, cat)
    assert res2.classes == ("surgery", "tfesi", "conservative")  # category order kept


@pytest.mark.parametrize(
    "kwargs, err, match",
    [
        (
            dict(estimator=LogisticRegression),
            TypeError,
            (
                r"must be an instance, e\.g\. "
                r"LogisticRegression\(\)"
            ),
        ),
        (dict(estimator=StandardScaler()), TypeError, "StandardScaler has no predict_proba"),
        (dict(estimator=object()), TypeError, "object has no fit or predict_proba"),
        (dict(X=np.zeros((5, 2))), ValueError, "X has 5 rows, y has 60"),
        (dict(X="table"), TypeError, "X must be a table of predictors"),
        (
            dict(y=np.r_[np.zeros(30), np.full(30, 2.0)]),
            ValueError,
            r"two values \(0, 2\); code a binary outcome as 0/1",
        ),
        (
            dict(y=np.r_[np.zeros(30), np.ones(29), np.nan]),
            ValueError,
            "y has 1 missing value.*0-based row 59",
        ),
        (dict(y=np.linspace(0, 1, 60)), ValueError, "it looks continuous"),
        (dict(y=np.ones(60)), ValueError, "y has a single class: all 60 value"),
        (
            dict(y=np.array(["no", "yes"] * 30)),
            ValueError,
            r"two classes \('no', 'yes'\); code a binary outcome as 0/1",
        ),
        (dict(y=None), TypeError, "y must be a 1-D array-like"),
        (dict(n_splits=1), ValueError, "n_splits must be >= 2"),
        (dict(n_splits=40), ValueError, r"class 0 has only 30 row\(s\); stratified 40-fold"),
        (dict(n_repeats=0), ValueError, "n_repeats must be >= 1"),
        (dict(n_jobs=0), ValueError, "n_jobs must be a positive integer or -1"),
        (dict(n_jobs=1.5), TypeError, "n_jobs must be an integer"),
        (dict(random_state="seed"), TypeError, "random_state must be an integer seed or None"),
        (dict(groups=np.arange(59)), ValueError, "groups must have one label per row; it has 59"),
        (dict(groups=np.r_[np.arange(59), np.nan]), ValueError, "groups has 1 missing label"),
        (dict(groups=np.repeat([1, 2], 30)), ValueError, "groups has 2 distinct value"),
    ],
)
def test_cv_errors(kwargs, err, match):
    rng = np.random.default_rng(0)
    args = dict(
        estimator=LogisticRegression(),
        X=rng.normal(size=(60, 2)),
        y=np.r_[np.zeros(30), np.ones(30)],
    )
    extra = {k: kwargs.pop(k) for k in list(kwargs) if k not in args}
    args.update(kwargs)
    with pytest.raises(err, match=match):
        cross_validated_predictions(args["estimator"], args["X"], args["y"], **extra)


def test_misaligned_pandas_inputs_are_refused():
    X = pd.DataFrame({"a": np.arange(40.0)})
    y = pd.Series([0, 1] * 20, index=np.arange(1, 41))
    with pytest.raises(ValueError, match="X and y have different indexes"):
        cross_validated_predictions(LogisticRegression(), X, y)


# ---- bootstrap optimism ----------------------------------------------------------------


def test_optimism_matches_rms_validate():
    """rms 6.5-0 validate(lrm(y ~ x1 + x2 + x3 + x4), B = 40) with its own bootstrap rows.

    AUC = (Dxy + 1) / 2, so the AUC optimism is half the Dxy optimism. Tolerances:
    AUC rtol 1e-12 (ranks of the same linear predictors); Brier 1e-9 and calibration
    intercept/slope 1e-8 absolute, because lrm.fit stops at its own convergence
    criterion (observed differences 1.4e-10 and 1.4e-9) while the estimator here is
    Newton-Raphson to relative 1e-12.
    """
    d = pd.read_csv(REF / "optimism_inputs.csv")
    ind = pd.read_csv(REF / "boot_indices.csv")
    ref = pd.read_csv(REF / "validate_ref.csv").set_index("index")
    B = int(ind.replicate.max())
    idx = ind.row.to_numpy().reshape(B, len(d)) - 1
    res = bootstrap_optimism(
        NewtonLogistic(),
        d[["x1", "x2", "x3", "x4"]],
        d.y,
        indices=idx,
        metrics=("auc", "brier", "calibration_intercept", "calibration_slope"),
    )
    assert isinstance(res, OptimismResult) and res.n_boot == B == ref.loc["Dxy", "n"]
    t = res.table
    np.testing.assert_allclose(
        2 * t.loc["auc", ["apparent", "optimism", "corrected"]] - [1, 0, 1],
        ref.loc["Dxy", ["orig", "optimism", "corrected"]],
        rtol=1e-12,
    )
    rep = res.replicates
    np.testing.assert_allclose(
        [2 * rep.auc_boot.mean() - 1, 2 * rep.auc_test.mean() - 1],
        ref.loc["Dxy", ["training", "test"]],
        rtol=1e-12,
    )
    np.testing.assert_allclose(
        t.loc["brier", ["apparent", "optimism", "corrected"]],
        ref.loc["B", ["orig", "optimism", "corrected"]],
        rtol=0,
        atol=1e-9,
    )
    for ours, theirs in (("calibration_slope", "Slope"), ("calibration_intercept", "Intercept")):
        np.testing.assert_allclose(
            t.loc[ours, ["apparent", "optimism", "corrected"]],
            ref.loc[theirs, ["orig", "optimism", "corrected"]],
            rtol=0,
            atol=1e-8,
        )


@pytest.mark.filterwarnings(
    "ignore:bootstrap optimism.*exactly 0 or 1:prom.errors.StatisticalWarning"
)
def test_optimism_of_an_overfitted_model_matches_new_data():
    """Logistic regression with 3 true and 20 noise predictors at n = 150 (about 3 events
    per parameter). Over 6 data sets from the same DGP, the apparent AUC exceeds the AUC
    on 100,000 new patients by about 0.1 on average; the optimism-corrected AUC must
    recover that to within 0.03 on average (the bootstrap estimates the *expected*
    optimism, so single data sets scatter by ±0.07; averaging 6 makes the check sharp),
    and the corrected calibration slope must be well below 1, as in new data."""
    app, corr, true, slope_corr, slope_true = [], [], [], [], []
    for seed in range(6):
        rng = np.random.default_rng(100 + seed)
        X, y = simulate(150, rng, n_noise=20)
        Xn, yn = simulate(100_000, rng, n_noise=20)
        res = bootstrap_optimism(
            lr(), X, y, n_boot=100, random_state=seed, metrics=("auc", "calibration_slope")
        )
        p_new = lr().fit(X, y).predict_proba(Xn)[:, 1]
        app.append(res.apparent["auc"])
        corr.append(res.corrected["auc"])
        true.append(roc_auc_score(yn, p_new))
        slope_corr.append(res.corrected["calibration_slope"])
        slope_true.append(calibration_intercept_slope(yn, p_new).slope)
    assert np.mean(app) - np.mean(true) > 0.08  # clearly overfitted
    assert abs(np.mean(corr) - np.mean(true)) < 0.03
    assert np.mean(slope_true) < 0.75 and abs(np.mean(slope_corr) - np.mean(slope_true)) < 0.12


def test_optimism_is_near_zero_for_a_well_specified_model_at_large_n():
    rng = np.random.default_rng(7)
    X, y = simulate(5000, rng)
    res = bootstrap_optimism(lr(), X, y, n_boot=60)
    opt = res.optimism
    # expected optimism ~ p/n: AUC ~1e-3, slope ~3/(events) ~ 2e-3
    assert abs(opt["auc"]) < 0.003 and abs(opt["brier"]) < 0.001
    assert abs(opt["calibration_slope"]) < 0.02 and abs(opt["calibration_intercept"]) < 0.02
    # 1 at the MLE; newton-cholesky stops at its default tol = 1e-4
    assert res.apparent["calibration_slope"] == pytest.approx(1, abs=1e-3)
    assert res.table["n_valid"].eq(60).all()


def test_optimism_deterministic_and_same_in_parallel(data):
    X, y = data
    a = bootstrap_optimism(lr(), X, y, n_boot=12, random_state=3)
    b = bootstrap_optimism(lr(), X, y, n_boot=12, random_state=3, n_jobs=2)
    c = bootstrap_optimism(lr(), X, y, n_boot=12, random_state=4)
    pd.testing.assert_frame_equal(a.table, b.table)
    pd.testing.assert_frame_equal(a.replicates, b.replicates)
    assert not a.table.equals(c.table)
    assert "Bootstrap optimism correction (Harrell), 12 bootstrap samples" in a.summary()


def test_optimism_skips_samples_with_one_class():
    rng = np.random.default_rng(9)
    X = rng.normal(size=(40, 1))
    y = np.zeros(40, dtype=int)
    y[:2] = 1  # 2 events: many samples have none
    idx = np.random.default_rng(0).integers(0, 40, size=(50, 40))
    expected = int(sum((y[i].sum() == 0) for i in idx))
    assert expected > 0
    with pytest.warns(StatisticalWarning) as rec:
        res = bootstrap_optimism(
            NewtonLogistic(), X, y, n_boot=50, random_state=0, metrics=("auc", "brier")
        )
    msgs = [str(w.message) for w in rec]
    assert any(f"{expected} of 50 bootstrap samples lacked an outcome class" in m for m in msgs)
    assert any("only 2 rows of class 1 among 40" in m for m in msgs)
    assert res.n_skipped == expected and len(res.replicates) == 50 - expected
    assert f"({expected} skipped" in res.summary()


def test_bootstrap_is_too_optimistic_for_memorising_learners():
    """A known limit of Harrell's method, stated in the docstring: an unpruned tree fits
    its bootstrap sample perfectly and ~63% of the original rows are in that sample, so
    the optimism is underestimated. Cross-validation is not fooled."""
    rng = np.random.default_rng(10)
    X, y = simulate(300, rng, n_noise=5, beta=(0.4, 0.2, 0.0))
    tree = DecisionTreeClassifier(random_state=0)
    with pytest.warns(StatisticalWarning, match="exactly 0 or 1"):
        boot = bootstrap_optimism(tree, X, y, n_boot=30, metrics=("auc", "brier"))
        cv = cross_validated_predictions(tree, X, y)
    assert boot.apparent["auc"] == 1.0
    assert boot.corrected["auc"] > cv.metrics.auc[0] + 0.15


def test_optimism_multiclass():
    rng = np.random.default_rng(11)
    n = 300
    X = rng.normal(size=(n, 2))
    y = np.array(["a", "b", "c"])[
        np.argmax(X @ [[1, -1, 0], [0, 1, -1]] + rng.gumbel(size=(n, 3)), axis=1)
    ]
    res = bootstrap_optimism(LogisticRegression(), X, y, n_boot=10)
    assert list(res.table.index) == ["auc", "brier"] and res.kind == "multiclass"
    with pytest.raises(
        ValueError, match="calibration intercept and slope are defined for binary outcomes only"
    ):
        bootstrap_optimism(LogisticRegression(), X, y, metrics=("auc", "calibration_slope"))


@pytest.mark.parametrize(
    "kwargs, err, match",
    [
        (dict(metrics=("auc", "c_index")), ValueError, r"unknown metric\(s\) \['c_index'\]"),
        (dict(metrics="auc"), TypeError, "metrics must be a sequence of metric names"),
        (dict(metrics=()), ValueError, "metrics is empty"),
        (dict(n_boot=0), ValueError, "n_boot must be >= 1"),
        (
            dict(indices=np.zeros((3, 59), dtype=int)),
            ValueError,
            r"shape \(n_boot, n\) = \(…, 60\)",
        ),
        (dict(indices=np.full((3, 60), 60)), ValueError, "0-based row positions in 0 … 59"),
        (dict(indices=np.zeros((3, 60))), TypeError, "indices must be an integer array"),
    ],
)
def test_optimism_errors(kwargs, err, match):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 2))
    y = np.r_[np.zeros(30), np.ones(30)]
    with pytest.raises(err, match=match):
        bootstrap_optimism(LogisticRegression(), X, y, **kwargs)


# ---- internal-external cross-validation ------------------------------------------------


@pytest.fixture(scope="module")
def sites():
    """Six sites with different case mix and baseline risk; site F has 4 events."""
    rng = np.random.default_rng(12)
    parts = []
    for site, n, shift in (
        ("A", 500, 0.0),
        ("B", 400, 0.4),
        ("C", 450, -0.3),
        ("D", 350, 0.2),
        ("E", 300, -0.5),
    ):
        X = rng.normal(size=(n, 3)) + rng.normal(0, 0.3, 3)
        y = rng.binomial(1, expit(-0.5 + shift + X @ [0.8, 0.5, 0.3]))
        parts.append(pd.DataFrame(X, columns=["x1", "x2", "x3"]).assign(y=y, site=site))
    X = rng.normal(size=(40, 3))
    y = np.zeros(40, dtype=int)
    y[:4] = 1
    parts.append(pd.DataFrame(X, columns=["x1", "x2", "x3"]).assign(y=y, site="F"))
    return pd.concat(parts, ignore_index=True)


def test_iecv_per_site_pooled_and_meta(sites):
    X, y, g = sites[["x1", "x2", "x3"]], sites.y, sites.site
    with pytest.warns(
        StatisticalWarning,
        match=r"1 of 6 sites have no site-level metrics .*'F': "
        r"fewer than 10 events",  # 4: a count below 5 is not published
    ):
        res = internal_external_cv(lr(), X, y, g)
    assert isinstance(res, IECVResult)
    ps = res.per_site
    assert list(ps.index) == ["A", "B", "C", "D", "E", "F"]
    assert ps.loc["F", "reason"].startswith(
        "fewer than 10 events; site-level metrics need at least min_events=10"
    )
    assert np.isnan(ps.loc["F", "auc"]) and ps.loc["F", "n"] == 40
    assert ps.loc[list("ABCDE"), "reason"].isna().all()
    assert np.isfinite(res.predictions).all()  # F still has out-of-site predictions
    # site C by hand: fit on the other sites (F included), evaluate on C
    m = (g == "C").to_numpy()
    p = clone(lr()).fit(X[~m], y[~m]).predict_proba(X[m])[:, 1]
    np.testing.assert_array_equal(res.predictions[m], p)
    a = auc_ci(y[m], p)
    c = calibration_intercept_slope(y[m], p)
    o_e = y[m].sum() / p.sum()
    # rtol=1e-14: the metric functions on the same arrays
    np.testing.assert_allclose(
        ps.loc[
            "C", ["auc", "auc_low", "auc_high", "calibration_slope", "citl", "o_e", "brier"]
        ].to_numpy(float),
        [a.auc, a.low, a.high, c.slope, c.citl, o_e, brier_loss(y[m], p)],
        rtol=1e-14,
    )
    se = np.sqrt((1 - y[m].mean()) / y[m].sum())
    np.testing.assert_allclose(
        ps.loc["C", ["o_e_low", "o_e_high"]].to_numpy(float),
        o_e * np.exp([-1.959963984540054 * se, 1.959963984540054 * se]),
        rtol=1e-12,
    )
    # pooled: all 2,040 out-of-site predictions together
    pooled = res.pooled.iloc[0]
    np.testing.assert_allclose(pooled.auc, auc_score(y, res.predictions), rtol=1e-14)
    assert pooled.n == len(sites)
    # meta-analysis of the 5 estimable sites, AUC on the logit scale
    ok = ps.loc[list("ABCDE")]
    lauc = np.log(ok.auc / (1 - ok.auc))
    ma = random_effects_meta(lauc, ok.auc_se / (ok.auc * (1 - ok.auc)))
    meta = res.meta
    assert meta.loc["auc", "k"] == 5
    np.testing.assert_allclose(
        meta.loc["auc", ["estimate", "pi_low", "pi_high"]].to_numpy(float),
        expit(np.array([ma.estimate, ma.pi_low, ma.pi_high])),
        rtol=1e-14,
    )
    # sites differ in baseline risk: O/E varies beyond chance, prediction interval > CI
    assert meta.loc["o_e", "tau2"] > 0
    assert meta.loc["o_e", "pi_high"] - meta.loc["o_e", "pi_low"] > (
        meta.loc["o_e", "high"] - meta.loc["o_e", "low"]
    )
    text = res.summary()
    assert "Internal-external cross-validation over 6 sites (5 with site-level metrics)" in text
    assert "random-effects auc" in text


def test_iecv_same_in_parallel(sites):
    X, y, g = sites[["x1", "x2", "x3"]], sites.y, sites.site
    a = internal_external_cv(lr(), X, y, g, min_events=3)
    b = internal_external_cv(lr(), X, y, g, min_events=3, n_jobs=2)
    pd.testing.assert_frame_equal(a.per_site, b.per_site)
    assert a.per_site["reason"].isna().all()  # F has 4 >= 3 events
    assert a.per_site.loc["F", "note"] == (
        "4 events: site-level estimates are unstable with fewer than 10"
    )
    assert a.per_site.loc[list("ABCDE"), "note"].isna().all()
    assert a.meta.loc["auc", "k"] == 6


def test_iecv_site_whose_training_data_lack_a_class():
    rng = np.random.default_rng(13)
    X = rng.normal(size=(90, 2))
    y = np.r_[np.zeros(30), np.zeros(30), rng.binomial(1, 0.5, 30)].astype(int)
    y[60:62] = [0, 1]
    g = np.repeat(["a", "b", "c"], 30)
    with pytest.warns(StatisticalWarning, match="3 of 3 sites have no site-level metrics"):
        res = internal_external_cv(LogisticRegression(), X, y, g)
    assert res.per_site.loc["c", "reason"] == (
        "the other sites have a single outcome class: no model was fitted"
    )
    assert np.isnan(res.predictions[60:]).all() and res.meta.empty
    assert res.pooled.loc[0, "note"].startswith("the out-of-site predictions cover a single")


def test_random_effects_meta_matches_metafor():
    """metafor 3.8-1 rma(yi, sei = sei, method = "DL"): estimate, se, CI, tau², Q, I²;
    prediction interval est ± qt(0.975, k - 2) sqrt(tau² + se²) computed in R."""
    inp = pd.read_csv(REF / "meta_inputs.csv")
    ref = pd.read_csv(REF / "meta_ref.csv").set_index("set")
    for s, d in inp.groupby("set"):
        ma = random_effects_meta(d.yi, d.sei)
        r = ref.loc[s]
        got = [ma.estimate, ma.se, ma.low, ma.high, ma.tau2, ma.q, ma.i2]
        want = [r.estimate, r.se, r.low, r.high, r.tau2, r.q, r.i2]
        # rtol=1e-12 (atol for tau2 = 0 and I2 = 0): the same closed-form moment estimator
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-15)
        if ma.k >= 3:
            np.testing.assert_allclose([ma.pi_low, ma.pi_high], [r.pi_low, r.pi_high], rtol=1e-12)
        else:
            assert np.isnan(ma.pi_low) and np.isnan(r.pi_low)
        assert ma.k == r.k


@pytest.mark.parametrize(
    "call, err, match",
    [
        (
            lambda X, y, g: internal_external_cv(
                LogisticRegression(), X, np.array(["a", "b", "c"] * 20), g
            ),
            ValueError,
            "for binary .* y has 3 classes",
        ),
        (
            lambda X, y, g: internal_external_cv(LogisticRegression(), X, y, np.zeros(60)),
            ValueError,
            "groups has a single site",
        ),
        (
            lambda X, y, g: internal_external_cv(LogisticRegression(), X, y, g[:10]),
            ValueError,
            "groups must have one label per row; it has 10",
        ),
        (
            lambda X, y, g: internal_external_cv(LogisticRegression(), X, y, None),
            TypeError,
            "groups must be a 1-D array-like",
        ),
        (
            lambda X, y, g: internal_external_cv(LogisticRegression(), X, y, g, min_events=0),
            ValueError,
            "min_events must be >= 1",
        ),
        (
            lambda X, y, g: internal_external_cv(LogisticRegression(), X, y, g, level=95),
            ValueError,
            r"level must be in \(0, 1\)",
        ),
        (lambda X, y, g: random_effects_meta([0.1], [0.1]), ValueError, "at least 2 estimates"),
        (
            lambda X, y, g: random_effects_meta([0.1, 0.2], [0.1, 0.0]),
            ValueError,
            "standard_errors must be > 0; 1 are not",
        ),
    ],
)
def test_iecv_and_meta_errors(call, err, match):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 2))
    y = np.tile([0, 1], 30)
    g = np.repeat(["a", "b", "c"], 20)
    with pytest.raises(err, match=match):
        call(X, y, g)
