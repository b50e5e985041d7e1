"""The disc grader (radiomics_features.grader): slice reading, crops, localisation on a
real SPIDER slice, the shipped ONNX weights and their sidecar, and the agreement metrics."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("onnxruntime", reason="the grader runs with onnxruntime (imaging extra)")

from radiomics_features.grader.crops import CROP_SIZE, disc_crop
from radiomics_features.grader.localise import Disc, from_canonical_point, to_canonical
from radiomics_features.grader.metrics import kappa_ci_by_patient, qw_kappa
from radiomics_features.grader.slices import SliceReadError, as_grey, parse_spacing
from radiomics_features.grader.verify import sequence_agreement

GRADER_DIR = Path(__file__).resolve().parents[1] / "radiomics_features" / "grader"
SLICES = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "spider-sagittal-slices"
needs_slices = pytest.mark.skipif(
    not (SLICES / "series.csv").is_file(), reason="SPIDER slice set not present (../shared/data)"
)


# ------------------------------------------------------------------ reading slices
def test_as_grey_refuses_a_colour_image():
    rgb = np.zeros((40, 40, 3), dtype=np.uint8)
    rgb[..., 0] = 10
    with pytest.raises(SliceReadError, match="R, G and B channels differ"):
        as_grey(rgb)


def test_as_grey_takes_a_greyscale_rgba_image():
    a = np.arange(40 * 40, dtype=np.uint8).reshape(40, 40)
    rgba = np.stack([a, a, a, np.full_like(a, 255)], axis=-1)
    np.testing.assert_array_equal(as_grey(rgba), a.astype(np.float32))


def test_as_grey_refuses_a_tiny_slice():
    with pytest.raises(SliceReadError, match="too small"):
        as_grey(np.zeros((10, 64)))


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("[.5859375, .5859375]", (0.5859375, 0.5859375)),
        (0.625, (0.625, 0.625)),
        ((0.5, 0.7), (0.5, 0.7)),
    ],
)
def test_parse_spacing(value, expected):
    assert parse_spacing(value) == expected


def test_parse_spacing_refuses_non_positive():
    with pytest.raises(ValueError, match="positive finite"):
        parse_spacing("[0, 0.5]")


# ------------------------------------------------------------------ orientation and crops
def test_canonical_point_round_trip():
    img = np.zeros((50, 30))
    img[10, 4] = 1.0
    for fr in (False, True):
        for fc in (False, True):
            can = to_canonical(img, fr, fc)
            r, c = np.argwhere(can == 1.0)[0]
            assert from_canonical_point(r, c, img.shape, fr, fc) == (10.0, 4.0)


@pytest.mark.parametrize("flip_rows", [False, True])
def test_disc_crop_centres_and_levels_a_tilted_disc(flip_rows):
    """A bright band 20 deg off horizontal (canonical orientation) through (100, 80):
    the crop must show it as a horizontal band through the crop's centre row."""
    sp = (0.5, 0.5)
    rr, cc = np.mgrid[0:200, 0:160].astype(float)
    a = np.radians(20.0)
    # distance from the line through (100, 80) with direction (sin a, cos a)
    dist = np.abs((rr - 100) * np.cos(a) - (cc - 80) * np.sin(a)) * sp[0]
    canon = np.where(dist < 3.0, 100.0, 10.0).astype(np.float32)
    img = canon[::-1] if flip_rows else canon
    row = 199 - 100 if flip_rows else 100
    disc = Disc(
        label=1,
        row=row,
        col=80,
        angle_deg=20.0,
        width_mm=40,
        height_mm=6,
        area_mm2=240,
        mean_prob=1,
    )
    crop = disc_crop(img, sp, disc, flip_rows=flip_rows, flip_cols=False, normalised=True)
    assert crop.shape == (CROP_SIZE, CROP_SIZE)
    mid = CROP_SIZE // 2
    band = crop[mid - 1 : mid + 1, 8:-8].mean()
    off = crop[mid + 10 : mid + 14, 8:-8].mean()
    assert band > 80 and off < 20


# ------------------------------------------------------------------ metrics
def test_quadratic_kappa_matches_scikit_learn():
    from sklearn.metrics import cohen_kappa_score

    rng = np.random.default_rng(3)
    t = rng.integers(1, 6, 300)
    p = np.clip(t + rng.integers(-2, 3, 300), 1, 5)
    ref = cohen_kappa_score(t, p, weights="quadratic", labels=[1, 2, 3, 4, 5])
    assert qw_kappa(t, p) == pytest.approx(ref, rel=1e-12)


