"""PromClassifier: scikit-learn conventions, every family, reproducibility, no leakage."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from scipy.special import expit
from sklearn.utils.estimator_checks import parametrize_with_checks

from prom.errors import MissingColumnError
from prom.models import FAMILIES, PromClassifier, get_spec
from prom.models import tuning as tuning_module
from prom.models.calibration import calibrator_from_state
from prom.models.preprocess import Preprocessor


@parametrize_with_checks(
    [
        PromClassifier(calibration="none"),
        PromClassifier("lightgbm", n_iter=2, inner_cv=2, calibration="auto"),
    ]
)
def test_sklearn_conventions(estimator, check):
    check(estimator)


def _cohort_like(n=600, seed=0, classes=2):
    """A small table with the cohort's column kinds and a known logistic truth."""
    rng = np.random.default_rng(seed)
    X = pd.DataFrame(
        {
            "age_years": rng.uniform(18, 85, n),
            "bmi_kg_m2": np.where(rng.random(n) < 0.05, np.nan, rng.normal(27, 4, n)),
            "smoking": pd.Categorical(
                rng.choice(["never", "former", "current"], n, p=[0.55, 0.2, 0.25]),
                categories=["never", "former", "current"],
            ),
            "opioid_use": pd.array(rng.random(n) < 0.25, dtype="boolean"),
            "odi_0m": rng.uniform(10, 80, n).round(),
            "site": pd.array(rng.choice(["site_01", "site_02"], n), dtype="string"),
        }
    )
    eta = (
        -0.5
        + 0.04 * (X["odi_0m"] - 40)
        - 0.5 * (X["smoking"] == "current")
        - 0.6 * X["opioid_use"].astype(float)
        - 0.02 * (X["age_years"] - 50)
    )
    if classes == 2:
        y = (rng.random(n) < expit(eta.to_numpy())).astype(float)
    else:
        e2 = 0.5 - 0.03 * (X["odi_0m"] - 40)
        logits = np.column_stack([np.zeros(n), eta, e2])
        p = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
        y = np.array(["conservative", "tfesi", "surgery"])[
            (p.cumsum(1) < rng.random(n)[:, None]).sum(1)
        ]
    return X, pd.Series(y, index=X.index)


PREDICTORS = ["age_years", "bmi_kg_m2", "smoking", "opioid_use", "odi_0m"]


@pytest.mark.parametrize("family", FAMILIES)
@pytest.mark.parametrize("classes", [2, 3])
def test_every_family_fits_binary_and_multiclass(family, classes):
    X, y = _cohort_like(classes=classes)
    m = PromClassifier(family, predictors=PREDICTORS, n_iter=2, inner_cv=2).fit(X, y)
    p = m.predict_proba(X)
    assert p.shape == (len(X), classes)
    np.testing.assert_allclose(p.sum(1), 1, rtol=1e-12)
    assert set(m.predict(X)) <= set(m.classes_)
    assert m.calibration_method_ in (
        ("none", "platt", "isotonic") if classes == 2 else ("none", "platt")
    )
    assert list(m.feature_names_in_) == PREDICTORS
    json.dumps(m.chosen_params_, allow_nan=False)
    assert set(m.chosen_params_) == set(get_spec(family).default_params)


def test_same_seed_same_model_other_seed_other_search():
    X, y = _cohort_like()
    a = PromClassifier("xgboost", predictors=PREDICTORS, n_iter=4, random_state=7).fit(X, y)
    b = PromClassifier("xgboost", predictors=PREDICTORS, n_iter=4, random_state=7).fit(X, y)
    assert a.chosen_params_ == b.chosen_params_
    assert a.cv_results_ == b.cv_results_
    np.testing.assert_array_equal(a.predict_proba(X), b.predict_proba(X))
    c = PromClassifier("xgboost", predictors=PREDICTORS, n_iter=4, random_state=8).fit(X, y)
    assert [r["params"] for r in c.cv_results_] != [r["params"] for r in a.cv_results_]


