"""The training summaries' typed view and the out-of-range checks (prom.models.ranges)."""

import dataclasses
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from prom.calculator import DEMO_BUNDLE_PATH
from prom.models.columns import level_codes
from prom.models.preprocess import Preprocessor
from prom.models.ranges import (
    CategoricalRange,
    Distribution,
    Finding,
    NumericRange,
    read_training_ranges,
    training_range,
)

AGE = {
    "kind": "numeric",
    "min": 20.0,
    "max": 80.0,
    "p01": 21.0,
    "p99": 79.0,
    "median": 50.0,
    "missing_fraction": 0.0,
    "mean": 50.5,
    "sd": 12.0,
    "bin_edges": [30.0, 50.0, 70.0],
    "bin_frequencies": [0.2, 0.3, 0.3, 0.2],
}
SMOKING = {
    "kind": "categorical",
    "categories": ["current", "former", "never"],
    "frequencies": {"current": 0.2, "former": 0.3, "never": 0.5},
    "missing_fraction": 0.0,
}


def _demo_summaries():
    """Every training summary of the embedded demonstration bundle: the manifest's
    feature_schema and the training_ranges of each model's state.json."""
    root = Path(DEMO_BUNDLE_PATH)
    manifest = json.loads((root / "manifest.json").read_text(encoding="utf-8"))
    out = [(f"feature_schema/{c}", d) for c, d in manifest["feature_schema"].items()]
    for state in sorted(root.glob("*/*/state.json")):
        ranges = json.loads(state.read_text(encoding="utf-8"))["preprocessor"]["training_ranges"]
        rel = state.relative_to(root).as_posix()
        out += [(f"{rel}/{c}", d) for c, d in ranges.items()]
    return out


SUMMARIES = _demo_summaries()


def test_the_demo_bundle_has_summaries_of_both_kinds():
    kinds = {d["kind"] for _, d in SUMMARIES}
    assert kinds == {"numeric", "categorical"} and len(SUMMARIES) > 100


@pytest.mark.parametrize("where, data", SUMMARIES, ids=[w for w, _ in SUMMARIES])
def test_from_dict_to_dict_round_trips_exactly(where, data):
    """Same dict, same key order, so the same JSON bytes."""
    back = training_range(data, where).to_dict()
    assert back == data
    assert list(back) == list(data)
    assert json.dumps(back) == json.dumps(data)


def test_the_preprocessor_records_what_the_view_writes():
    rng = np.random.default_rng(0)
    X = pd.DataFrame(
        {
            "age_years": rng.uniform(20, 80, 50),
            "bmi_kg_m2": np.where(rng.random(50) < 0.2, np.nan, rng.normal(27, 4, 50)),
            "smoking": pd.Categorical(rng.choice(["never", "former", "current"], 50)),
        }
    )
    X.loc[[1, 2], "bmi_kg_m2"] = np.nan
    pre = Preprocessor().fit(X)
    for c, d in pre.training_ranges_.items():
        r = training_range(d, c)
        assert r.to_dict() == d and list(r.to_dict()) == list(d)
    age = pre.training_ranges_["age_years"]
    assert age == NumericRange.summarise(X["age_years"].to_numpy()).to_dict()
    assert age["min"] == X["age_years"].min() and age["missing_fraction"] == 0.0
    assert pre.training_ranges_["bmi_kg_m2"]["missing_fraction"] == pytest.approx(
        X["bmi_kg_m2"].isna().mean()
    )


def test_a_column_missing_in_every_training_row_has_no_range():
    r = NumericRange.summarise(np.full(4, np.nan))
    assert r.is_empty and r.missing_fraction == 1.0
    assert r.distribution == Distribution(None, None, (), ())
    assert r.to_dict()["bin_edges"] == [] and r.to_dict()["mean"] is None
    assert r.findings(np.array([1.0, np.nan])) == {}
    assert r.check(None) is None and r.check(5.0) is None


def test_a_summary_saved_before_the_distribution_round_trips_without_it():
    old = {k: AGE[k] for k in ("kind", "min", "max", "p01", "p99", "median", "missing_fraction")}
    r = NumericRange.from_dict(old)
    assert r.distribution is None
    assert r.to_dict() == old and list(r.to_dict()) == list(old)


# --- the checks ----------------------------------------------------------------------------


