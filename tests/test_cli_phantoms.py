"""``prom phantoms``: synthetic scans and masks that ``prom features`` reads, with their truth."""

from __future__ import annotations

import pandas as pd
import pytest
from typer.testing import CliRunner

pytest.importorskip("SimpleITK", reason="prom phantoms needs SimpleITK (imaging extra)")

from prom.cli import app

runner = CliRunner()


def test_phantoms_are_read_back_with_their_true_geometry(tmp_path):
    """Two phantoms through ``prom features --masks`` (geometry only): the disc heights
    measured equal the heights the phantoms were drawn with (the truth table), within
    one voxel (0.5 mm)."""
    scans, masks = tmp_path / "scans", tmp_path / "masks"
    res = runner.invoke(
        app, ["phantoms", "--n", "2", "--seed", "4", "--out", str(scans), "--masks-out", str(masks)]
    )
    assert res.exit_code == 0, res.output
    assert sorted(p.name for p in scans.glob("*.nii.gz")) == [
        "phantom_001_t2.nii.gz",
        "phantom_002_t2.nii.gz",
    ]
    assert len(list(masks.glob("*_mask.nii.gz"))) == 2
    truth = pd.read_csv(scans / "phantoms_truth.csv")
    out = tmp_path / "features.csv"
    res = runner.invoke(
        app,
        [
            "features",
            "--mri",
            str(scans),
            "--masks",
            str(masks),
            "--no-radiomics",
            "--out",
            str(out),
        ],
    )
    assert res.exit_code == 0, res.output
    wide = pd.read_csv(out).set_index("patient_id")
    discs = truth[truth["kind"] == "disc"]
    assert discs["height_mm"].nunique() > 2  # drawn, not the defaults
    for r in discs.itertuples():
        measured = wide.loc[r.patient_id, f"img_{r.level}_disc_height_mm"]
        assert measured == pytest.approx(r.height_mm, abs=0.5)


def test_phantoms_out_must_be_a_folder(tmp_path):
    (tmp_path / "file").write_text("x")
    res = runner.invoke(app, ["phantoms", "--out", str(tmp_path / "file")])
    assert res.exit_code == 2
    assert "is not a folder" in res.output