def test_search_budget_and_defaults_first():
    X, y = _cohort_like()
    m = PromClassifier("elastic_net", predictors=PREDICTORS, n_iter=5).fit(X, y)
    assert len(m.cv_results_) == 5
    spec = get_spec("elastic_net")
    assert m.cv_results_[0]["params"] == {k: spec.default_params[k] for k in spec.search_space}
    # the race over the 3 inner folds: 5 candidates, then the better 3, then the better 2
    assert sorted(r["folds_scored"] for r in m.cv_results_) == [1, 1, 2, 3, 3]
    whole = [i for i in range(5) if m.cv_results_[i]["folds_scored"] == 3]
    best = min(whole, key=lambda i: m.cv_results_[i]["log_loss"])
    assert {k: m.chosen_params_[k] for k in spec.search_space} == m.cv_results_[best]["params"]
    assert (
        PromClassifier("logistic", predictors=PREDICTORS, calibration="none", n_iter=50)
        .fit(X, y)
        .cv_results_
        == []
    )


def test_predictors_read_by_name():
    X, y = _cohort_like()
    m = PromClassifier("logistic", predictors=PREDICTORS, calibration="platt").fit(X, y)
    shuffled = X[X.columns[::-1]].assign(unrelated=3.0)
    np.testing.assert_array_equal(m.predict_proba(shuffled), m.predict_proba(X))
    with pytest.raises(MissingColumnError, match=r"needs column.*odi_0m"):
        m.predict_proba(X.drop(columns="odi_0m"))


def test_raw_and_calibrated_probabilities():
    X, y = _cohort_like()
    m = PromClassifier("random_forest", predictors=PREDICTORS, n_iter=1, calibration="platt").fit(
        X, y
    )
    raw = m.predict_proba(X, calibrated=False)
    cal = m.predict_proba(X)
    np.testing.assert_array_equal(raw, m.estimator_.predict_proba(m.design_matrix(X).to_numpy()))
    assert not np.allclose(raw, cal)
    # Platt is increasing in the raw probability: the ranking is kept
    order = np.argsort(raw[:, 1], kind="stable")
    assert np.all(np.diff(cal[order, 1]) >= -1e-12)
    assert list(m.design_matrix(X).columns) == list(m.preprocessor_.feature_names_out_)


def test_calibrator_state_is_json():
    X, y = _cohort_like()
    m = PromClassifier("lightgbm", predictors=PREDICTORS, n_iter=2, calibration="isotonic").fit(
        X, y
    )
    state = json.loads(json.dumps(m.calibrator_.get_state(), allow_nan=False))
    again = calibrator_from_state(state)
    raw = m.predict_proba(X, calibrated=False)
    np.testing.assert_array_equal(again.transform(raw), m.predict_proba(X))


def test_no_leakage_inside_the_inner_cv(monkeypatch):
    """Each inner preprocessor is fitted on that fold's training rows only, once per fold
    (the candidates of the search share it)."""
    X, y = _cohort_like()
    seen, summarised = [], []
    original = Preprocessor.fit

    def spy(self, X_, y_=None, **kw):
        seen.append(set(X_.index))
        summarised.append(kw.get("summaries", True))
        return original(self, X_, y_, **kw)

    monkeypatch.setattr(Preprocessor, "fit", spy)
    m = PromClassifier("elastic_net", predictors=PREDICTORS, n_iter=2, inner_cv=3).fit(X, y)
    codes = np.unique(y, return_inverse=True)[1]
    folds = tuning_module.inner_folds(codes, 3, 0)
    inner = seen[:-1]  # the last fit is the final refit on all rows
    assert len(inner) == 3  # not 2 candidates × 3 folds
    for k, rows in enumerate(inner):
        held_out = set(X.index[folds == k % 3])
        assert rows.isdisjoint(held_out)
        assert rows | held_out == set(X.index)
    assert seen[-1] == set(X.index)
    assert summarised == [False, False, False, True]  # only the kept one is summarised
    assert m.preprocessor_.training_ranges_["odi_0m"]["median"] == pytest.approx(
        X["odi_0m"].median()
    )


