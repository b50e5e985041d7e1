"""Radiomics parameters (schema, hash) and pyradiomics extraction on phantoms of known size.

Reference values. The untilted phantoms' edges fall on voxel boundaries, so a disc's
mid-sagittal region is exactly ``height × AP depth`` (pixel area, ``rtol=1e-9``), and
pyradiomics' marching-squares perimeter of such a rectangle is exactly
``2 (h + d) − 4 s (1 − 1/√2)`` at pixel size ``s`` (each corner is cut by a diagonal
between edge midpoints). A constant-intensity ROI has first-order mean equal to that
constant, or, with normalisation, ``100 (c − μ) / σ`` with μ, σ (ddof = 1, as
SimpleITK's Normalize) over the whole slice handed to pyradiomics.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import logging
import re
import sys

import numpy as np
import pytest

from radiomics_features.levelling import label_levels
from radiomics_features.levels import DISC_LEVELS
from radiomics_features.phantoms import make_phantom
from radiomics_features.radiomic import (
    DEFAULT_PARAMS_PATH,
    RadiomicsParamsError,
    feature_columns,
    load_params,
    params_hash,
    radiomic_features,
    radiomics_provenance,
    validate_params,
)

needs_pyradiomics = pytest.mark.skipif(
    importlib.util.find_spec("radiomics") is None,
    reason="pyradiomics is not installed (make venv installs it with --no-build-isolation)",
)
PIXEL = 0.5


def _yaml(tmp_path, text: str):
    p = tmp_path / "params.yaml"
    p.write_text(text, encoding="utf-8")
    return p


def _params(**setting) -> dict:
    p = load_params()
    return {**p, "setting": {**p["setting"], **setting}}


# --------------------------------------------------------------------------- schema
def test_bundled_params_are_sagittal_2d_with_fixed_bin_width():
    p = load_params()
    s = p["setting"]
    assert s["force2D"] is True and s["force2Ddimension"] == 0
    assert s["binWidth"] > 0 and "binCount" not in s
    assert s["normalize"] is True and s["normalizeScale"] == 100.0
    assert s.get("resampledPixelSpacing") is None
    assert set(p["featureClass"]) == {
        "firstorder",
        "shape2D",
        "glcm",
        "glrlm",
        "glszm",
        "gldm",
        "ngtdm",
    }
    assert p["imageType"] == {"Original": {}}


def test_params_hash_is_sha256_of_canonical_json_and_tracks_changes():
    p = load_params()
    canonical = json.dumps(p, sort_keys=True, separators=(",", ":"))
    assert params_hash(p) == hashlib.sha256(canonical.encode()).hexdigest()
    assert params_hash(load_params(DEFAULT_PARAMS_PATH)) == params_hash(p)
    assert validate_params(p) == p  # canonical form is a fixed point
    # an int written where a float is expected is the same setting, the same hash
    assert params_hash(validate_params(_params(binWidth=4))) == params_hash(
        validate_params(_params(binWidth=4.0))
    )
    assert params_hash(validate_params(_params(binWidth=5))) != params_hash(p)


@pytest.mark.parametrize(
    "text, match",
    [
        (
            "settings: {binWidth: 4}\nfeatureClass: {glcm: }",
            r"unknown top-level key 'settings'; allowed: setting, imageType, featureClass",
        ),
        (
            (
                "setting: {force2D: true, force2Ddimension: 0, binWidth: 4, label: 1, binCount: 32}\n"
                "featureClass: {glcm: }"
            ),
            r"unknown setting 'binCount' \(use binWidth.*\); allowed: force2D, force2Ddimension, binWidth",
        ),
        (
            "setting: {force2D: true, force2Ddimension: 2, binWidth: 4, label: 1}\nfeatureClass: {glcm: }",
            r"setting 'force2Ddimension' is 2; expected one of 0 \(.*sagittal slices on numpy axis 0",
        ),
        (
            "setting: {force2D: false, force2Ddimension: 0, binWidth: 4, label: 1}\nfeatureClass: {glcm: }",
            r"setting 'force2D' is False; expected one of True",
        ),
        (
            "setting: {force2D: true, force2Ddimension: 0, binWidth: -1, label: 1}\nfeatureClass: {glcm: }",
            r"setting 'binWidth' is -1.0; expected a number > 0",
        ),
        (
            (
                "setting: {force2D: true, force2Ddimension: 0, binWidth: 4, label: 1, normalize: 'yes'}\n"
                "featureClass: {glcm: }"
            ),
            r"setting 'normalize' is 'yes'; expected true or false",
        ),
        (
            "setting: {force2D: true, force2Ddimension: 0, binWidth: 4, label: 0}\nfeatureClass: {glcm: }",
            r"setting 'label' is 0; expected an integer ≥ 1, ≤ 255",
        ),
        (
            (
                "setting: {force2D: true, force2Ddimension: 0, binWidth: 4, label: 1,\n"
                "  resampledPixelSpacing: [0.5, 0.5, 1], interpolator: sitkLinear}\nfeatureClass: {glcm: }"
            ),
            r"resampledPixelSpacing' is \[0.5, 0.5, 1.0\]; expected \[x, y, 0\] \(resampling is in-plane only",
        ),
        (
            "setting: {force2D: true, force2Ddimension: 0, binWidth: 4}\nfeatureClass: {glcm: }",
            r"required setting 'label' is missing",
        ),
        (
            "setting: {force2D: true, force2Ddimension: 0, binWidth: 4, label: 1}\nfeatureClass: {shape: }",
            r"unknown featureClass 'shape' \(3D shape is not defined on a sagittal slice; use shape2D\)",
        ),
        (
            (
                "setting: {force2D: true, force2Ddimension: 0, binWidth: 4, label: 1}\n"
                "imageType: {LoG: {sigma: [1.0]}}\nfeatureClass: {glcm: }"
            ),
            r"unknown imageType 'LoG'; allowed: Original",
        ),
        (
            "- just\n- a list",
            r"expected a mapping with keys setting, imageType, featureClass; got list",
        ),
        ("setting: !!python/object/apply:os.getcwd []\nfeatureClass: {glcm: }", r"not valid YAML"),
    ],
)
def test_schema_rejects_unknown_keys_and_bad_values_naming_them(tmp_path, text, match):
    with pytest.raises(RadiomicsParamsError, match=match) as info:
        load_params(_yaml(tmp_path, text))
    assert str(tmp_path / "params.yaml") in str(info.value)


def test_missing_params_file_is_named(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"nowhere\.yaml' not found"):
        load_params(tmp_path / "nowhere.yaml")


@needs_pyradiomics
def test_unknown_feature_name_is_named_with_the_allowed_ones():
    bad = {**load_params(), "featureClass": {"glcm": ["Contrast", "Contrastt"]}}
    with pytest.raises(
        RadiomicsParamsError,
        match=r"featureClass 'glcm' has unknown feature\(s\) "
        r"'Contrastt'; allowed: .*Contrast",
    ):
        validate_params(bad)


def test_missing_pyradiomics_gives_the_two_install_commands(monkeypatch):
    monkeypatch.setitem(sys.modules, "radiomics", None)
    monkeypatch.setitem(sys.modules, "radiomics.featureextractor", None)
    p = make_phantom()
    lv = label_levels(p.mask.array, p.mask.spacing)
    with pytest.raises(
        ImportError,
        match=r"pip install setuptools wheel numpy && pip install "
        r"--no-build-isolation pyradiomics==3\.0\.1",
    ):
        radiomic_features(p.image, lv, mask=p.mask)


# ----------------------------------------------------------------------- extraction
@pytest.fixture(scope="module")
def straight():
    """Untilted phantom, a different constant signal per disc, and its features."""
    if importlib.util.find_spec("radiomics") is None:
        pytest.skip("pyradiomics is not installed")
    p = make_phantom(disc_signal=(150.0, 160.0, 170.0, 180.0, 190.0), body_width_mm=40.0)
    lv = label_levels(p.mask.array, p.mask.spacing)
    rad = radiomic_features(p.image, lv, mask=p.mask)
    return p, lv, rad


def _rows(rad, roi):
    return rad[rad["roi"] == roi].set_index("level")


@needs_pyradiomics
def test_table_layout_and_column_names(straight):
    _, _, rad = straight
    cols = feature_columns()
    assert list(rad.columns) == ["level", "roi", "slice", "n_voxels", "reason", *cols]
    assert len(cols) == len(set(cols))
    assert all(
        re.fullmatch(r"rad_(firstorder|shape2d|glcm|glrlm|glszm|gldm|ngtdm)_[a-z0-9_]+", c)
        for c in cols
    )
    for c in (
        "rad_glcm_contrast",
        "rad_shape2d_pixel_surface",
        "rad_shape2d_perimeter",
        "rad_firstorder_10_percentile",
        "rad_glrlm_run_entropy",
        "rad_ngtdm_busyness",
    ):
        assert c in cols
    assert not any("diagnostics" in c for c in rad.columns)
    assert list(rad["level"]) == [lv for lv in DISC_LEVELS for _ in range(2)]
    assert list(rad["roi"]) == ["disc", "canal"] * 5
    assert (rad["reason"] == "").all()
    assert np.isfinite(rad[cols].to_numpy()).all()
    assert rad.attrs["params_sha256"] == params_hash(load_params())


@needs_pyradiomics
def test_shape2d_of_rectangular_discs_and_canal_segments_is_exact(straight):
    p, _, rad = straight
    truth = p.truth.set_index("level")
    disc, canal = _rows(rad, "disc"), _rows(rad, "canal")
    corner_loss = 4 * PIXEL * (1 - 1 / np.sqrt(2))
    for i, lev in enumerate(DISC_LEVELS):
        h, d = truth.loc[lev, "height_mm"], truth.loc[lev, "ap_depth_mm"]
        np.testing.assert_allclose(disc.loc[lev, "rad_shape2d_pixel_surface"], h * d, rtol=1e-9)
        np.testing.assert_allclose(
            disc.loc[lev, "rad_shape2d_perimeter"], 2 * (h + d) - corner_loss, rtol=1e-9
        )
        assert disc.loc[lev, "n_voxels"] == round(h * d / PIXEL**2)
        # the canal segment: the disc's height band of a canal p.spec.canal_ap_mm[i] deep
        np.testing.assert_allclose(
            canal.loc[lev, "rad_shape2d_pixel_surface"], h * p.spec.canal_ap_mm[i], rtol=1e-9
        )


@needs_pyradiomics
def test_shape2d_is_measured_in_the_sagittal_plane(straight):
    """The disc box is 40 mm left-right: its axial (40 × d) and coronal (40 × h) sections
    differ from the sagittal one (h × d); pyradiomics must report the sagittal one. Handing
    the array over in another axis order, or another force2Ddimension, breaks this."""
    p, _, rad = straight
    truth = p.truth.set_index("level")
    disc = _rows(rad, "disc")
    for lev in DISC_LEVELS:
        h, d = truth.loc[lev, "height_mm"], truth.loc[lev, "ap_depth_mm"]
        area = disc.loc[lev, "rad_shape2d_pixel_surface"]
        assert area == pytest.approx(h * d, rel=1e-9)
        assert area != pytest.approx(40.0 * d, rel=0.05)  # axial section
        assert area != pytest.approx(40.0 * h, rel=0.05)  # coronal section
        # the longest axis of the section is the AP depth (34 mm), not the 40 mm width
        assert disc.loc[lev, "rad_shape2d_maximum_diameter"] < np.hypot(h, d) + PIXEL


@needs_pyradiomics
def test_constant_roi_first_order_mean_equals_its_intensity(straight):
    p, lv, rad = straight
    raw = radiomic_features(p.image, lv, mask=p.mask, params=_params(normalize=False))
    disc, canal = _rows(raw, "disc"), _rows(raw, "canal")
    for lev, signal in zip(DISC_LEVELS, p.spec.disc_signal, strict=True):
        assert disc.loc[lev, "rad_firstorder_mean"] == pytest.approx(signal, rel=1e-12)
        assert disc.loc[lev, "rad_firstorder_variance"] == pytest.approx(0.0, abs=1e-9)
        assert canal.loc[lev, "rad_firstorder_mean"] == pytest.approx(p.spec.csf_signal, rel=1e-12)
    # normalised (the bundled parameters): z-score over the whole slice, times 100
    k = int(rad["slice"].iloc[0])
    plane = p.image.array[k].astype(float)
    mu, sd = plane.mean(), plane.std(ddof=1)
    norm = _rows(rad, "disc")
    for lev, signal in zip(DISC_LEVELS, p.spec.disc_signal, strict=True):
        assert norm.loc[lev, "rad_firstorder_mean"] == pytest.approx(
            100 * (signal - mu) / sd, rel=1e-9
        )


@needs_pyradiomics
def test_missing_level_gives_nan_and_a_reason():
    p = make_phantom(missing=("l3_l4",))
    lv = label_levels(p.mask.array, p.mask.spacing)
    rad = radiomic_features(p.image, lv, mask=p.mask).set_index(["level", "roi"])
    feats = feature_columns()
    for roi in ("disc", "canal"):
        row = rad.loc[("l3_l4", roi)]
        assert row[feats].isna().all() and row["n_voxels"] == 0
        assert row["reason"].startswith("disc not found")
    ok = rad.drop(index="l3_l4", level="level")
    assert np.isfinite(ok[feats].to_numpy()).all() and (ok["reason"] == "").all()


@needs_pyradiomics
def test_too_small_roi_and_missing_mask_give_reasons_not_errors(capfd, caplog):
    p = make_phantom()
    lv = label_levels(p.mask.array, p.mask.spacing)
    caplog.set_level(logging.DEBUG)
    rad = radiomic_features(p.image, lv, params=_params(minimumROISize=100_000))
    feats = feature_columns()
    assert rad[feats].isna().all().all()
    disc, canal = _rows(rad, "disc"), _rows(rad, "canal")
    assert (
        disc["reason"]
        .str.fullmatch(
            r"disc ROI has \d+ voxel\(s\), fewer than "
            r"minimumROISize 100000"
        )
        .all()
    )
    assert canal["reason"].str.startswith("no three-class mask given (mask=)").all()
    # pyradiomics' own per-ROI log lines are silenced; nothing reaches stderr
    assert not [r for r in caplog.records if r.name.startswith("radiomics")]
    assert capfd.readouterr().err == ""


@needs_pyradiomics
def test_one_row_roi_is_refused_by_pyradiomics_as_a_reason():
    from dataclasses import replace

    p = make_phantom()
    lv = label_levels(p.mask.array, p.mask.spacing)
    inst = lv.instances.copy()
    disc = inst == 203  # l3_l4: keep only its top image row
    rows = np.flatnonzero(disc.any(axis=(0, 2)))
    inst[disc] = 0
    disc[:, rows[1:], :] = False
    inst[disc] = 203
    rad = radiomic_features(p.image, replace(lv, instances=inst), mask=p.mask)
    row = _rows(rad, "disc").loc["l3_l4"]
    assert row["reason"].startswith(
        "pyradiomics could not use the disc ROI: mask has too few dimensions"
    )
    assert row[feature_columns()].isna().all()


@needs_pyradiomics
def test_halfwidth_pools_texture_over_slices_and_keeps_shape_on_one(straight):
    p, lv, rad = straight
    slab = radiomic_features(p.image, lv, mask=p.mask, halfwidth_slices=2)
    one, five = _rows(rad, "disc"), _rows(slab, "disc")
    assert (five["n_voxels"] == 5 * one["n_voxels"]).all()
    np.testing.assert_allclose(five["rad_shape2d_pixel_surface"], one["rad_shape2d_pixel_surface"])
    # the phantom's five central slices are identical: the same intensities, five times the
    # voxels (TotalEnergy scales with the voxel count, the mean does not). The normalising
    # σ (ddof = 1) over n vs 5n pixels (n ≈ 9e4) differs by ~1e-6 relative: rtol 1e-5.
    np.testing.assert_allclose(
        five["rad_firstorder_total_energy"], 5 * one["rad_firstorder_total_energy"], rtol=1e-5
    )
    np.testing.assert_allclose(five["rad_firstorder_mean"], one["rad_firstorder_mean"], rtol=1e-5)


@needs_pyradiomics
def test_tilted_disc_area_within_one_percent():
    p = make_phantom(tilt_deg=20.0)
    lv = label_levels(p.mask.array, p.mask.spacing)
    rad = _rows(radiomic_features(p.image, lv, mask=p.mask), "disc")
    truth = p.truth.set_index("level")
    for lev in DISC_LEVELS:
        assert rad.loc[lev, "rad_shape2d_pixel_surface"] == pytest.approx(
            truth.loc[lev, "area_mm2"], rel=0.01
        )


@needs_pyradiomics
@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"mid_slice": 999}, r"mid_slice 999 is outside 0–\d+"),
        ({"halfwidth_slices": -1}, r"halfwidth_slices must be an int ≥ 0 or None; got -1"),
    ],
)
def test_bad_arguments_are_named(kwargs, match):
    p = make_phantom()
    lv = label_levels(p.mask.array, p.mask.spacing)
    with pytest.raises(ValueError, match=match):
        radiomic_features(p.image, lv, mask=p.mask, **kwargs)


@needs_pyradiomics
def test_image_on_another_grid_is_refused():
    p = make_phantom()
    lv = label_levels(p.mask.array, p.mask.spacing)
    with pytest.raises(
        ValueError,
        match=r"image shape \(3, 4, 5\) differs from the levelled "
        r"mask's",
    ):
        radiomic_features(np.zeros((3, 4, 5)), lv)


@needs_pyradiomics
def test_provenance_names_versions_and_params_hash():
    from importlib import metadata

    prov = radiomics_provenance()
    assert prov["pyradiomics_version"] == metadata.version("pyradiomics") == "3.0.1"
    assert prov["simpleitk_version"] == metadata.version("SimpleITK")
    assert prov["numpy_version"] == np.__version__
    assert prov["params_sha256"] == params_hash(load_params())
