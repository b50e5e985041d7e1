"""Typed views of an Explanation: one output, or one per class (no model needed)."""

import pandas as pd
import pytest

from prom.explain import Explanation


def _one():
    values = pd.DataFrame({"age_years": [0.5, -0.25], "odi_0m": [0.0, 1.0]})
    return Explanation(
        values=values,
        base_value=-0.1,
        features=("age_years", "odi_0m"),
        data=pd.DataFrame({"age_years": [60.0, 40.0], "odi_0m": [30.0, 50.0]}),
        output="log_odds",
        family="logistic",
        additivity_residual=0.0,
        prediction=pd.Series([0.4, 0.65]),
        explained_class=1.0,
    )


def _multi():
    one = _one()
    classes = ("conservative", "surgery", "tfesi")
    return Explanation(
        values={c: one.values * (i + 1) for i, c in enumerate(classes)},
        base_value={c: float(i) for i, c in enumerate(classes)},
        features=one.features,
        data=one.data,
        output="softmax_margin",
        family="logistic",
        additivity_residual=0.0,
        prediction=pd.DataFrame({c: [1.0, 2.0] for c in classes}),
        classes=classes,
    )


def test_one_output_view():
    ex = _one()
    values, base = ex.one_output()
    assert values is ex.values and base == -0.1
    with pytest.raises(ValueError, match=r"one output \(class 1\.0\), not one per class"):
        ex.by_class()


def test_per_class_view():
    ex = _multi()
    classes, values, base = ex.by_class()
    assert classes == ("conservative", "surgery", "tfesi")
    assert base["tfesi"] == 2.0 and values["surgery"].iloc[0, 0] == 1.0
    with pytest.raises(ValueError, match=r"one output per class \('conservative', 'surgery'"):
        ex.one_output()
    view = ex.for_class("surgery")
    assert view.one_output()[1] == 1.0 and view.explained_class == "surgery"
