"""Diagnostics before fitting: aliasing, VIFs, condition number, separation, rare levels, EPP.

The statistics are checked against independent references: statsmodels'
``variance_inflation_factor`` (an explicit OLS per column), closed forms for two columns
with correlation r (VIF = 1/(1 − r²), condition number √((1 + r)/(1 − r))) on a table
small enough to count by hand, and a relation built into a table and recovered exactly.
One small ``prom fit`` (logistic and elastic net, 3 folds, no bootstrap optimism) checks
that an aliased set is named in the CLI output, the manifest and the report, with no odds
ratio for the aliased or near-aliased columns, and that correlated predictors are
explained together by the report and the bulk scorer.
"""

from __future__ import annotations

import copy
import json
import re

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from prom.bundle import BundleError, load_bundle
from prom.bundle.manifest import task_entry_from_dict
from prom.cli import app
from prom.explain import explain_rows
from prom.explain.groups import merge_groups
from prom.models import PromClassifier
from prom.models.collinearity import (
    aliased_columns,
    condition_number,
    correlated_pairs,
    near_dependencies,
    variance_inflation_factors,
)
from prom.models.diagnostics import FitDiagnostics, diagnose, leave_out_aliased
from prom.models.separation import LEVELS_LISTED

runner = CliRunner()
pytestmark = pytest.mark.filterwarnings("ignore::prom.errors.StatisticalWarning")

FAST = ["--models", "logistic,elastic_net", "--folds", "3", "--n-iter", "1", "--boot", "20"]
FAST += ["--optimism-boot", "0", "--jobs", "1", "--site-column", "none"]


def flat(text: str) -> str:
    """Terminal output with line wrapping undone (rich wraps at the console width)."""
    return " ".join(text.split())


# --- exact aliasing ------------------------------------------------------------------------


def test_an_exact_relation_is_recovered_with_its_coefficients_and_constant():
    rng = np.random.default_rng(1)
    a, b, e = rng.normal(size=(3, 50))
    Z = np.column_stack([a, b, a + b + 3.0, e, 2 * a - 0.5 * e])
    found = aliased_columns(Z, ["a", "b", "c", "e", "f"])
    assert [x.column for x in found] == ["c", "f"]
    c, f = found
    assert [n for n, _ in c.terms] == ["a", "b"]
    np.testing.assert_allclose([v for _, v in c.terms], [1.0, 1.0], rtol=1e-10)
    assert c.intercept == pytest.approx(3.0, rel=1e-10)
    assert c.relation() == "c = 1.000·a + 1.000·b + 3"
    assert f.relation() == "f = 2.000·a − 0.500·e"
    assert f.columns == ("a", "e", "f")


def test_no_relation_in_independent_columns_and_a_constant_column_is_not_aliasing():
    rng = np.random.default_rng(2)
    Z = np.column_stack([rng.normal(size=40), np.ones(40), rng.normal(size=40)])
    assert aliased_columns(Z, ["x", "one", "y"]) == []


def test_a_relation_of_recorded_decimals_is_exact_and_a_noisy_one_is_not():
    """Sums of values recorded to two decimals (pelvic incidence = tilt + slope) are exact
    up to floating point; one row off by 0.01 is not an exact relation."""
    rng = np.random.default_rng(3)
    tilt = rng.normal(17, 10, 310).round(2)
    slope = rng.normal(43, 13, 310).round(2)
    incidence = (tilt + slope).round(2)
    Z = np.column_stack([incidence, tilt, slope])
    (found,) = aliased_columns(Z, ["pelvic_incidence", "pelvic_tilt", "sacral_slope"])
    assert found.relation() == "sacral_slope = 1.000·pelvic_incidence − 1.000·pelvic_tilt"
    Z[0, 0] += 0.01
    assert aliased_columns(Z, ["pi", "pt", "ss"]) == []
    assert variance_inflation_factors(Z).min() > 1e5  # near-aliased instead


def test_leave_out_aliased_leaves_out_the_later_predictor_with_the_relation_and_advice():
    rng = np.random.default_rng(4)
    X = pd.DataFrame({"a": rng.normal(size=60), "b": rng.normal(size=60)})
    X["c"] = X["a"] + X["b"]
    X["grade"] = rng.choice(["x", "y", "z"], 60)
    kept, excluded, relations = leave_out_aliased(X)
    assert kept == ["a", "b", "grade"]
    assert excluded == [
        (
            "c",
            (
                "exactly aliased with 'a', 'b': c = 1.000·a + 1.000·b in all 60 labelled "
                "rows, so its coefficient is not identifiable; drop one of them or combine them"
            ),
        )
    ]
    assert relations == [
        {"relation": "c = 1.000·a + 1.000·b", "columns": ("a", "b", "c"), "left_out": "c"}
    ]


