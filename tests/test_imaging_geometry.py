"""Per-level geometry on phantoms of known size, and on one real SPIDER patient.

Tolerances. A phantom voxel belongs to a structure when its centre lies inside it, so a
length measured across the voxel grid is exact up to the rasterisation of its two ends:
* untilted phantoms: every edge falls on voxel boundaries, so lengths are exact
  (checked to 1e-6 mm);
* tilted phantoms: within ONE VOXEL, taken as the in-plane voxel diagonal
  √(0.5² + 0.5²) = 0.707 mm at the 0.5 mm spacing used (an edge crossing the grid
  obliquely is off by up to half a voxel footprint at each end);
* areas and volumes of tilted boxes: within 1 % (the staircase along a straight edge
  cancels; what is left sits at the four corners).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from radiomics_features.geometry import (
    DISC_FEATURES,
    VERTEBRA_FEATURES,
    choose_mid_slice,
    geometry_wide,
    spine_geometry,
)
from radiomics_features.levels import DISC_LEVELS, VERTEBRA_LEVELS
from radiomics_features.phantoms import make_phantom

SPIDER = Path(__file__).resolve().parents[2] / "shared" / "data" / "spider-t2-lumbar"
VOXEL = 0.5
ONE_VOXEL_MM = float(np.hypot(VOXEL, VOXEL))


def _geometry(**spec):
    p = make_phantom(**spec)
    g = spine_geometry(p.mask, image=p.image)
    return p, g.set_index("level"), p.truth.set_index("level")


@pytest.fixture(scope="module")
def straight():
    return _geometry()


def _check_lengths(g, t, tol):
    d = [lev for lev in DISC_LEVELS if lev in g.index]
    v = [lev for lev in VERTEBRA_LEVELS if lev in g.index]
    for col in (
        "disc_height_anterior_mm",
        "disc_height_middle_mm",
        "disc_height_posterior_mm",
        "disc_height_mm",
    ):
        np.testing.assert_allclose(g.loc[d, col], t.loc[d, "height_mm"], atol=tol, err_msg=col)
    np.testing.assert_allclose(g.loc[d, "disc_ap_depth_mm"], t.loc[d, "ap_depth_mm"], atol=tol)
    np.testing.assert_allclose(g.loc[d, "canal_ap_mm"], t.loc[d, "canal_ap_mm"], atol=tol)
    for col in (
        "body_height_anterior_mm",
        "body_height_middle_mm",
        "body_height_posterior_mm",
        "body_height_mm",
    ):
        np.testing.assert_allclose(g.loc[v, col], t.loc[v, "height_mm"], atol=tol, err_msg=col)
    np.testing.assert_allclose(g.loc[v, "body_ap_depth_mm"], t.loc[v, "ap_depth_mm"], atol=tol)
    np.testing.assert_allclose(g.loc[v, "canal_ap_mm"], t.loc[v, "canal_ap_mm"], atol=tol)


def test_untilted_phantom_is_exact(straight):
    _p, g, t = straight
    _check_lengths(g, t, 1e-6)
    d = list(DISC_LEVELS)
    np.testing.assert_allclose(g.loc[d, "disc_area_mm2"], t.loc[d, "area_mm2"], rtol=1e-9)
    np.testing.assert_allclose(g.loc[d, "disc_volume_mm3"], t.loc[d, "volume_mm3"], rtol=1e-9)
    np.testing.assert_allclose(
        g.loc[d, "disc_height_depth_ratio"],
        t.loc[d, "height_mm"] / t.loc[d, "ap_depth_mm"],
        rtol=1e-9,
    )
    np.testing.assert_allclose(g.loc[d, "disc_angle_deg"], 0.0, atol=1e-9)
    assert (g["reason"] == "").all()


@pytest.mark.parametrize(
    "tilt,spacing",
    [
        (10.0, (2.0, 0.5, 0.5)),
        (25.0, (2.0, 0.5, 0.5)),
        (-15.0, (1.0, 0.46875, 0.46875)),  # SPIDER's in-plane spacing
    ],
)
def test_tilted_phantom_within_one_voxel(tilt, spacing):
    _, g, t = _geometry(tilt_deg=tilt, spacing=spacing)
    _check_lengths(g, t, ONE_VOXEL_MM)
    d = list(DISC_LEVELS)
    np.testing.assert_allclose(g.loc[d, "disc_area_mm2"], t.loc[d, "area_mm2"], rtol=0.01)
    np.testing.assert_allclose(g.loc[d, "disc_volume_mm3"], t.loc[d, "volume_mm3"], rtol=0.01)
    # the disc's AP axis turns with the spine: positive tilt lifts the posterior end
    np.testing.assert_allclose(g.loc[d, "disc_angle_deg"], -tilt, atol=0.5)


def test_disc_height_index_by_hand(straight):
    """Defaults: discs 8, 9, 10, 11, 12 mm; bodies L1–L5 26, 27, 27, 28, 28 mm."""
    _, g, _ = straight
    expected = {
        "l1_l2": 8 / ((26 + 27) / 2),
        "l2_l3": 9 / ((27 + 27) / 2),
        "l3_l4": 10 / ((27 + 28) / 2),
        "l4_l5": 11 / ((28 + 28) / 2),
        "l5_s1": 12 / 28,  # L5 alone: the sacrum is not measured
    }
    for lev, value in expected.items():
        assert g.loc[lev, "disc_height_index"] == pytest.approx(value, rel=1e-9)
    assert g.loc["l5_s1", "dhi_bodies"] == "l5" and "L5 alone" in g.loc["l5_s1", "notes"]
    assert g.loc["l4_l5", "dhi_bodies"] == "l4+l5"


def test_signal_ratio_from_known_intensities():
    _, g, _ = _geometry(disc_signal=(200, 180, 150, 120, 90), csf_signal=240)
    d = list(DISC_LEVELS)
    np.testing.assert_allclose(g.loc[d, "disc_signal_median"], [200, 180, 150, 120, 90])
    np.testing.assert_allclose(g.loc[d, "disc_signal_mean"], [200, 180, 150, 120, 90])
    np.testing.assert_allclose(g.loc[d, "csf_signal_median"], 240)
    np.testing.assert_allclose(
        g.loc[d, "disc_csf_signal_ratio"], np.array([200, 180, 150, 120, 90]) / 240
    )


def test_missing_level_is_nan_with_a_reason():
    _, g, t = _geometry(missing=("l2_l3",), tilt_deg=10)
    assert g.loc["l2_l3", list(DISC_FEATURES)].isna().all()
    assert "missing from the mask" in g.loc["l2_l3", "reason"]
    assert g.loc["l1_l2", "confidence"] == "medium" and g.loc["l4_l5", "confidence"] == "high"
    _check_lengths(g.drop(index="l2_l3"), t, ONE_VOXEL_MM)


def test_truncated_top_level():
    """L1 cut by the field of view: its size is not measured; L1/L2's DHI uses L2 alone."""
    _, g, _ = _geometry(truncate_superior_mm=13.0)
    assert np.isnan(g.loc["l1", "body_height_mm"]) and "truncated" in g.loc["l1", "reason"]
    assert g.loc["l1_l2", "dhi_bodies"] == "l2"
    assert g.loc["l1_l2", "disc_height_index"] == pytest.approx(8 / 27, rel=1e-9)
    assert np.isfinite(g.loc["l1", "canal_ap_mm"])  # still measured


