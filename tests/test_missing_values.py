"""Missing and unreadable values are never silent.

Only an empty cell is missing; text such as ``n/a`` in a numeric column is an error that
names the column, the row and the value (``prom fit``/``evaluate``/``report``), or a
quarantined row (``prom score``), until the user declares it a missing-value marker
(``--missing-values``); then the cells are counted, and every value a model imputes is
counted per column — in the fit's output, the manifest, the report, the score summary
and the calculator. Small tables counted by hand; two small fits (logistic and elastic
net, 3 folds, one tuning draw, no optimism bootstrap).
"""

from __future__ import annotations

import json
import re

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from prom.bundle import BundleError, load_bundle
from prom.bundle.manifest import task_entry_from_dict
from prom.cli import app
from prom.cohort.missing_values import (
    UnparseableValueError,
    check_numeric_columns,
    declare_missing,
    parse_missing_values,
)
from prom.cohort.readers import read_table
from prom.models.imputed import describe_imputed, imputed_counts

runner = CliRunner()
pytestmark = pytest.mark.filterwarnings("ignore::prom.errors.StatisticalWarning")

FAST = ["--models", "logistic,elastic_net", "--folds", "3", "--n-iter", "1", "--boot", "20"]
FAST += ["--optimism-boot", "0", "--jobs", "1", "--site-column", "none"]
FAST += ["--allow-small-sample", "--predictors", "pelvic_tilt,sacral_slope,grade"]


def flat(text: str) -> str:
    """Terminal output with line wrapping undone (rich wraps at the console width)."""
    return " ".join(text.split())


# --- declaring markers --------------------------------------------------------------------


def test_parse_missing_values_splits_strips_and_refuses_an_empty_marker():
    assert parse_missing_values(" n/a, NA ,-99,n/a") == ("n/a", "NA", "-99")
    assert parse_missing_values(["NA"]) == ("NA",)
    assert parse_missing_values(None) == ()
    with pytest.raises(ValueError, match=r"an empty marker; list markers separated by commas"):
        parse_missing_values("n/a,,NA")
    with pytest.raises(TypeError, match=r"missing_values must be texts .* got -99"):
        parse_missing_values(["n/a", -99])


