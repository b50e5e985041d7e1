"""Plausibility checks of named levels, the measured canal stenosis category, the label map
and per-case timing of ``prom features``.

The phantoms (:mod:`radiomics_features.phantoms`) have known anatomy, so a misnamed level
is known to be wrong; the SPIDER test checks that the checks stay quiet on normal spines
with expert masks.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("SimpleITK", reason="the imaging tests need the imaging extra")

from radiomics_features.geometry import spine_geometry
from radiomics_features.geometry.stenosis import (
    CSA_MAX_SLICE_MM,
    STENOSIS_LABEL,
    stenosis_from_ap,
    stenosis_from_csa,
)
from radiomics_features.io import volume_from_array
from radiomics_features.labels import CANAL, DISC, instance_id
from radiomics_features.levelling import label_levels
from radiomics_features.levelling.plausibility import (
    _fragment_checks,
    _spacing_checks,
    check_levels,
    lower,
)
from radiomics_features.phantoms import make_phantom

SPIDER = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "spider-t2-lumbar"


def _by_level(g: pd.DataFrame) -> pd.DataFrame:
    return g.set_index("level")


@pytest.fixture(scope="module")
def straight():
    p = make_phantom()
    g = spine_geometry(p.mask, image=p.image)
    return p, g


# --- confidence steps -------------------------------------------------------------------------


def test_lower_steps_down_and_stops_at_low():
    assert lower("high") == "medium" and lower("high", 2) == "low" and lower("medium", 5) == "low"
    assert lower("none", 3) == "none" and lower("high", 0) == "high"
    with pytest.raises(ValueError, match="confidence 'sure'"):
        lower("sure")


def test_a_normal_phantom_passes_every_check(straight):
    _, g = straight
    assert (g["confidence"] == "high").all() and (g["checks"] == "").all()
    assert set(g["case_confidence"]) == {"high"} and set(g["case_checks"]) == {""}


# --- a missing disc -------------------------------------------------------------------------


def test_missing_disc_and_body_lower_the_confidence_of_the_misnamed_levels():
    """L3/L4 and L4 left out of the mask, the field of view starting at L2: the levelling
    sees three discs with one body between the upper two, so it names the real L2/L3
    'l3_l4' with confidence high. The spacing check catches the 75 mm gap."""
    p = make_phantom(missing=("l3_l4", "l4"), truncate_superior_mm=50.0)
    levelled = label_levels(p.mask, None)
    before = levelled.table.set_index("level")
    assert before.loc["l3_l4", "confidence"] == "high"  # confident, and wrong:
    g = _by_level(spine_geometry(p.mask, image=p.image, levelled=levelled))
    # the disc named l3_l4 has the canal of the real L2/L3 (15 mm, not 14 mm)
    assert g.loc["l3_l4", "canal_ap_mm"] == pytest.approx(15.0, abs=0.5)
    assert g.loc["l3_l4", "confidence"] == "medium"
    assert "gap of 75 mm between L4/L5 and the disc above it (L3/L4)" in g.loc["l3_l4", "checks"]
    assert "a disc may be missing" in g.loc["l3_l4", "checks"]
    for lev in ("l3", "l4"):  # the body above the gap and the body inside it
        assert g.loc[lev, "confidence"] == "medium" and "name in doubt" in g.loc[lev, "checks"]
    for lev in ("l4_l5", "l5", "l5_s1"):  # below the gap: untouched
        assert g.loc[lev, "confidence"] == "high" and g.loc[lev, "checks"] == ""
    assert set(g["case_confidence"]) == {"medium"}
    assert "a disc may be missing" in g["case_checks"].iloc[0]


def test_two_bodies_below_the_lowest_disc_are_measured_with_low_confidence():
    """L4/L5 and L5/S1 left out of the mask: L4 and L5 lie below the lowest disc. The
    levelling stopped on a comparison of the bodies' voxel arrays; now the case is
    measured, the names called into doubt at every level (low), and the reason given."""
    p = make_phantom(missing=("l4_l5", "l5_s1"))
    g = _by_level(spine_geometry(p.mask, image=p.image))
    named = g[g["confidence"] != "none"]  # the levels above the phantom's top are not there
    assert len(named) >= 5 and set(named["confidence"]) == {"low"}
    case = g["case_checks"].iloc[0]
    assert "2 vertebral bodies below the lowest disc" in case
    assert "the lowest disc is probably not L5/S1" in case
    assert g.loc["l5_s1", "disc_height_mm"] > 0  # measured: the disc the names call L5/S1


def test_a_signed_image_gives_no_signal_ratio_and_says_why():
    """Intensities with an offset (float, negative): a ratio of two medians of signed
    values means nothing; it is left out with the medians named, at every disc."""
    from dataclasses import replace

    p = make_phantom()
    a = p.image.array.astype(np.float32)
    signed = replace(p.image, array=(a - a.max() - 1) / 10)  # every value below 0
    g = _by_level(spine_geometry(p.mask, image=signed))
    discs = g[g["kind"] == "disc"]
    negative = discs["disc_signal_median"] < 0
    assert negative.any()
    assert discs.loc[negative, "disc_csf_signal_ratio"].isna().all()
    assert discs.loc[negative, "reason"].str.contains("negative signal").all()
    assert (spine_geometry(p.mask, image=p.image)["disc_csf_signal_ratio"].dropna() > 0).all()


def test_discs_lying_front_to_back_say_the_image_is_on_its_side():
    """An image oriented by its field of view's shape alone: when the backbone's discs run
    front to back, the orientation was wrong, and the case says so (every level low)."""
    from radiomics_features.io.orientation import disc_chain_across
    from radiomics_features.pipeline.case import _doubt_orientation

    p = make_phantom()
    m = np.asarray(p.mask.array)
    assert disc_chain_across(m, p.mask.spacing) is None
    side = np.swapaxes(m, 1, 2)  # superior-inferior taken for anterior-posterior
    sp = (p.mask.spacing[0], p.mask.spacing[2], p.mask.spacing[1])
    why = disc_chain_across(side, sp)
    assert why is not None and "the image is probably on its side" in why
    geo = spine_geometry(p.mask, image=p.image)
    _doubt_orientation(geo, side, sp)
    named = geo[geo["confidence"] != "none"]
    assert set(named["confidence"]) == {"low"} and set(geo["case_confidence"]) == {"low"}
    assert why in geo["case_checks"].iloc[0]


def test_a_wrong_pixel_spacing_is_named_not_taken_for_missing_discs():
    """The header's spacing 2.2× the true one: every gap is ~80 mm. That is one scale,
    not a missing disc at every level; the case says so and every level is low."""
    from dataclasses import replace

    p = make_phantom()
    wrong = tuple(float(x) * (2.2 if i else 1.0) for i, x in enumerate(p.mask.spacing))
    g = _by_level(
        spine_geometry(replace(p.mask, spacing=wrong), image=replace(p.image, spacing=wrong))
    )
    case = g["case_checks"].iloc[0]
    assert "the pixel spacing in the header is probably wrong" in case
    assert "a disc may be missing" not in case
    named = g[g["confidence"] != "none"]
    assert set(named["confidence"]) == {"low"}
    discs = named[named["kind"] == "disc"]
    assert discs["checks"].str.contains("the pixel spacing may be wrong").all()
    # the true spacing: nothing said
    assert "pixel spacing" not in spine_geometry(p.mask, image=p.image)["case_checks"].iloc[0]


def test_names_that_skip_a_level_across_one_levels_span_are_doubted():
    """The 36 mm error: the levelling inferred a missing disc between two discs that are
    one level apart, so every name above is one level too high."""
    discs = [
        ("l1_l2", np.array([0.0, 0.0])),
        ("l3_l4", np.array([36.0, 0.0])),
        ("l4_l5", np.array([72.0, 0.0])),
        ("l5_s1", np.array([108.0, 0.0])),
    ]
    per, case, doubtful = _spacing_checks(discs)
    assert doubtful == {"l1_l2"} and list(per) == ["l1_l2"]
    assert "names skip 1 level(s) between L3/L4 and the disc above it (L1/L2)" in per["l1_l2"][0]
    assert "36 mm apart" in per["l1_l2"][0] and "1 level(s) too high" in case[0]
    # evenly spaced, consecutive names: nothing
    ok = [(n, np.array([36.0 * i, 0.0])) for i, n in enumerate(("l3_l4", "l4_l5", "l5_s1"))]
    assert _spacing_checks(ok) == ({}, [], set())
    # two discs 12 mm apart: a split disc or a fragment
    split = [("l4_l5", np.array([0.0, 0.0])), ("l5_s1", np.array([12.0, 0.0]))]
    assert "only 12 mm apart" in _spacing_checks(split)[0]["l4_l5"][0]


def test_a_disc_in_two_pieces_is_caught_by_spacing_and_size():
    """SPIDER patient 11 with the backbone: a thin L5/S1 segmented as two small blobs 23 mm
    apart, with no body between, named L4/L5 and L5/S1, so every name above was one level
    too high (35–38 mm off the expert's discs)."""
    names = ("l1_l2", "l2_l3", "l3_l4", "l4_l5", "l5_s1")
    discs = [(n, np.array([x, 0.0])) for n, x in zip(names, (0, 35, 70, 105, 128), strict=True)]
    per, case, doubtful = _spacing_checks(discs)
    assert list(per) == ["l4_l5"] and doubtful == set(names[:4])
    assert case[0].startswith(
        "L5/S1 and the disc above it (L4/L5) are only 23 mm apart; neighbouring spacing 35 mm"
    )
    assert "a disc split in two" in case[0]
    # 25 mm with neighbours of 35 mm: not below 0.7 × 35 = 24.5 mm, nothing
    ok = [(n, np.array([x, 0.0])) for n, x in zip(names, (0, 35, 70, 105, 130), strict=True)]
    assert _spacing_checks(ok) == ({}, [], set())
    table = pd.DataFrame(
        {
            "level": list(names),
            "kind": "disc",
            "voxels": [27586, 31814, 35752, 3472, 977],
            "truncated": False,
        }
    )
    frag = _fragment_checks(table)
    assert set(frag) == {"l4_l5", "l5_s1"}
    assert (
        frag["l5_s1"] == "disc only 4 % of the median disc's size: a fragment rather than a disc?"
    )


def test_implausible_sizes_lower_the_level(straight):
    """A 2.4 mm 'body' and a disc height index of 3.09 (the unseen patient's L3)."""
    p, g = straight
    bad = g.copy()
    bad.loc[bad["level"] == "l3", "body_height_mm"] = 2.4
    bad.loc[bad["level"] == "l2_l3", "disc_height_index"] = 3.09
    for col in ("checks", "case_confidence", "case_checks", "case_notes"):
        bad = bad.drop(columns=col)
    levelled = label_levels(p.mask, None)
    out, case_conf, case_checks = check_levels(bad, levelled.table, p.mask.array, p.mask.spacing)
    out = _by_level(out)
    assert out.loc["l3", "confidence"] == "medium"
    assert out.loc["l3", "checks"].startswith("body height 2.40 mm outside the plausible 12–40 mm")
    assert "disc height index 3.09 outside the plausible 0.05–1" in out.loc["l2_l3", "checks"]
    assert out.loc["l4", "confidence"] == "high" and case_conf == "medium"
    assert case_checks == "confidence lowered by the checks at l2_l3, l3"


def test_a_case_with_no_level_named_says_why():
    """A mask without discs (a scan the backbone found no disc in): the case check names
    the levelling's reason, not only that no level was named."""
    p = make_phantom()
    a = p.mask.array.copy()
    a[a == DISC] = 0
    g = spine_geometry(volume_from_array(a, p.mask.spacing), image=p.image)
    assert set(g["case_confidence"]) == {"none"}
    assert set(g["case_checks"]) == {"no level named (no disc found: levels cannot be named)"}


# --- a slice that misses the canal --------------------------------------------------------------


def test_a_slice_that_misses_the_canal_at_one_level_lowers_that_level():
    p = make_phantom(spacing=(1.0, 0.5, 0.5))
    a = p.mask.array.copy()
    x = np.arange(a.shape[0]) - (a.shape[0] - 1) / 2.0
    rows = np.flatnonzero((p.instances == instance_id("l4_l5")).any(axis=(0, 2)))
    lo, hi = rows.min() - 10, rows.max() + 10
    for k in np.flatnonzero(np.abs(x) < 5):  # the canal runs off-centre at L4/L5
        band = a[k, lo:hi]
        band[band == CANAL] = 0
    mid = a.shape[0] // 2
    g = _by_level(
        spine_geometry(volume_from_array(a, p.mask.spacing), image=p.image, mid_slice=mid)
    )
    assert np.isnan(g.loc["l4_l5", "canal_ap_mm"])
    assert g.loc["l4_l5", "confidence"] == "medium"
    assert g.loc["l4_l5", "checks"].startswith(f"the measured slice {mid} misses the canal")
    assert g.loc["l4_l5", "canal_stenosis"] == "not measured"
    assert (g.drop(index="l4_l5")["confidence"] == "high").all()
    assert g["case_confidence"].iloc[0] == "medium"


def test_a_lateral_stack_without_canal_lowers_the_case():
    p = make_phantom(lr_fov_mm=60.0)
    x = 2.0 * (np.arange(p.mask.shape[0]) - (p.mask.shape[0] - 1) / 2.0)
    keep = x > 9.0  # only slices lateral to the 16 mm wide canal
    sp = p.mask.spacing
    g = spine_geometry(
        volume_from_array(p.mask.array[keep], sp), image=volume_from_array(p.image.array[keep], sp)
    )
    assert (g["confidence"] == "medium").all()
    assert g["case_checks"].iloc[0].startswith("no canal on any slice: the stack misses the canal")
    assert g["checks"].str.contains("no canal on any slice").all()
    assert g["case_notes"].iloc[0] == (
        "the stack's 10 slices cover 20 mm; discs reach the first/last slice: volume not measured"
    )


# --- stenosis -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("ap", "cat"),
    [
        (9.99, "absolute"),
        (10.0, "relative"),
        (11.99, "relative"),
        (12.0, "none"),
        (np.nan, "not measured"),
    ],
)
def test_stenosis_from_ap_uses_verbiest_cut_offs(ap, cat):
    assert stenosis_from_ap(ap) == cat


