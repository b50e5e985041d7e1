"""The Dask engine maps the same scoring function over Parquet pieces: identical results.

A hive-partitioned folder (one folder per site, several row groups per file), with a bad
row and an id duplicated across two partitions, is scored by the local engine and by Dask
on a LocalCluster of two worker processes; outputs, quarantine files and accounting agree
row for row — the files are identical to the byte.
"""

from __future__ import annotations

import pandas as pd
import pytest

from prom.cohort import simulate_cohort
from prom.score import score_file

pytestmark = [
    pytest.mark.filterwarnings("ignore::prom.errors.StatisticalWarning"),
    # distributed's own shutdown chatter (closed comms, tornado) is not ours
    pytest.mark.filterwarnings("ignore::DeprecationWarning"),
    pytest.mark.filterwarnings("ignore::ResourceWarning"),
]

STAMP = "2026-11-24T09:00:00Z"


@pytest.fixture(scope="module")
def setup(tmp_path_factory, score_bundle):
    root = tmp_path_factory.mktemp("score_dask")
    bundle = score_bundle
    df = simulate_cohort(3000, seed=13)
    df["sex"] = df["sex"].astype(object)
    df.loc[17, "sex"] = "unknown"  # quarantined
    site_a, site_b = df["site"].unique()[:2]
    first_b = df.index[df["site"] == site_b][0]
    df.loc[first_b, "patient_id"] = df.loc[df["site"] == site_a, "patient_id"].iloc[0]
    folder = root / "registry"
    for site, part in df.groupby("site", sort=True):
        (folder / f"site={site}").mkdir(parents=True)
        part.drop(columns="site").to_parquet(
            folder / f"site={site}" / "part-0.parquet", row_group_size=300
        )
    return bundle, folder


def test_dask_and_local_engines_give_identical_results(setup, tmp_path):
    bundle, folder = setup
    local = score_file(
        bundle, folder, tmp_path / "local" / "s.parquet", scored_at=STAMP, batch_rows=128
    )
    dask = score_file(
        bundle,
        folder,
        tmp_path / "dask" / "s.parquet",
        scored_at=STAMP,
        batch_rows=128,
        engine="dask",
        n_workers=2,
        processes=True,
    )
    a = pd.read_parquet(tmp_path / "local" / "s.parquet")
    b = pd.read_parquet(tmp_path / "dask" / "s.parquet")
    pd.testing.assert_frame_equal(a, b, check_exact=True)
    assert (tmp_path / "local" / "s.parquet").read_bytes() == (
        tmp_path / "dask" / "s.parquet"
    ).read_bytes()
    assert (tmp_path / "local" / "s.quarantine.csv").read_bytes() == (
        tmp_path / "dask" / "s.quarantine.csv"
    ).read_bytes()
    assert (
        local["rows"]
        == dask["rows"]
        == {"read": 3000, "scored": 2997, "quarantined": 3, "problems": 3}
    )
    q = pd.read_csv(tmp_path / "dask" / "s.quarantine.csv")
    assert sorted(q["check"]) == ["category", "duplicate_id", "duplicate_id"]
    assert local["tasks"] == dask["tasks"]
    assert local["out_of_range"] == dask["out_of_range"]
    assert dask["engine"]["name"] == "dask" and dask["engine"]["workers"] == 2
    # drift totals agree (sums merged in another grouping may differ in the last bits)
    la = local["drift"]["tasks"]["mcid_odi_12m"]["age_years"]
    da = dask["drift"]["tasks"]["mcid_odi_12m"]["age_years"]
    assert la["psi"] == pytest.approx(da["psi"], rel=1e-9)
    assert la["std_diff"] == pytest.approx(da["std_diff"], rel=1e-9)
