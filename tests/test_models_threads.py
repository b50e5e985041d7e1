"""An estimator's OpenMP threads held to its ``n_jobs`` while fitted (prom.models.threads)."""

from __future__ import annotations

import numpy as np
import pytest
from threadpoolctl import threadpool_info

from prom.models.specs import MODEL_SPECS
from prom.models.threads import openmp_threads
from prom.models.tuning import fit_estimator


def _openmp_threads() -> list[int]:
    return [i["num_threads"] for i in threadpool_info() if i["user_api"] == "openmp"]


def test_the_limit_holds_inside_and_is_lifted_after():
    pytest.importorskip("xgboost")  # loads an OpenMP runtime
    before = _openmp_threads()
    assert before
    with openmp_threads(2), openmp_threads(1):
        # the runtimes loaded at the first use (xgboost's among them) are held to one
        # thread; one loaded later, such as LightGBM's, is left alone
        assert 1 in _openmp_threads()
    assert _openmp_threads() == before
    for no_limit in (-1, None, True, 0):
        with openmp_threads(no_limit):
            assert _openmp_threads() == before


def test_xgboost_fitted_on_one_openmp_thread_gives_the_same_model():
    """Reference: the same XGBoost fit without the limit (the trees and predictions)."""
    pytest.importorskip("xgboost")
    spec = MODEL_SPECS["xgboost"]
    assert spec.limit_openmp
    rng = np.random.default_rng(2)
    Z = rng.normal(size=(120, 5))
    y = (Z[:, 0] + rng.normal(size=120) > 0).astype(int)
    params = {"n_estimators": 30, "max_depth": 3}
    plain = spec.make_estimator(params, 2, 0, 1).fit(Z, y)
    limited = fit_estimator(spec, spec.make_estimator(params, 2, 0, 1), Z, y)
    np.testing.assert_array_equal(limited.predict_proba(Z), plain.predict_proba(Z))
    dump = plain.get_booster().get_dump(dump_format="json")
    assert limited.get_booster().get_dump(dump_format="json") == dump
