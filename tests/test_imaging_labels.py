"""Label conventions: adapters to {0, 1 vertebra, 2 disc, 3 canal} and per-level instances.

Small arrays whose expected output can be read off by hand; tables checked against the
sources named in radiomics_features.labels (SPIDER: 1 = L5, 201 = L5/S1, 100 canal;
SPINEPS: 20–24 = L1–L5, 100+X disc below X; TotalSpineSeg: 41–45 L1–L5, 92–95 and 100
the lumbar discs, 1/2 cord/canal).
"""

from __future__ import annotations

import numpy as np
import pytest

from radiomics_features.labels import (
    CONVENTIONS,
    ConventionError,
    LabelConvention,
    UnknownLabelError,
    check_structures,
    disc_name_from_bottom,
    get_convention,
    instance_id,
    level_instances,
    level_of_instance_id,
    to_three_class,
    vertebra_name_from_bottom,
)
from radiomics_features.levels import disc_level_from_bottom
from radiomics_features.phantoms import make_phantom


@pytest.mark.parametrize(
    "convention,raw,expected",
    [
        ("three_class", [0, 1, 2, 3], [0, 1, 2, 3]),
        ("spider", [0, 1, 5, 24, 100, 103, 201, 224], [0, 1, 1, 1, 3, 1, 2, 2]),
        ("spineps_instance", [0, 20, 24, 25, 26, 124, 224, 60, 61], [0, 1, 1, 1, 0, 2, 1, 3, 3]),
        ("spineps_semantic", [0, 41, 49, 50, 62, 100, 60, 61, 26], [0, 1, 1, 1, 1, 2, 3, 3, 0]),
        ("totalspineseg", [0, 1, 2, 41, 45, 50, 91, 95, 100], [0, 3, 3, 1, 1, 0, 2, 2, 2]),
        ("totalspineseg_2024", [0, 18, 22, 92, 200, 201, 202, 206], [0, 1, 1, 0, 3, 3, 2, 2]),
    ],
)
def test_to_three_class(convention, raw, expected):
    m = np.array(raw, dtype=np.int32).reshape(1, 1, -1)
    before = m.copy()
    out = to_three_class(m, convention)
    assert out.dtype == np.uint8
    np.testing.assert_array_equal(out.ravel(), expected)
    np.testing.assert_array_equal(m, before)  # input untouched


def test_negative_labels_take_the_slow_path_and_are_reported():
    with pytest.raises(UnknownLabelError, match=r"label\(s\) -1 \(2 voxels\)"):
        to_three_class(np.array([[-1, -1, 0]]), "three_class")


def test_unknown_labels_are_listed_with_counts_and_a_hint():
    m = np.array([0, 1, 2, 100, 100, 201], dtype=np.uint8)
    with pytest.raises(
        UnknownLabelError,
        match=r"label\(s\) 100 \(2 voxels\), 201 \(1 voxels\) that convention "
        r"'three_class' does not define .*is it a 'spider' mask\?",
    ):
        to_three_class(m, "three_class")


def test_a_mask_named_with_the_wrong_convention_is_refused_with_the_one_that_fits():
    three = np.array([0, 1, 1, 2, 3, 3], dtype=np.uint8)  # vertebra, disc, canal
    # every label is a SPIDER vertebra (1 = L5, 2 = L4, 3 = L3): no disc, no canal
    with pytest.raises(
        ConventionError,
        match=r"mask labels 1, 2, 3 read as 'spider' .* vertebrae only: no disc and no "
        r"canal to measure; as 'three_class' .* --convention three_class",
    ):
        check_structures(three, to_three_class(three, "spider"), "spider")
    # the right convention, and masks that hold no disc under any: nothing to say
    check_structures(three, to_three_class(three, "three_class"), "three_class")
    for only in (np.array([0, 1, 1]), np.array([0, 1, 2]), np.zeros(3, dtype=int)):
        check_structures(only, to_three_class(only, "spider"), "spider")


