"""The ``prom`` command: each sub-command end to end on small files."""

from __future__ import annotations

import pandas as pd
import pytest
from typer.testing import CliRunner

from prom.cli import app

runner = CliRunner()


@pytest.fixture(scope="module")
def cohort_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("cli") / "cohort.parquet"
    res = runner.invoke(app, ["simulate", "--n", "800", "--seed", "5", "--out", str(path)])
    assert res.exit_code == 0, res.output
    assert "wrote 800 patients" in res.output
    return path


def test_help_lists_commands():
    res = runner.invoke(app, ["--help"])
    assert res.exit_code == 0
    for cmd in ("simulate", "validate", "score-proms", "thresholds", "tasks", "demo"):
        assert cmd in res.output


def test_simulate_is_deterministic(tmp_path, cohort_file):
    again = tmp_path / "again.parquet"
    runner.invoke(app, ["simulate", "--n", "800", "--seed", "5", "--out", str(again)])
    pd.testing.assert_frame_equal(pd.read_parquet(cohort_file), pd.read_parquet(again))


def test_validate_passes_on_simulated_and_fails_on_corrupted(tmp_path, cohort_file):
    res = runner.invoke(app, ["validate", "--data", str(cohort_file)])
    assert res.exit_code == 0, res.output
    assert "0 error(s)" in res.output
    df = pd.read_parquet(cohort_file)
    df.loc[df.index[:3], "age_years"] = 250.0
    df["sex"] = df["sex"].astype(object)
    df.loc[df.index[5], "sex"] = "Male"
    bad = tmp_path / "bad.csv"
    df.to_csv(bad, index=False)
    report = tmp_path / "problems.csv"
    res = runner.invoke(app, ["validate", "--data", str(bad), "--report", str(report)])
    assert res.exit_code == 1
    assert "age_years" in res.output and "sex" in res.output
    problems = pd.read_csv(report)
    assert {"age_years", "sex"} <= set(problems["column"])


def test_score_proms_writes_scores_and_labels(tmp_path, cohort_file):
    out = tmp_path / "scored.parquet"
    res = runner.invoke(
        app,
        [
            "score-proms",
            "--data",
            str(cohort_file),
            "--out",
            str(out),
            "-t",
            "mcid_odi_12m=odi_norspine_ldh",
        ],
    )
    assert res.exit_code == 0, res.output
    scored = pd.read_parquet(out)
    for c in (
        "odi_0m",
        "odi_12m_reason",
        "comi_12m",
        "mjoa_0m",
        "mcid_odi_12m",
        "mcid_odi_12m_reason",
        "triage",
        "surgery_conversion_time",
    ):
        assert c in scored.columns
    from prom.instruments.mcid import mcid_attained

    expected = mcid_attained(scored.odi_0m, scored.odi_12m, "odi_norspine_ldh")
    lumbar = scored.region.eq("lumbar")
    pd.testing.assert_series_equal(
        scored.loc[lumbar, "mcid_odi_12m"], expected[lumbar], check_names=False
    )


def test_score_proms_bad_threshold_spec(tmp_path, cohort_file):
    res = runner.invoke(
        app,
        [
            "score-proms",
            "--data",
            str(cohort_file),
            "--out",
            str(tmp_path / "x.parquet"),
            "-t",
            "mcid_odi_12m",
        ],
    )
    assert res.exit_code == 2
    assert "expected TASK=THRESHOLD_ID" in res.output
    res = runner.invoke(
        app,
        [
            "score-proms",
            "--data",
            str(cohort_file),
            "--out",
            str(tmp_path / "x.parquet"),
            "-t",
            "mcid_odi_12m=nope",
        ],
    )
    assert res.exit_code == 2
    assert "unknown MCID threshold 'nope'" in res.output


def test_missing_file_is_a_clear_error(tmp_path):
    res = runner.invoke(app, ["validate", "--data", str(tmp_path / "nope.csv")])
    assert res.exit_code == 2
    assert "nope.csv" in res.output


def test_thresholds_and_tasks_tables():
    res = runner.invoke(app, ["thresholds", "--instrument", "mjoa"])
    assert res.exit_code == 0 and "mjoa_tetreault2015_severity" in res.output
    res = runner.invoke(app, ["tasks"])
    assert res.exit_code == 0 and "surgery_conversion" in res.output


def test_demo_runs_end_to_end(tmp_path):
    res = runner.invoke(app, ["demo", "--n", "3000", "--no-fit", "--out", str(tmp_path / "demo")])
    assert res.exit_code == 0, res.output
    for text in (
        "mcid_odi_12m",
        "tfesi_response",
        "triage",
        "surgery_conversion",
        "oracle",
        "data contract: 0 error(s)",
    ):
        assert text in res.output
    assert (tmp_path / "demo" / "cohort_scored.parquet").exists()