@pytest.mark.parametrize(
    ("csa", "cat"), [(74.9, "absolute"), (75.0, "relative"), (99.9, "relative"), (100.0, "none")]
)
def test_stenosis_from_csa_uses_schonstrom_cut_offs(csa, cat):
    assert stenosis_from_csa(csa) == cat


def test_stenosis_category_and_cross_section_on_a_phantom():
    """Canal 16 mm wide; AP 9 and 11 mm at L2/L3 and L3/L4: the cross-section is AP × width
    (144 and 176 mm²) within one voxel of each end and one slice of width."""
    p = make_phantom(canal_ap_mm=(16.0, 9.0, 11.0, 14.0, 15.0))
    g = _by_level(spine_geometry(p.mask, image=p.image))
    assert g.loc["l2_l3", "canal_stenosis"] == "absolute"
    assert g.loc["l3_l4", "canal_stenosis"] == "relative"
    assert g.loc["l1_l2", "canal_stenosis"] == "none"
    assert g.loc["l2_l3", "canal_csa_mm2"] == pytest.approx(9.0 * 16.0, abs=0.5 * 16 + 2 * 9)
    assert g.loc["l3_l4", "canal_csa_mm2"] == pytest.approx(11.0 * 16.0, abs=0.5 * 16 + 2 * 11)
    basis = g.loc["l2_l3", "canal_stenosis_basis"]
    assert basis.startswith(STENOSIS_LABEL) and "canal AP 9.0 mm" in basis
    assert "→ none (Schönström" in basis  # 144 mm² is above both area cut-offs
    assert g.loc["l3", "canal_stenosis"] is np.nan or pd.isna(g.loc["l3", "canal_stenosis"])


