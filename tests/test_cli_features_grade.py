"""``prom features --grade``: the disc grader's columns in the wide table."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

pytest.importorskip("SimpleITK", reason="prom features needs SimpleITK (imaging extra)")
pytest.importorskip("onnxruntime", reason="the grader runs with onnxruntime (imaging extra)")

from prom.cli import app
from radiomics_features.grader.columns import grade_columns
from radiomics_features.io import write_volume
from radiomics_features.phantoms import make_phantom

runner = CliRunner()
VOLUMES = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "spider-t2-lumbar"


def test_grade_adds_a_grade_and_probability_column_per_level(tmp_path):
    p = make_phantom()
    write_volume(p.image, tmp_path / "ph_001_t2.nii.gz")
    write_volume(p.mask, tmp_path / "ph_001_mask.nii.gz")
    out = tmp_path / "wide.csv"
    res = runner.invoke(
        app,
        [
            "features",
            "--mri",
            str(tmp_path / "ph_001_t2.nii.gz"),
            "--masks",
            str(tmp_path / "ph_001_mask.nii.gz"),
            "--no-radiomics",
            "--grade",
            "--out",
            str(out),
        ],
    )
    assert res.exit_code == 0, res.output
    wide = pd.read_csv(out)
    assert set(grade_columns()) <= set(wide.columns)
    assert "img_l4_l5_disc_height_mm" in wide  # the usual features are still there
    grades = wide[[c for c in grade_columns() if c.endswith("_grade")]].to_numpy(dtype=float)
    probs = wide[[c for c in grade_columns() if c.endswith("_prob")]].to_numpy(dtype=float)
    ok = ~np.isnan(grades)
    assert np.isin(grades[ok], [1, 2, 3, 4, 5]).all()
    assert ((probs[ok] > 0.2) & (probs[ok] <= 1)).all()  # the top of 5 classes is >= 0.2


def test_without_grade_there_are_no_grade_columns(tmp_path):
    p = make_phantom()
    write_volume(p.image, tmp_path / "ph_001_t2.nii.gz")
    out = tmp_path / "wide.csv"
    write_volume(p.mask, tmp_path / "ph_001_mask.nii.gz")
    res = runner.invoke(
        app,
        [
            "features",
            "--mri",
            str(tmp_path / "ph_001_t2.nii.gz"),
            "--masks",
            str(tmp_path / "ph_001_mask.nii.gz"),
            "--no-radiomics",
            "--out",
            str(out),
        ],
    )
    assert res.exit_code == 0, res.output
    assert not set(grade_columns()) & set(pd.read_csv(out).columns)


@pytest.mark.slow
@pytest.mark.skipif(
    not (VOLUMES / "spider_005_t2.nii.gz").is_file(), reason="SPIDER volumes not present"
)
def test_grade_a_real_volume_grades_all_five_lumbar_discs(tmp_path):
    out = tmp_path / "wide.csv"
    res = runner.invoke(
        app,
        [
            "features",
            "--mri",
            str(VOLUMES / "spider_005_t2.nii.gz"),
            "--no-radiomics",
            "--grade",
            "--out",
            str(out),
        ],
    )
    assert res.exit_code == 0, res.output
    wide = pd.read_csv(out)
    grades = wide[[c for c in grade_columns() if c.endswith("_grade")]]
    assert grades.notna().all(axis=None)
