"""A row of a CSV file is named by its line in every command's messages.

A table read from a CSV file is indexed by the line each row starts on (the header is line
1), so ``prom validate``, ``prom fit`` and ``prom score`` name the same line for the same
cell — the line an editor shows and the row a spreadsheet shows — where they used to say
``row 10`` (a 0-based position), ``row 10`` and ``row 11, line 12``. A table handed over
as a DataFrame keeps its own index labels, called rows.
"""

from __future__ import annotations

import csv
import re

import pandas as pd
import pytest
from typer.testing import CliRunner

from prom.calculator import DEMO_BUNDLE_PATH
from prom.cli import app
from prom.cohort import simulate_cohort, validate_cohort
from prom.cohort.readers import read_cohort, read_table
from prom.errors import LINE_INDEX, format_rows

runner = CliRunner()
#: the file's lines that the edits below put a problem on
AGE_LINE, BMI_LINE, SHORT_LINE = 12, 20, 27


def flat(text: str) -> str:
    return re.sub(r"\s+", " ", text)


@pytest.fixture(scope="module")
def table(tmp_path_factory):
    """A 40-row cohort file with 'abc' as the age of line 12, a BMI of 999 on line 20 and
    a row with a field missing on line 27."""
    d = tmp_path_factory.mktemp("lines")
    text = simulate_cohort(40, seed=5).to_csv(index=False)
    rows = [list(r) for r in csv.reader(text.split("\n")) if r]
    head = rows[0]
    rows[AGE_LINE - 1][head.index("age_years")] = "abc"
    rows[BMI_LINE - 1][head.index("bmi_kg_m2")] = "999"
    sound = d / "sound.csv"  # the same without the broken row, which fit refuses first
    with open(sound, "w", newline="") as f:
        csv.writer(f, lineterminator="\n").writerows(rows)
    rows[SHORT_LINE - 1] = rows[SHORT_LINE - 1][:-1]
    path = d / "cohort.csv"
    with open(path, "w", newline="") as f:
        csv.writer(f, lineterminator="\n").writerows(rows)
    ids = {i + 1: r[0] for i, r in enumerate(rows)}
    return {"dir": d, "csv": path, "sound": sound, "ids": ids}


def test_a_csv_tables_rows_are_labelled_by_their_lines(tmp_path):
    text = 'id,note,x\na,"two\nlines",1\n\nb,plain,2\nc,,3\n'
    (tmp_path / "t.csv").write_text(text)
    df = read_table(tmp_path / "t.csv")
    assert df.index.name == LINE_INDEX
    # a quoted line break and a blank line: the rows start on lines 2, 5 and 6
    assert df.index.tolist() == [2, 5, 6] and df["id"].tolist() == ["a", "b", "c"]
    assert format_rows(df.index[df["note"].isna()]) == "line 6"
    assert format_rows(pd.RangeIndex(3)[1:]) == "rows 1, 2"


def test_an_excel_sep_line_counts_as_a_line(tmp_path):
    (tmp_path / "t.csv").write_text("sep=;\nid;x\na;1\nb;2\n")
    df = read_table(tmp_path / "t.csv", delimiter=";")
    assert df.index.tolist() == [3, 4]


def test_validate_names_lines_in_its_table_text_and_report(table):
    out = table["dir"] / "problems.csv"
    res = runner.invoke(app, ["validate", "--data", str(table["csv"]), "--report", str(out)])
    assert res.exit_code == 1 and "Traceback" not in res.output
    assert "lines" in res.output.split("\n")[2]  # the table's heading
    report = pd.read_csv(out)
    assert "lines" in report.columns and "rows" not in report.columns
    where = {(r.column, r.check): r.lines for r in report.itertuples()}
    assert where[("age_years", "type")] == f"[{AGE_LINE}]"
    assert where[("bmi_kg_m2", "out_of_range")] == f"[{BMI_LINE}]"
    short = report[report["check"] == "field_count"]
    assert short["lines"].tolist() == [f"[{SHORT_LINE}]"]
    _, rep = read_cohort(table["csv"])
    assert rep.row_noun == "line"
    assert f"(line {AGE_LINE})" in rep.summary() and f"(line {BMI_LINE})" in rep.summary()


def test_a_dataframe_keeps_its_own_labels_called_rows():
    df = simulate_cohort(30, seed=2)
    df.loc[7, "bmi_kg_m2"] = 999.0
    rep = validate_cohort(df)
    assert rep.row_noun == "row" and "(row 7)" in rep.summary()


def test_fit_and_score_name_the_same_line_as_validate(table):
    # fit: the unreadable age is refused, naming its line
    res = runner.invoke(
        app,
        [
            *("fit", "--data", str(table["sound"]), "--target", "surgery_event"),
            *("--predictors", "age_years,bmi_kg_m2", "--out", str(table["dir"] / "b")),
        ],
    )
    assert res.exit_code == 2, res.output
    assert f"'abc' at line {AGE_LINE} " in flat(res.output)
    # the broken row: refused by fit, naming its line
    res = runner.invoke(
        app,
        [
            *("fit", "--data", str(table["csv"]), "--target", "surgery_event"),
            *("--predictors", "age_years,bmi_kg_m2", "--out", str(table["dir"] / "b")),
        ],
    )
    assert res.exit_code == 2 and f"line {SHORT_LINE}:" in flat(res.output), res.output
    # score: the quarantine file's line column says the same lines
    scored = table["dir"] / "scored.csv"
    q = table["dir"] / "quarantine.csv"
    res = runner.invoke(
        app,
        [
            *("score", "--bundle", str(DEMO_BUNDLE_PATH), "--data", str(table["csv"])),
            *("--out", str(scored), "--quarantine", str(q)),
        ],
    )
    assert res.exit_code == 0, res.output
    quarantined = pd.read_csv(q)
    lines = dict(zip(quarantined["check"], quarantined["line"], strict=False))
    assert lines["type"] == AGE_LINE and lines["out_of_range"] == BMI_LINE
    assert lines["field_count"] == SHORT_LINE
    age = quarantined[quarantined["check"] == "type"].iloc[0]
    assert age["patient_id"] == table["ids"][AGE_LINE]


def test_fit_names_an_extreme_value_by_its_line(tmp_path):
    df = simulate_cohort(200, seed=4)
    df["score"] = (df["age_years"] > df["age_years"].median()).astype(int)
    df.loc[30, "bmi_kg_m2"] = 69.0  # far beyond the others, inside the contract's range
    path = tmp_path / "t.csv"
    df.to_csv(path, index=False)
    res = runner.invoke(
        app,
        [
            *("fit", "--data", str(path), "--target", "score", "--predictors"),
            *("bmi_kg_m2,nrs_leg_0m", "--models", "logistic,elastic_net", "--boot", "20"),
            *("--optimism-boot", "0", "--folds", "3", "--n-iter", "1", "--jobs", "1"),
            *("--allow-small-sample", "--out", str(tmp_path / "b")),
        ],
    )
    assert res.exit_code == 0, res.output
    # row 30 of the frame (0-based) is the file's line 32
    assert "69 (line 32)" in flat(res.output), flat(res.output)