# --- near dependence -------------------------------------------------------------------------


def test_vif_and_condition_number_of_two_columns_with_r_0_8_by_hand():
    """x = 1, 2, 3, 4 and y = 1, 3, 2, 4: centred cross products 4, sums of squares 5 and 5,
    so r = 0.8; VIF = 1/(1 − 0.64) = 2.777…; the standardised design's singular values are
    √1.8 and √0.2, condition number 3."""
    Z = np.array([[1.0, 1.0], [2.0, 3.0], [3.0, 2.0], [4.0, 4.0]])
    np.testing.assert_allclose(variance_inflation_factors(Z), [1 / 0.36, 1 / 0.36], rtol=1e-12)
    assert condition_number(Z) == pytest.approx(3.0, rel=1e-12)
    assert correlated_pairs(Z, ["x", "y"], 0.8) == [("x", "y", pytest.approx(0.8))]
    assert correlated_pairs(Z, ["x", "y"], 0.9) == []


def test_vif_matches_statsmodels_variance_inflation_factor():
    """statsmodels regresses each column on the others (with a constant) by OLS."""
    from statsmodels.stats.outliers_influence import variance_inflation_factor

    rng = np.random.default_rng(5)
    base = rng.normal(size=(200, 4))
    Z = np.column_stack([base, base[:, 0] + 0.3 * base[:, 1] + 0.2 * rng.normal(size=200)])
    exog = np.column_stack([np.ones(200), Z])
    want = [variance_inflation_factor(exog, j) for j in range(1, exog.shape[1])]
    np.testing.assert_allclose(variance_inflation_factors(Z), want, rtol=1e-9)


def test_a_near_dependency_names_the_columns_involved():
    rng = np.random.default_rng(6)
    a, b, e, noise = rng.normal(size=(4, 300))
    Z = np.column_stack([a, b, a + b + 0.01 * noise, e])
    (dep,) = near_dependencies(Z, ["a", "b", "s", "e"])
    assert dep.columns == ("a", "b", "s")
    assert dep.condition_index > 30
    assert near_dependencies(Z[:, [0, 1, 3]], ["a", "b", "e"]) == []


# --- diagnose: separation, rare categories, events per parameter -----------------------------


def _frame(n=200, seed=7):
    rng = np.random.default_rng(seed)
    X = pd.DataFrame({"age": rng.normal(60, 10, n), "score": rng.normal(size=n)})
    X["level"] = np.where(np.arange(n) < 5, "rare", np.where(np.arange(n) % 2, "p", "q"))
    y = pd.Series((rng.random(n) < 0.4).astype(int))
    return X, y


def test_rare_levels_are_named_with_their_counts_and_the_one_percent_rule():
    X, y = _frame()
    d = diagnose(X, y, "binary")
    assert [dict(r) for r in d.rare_categories] == [
        {"column": "level", "level": "rare", "count": 5}
    ]
    for n, rare in ((2400, True), (1000, False)):  # 15 rows: below 1% of 2,400, not of 1,000
        X = pd.DataFrame(
            {
                "x": np.random.default_rng(n).normal(size=n),
                "g": np.where(np.arange(n) < 15, "small", np.where(np.arange(n) % 3, "a", "b")),
            }
        )
        y = pd.Series(np.arange(n) % 2)
        found = [dict(r) for r in diagnose(X, y, "binary").rare_categories]
        assert found == ([{"column": "g", "level": "small", "count": 15}] if rare else [])


def test_a_level_exactly_at_ten_rows_is_not_rare_and_nine_is():
    n = 400
    y = pd.Series(np.arange(n) % 2)
    for k, rare in ((10, False), (9, True)):
        X = pd.DataFrame(
            {
                "x": np.random.default_rng(k).normal(size=n),
                "g": np.where(np.arange(n) < k, "small", np.where(np.arange(n) % 3, "a", "b")),
            }
        )
        found = [r["level"] for r in diagnose(X, y, "binary").rare_categories]
        assert (found == ["small"]) is rare


