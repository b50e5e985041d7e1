"""Mask cleaning: specks by size in mm³, holes per sagittal slice, the canal kept whole."""

from __future__ import annotations

import numpy as np
import pytest

from radiomics_features.postprocess import (
    clean_mask,
    fill_holes_per_slice,
    keep_largest_canal,
    remove_small_components,
)

SP = (2.0, 0.5, 0.5)  # 0.5 mm³ per voxel


def _base():
    m = np.zeros((6, 40, 40), dtype=np.uint8)
    m[1:5, 5:15, 5:30] = 2  # a disc: 4·10·25 = 1000 voxels = 500 mm³
    m[1:5, 20:22, 20:22] = 2  # a speck: 16 voxels = 8 mm³
    return m


def test_specks_below_the_size_in_mm3_go():
    m = _base()
    before = m.copy()
    out = remove_small_components(m, SP, 8.5)
    assert (out == 2).sum() == 1000
    np.testing.assert_array_equal(m, before)
    kept = remove_small_components(m, SP, 8.0)  # exactly 8 mm³ is not below 8
    assert (kept == 2).sum() == 1016
    per_class = remove_small_components(m, SP, {2: 600.0})  # the disc itself is 500 mm³
    assert (per_class == 2).sum() == 0


def test_holes_are_filled_per_slice_without_overwriting_other_classes():
    m = np.zeros((2, 20, 20), dtype=np.uint8)
    m[0, 2:10, 2:10] = 2
    m[0, 4:6, 4:6] = 0  # a background hole → filled
    m[0, 7, 7] = 3  # another class inside → kept
    out = fill_holes_per_slice(m)
    assert (out[0, 4:6, 4:6] == 2).all() and out[0, 7, 7] == 3
    assert (out[1] == 0).all()


def test_largest_canal_component_and_keep_fraction():
    m = np.zeros((3, 60, 10), dtype=np.uint8)
    m[:, 0:40, 2:5] = 3  # 360 voxels
    m[:, 45:55, 2:5] = 3  # 90 voxels: 25 % of the largest (a stenosis gap)
    m[:, 58:59, 2:3] = 3  # 3 voxels
    assert (keep_largest_canal(m, keep_fraction=0.1) == 3).sum() == 450
    assert (keep_largest_canal(m, keep_fraction=0.5) == 3).sum() == 360
    with pytest.raises(ValueError, match=r"keep_fraction must be in \(0, 1\]; got 0"):
        keep_largest_canal(m, keep_fraction=0)


def test_clean_mask_report():
    m = _base()
    m[1:5, 10, 10] = 0  # a hole through the disc in every slice
    m[2, 30:32, 30:32] = 3
    m[2, 0:20, 35:38] = 3
    out, rep = clean_mask(m, SP, min_size_mm3=10.0)
    assert rep.removed_components[2] == 1 and rep.removed_voxels[2] == 16
    assert rep.filled_voxels[2] == 4
    assert rep.removed_voxels[3] == 4  # the 2 mm³ canal piece is a speck
    assert (out == 2).sum() == 1000 and "class 2: -1 components" in rep.summary()


def test_bad_inputs():
    with pytest.raises(ValueError, match=r"mask must be 3D .*got shape \(4, 4\)"):
        remove_small_components(np.zeros((4, 4), np.uint8), SP)
    with pytest.raises(TypeError, match="integer class labels; got dtype float64"):
        remove_small_components(np.zeros((2, 2, 2)), SP)
    with pytest.raises(
        ValueError, match=r"spacing must be three positive mm values; got \(1.0, 0.0, 1.0\)"
    ):
        remove_small_components(np.zeros((2, 2, 2), np.uint8), (1.0, 0.0, 1.0))
