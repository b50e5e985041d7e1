"""``prom score-proms`` on tables a registry exports: a table scored before (its labels
replaced under another threshold), an output that would overwrite the input, thresholds
given twice or to a task without one, a region column that is missing or written
otherwise, text where a number belongs (in an item, in a score), time points the toolkit
does not score — each done as asked or said, never silently."""

from __future__ import annotations

import pandas as pd
import pytest
from typer.testing import CliRunner

from prom.cli import app
from prom.instruments import INSTRUMENTS, score_table
from prom.instruments.mcid import improvement, mcid_attained

runner = CliRunner()
ODI = INSTRUMENTS["odi"]


def flat(text: str) -> str:
    return " ".join(text.split())


@pytest.fixture()
def odi(tmp_path):
    """Three patients' ODI items at baseline and 12 months (one skips the sex-life item)."""
    rows = [
        [3, 2, 4, 2, 3, 3, 2, 2, 3, 2, 1, 1, 2, 1, 1, 1, 1, 1, 1, 1],
        [3, 2, 4, 2, 3, 3, 2, None, 3, 2, 1, 1, 2, 1, 1, 1, 1, None, 1, 1],
        [*[2] * 10, *[1] * 10],
    ]
    cols = list(ODI.item_columns("0m").values()) + list(ODI.item_columns("12m").values())
    df = pd.DataFrame(rows, columns=cols)
    df.insert(0, "region", "lumbar")
    df.insert(0, "patient_id", ["p1", "p2", "p3"])
    path = tmp_path / "odi.csv"
    df.to_csv(path, index=False)
    return df, path


def score(*args):
    return runner.invoke(app, ["score-proms", *map(str, args)])


def test_a_scored_table_is_labelled_again_under_another_threshold(odi, tmp_path):
    _, path = odi
    first = score("-d", path, "-o", tmp_path / "a.csv")
    assert first.exit_code == 0, first.output
    assert "mcid_odi_12m: threshold odi_ostelo2008 (the task's default)" in flat(first.output)
    again = score(
        "-d", tmp_path / "a.csv", "-o", tmp_path / "b.csv", "-t", "mcid_odi_12m=odi_fuse_ml"
    )
    said = flat(again.output)
    assert again.exit_code == 0, said
    assert "label column(s) mcid_odi_12m, mcid_odi_12m_reason are replaced" in said
    assert "mcid_odi_12m: threshold odi_fuse_ml (given with --threshold): ODI improvement ≥ 15" in (
        said
    )
    out = pd.read_csv(tmp_path / "b.csv")
    assert list(out.columns).count("mcid_odi_12m") == 1
    # p1: 52 → 24 (28 points: both); p3: 40 → 20 (20 points: both) — p2 9 sections each
    assert out["mcid_odi_12m"].tolist() == [1.0, 1.0, 1.0]


def test_an_output_over_the_input_or_an_existing_file_is_refused(odi, tmp_path):
    _, path = odi
    res = score("-d", path, "-o", path)
    assert res.exit_code == 2 and "is the input table" in flat(res.output)
    assert score("-d", path, "-o", tmp_path / "x.csv").exit_code == 0
    res = score("-d", path, "-o", tmp_path / "x.csv")
    assert res.exit_code == 2 and "exists; choose another --out or pass --overwrite" in flat(
        res.output
    )
    assert score("-d", path, "-o", tmp_path / "x.csv", "--overwrite").exit_code == 0


@pytest.mark.parametrize(
    ("thresholds", "said"),
    [
        (
            ["mcid_odi_12m=odi_fuse_ml", "mcid_odi_12m=odi_ostelo2008"],
            "names task mcid_odi_12m twice (odi_fuse_ml and odi_ostelo2008)",
        ),
        (["triage=odi_fuse_ml"], "names task(s) triage without an MCID threshold"),
        (["mcid_odi_1m=odi_fuse_ml"], "names unknown task(s) mcid_odi_1m; the tasks with"),
    ],
)
def test_thresholds_that_cannot_apply_are_refused(odi, tmp_path, thresholds, said):
    _, path = odi
    args = [a for t in thresholds for a in ("-t", t)]
    res = score("-d", path, "-o", tmp_path / "y.csv", *args)
    assert res.exit_code == 2 and said in flat(res.output), res.output
    assert not (tmp_path / "y.csv").exists()