def test_an_isolated_extreme_value_is_named_and_a_skewed_tail_is_not():
    """Tukey's far-out fences on a table counted by hand: ages 40..79 and one of 212
    (n = 41) have quartiles 50 and 70 (the 11th and 31st of the sorted values), IQR 20,
    fences −10 and 130; the 212 is beyond them, alone (one value: at most 1% or one). A
    lognormal measure has many values beyond its fences: its tail, not reported."""
    rng = np.random.default_rng(3)
    age = np.r_[np.arange(40, 80), 212.0]
    X = pd.DataFrame(
        {
            "age": age,
            "months": rng.lognormal(2, 1, 41).round(1),
            "flag": np.arange(41) % 2 == 0,  # boolean: no fences
        },
        index=pd.RangeIndex(100, 141),
    )
    y = pd.Series(np.arange(41) % 2, index=X.index)
    d = diagnose(X, y, "binary")
    q1, q3 = np.percentile(age, [25, 75])
    assert (q1, q3) == (50.0, 70.0)
    assert [dict(r) for r in d.extreme_values] == [
        {
            **{"column": "age", "count": 1, "values": [212.0], "rows": [140]},
            **{"row_noun": "row", "low": -10.0, "high": 130.0},
        }
    ]
    line = next(s for s in d.lines() if s.startswith("isolated extreme values"))
    assert line.startswith(
        "isolated extreme values: 'age' 212 (row 140) (far-out fences -10 to 130); they are "
        "used as they are — check them against the source"
    )
    # the bundle keeps the column, the count and the fences, not the patient's value or row
    kept = d.to_dict()
    assert kept["extreme_values"] == [{"column": "age", "count": 1, "low": -10.0, "high": 130.0}]
    read = FitDiagnostics.from_dict(kept)
    assert read.extreme_values == ({"column": "age", "count": 1, "low": -10.0, "high": 130.0},)
    line = next(s for s in read.lines() if s.startswith("isolated extreme values"))
    assert line.startswith(
        "isolated extreme values: 'age': 1 value (far-out fences -10 to 130); they are used"
    )
    assert "212" not in json.dumps(kept) and "140" not in json.dumps(kept)
    assert FitDiagnostics.from_dict(kept).to_dict() == kept
    # a bundle written before: its values and rows are read and shown as they were written
    earlier = kept | {"extreme_values": [dict(r) for r in d.extreme_values]}
    assert FitDiagnostics.from_dict(earlier).lines() == d.lines()
    # a bundle written before the check: not checked, never 'none'
    old = {k: v for k, v in d.to_dict().items() if k != "extreme_values"}
    assert FitDiagnostics.from_dict(old).extreme_values is None
    # two extremes among 41 values are more than 1%: a tail, not an isolated typo
    X.loc[139, "age"] = 300.0
    assert diagnose(X, y, "binary").extreme_values == ()


def test_events_per_parameter_count_dummy_columns_and_spline_terms():
    X, y = _frame()
    d = diagnose(X, y, "binary")
    assert d.parameters == 4  # age, score, two non-reference levels of 'level'
    assert d.events == int(min(y.sum(), len(y) - y.sum()))
    assert d.events_per_parameter == pytest.approx(d.events / 4)
    assert diagnose(X, y, "binary", splines=True).parameters == 8  # + 2 spline terms each
    line = next(s for s in d.lines() if s.startswith("events per candidate parameter"))
    assert f"{d.events} events of the smaller class / 4 design columns" in line


def test_a_level_whose_rows_all_have_one_outcome_is_named_as_separation():
    X, y = _frame()
    y = y.copy()
    y[:5] = 1  # every row of level 'rare' has the outcome
    (s,) = diagnose(X, y, "binary").separation
    assert s["column"] == "level"
    assert s["detail"].startswith("all 5 row(s) with level=rare have outcome 1 (quasi-complete")


def test_many_separating_levels_of_one_column_are_one_finding():
    """A category of many small levels (25 surgeons in 80 rows) used to give one
    diagnostics line per separating level (150 for a date column)."""
    rng = np.random.default_rng(3)
    n = 80
    X = pd.DataFrame(
        {"age": rng.normal(60, 10, n), "surgeon": [f"s{i % 25:02d}" for i in range(n)]}
    )
    y = pd.Series(rng.integers(0, 2, n))
    seps = diagnose(X, y, "binary").separation
    assert [s["column"] for s in seps] == ["surgeon"]
    (s,) = seps
    m = re.fullmatch(
        r"(\d+) levels of 'surgeon' have one outcome in all their rows \((.*); and (\d+) "
        r"more\) \(quasi-complete separation: their logistic coefficients diverge\); merge "
        r"small levels or drop 'surgeon'",
        s["detail"],
    )
    assert m, s["detail"]
    listed = m.group(2).split("; ")
    assert len(listed) == LEVELS_LISTED and int(m.group(1)) == LEVELS_LISTED + int(m.group(3))
    assert all(re.fullmatch(r"surgeon=s\d\d: \d row\(s\), outcome [01]", t) for t in listed)