def test_numeric_checks_by_hand():
    r = training_range(AGE)
    assert [r.check(v) for v in (19.9, 20.0, 50, 80.0, 80.1, None, float("nan"))] == [
        Finding.BELOW,
        None,
        None,
        None,
        Finding.ABOVE,
        Finding.MISSING,
        Finding.MISSING,
    ]
    assert r.check(True) is Finding.BELOW  # a yes/no answer is the number 1
    some_missing = NumericRange.from_dict({**AGE, "missing_fraction": 0.1})
    assert some_missing.check(None) is None


def test_categorical_checks_by_hand():
    r = training_range(SMOKING)
    assert r.check("never") is None
    assert r.check("vaping") is Finding.UNSEEN
    assert r.check(None) is Finding.MISSING
    assert CategoricalRange.from_dict({**SMOKING, "missing_fraction": 0.05}).check(None) is None
    levels = CategoricalRange(
        categories=(1, 2), frequencies={"1": 0.5, "2": 0.5}, missing_fraction=0
    )
    assert levels.check(1.0) is None  # matched as the model codes it: 1 == 1.0
    assert levels.check(3) is Finding.UNSEEN
    empty = CategoricalRange(categories=(), frequencies={}, missing_fraction=1.0)
    assert empty.check("x") is Finding.UNSEEN and empty.most_frequent is None


def test_most_frequent_level_takes_the_first_of_ties():
    r = CategoricalRange(("a", "b", "c"), {"a": 0.2, "b": 0.4, "c": 0.4}, 0.0)
    assert r.most_frequent == "b"


def test_vectorised_findings_agree_with_the_one_value_check():
    """The scorer's column-at-once masks and the calculator's one-value check are one
    definition: every value's finding is the mask it is flagged in."""
    num = training_range(AGE)
    values = np.array([10.0, 20.0, 55.0, 80.0, 99.0, np.nan])
    masks = num.findings(values)
    assert list(masks) == [Finding.BELOW, Finding.ABOVE, Finding.MISSING]
    for i, v in enumerate(values):
        hits = [f for f, m in masks.items() if m[i]]
        assert hits == ([num.check(v)] if num.check(v) else [])
    for levels, raw in [
        (("current", "former", "never"), ["never", "vaping", None, "current", np.nan, pd.NA]),
        ((1, 2, "a"), [1.0, True, "1", 2, np.float64(2.0), np.int64(1), None, "a", b"a"]),
    ]:
        cat = CategoricalRange(levels, {str(lv): 0.1 for lv in levels}, 0.0)
        values = np.empty(len(raw), dtype=object)
        values[:] = raw
        masks = cat.findings(level_codes(values, cat.categories))
        assert list(masks) == [Finding.UNSEEN, Finding.MISSING]
        for i, v in enumerate(raw):
            hits = [f for f, m in masks.items() if m[i]]
            assert hits == ([cat.check(v)] if cat.check(v) else []), v


@pytest.mark.parametrize("missing_fraction", [0.0, 0.2])
def test_one_value_checks_are_the_column_masks_at_every_edge(missing_fraction):
    """check() and tail() read one value without arrays; on the bounds themselves, just
    beside them, at infinities, NaN and None they give what the masks give."""
    r = dataclasses.replace(training_range(AGE), missing_fraction=missing_fraction)
    edges = [r.min, r.max, r.p01, r.p99]
    values = [None, np.nan, -np.inf, np.inf, 0, 50, True]
    values += [e + d for e in edges for d in (-1e-9, 0.0, 1e-9)]
    values += [np.float32(20.0), np.int64(80)]
    column = np.array([np.nan if v is None else float(v) for v in values])
    masks = {**r.findings(column), **r.tail_findings(column)}
    for i, v in enumerate(values):
        hits = [f for f, m in masks.items() if m[i]]
        expected_check = [h for h in hits if h in (Finding.BELOW, Finding.ABOVE, Finding.MISSING)]
        expected_tail = [h for h in hits if h in (Finding.LOW_TAIL, Finding.HIGH_TAIL)]
        assert ([r.check(v)] if r.check(v) else []) == expected_check[:1], v
        assert ([r.tail(v)] if r.tail(v) else []) == expected_tail, v


def test_flags_are_the_scorers_notation():
    assert [f.flag("age_years") for f in Finding] == [
        "age_years<min",
        "age_years>max",
        "age_years:unseen",
        "age_years:missing",
        "age_years<p01",
        "age_years>p99",
    ]


