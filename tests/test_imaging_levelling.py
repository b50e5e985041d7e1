"""Level naming: lowest disc = L5/S1, names upward, bodies split off their arches.

Phantoms carry the true SPIDER-style instance map, so the naming is checked voxel by
voxel; on three real SPIDER masks the counts of discs and bodies found are checked
against what the masks hold (by eye: the discs and bodies in the mid slices).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from radiomics_features.labels import instance_id
from radiomics_features.levelling import LEVELLING_ASSUMPTION, label_levels, vertebral_bodies
from radiomics_features.levels import DISC_LEVELS, VERTEBRA_LEVELS
from radiomics_features.phantoms import make_phantom

SPIDER = Path(__file__).resolve().parents[2] / "shared" / "data" / "spider-t2-lumbar"
CONTRACT = set(DISC_LEVELS) | set(VERTEBRA_LEVELS)


def _matches(lev, phantom, levels):
    for name in levels:
        truth = phantom.instances == instance_id(name)
        found = lev.instances == instance_id(name)
        np.testing.assert_array_equal(found, truth, err_msg=name)


@pytest.mark.parametrize("tilt", [0.0, 10.0, 25.0])
def test_phantom_levels_match_the_truth_voxel_by_voxel(tilt):
    p = make_phantom(tilt_deg=tilt)
    lev = label_levels(p.mask.array, p.mask.spacing)
    assert set(lev.levels) == CONTRACT and not lev.missing
    _matches(lev, p, CONTRACT)
    assert (lev.table["confidence"] == "high").all()
    assert (
        lev.levelling_assumption == LEVELLING_ASSUMPTION
        and "lowest visible" in LEVELLING_ASSUMPTION
    )
    assert lev.table["level"].iloc[-1] == "l5_s1"  # cranial → caudal; lowest disc last


def test_thoracic_levels_are_named_above_l1():
    p = make_phantom(n_thoracic=2, tilt_deg=-10)
    lev = label_levels(p.mask, None)  # a Volume carries its spacing
    assert list(lev.levels[:4]) == ["t11", "t11_t12", "t12", "t12_l1"]
    _matches(lev, p, ["t11", "t12_l1", "l1", "l5_s1"])


def test_posterior_elements_are_not_body():
    p = make_phantom()
    body, how = vertebral_bodies(p.mask.array)
    arch = (p.mask.array == 1) & (p.instances == 0)
    assert how == "canal anterior edge" and arch.any()
    assert not (body & arch).any()
    np.testing.assert_array_equal(body, (p.instances > 0) & (p.instances < 200))


def test_missing_disc_is_inferred_from_two_bodies_in_a_row():
    p = make_phantom(missing=("l2_l3",))
    lev = label_levels(p.mask.array, p.mask.spacing)
    assert "l2_l3" not in lev.levels and "within the level chain" in lev.missing["l2_l3"]
    _matches(lev, p, CONTRACT - {"l2_l3"})
    conf = dict(zip(lev.table["level"], lev.table["confidence"], strict=True))
    assert conf["l3_l4"] == "high" and conf["l1_l2"] == "medium"
    assert any("1 disc(s) missing above l3_l4" in n for n in lev.notes)


def test_missing_vertebra_is_inferred_from_two_discs_in_a_row():
    p = make_phantom(missing=("l3",))
    lev = label_levels(p.mask.array, p.mask.spacing)
    assert "l3" in lev.missing
    _matches(lev, p, CONTRACT - {"l3"})
    assert any("vertebra l3 missing" in n for n in lev.notes)


def test_touching_bodies_without_a_disc_are_split_along_the_spine():
    p = make_phantom(disc_heights_mm=(8.0, 9.0, 0.0, 11.0, 12.0))  # l3_l4 collapsed
    lev = label_levels(p.mask.array, p.mask.spacing)
    assert "l3_l4" in lev.missing
    for name in ("l3", "l4"):
        a, b = lev.instances == instance_id(name), p.instances == instance_id(name)
        dice = 2 * (a & b).sum() / (a.sum() + b.sum())
        assert dice > 0.97, (name, dice)
    _matches(lev, p, CONTRACT - {"l3", "l4", "l3_l4"})


def test_truncated_top_is_flagged_and_named():
    p = make_phantom(truncate_superior_mm=13.0)  # cuts through L1
    lev = label_levels(p.mask.array, p.mask.spacing)
    row = lev.row("l1")
    assert bool(row["truncated"]) and "truncated" in row["notes"]
    assert not bool(lev.row("l1_l2")["truncated"])
    _matches(lev, p, CONTRACT)


def test_truncated_bottom_lowers_confidence_everywhere():
    p = make_phantom(truncate_inferior_mm=40.0)  # sacrum gone, L5/S1 cut
    lev = label_levels(p.mask.array, p.mask.spacing)
    assert bool(lev.row("l5_s1")["truncated"])
    assert (lev.table["confidence"] == "medium").all()
    assert any("lowest disc is truncated" in n for n in lev.notes)


def test_field_of_view_ending_above_l1():
    p = make_phantom(truncate_superior_mm=26.0 + 8.0 + 27.0 + 4.0)  # L1, L1/L2, L2 gone; L2/L3 cut
    lev = label_levels(p.mask.array, p.mask.spacing)
    assert lev.missing["l1"].startswith("above the field of view")
    assert "l2_l3" in lev.levels and bool(lev.row("l2_l3")["truncated"])


def test_no_discs_and_empty_masks_do_not_crash():
    p = make_phantom()
    only_bone = np.where(p.mask.array == 2, 0, p.mask.array)
    lev = label_levels(only_bone, p.mask.spacing)
    assert lev.levels == () and set(lev.missing) == CONTRACT
    assert all(
        r == "no disc found in the mask: levels cannot be named" for r in lev.missing.values()
    )
    empty = label_levels(np.zeros((4, 30, 30), np.uint8), (1.0, 1.0, 1.0))
    assert empty.table.empty and set(empty.missing) == CONTRACT


def test_bad_input():
    with pytest.raises(ValueError, match=r"mask must be 3D .*got shape \(3, 3\)"):
        label_levels(np.zeros((3, 3), np.uint8), (1, 1, 1))
    with pytest.raises(ValueError, match="spacing must be three positive mm values"):
        label_levels(np.zeros((3, 3, 3), np.uint8), (1, 1))


@pytest.mark.skipif(
    not (SPIDER / "spider_005_mask.nii.gz").exists(),
    reason=f"SPIDER subset not found at {SPIDER} (the repository root's sibling shared/)",
)
@pytest.mark.parametrize("pid,n_discs,n_bodies", [(5, 7, 7), (18, 7, 6), (241, 9, 9)])
def test_spider_masks(pid, n_discs, n_bodies):
    """Real masks: every disc and body found; the lowest disc is L5/S1.

    241 has T12 and L1 bridged around a small T12/L1 disc (split along the disc's plane);
    18 holds 6 bodies in this block of slices.
    """
    pytest.importorskip("SimpleITK", reason="SimpleITK (imaging extra) is not installed")
    from radiomics_features.io import read_image_and_mask
    from radiomics_features.labels import to_three_class

    _, mask = read_image_and_mask(
        SPIDER / f"spider_{pid:03d}_t2.nii.gz", SPIDER / f"spider_{pid:03d}_mask.nii.gz"
    )
    lev = label_levels(to_three_class(mask.array), mask.spacing)
    kinds = lev.table["kind"].value_counts()
    assert (kinds["disc"], kinds["vertebra"]) == (n_discs, n_bodies)
    assert lev.table["level"].notna().all()
    assert set(DISC_LEVELS) <= set(lev.levels) and lev.table["level"].iloc[-1] == "l5_s1"
    lowest = lev.row("l5_s1")
    assert (
        lowest["centroid_si_mm"]
        == lev.table.loc[lev.table["kind"] == "disc", "centroid_si_mm"].max()
    )