def test_field_of_view_ending_above_l2_l3():
    _, g, _ = _geometry(truncate_superior_mm=26.0 + 8.0 + 27.0 + 4.0)
    for lev in ("l1", "l1_l2", "l2"):
        assert "above the field of view" in g.loc[lev, "reason"], lev
    assert "truncated" in g.loc["l2_l3", "reason"]
    assert g.loc["l3_l4", "disc_height_mm"] == pytest.approx(10.0, abs=1e-6)


def test_lateral_truncation_drops_only_the_volume():
    _, g, t = _geometry(lr_fov_mm=30.0)
    d = list(DISC_LEVELS)
    assert g.loc[d, "disc_volume_mm3"].isna().all()
    assert not any("first/last slice" in r for r in g.loc[d, "reason"])  # said once per case
    n = g["case_notes"].unique()
    assert len(n) == 1 and n[0] == (
        "the stack's 15 slices cover 30 mm; discs reach the first/last slice: volume not measured"
    )
    np.testing.assert_allclose(g.loc[d, "disc_height_mm"], t.loc[d, "height_mm"], atol=1e-6)


def test_no_canal_and_no_image():
    p = make_phantom()
    no_canal = np.where(p.mask.array == 3, 0, p.mask.array)
    g = spine_geometry(no_canal, p.mask.spacing).set_index("level")
    assert g["canal_ap_mm"].isna().all() and g["disc_signal_median"].isna().all()
    assert "no canal behind the disc" in g.loc["l4_l5", "reason"]
    assert g.loc["l4_l5", "disc_height_mm"] == pytest.approx(
        11.0, abs=1e-6
    )  # bodies cut at the disc edge