def test_only_an_empty_cell_is_missing_when_nothing_is_declared(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("x,y,z\n1.5,NA,a\n,n/a,b\n2.5,3,NA\n-99,4,c\n", encoding="utf-8")
    df = read_table(path)
    assert df["x"].isna().tolist() == [False, True, False, False]  # the empty cell only
    assert df["y"].tolist() == ["NA", "n/a", "3", "4"]  # text, not missing
    assert df["z"].tolist() == ["a", "b", "NA", "c"]
    declared = read_table(path, missing_values="NA,n/a,-99")
    assert declared["y"].dtype == np.float64 and declared["y"].isna().sum() == 2
    assert declared["x"].isna().tolist() == [False, True, False, True]  # -99 as a number
    assert declared["z"].isna().tolist() == [False, False, True, False]
    assert declared.attrs["prom_declared_missing"] == {"x": 1, "y": 2, "z": 1}


def test_a_cell_of_nothing_but_spaces_is_missing_and_the_column_stays_numbers(tmp_path):
    """A registry export writes a blank as spaces: that cell is missing, and the column
    holds the very numbers it holds when the cell is empty (pandas' own parser), not text
    that the models would take for categories."""
    rows = ["68.8", "55.0", "   ", "61.25", "\t", "70.125"]
    spaced, empty = tmp_path / "spaced.csv", tmp_path / "empty.csv"
    body = "".join(
        f"{a},{b},P{i:03d}\n" for i, (a, b) in enumerate(zip(rows, "xy xyx", strict=True))
    )
    spaced.write_text("age,grade,id\n" + body, encoding="utf-8")
    empty.write_text("age,grade,id\n" + body.replace("   ,", ",").replace("\t,", ","), "utf-8")
    got, want = read_table(spaced), read_table(empty)
    assert got["age"].dtype == np.float64
    assert got["age"].isna().tolist() == [False, False, True, False, True, False]
    np.testing.assert_array_equal(got["age"].to_numpy(), want["age"].to_numpy())
    assert got["grade"].isna().tolist() == [False, False, True, False, False, False]
    assert got["grade"].dropna().tolist() == ["x", "y", "x", "y", "x"]
    # a decimal-comma file: the numbers are read with its mark
    semi = tmp_path / "semi.csv"
    semi.write_text("age;id\n68,8;a\n  ;b\n61,25;c\n", encoding="utf-8")
    comma = read_table(semi, delimiter=";", decimal=",")
    assert comma["age"].dtype == np.float64 and comma["age"].isna().tolist() == [False, True, False]
    assert comma["age"].dropna().tolist() == [68.8, 61.25]
    # the same numbers when the missing cell is a declared marker (they stayed text, and
    # the commands then said the file was read with '.' as its decimal mark)
    semi.write_text("age;id\n68,8;a\nn/a;b\n61,25;c\n", encoding="utf-8")
    declared = read_table(semi, delimiter=";", decimal=",", missing_values="n/a")
    assert declared["age"].dtype == np.float64
    np.testing.assert_array_equal(declared["age"].to_numpy(), comma["age"].to_numpy())
    # text with spaces around it is still text, and a column with other text stays text
    mixed = tmp_path / "mixed.csv"
    mixed.write_text("v,w\n1.5,1\n  ,2\n low ,3\n", encoding="utf-8")
    v = read_table(mixed)["v"].tolist()
    assert v[0] == "1.5" and pd.isna(v[1]) and v[2] == " low "


def test_prom_score_reads_a_blank_of_spaces_as_missing_in_every_batch(tmp_path):
    from prom.cohort.csv_reader import iter_csv_batches, read_csv_header

    path = tmp_path / "t.csv"
    path.write_text("id,x\n007,1.5\n008,  \n009,2.25\n", encoding="utf-8")
    header = read_csv_header(path)
    batches = list(iter_csv_batches(header, None, batch_rows=2, text_columns=["id"]))
    frames = [b.frame for b in batches]
    assert [f["x"].dtype for f in frames] == [np.float64, np.float64]
    assert pd.concat(frames)["x"].isna().tolist() == [False, True, False]
    assert pd.concat(frames)["id"].tolist() == ["007", "008", "009"]  # ids stay text


def test_declare_missing_leaves_its_input_alone_and_keeps_text_columns_text():
    df = pd.DataFrame({"id": ["007", "n/a"], "v": [" n/a ", "12"]})
    out, counts = declare_missing(df, ("n/a",), text_columns=["id"], infer_numbers=True)
    assert counts == {"id": 1, "v": 1}
    assert out["id"].tolist()[0] == "007" and pd.isna(out["id"].iloc[1])
    assert out["v"].dtype == np.float64 and out["v"].iloc[1] == 12.0
    assert df["v"].tolist() == [" n/a ", "12"]  # not mutated


def test_a_numeric_marker_matches_its_number_written_as_text_beside_a_text_marker():
    """'NA' keeps the column text: '-99.0', ' -99 ' and '-99.00' are still -99."""
    df = pd.DataFrame({"bmi": ["NA", "-99.0", " -99 ", "-99.00", "27.5", "-990"]})
    out, counts = declare_missing(df, parse_missing_values("NA,-99"), infer_numbers=True)
    assert counts == {"bmi": 4}
    assert out["bmi"].isna().tolist() == [True, True, True, True, False, False]


# --- unreadable numbers -----------------------------------------------------------------


def test_text_in_an_otherwise_numeric_column_is_an_error_naming_column_rows_and_values():
    df = pd.DataFrame(
        {
            "pelvic_tilt": ["12.5", "n/a", "14", "NA", "9.25"],
            "grade": ["a", "b", "1", "c", "b"],  # mostly text: a category, left alone
            "age_years": [50, 61, 42, 70, 55],
        }
    )
    with pytest.raises(UnparseableValueError) as err:
        check_numeric_columns(df, what="predictor")
    msg = str(err.value)
    assert msg.startswith(
        "2 values cannot be read as numbers: predictor column 'pelvic_tilt': 'n/a', 'NA' at "
        "rows 1, 3 (expected a number, as its other 3 filled values are). Only an empty "
        "cell is missing (text such as 'NA' or 'n/a' is not, unless declared): "
    )
    assert (
        "--missing-values 'n/a,NA' (in Python, as the table is read: read_table(..., missing_values=['n/a', 'NA']))"
        in msg
    )
    assert err.value.problems == {"pelvic_tilt": [1, 3]}
    # named categorical: text is a category there
    check_numeric_columns(df, categorical=["pelvic_tilt"])


def test_numbers_written_with_a_decimal_comma_are_refused_never_taken_for_categories():
    """A column exported with decimal commas (every cell '28,4'-like) would otherwise be
    mostly text, i.e. a category with one level per number; a single '28,4' in a numeric
    column is not suggested as a missing-value marker."""
    df = pd.DataFrame(
        {
            "bmi": ["28,8", "19,6", "", "1.234,5", "-0,5"],
            "grade": ["a", "b", "1", "c", "b"],  # text: a category, left alone
            "levels": ["L4,L5", "L5,S1", "L4,L5", "L3,L4", "L5,S1"],  # commas, not numbers
        }
    )
    with pytest.raises(UnparseableValueError) as err:
        check_numeric_columns(df, what="predictor")
    msg = str(err.value)
    assert msg.startswith(
        "4 values cannot be read as numbers: predictor column 'bmi': '28,8', '19,6', "
        "'1.234,5', '-0,5' at rows 0, 1, 3, 4 (expected a number; these are numbers written "
        "with a decimal comma). The table was read with '.' as its decimal mark: '28,8' is "
        "not the number 28.8 there. A CSV file written with decimal commas is read with "
        "--decimal ','"
    ), msg
    assert "--missing-values" not in msg
    assert err.value.problems == {"bmi": [0, 1, 3, 4]}

    mixed = pd.DataFrame({"bmi": ["28.8", "n/a", "28,4", "30.1", "27"]})
    with pytest.raises(UnparseableValueError) as err:
        check_numeric_columns(mixed)
    msg = str(err.value)
    assert "column 'bmi': 'n/a', '28,4' at rows 1, 2 (expected a number, as its other 3" in msg
    assert "'28,4' is not the number 28.4" in msg
    assert "read_table(..., missing_values=['n/a'])" in msg  # not '28,4'


def test_numbers_written_with_thousands_separators_are_refused_and_not_guessed():
    """'1,234,567' and '1,234.5' can only be thousands separators; '32,599' could be
    32599 or 32.599: the message says both and reads neither. A column of them is not a
    category column with one level per number."""
    df = pd.DataFrame({"income": ["32,599", "1,234,567", "", "45,120", "1,234.5"]})
    with pytest.raises(UnparseableValueError) as err:
        check_numeric_columns(df, what="predictor")
    msg = str(err.value)
    assert msg.startswith(
        "4 values cannot be read as numbers: predictor column 'income': '32,599', "
        "'1,234,567', '45,120', '1,234.5' at rows 0, 1, 3, 4 (expected a number; these are "
        "numbers written with thousands separators). '32,599' is read as neither 32599 (a "
        "thousands separator) nor 32.599 (a decimal comma)"
    ), msg
    assert "export the column without them" in msg and "--missing-values" not in msg
    plain = pd.DataFrame({"income": ["1,234,567", "2,000,000", "3"]})
    with pytest.raises(UnparseableValueError) as err:
        check_numeric_columns(plain)
    assert "'1,234,567' is 1234567 written with thousands separators" in str(err.value)
    ambiguous = pd.DataFrame({"x": ["32,599", "45,120", "12,001"]})
    with pytest.raises(UnparseableValueError, match="thousands separators or a decimal comma"):
        check_numeric_columns(ambiguous)


def test_numbers_written_with_a_unit_or_a_percent_sign_are_refused_not_categories():
    df = pd.DataFrame(
        {
            "odi": ["67%", "65 %", "13%", "", "40%"],
            "weight": ["80 kg", "72kg", "91 kg", "66 kg", "n/a"],
            "level": ["L4", "L5", "3b", "1a", "L4"],  # text: a category, left alone
        }
    )
    with pytest.raises(UnparseableValueError) as err:
        check_numeric_columns(df, what="predictor")
    msg = str(err.value)
    assert (
        "column 'odi': '67%', '65 %', '13%', '40%' at rows 0, 1, 2, 4 (expected a number; "
        "these are numbers written with a unit or a percent sign)" in msg
    ), msg
    assert "column 'weight': '80 kg', '72kg', '91 kg', '66 kg', 'n/a' at rows 0, 1, 2, 3, 4" in msg
    assert "'67%' is read neither as 67 nor as 0.67" in msg
    assert "--missing-values 'n/a'" in msg  # the marker only, not '80 kg'
    assert set(err.value.problems) == {"odi", "weight"}


def test_a_contract_numeric_column_refuses_text_even_when_mostly_text():
    df = pd.DataFrame({"age_years": ["NA", "NA", "40"], "sex": ["NA", "female", "male"]})
    with pytest.raises(UnparseableValueError, match=r"column 'age_years': 'NA' at rows 0, 1"):
        check_numeric_columns(df)


def test_imputed_counts_numeric_columns_only_and_words_them():
    X = pd.DataFrame({"a": [1.0, np.nan, np.nan], "b": [1.0, 2.0, 3.0], "c": ["x", None, "y"]})
    counts = imputed_counts(X)
    assert counts == {"a": 2}  # a missing category is a level, not imputed
    assert describe_imputed(counts) == "2 values imputed: a 2"
    assert describe_imputed({}) == "no value imputed"


def test_manifest_imputed_is_optional_and_checked():
    from prom.calculator import DEMO_BUNDLE_PATH

    manifest = json.loads((DEMO_BUNDLE_PATH / "manifest.json").read_text(encoding="utf-8"))
    name, d = next(iter(manifest["tasks"].items()))
    d = {k: v for k, v in d.items() if k != "imputed"}  # as a bundle written before the field
    assert task_entry_from_dict(name, d).imputed is None
    entry = task_entry_from_dict(name, {**d, "imputed": {"bmi_kg_m2": 3}})
    assert entry.imputed == {"bmi_kg_m2": 3} and entry.to_dict()["imputed"] == {"bmi_kg_m2": 3}
    with pytest.raises(BundleError, match=r"field 'imputed' must map columns to counts"):
        task_entry_from_dict(name, {**d, "imputed": {"bmi_kg_m2": -1}})


# --- through the commands -----------------------------------------------------------------


@pytest.fixture(scope="module")
def own(tmp_path_factory, lab_keys):
    """A researcher's own table: two measures, a text category, a 0/1 outcome; 'n/a' in
    one numeric cell (row 7) and one empty cell (row 3)."""
    d = tmp_path_factory.mktemp("missing")
    rng = np.random.default_rng(0)
    n = 150
    df = pd.DataFrame(
        {
            "patient_id": [f"p{i:03d}" for i in range(n)],
            "pelvic_tilt": rng.normal(15, 5, n).round(2),
            "sacral_slope": rng.normal(40, 8, n).round(2),
            "grade": rng.choice(["low", "mid", "high"], n),
        }
    )
    df["abnormal"] = (rng.random(n) < 1 / (1 + np.exp(-(df.pelvic_tilt - 15) / 5))).astype(int)
    df["pelvic_tilt"] = df["pelvic_tilt"].astype(object)
    df.loc[7, "pelvic_tilt"] = "n/a"
    df.loc[3, "sacral_slope"] = np.nan
    path = d / "spine.csv"
    df.to_csv(path, index=False)
    out = d / "bundle"
    res = runner.invoke(
        app,
        [
            *("fit", "--data", str(path), "--target", "abnormal", *FAST, "--out", str(out)),
            *("--missing-values", "n/a"),
        ],
    )
    assert res.exit_code == 0, res.output
    return {"dir": d, "csv": path, "bundle": out, "fit_output": flat(res.output), "n": n}


def test_prom_fit_refuses_an_unreadable_number_naming_column_row_and_value(own):
    out = own["dir"] / "refused"
    res = runner.invoke(
        app, ["fit", "--data", str(own["csv"]), "--target", "abnormal", *FAST, "--out", str(out)]
    )
    assert res.exit_code == 2, res.output
    msg = flat(res.output)
    assert msg.startswith(
        "error: 1 value cannot be read as a number: predictor column 'pelvic_tilt': 'n/a' at "
        f"line 9 (expected a number, as its other {own['n'] - 1} filled values are)."
    ), msg
    assert "declare it with --missing-values 'n/a'" in msg
    assert "Traceback" not in res.output and not out.exists()


def test_prom_fit_with_declared_markers_counts_them_and_the_imputed_values(own):
    out = own["fit_output"]
    assert "missing values: 1 cell declared missing (--missing-values 'n/a'): pelvic_tilt 1" in out
    assert "abnormal: 2 values imputed (training median): pelvic_tilt 1, sacral_slope 1" in out
    entry = load_bundle(own["bundle"]).task("abnormal").entry
    assert entry.imputed == {"pelvic_tilt": 1, "sacral_slope": 1}
    assert entry.predictors == ("pelvic_tilt", "sacral_slope", "grade")  # grade: a category


def test_prom_report_says_what_was_imputed_and_refuses_undeclared_text(own):
    html = own["dir"] / "report.html"
    res = runner.invoke(app, ["report", "--bundle", str(own["bundle"]), "--out", str(html)])
    assert res.exit_code == 0, res.output
    text = html.read_text(encoding="utf-8")
    para = re.search(r'<p id="task-abnormal-imputed">(.*?)</p>', text, re.S).group(1)
    assert para.startswith(
        "2 values of numeric predictors were missing in the labelled rows the models were "
        "fitted on and imputed with the training median: pelvic_tilt 1, sacral_slope 1."
    )
    for cmd in (["report", "--out", str(html)], ["evaluate"]):
        res = runner.invoke(
            app, [cmd[0], "--bundle", str(own["bundle"]), "--data", str(own["csv"]), *cmd[1:]]
        )
        assert res.exit_code == 2, res.output
        assert "predictor column 'pelvic_tilt': 'n/a' at line 9" in flat(res.output)
    res = runner.invoke(
        app,
        [
            *("evaluate", "--bundle", str(own["bundle"]), "--data", str(own["csv"])),
            *("--missing-values", "n/a"),
        ],
    )
    assert res.exit_code == 0, res.output
    line = "abnormal: 2 values imputed (training median): pelvic_tilt 1, sacral_slope 1"
    assert line in flat(res.output)


def test_prom_score_quarantines_the_row_or_counts_the_declared_marker(own):
    scored = own["dir"] / "scored.csv"
    res = runner.invoke(
        app, ["score", "-b", str(own["bundle"]), "-i", str(own["csv"]), "-o", str(scored)]
    )
    assert res.exit_code == 0, res.output
    q = pd.read_csv(own["dir"] / "scored.quarantine.csv", keep_default_na=False)
    assert q[["row", "line", "patient_id", "column", "check", "value"]].values.tolist() == [
        [8, 9, "p007", "pelvic_tilt", "type", "n/a"]
    ]
    summary = json.loads((own["dir"] / "scored.summary.json").read_text(encoding="utf-8"))
    assert summary["rows"]["read"] == own["n"] and summary["rows"]["quarantined"] == 1
    assert summary["rows"]["scored"] == own["n"] - 1
    assert summary["tasks"]["abnormal"]["imputed"] == {"sacral_slope": 1}

    res = runner.invoke(
        app,
        [
            *("score", "-b", str(own["bundle"]), "-i", str(own["csv"]), "-o", str(scored)),
            *("--overwrite", "--missing-values", "n/a"),
        ],
    )
    assert res.exit_code == 0, res.output
    summary = json.loads((own["dir"] / "scored.summary.json").read_text(encoding="utf-8"))
    assert summary["rows"]["quarantined"] == 0 and summary["rows"]["scored"] == own["n"]
    assert summary["missing_values"] == {
        "declared": ["n/a"],
        "cells_declared_missing": {"pelvic_tilt": 1},
    }
    assert summary["tasks"]["abnormal"]["imputed"] == {"pelvic_tilt": 1, "sacral_slope": 1}
    out = flat(res.output)
    assert "abnormal: 2 values imputed: pelvic_tilt 1, sacral_slope 1" in out
    assert "1 cell declared missing (--missing-values 'n/a'): pelvic_tilt 1" in out


def test_prom_fit_refuses_a_table_written_with_decimal_commas(own):
    df = pd.read_csv(own["csv"], keep_default_na=False, dtype=str)
    df["sacral_slope"] = df["sacral_slope"].str.replace(".", ",", regex=False)
    path = own["dir"] / "decimal_commas.csv"
    df.to_csv(path, index=False, sep=";")
    out = own["dir"] / "refused_commas"
    args = ["fit", "--data", str(path), "--delimiter", ";", "--target", "abnormal", *FAST]
    res = runner.invoke(app, [*args, "--missing-values", "n/a", "--out", str(out)])
    assert res.exit_code == 2, res.output
    msg = flat(res.output)
    assert "predictor column 'sacral_slope': " in msg
    assert "these are numbers written with a decimal comma" in msg
    assert "read with --decimal ','" in msg
    assert "Traceback" not in res.output and not out.exists()
    res = runner.invoke(
        app, [*args, "--missing-values", "n/a", "--decimal", ",", "--out", str(out)]
    )
    assert res.exit_code == 0, res.output
    plain = load_bundle(own["bundle"]).task("abnormal").entry
    assert load_bundle(out).task("abnormal").entry.comparison == plain.comparison


def test_prom_score_says_when_its_quarantined_numbers_are_written_with_decimal_commas(own):
    """A file with decimal commas scored without --decimal ',': every such value is a type
    problem, and the summary says what they are (by column, no value) and the option."""
    df = pd.read_csv(own["csv"], keep_default_na=False, dtype=str)
    df["sacral_slope"] = df["sacral_slope"].str.replace(".", ",", regex=False)
    path = own["dir"] / "commas_to_score.csv"
    df.to_csv(path, index=False, sep=";")
    scored = own["dir"] / "commas_scored.csv"
    args = ["score", "-b", str(own["bundle"]), "-i", str(path), "-o", str(scored)]
    args += ["--delimiter", ";", "--missing-values", "n/a"]
    res = runner.invoke(app, args)
    assert res.exit_code == 0, res.output
    summary = json.loads((own["dir"] / "commas_scored.summary.json").read_text(encoding="utf-8"))
    n = int(df["sacral_slope"].str.contains(",").sum())
    assert summary["quarantined_decimal_comma_values"] == {"sacral_slope": n} and n > 10
    assert (
        f"hint: {n:,} of the values refused as not numbers are numbers written with a decimal "
        "comma (in sacral_slope); if the file writes its numbers so, read it with --decimal ','"
    ) in flat(res.output)
    # the same values as text in a Parquet table: --decimal is for CSV files
    pq = own["dir"] / "commas_to_score.parquet"
    df.to_parquet(pq)
    pq_args = ["score", "-b", str(own["bundle"]), "-i", str(pq), "-o", str(own["dir"] / "p.csv")]
    res = runner.invoke(app, [*pq_args, "--missing-values", "n/a"])
    assert res.exit_code == 0, res.output
    assert "write them as numbers in its source (--decimal is for CSV files)" in flat(res.output)
    res = runner.invoke(app, [*args, "--decimal", ",", "--overwrite"])
    assert res.exit_code == 0, res.output
    summary = json.loads((own["dir"] / "commas_scored.summary.json").read_text(encoding="utf-8"))
    assert summary["quarantined_decimal_comma_values"] == {}
    assert summary["rows"]["quarantined"] == 0 and "hint" not in flat(res.output)


def test_prom_score_names_a_column_that_differs_only_in_spaces_or_capitals(own):
    """A spreadsheet header ' Age ' for the bundle's 'age' is named in the refusal."""
    col = load_bundle(own["bundle"]).task("abnormal").entry.predictors[0]
    df = pd.read_csv(own["csv"], keep_default_na=False, dtype=str)
    path = own["dir"] / "spaced.csv"
    df.rename(columns={col: f" {col.upper()} "}).to_csv(path, index=False)
    scored = own["dir"] / "spaced_scored.csv"
    res = runner.invoke(
        app, ["score", "-b", str(own["bundle"]), "-i", str(path), "-o", str(scored)]
    )
    assert res.exit_code == 2, res.output
    msg = flat(res.output)
    assert f"lacks column(s) the bundle needs: {col} (" in msg
    assert f"Differing only in spaces or capitals: ' {col.upper()} ' (for {col})" in msg, msg
    assert not scored.exists()


def test_prom_score_counts_outcome_values_it_cannot_use_and_points_at_the_id_column(own):
    df = pd.read_csv(own["csv"], keep_default_na=False, dtype=str)
    df.loc[5, "abnormal"] = "2"  # neither 0 nor 1: left out of the calibration check
    path = own["dir"] / "odd_outcome.csv"
    df.to_csv(path, index=False)
    scored = own["dir"] / "odd_outcome_scored.csv"
    args = ["score", "-b", str(own["bundle"]), "-i", str(path), "-o", str(scored)]
    res = runner.invoke(app, [*args, "--missing-values", "n/a"])
    assert res.exit_code == 0, res.output
    summary = json.loads(
        (own["dir"] / "odd_outcome_scored.summary.json").read_text(encoding="utf-8")
    )
    assert summary["outcome_values_ignored"] == {"abnormal": 1}
    assert summary["calibration"]["abnormal"]["n_with_outcome"] == own["n"] - 1
    assert (
        "outcome values left out of the calibration check (not a value the outcome takes, "
        "nor empty): abnormal 1" in flat(res.output)
    )
    # the same in a column of floats (a Parquet export, a CSV column with a blank): 2.0 was
    # made missing in the batch's own array and then not counted
    floats = pd.read_csv(own["csv"], keep_default_na=False, na_values=["", "n/a"])
    floats["abnormal"] = floats["abnormal"].astype(float)
    floats.loc[5, "abnormal"] = 2.0
    floats.to_parquet(own["dir"] / "odd_float.parquet", index=False)
    scored = own["dir"] / "odd_float_scored.csv"
    args = ["score", "-b", str(own["bundle"]), "-i", str(own["dir"] / "odd_float.parquet")]
    res = runner.invoke(app, [*args, "-o", str(scored)])
    assert res.exit_code == 0, res.output
    summary = json.loads((own["dir"] / "odd_float_scored.summary.json").read_text("utf-8"))
    assert summary["outcome_values_ignored"] == {"abnormal": 1}

    path = own["dir"] / "own_id.csv"
    df.rename(columns={"patient_id": "Patient ID"}).to_csv(path, index=False)
    args = ["score", "-b", str(own["bundle"]), "-i", str(path), "-o", str(scored)]
    res = runner.invoke(app, [*args, "--overwrite"])
    assert res.exit_code == 2, res.output
    msg = flat(res.output)
    assert "lacks column(s) the bundle needs: patient_id" in msg
    assert "To key the rows by 'Patient ID', pass --id-column 'Patient ID'." in msg, msg
    res = runner.invoke(app, [*args, "--overwrite", "--id-column", "Patient ID"])
    assert res.exit_code == 0, res.output
    assert "rows keyed by 'Patient ID', given with --id-column" in flat(res.output)
    keyed = pd.read_csv(scored, dtype={"patient_id": str})
    assert keyed["patient_id"].tolist()[:3] == ["p000", "p001", "p002"]
    # the same rule added to a mapping of the user's own
    mapping = own["dir"] / "own_id.yaml"
    mapping.write_text("version: 1\ncolumns: {}\nkeep_unmapped: true\n", encoding="utf-8")
    res = runner.invoke(
        app, [*args, "--overwrite", "--mapping", str(mapping), "--id-column", "Patient ID"]
    )
    assert res.exit_code == 0, res.output
    for name, refused in (
        ("Pat", "--id-column 'Pat' is not a column of the input"),
        ("grade", "--id-column 'grade' is a predictor of the bundle's models (task abnormal)"),
    ):
        res = runner.invoke(app, [*args, "--overwrite", "--id-column", name])
        assert res.exit_code == 2 and refused in flat(res.output), res.output


def test_resolve_id_column_defaults_to_the_bundles_id_column_and_refuses_conflicts():
    from types import SimpleNamespace

    from prom.errors import MissingColumnError
    from prom.score.id_column import resolve_id_column

    def bundle(*columns):
        rows = [SimpleNamespace(basis="id column", columns=(c,)) for c in columns]
        return SimpleNamespace(
            tasks={f"t{i}": SimpleNamespace(entry=SimpleNamespace(development_rows=r),
                                            predictors=("age",))
                   for i, r in enumerate(rows)}
        )  # fmt: skip

    header = ["Patient ID", "age"]
    mapping, origin, note = resolve_id_column(bundle("Patient ID"), header, None, "<none>", None)
    assert mapping == {
        "version": 1,
        "columns": {"Patient ID": "patient_id"},
        "keep_unmapped": True,
    }
    assert origin == "--id-column 'Patient ID'" and "recorded with (prom fit --id-column)" in note
    # two tasks keyed differently, or an input with patient_id: no default
    assert resolve_id_column(bundle("Patient ID", "MRN"), header, None, "-", None)[2] is None
    assert resolve_id_column(bundle("x"), ["patient_id"], None, "-", None) == (None, "-", None)
    with pytest.raises(MissingColumnError, match=r"has a 'patient_id' column too"):
        resolve_id_column(bundle(), ["patient_id", "MRN"], None, "-", "MRN")
    own = {"version": 1, "columns": {"PID": "patient_id"}}
    with pytest.raises(MissingColumnError, match=r"already maps 'PID' to patient_id"):
        resolve_id_column(bundle(), ["PID", "MRN"], own, "m.yaml", "MRN")
    own = {"version": 1, "columns": {"MRN": "age_years"}}
    with pytest.raises(MissingColumnError, match=r"maps that column to 'age_years'"):
        resolve_id_column(bundle(), ["MRN"], own, "m.yaml", "MRN")
    with pytest.raises(MissingColumnError, match=r"'age' is a predictor of the bundle's models"):
        resolve_id_column(bundle("x"), header, None, "-", "age")
    added, origin, _ = resolve_id_column(bundle(), ["MRN"], {"version": 1}, "m.yaml", "MRN")
    assert added["columns"] == {"MRN": "patient_id"} and origin == "m.yaml and --id-column 'MRN'"


# --- the calculator -----------------------------------------------------------------------


def test_the_calculator_reports_the_entries_its_models_imputed():
    from prom.bundle import load_bundle as load
    from prom.calculator import DEMO_BUNDLE_PATH, Calculator

    entries = {
        "region": "lumbar",
        "diagnosis": "disc_herniation",
        "age_years": 46.0,
        "sex": "female",
        "smoking": "never",
        "employment": "employed",
        "symptom_duration_months": 5.0,
        "prior_spine_surgery": False,
        "opioid_use": False,
        "diabetes": False,
        "depression_anxiety": False,
        "asa_grade": 2,
        "index_level": "l5_s1",
        "odi_0m": 46.0,
        "nrs_back_0m": 4.0,
        "nrs_leg_0m": 8.0,
        "comi_0m": 7.5,
    }
    calc = Calculator(load(DEMO_BUNDLE_PATH))
    full = calc.predict({**entries, "bmi_kg_m2": 26.5}, explain=False)
    res = calc.predict(entries, explain=False)  # BMI not entered
    assert "bmi_kg_m2" in res.imputed and "bmi_kg_m2" not in full.imputed
    assert set(res.imputed) - set(full.imputed) == {"bmi_kg_m2"}
    note = next(n for n in res.notes if "imputed" in n)
    assert (
        note.startswith(f"{len(res.imputed)} values imputed: ")
        and "Body-mass index (kg/m2)" in note
    )
