"""``prom features``: phantom MRI files in, feature tables and an error log out."""

from __future__ import annotations

import importlib.util
import re
import shutil

import pandas as pd
import pytest
from typer.testing import CliRunner

pytest.importorskip("SimpleITK", reason="prom features needs SimpleITK (imaging extra)")

from prom.cli import app
from radiomics_features.io import write_volume
from radiomics_features.phantoms import make_phantom

runner = CliRunner()
needs_pyradiomics = pytest.mark.skipif(
    importlib.util.find_spec("radiomics") is None, reason="pyradiomics is not installed"
)


@pytest.fixture(scope="module")
def phantom_files(tmp_path_factory):
    root = tmp_path_factory.mktemp("cli_features")
    p = make_phantom()
    write_volume(p.image, root / "ph_001_t2.nii.gz")
    write_volume(p.mask, root / "ph_001_mask.nii.gz")
    return root


@pytest.fixture()
def mixed(phantom_files, tmp_path):
    """mri/: a good phantom and a corrupt file; masks/: a mask for each."""
    (tmp_path / "mri").mkdir()
    (tmp_path / "masks").mkdir()
    shutil.copy(phantom_files / "ph_001_t2.nii.gz", tmp_path / "mri")
    shutil.copy(phantom_files / "ph_001_mask.nii.gz", tmp_path / "masks")
    (tmp_path / "mri" / "bad_t2.nii.gz").write_bytes(b"corrupt")
    shutil.copy(phantom_files / "ph_001_mask.nii.gz", tmp_path / "masks" / "bad_mask.nii.gz")
    return tmp_path


def test_help_has_a_copyable_example():
    res = runner.invoke(app, ["features", "--help"])
    assert res.exit_code == 0
    assert "prom features --mri scans/ --out features.parquet" in res.output
    assert "--no-radiomics" in res.output


def test_one_good_one_corrupt_case_writes_outputs_and_error_log(mixed):
    out, long_out = mixed / "out" / "wide.csv", mixed / "out" / "long.parquet"
    res = runner.invoke(
        app,
        [
            "features",
            "--mri",
            str(mixed / "mri"),
            "--masks",
            str(mixed / "masks"),
            "--no-radiomics",
            "--out",
            str(out),
            "--long-out",
            str(long_out),
        ],
    )
    assert res.exit_code == 0, res.output
    assert "2 case(s) read: 1 ok, 1 failed" in res.output
    wide = pd.read_csv(out)
    assert list(wide["patient_id"]) == ["ph_001"]
    assert wide.loc[0, "img_l3_l4_disc_height_mm"] == pytest.approx(10.0)
    assert wide.loc[0, "prov_mask_source"] == "supplied mask"
    long = pd.read_parquet(long_out)
    assert len(long) == 10 and set(long["patient_id"]) == {"ph_001"}
    errors = pd.read_csv(mixed / "out" / "wide_errors.csv")  # the default error log
    assert list(errors["patient_id"]) == ["bad"]
    assert list(errors["stage"]) == ["read"] and list(errors["error_type"]) == ["ImageReadError"]
    assert str(mixed / "out" / "wide_errors.csv") in res.output


def test_every_case_failing_exits_1_and_writes_only_the_error_log(mixed):
    (mixed / "mri" / "ph_001_t2.nii.gz").unlink()
    out, errors = mixed / "wide.csv", mixed / "errs.csv"
    res = runner.invoke(
        app,
        [
            "features",
            "--mri",
            str(mixed / "mri"),
            "--masks",
            str(mixed / "masks"),
            "--no-radiomics",
            "--out",
            str(out),
            "--errors",
            str(errors),
        ],
    )
    assert res.exit_code == 1
    assert "1 case(s) read: 0 ok, 1 failed" in res.output
    assert not out.exists()
    assert list(pd.read_csv(errors)["patient_id"]) == ["bad"]


@needs_pyradiomics
def test_single_file_with_radiomics(phantom_files, tmp_path):
    out = tmp_path / "wide.parquet"
    res = runner.invoke(
        app,
        [
            "features",
            "--mri",
            str(phantom_files / "ph_001_t2.nii.gz"),
            "--masks",
            str(phantom_files / "ph_001_mask.nii.gz"),
            "--out",
            str(out),
        ],
    )
    assert res.exit_code == 0, res.output
    assert "1 case(s) read: 1 ok, 0 failed" in res.output
    wide = pd.read_parquet(out)
    assert wide.loc[0, "img_l3_l4_rad_shape2d_pixel_surface"] == pytest.approx(340.0)
    assert len(wide.loc[0, "prov_params_sha256"]) == 64
    assert not (tmp_path / "wide_errors.csv").exists()


@pytest.mark.parametrize(
    "extra, match",
    [
        (
            ["--convention", "nifti"],
            (
                r"--convention 'nifti' is not a known label convention; "
                r"choose from three_class, spider"
            ),
        ),
        (["--no-radiomics", "--params", "p.yaml"], r"--params applies to radiomics"),
    ],
)
def test_bad_options_exit_2_with_a_message(phantom_files, tmp_path, extra, match):
    res = runner.invoke(
        app, ["features", "--mri", str(phantom_files), "--out", str(tmp_path / "w.csv"), *extra]
    )
    assert res.exit_code == 2
    assert re.search(match, " ".join(res.output.split())), res.output


@needs_pyradiomics
def test_bad_params_file_is_named(phantom_files, tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("setting: {binWidth: 4, binCount: 8}\nfeatureClass: {glcm: }\n")
    res = runner.invoke(
        app,
        [
            "features",
            "--mri",
            str(phantom_files),
            "--out",
            str(tmp_path / "w.csv"),
            "--params",
            str(bad),
        ],
    )
    assert res.exit_code == 2
    assert "unknown setting 'binCount'" in " ".join(res.output.split())


def test_no_images_found_exits_2(tmp_path):
    (tmp_path / "empty").mkdir()
    res = runner.invoke(
        app,
        [
            "features",
            "--mri",
            str(tmp_path / "empty"),
            "--no-radiomics",
            "--out",
            str(tmp_path / "w.csv"),
        ],
    )
    assert res.exit_code == 2
    assert "no images found" in res.output