def test_empty_mask_gives_all_nan_rows():
    g = spine_geometry(np.zeros((4, 40, 40), np.uint8), (1.0, 1.0, 1.0))
    assert len(g) == 10 and g[list(DISC_FEATURES)].isna().all().all()
    assert (g["reason"] != "").all()


def test_inputs_are_not_mutated_and_wide_names_follow_the_contract(straight):
    p = make_phantom()
    mask, img = p.mask.array.copy(), p.image.array.copy()
    long = spine_geometry(mask, p.mask.spacing, img)
    np.testing.assert_array_equal(mask, p.mask.array)
    np.testing.assert_array_equal(img, p.image.array)
    wide = geometry_wide(long, patient_id="P1")
    assert wide.loc[0, "patient_id"] == "P1" and len(wide) == 1
    assert wide.loc[0, "img_l4_l5_disc_height_mm"] == pytest.approx(11.0)
    assert wide.loc[0, "img_l4_canal_ap_mm"] == pytest.approx(16.0)
    n = len(DISC_LEVELS) * len(DISC_FEATURES) + len(VERTEBRA_LEVELS) * len(VERTEBRA_FEATURES) + 1
    text = len(DISC_LEVELS) * 3  # img_<disc>_canal_csa_mm2, cat_<disc>_canal_stenosis, basis
    qc = (len(DISC_LEVELS) + len(VERTEBRA_LEVELS)) * 2 + 3  # qc_<level>_*, qc_case_*
    assert wide.shape[1] == n + text + qc
    assert wide.loc[0, "cat_l4_l5_canal_stenosis"] == "none"  # canal 12.0 mm: not < 12
    assert wide.loc[0, "qc_l4_l5_confidence"] == "high" and wide.loc[0, "qc_l4_l5_checks"] == ""
    for f in ("disc_height_mm", "disc_height_index", "canal_ap_mm", "disc_csf_signal_ratio"):
        assert f"img_l5_s1_{f}" in wide


def test_mid_slice_is_central(straight):
    p, g, _ = straight
    k = choose_mid_slice(p.mask.array, p.mask.spacing)
    assert abs(k - (p.mask.shape[0] - 1) / 2) <= 1
    assert (g["slice"] == k).all()


def test_bad_inputs():
    p = make_phantom()
    with pytest.raises(TypeError, match="spacing is required when the mask is a plain array"):
        spine_geometry(p.mask.array)
    with pytest.raises(ValueError, match=r"image shape \(3, 3, 3\) differs from mask shape"):
        spine_geometry(p.mask, image=np.zeros((3, 3, 3)))


@pytest.mark.skipif(
    not (SPIDER / "spider_005_mask.nii.gz").exists(),
    reason=f"SPIDER subset not found at {SPIDER} (the repository root's sibling shared/)",
)
def test_spider_patient_measures_every_lumbar_level():
    pytest.importorskip("SimpleITK", reason="SimpleITK (imaging extra) is not installed")
    from radiomics_features.io import read_image_and_mask
    from radiomics_features.labels import to_three_class

    img, mask = read_image_and_mask(
        SPIDER / "spider_005_t2.nii.gz", SPIDER / "spider_005_mask.nii.gz"
    )
    g = spine_geometry(to_three_class(mask.array), mask.spacing, img).set_index("level")
    d = list(DISC_LEVELS)
    assert (
        g.loc[d, ["disc_height_mm", "disc_height_index", "canal_ap_mm", "disc_csf_signal_ratio"]]
        .notna()
        .all()
        .all()
    )
    # lumbar anatomy, not a reference value: discs 4–15 mm, bodies 20–32 mm, canal 8–20 mm
    assert g.loc[d, "disc_height_mm"].between(4, 15).all()
    assert g.loc[list(VERTEBRA_LEVELS), "body_height_mm"].between(20, 32).all()
    assert g.loc[d, "canal_ap_mm"].between(8, 20).all()
    # the stack is a block of slices around the midline: discs reach its sides
    assert g.loc[d, "disc_volume_mm3"].isna().all()
    assert isinstance(g, pd.DataFrame)
