"""prom.explain: additivity per family, grouping, exact linear values, native vs shap,
probability points, summaries, and figures drawn without pyplot.

Most tests reuse the session fixture ``small_fits`` (conftest.py) and explain a slice of
its training rows; a few fit a tiny model of their own for what the fixture lacks
(splines, isotonic calibration, Cox).
"""

from __future__ import annotations

import dataclasses
import logging
import subprocess
import sys
import textwrap
import warnings

import numpy as np
import pandas as pd
import pytest
from scipy.special import expit, softmax

from prom.explain import (
    AdditivityError,
    AdditivityWarning,
    Explanation,
    beeswarm_figure,
    dependence_figure,
    explain_rows,
    global_importance,
    importance_figure,
    plain_label,
    top_reasons,
    waterfall_figure,
)
from prom.outcomes import TASKS, derive_label

FAMILIES = ("logistic", "elastic_net", "random_forest", "xgboost", "lightgbm")
N_ROWS = 120


def _rows(small_fits, task: str, n: int = N_ROWS) -> pd.DataFrame:
    """The first ``n`` labelled rows of the fixture's cohort for ``task``."""
    df = small_fits["data"]
    label = derive_label(df, task)["label"]
    return df.loc[label.notna()].iloc[:n]


def _fit(small_fits, task: str):
    return next(f for f in small_fits["fits"] if f.task_name == task)


def _raw_positive(model, X) -> np.ndarray:
    return model.predict_proba(X, calibrated=False)[:, 1]


# --- additivity ---------------------------------------------------------------------------


@pytest.mark.parametrize("family", FAMILIES)
def test_additivity_every_family(small_fits, family, caplog):
    """Σ contributions + base reproduces the raw model's output; the residual is logged."""
    model = _fit(small_fits, "mcid_odi_12m").models[family]
    X = _rows(small_fits, "mcid_odi_12m")
    with caplog.at_level(logging.INFO, logger="prom.explain"):
        ex = explain_rows(model, X)
    assert any("additivity residual" in r.getMessage() for r in caplog.records)
    total = ex.values.sum(axis=1).to_numpy() + ex.base_value
    raw = _raw_positive(model, X)
    if family == "random_forest":
        # a forest is additive in probability only, and labelled so
        assert ex.output == "probability"
        np.testing.assert_allclose(total, raw, rtol=0, atol=1e-12)
    else:
        assert ex.output == "log_odds"
        # XGBoost's probabilities are float32: compare on the probability scale at 1e-6
        atol = 1e-6 if family == "xgboost" else 1e-12
        np.testing.assert_allclose(expit(total), raw, rtol=0, atol=atol)
    assert ex.additivity_residual < (5e-5 if family == "xgboost" else 1e-12)
    assert ex.values.index.equals(X.index) and ex.data.index.equals(X.index)


def test_input_untouched_and_rows_independent(small_fits):
    """The caller's frame is not mutated; shuffling rows shuffles the explanations only."""
    model = _fit(small_fits, "mcid_odi_12m").models["xgboost"]
    X = _rows(small_fits, "mcid_odi_12m", 60)
    before = X.copy()
    ex = explain_rows(model, X)
    pd.testing.assert_frame_equal(X, before)
    shuffled = explain_rows(model, X.sample(frac=1.0, random_state=0))
    pd.testing.assert_frame_equal(shuffled.values.loc[X.index], ex.values, check_exact=True)
    one = explain_rows(model, X.iloc[[7]])
    pd.testing.assert_frame_equal(one.values, ex.values.iloc[[7]], check_exact=True)