def test_a_region_missing_or_written_otherwise_is_said(odi, tmp_path):
    df, _ = odi
    df.drop(columns="region").to_csv(tmp_path / "nr.csv", index=False)
    res = score(
        "-d", tmp_path / "nr.csv", "-o", tmp_path / "z.csv", "-t", "mcid_odi_12m=odi_fuse_ml"
    )
    assert res.exit_code == 2 and "task mcid_odi_12m needs column(s) region" in flat(res.output)
    df.assign(region="Lumbar").to_csv(tmp_path / "L.csv", index=False)
    res = score("-d", tmp_path / "L.csv", "-o", tmp_path / "w.csv")
    assert res.exit_code == 0, res.output
    assert (
        "mcid_odi_12m: no row labelled — not in population: region is 'Lumbar', task needs "
        "lumbar (3 rows)"
    ) in flat(res.output)


def test_the_text_nan_in_an_item_is_refused_like_any_other_text(odi):
    df, _ = odi
    df = df.astype({"odi_pain_intensity_0m": object})
    df.loc[0, "odi_pain_intensity_0m"] = "nan"
    with pytest.raises(ValueError, match=r"odi_pain_intensity_0m.*'nan'"):
        score_table(df)


def test_text_in_a_score_column_is_named(odi, tmp_path):
    df, _ = odi
    given = df.assign(odi_0m=["52", "n/a", "40"])
    given.to_csv(tmp_path / "g.csv", index=False)
    res = score("-d", tmp_path / "g.csv", "-o", tmp_path / "g_out.csv")
    assert res.exit_code == 0, res.output
    assert "odi_0m: 1 row(s) hold text that is not a score ('n/a' at line 3)" in flat(res.output)
    only = pd.DataFrame(
        {"patient_id": ["q1", "q2", "q3"], "region": "lumbar", "odi_0m": [48, 24, 60]}
    )
    only.assign(odi_12m=["30", "12", "n/a"]).to_csv(tmp_path / "s1.csv", index=False)
    res = score("-d", tmp_path / "s1.csv", "-o", tmp_path / "s1_out.csv")
    assert res.exit_code == 2 and (
        "column 'odi_12m': 1 row(s) hold text that is not a score (declare a marker missing "
        "with --missing-values): 'n/a' at line 4"
    ) in flat(res.output)
    only.assign(odi_0m=[48, 24, 160], odi_12m=[30, 12, 20]).to_csv(tmp_path / "s2.csv", index=False)
    res = score("-d", tmp_path / "s2.csv", "-o", tmp_path / "s2_out.csv")
    assert res.exit_code == 2 and (
        "column 'odi_0m': 1 row(s) hold ODI scores outside 0–100 (scores, not item sums, are "
        "expected): 160 at line 4"
    ) in flat(res.output)


def test_columns_at_a_time_point_not_scored_are_said(odi, tmp_path):
    df, _ = odi
    df.rename(columns=lambda c: c.replace("_12m", "_6m")).to_csv(tmp_path / "six.csv", index=False)
    res = score("-d", tmp_path / "six.csv", "-o", tmp_path / "six_out.csv")
    assert res.exit_code == 0, res.output
    assert "note: 10 column(s) at 6m left unscored (odi_pain_intensity_6m, " in flat(res.output)
    assert "the time points scored are 0m, 1m, 3m, 12m" in flat(res.output)


def test_the_api_names_an_instrument_or_a_text_score_it_cannot_read():
    assert improvement([40.0], [20.0], "ODI").tolist() == [20.0]  # any case
    with pytest.raises(ValueError, match=r"unknown instrument .NDI.; expected one of odi, "):
        improvement([40.0], [20.0], "NDI")
    with pytest.raises(
        ValueError, match=r"baseline holds text that is not a score: 'n/a' at rows 1"
    ):
        mcid_attained(pd.Series(["40", "n/a"]), pd.Series([20.0, 10.0]), "odi_ostelo2008")


def test_thresholds_lists_sources_notes_and_the_no_room_rule():
    res = runner.invoke(app, ["thresholds", "--instrument", "odi"], env={"COLUMNS": "200"})
    said = flat(res.output)
    assert res.exit_code == 0 and "source" in said
    assert "Note:" in said and "verified" in said  # odi_spinereg's caveat (cells wrap)
    assert "leaves no room to reach a threshold" in said


def test_pro_rated_scores_are_counted(odi, tmp_path):
    _, path = odi
    res = score("-d", path, "-o", tmp_path / "p.csv")
    said = flat(res.output)
    assert res.exit_code == 0, said
    # p2 skipped the sex-life item at both times: 1 of the 3 scores each time
    assert "odi_0m: 1 of 3 scores pro-rated over the items answered (rule: " in said
    assert "odi_12m: 1 of 3 scores pro-rated over the items answered" in said