def test_unknown_convention_and_wrong_types():
    with pytest.raises(
        ConventionError, match=r"unknown label convention 'verse'; expected one of three_class"
    ):
        to_three_class(np.zeros(3, int), "verse")
    with pytest.raises(TypeError, match="convention must be a name or a LabelConvention, got int"):
        get_convention(3)
    with pytest.raises(TypeError, match="needs integer labels; got dtype float64 with non-integer"):
        to_three_class(np.array([0.5, 1.0]), "three_class")
    np.testing.assert_array_equal(to_three_class(np.array([0.0, 2.0]), "three_class"), [0, 2])


def test_a_label_cannot_have_two_roles():
    with pytest.raises(ConventionError, match="label 5 is both vertebra and disc"):
        LabelConvention("bad", "x", "y", vertebrae={5: None}, discs={5: None})


def test_spider_instances_named_from_the_bottom():
    m = np.array([[1, 2, 5, 100, 201, 202, 205, 206, 125]], dtype=np.int16)
    li = level_instances(m, "spider")
    assert dict(li.levels) == {
        "l5": 1,
        "l4": 2,
        "l1": 5,
        "l5_s1": 201,
        "l4_l5": 202,
        "l1_l2": 205,
        "t12_l1": 206,
    }
    np.testing.assert_array_equal(li.instances, [[1, 2, 5, 0, 201, 202, 205, 206, 0]])
    assert any("label 125 has no level name" in n for n in li.notes)
    np.testing.assert_array_equal(li.mask_of("l4_l5"), m == 202)
    with pytest.raises(KeyError, match="level 'l3' not present"):
        li.mask_of("l3")


def test_spineps_and_totalspineseg_instances_agree_on_names():
    sp = level_instances(np.array([20, 24, 120, 124, 26]), "spineps_instance")
    ts = level_instances(np.array([41, 45, 92, 100, 50]), "totalspineseg")
    assert set(sp.levels) == set(ts.levels) == {"l1", "l5", "l1_l2", "l5_s1"}
    assert dict(sp.levels) == dict(ts.levels)
    l6 = level_instances(np.array([24, 25, 124, 125]), "spineps_instance")
    assert any("L6 (label 25) is present" in n for n in l6.notes)


def test_level_instances_needs_levels():
    with pytest.raises(ConventionError, match="'three_class' carries no levels; name levels"):
        level_instances(np.zeros((2, 2, 2), int), "three_class")


def test_ladders_agree_with_levels_module():
    for n in range(1, 6):
        assert disc_name_from_bottom(n) == disc_level_from_bottom(n)
    assert disc_name_from_bottom(6) == "t12_l1" and vertebra_name_from_bottom(6) == "t12"
    assert disc_name_from_bottom(18) == "c7_t1"
    for name in ("l5", "t3", "c1", "l5_s1", "t12_l1", "c2_c3"):
        assert level_of_instance_id(instance_id(name)) == name
    with pytest.raises(ValueError, match="vertebra number 0 is outside 1–24"):
        vertebra_name_from_bottom(0)
    with pytest.raises(ValueError, match="level 'x1' is not a vertebra"):
        instance_id("x1")


def test_every_declared_convention_is_consistent():
    for conv in CONVENTIONS.values():
        assert conv.class_of()[0] == 0
        assert set(conv.class_of().values()) <= {0, 1, 2, 3}


def test_spider_original_round_trip_on_a_phantom():
    """SPIDER-style ids of a phantom (+ canal 100) convert back to its bodies/discs/canal."""
    p = make_phantom()
    raw = p.instances.astype(np.int16)
    raw[p.mask.array == 3] = 100
    three = to_three_class(raw, "spider")
    expected = np.where(p.instances > 200, 2, np.where(p.instances > 0, 1, 0))
    expected[p.mask.array == 3] = 3
    np.testing.assert_array_equal(three, expected)
    li = level_instances(raw, "spider")
    np.testing.assert_array_equal(li.instances, p.instances)