def test_kappa_interval_is_zero_width_for_perfect_agreement_and_covers_the_estimate():
    y = np.repeat([1, 2, 3, 4, 5], 20)
    pats = np.arange(100) // 4
    assert kappa_ci_by_patient(y, y[None], pats, n_boot=50) == (1.0, 1.0)
    rng = np.random.default_rng(0)
    p = np.clip(y + rng.integers(-1, 2, 100), 1, 5)
    lo, hi = kappa_ci_by_patient(y, p[None], pats, n_boot=200)
    assert lo < qw_kappa(y, p) < hi


def test_sequence_agreement_finds_a_one_level_shift():
    import pandas as pd

    heights = [10.0, 12.0, 9.0, 7.0, 6.5, 5.0, 4.0]
    mask = pd.DataFrame({"label": range(1, 8), "height_mm": heights})
    shifted = pd.DataFrame({"label": range(1, 7), "height_mm": heights[1:]})  # L5/S1 missed
    agr = sequence_agreement(shifted, mask)
    assert agr["r_shift+1"] > 0.99 > agr["r_shift+0"]


# ------------------------------------------------------------------ shipped weights
def test_sidecar_sha256_matches_the_weights():
    meta = json.loads((GRADER_DIR / "grader.json").read_text(encoding="utf-8"))
    blob = (GRADER_DIR / meta["onnx_file"]).read_bytes()
    assert hashlib.sha256(blob).hexdigest() == meta["onnx_sha256"]
    assert meta["onnx_bytes"] == len(blob)


def test_tampered_weights_are_refused(tmp_path):
    from radiomics_features.grader.inference import GraderIntegrityError, load_grader

    shutil.copy(GRADER_DIR / "grader.json", tmp_path / "grader.json")
    blob = bytearray((GRADER_DIR / "grader.onnx").read_bytes())
    blob[-10] ^= 0xFF
    (tmp_path / "grader.onnx").write_bytes(bytes(blob))
    with pytest.raises(GraderIntegrityError, match="refusing to load"):
        load_grader(tmp_path / "grader.onnx")


def test_grade_crops_on_synthetic_input():
    from radiomics_features.grader.inference import grade_crops

    rng = np.random.default_rng(0)
    t2 = rng.random((3, CROP_SIZE, CROP_SIZE)).astype(np.float32)
    labels = np.array([1, 2, 3])
    pg, pf = grade_crops(t2, labels=labels)
    assert pg.shape == (3, 5) and pf.shape == (3, 6)
    np.testing.assert_allclose(pg.sum(axis=1), 1.0, rtol=1e-5)
    assert ((pf >= 0) & (pf <= 1)).all()
    # T1 present changes the input, so the output must change too
    pg1, _ = grade_crops(t2, t2, labels=labels)
    assert not np.allclose(pg, pg1)
    with pytest.raises(ValueError, match="needs a T2 or a T1"):
        grade_crops(None, None, labels=labels)
    with pytest.raises(ValueError, match="crops must be"):
        grade_crops(t2[:, :10], labels=labels)
    with pytest.raises(ValueError, match="integer disc number"):
        grade_crops(t2, labels=np.array([0, 1, 2]))


@needs_slices
def test_grade_a_real_slice():
    """SPIDER patient 5, T2: seven discs annotated; the slice is stored sacrum-up."""
    from radiomics_features.grader.inference import grade_slice
    from radiomics_features.grader.slices import read_slice

    img = read_slice(SLICES / "images" / "spider_005_t2.png")
    res = grade_slice(img, (0.5859375, 0.5859375))
    loc = res.localisation
    assert (loc.flip_rows, loc.flip_cols) == (True, False)
    assert loc.sacrum_found and loc.n_discs == 7
    levels = res.by_level()
    assert set(levels) == {"l1_l2", "l2_l3", "l3_l4", "l4_l5", "l5_s1"}
    from radiomics_features.grader.feature_model import grade_from_expected
    from radiomics_features.grader.inference import load_grader

    th = load_grader().features.thresholds
    for d in res.discs:
        assert 1 <= d.grade <= 5
        assert d.probability == pytest.approx(d.grade_probabilities[d.grade - 1])
        assert sum(d.grade_probabilities) == pytest.approx(1.0, abs=1e-4)
        # the combined rule: the expected grade of the averaged probabilities, cut
        expected = float(np.dot(d.grade_probabilities, np.arange(1, 6)))
        assert d.grade == grade_from_expected(np.array([expected]), th)[0]
