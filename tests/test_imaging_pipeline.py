"""The imaging pipeline: one case from files, case discovery and matching, batches.

Phantoms written to NIfTI / DICOM have known sizes (see test_imaging_geometry.py for the
tolerances); one real SPIDER patient (van der Graaf et al., Sci Data 11, 264 (2024);
CC BY 4.0) with its expert mask checks the whole chain on real anatomy.
"""

from __future__ import annotations

import hashlib
import importlib.util
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("SimpleITK", reason="the imaging pipeline needs SimpleITK (imaging extra)")

from radiomics_features.io import write_dicom_series, write_volume
from radiomics_features.labels import ConventionError, UnknownLabelError
from radiomics_features.levels import DISC_LEVELS, VERTEBRA_LEVELS
from radiomics_features.phantoms import make_phantom
from radiomics_features.pipeline import (
    Case,
    extract_batch,
    extract_case,
    find_cases,
    patient_id_from_path,
)

SPIDER = Path(__file__).resolve().parents[2] / "shared" / "data" / "spider-t2-lumbar"
SPIDER_ID = 22  # 13 slices: the smallest volume
HAS_PYRADIOMICS = importlib.util.find_spec("radiomics") is not None
needs_pyradiomics = pytest.mark.skipif(not HAS_PYRADIOMICS, reason="pyradiomics is not installed")
SPECS = {
    "ph_001": {},
    "ph_002": {"disc_heights_mm": (6.0, 7.0, 8.0, 9.0, 10.0), "canal_ap_mm": 11.0},
}


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """Two phantom patients: mri/<id>_t2.nii.gz and masks/<id>_mask.nii.gz."""
    root = tmp_path_factory.mktemp("pipeline")
    (root / "mri").mkdir()
    (root / "masks").mkdir()
    phantoms = {}
    for pid, spec in SPECS.items():
        p = make_phantom(**spec)
        write_volume(p.image, root / "mri" / f"{pid}_t2.nii.gz")
        write_volume(p.mask, root / "masks" / f"{pid}_mask.nii.gz")
        phantoms[pid] = p
    return root, phantoms


# ------------------------------------------------------------------------- one case
def test_geometry_only_case_from_files(files):
    root, phantoms = files
    img, msk = root / "mri" / "ph_001_t2.nii.gz", root / "masks" / "ph_001_mask.nii.gz"
    res = extract_case(img, msk, radiomics=False)
    assert res.patient_id == "ph_001"
    assert list(res.long["level"]) == [
        x for pair in zip(VERTEBRA_LEVELS, DISC_LEVELS, strict=True) for x in pair
    ]
    assert (res.long["patient_id"] == "ph_001").all()
    assert not [c for c in res.long.columns if c.startswith("rad_")]
    truth = phantoms["ph_001"].truth.set_index("level")
    got = res.long.set_index("level")
    np.testing.assert_allclose(
        got.loc[list(DISC_LEVELS), "disc_height_mm"],
        truth.loc[list(DISC_LEVELS), "height_mm"],
        atol=1e-6,
    )
    assert res.wide.shape[0] == 1 and res.wide.loc[0, "img_l3_l4_disc_height_mm"] == pytest.approx(
        10.0
    )
    assert res.provenance["mask_source"] == "supplied mask"
    assert res.provenance["image_sha256"] == _sha(img)
    assert res.provenance["mask_sha256"] == _sha(msk)
    assert res.provenance["params_sha256"] is None and res.provenance["radiomics"] is False
    assert res.wide.loc[0, "prov_params_sha256"] is None
    assert set(res.timings) == {
        "read",
        "segment",
        "label",
        "geometry",
        "radiomics",
        "grade",
        "total",
    }
    assert res.timings["total"] == pytest.approx(
        sum(v for k, v in res.timings.items() if k != "total")
    )
    assert res.timings["segment"] == 0.0 and res.timings["radiomics"] == 0.0
    assert res.timings["grade"] == 0.0