def test_additivity_after_bundle_round_trip(small_fits, tmp_path, caplog, lab_keys):
    """Models loaded from a bundle (booster wrappers, skops forest, linear JSON) explain
    exactly as the fitted ones."""
    from prom.bundle import load_bundle, write_bundle

    fit, triage = _fit(small_fits, "mcid_odi_12m"), _fit(small_fits, "triage")
    write_bundle(tmp_path / "bundle", [fit, triage], signing_key=lab_keys.key)
    bundle = load_bundle(tmp_path / "bundle")
    X = _rows(small_fits, "mcid_odi_12m", 60)
    for family in FAMILIES:
        with caplog.at_level(logging.INFO, logger="prom.explain"):
            loaded = explain_rows(bundle.tasks["mcid_odi_12m"].models[family], X)
        fitted = explain_rows(fit.models[family], X)
        np.testing.assert_allclose(
            loaded.values.to_numpy(), fitted.values.to_numpy(), rtol=0, atol=1e-12, err_msg=family
        )
        assert loaded.base_value == pytest.approx(fitted.base_value, abs=1e-12)
        assert loaded.additivity_residual < 5e-5
    assert sum("additivity residual" in r.getMessage() for r in caplog.records) == len(FAMILIES)
    X3 = _rows(small_fits, "triage", 60)
    for family in ("logistic", "lightgbm"):
        loaded = explain_rows(bundle.tasks["triage"].models[family], X3)
        fitted = explain_rows(triage.models[family], X3)
        for c in fitted.classes:
            np.testing.assert_allclose(
                loaded.values[c].to_numpy(),
                fitted.values[c].to_numpy(),
                rtol=0,
                atol=1e-12,
                err_msg=f"{family} {c}",
            )
        assert loaded.additivity_residual < 1e-12


@pytest.mark.parametrize("family", ["logistic", "lightgbm"])
def test_multiclass_triage(small_fits, family):
    """One DataFrame per class; softmax of the per-class sums is the raw probability."""
    model = _fit(small_fits, "triage").models[family]
    X = _rows(small_fits, "triage")
    ex = explain_rows(model, X)
    assert ex.is_multiclass and ex.output == "softmax_margin"
    assert ex.classes == tuple(model.classes_.tolist()) and len(ex.classes) == 3
    margins = np.column_stack([ex.values[c].sum(axis=1) + ex.base_value[c] for c in ex.classes])
    np.testing.assert_allclose(
        softmax(margins, axis=1), model.predict_proba(X, calibrated=False), rtol=0, atol=1e-12
    )
    one = ex.for_class(ex.classes[1])
    assert not one.is_multiclass and one.values.equals(ex.values[ex.classes[1]])
    with pytest.raises(ValueError, match="is not one of the model's classes"):
        ex.for_class("no such class")


