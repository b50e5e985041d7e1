"""A table with PROM scores beside their items: the items' score where they give one, the
table's where they give none, every difference and every kept score named — and the same
rule in ``prom score-proms`` and ``prom fit``."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from prom.cli import app
from prom.cohort import simulate_cohort
from prom.instruments import INSTRUMENTS, score_table
from prom.instruments.given import TOLERANCE, with_given_scores

runner = CliRunner()
ODI_ITEMS_0M = list(INSTRUMENTS["odi"].item_columns("0m").values())


@pytest.fixture(scope="module")
def table() -> pd.DataFrame:
    """Items of 300 simulated patients and a registry's own ODI at baseline: rounded
    (agrees), 30 points off on 3 rows, given where the items are blank on 4 rows, and
    out of range where the items are blank on 1 row."""
    df = simulate_cohort(300, seed=3)
    df["odi_0m"] = score_table(df)["odi_0m"].round()
    df.loc[[5, 6, 7], "odi_0m"] += 30
    blank = df.index[df["odi_0m"].notna()][20:25]
    df.loc[blank, ODI_ITEMS_0M] = np.nan
    df.loc[blank[-1], "odi_0m"] = 130.0
    df.attrs["blank"] = list(blank)
    return df


def test_items_win_where_they_score_and_the_table_fills_in_where_they_do_not(table):
    scores = score_table(table)
    got = with_given_scores(table, scores, list(INSTRUMENTS.values()))
    s, blank = got.scores, table.attrs["blank"]
    kept = blank[:-1]
    pd.testing.assert_series_equal(
        s["odi_0m"].drop(blank), scores["odi_0m"].drop(blank), check_names=False
    )
    assert (s.loc[kept, "odi_0m"] == table.loc[kept, "odi_0m"]).all()
    assert s.loc[kept, "odi_0m_reason"].str.startswith("as given in the table").all()
    assert s.loc[kept, "odi_0m_band"].notna().all()
    assert np.isnan(s.loc[blank[-1], "odi_0m"])  # 130: outside 0–100, not used
    notes = " | ".join(got.notes)
    assert f"differs from its items' by more than {TOLERANCE:g} points on 3 row(s)" in notes
    assert "rows 5, 6, 7" in notes
    assert f"{len(kept)} row(s) whose items give no score keep the table's score" in notes
    assert "outside 0–100 (130" in notes
    # the NRS ratings are their own items: never "differ"
    assert not any(n.startswith("nrs_") for n in got.notes)


def test_score_proms_and_fit_use_the_same_scores(table, tmp_path, lab_keys):
    csv = tmp_path / "registry.csv"
    table.to_csv(csv, index=False)
    out = tmp_path / "scored.csv"
    r = runner.invoke(app, ["score-proms", "--data", str(csv), "--out", str(out)])
    assert r.exit_code == 0, r.output
    flat = " ".join(r.output.split())
    assert "odi_0m: the table's score differs from its items'" in flat
    scored = pd.read_csv(out)
    expected = with_given_scores(table, score_table(table), list(INSTRUMENTS.values()))
    np.testing.assert_allclose(scored["odi_0m"], expected.scores["odi_0m"], rtol=1e-12)
    fast = ["--models", "logistic,elastic_net", "--folds", "2", "--n-iter", "1"]
    fast += ["--boot", "10", "--optimism-boot", "0", "--jobs", "1", "--site-column", "none"]
    r = runner.invoke(
        app,
        ["fit", "--data", str(csv), "--task", "mcid_odi_12m", "--out", str(tmp_path / "b"), *fast],
    )
    assert r.exit_code == 0, r.output
    flat = " ".join(r.output.split())
    assert "odi_0m: the table's score differs from its items'" in flat
    assert "1 scored again from their items" in flat
    labelled = scored["mcid_odi_12m"].notna().sum()
    assert f"used {labelled:,}" in flat or f"used {labelled}" in flat
