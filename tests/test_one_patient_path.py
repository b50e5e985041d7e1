"""The one-patient path (calculator, prediction service) computes what the general path
computes: the compiled design against a column-at-a-time build, converted columns shared
between models, one row's reasons against the reasons table, level codes of a few text
values against pandas' hash table.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from prom.cohort.derived import derive_missing
from prom.explain import explain_rows, row_reasons, top_reasons
from prom.models.columns import ColumnCache, level_codes
from prom.models.design import DesignProgram, build_design, design_names, frame_readers
from prom.outcomes import derive_label
from prom.splines import rcs_nonlinear_terms


def _column_at_a_time(plan, numeric, codes, n_rows, keep):
    """The design built one design column at a time, straight from the plan's definition
    (prom.models.design's docstring): the reference the compiled program must equal."""
    cols: list[np.ndarray] = []
    unknown = {}
    for block in plan:
        if block["kind"] == "numeric":
            if block["median"] is None:
                continue
            v = numeric(block["var"])
            miss = np.isnan(v)
            v = np.where(miss, block["median"], v)
            cols.append(v)
            if block["knots"]:
                basis = rcs_nonlinear_terms(v, block["knots"])
                cols += [basis[:, j] for j in range(basis.shape[1])]
            if block["indicator"]:
                cols.append(miss.astype(float))
        else:
            c = codes(block["var"], tuple(block["levels"]))
            miss = c == -2
            unk = (c == -1) | (miss if not block["missing_level"] else False)
            unknown[block["var"]] = unk
            for k, lv in enumerate(block["levels"]):
                if block["reference"] is None or lv != block["reference"]:
                    cols.append((c == k).astype(float))
            if block["missing_level"]:
                cols.append(miss.astype(float))
    full = np.column_stack(cols) if cols else np.empty((n_rows, 0))
    return (full if keep is None else full[:, keep]), unknown


def _plan():
    return [
        {
            "var": "a",
            "kind": "numeric",
            "median": 1.5,
            "knots": [0.0, 1.0, 2.0, 4.0],
            "indicator": True,
        },
        {"var": "gone", "kind": "numeric", "median": None, "knots": None, "indicator": False},
        {
            "var": "s",
            "kind": "categorical",
            "levels": ["x", "y", "z"],
            "reference": "x",
            "missing_level": True,
        },
        {"var": "b", "kind": "numeric", "median": -2.0, "knots": None, "indicator": False},
        {
            "var": "t",
            "kind": "categorical",
            "levels": [1, 2.5, "w"],
            "reference": None,
            "missing_level": False,
        },
    ]


@pytest.mark.parametrize("n_rows", [1, 3, 500])
@pytest.mark.parametrize("keep", [None, "every_other", "none_of_a"])
def test_compiled_design_is_the_column_at_a_time_design(n_rows, keep):
    rng = np.random.default_rng(n_rows)
    a = rng.normal(1.0, 2.0, n_rows)
    a[rng.random(n_rows) < 0.3] = np.nan
    frame = pd.DataFrame(
        {
            "a": a,
            "gone": np.nan,
            "s": rng.choice(np.array(["x", "y", "z", "q", None], dtype=object), n_rows),
            "b": rng.normal(size=n_rows),
            "t": rng.choice(np.array([1, 2.5, "w", "v", None], dtype=object), n_rows),
        }
    )
    plan = _plan()
    n_full = len(design_names(plan)[0])
    chosen = {
        None: None,
        "every_other": list(range(0, n_full, 2)),
        "none_of_a": list(range(5, n_full)),  # a, its two spline terms, its indicator gone
    }[keep]
    got, unknown = DesignProgram(plan, n_full, chosen).build(*frame_readers(frame, plan), n_rows)
    want, want_unknown = _column_at_a_time(plan, *frame_readers(frame, plan), n_rows, chosen)
    assert got.shape == want.shape
    np.testing.assert_array_equal(got, want)  # bit for bit, not to a tolerance
    assert unknown.keys() == want_unknown.keys()
    for var in unknown:
        np.testing.assert_array_equal(unknown[var], want_unknown[var])
    got2, _ = build_design(plan, *frame_readers(frame, plan), n_rows, n_full, chosen)
    np.testing.assert_array_equal(got2, got)


def test_level_codes_of_a_few_texts_match_the_hash_table_path():
    levels = ("current", "former", "never")
    values = np.array(["never", "vaping", "current", "former", "Never"], dtype=object)
    expected = pd.Index(list(levels), dtype=object).get_indexer(values)
    np.testing.assert_array_equal(level_codes(values, levels), expected)
    # the same values in a column too long for the small path
    long = np.tile(values, 10)
    np.testing.assert_array_equal(level_codes(long, levels), np.tile(expected, 10))
    # missing values and non-text go through pandas: -2 for missing, numbers match 1 == 1.0
    mixed = np.array(["never", None, np.nan, 1.0], dtype=object)
    np.testing.assert_array_equal(level_codes(mixed, ("never", 1)), [0, -2, -2, 1])
    with pytest.raises(Exception, match="uniquely valued"):
        level_codes(np.array(["a"], dtype=object), ("a", "a"))  # as pandas refuses


def test_preloaded_columns_read_as_one_at_a_time():
    frame = pd.DataFrame(
        {
            "x": [1.5, np.nan, 3.0],
            "k": [1, 2, 3],  # int64: left to numeric()
            "s": ["a", "b", None],
            "y": [0.0, -1.0, 2.0],
        }
    )
    lazy, eager = ColumnCache(frame), ColumnCache(frame).preload()
    for c in ("x", "k", "y"):
        np.testing.assert_array_equal(eager.numeric(c), lazy.numeric(c))
        assert not eager.numeric(c).flags.writeable
    np.testing.assert_array_equal(eager.codes("s", ("a", "b")), [0, 1, -2])


def _odi(small_fits, n):
    fit = next(f for f in small_fits["fits"] if f.task_name == "mcid_odi_12m")
    df = small_fits["data"]
    rows = df.loc[derive_label(df, "mcid_odi_12m")["label"].notna()].iloc[:n]
    return fit, rows.reset_index(drop=True)


@pytest.mark.parametrize("family", ["logistic", "lightgbm", "xgboost"])
def test_explaining_from_shared_columns_is_the_same_explanation(small_fits, family):
    fit, rows = _odi(small_fits, 3)
    model = fit.models[family]
    X = derive_missing(rows, model.predictors)  # the img_index_* columns, as the calculator has
    plain = explain_rows(model, X)
    shared = explain_rows(model, X, columns=ColumnCache(X).preload())
    pd.testing.assert_frame_equal(shared.values, plain.values, check_exact=True)
    pd.testing.assert_frame_equal(shared.data, plain.data)
    pd.testing.assert_series_equal(shared.prediction, plain.prediction, check_exact=True)
    assert shared.base_value == plain.base_value
    cache = ColumnCache(X)
    np.testing.assert_array_equal(model.predict_proba_columns(cache), model.predict_proba(X))
    with pytest.raises(ValueError, match="columns= holds 2 row"):
        explain_rows(model, X, columns=ColumnCache(X.iloc[:2]))


def test_one_rows_reasons_are_its_lines_of_the_table(small_fits):
    fit, X = _odi(small_fits, 6)
    ex = explain_rows(fit.models["lightgbm"], X).to_probability_points()
    table = top_reasons(ex, k=4)
    for i in range(len(X)):
        mine = table.iloc[4 * i : 4 * i + 4]
        got = row_reasons(ex, i, k=4)
        assert [r.variable for r in got] == list(mine["variable"])
        assert [r.label for r in got] == list(mine["label"])
        assert [r.contribution for r in got] == list(mine["contribution"])
        assert [r.value for r in got] == list(mine["value"])
    with pytest.raises(ValueError, match="row=6"):
        row_reasons(ex, 6)
    triage = next(f for f in small_fits["fits"] if f.task_name == "triage")
    df = small_fits["data"]
    rows = df.loc[derive_label(df, "triage")["label"].notna()].iloc[:5]
    multi = explain_rows(triage.models["lightgbm"], rows)
    for class_ in (None, multi.classes[1]):
        table = top_reasons(multi, k=2, class_=class_)
        for i in range(len(rows)):
            got = row_reasons(multi, i, k=2, class_=class_)
            assert [r.variable for r in got] == list(table["variable"].iloc[2 * i : 2 * i + 2])
    # the ranking is kept per explanation: asking again, or with another k, answers anew
    assert row_reasons(ex, 0, k=4) == row_reasons(ex, 0, k=4)
    assert row_reasons(ex, 0, k=2) == row_reasons(ex, 0, k=4)[:2]


def test_merged_groups_display_data_is_the_general_selection():
    """Groups merged in the frame's own column order (a copy, each group's first member
    replaced by its text, the others deleted) give the frame of the general path (one
    selection, each group's text inserted), column types included."""
    from prom.explain.groups import merge_groups

    rng = np.random.default_rng(3)
    n = 4
    data = pd.DataFrame(
        {
            "a": rng.normal(size=n),
            "k": ["x", "y", None, "x"],
            "b": [1.0, np.nan, 3.0, 4.0],
            "i": np.arange(n),
            "c": rng.normal(size=n),
            "d": rng.normal(size=n),
        }
    )
    features = list(data.columns)
    values = rng.normal(size=(n, len(features)))
    groups = [("b", "d"), ("a", "c", "zz")]  # non-adjacent members, one name not present
    fast = merge_groups(values, features, data, {}, groups)
    general = merge_groups(values, features, data[features[::-1]], {}, groups)
    assert fast[1] == general[1] == ["a + c", "k", "b + d", "i"]
    np.testing.assert_array_equal(fast[0], general[0])
    pd.testing.assert_frame_equal(fast[2], general[2], check_exact=True)
    assert fast[2]["b + d"].tolist()[1] == f"b missing; d {data['d'][1]:.3g}"
    assert list(data.columns) == features  # the caller's frame is left as it was
