"""The shared-column path: ColumnCache, Preprocessor.transform_columns and
PromClassifier.predict_proba_columns give exactly what the DataFrame path gives."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from prom.errors import MissingColumnError
from prom.models.columns import ColumnCache, level_codes
from prom.models.preprocess import Preprocessor


def _table(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    age = rng.normal(60, 12, n)
    age[rng.random(n) < 0.1] = np.nan
    bmi = rng.normal(28, 4, n)
    sex = rng.choice(np.array(["female", "male"], dtype=object), n)
    smoking = rng.choice(np.array(["never", "former", "current"], dtype=object), n)
    smoking[rng.random(n) < 0.08] = None
    flag = (rng.random(n) < 0.3).astype(float)
    return pd.DataFrame({"age": age, "bmi": bmi, "sex": sex, "smoking": smoking, "flag": flag})


@pytest.fixture(scope="module")
def train():
    return _table(400, 1)


@pytest.fixture(scope="module")
def new():
    df = _table(300, 2)
    df.loc[[3, 17], "sex"] = "unknown-level"  # never seen in training
    df.loc[[5, 6], "bmi"] = [80.0, 5.0]  # outside the training range: kept as is
    return df


PARAMS = [
    dict(),
    dict(scale=True, splines=True, n_knots=4, drop_reference=True),
    dict(missing_indicators=False, splines=["age"], n_knots=3),
]


@pytest.mark.parametrize("params", PARAMS)
def test_transform_columns_equals_transform(train, new, params):
    pre = Preprocessor(
        numeric=["age", "bmi", "flag"],
        categorical=["sex", "smoking"],
        handle_unknown="ignore",
        **params,
    ).fit(train)
    Z, unknown = pre.transform_columns(ColumnCache(new))
    np.testing.assert_array_equal(Z, pre.transform(new))
    expected = pre.unknown_categories(new)
    for c in pre.categorical_:
        np.testing.assert_array_equal(unknown[c], expected[c].to_numpy())
    assert unknown["sex"][[3, 17]].all() and unknown["sex"].sum() == 2


def test_transform_columns_of_a_subset_equals_transform_of_those_rows(train, new):
    pre = Preprocessor(
        numeric=["age", "bmi", "flag"],
        categorical=["sex", "smoking"],
        scale=True,
        handle_unknown="ignore",
    ).fit(train)
    rows = np.array([0, 4, 5, 17, 299, 120])
    Z, _ = pre.transform_columns(ColumnCache(new), rows)
    np.testing.assert_array_equal(Z, pre.transform(new.iloc[rows]))


def test_transform_columns_names_an_absent_column(train, new):
    pre = Preprocessor(numeric=["age", "bmi"], categorical=["sex"]).fit(train)
    with pytest.raises(MissingColumnError, match="bmi"):
        pre.transform_columns(ColumnCache(new.drop(columns="bmi")))


def test_the_cache_converts_once_and_shares_read_only_arrays(new):
    cache = ColumnCache(new)
    a = cache.numeric("age")
    assert cache.numeric("age") is a and not a.flags.writeable
    c = cache.codes("smoking", ("current", "former", "never"))
    assert cache.codes("smoking", ("current", "former", "never")) is c
    with pytest.raises(ValueError):
        c[0] = 1


def test_codes_mark_unseen_levels_and_missing_values():
    values = np.array(["a", "b", None, "z", np.nan, "a"], dtype=object)
    np.testing.assert_array_equal(level_codes(values, ("a", "b")), [0, 1, -2, -1, -2, 0])
    # Python equality, as a dict would match: 1 and 1.0 are the same level
    np.testing.assert_array_equal(
        level_codes(np.array([1.0, 2, None], dtype=object), (1, 2)), [0, 1, -2]
    )


def test_a_categorical_column_gives_the_same_codes_as_its_text():
    text = pd.Series(["male", None, "female", "other", "male"], dtype=object)
    cat = pd.Series(pd.Categorical(text, categories=["female", "male", "other", "x"]))
    levels = ("male", "female")  # another order, and a category the model never saw
    got = ColumnCache(pd.DataFrame({"s": cat})).codes("s", levels)
    np.testing.assert_array_equal(got, ColumnCache(pd.DataFrame({"s": text})).codes("s", levels))
    np.testing.assert_array_equal(got, [0, -2, 1, -1, 0])


def test_extra_columns_are_read_like_frame_columns(new):
    extra = {"derived": np.arange(len(new), dtype=float)}
    cache = ColumnCache(new, extra)
    assert "derived" in cache and "age" in cache and "nope" not in cache
    np.testing.assert_array_equal(cache.numeric("derived"), extra["derived"])
    with pytest.raises(ValueError, match="derived"):
        ColumnCache(new, {"derived": np.zeros(3)})


def test_predict_proba_columns_equals_predict_proba():
    from prom.cohort.simulate import simulate_cohort
    from prom.instruments import add_scores
    from prom.models import PromClassifier
    from prom.outcomes import TASKS, derive_label

    df = add_scores(simulate_cohort(1500, seed=5))
    df = df[df["region"].eq("lumbar")].reset_index(drop=True)
    lab = derive_label(df, "mcid_odi_12m")["label"]
    keep = lab.notna().to_numpy()
    model = PromClassifier(
        "logistic", predictors=TASKS["mcid_odi_12m"].predictors, calibration="platt", n_iter=1
    ).fit(df[keep], lab[keep].astype(int))
    from prom.cohort.derived import INDEX_PREFIX, index_level_values

    wanted = [c[len(INDEX_PREFIX) :] for c in model.predictors if c.startswith(INDEX_PREFIX)]
    cache = ColumnCache(df, index_level_values(df, wanted))
    np.testing.assert_array_equal(model.predict_proba_columns(cache), model.predict_proba(df))
    rows = np.flatnonzero(keep)[:50]
    np.testing.assert_array_equal(
        model.predict_proba_columns(cache, rows, calibrated=False),
        model.predict_proba(df.iloc[rows], calibrated=False),
    )