@pytest.mark.parametrize(
    "value, expected",
    [
        (19.9, None),  # below the minimum: check() says BELOW, no tail
        (20.0, Finding.LOW_TAIL),  # the minimum itself is in the lower tail
        (20.99, Finding.LOW_TAIL),
        (21.0, None),  # exactly the 1st percentile: not beyond it
        (50.0, None),
        (79.0, None),
        (79.01, Finding.HIGH_TAIL),
        (80.0, Finding.HIGH_TAIL),
        (80.1, None),  # above the maximum: ABOVE, not a tail
        (None, None),
    ],
)
def test_tails_are_inside_the_range_beyond_the_1st_and_99th_percentiles(value, expected):
    age = training_range(AGE)
    assert age.tail(value) is expected
    if expected is not None:
        assert age.check(value) is None  # a tail value is no extrapolation
    masks = age.tail_findings(np.array([19.0, 20.5, 50.0, 79.5, 81.0, np.nan]))
    assert list(masks) == [Finding.LOW_TAIL, Finding.HIGH_TAIL]
    assert masks[Finding.LOW_TAIL].tolist() == [False, True, False, False, False, False]
    assert masks[Finding.HIGH_TAIL].tolist() == [False, False, False, True, False, False]


def test_a_column_missing_in_training_has_no_tails():
    empty = NumericRange.summarise(np.array([np.nan, np.nan]))
    assert empty.tail_findings(np.array([1.0])) == {} and empty.tail(1.0) is None


def test_the_view_is_frozen():
    r = training_range(SMOKING)
    with pytest.raises(AttributeError):
        r.missing_fraction = 0.5
    source = dict(SMOKING, frequencies=dict(SMOKING["frequencies"]))
    r = training_range(source)
    source["frequencies"]["never"] = 0.0  # the view keeps its own copy
    assert r.frequencies["never"] == 0.5


# --- refusals ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "error", "match"),
    [
        ([1, 2], TypeError, r"training summary of 'x' is a list; expected a mapping"),
        ({"kind": "text"}, ValueError, r"'x' has kind 'text'; expected 'numeric' or 'categorical'"),
        ({**AGE, "min": "low"}, TypeError, r"'x': min is 'low'; expected a number or null"),
        (
            {k: v for k, v in AGE.items() if k != "median"},
            ValueError,
            r"'x' \(numeric\) has no 'median'",
        ),
        ({**AGE, "unit": "years"}, ValueError, r"unknown key\(s\) 'unit'"),
        (
            {k: v for k, v in AGE.items() if k != "sd"},
            ValueError,
            r"'x' \(numeric\) has no 'sd'",
        ),
        ({**AGE, "bin_edges": [1, "2"]}, TypeError, r"bin_edges is \[1, '2'\]; expected a list"),
        ({**AGE, "missing_fraction": 1.5}, ValueError, r"expected a fraction in \[0, 1\]"),
        ({**SMOKING, "categories": "never"}, TypeError, r"categories is 'never'; expected a list"),
        ({**SMOKING, "frequencies": [0.5]}, TypeError, r"frequencies is \[0.5\]; expected"),
    ],
)
def test_bad_summaries_are_refused_naming_the_column_and_key(data, error, match):
    with pytest.raises(error, match=match):
        training_range(data, "x")


def test_read_training_ranges_keeps_the_order_and_names_the_column():
    ranges = read_training_ranges({"smoking": SMOKING, "age_years": AGE})
    assert list(ranges) == ["smoking", "age_years"]
    assert isinstance(ranges["age_years"], NumericRange)
    with pytest.raises(ValueError, match="training summary of 'bmi'"):
        read_training_ranges({"bmi": {"kind": "numeric"}})


def test_the_preprocessor_reads_its_summaries_once():
    X = pd.DataFrame({"age_years": [30.0, 40.0, 50.0, 60.0], "sex": ["f", "m", "f", "m"]})
    pre = Preprocessor().fit(X)
    first = pre.training_summaries()
    assert pre.training_summaries() is first
    assert {c: r.to_dict() for c, r in first.items()} == pre.training_ranges_
    assert first["age_years"].check(70.0) is Finding.ABOVE
    pre.fit(X.assign(age_years=[10.0, 20.0, 30.0, 40.0]))  # refitted: read again
    assert pre.training_summaries()["age_years"].check(45.0) is Finding.ABOVE
    loaded = Preprocessor.from_state(pre.get_state())
    assert loaded.training_summaries() == pre.training_summaries()