def test_cross_section_not_measured_when_the_stack_does_not_allow():
    narrow = _by_level(spine_geometry(make_phantom(lr_fov_mm=12.0).mask))  # canal 16 mm wide
    assert narrow["canal_csa_mm2"].isna().all()
    assert "the canal reaches the first/last slice" in narrow.loc["l4_l5", "canal_stenosis_basis"]
    thick = _by_level(spine_geometry(make_phantom(spacing=(3.0, 0.5, 0.5)).mask))
    assert thick["canal_csa_mm2"].isna().all()
    assert f"at most {CSA_MAX_SLICE_MM:g} mm needed" in thick.loc["l4_l5", "canal_stenosis_basis"]
    assert thick.loc["l4_l5", "canal_stenosis"] in {"none", "relative", "absolute"}  # AP still


# --- front ends -------------------------------------------------------------------------------


def test_calculator_panel_shows_checks_and_the_measured_category(tmp_path):
    from prom.calculator.imaging import scan_features
    from radiomics_features.io import write_volume

    ph = make_phantom(canal_ap_mm=(16.0, 15.0, 14.0, 12.0, 8.0))
    write_volume(ph.image, tmp_path / "p_t2.nii.gz")
    write_volume(ph.mask, tmp_path / "p_mask.nii.gz")
    res = scan_features(
        tmp_path / "p_t2.nii.gz", "l5_s1", mask_path=tmp_path / "p_mask.nii.gz", radiomics=False
    )
    per = res.per_level.set_index("level")
    assert per.loc["l5_s1", "canal_stenosis"] == "absolute"
    assert (per["confidence"] == "high").all() and (per["checks"] == "").all()
    assert "Level names: confidence high (every plausibility check passed)" in res.notes
    canal = next(n for n in res.notes if n.startswith("Canal at L5/S1: absolute"))
    assert "not a radiologist's grade" in canal


