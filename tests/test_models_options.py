"""The model layer's options are checked by the shared declarations (prom.options)."""

import numpy as np
import pandas as pd
import pytest

from prom.models import PromClassifier, PromCoxModel, recalibrate
from prom.models.preprocess import Preprocessor
from prom.options import FOLDS, check_option


def _rows(n=120, seed=0):
    rng = np.random.default_rng(seed)
    X = pd.DataFrame({"age_years": rng.uniform(20, 80, n), "odi_0m": rng.uniform(10, 80, n)})
    y = pd.Series((rng.random(n) < 0.4).astype(float))
    return X, y


@pytest.mark.parametrize(
    ("params", "error", "match"),
    [
        (
            dict(calibration="beta"),
            ValueError,
            r"calibration='beta'; expected 'auto', 'none', 'platt' or 'isotonic'",
        ),
        (dict(n_iter=0), ValueError, r"n_iter must be >= 1; got 0\."),
        (dict(n_iter=2.5), TypeError, r"n_iter must be an integer >= 1; got 2\.5\."),
        (dict(inner_cv=1), ValueError, r"inner_cv=1: a cross-validation needs at least 2 folds"),
        (dict(inner_cv=True), TypeError, r"inner_cv must be an integer number of folds"),
        (dict(n_jobs=0), ValueError, r"n_jobs must be a positive integer or -1"),
        (dict(random_state=-1), ValueError, r"random_state must be >= 0; got -1\."),
        (dict(random_state="seed"), TypeError, r"random_state must be an integer seed or None"),
    ],
)
def test_classifier_options_are_refused_at_fit(params, error, match):
    X, y = _rows()
    model = PromClassifier(**params)  # __init__ stores, fit checks (scikit-learn's rule)
    with pytest.raises(error, match=match):
        model.fit(X, y)


def test_classifier_seed_forms():
    X, y = _rows()
    a = PromClassifier("elastic_net", n_iter=2, calibration="none", random_state=np.int64(3))
    b = PromClassifier("elastic_net", n_iter=2, calibration="none", random_state=3)
    np.testing.assert_array_equal(a.fit(X, y).predict_proba(X), b.fit(X, y).predict_proba(X))
    c = PromClassifier("elastic_net", n_iter=2, calibration="none")
    d = PromClassifier("elastic_net", n_iter=2, calibration="none")
    c.set_params(random_state=np.random.RandomState(5))
    d.set_params(random_state=np.random.RandomState(5))
    np.testing.assert_array_equal(c.fit(X, y).predict_proba(X), d.fit(X, y).predict_proba(X))
    PromClassifier(calibration="none", n_jobs=-1).fit(X, y)  # -1: every core


def test_recalibration_method_is_the_shared_choice():
    with pytest.raises(
        ValueError, match=r"method='slope'; expected 'intercept' or 'intercept_slope'"
    ):
        recalibrate([0.2, 0.8], [0, 1], method="slope")


def test_preprocessor_handle_unknown_is_a_choice():
    X, _ = _rows()
    with pytest.raises(ValueError, match=r"handle_unknown='skip'; expected 'warn', 'error' or"):
        Preprocessor(handle_unknown="skip").fit(X)
    with pytest.raises(TypeError, match=r"splines must be True, False or a list of column names"):
        Preprocessor(splines=None).fit(X)


def test_cox_penalty_search_options():
    X, _ = _rows()
    y = pd.DataFrame({"time": np.arange(1.0, 121.0), "event": np.tile([1.0, 0.0], 60)})
    with pytest.raises(ValueError, match=r"inner_cv=1: a cross-validation needs at least 2"):
        PromCoxModel(penalizer="cv", inner_cv=1).fit(X, y)
    with pytest.raises(ValueError, match=r"random_state must be >= 0; got -2\."):
        PromCoxModel(penalizer="cv", random_state=-2).fit(X, y)


def test_folds_constraint():
    assert check_option("inner_cv", np.int64(3), FOLDS) == 3
    with pytest.raises(
        TypeError, match=r"inner_cv must be an integer number of folds \(>= 2\); got 2\.0\."
    ):
        check_option("inner_cv", 2.0, FOLDS)
    with pytest.raises(
        ValueError, match=r"n_splits=0: a cross-validation needs at least 2 folds\."
    ):
        check_option("n_splits", 0, FOLDS)