@needs_pyradiomics
def test_radiomics_columns_in_long_and_wide(files):
    root, _phantoms = files
    res = extract_case(root / "mri" / "ph_002_t2.nii.gz", root / "masks" / "ph_002_mask.nii.gz")
    w = res.wide.iloc[0]
    # ph_002: L3/L4 disc 8 mm high, 34 mm deep; the canal 11 mm deep behind it
    assert w["img_l3_l4_rad_shape2d_pixel_surface"] == pytest.approx(8.0 * 34.0, rel=1e-9)
    assert w["img_l3_l4_rad_canal_shape2d_pixel_surface"] == pytest.approx(8.0 * 11.0, rel=1e-9)
    long = res.long.set_index("level")
    assert long.loc["l3_l4", "rad_glcm_contrast"] == w["img_l3_l4_rad_glcm_contrast"]
    assert long.loc["l3_l4", "rad_reason"] == "" and long.loc["l3_l4", "rad_canal_reason"] == ""
    assert long.loc["l3_l4", "rad_n_voxels"] == 8 * 34 / 0.25
    assert long.loc[list(VERTEBRA_LEVELS), "rad_glcm_contrast"].isna().all()
    assert w["prov_params_sha256"] == res.provenance["params_sha256"]
    assert w["prov_pyradiomics_version"] == "3.0.1"


@pytest.fixture(scope="module")
def spider_case():
    img = SPIDER / f"spider_{SPIDER_ID:03d}_t2.nii.gz"
    msk = SPIDER / f"spider_{SPIDER_ID:03d}_mask.nii.gz"
    if not img.exists():
        pytest.skip(
            f"SPIDER data not found at {SPIDER} (the repository root's sibling "
            "shared/data/spider-t2-lumbar)"
        )
    if not HAS_PYRADIOMICS:
        pytest.skip("pyradiomics is not installed")
    return img, msk, extract_case(img, msk)


def test_spider_case_has_all_disc_levels_with_finite_features(spider_case):
    img, msk, res = spider_case
    assert res.patient_id == f"spider_{SPIDER_ID:03d}"
    discs = res.long[res.long["kind"] == "disc"].set_index("level")
    assert list(discs.index) == list(DISC_LEVELS)
    rad = [
        c
        for c in discs.columns
        if c.startswith("rad_") and not c.endswith(("_reason", "_n_voxels"))
    ]
    assert len(rad) == 2 * 102  # disc + canal, 102 pyradiomics features each
    assert np.isfinite(discs[rad].to_numpy(dtype=float)).all()
    assert np.isfinite(discs["disc_height_mm"]).all()
    # provenance: the hashes are those of the files read
    assert res.provenance["image_sha256"] == _sha(img)
    assert res.provenance["mask_sha256"] == _sha(msk)
    for table in (res.long, res.wide):
        assert (table["prov_image_sha256"] == _sha(img)).all()
        assert (table["prov_mask_sha256"] == _sha(msk)).all()
        assert (table["prov_mask_source"] == "supplied mask").all()
    assert res.provenance["levelling"] == "lowest visible disc taken as L5/S1"
    assert "L5/S1" in res.provenance["levelling_assumption"]
    assert res.provenance["mid_slice"] == res.wide.loc[0, "prov_mid_slice"]


def test_spider_wide_table_columns_are_id_features_and_provenance(spider_case):
    _, _, res = spider_case
    cols = list(res.wide.columns)
    assert cols[0] == "patient_id" and len(cols) == len(set(cols))
    assert all(c.startswith(("img_", "prov_", "qc_", "cat_")) for c in cols[1:])
    img = [c for c in cols if c.startswith("img_")]
    assert res.wide[img].dtypes.map(lambda d: d.kind == "f").all()
    for lev in DISC_LEVELS:
        for f in ("disc_height_mm", "rad_glcm_contrast", "rad_canal_firstorder_mean"):
            assert f"img_{lev}_{f}" in cols
    assert all(t >= 0 for t in res.timings.values())


def test_mask_with_another_convention_needs_its_name(files, tmp_path):
    root, phantoms = files
    p = phantoms["ph_001"]
    three = p.mask.array
    spider = np.where(p.instances > 0, p.instances, 0).astype(np.uint8)  # 1–5, 201–205
    spider[(three == 1) & (p.instances == 0)] = 1  # posterior elements
    spider[three == 3] = 100  # canal
    mask = tmp_path / "ph_001_mask.nii.gz"
    from radiomics_features.io import volume_from_array

    write_volume(volume_from_array(spider, p.mask.spacing), mask)
    img = root / "mri" / "ph_001_t2.nii.gz"
    with pytest.raises(
        UnknownLabelError,
        match=r"convention 'three_class' does not define.*"
        r"is it a 'spider' mask\? Name the mask's label convention with convention= \(CLI: --convention\)",
    ):
        extract_case(img, mask, radiomics=False)
    # the three-class mask named as SPIDER's: its 1, 2, 3 would be three vertebrae
    with pytest.raises(ConventionError, match=r"as 'three_class' .* vertebra, disc and canal"):
        extract_case(img, root / "masks" / "ph_001_mask.nii.gz", convention="spider")
    as_spider = extract_case(img, mask, convention="spider", radiomics=False)
    as_three = extract_case(img, root / "masks" / "ph_001_mask.nii.gz", radiomics=False)
    drop = ["prov_mask_sha256"]
    pd.testing.assert_frame_equal(
        as_spider.long.drop(columns=drop), as_three.long.drop(columns=drop)
    )


