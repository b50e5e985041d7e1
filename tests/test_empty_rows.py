"""A row with nothing in it is one problem of the row, not a missing value per column.

Spreadsheets export a line of delimiters only (``;;;;;``) for a row that once held a value
or a format. ``prom validate`` used to report such a line as a ``missing_value`` error in
each required column (five errors for one blank line); ``prom score`` quarantined it with
one record per column. Both now report one ``empty_row`` problem naming its line, and
every input row is still accounted for.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from typer.testing import CliRunner

from prom.calculator import DEMO_BUNDLE_PATH
from prom.cli import app
from prom.cohort import simulate_cohort, validate_cohort
from prom.cohort.column_checks import empty_rows
from prom.cohort.readers import read_cohort

runner = CliRunner()


def _with_blank_lines(tmp_path, n=30, at=(10, 25)):
    """A cohort file with lines of delimiters only inserted so that they are ``at`` lines
    (1-based; the header is line 1), the last with spaces in two fields."""
    df = simulate_cohort(n, seed=9)
    lines = df.to_csv(index=False).splitlines()
    blank = "," * (df.shape[1] - 1)
    for k, line in enumerate(sorted(at)):
        lines.insert(line - 1, blank if k == 0 else " ," + blank[1:] + " ")
    path = tmp_path / "blank.csv"
    path.write_text("\n".join(lines) + "\n")
    return path, df


def test_empty_rows_are_every_cell_missing_or_blank():
    frame = pd.DataFrame(
        {"a": [np.nan, "x", " ", None], "b": [np.nan, np.nan, "", np.nan], "c": [None] * 4}
    )
    assert empty_rows(frame).tolist() == [True, False, True, True]
    assert empty_rows(frame[[]]).tolist() == [False] * 4
    assert empty_rows(frame[["c"]]).tolist() == [False] * 4  # one column: missing values


def test_validate_reports_an_empty_line_once_by_its_line(tmp_path):
    path, df = _with_blank_lines(tmp_path)
    _, report = read_cohort(path)
    assert report.n_rows == len(df) + 2
    p = report.problems
    assert p["check"].tolist() == ["empty_row"], report.summary()
    assert p["rows"].item() == [10, 25] and p["column"].item() == ""
    assert "empty_row" not in validate_cohort(df).problems["check"].tolist()
    res = runner.invoke(app, ["validate", "--data", str(path)])
    assert res.exit_code == 1 and "empty_row" in res.output and "missing_value" not in res.output


def test_a_dataframe_row_of_missing_values_is_one_problem():
    df = simulate_cohort(20, seed=3)
    df.loc[4] = np.nan
    report = validate_cohort(df)
    assert report.problems[["check", "rows"]].values.tolist() == [["empty_row", [4]]]
    assert "(row 4)" in report.summary()


def test_score_quarantines_an_empty_line_with_one_record(tmp_path):
    path, df = _with_blank_lines(tmp_path)
    out, q = tmp_path / "scored.csv", tmp_path / "quarantine.csv"
    summary = tmp_path / "summary.json"
    res = runner.invoke(
        app,
        [
            *("score", "--bundle", str(DEMO_BUNDLE_PATH), "--data", str(path)),
            *("--out", str(out), "--quarantine", str(q), "--summary", str(summary)),
        ],
    )
    assert res.exit_code == 0, res.output
    quarantined = pd.read_csv(q, keep_default_na=False)
    assert quarantined[["row", "line", "check"]].values.tolist() == [
        [9, 10, "empty_row"],
        [24, 25, "empty_row"],
    ]
    assert len(pd.read_csv(out)) == len(df)  # every other row scored
    assert "empty_row 2" in " ".join(res.output.split())


def test_a_fit_counts_empty_lines_apart_from_missing_outcomes(tmp_path):
    """``prom fit``'s row accounting: an empty line is counted as ``empty``, not as a row
    whose outcome is missing (custom binary, custom survival and a built-in task)."""
    from prom.outcomes import prepare_task_data

    path, df = _with_blank_lines(tmp_path, n=60)
    table, _ = read_cohort(path, mode="lenient")
    predictors = ["age_years", "bmi_kg_m2"]
    own = table.assign(good=(table["age_years"] > 50).astype(float).where(table["sex"].notna()))
    own.loc[own.index[3], "good"] = np.nan  # one real row without its outcome
    td = prepare_task_data(own, target="good", predictors=predictors)
    assert td.row_accounting == {"read": 62, "used": 59, "good missing": 1, "empty": 2}
    timed = own.assign(days=np.where(own["good"].notna(), 100.0, np.nan), event=own["good"])
    td = prepare_task_data(timed, time="days", event="event", predictors=predictors)
    assert td.row_accounting == {
        "read": 62,
        "used": 59,
        "days or event missing": 1,
        "empty": 2,
    }
    from prom.instruments import add_scores

    task = prepare_task_data(add_scores(table), "mcid_odi_12m").row_accounting
    assert task["read"] == 62 and task["empty"] == 2
    assert task["read"] == task["used"] + sum(
        v for k, v in task.items() if k not in ("read", "used")
    )
    clean = prepare_task_data(add_scores(df), "mcid_odi_12m").row_accounting
    assert "empty" not in clean
    assert {k: v for k, v in task.items() if k not in ("read", "empty")} == {
        k: v for k, v in clean.items() if k != "read"
    }


def test_prom_fit_prints_the_empty_rows_in_its_row_line(tmp_path):
    path, _ = _with_blank_lines(tmp_path, n=120)
    table, _ = read_cohort(path, mode="lenient")
    table.assign(good=(table["age_years"] > 50).astype(float).where(table["sex"].notna())).to_csv(
        tmp_path / "own.csv", index=False
    )
    res = runner.invoke(
        app,
        [
            "fit", "--data", str(tmp_path / "own.csv"), "--target", "good",
            "--predictors", "age_years,bmi_kg_m2", "--models", "logistic,elastic_net", "--folds", "3", "--boot", "20",
            "--optimism-boot", "10",
            "--allow-small-sample", "--out", str(tmp_path / "b"),
        ],
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    assert "rows: read 122, used 120, good missing 0, empty 2" in res.output