def test_a_threshold_on_one_predictor_that_splits_the_outcome_is_named():
    X, _ = _frame()
    y = pd.Series((X["score"] > 0.1).astype(int))
    (s,) = diagnose(X, y, "binary").separation
    assert s["column"] == "score"
    assert "a threshold on 'score' separates the outcome" in s["detail"]
    assert "(complete separation" in s["detail"]


def test_a_combination_of_columns_that_separates_is_found_by_the_linear_program():
    X = _frame(seed=8)[0].drop(columns="level")
    y = pd.Series((X["score"] + (X["age"] - 60) / 10 > 0).astype(int))
    (s,) = diagnose(X, y, "binary").separation
    assert s["column"] == "age, score"
    assert "Konis" in s["detail"]


def test_above_the_size_limit_the_linear_program_is_skipped_and_says_so(monkeypatch):
    import prom.models.separation as separation

    X = _frame(seed=8)[0].drop(columns="level")
    y = pd.Series((X["score"] + (X["age"] - 60) / 10 > 0).astype(int))
    monkeypatch.setattr(separation, "MAX_LP_CELLS", 100)
    d = diagnose(X, y, "binary")
    assert d.separation == ()
    assert d.notes == (
        (
            "separation by a combination of predictors was not checked (a design of 200 rows "
            "× 2 columns, above 100 cells); single levels and thresholds were"
        ),
    )


def test_no_separation_in_an_ordinary_outcome_and_per_class_for_a_multiclass_one():
    X, y = _frame()
    assert diagnose(X, y, "binary").separation == ()
    classes = pd.Series(np.where(X["score"] > 1.5, "c", np.where(y == 1, "a", "b")))
    found = diagnose(X, classes, "multiclass").separation
    assert [s["detail"][:30] for s in found] == ["class 'c' vs the rest: a thres"]


def test_a_multiclass_level_lacking_classes_is_one_finding_naming_them():
    """A level whose rows are all of one class separates every class-against-the-rest
    comparison, and one with no row of a class separates that class's: each is one line
    naming the classes, not one line per comparison."""
    rng = np.random.default_rng(4)
    n = 300
    y = pd.Series(rng.choice(["better", "same", "worse"], n))
    kind = np.where(np.arange(n) % 2 == 0, "p", "q").astype(object)
    v = y.to_numpy()
    only = np.flatnonzero(v == "same")[:3]
    kind[only] = "rare"  # three rows, all 'same'
    two = np.setdiff1d(np.flatnonzero(v != "worse"), only)[:12]
    kind[two] = "odd"  # twelve rows of 'better' and 'same', none 'worse'
    assert set(v[two]) == {"better", "same"}
    X = pd.DataFrame({"kind": kind, "age": rng.normal(60, 10, n)})
    found = diagnose(X, y, "multiclass").separation
    details = [s["detail"] for s in found]
    assert len(details) == 2, details
    assert any(
        d.startswith("none of the 12 row(s) with kind=odd is of class 'worse'") for d in details
    )
    assert any(d.startswith("all 3 row(s) with kind=rare are of class 'same'") for d in details)
    assert all("vs the rest" not in d for d in details)


def test_survival_a_level_without_events_is_named():
    X, _ = _frame()
    event = np.where(X["level"] == "rare", 0, np.arange(len(X)) % 3 == 0).astype(int)
    y = pd.DataFrame({"time": np.arange(1, len(X) + 1, dtype=float), "event": event})
    d = diagnose(X, y, "survival")
    (s,) = d.separation
    assert s["detail"].startswith("no event among the 5 row(s) with level=rare")
    assert d.events == int(event.sum()) and d.events_label == "events"


def test_correlated_predictors_become_one_explanation_group():
    rng = np.random.default_rng(9)
    X = pd.DataFrame({"a": rng.normal(size=300), "b": rng.normal(size=300)})
    X["a2"] = X["a"] + 0.05 * rng.normal(size=300)
    y = pd.Series((rng.random(300) < 0.5).astype(int))
    d = diagnose(X, y, "binary")
    assert d.explain_groups == (("a", "a2"),)
    assert [r["column"] for r in d.high_vif()] in (["a", "a2"], ["a2", "a"])