# ------------------------------------------------------------------ ids and matching
@pytest.mark.parametrize(
    "name, pid",
    [
        ("spider_005_t2.nii.gz", "spider_005"),
        ("P12.nii", "P12"),
        ("case_T2W.mha", "case"),
        ("abc_image.nrrd", "abc"),
        ("t2.nii.gz", "t2"),
        ("x_t2.mhd", "x"),
    ],
)
def test_patient_id_from_file_name(name, pid):
    assert patient_id_from_path(name) == pid


def test_find_cases_matches_masks_by_id_and_reports_missing_ones(tmp_path):
    mri, masks = tmp_path / "mri", tmp_path / "masks"
    mri.mkdir()
    masks.mkdir()
    for name in (
        "a_t2.nii.gz",
        "b_t2.nii.gz",
        "c.mha",
        "d_t2.nii.gz",
        "a_mask.nii.gz",
        "notes.txt",
    ):
        (mri / name).write_bytes(b"x")
    for name in ("a_t2_seg.nii.gz", "b_t2.nii.gz", "d_mask.nii.gz", "d_label.nrrd"):
        (masks / name).write_bytes(b"x")
    cases = {c.patient_id: c for c in find_cases(mri, masks)}
    assert sorted(cases) == ["a", "b", "c", "d"]  # a_mask.nii.gz is not an image
    assert cases["a"].mask == masks / "a_t2_seg.nii.gz" and cases["a"].problem is None
    assert cases["b"].mask == masks / "b_t2.nii.gz"  # same name as the image
    assert cases["c"].mask is None
    assert cases["c"].problem.startswith(f"no mask for patient 'c' in {str(masks)!r}")
    assert cases["d"].problem == (
        "2 masks match patient 'd': d_label.nrrd, d_mask.nii.gz; expected exactly one"
    )
    no_masks = find_cases(mri)
    assert all(c.mask is None and c.problem is None for c in no_masks)
    # images and masks in one folder (SPIDER's layout): an image is not its own mask
    same = {c.patient_id: c for c in find_cases(mri, mri)}
    assert same["a"].mask == mri / "a_mask.nii.gz" and same["a"].problem is None
    assert same["b"].problem.startswith("no mask for patient 'b'")


def test_find_cases_dicom_series_folders_and_a_folder_without_one(tmp_path):
    p = make_phantom()
    write_dicom_series(p.image, tmp_path / "mri" / "pat_a")
    write_dicom_series(p.image, tmp_path / "mri" / "pat_b")
    (tmp_path / "mri" / "docs").mkdir()
    (tmp_path / "mri" / "docs" / "readme.txt").write_text("not a scan")
    cases = {c.patient_id: c for c in find_cases(tmp_path / "mri")}
    assert sorted(cases) == ["docs", "pat_a", "pat_b"]
    assert cases["pat_a"].image == tmp_path / "mri" / "pat_a" and cases["pat_a"].problem is None
    assert "holds no DICOM series" in cases["docs"].problem
    single = find_cases(tmp_path / "mri" / "pat_b")  # the series folder itself
    assert [(c.patient_id, c.problem) for c in single] == [("pat_b", None)]


def test_dicom_case_with_nifti_mask(tmp_path):
    p = make_phantom()
    write_dicom_series(p.image, tmp_path / "mri" / "pat_a")
    (tmp_path / "masks").mkdir()
    write_volume(p.mask, tmp_path / "masks" / "pat_a_mask.nii.gz")
    [case] = find_cases(tmp_path / "mri", tmp_path / "masks")
    res = extract_case(case.image, case.mask, radiomics=False)
    assert res.patient_id == "pat_a"
    heights = res.long.set_index("level").loc[list(DISC_LEVELS), "disc_height_mm"]
    np.testing.assert_allclose(heights, [8.0, 9.0, 10.0, 11.0, 12.0], atol=1e-6)
    assert len(res.provenance["image_sha256"]) == 64


