"""Preprocessor: scikit-learn conventions, edge cases, no leakage, JSON state, R splines.

Spline reference: R 4.2.2, Hmisc 4.8-0 (Debian bookworm), computed by

    library(Hmisc); options(digits = 17)
    i <- 1:300; x <- exp(sin(i) * 1.5) + i / 100
    k <- rcspline.eval(x, nk = 4, knots.only = TRUE)
    B <- rcspline.eval(x, knots = k, inclx = TRUE)   # norm = 2, the default
    k; B[c(1, 50, 150, 300), ]; colSums(B)

(n = 300 ≥ 100 and no ties, so Hmisc's knots are plain type-7 quantiles).
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from sklearn.utils.estimator_checks import parametrize_with_checks

from prom.errors import MissingColumnError, StatisticalWarning
from prom.models.preprocess import (
    Preprocessor,
    UnknownCategoryError,
    UnknownCategoryWarning,
)
from prom.splines import distinct_knots, rcs_nonlinear_terms


@parametrize_with_checks(
    [
        Preprocessor(),
        Preprocessor(scale=True, splines=True, n_knots=3, drop_reference=True),
    ]
)
def test_sklearn_conventions(estimator, check):
    check(estimator)


R_KNOTS = [0.728581683788317, 2.2906981551244132, 3.5851811230364747, 6.3570601411505825]
R_ROWS = {  # row (1-based) -> x, rcs term 1, rcs term 2
    1: [3.5432088376854924, 0.70385079118895055, 0.062024361110384861],
    50: [1.1746492987350492, 0.0028016899086085695, 0.0],
    150: [1.8422154927987784, 0.043595855606172844, 0.0],
    300: [3.2232118943376245, 0.49004562462796147, 0.025596683663947413],
}
R_COLSUMS = [946.94781781867982, 300.7904461342614, 63.374201627124307]


def _r_x():
    i = np.arange(1, 301)
    return np.exp(np.sin(i) * 1.5) + i / 100


def test_rcs_matches_hmisc():
    """Knots and the norm = 2 basis equal Hmisc::rcspline.eval to rounding (rtol 1e-12)."""
    x = _r_x()
    knots = distinct_knots(x, 4)
    np.testing.assert_allclose(knots, R_KNOTS, rtol=1e-12)
    basis = np.column_stack([x, rcs_nonlinear_terms(x, knots)])
    for row, ref in R_ROWS.items():
        np.testing.assert_allclose(basis[row - 1], ref, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(basis.sum(axis=0), R_COLSUMS, rtol=1e-12)
    # the Preprocessor builds the same columns
    pre = Preprocessor(numeric=["x"], splines=True).fit(pd.DataFrame({"x": x}))
    assert list(pre.feature_names_out_) == ["x", "x__rcs1", "x__rcs2"]
    np.testing.assert_allclose(pre.transform(pd.DataFrame({"x": x})), basis, rtol=1e-12)


def test_rcs_is_linear_beyond_outer_knots():
    knots = np.array([1.0, 2.0, 4.0, 8.0])
    x = np.array([9.0, 10.0, 11.0, 12.0])
    second_diff = np.diff(rcs_nonlinear_terms(x, knots), n=2, axis=0)
    np.testing.assert_allclose(second_diff, 0, atol=1e-9)
    np.testing.assert_array_equal(rcs_nonlinear_terms(np.array([0.0, 0.5, 1.0]), knots), 0)


@pytest.fixture
def table():
    rng = np.random.default_rng(3)
    n = 200
    return pd.DataFrame(
        {
            "age_years": rng.uniform(20, 80, n),
            "bmi_kg_m2": np.where(rng.random(n) < 0.1, np.nan, rng.normal(27, 4, n)),
            "smoking": pd.Categorical(
                rng.choice(["never", "former", "current", None], n, p=[0.5, 0.2, 0.2, 0.1]),
                categories=["never", "former", "current"],
            ),
            "diabetes": pd.array(rng.random(n) < 0.1, dtype="boolean"),
            "asa_grade": pd.array(rng.integers(1, 5, n), dtype="Int64"),
        }
    )


def test_types_from_the_contract(table):
    pre = Preprocessor().fit(table)
    assert pre.numeric_ == ["age_years", "bmi_kg_m2", "diabetes", "asa_grade"]
    assert pre.categorical_ == ["smoking"]
    Z = pd.DataFrame(pre.transform(table), columns=pre.feature_names_out_)
    np.testing.assert_array_equal(Z["diabetes"], table["diabetes"].astype(float))
    assert set(Z.columns) >= {"bmi_kg_m2__missing", "smoking__missing", "smoking=never"}
    assert "age_years__missing" not in Z.columns  # no missing values in training
    assert pre.feature_groups_["smoking=former"] == "smoking"
    assert pre.feature_groups_["bmi_kg_m2__missing"] == "bmi_kg_m2"


def test_imputation_and_indicator(table):
    pre = Preprocessor().fit(table)
    Z = pd.DataFrame(pre.transform(table), columns=pre.feature_names_out_)
    miss = table["bmi_kg_m2"].isna().to_numpy()
    median = np.nanmedian(table["bmi_kg_m2"])
    np.testing.assert_array_equal(Z["bmi_kg_m2"][miss], median)
    np.testing.assert_array_equal(Z["bmi_kg_m2__missing"], miss.astype(float))
    r = pre.training_ranges_["bmi_kg_m2"]
    assert r["missing_fraction"] == pytest.approx(miss.mean())
    assert r["median"] == pytest.approx(median)
    assert r["p01"] <= r["median"] <= r["p99"] <= r["max"]


def test_all_missing_column_is_dropped_with_a_warning(table):
    t = table.assign(bmi_kg_m2=np.nan)
    with pytest.warns(StatisticalWarning, match="'bmi_kg_m2' is missing in all 200 training rows"):
        pre = Preprocessor().fit(t)
    assert not any(n.startswith("bmi_kg_m2") for n in pre.feature_names_out_)
    assert pre.dropped_features_["bmi_kg_m2"] == "missing in every training row"
    assert pre.training_ranges_["bmi_kg_m2"]["missing_fraction"] == 1.0
    assert pre.transform(t).shape[1] == len(pre.feature_names_out_)


def test_constant_column_is_dropped(table):
    t = table.assign(asa_grade=pd.array([2] * len(table), dtype="Int64"))
    pre = Preprocessor().fit(t)
    assert "asa_grade" not in pre.feature_names_out_
    assert pre.dropped_features_["asa_grade"] == "constant in the training rows"
    assert pre.training_ranges_["asa_grade"]["min"] == pre.training_ranges_["asa_grade"]["max"] == 2


def test_identical_columns_are_kept_once():
    """40 MRI columns missing together give one missing indicator, not 40 collinear ones."""
    rng = np.random.default_rng(0)
    no_mri = rng.random(100) < 0.2
    t = pd.DataFrame(
        {
            f"img_{lv}_canal_ap_mm": np.where(no_mri, np.nan, rng.normal(15, 2, 100))
            for lv in ("l3_l4", "l4_l5", "l5_s1")
        }
    )
    pre = Preprocessor().fit(t)
    indicators = [n for n in pre.feature_names_out_ if n.endswith("__missing")]
    assert indicators == ["img_l3_l4_canal_ap_mm__missing"]
    assert pre.dropped_features_["img_l5_s1_canal_ap_mm__missing"] == (
        "identical to img_l3_l4_canal_ap_mm__missing in the training rows"
    )


def test_unseen_category_is_zero_and_never_silent(table):
    pre = Preprocessor().fit(table)
    new = table.head(4).copy()
    new["smoking"] = pd.Categorical(
        ["never", "vaping", "vaping", None], categories=["never", "vaping"]
    )
    with pytest.warns(
        UnknownCategoryWarning,
        match=r"'smoking': 2 row\(s\) \('vaping'; rows 1, 2; the training rows had 'never', 'former', "
        r"'current'\)",
    ):
        Z = pd.DataFrame(pre.transform(new), columns=pre.feature_names_out_)
    smoking = [c for c in Z.columns if c.startswith("smoking")]
    np.testing.assert_array_equal(Z.loc[[1, 2], smoking], 0)
    assert Z.loc[3, "smoking__missing"] == 1  # missing had its own level in training
    unknown = pre.unknown_categories(new)
    assert unknown["smoking"].tolist() == [False, True, True, False]
    with pytest.raises(UnknownCategoryError, match="'vaping'"):
        pre.set_params(handle_unknown="error").transform(new)
    with warnings_as_errors():
        pre.set_params(handle_unknown="ignore").transform(new)


def test_missing_category_unseen_in_training_is_flagged(table):
    t = table.assign(smoking=table["smoking"].fillna("never"))
    pre = Preprocessor().fit(t)
    new = t.head(3).copy()
    new.loc[0, "smoking"] = None
    with pytest.warns(UnknownCategoryWarning, match="missing"):
        Z = pd.DataFrame(pre.transform(new), columns=pre.feature_names_out_)
    np.testing.assert_array_equal(Z.loc[0, [c for c in Z.columns if c.startswith("smoking")]], 0)
    assert pre.unknown_categories(new)["smoking"].tolist() == [True, False, False]


def test_reference_coding_drops_the_most_frequent_level(table):
    pre = Preprocessor(drop_reference=True).fit(table)
    assert "smoking=never" not in pre.feature_names_out_  # 50% of rows
    assert {"smoking=former", "smoking=current", "smoking__missing"} <= set(pre.feature_names_out_)
    assert (
        "sex=female"
        not in Preprocessor(drop_reference=True)
        .fit(pd.DataFrame({"sex": ["female"] * 3 + ["male"] * 2}))
        .feature_names_out_
    )


def test_column_order_extra_columns_and_renaming(table):
    num, cat = ["age_years", "bmi_kg_m2", "asa_grade"], ["smoking"]
    pre = Preprocessor(numeric=num, categorical=cat, splines=["age_years"]).fit(table)
    Z = pre.transform(table)
    shuffled = table[table.columns[::-1]].assign(extra=1.0)
    np.testing.assert_array_equal(pre.transform(shuffled), Z)
    mapping = {c: f"renamed_{c}" for c in table.columns}
    pre2 = Preprocessor(
        numeric=[mapping[c] for c in num],
        categorical=[mapping[c] for c in cat],
        splines=["renamed_age_years"],
    ).fit(table.rename(columns=mapping))
    np.testing.assert_array_equal(pre2.transform(table.rename(columns=mapping)), Z)
    assert [n.replace("renamed_", "") for n in pre2.feature_names_out_] == list(
        pre.feature_names_out_
    )


def test_does_not_mutate_its_input(table):
    before = table.copy(deep=True)
    pre = Preprocessor(scale=True, splines=True).fit(table)
    pre.transform(table)
    pre.unknown_categories(table)
    pd.testing.assert_frame_equal(table, before)


def test_statistics_come_from_training_rows_only(table):
    """No leakage: what the test rows hold cannot change what was learned."""
    train, test = table.iloc[:150], table.iloc[150:]
    a = Preprocessor(scale=True, splines=True).fit(train)
    wild = test.assign(
        age_years=1000.0,
        bmi_kg_m2=np.nan,
        smoking=pd.Categorical(["current"] * len(test), categories=["never", "former", "current"]),
    )
    both = pd.concat([train, wild])
    b = Preprocessor(scale=True, splines=True).fit(both.iloc[:150])
    assert a.get_state() == b.get_state()
    assert a.training_ranges_["age_years"]["max"] == pytest.approx(train["age_years"].max())
    Zt = a.transform(wild)
    np.testing.assert_array_equal(a.transform(train), b.transform(train))
    assert np.isfinite(Zt).all()


def test_state_round_trips_through_json(table):
    pre = Preprocessor(scale=True, splines=True, drop_reference=True).fit(table)
    text = json.dumps(pre.get_state(), allow_nan=False)
    again = Preprocessor.from_state(json.loads(text))
    np.testing.assert_array_equal(again.transform(table), pre.transform(table))
    assert list(again.feature_names_out_) == list(pre.feature_names_out_)
    assert again.training_ranges_ == pre.training_ranges_
    with pytest.raises(ValueError, match="not a Preprocessor state"):
        Preprocessor.from_state({"format": "something else"})
    with pytest.raises(ValueError, match="version 99 is not supported"):
        Preprocessor.from_state({**pre.get_state(), "version": 99})


@pytest.mark.parametrize("scale", [False, True])
def test_design_mean_is_the_training_design_mean(table, scale):
    """design_mean_ (the centre of exact linear explanations) is the column mean of the
    design of the training rows — 0 after scaling — and survives the JSON state."""
    pre = Preprocessor(scale=scale, splines=True).fit(table)
    expected = pre.transform(table).mean(axis=0)
    np.testing.assert_allclose(pre.design_mean_, expected, rtol=0, atol=1e-12)
    if scale:
        np.testing.assert_allclose(pre.design_mean_, 0.0, rtol=0, atol=1e-12)
    again = Preprocessor.from_state(json.loads(json.dumps(pre.get_state())))
    assert again.design_mean_ == pre.design_mean_
    old = pre.get_state()
    del old["design_mean"]  # a state saved before design_mean_ was recorded
    assert Preprocessor.from_state(old).design_mean_ is None


def test_error_messages(table):
    fitted = Preprocessor(numeric=["age_years", "bmi_kg_m2"]).fit(table)
    with pytest.raises(MissingColumnError, match=r"needs column.*bmi_kg_m2"):
        fitted.transform(table[["age_years", "smoking"]])
    bad = table.assign(bmi_kg_m2=table["bmi_kg_m2"].astype(object))
    bad.loc[[3, 7], "bmi_kg_m2"] = "obese"
    with pytest.raises(TypeError, match=r"'bmi_kg_m2' should be numeric.*'obese'.*rows 3, 7"):
        Preprocessor(numeric=["bmi_kg_m2"]).fit(bad)
    inf = table.assign(age_years=table["age_years"].where(table.index != 5, np.inf))
    with pytest.raises(ValueError, match=r"'age_years' has 1 infinite value\(s\) at row 5"):
        Preprocessor().fit(inf)
    with pytest.raises(ValueError, match="3 to 7 knots"):
        Preprocessor(n_knots=9).fit(table)
    with pytest.raises(ValueError, match="not numeric inputs"):
        Preprocessor(numeric=["age_years"], categorical=["smoking"], splines=["smoking"]).fit(table)
    with pytest.raises(ValueError, match="both numeric and categorical"):
        Preprocessor(numeric=["age_years"], categorical=["age_years"]).fit(table)
    with pytest.raises(ValueError, match="handle_unknown="):
        Preprocessor(handle_unknown="drop").fit(table)
    with pytest.raises(TypeError, match="list of column names"):
        Preprocessor(numeric=3).fit(table)


def test_implicit_mode_keeps_sklearn_column_rule(table):
    pre = Preprocessor().fit(table)
    with pytest.raises(ValueError, match="same order as they were in fit"):
        pre.transform(table[table.columns[::-1]])


class warnings_as_errors:
    """Context manager: any warning inside fails the test (beyond the global setting)."""

    def __enter__(self):
        import warnings

        self._cm = warnings.catch_warnings()
        self._cm.__enter__()
        warnings.simplefilter("error")

    def __exit__(self, *exc):
        return self._cm.__exit__(*exc)


@pytest.mark.parametrize("scale", [False, True])
def test_fit_without_summaries_gives_the_same_design(table, scale):
    """summaries=False (the resampling code's inner folds) skips only the training
    summaries: the same design, bit for bit, and a clear error where they are needed."""
    t = table.assign(age_years=table["age_years"].where(np.arange(len(table)) % 7 > 0))
    full = Preprocessor(scale=scale, splines=True, drop_reference=True).fit(t)
    lean = Preprocessor(scale=scale, splines=True, drop_reference=True).fit(t, summaries=False)
    np.testing.assert_array_equal(lean.transform(t), full.transform(t))
    assert lean.plan_ == full.plan_  # medians, knots, levels, references
    assert lean.keep_ == full.keep_ and lean.design_mean_ == full.design_mean_
    assert lean.training_ranges_ is None
    with pytest.raises(ValueError, match=r"get_state\(\) needs the training summaries"):
        lean.get_state()
    with pytest.raises(ValueError, match="fitted with summaries=False"):
        lean.training_summaries()
    with pytest.warns(StatisticalWarning, match="'bmi_kg_m2' is missing in all 200"):
        lean = Preprocessor().fit(t.assign(bmi_kg_m2=np.nan), summaries=False)
    assert lean.dropped_features_["bmi_kg_m2"] == "missing in every training row"