def test_diagnostics_round_trip_through_json_and_a_bad_field_is_named():
    X, y = _frame()
    d = diagnose(
        X, y, "binary", aliased=[{"relation": "c = a", "columns": ("a", "c"), "left_out": "c"}]
    )
    back = FitDiagnostics.from_dict(d.to_dict())
    assert back == d
    with pytest.raises(ValueError, match=r"unknown field\(s\) 'extra'"):
        FitDiagnostics.from_dict(d.to_dict() | {"extra": 1})
    with pytest.raises(ValueError, match="'explain_groups' must be a list of lists"):
        FitDiagnostics.from_dict(d.to_dict() | {"explain_groups": "a,b"})


# --- explanations of a group -------------------------------------------------------------------


def test_a_group_is_explained_by_the_sum_of_its_members_and_still_adds_up():
    rng = np.random.default_rng(10)
    X = pd.DataFrame({"a": rng.normal(size=200), "b": rng.normal(size=200)})
    X["a2"] = X["a"] + 0.1 * rng.normal(size=200)
    y = (rng.random(200) < 1 / (1 + np.exp(-X["a"] - X["b"]))).astype(int)
    model = PromClassifier(family="logistic", calibration="none").fit(X, y)
    alone = explain_rows(model, X.head(20))
    together = explain_rows(model, X.head(20), groups=[("a", "a2")])
    assert together.features == ("a + a2", "b")
    np.testing.assert_allclose(
        together.values["a + a2"], alone.values["a"] + alone.values["a2"], rtol=1e-12
    )
    assert together.label("a + a2") == "a + a2 (correlated; explained together)"
    assert together.data["a + a2"].iloc[0] == f"a {X['a'].iloc[0]:.3g}; a2 {X['a2'].iloc[0]:.3g}"
    # a group with one member present, or none, changes nothing
    values = alone.values.to_numpy()
    v, f, _, _ = merge_groups(values, alone.features, alone.data, {}, [("a", "zz")])
    assert f == list(alone.features) and v is values


# --- prom fit → manifest → report → score -------------------------------------------------------


@pytest.fixture(scope="module")
def aliased_csv(tmp_path_factory):
    """600 rows with c = a + b exactly, d2 ≈ d (r ≈ 0.9995), a rare level, an outcome."""
    rng = np.random.default_rng(11)
    n = 600
    df = pd.DataFrame(
        {
            "a": rng.normal(50, 10, n).round(2),
            "b": rng.normal(20, 5, n).round(2),
            "d": rng.normal(size=n),
        }
    )
    df["c"] = (df["a"] + df["b"]).round(2)
    df["d2"] = df["d"] + 0.03 * rng.normal(size=n)
    df["kind"] = np.where(np.arange(n) < 6, "rare", np.where(np.arange(n) % 2, "p", "q"))
    lp = 0.08 * (df["a"] - 50) + 0.8 * df["d"]
    df["abnormal"] = (rng.random(n) < 1 / (1 + np.exp(-lp))).astype(int)
    d = tmp_path_factory.mktemp("aliased")
    path = d / "own.csv"
    df.to_csv(path, index=False)
    out = d / "bundle"
    res = runner.invoke(
        app,
        [
            *("fit", "--data", str(path), "--target", "abnormal", *FAST, "--out", str(out)),
            *("--predictors", "a,b,c,d,d2,kind"),
        ],
    )
    return {"csv": path, "out": out, "dir": d, "result": res, "n": n}


def test_prom_fit_names_the_aliased_columns_and_what_to_do(aliased_csv):
    res = aliased_csv["result"]
    assert res.exit_code == 0, res.output
    text = flat(res.output)
    assert (
        "diagnostics: exactly aliased predictors: c = 1.000·a + 1.000·b in all 600 labelled "
        "rows; 'c' was left out of every model" in text
    )
    assert "drop one of them or combine them" in text
    assert "excluded predictor: 'c' (exactly aliased with 'a', 'b'" in text
    assert "explained together (attributions summed; not identifiable one by one): d + d2" in text
    assert "rare categories (fewer than 10 rows or 1%): kind = rare (6 rows)" in text


