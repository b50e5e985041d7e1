"""The random forest's out-of-bag search: forests grown in steps, votes added in steps,
and the successive-halving race over the candidates (prom.models.out_of_bag)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest
from sklearn.ensemble import RandomForestClassifier

from prom.models.out_of_bag import (
    OutOfBagVotes,
    forest_rungs,
    out_of_bag_proba,
    tune_out_of_bag,
)
from prom.models.specs import MODEL_SPECS
from prom.models.tuning import candidate_params

SPEC = MODEL_SPECS["random_forest"]


def _table(n: int = 160, seed: int = 5) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = pd.DataFrame(rng.normal(size=(n, 4)), columns=["a", "b", "c", "d"])
    eta = 0.8 * X["a"] - 0.6 * X["b"] + 0.4 * X["c"] * X["d"]
    y = rng.binomial(1, 1 / (1 + np.exp(-eta.to_numpy())))
    return X, y


def test_a_forest_grown_in_steps_is_the_forest_grown_at_once():
    """Reference: scikit-learn's one-shot fit and its own ``oob_decision_function_``.

    warm_start with the same random_state grows the same trees (scikit-learn draws the
    seeds of the trees already grown before drawing new ones), and the votes added step
    by step are the same numbers, bit for bit, as the votes of the whole forest."""
    X, y = _table()
    Z = X.to_numpy()
    once = RandomForestClassifier(
        90, max_samples=0.5, min_samples_leaf=5, oob_score=True, random_state=4
    ).fit(Z, y)
    grown = RandomForestClassifier(
        30, max_samples=0.5, min_samples_leaf=5, warm_start=True, random_state=4
    )
    votes = OutOfBagVotes(Z, 2)
    for size in (30, 60, 90):
        grown.set_params(n_estimators=size).fit(Z, y)
        votes.add(grown)
        assert votes.n_trees == size
    np.testing.assert_array_equal(grown.predict_proba(Z), once.predict_proba(Z))
    np.testing.assert_array_equal(votes.proba(), out_of_bag_proba(once, Z, 2))
    np.testing.assert_allclose(votes.proba(), once.oob_decision_function_, rtol=0, atol=1e-12)
    votes.add(grown)  # nothing new: unchanged
    np.testing.assert_array_equal(votes.proba(), out_of_bag_proba(once, Z, 2))


def test_forest_rungs():
    assert forest_rungs(200) == [50, 100, 200]
    assert forest_rungs(150) == [75, 150]
    assert forest_rungs(99) == [99]  # too few trees to score a part of the forest
    assert forest_rungs(1000) == [250, 500, 1000]


def test_the_race_halves_the_candidates_and_the_winner_is_a_full_forest():
    X, y = _table()
    cands = candidate_params(SPEC, 6, 3)
    res = tune_out_of_bag(
        SPEC,
        X,
        y,
        pre_params={"numeric": list(X.columns), "categorical": []},
        candidates=cands,
        random_state=3,
    )
    assert res is not None
    # 6 scored at 50 trees, the best 3 at 100, the best 2 of those at 200
    assert sorted(res.trees_scored) == [50, 50, 50, 100, 200, 200]
    full = [i for i, t in enumerate(res.trees_scored) if t == 200]
    assert res.best_index == min(full, key=lambda i: (res.log_losses[i], i))
    assert res.log_losses[res.best_index] == min(res.log_losses[i] for i in full)
    records = res.as_records()
    assert [r["trees_scored"] for r in records] == res.trees_scored
    assert records[res.best_index]["params"] == res.best_params
    # the winner is the forest a plain fit with its parameters grows, OOB votes included
    Z = res.preprocessor.transform(X)
    refit = SPEC.make_estimator(res.best_params, 2, 3, 1).fit(Z, y)
    assert not res.estimator.get_params()["warm_start"]
    assert res.estimator.get_params() == refit.get_params()
    np.testing.assert_array_equal(res.estimator.predict_proba(Z), refit.predict_proba(Z))
    np.testing.assert_array_equal(res.oof_proba, out_of_bag_proba(refit, Z, 2))
    assert res.log_losses[res.best_index] == pytest.approx(
        -np.mean(np.log(np.where(y == 1, res.oof_proba[:, 1], res.oof_proba[:, 0]))),
        rel=1e-12,
    )


def test_the_report_names_the_race_only_when_the_fit_recorded_one():
    from prom.bundle.manifest.entries import ClassifierSettings
    from prom.models.out_of_bag import inner_validation_phrase, out_of_bag_rungs

    assert out_of_bag_rungs(["logistic", "random_forest"], 10) == (50, 100, 200)
    assert out_of_bag_rungs(["logistic", "random_forest"], 1) == ()  # nothing to race
    assert out_of_bag_rungs(["logistic", "xgboost"], 10) == ()
    base = ClassifierSettings(
        ("logistic", "random_forest"), 5, 10, 3, "auto", 200, 0, 0, 0.75, None, ("random_forest",)
    )
    raced = dataclasses.replace(base, out_of_bag_rungs=(50, 100, 200))
    assert inner_validation_phrase(raced) == (
        "3-fold inner CV; random_forest: out-of-bag predictions instead, the candidates "
        "raced by successive halving (forests of 50, 100 and 200 trees, the better half "
        "going on at each size)"
    )
    # a bundle written before the race (or without one) says what its fit did
    assert inner_validation_phrase(base) == (
        "3-fold inner CV; random_forest: out-of-bag predictions instead"
    )
    assert "out_of_bag_rungs" not in base.to_dict()
    assert raced.to_dict()["out_of_bag_rungs"] == [50, 100, 200]
