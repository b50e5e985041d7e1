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


def _phantom_features(tmp_path, *options):
    """``prom features`` on a phantom volume with its masks, writing ``wide.csv``."""
    p = make_phantom()
    write_volume(p.image, tmp_path / "ph_001_t2.nii.gz")
    write_volume(p.mask, tmp_path / "ph_001_mask.nii.gz")
    args = ["features", "--mri", str(tmp_path / "ph_001_t2.nii.gz")]
    args += ["--masks", str(tmp_path / "ph_001_mask.nii.gz"), "--no-radiomics", *options]
    return runner.invoke(app, [*args, "--out", str(tmp_path / "wide.csv")])


@pytest.mark.skipif(
    not (VOLUMES / "spider_005_t2.nii.gz").is_file(), reason="SPIDER volumes not present"
)
def test_grade_adds_a_grade_and_probability_column_per_level(tmp_path):
    """A real volume with its expert mask: every lumbar disc graded, beside its measures."""
    out = tmp_path / "wide.csv"
    args = ["features", "--mri", str(VOLUMES / "spider_005_t2.nii.gz")]
    args += ["--masks", str(VOLUMES / "spider_005_mask.nii.gz"), "--no-radiomics", "--grade"]
    res = runner.invoke(app, [*args, "--out", str(out)])
    assert res.exit_code == 0, res.output
    wide = pd.read_csv(out)
    assert set(grade_columns()) <= set(wide.columns)
    assert "img_l4_l5_disc_height_mm" in wide  # the usual features are still there
    grades = wide[[c for c in grade_columns() if c.endswith("_grade")]].to_numpy(dtype=float)
    probs = wide[[c for c in grade_columns() if c.endswith("_prob")]].to_numpy(dtype=float)
    assert np.isin(grades, [1, 2, 3, 4, 5]).all()  # all five lumbar discs
    # the grade is the rule's (expected grade cut at thresholds), not always the most
    # probable one, so its probability is only known to be a probability
    assert ((probs > 0) & (probs <= 1)).all()
    assert "disc grades: disc_grader v" in res.output  # the grader and its rule, said once
    assert "each disc graded under its level's name" in res.output
    assert res.output.count("disc grades: disc_grader") == 1
    assert "disc grades: 5 of 5 named lumbar disc(s) graded\n" in res.output
    assert " grade 0." in res.output  # the case line counts the grading's time


def test_grader_discs_that_lie_on_no_named_level_are_said_and_not_graded(tmp_path):
    """On the synthetic phantom the grader (trained on real scans) finds two 'discs' that
    are not the phantom's discs: they are left out, and the case note says so."""
    res = _phantom_features(tmp_path, "--grade")
    assert res.exit_code == 0, res.output
    wide = pd.read_csv(tmp_path / "wide.csv")
    assert wide[grade_columns()].isna().all(axis=None)
    assert "lie on no named level and were not graded" in " ".join(res.output.split())
    assert "disc grades: 0 of 5 named lumbar disc(s) graded (the case notes say why not)" in (
        " ".join(res.output.split())
    )


def test_a_grader_that_cannot_be_loaded_stops_with_the_reason(tmp_path, monkeypatch):
    import radiomics_features.grader.inference as inference

    def refuse(*args, **kwargs):
        raise inference.GraderIntegrityError("grader.onnx sha256 does not match grader.json")

    monkeypatch.setattr(inference, "load_grader", refuse)
    res = _phantom_features(tmp_path, "--grade")
    assert res.exit_code == 2
    assert "the disc grader cannot be loaded" in res.output
    assert "sha256 does not match" in res.output
    assert res.exception is None or isinstance(res.exception, SystemExit)


def test_without_grade_there_are_no_grade_columns(tmp_path):
    res = _phantom_features(tmp_path)
    out = tmp_path / "wide.csv"
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
