"""The random search's race over the inner folds (prom.models.tuning.tune).

Reference: the full search written out by hand — every candidate cross-fitted on every
inner fold with :func:`cross_fit_proba`, scored by the pooled log loss — which is what
``tune`` computed before the race. The race must give the same numbers for every
candidate that runs every fold, and drop exactly the candidates the rule says."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from prom.models import tuning
from prom.models.calibration import brier_multi, log_loss
from prom.models.specs import MODEL_SPECS


def _table(n: int = 240, seed: int = 3) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = pd.DataFrame(rng.normal(size=(n, 4)), columns=["a", "b", "c", "d"])
    X["site"] = rng.choice(["north", "south", "east"], size=n)
    eta = 0.9 * X["a"] - 0.5 * X["b"] + 0.4 * X["c"] * X["d"] + (X["site"] == "east") * 0.5
    y = rng.binomial(1, 1 / (1 + np.exp(-eta.to_numpy())))
    return X, y


def _pre(spec) -> dict:
    return {
        "numeric": ["a", "b", "c", "d"],
        "categorical": ["site"],
        "scale": spec.scale,
        "splines": False,
        "drop_reference": spec.drop_reference,
        "handle_unknown": "ignore",
    }


def _by_hand(spec, X, y, folds, n_iter, seed):
    """Every candidate on every fold: (out-of-fold probabilities, pooled log losses)."""
    cands = tuning.candidate_params(spec, n_iter, seed)
    oofs = [tuning.cross_fit_proba(spec, c, X, y, folds, _pre(spec), 2, seed, 1) for c in cands]
    return oofs, [log_loss(y, p) for p in oofs]


@pytest.mark.parametrize("family", ["elastic_net", "xgboost"])
def test_without_the_race_every_candidate_is_scored_as_by_hand(family, monkeypatch):
    spec = MODEL_SPECS[family]
    X, y = _table()
    folds = tuning.inner_folds(y, 3, 11)
    oofs, lls = _by_hand(spec, X, y, folds, 6, 11)
    monkeypatch.setattr(tuning, "KEEP_FRACTION", 1.0)
    res = tuning.tune(spec, X, y, pre_params=_pre(spec), n_iter=6, folds=folds, random_state=11)
    assert res.log_losses == lls  # bit for bit
    assert res.folds_scored == [3] * 6
    assert res.best_index == min(range(6), key=lambda i: (lls[i], i))
    np.testing.assert_array_equal(res.oof_proba, oofs[res.best_index])


@pytest.mark.parametrize("family", ["elastic_net", "lightgbm"])
def test_the_race_keeps_the_better_half_after_each_fold(family):
    spec = MODEL_SPECS[family]
    X, y = _table()
    folds = tuning.inner_folds(y, 3, 4)
    oofs, full_lls = _by_hand(spec, X, y, folds, 10, 4)
    res = tuning.tune(spec, X, y, pre_params=_pre(spec), n_iter=10, folds=folds, random_state=4)

    # 10 candidates on fold 0, the better 5 on fold 1, the better 3 on fold 2
    assert sorted(res.folds_scored) == [1] * 5 + [2] * 2 + [3] * 3
    first = folds == 0
    both = folds <= 1
    fold0 = [log_loss(y[first], p[first]) for p in oofs]
    on_two = sorted(range(10), key=lambda i: (fold0[i], i))[:5]
    assert sorted(i for i, k in enumerate(res.folds_scored) if k >= 2) == sorted(on_two)
    fold01 = {i: log_loss(y[both], oofs[i][both]) for i in on_two}
    on_three = sorted(on_two, key=lambda i: (fold01[i], i))[:3]
    assert sorted(i for i, k in enumerate(res.folds_scored) if k == 3) == sorted(on_three)

    # each candidate's scores are over the rows of the folds it ran, as by hand
    rows = {1: first, 2: both, 3: np.ones_like(first)}
    for i, k in enumerate(res.folds_scored):
        assert res.log_losses[i] == log_loss(y[rows[k]], oofs[i][rows[k]])
        assert res.briers[i] == brier_multi(y[rows[k]], oofs[i][rows[k]])
    # the winner: the lowest pooled log loss among those that ran every fold
    assert res.best_index == min(on_three, key=lambda i: (full_lls[i], i))
    np.testing.assert_array_equal(res.oof_proba, oofs[res.best_index])
    records = res.as_records()
    assert [r["folds_scored"] for r in records] == res.folds_scored
    assert all(math.isfinite(r["log_loss"]) for r in records)


def test_one_candidate_runs_every_fold():
    spec = MODEL_SPECS["xgboost"]
    X, y = _table()
    folds = tuning.inner_folds(y, 3, 0)
    res = tuning.tune(spec, X, y, pre_params=_pre(spec), n_iter=1, folds=folds, random_state=0)
    assert res.folds_scored == [3] and res.best_index == 0


def test_the_manifest_and_the_report_name_the_race_only_when_there_was_one():
    import dataclasses

    from prom.bundle.manifest.entries import ClassifierSettings
    from prom.models.out_of_bag import inner_validation_phrase

    assert tuning.fold_race(["logistic", "xgboost"], 10, 3) == (10, 5, 3)
    assert tuning.fold_race(["logistic", "lightgbm"], 20, 3) == (20, 10, 5)
    assert tuning.fold_race(["logistic", "xgboost"], 1, 3) == ()  # nothing to race
    assert tuning.fold_race(["logistic", "random_forest"], 10, 3) == ()  # out of bag
    assert tuning.fold_race(["logistic", "xgboost"], 2, 2) == (2, 1)
    base = ClassifierSettings(("logistic", "xgboost"), 5, 10, 3, "auto", 200, 0, 0, 0.75, None)
    raced = dataclasses.replace(base, inner_fold_race=(10, 5, 3))
    assert inner_validation_phrase(raced) == (
        "3-fold inner CV, raced over the folds: 10, 5 and 3 candidates scored on "
        "successive folds, the better half going on after each"
    )
    # a bundle written before the race says what its fit did
    assert inner_validation_phrase(base) == "3-fold inner CV"
    assert "inner_fold_race" not in base.to_dict()
    assert raced.to_dict()["inner_fold_race"] == [10, 5, 3]