def test_multiclass_calibration_choices():
    X, y = _cohort_like(classes=3)
    with pytest.raises(ValueError, match="isotonic calibration is for two classes"):
        PromClassifier("logistic", predictors=PREDICTORS, calibration="isotonic").fit(X, y)
    m = PromClassifier("logistic", predictors=PREDICTORS, calibration="platt").fit(X, y)
    assert m.calibration_method_ == "platt"
    assert list(m.classes_) == ["conservative", "surgery", "tfesi"]
    assert len(m.calibrator_.get_state()["slopes"]) == 3
    m2 = PromClassifier("logistic", predictors=PREDICTORS, calibration="auto").fit(X, y)
    assert set(m2.calibration_scores_) == {"none", "platt"}


def test_refuses_truth_outcome_and_missing_labels():
    X, y = _cohort_like()
    leaky = X.assign(true_p_mcid_odi_12m=0.5)
    with pytest.raises(ValueError, match=r"true_p_mcid_odi_12m \(truth\) cannot be predictors"):
        PromClassifier(predictors=[*PREDICTORS, "true_p_mcid_odi_12m"]).fit(leaky, y)
    with pytest.raises(ValueError, match=r"odi_12m \(follow-up\).*nrs_leg_3m \(follow-up\)"):
        PromClassifier().fit(X.assign(odi_12m=20.0, nrs_leg_3m=2.0), y)
    y2 = y.copy()
    y2.iloc[[4, 9]] = np.nan
    with pytest.raises(ValueError, match=r"2 label\(s\) missing \(rows 4, 9\)"):
        PromClassifier(predictors=PREDICTORS).fit(X, y2)
    with pytest.raises(ValueError, match="only one class"):
        PromClassifier(predictors=PREDICTORS).fit(X, pd.Series(1.0, index=X.index))


def test_parameter_errors():
    X, y = _cohort_like()
    with pytest.raises(ValueError, match="unknown model family 'svm'"):
        PromClassifier("svm").fit(X, y)
    with pytest.raises(ValueError, match="calibration='beta'"):
        PromClassifier(calibration="beta").fit(X, y)
    with pytest.raises(ValueError, match="inner_cv=1"):
        PromClassifier(inner_cv=1).fit(X, y)
    few = y.copy()
    few[:] = 0.0
    few.iloc[:2] = 1.0
    with pytest.raises(ValueError, match="smallest class has 2 row"):
        PromClassifier(predictors=PREDICTORS, inner_cv=3).fit(X, few)


def test_unknown_category_at_prediction_is_reported():
    from prom.models import UnknownCategoryWarning

    X, y = _cohort_like()
    m = PromClassifier("logistic", predictors=PREDICTORS, calibration="none").fit(X, y)
    new = X.head(3).copy()
    new["smoking"] = new["smoking"].cat.add_categories("vaping")
    new.loc[1, "smoking"] = "vaping"
    with pytest.warns(UnknownCategoryWarning, match="'vaping'"):
        m.predict_proba(new)
    assert m.unknown_categories(new)["smoking"].tolist() == [False, True, False]


def test_state_for_bundles_round_trips():
    X, y = _cohort_like(classes=3)
    m = PromClassifier("xgboost", predictors=PREDICTORS, n_iter=2, calibration="platt").fit(X, y)
    state = json.loads(json.dumps(m.get_state(), allow_nan=False))
    again = PromClassifier.from_state(state, m.estimator_)
    np.testing.assert_array_equal(again.predict_proba(X), m.predict_proba(X))
    np.testing.assert_array_equal(again.predict(X), m.predict(X))
    with pytest.raises(ValueError, match="not a PromClassifier state"):
        PromClassifier.from_state({"format": "x"}, m.estimator_)


def test_ill_posed_baseline_gives_a_statistical_warning():
    """Unpenalised logistic with more columns than the data support: sklearn's solver
    complaint becomes a StatisticalWarning with the counts."""
    from prom.errors import StatisticalWarning

    rng = np.random.default_rng(11)
    n, p = 60, 80  # more columns than rows: a singular Hessian
    X = pd.DataFrame(rng.normal(size=(n, p)), columns=[f"v{i}" for i in range(p)])
    y = (rng.random(n) < 0.5).astype(int)
    with pytest.warns(StatisticalWarning, match=r"logistic: the solver did not converge.*60 rows"):
        PromClassifier("logistic", calibration="none").fit(X, y)