def test_find_cases_missing_path_is_named(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"MRI path '.*nowhere' does not exist"):
        find_cases(tmp_path / "nowhere")


# -------------------------------------------------------------------------- batches
@pytest.fixture()
def mixed(files, tmp_path):
    """mri/ with one good phantom and one corrupt file, masks for both."""
    root, _ = files
    (tmp_path / "mri").mkdir()
    (tmp_path / "masks").mkdir()
    shutil.copy(root / "mri" / "ph_001_t2.nii.gz", tmp_path / "mri")
    shutil.copy(root / "masks" / "ph_001_mask.nii.gz", tmp_path / "masks")
    (tmp_path / "mri" / "bad_t2.nii.gz").write_bytes(b"this is not a NIfTI file")
    shutil.copy(root / "masks" / "ph_001_mask.nii.gz", tmp_path / "masks" / "bad_mask.nii.gz")
    return tmp_path


def test_batch_with_a_corrupt_file_keeps_going(mixed):
    calls = []
    res = extract_batch(
        find_cases(mixed / "mri", mixed / "masks"),
        radiomics=False,
        progress=lambda done, total: calls.append((done, total)),
    )
    assert (res.n_cases, res.n_ok, res.n_failed) == (2, 1, 1)
    assert list(res.wide["patient_id"]) == ["ph_001"]
    assert set(res.long["patient_id"]) == {"ph_001"} and len(res.long) == 10
    err = res.errors.iloc[0]
    assert list(res.errors.columns) == ["patient_id", "image", "stage", "error_type", "message"]
    assert (err["patient_id"], err["stage"], err["error_type"]) == ("bad", "read", "ImageReadError")
    assert "bad_t2.nii.gz" in err["message"] and err["image"] == str(
        mixed / "mri" / "bad_t2.nii.gz"
    )
    assert calls == [(1, 2), (2, 2)]


def test_batch_reports_a_missing_mask_at_the_match_stage(mixed):
    (mixed / "masks" / "bad_mask.nii.gz").unlink()
    res = extract_batch(find_cases(mixed / "mri", mixed / "masks"), radiomics=False)
    assert (res.n_ok, res.n_failed) == (1, 1)
    err = res.errors.iloc[0]
    assert (err["patient_id"], err["stage"], err["error_type"]) == (
        "bad",
        "match",
        "CaseMatchError",
    )
    assert err["message"].startswith("no mask for patient 'bad'")


@needs_pyradiomics
def test_two_workers_give_the_same_tables_as_one(files):
    root, _ = files
    cases = find_cases(root / "mri", root / "masks")
    one = extract_batch(cases, workers=1)
    two = extract_batch(cases, workers=2)
    assert (two.n_ok, two.n_failed) == (2, 0)
    pd.testing.assert_frame_equal(one.wide, two.wide)
    pd.testing.assert_frame_equal(one.long, two.long)
    assert list(two.wide["patient_id"]) == ["ph_001", "ph_002"]


@pytest.mark.parametrize("workers", [0, 1.5, True])
def test_bad_worker_count_is_named(workers):
    with pytest.raises(ValueError, match=r"workers must be an int ≥ 1"):
        extract_batch([], workers=workers, radiomics=False)


def test_cases_must_be_cases_or_paths():
    with pytest.raises(TypeError, match=r"cases must be Case objects or image paths; got int"):
        extract_batch([3], radiomics=False)


def test_paths_are_accepted_as_cases(files):
    root, _ = files
    res = extract_batch(
        [root / "mri" / "ph_001_t2.nii.gz", Case("x", root / "mri" / "missing.nii.gz")],
        radiomics=False,
        workers=1,
    )
    # no mask given: the first is segmented by the backbone; the second cannot be read
    from radiomics_features.backbone.inference import DEFAULT_ONNX_PATH, sha256_of_file

    assert (res.n_cases, res.n_ok, res.n_failed) == (2, 1, 1)
    assert res.errors.set_index("patient_id").loc["x", "error_type"] == "ImageReadError"
    w = res.wide.iloc[0]
    assert (w["patient_id"], w["prov_mask_source"]) == ("ph_001", "backbone")
    assert w["prov_backbone_sha256"] == sha256_of_file(DEFAULT_ONNX_PATH)
    assert pd.isna(w["prov_mask_sha256"])
