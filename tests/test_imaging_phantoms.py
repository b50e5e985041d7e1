"""Phantoms: the truth table follows the spec; voxel counts match the declared sizes."""

from __future__ import annotations

import numpy as np
import pytest

from radiomics_features.labels import instance_id
from radiomics_features.phantoms import PhantomSpec, make_phantom


def test_untilted_voxel_counts_equal_declared_sizes():
    p = make_phantom(spacing=(2.0, 0.5, 0.5))
    sp = p.mask.spacing
    vox = float(np.prod(sp))
    t = p.truth.set_index("level")
    for lev in ("l1_l2", "l4_l5", "l3"):
        n = (p.instances == instance_id(lev)).sum()
        assert n * vox == pytest.approx(t.loc[lev, "volume_mm3"], rel=1e-9), lev
    assert set(np.unique(p.mask.array)) == {0, 1, 2, 3}
    assert p.image.array.dtype == np.uint8
    assert p.image.array[p.mask.array == 3].tolist() == [240] * int((p.mask.array == 3).sum())


def test_truth_marks_missing_and_truncated_levels():
    p = make_phantom(missing=("l2",), truncate_superior_mm=10.0)
    t = p.truth.set_index("level")
    assert not t.loc["l2", "present"] and bool(t.loc["l1", "truncated"])
    assert not (p.instances == instance_id("l2")).any()


def test_noise_is_seeded():
    a = make_phantom(noise_sd=5.0, seed=3).image.array
    b = make_phantom(noise_sd=5.0, seed=3).image.array
    np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize(
    "kwargs,match",
    [
        (dict(disc_heights_mm=(8.0, 9.0)), r"disc_heights_mm needs 5 values .*got 2"),
        (dict(missing=("l6",)), r"missing level\(s\) \['l6'\] are not level names"),
        (dict(vertebra_heights_mm=0.0), "vertebral heights > 0 mm"),
        (dict(n_thoracic=7), "n_thoracic must be 0–4; got 7"),
    ],
)
def test_spec_errors(kwargs, match):
    with pytest.raises(ValueError, match=match):
        PhantomSpec(**kwargs)


def test_spec_or_overrides_not_both():
    with pytest.raises(TypeError, match="either a PhantomSpec or keyword overrides"):
        make_phantom(PhantomSpec(), tilt_deg=3)
