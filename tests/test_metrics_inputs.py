"""Input checks shared by every binary-outcome metric: each error path, once per function.

No reference values here: the messages are the contract (what was wrong, how many, which
rows, what to do).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from prom.errors import StatisticalWarning
from prom.validation import (
    auc_ci,
    auc_score,
    brier_loss,
    calibration_curve,
    calibration_errors,
    calibration_intercept_slope,
    scaled_brier_score,
)

BINARY = [
    auc_score,
    auc_ci,
    brier_loss,
    scaled_brier_score,
    calibration_intercept_slope,
    calibration_errors,
    calibration_curve,
]
NEEDS_BOTH = [f for f in BINARY if f is not brier_loss]

rng = np.random.default_rng(11)
Y = np.r_[np.zeros(30, int), np.ones(30, int)]
P = np.clip(0.3 + 0.4 * Y + rng.normal(scale=0.15, size=60), 0.02, 0.98)


@pytest.mark.parametrize("f", BINARY)
def test_wrong_types(f):
    with pytest.raises(TypeError, match=r"y must be a 1-D array-like of numbers .*got str"):
        f("0101", P)
    with pytest.raises(TypeError, match=r"p must be a 1-D array-like .*got dict"):
        f(Y, {"a": 1})
    with pytest.raises(TypeError, match=r"got NoneType"):
        f(None, P)
    with pytest.raises(
        TypeError,
        match=r"y must be numeric; got an array of dtype <U3 "
        r"\(values such as 'no', 'yes'\)",
    ):
        f(np.where(Y == 1, "yes", "no"), P)
    with pytest.raises(TypeError, match=r"y must be numeric; got dtype object"):
        f(pd.Series(np.where(Y == 1, "yes", "no"), dtype=object), P)
    with pytest.raises(TypeError, match=r"got a DataFrame with 2 columns"):
        f(Y, pd.DataFrame({"a": P, "b": P}))


@pytest.mark.parametrize("f", BINARY)
def test_bad_values(f):
    with pytest.raises(ValueError, match=r"lengths differ: y has 60, p has 59"):
        f(Y, P[:-1])
    p = P.copy()
    p[[4, 17]] = np.nan
    with pytest.raises(
        ValueError,
        match=r"p has 2 missing value\(s\) \(0-based rows 4, 17\); "
        r"metrics never drop rows silently",
    ):
        f(Y, p)
    s = pd.Series(P.copy(), index=np.arange(100, 160))
    s.iloc[2] = np.nan
    with pytest.raises(ValueError, match=r"p has 1 missing value\(s\) \(row 102\)"):
        f(Y, s)
    with pytest.raises(ValueError, match=r"y has 1 missing value\(s\) \(row 0\)"):
        f(pd.Series(Y, dtype="Int64").where(np.arange(60) != 0, pd.NA), P)
    with pytest.raises(
        ValueError,
        match=r"p must be predicted probabilities in \[0, 1\]; 60 "
        r"value\(s\) are outside .*Percentages\? divide by 100",
    ):
        f(Y, P * 100)
    with pytest.raises(
        ValueError,
        match=r"y must be 0/1 \(1 = event\); 30 value\(s\) are not "
        r"\(0-based rows 30, 31, .*values 2\)",
    ):
        f(Y * 2, P)
    with pytest.raises(ValueError, match=r"p has 1 infinite value"):
        f(Y, np.r_[P[:-1], np.inf])
    with pytest.raises(ValueError, match=r"y must be 1-D; got an array of shape \(60, 1\)"):
        f(Y[:, None], P)
    with pytest.raises(ValueError, match=r"y is empty"):
        f([], [])


@pytest.mark.parametrize("f", NEEDS_BOTH)
def test_single_class_and_few_events(f):
    with pytest.raises(
        ValueError,
        match=r"y has a single class: all 60 value\(s\) are 1 "
        r"\(events\)",
    ):
        f(np.ones(60), P)
    y = np.zeros(60, int)
    y[[5, 20, 33, 41, 50, 58]] = 1  # 6 events spread over the range of p
    with pytest.warns(StatisticalWarning, match=r"only 6 events \(y == 1\) among 60 rows"):
        f(y, np.linspace(0.05, 0.95, 60))
    with pytest.warns(StatisticalWarning, match=r"only 6 non-events \(y == 0\) among 60 rows"):
        f(1 - y, np.linspace(0.05, 0.95, 60))


@pytest.mark.parametrize("f", BINARY)
def test_accepted_input_kinds_give_the_same_number(f):
    ref = f(Y, P)
    for y, p in (
        (Y.astype(bool), P),
        (list(Y), list(P)),
        (pd.Series(Y), pd.Series(P)),
        (pd.Series(Y, dtype="Int64"), pd.DataFrame({"p": P})),
    ):
        got = f(y, p)
        if isinstance(ref, float):
            assert got == ref
        else:
            assert type(got) is type(ref)


def test_inputs_are_not_mutated():
    y, p = pd.Series(Y), pd.Series(P)
    y0, p0 = y.copy(), p.copy()
    for f in BINARY:
        f(y, p)
    pd.testing.assert_series_equal(y, y0)
    pd.testing.assert_series_equal(p, p0)