def test_the_manifest_records_the_diagnostics_and_reads_them_back(aliased_csv):
    entry = load_bundle(aliased_csv["out"]).task("abnormal").entry
    assert entry.predictors == ("a", "b", "d", "d2", "kind")
    assert entry.excluded_predictors[0].name == "c"
    d = entry.diagnostics
    assert [a["relation"] for a in d.aliased] == ["c = 1.000·a + 1.000·b"]
    assert d.explain_groups == (("d", "d2"),) == entry.explain_groups
    assert d.vif_of("d") > 100 and d.vif_of("a") < 10
    # a bundle written before diagnostics were recorded reads with none; a damaged one fails
    raw = entry.to_dict()
    old = copy.deepcopy(raw)
    del old["diagnostics"]
    assert task_entry_from_dict("abnormal", old).diagnostics is None
    bad = copy.deepcopy(raw)
    bad["diagnostics"]["n"] = "six hundred"
    with pytest.raises(BundleError, match=r"task 'abnormal'.*'diagnostics': field 'n' must be"):
        task_entry_from_dict("abnormal", bad)


def test_the_report_names_the_aliased_set_and_shows_no_odds_ratio_for_it(aliased_csv):
    html = aliased_csv["dir"] / "report.html"
    res = runner.invoke(
        app,
        [
            "report",
            "--bundle",
            str(aliased_csv["out"]),
            "--data",
            str(aliased_csv["csv"]),
            "--out",
            str(html),
        ],
    )
    assert res.exit_code == 0, res.output
    text = html.read_text(encoding="utf-8")
    section = re.search(r'<section id="task-abnormal-diagnostics".*?</section>', text, re.S)
    assert section is not None
    s = section.group(0)
    assert "c = 1.000·a + 1.000·b in all 600 labelled rows" in s
    assert "&#x27;c&#x27; was left out of every model" in s
    assert "kind = rare (6 rows)" in s
    odds = re.search(r'id="task-abnormal-odds-ratios-table".*?</table>', text, re.S).group(0)
    assert "<td>c</td>" not in odds and ">c<" not in odds  # left out: no row at all
    for col in ("d", "d2"):
        cell = re.search(
            rf'<td class="not-identifiable"[^>]*data-feature="{col}"[^>]*>([^<]*)', odds
        )
        assert cell is not None, col
        assert cell.group(1).startswith("not shown: near-aliased (VIF ")
        assert ", explained together as d + d2): its odds ratio is not identifiable" in cell.group(
            1
        )
        assert not re.search(
            rf'data-feature="{col}"[^>]*data-metric="odds_ratio"[^>]*data-value', odds
        )
    assert "<td>a</td>" in odds  # an identifiable one is shown
    shap = re.search(r'id="task-abnormal-shap-table".*?</table>', text, re.S).group(0)
    assert "d + d2 (correlated; explained together)" in shap


def test_bulk_reasons_use_the_groups_decided_at_fit_time(aliased_csv):
    from prom.score.reasons import top_k_reasons

    bt = load_bundle(aliased_csv["out"]).task("abnormal")
    rows = pd.read_csv(aliased_csv["csv"]).head(30)
    r = top_k_reasons(bt.models[bt.primary], rows, 4, groups=bt.entry.explain_groups)
    shown = set(r.variables.ravel())
    assert "d + d2" in shown and not {"d", "d2"} & shown


@pytest.fixture(scope="module")
def cohort():
    from prom.cohort import simulate_cohort
    from prom.instruments import add_scores

    return add_scores(simulate_cohort(1200, seed=5))


def test_a_survival_fit_records_its_diagnostics(cohort):
    """The built-in survival task; multiclass fits run the same step as binary ones
    (fit_classifier_task), checked by diagnose() above and the workflow tests."""
    task, families, kind = "surgery_conversion", ["cox"], "survival"
    from prom.workflows import FitSettings, fit_task

    s = FitSettings(n_splits=3, n_iter=1, n_boot=10, optimism_boot=0, n_repeats=1, site_column=None)
    fit = fit_task(cohort, task, families=families, settings=s)
    d = fit.diagnostics
    assert d.kind == kind and d.n == fit.n and d.parameters >= len(fit.predictors)
    assert d.events_label == ("events" if kind == "survival" else "rows of the smallest class")
    kept = fit.manifest_entry().to_dict()["diagnostics"]
    assert kept == d.to_dict() and FitDiagnostics.from_dict(kept).to_dict() == kept
    assert any(
        line.startswith("diagnostics: events per candidate parameter")
        for line in fit.summary().splitlines()
    )