def test_xgboost_multiclass_and_forest_multiclass():
    """Families the fixture does not fit for triage: XGBoost (float32) and a forest."""
    from prom.cohort import simulate_cohort
    from prom.instruments import add_scores
    from prom.models import PromClassifier

    df = add_scores(simulate_cohort(400, seed=5))
    y = derive_label(df, "triage")["label"]
    X, y = df.loc[y.notna()], y[y.notna()]
    pred = TASKS["triage"].predictors
    for family in ("xgboost", "random_forest"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # small-sample statistical caveats
            model = PromClassifier(
                family, predictors=pred, n_iter=1, calibration="none", inner_cv=2
            ).fit(X, y)
        ex = explain_rows(model, X.iloc[:50])
        total = np.column_stack([ex.values[c].sum(axis=1) + ex.base_value[c] for c in ex.classes])
        raw = model.predict_proba(X.iloc[:50], calibrated=False)
        if family == "xgboost":
            np.testing.assert_allclose(softmax(total, axis=1), raw, atol=1e-6)
        else:
            assert ex.output == "probability"
            np.testing.assert_allclose(total, raw, atol=1e-12)


# --- grouping and exact linear values ------------------------------------------------------


@pytest.fixture(scope="module")
def spline_logistic(small_fits):
    """Logistic with restricted cubic splines: one-hot, missing-indicator and spline columns."""
    from prom.models import PromClassifier

    X = _rows(small_fits, "mcid_odi_12m", 1600)
    y = derive_label(X, "mcid_odi_12m")["label"]
    model = PromClassifier(
        "logistic", predictors=TASKS["mcid_odi_12m"].predictors, splines=True, calibration="none"
    ).fit(X, y)
    return model, X


def test_grouping_sums_design_columns(spline_logistic):
    model, X = spline_logistic
    X = X.iloc[:N_ROWS]
    grouped = explain_rows(model, X)
    design = explain_rows(model, X, group=False)
    groups = model.preprocessor_.feature_groups_
    kinds = {name[len(src) :].split("=")[0][:5] for name, src in groups.items()}
    assert {"", "__rcs", "__mis"} <= kinds  # linear, spline and missing-indicator columns
    assert any("=" in name for name in groups)  # one-hot levels
    for var in grouped.features:
        cols = [n for n, src in groups.items() if src == var]
        expected = design.values[cols].sum(axis=1) if cols else 0.0
        np.testing.assert_allclose(grouped.values[var], expected, rtol=0, atol=1e-12)
    np.testing.assert_allclose(
        grouped.values.sum(axis=1), design.values.sum(axis=1), rtol=0, atol=1e-12
    )
    assert grouped.base_value == design.base_value
    assert list(grouped.data.columns) == list(grouped.features)
    assert grouped.data["age_years"].equals(X["age_years"])  # clinical values, not design


def test_linear_explanation_is_coef_times_centred_design(spline_logistic):
    """Exactly coef × (z − mean of the training design), the mean recomputed here."""
    model, X = spline_logistic
    train_mean = model.design_matrix(X).mean(axis=0).to_numpy()
    rows = X.iloc[:N_ROWS]
    ex = explain_rows(model, rows, group=False)
    coef = model.estimator_.coef_[0]
    expected = (model.design_matrix(rows).to_numpy() - train_mean) * coef
    np.testing.assert_allclose(ex.values.to_numpy(), expected, rtol=0, atol=1e-12)
    assert ex.base_value == pytest.approx(
        model.estimator_.intercept_[0] + coef @ train_mean, abs=1e-12
    )
    assert ex.method == "exact"


def test_linear_model_without_design_mean_is_refused(spline_logistic):
    model, X = spline_logistic
    state = model.get_state()
    del state["preprocessor"]["design_mean"]  # as saved before design_mean_ existed
    from prom.models import PromClassifier

    old = PromClassifier.from_state(state, model.estimator_)
    with pytest.raises(ValueError, match="design_mean_"):
        explain_rows(old, X.iloc[:5])


# --- native TreeSHAP vs shap ------------------------------------------------------------------


@pytest.mark.parametrize(
    "task,family",
    [("mcid_odi_12m", "xgboost"), ("mcid_odi_12m", "lightgbm"), ("triage", "lightgbm")],
)
def test_native_and_shap_tree_explainer_agree(small_fits, task, family):
    model = _fit(small_fits, task).models[family]
    X = _rows(small_fits, task)
    native = explain_rows(model, X)
    via_shap = explain_rows(model, X, method="shap")
    assert via_shap.method == "shap" and native.method == "native"
    classes = native.classes or [None]
    for c in classes:
        a, b = (
            native.for_class(c) if c is not None else native,
            via_shap.for_class(c) if c is not None else via_shap,
        )
        np.testing.assert_allclose(a.values.to_numpy(), b.values.to_numpy(), rtol=0, atol=1e-5)
        assert a.base_value == pytest.approx(b.base_value, abs=1e-5)


@pytest.mark.parametrize("family", ["xgboost", "lightgbm"])
def test_shaps_own_treeshap_on_its_parse_of_the_booster(small_fits, family):
    """shap's own C++ TreeSHAP, run on shap's parse of the booster, matches the booster's
    native values within 1e-5.

    ``shap.TreeExplainer(booster).shap_values`` hands path-dependent TreeSHAP back to the
    booster, so the agreement above mostly proves shap can *read* the model (what xgboost
    ≥ 3.1 broke). Here shap's parsed trees go through shap's own algorithm, via shap's
    documented dictionary model format. Only the per-feature values are compared: shap's
    ``expected_value`` for a parsed XGBoost model is the sum of the root nodes' weights,
    which with ``reg_lambda > 0`` are regularised Newton steps, not cover-weighted leaf
    means, and differs from XGBoost's bias by ~1e-2 here.
    """
    from prom.explain.contributions import _shap

    shap = _shap()
    model = _fit(small_fits, "mcid_odi_12m").models[family]
    X = _rows(small_fits, "mcid_odi_12m")
    native = explain_rows(model, X, group=False)
    est = model.estimator_
    booster = est.get_booster() if family == "xgboost" else est.booster_
    parsed = shap.TreeExplainer(booster).model
    trees = [
        {
            "children_left": t.children_left,
            "children_right": t.children_right,
            "children_default": t.children_default,
            "features": t.features,
            "thresholds": t.thresholds,
            "values": t.values,
            "node_sample_weight": t.node_sample_weight,
        }
        for t in parsed.trees
    ]
    own = shap.TreeExplainer({"trees": trees, "base_offset": parsed.base_offset})
    assert own.model.model_type == "internal"
    values = np.asarray(own.shap_values(model.design_matrix(X).to_numpy(), check_additivity=False))
    np.testing.assert_allclose(
        values.reshape(native.values.shape), native.values.to_numpy(), rtol=0, atol=1e-5
    )


# --- probability points ---------------------------------------------------------------------


@pytest.mark.parametrize("family", FAMILIES)
def test_probability_points_sum_to_calibrated_change(small_fits, family):
    model = _fit(small_fits, "mcid_odi_12m").models[family]
    X = _rows(small_fits, "mcid_odi_12m", 60)
    ex = explain_rows(model, X)
    pts = ex.to_probability_points(calibrated=True)
    assert pts.output == "calibrated_probability" and pts.converted_from == ex.output
    np.testing.assert_allclose(
        pts.values.sum(axis=1) + pts.base_value, pts.prediction, rtol=0, atol=1e-12
    )
    np.testing.assert_allclose(pts.prediction, model.predict_proba(X)[:, 1], rtol=0, atol=1e-6)
    # a monotone map: every point keeps the sign of its contribution
    v, p = ex.values.to_numpy(), pts.values.to_numpy()
    assert np.all((np.sign(p) == np.sign(v)) | (p == 0))
    assert explain_rows(model, X, output="probability").values.equals(pts.values)
    with pytest.raises(ValueError, match="already on the 'calibrated_probability' scale"):
        pts.to_probability_points()


def test_uncalibrated_points_and_the_base_probability(small_fits):
    model = _fit(small_fits, "mcid_odi_12m").models["logistic"]
    X = _rows(small_fits, "mcid_odi_12m", 40)
    ex = explain_rows(model, X)
    pts = ex.to_probability_points(calibrated=False)
    assert pts.base_value == pytest.approx(expit(ex.base_value), abs=1e-15)
    np.testing.assert_allclose(pts.prediction, _raw_positive(model, X), rtol=0, atol=1e-12)
    # secant slope: points / contributions is one number per row
    ratio = pts.values.to_numpy() / ex.values.to_numpy()
    np.testing.assert_allclose(ratio, ratio[:, :1].repeat(ratio.shape[1], axis=1), rtol=1e-9)


def test_points_of_a_row_with_no_net_change(small_fits):
    """Σ contributions = 0: the derivative replaces the secant; points sum to 0."""
    model = _fit(small_fits, "mcid_odi_12m").models["logistic"]
    ex = explain_rows(model, _rows(small_fits, "mcid_odi_12m", 2))
    v = ex.values.to_numpy().copy()
    v[0, :] = 0.0
    v[0, :2] = [0.3, -0.3]
    flat = dataclasses.replace(
        ex, values=pd.DataFrame(v, index=ex.values.index, columns=ex.values.columns)
    )
    pts = flat.to_probability_points()
    assert pts.values.iloc[0].sum() == pytest.approx(0.0, abs=1e-15)
    assert pts.prediction.iloc[0] == pytest.approx(pts.base_value, abs=1e-15)
    assert pts.values.iloc[0, 0] > 0 > pts.values.iloc[0, 1]


def test_probability_points_with_isotonic_calibration(small_fits):
    from prom.models import PromClassifier

    X = _rows(small_fits, "mcid_odi_12m", 1600)
    y = derive_label(X, "mcid_odi_12m")["label"]
    model = PromClassifier(
        "lightgbm", predictors=TASKS["mcid_odi_12m"].predictors, n_iter=1, calibration="isotonic"
    ).fit(X, y)
    rows = X.iloc[:100]
    pts = explain_rows(model, rows, output="probability")
    np.testing.assert_allclose(
        pts.values.sum(axis=1) + pts.base_value, pts.prediction, rtol=0, atol=1e-12
    )
    np.testing.assert_allclose(pts.prediction, model.predict_proba(rows)[:, 1], atol=1e-12)


@pytest.mark.parametrize("family", ["logistic", "lightgbm"])
def test_multiclass_probability_points(small_fits, family):
    model = _fit(small_fits, "triage").models[family]
    X = _rows(small_fits, "triage", 60)
    pts = explain_rows(model, X).to_probability_points()
    calibrated = model.predict_proba(X)
    for i, c in enumerate(pts.classes):
        np.testing.assert_allclose(
            pts.values[c].sum(axis=1) + pts.base_value[c], pts.prediction[c], rtol=0, atol=1e-12
        )
        np.testing.assert_allclose(pts.prediction[c], calibrated[:, i], rtol=0, atol=1e-9)
    assert sum(pts.base_value.values()) == pytest.approx(1.0, abs=1e-12)
    with pytest.raises(ValueError, match="per-class view"):
        explain_rows(model, X).for_class(pts.classes[0]).to_probability_points()


def test_cox_log_hazard_and_risk_points(small_fits):
    from prom.models.survival import PromCoxModel

    df = small_fits["data"]
    lab = derive_label(df, "surgery_conversion")
    keep = lab["eligible"].astype(bool)
    model = PromCoxModel(predictors=TASKS["surgery_conversion"].predictors, penalizer=0.01).fit(
        df[keep], lab[keep]
    )
    X = df[keep].iloc[:N_ROWS]
    ex = explain_rows(model, X)
    assert ex.output == "log_hazard" and ex.family == "cox" and ex.base_value == 0.0
    np.testing.assert_allclose(ex.values.sum(axis=1), model.predict(X), rtol=0, atol=1e-12)
    pts = ex.to_probability_points(horizon=12.0)
    assert pts.output == "risk" and pts.horizon == 12.0
    np.testing.assert_allclose(
        pts.values.sum(axis=1) + pts.base_value, pts.prediction, rtol=0, atol=1e-12
    )
    np.testing.assert_allclose(pts.prediction, model.predict_risk(X, horizon=12.0), atol=1e-12)


# --- additivity failures and input errors -------------------------------------------------


def test_additivity_failure_raises_or_warns_and_is_logged(small_fits, monkeypatch, caplog):
    """A misread model (simulated: the base off by 0.01) is caught, never hidden."""
    import prom.explain.rows as rows_module

    real = rows_module.design_contributions

    def misread(*args, **kwargs):
        c = real(*args, **kwargs)
        return dataclasses.replace(c, base=c.base + 0.01)

    monkeypatch.setattr(rows_module, "design_contributions", misread)
    model = _fit(small_fits, "mcid_odi_12m").models["lightgbm"]
    X = _rows(small_fits, "mcid_odi_12m", 10)
    with pytest.raises(
        AdditivityError,
        match=r"differ from the model's log_odds output by up "
        r"to 0\.01 in 10 row\(s\)",
    ):
        explain_rows(model, X)
    with (
        caplog.at_level(logging.WARNING, logger="prom.explain"),
        pytest.warns(AdditivityWarning, match=f"rows {X.index[0]}, {X.index[1]},"),
    ):
        ex = explain_rows(model, X, check_additivity=False)
    assert ex.additivity_residual == pytest.approx(0.01, abs=1e-9)
    assert any(r.levelno == logging.WARNING for r in caplog.records)


def test_input_errors(small_fits):
    model = _fit(small_fits, "mcid_odi_12m").models["logistic"]
    X = _rows(small_fits, "mcid_odi_12m", 5)
    with pytest.raises(TypeError, match="PromClassifier or PromCoxModel"):
        explain_rows(model.estimator_, X)
    with pytest.raises(TypeError, match="pandas DataFrame"):
        explain_rows(model, X.to_numpy())
    with pytest.raises(ValueError, match="output='margin'"):
        explain_rows(model, X, output="margin")
    with pytest.raises(ValueError, match="method='shap' is for tree models"):
        explain_rows(model, X, method="shap")
    with pytest.raises(ValueError, match="method='kernel'"):
        explain_rows(model, X, method="kernel")
    with pytest.raises(ValueError, match="X has no rows"):
        explain_rows(model, X.iloc[:0])
    with pytest.raises(ValueError, match="horizon= is for Cox"):
        explain_rows(model, X).to_probability_points(horizon=12)


# --- summaries -------------------------------------------------------------------------------


def test_global_importance(small_fits):
    model = _fit(small_fits, "mcid_odi_12m").models["lightgbm"]
    ex = explain_rows(model, _rows(small_fits, "mcid_odi_12m"))
    table = global_importance(ex)
    assert list(table.index) == list(range(1, len(ex.features) + 1))
    assert sorted(table["variable"]) == sorted(ex.features)
    assert table["mean_abs"].is_monotonic_decreasing
    assert table["share"].sum() == pytest.approx(1.0, abs=1e-12)
    top = table.iloc[0]
    assert top["mean_abs"] == pytest.approx(ex.values[top["variable"]].abs().mean(), abs=1e-15)
    assert table.attrs["output"] == "log_odds"


def test_global_importance_multiclass(small_fits):
    ex = explain_rows(_fit(small_fits, "triage").models["logistic"], _rows(small_fits, "triage"))
    table = global_importance(ex)
    per_class = [f"mean_abs[{c}]" for c in ex.classes]
    np.testing.assert_allclose(table[per_class].sum(axis=1), table["mean_abs"], atol=1e-14)


def test_top_reasons(small_fits):
    model = _fit(small_fits, "mcid_odi_12m").models["xgboost"]
    X = _rows(small_fits, "mcid_odi_12m", 20)
    ex = explain_rows(model, X)
    reasons = top_reasons(ex, k=3)
    assert len(reasons) == 60 and list(reasons["rank"][:3]) == [1, 2, 3]
    first = reasons[reasons["row"] == X.index[0]]
    v = ex.values.iloc[0]
    expected = list(v.abs().sort_values(ascending=False, kind="stable").index[:3])
    assert list(first["variable"]) == expected
    np.testing.assert_array_equal(first["contribution"].to_numpy(), v[expected].to_numpy())
    assert list(first["direction"]) == ["raises" if c > 0 else "lowers" for c in v[expected]]
    # values as the model saw them: img_index_* are derived from index_level
    assert list(first["value"]) == [ex.data.iloc[0][f] for f in expected]
    assert list(reasons["label"]) == [plain_label(v) for v in reasons["variable"]]
    assert plain_label("age_years") == "age at baseline (years)"
    with pytest.raises(ValueError, match="k=0"):
        top_reasons(ex, k=0)


def test_top_reasons_multiclass_default_is_the_most_likely_class(small_fits):
    model = _fit(small_fits, "triage").models["lightgbm"]
    X = _rows(small_fits, "triage", 10)
    ex = explain_rows(model, X)
    reasons = top_reasons(ex, k=2)
    likely = np.asarray(ex.classes, dtype=object)[
        np.argmax(model.predict_proba(X, calibrated=False), axis=1)
    ]
    assert list(reasons["class"][::2]) == list(likely)
    fixed = top_reasons(ex, k=2, class_=ex.classes[0])
    assert set(fixed["class"]) == {ex.classes[0]}


# --- figures -----------------------------------------------------------------------------------


def test_figures_draw(small_fits):
    from matplotlib.figure import Figure

    model = _fit(small_fits, "mcid_odi_12m").models["lightgbm"]
    X = _rows(small_fits, "mcid_odi_12m", 80)
    ex = explain_rows(model, X)
    fig = waterfall_figure(ex, 3, max_display=6)
    assert isinstance(fig, Figure)
    ax = fig.axes[0]
    assert len(ax.patches) == 6  # 5 largest and "other variables"
    ends = [p.get_x() + p.get_width() for p in ax.patches]
    assert ends[-1] == pytest.approx(ex.values.iloc[3].sum() + ex.base_value, abs=1e-9)
    fig = waterfall_figure(ex, 3, points=True)
    patches = fig.axes[0].patches
    assert patches[-1].get_x() + patches[-1].get_width() == pytest.approx(
        model.predict_proba(X.iloc[[3]])[0, 1], abs=1e-9
    )
    assert len(beeswarm_figure(ex, max_display=7).axes[0].get_yticks()) == 7
    # the title names the explained class, or the event when the caller names it
    assert beeswarm_figure(ex).axes[0].get_title().endswith(" — class 1")
    for fig in (
        beeswarm_figure(ex, event="'status' = 'Abnormal'"),
        waterfall_figure(ex, 0, event="'status' = 'Abnormal'"),
        dependence_figure(ex, "sex", event="'status' = 'Abnormal'"),
    ):
        assert fig.axes[0].get_title().endswith(" — 'status' = 'Abnormal'")
    with_missing = [
        f
        for f in ex.features
        if ex.data[f].isna().any() and pd.api.types.is_numeric_dtype(ex.data[f])
    ]
    assert len(dependence_figure(ex, with_missing[0]).axes) == 2  # values + missing strip
    assert len(dependence_figure(ex, "sex").axes) == 1
    bars = importance_figure(global_importance(ex), max_display=5).axes[0].patches
    assert len(bars) == 5
    multi = explain_rows(
        _fit(small_fits, "triage").models["logistic"], _rows(small_fits, "triage", 30)
    )
    assert isinstance(importance_figure(multi), Figure)
    assert isinstance(waterfall_figure(multi, 0, class_=multi.classes[2], points=True), Figure)
    with pytest.raises(ValueError, match="needs class_="):
        beeswarm_figure(multi)
    with pytest.raises(ValueError, match="row=80"):
        waterfall_figure(ex, 80)
    with pytest.raises(ValueError, match="variable 'height_cm' is not in this explanation"):
        dependence_figure(ex, "height_cm")
    with pytest.raises(TypeError, match="Explanation"):
        waterfall_figure(ex.values, 0)


def test_explain_and_figures_never_touch_pyplot(small_fits, tmp_path, lab_keys):
    """A fresh process: load a bundle, explain natively, draw every figure — no pyplot
    (its global 'current figure' would be shared by concurrent Streamlit sessions)."""
    from prom.bundle import write_bundle

    fit = _fit(small_fits, "mcid_odi_12m")
    write_bundle(tmp_path / "bundle", [fit], signing_key=lab_keys.key)
    _rows(small_fits, "mcid_odi_12m", 30).to_pickle(tmp_path / "rows.pkl")
    script = textwrap.dedent(f"""
        import io, sys
        import pandas as pd
        from prom.bundle import load_bundle
        from prom.explain import (explain_rows, waterfall_figure, beeswarm_figure,
                                  dependence_figure, importance_figure, top_reasons)
        X = pd.read_pickle({str(tmp_path / "rows.pkl")!r})
        task = load_bundle({str(tmp_path / "bundle")!r}).tasks["mcid_odi_12m"]
        for family in ("logistic", "xgboost", "lightgbm"):
            ex = explain_rows(task.models[family], X)
            top_reasons(ex)
            for fig in (waterfall_figure(ex, 0, points=True), beeswarm_figure(ex),
                        dependence_figure(ex, "age_years"), importance_figure(ex)):
                fig.savefig(io.BytesIO(), format="png", dpi=40)
        print("pyplot" if "matplotlib.pyplot" in sys.modules else "no pyplot")
        print("shap" if "shap" in sys.modules else "no shap")
    """)
    out = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        encoding="utf-8",
        check=False,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["no", "pyplot", "no", "shap"]


def test_explanation_is_frozen(small_fits):
    ex = explain_rows(
        _fit(small_fits, "mcid_odi_12m").models["logistic"], _rows(small_fits, "mcid_odi_12m", 3)
    )
    assert isinstance(ex, Explanation)
    with pytest.raises(dataclasses.FrozenInstanceError):
        ex.base_value = 0.0