def test_report_sentence_names_the_category_a_measurement():
    from prom.report.imaging_note import imaging_sentence

    said = imaging_sentence(["age_years", "img_index_canal_ap_mm"])
    assert said is not None and "not a radiologist's grade" in said
    assert imaging_sentence(["age_years"]) is None


def test_cli_writes_label_map_checks_and_timing(tmp_path):
    from typer.testing import CliRunner

    from prom.cli import app
    from radiomics_features.io import read_image, write_volume

    p = make_phantom(missing=("l3_l4", "l4"), truncate_superior_mm=50.0)
    (tmp_path / "mri").mkdir()
    write_volume(p.image, tmp_path / "mri" / "ph_001_t2.nii.gz")
    write_volume(p.mask, tmp_path / "mri" / "ph_001_mask.nii.gz")
    out, maps = tmp_path / "wide.csv", tmp_path / "maps"
    res = CliRunner().invoke(
        app,
        [
            "features",
            "--mri",
            str(tmp_path / "mri"),
            "--masks",
            str(tmp_path / "mri"),
            "--no-radiomics",
            "--out",
            str(out),
            "--label-map-out",
            str(maps),
        ],
    )
    assert res.exit_code == 0, res.output
    text = " ".join(res.output.split())
    assert "ph_001: " in text and "s (read " in text and "level confidence medium" in text
    assert "l3_l4 (medium): gap of 75 mm" in text
    wide = pd.read_csv(out, keep_default_na=False)
    assert wide.loc[0, "qc_l3_l4_confidence"] == "medium"
    assert wide.loc[0, "qc_case_confidence"] == "medium"
    assert wide.loc[0, "cat_l5_s1_canal_stenosis"] == "none"
    lm = read_image(maps / "ph_001_levels.nii.gz")
    ids = set(np.unique(lm.array).tolist())
    assert {100, 201, 202, 203, 1, 2}.issubset(ids)  # canal, three discs, L5 and 'L4'
    assert lm.array.shape == p.mask.shape


# --- real spines ------------------------------------------------------------------------------


@pytest.mark.skipif(not SPIDER.is_dir(), reason="SPIDER data not available (../shared/data)")
@pytest.mark.parametrize("pid", [5, 22])
def test_checks_stay_quiet_on_normal_spider_spines(pid):
    from radiomics_features.io import read_image_and_mask
    from radiomics_features.labels import to_three_class

    image, mask = read_image_and_mask(
        SPIDER / f"spider_{pid:03d}_t2.nii.gz", SPIDER / f"spider_{pid:03d}_mask.nii.gz"
    )
    g = spine_geometry(to_three_class(mask.array, "three_class"), image.spacing, image)
    named = g[g["confidence"] != "none"]
    assert len(named) == 10
    assert (named["checks"] == "").all(), named.loc[named["checks"] != "", ["level", "checks"]]
    assert set(g["case_confidence"]) == {"high"} and set(g["case_checks"]) == {""}
    assert "discs reach the first/last slice: volume not measured" in g["case_notes"].iloc[0]


@pytest.mark.slow
@pytest.mark.skipif(not SPIDER.is_dir(), reason="SPIDER data not available (../shared/data)")
def test_backbone_split_disc_on_spider_11_is_not_a_confident_wrong_level():
    """With the bundled backbone, SPIDER patient 11's thin L5/S1 comes out as two small
    blobs; the levelling names them L4/L5 and L5/S1, so every name above is one level too
    high. The checks must say so (benchmarks/spider_level_checks.py found it)."""
    pytest.importorskip("onnxruntime", reason="the backbone needs onnxruntime")
    from radiomics_features.backbone.inference import load_backbone, segment_volume
    from radiomics_features.io import read_image

    image = read_image(SPIDER / "spider_011_t2.nii.gz")
    seg = segment_volume(image.array, image.spacing, backbone=load_backbone(threads=1))
    g = _by_level(spine_geometry(seg, image.spacing, image))
    named = g[g["confidence"] != "none"]
    assert (named["confidence"] == "low").all()
    assert "a disc split in two or a fragment" in g.loc["l4_l5", "checks"]
    assert "fragment rather than a disc" in g.loc["l5_s1", "checks"]
    assert g["case_confidence"].iloc[0] == "low"
