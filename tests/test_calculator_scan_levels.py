"""A measured scan in the calculator (AppTest, uploads by key): the index level's values
follow the level chosen; a level that fails the scan's own plausibility checks, or whose
name has low confidence, fills nothing and says why; a failed upload clears the previous
scan's results; upload messages name the file, not a class or a library.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

pytest.importorskip("streamlit", reason="the calculator needs the app extra (streamlit)")
pytest.importorskip("SimpleITK", reason="scan features need the imaging extra")
pytest.importorskip("onnxruntime", reason="the backbone needs onnxruntime")
from streamlit.testing.v1 import AppTest

from prom.calculator.imaging import scan_features, scan_features_from_upload

APP = str(Path(__file__).resolve().parents[1] / "apps" / "calculator.py")
INPUTS = (
    "disc_height_mm",
    "disc_height_index",
    "canal_ap_mm",
    "disc_csf_signal_ratio",
    "firstorder_entropy",
    "glcm_contrast",
    "glcm_correlation",
)


@pytest.fixture(scope="module")
def phantom(tmp_path_factory) -> tuple[str, bytes]:
    """phantom_001 of ``prom phantoms --n 1`` (seed 0), as the user test made it: its
    L4/L5 measures a disc height of 23 mm, index 2.58 — outside the plausible ranges."""
    from typer.testing import CliRunner

    from prom.cli import app

    out = tmp_path_factory.mktemp("phantoms")
    res = CliRunner().invoke(app, ["phantoms", "--n", "1", "--out", str(out)])
    assert res.exit_code == 0, res.output
    path = out / "phantom_001_t2.nii.gz"
    return path.name, path.read_bytes()


def scan_app(index_level: str) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=300)
    at.run()
    at.selectbox(key="in_index_level").select(index_level)
    at.radio(key="imaging_source").set_value("compute from a sagittal T2 scan").run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def upload(at: AppTest, name: str, data: bytes) -> AppTest:
    at.file_uploader(key="scan_upload").set_value((name, data, "application/octet-stream"))
    at.run()
    at.button(key="scan_extract").click().run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def value(at: AppTest, feature: str):
    return at.number_input(key=f"in_img_index_{feature}").value


def test_an_implausible_level_fills_nothing_and_says_why(phantom):
    at = upload(scan_app("l4_l5"), *phantom)
    assert all(value(at, f) is None for f in INPUTS), {f: value(at, f) for f in INPUTS}
    (warning,) = [w.value for w in at.warning if "values from the scan not filled in" in w.value]
    assert warning.startswith(
        "L4/L5 values from the scan not filled in: disc height 23 mm is outside the "
        "plausible 2–20 mm; disc height index 2.58 is outside the plausible 0.05–1 (the "
        "scan's level checks)"
    ), warning
    assert not at.error  # no contract message about a value the user never typed
    # the level measured at L5/S1 is plausible with high confidence: choosing it fills it
    at.selectbox(key="in_index_level").select("l5_s1").run()
    assert not at.exception
    direct = scan_features_from_upload([phantom], "l5_s1").index_values
    assert value(at, "disc_height_mm") == pytest.approx(direct["img_index_disc_height_mm"])
    assert value(at, "canal_ap_mm") == pytest.approx(direct["img_index_canal_ap_mm"])
    assert any("the index level L5/S1 fills the inputs" in c.value for c in at.caption)
    assert any(i.value.startswith("Index level changed from L4/L5 to L5/S1") for i in at.info)
    assert not [w for w in at.warning if "values from the scan not filled in" in w.value]
    # the per-level table: a column per level, every row visible, "none" said plainly
    (table,) = [t.value for t in at.table if "L5/S1 ◀ index" in t.value.columns]
    assert list(table.columns) == ["L1/L2", "L2/L3", "L3/L4", "L4/L5", "L5/S1 ◀ index"]
    assert {"level confidence", "canal stenosis (measured)"} <= set(table.index)
    assert table.loc["canal stenosis (measured)", "L5/S1 ◀ index"] == "no stenosis"


def test_a_failed_upload_clears_the_previous_scan_and_names_the_file(phantom):
    at = upload(scan_app("l5_s1"), *phantom)
    assert value(at, "disc_height_mm") is not None
    at = upload(at, "notes.mha", b"meeting notes, not an image\n" * 20)
    (error,) = [e.value for e in at.error]
    assert error == (
        "Scan not read: 'notes.mha' could not be read as an image; expected NIfTI, MHA, "
        "NRRD or a DICOM series folder"
    )
    assert all(value(at, f) is None for f in INPUTS)
    assert not [t for t in at.table if "L5/S1 ◀ index" in t.value.columns]
    assert any(
        i.value.startswith(
            "The per-level table and the imaging values filled in from phantom_001_t2.nii.gz "
            "were cleared: notes.mha was not read"
        )
        for i in at.info
    ), [i.value for i in at.info]


def test_an_empty_file_is_said_once_and_no_file_is_said_as_such():
    at = scan_app("l4_l5")
    at.button(key="scan_extract").click().run()
    (error,) = [e.value for e in at.error]
    assert error.startswith("Scan not read: no scan file uploaded; expected one of .nii.gz")
    at.file_uploader(key="scan_upload").set_value(("empty.nii.gz", b"", "application/gzip"))
    at.run()
    assert [e.value for e in at.error] == ["Upload not read: 'empty.nii.gz' is empty"]
    assert at.button(key="scan_extract").disabled


def test_a_level_read_again_from_the_same_scan(tmp_path):
    """:meth:`ScanFeatures.at_level` gives what a fresh extraction at that level gives;
    a level of low confidence is withheld whatever its sizes."""
    from radiomics_features.io import write_volume
    from radiomics_features.phantoms import make_phantom

    ph = make_phantom(
        disc_heights_mm=(8.0, 9.0, 10.0, 11.0, 12.0), canal_ap_mm=(16.0, 15.0, 14.0, 12.0, 10.0)
    )
    write_volume(ph.image, tmp_path / "p_t2.nii.gz")
    write_volume(ph.mask, tmp_path / "p_mask.nii.gz")
    kw = {"mask_path": tmp_path / "p_mask.nii.gz", "radiomics": False}
    at_l5 = scan_features(tmp_path / "p_t2.nii.gz", "l5_s1", **kw)
    at_l3 = scan_features(tmp_path / "p_t2.nii.gz", "l3_l4", **kw)
    again = at_l5.at_level("l3_l4")
    assert again.index_level == "l3_l4" and again.withheld is None
    assert again.index_values == at_l3.index_values
    assert again.notes == at_l3.notes
    assert again.index_values["img_index_disc_height_mm"] == pytest.approx(10.0, abs=1e-6)
    per = at_l5.per_level.copy()
    per.loc[per["level"] == "l3_l4", "confidence"] = "low"
    doubtful = dataclasses.replace(at_l5, per_level=per).at_level("l3_l4")
    assert all(v is None for v in doubtful.index_values.values())
    assert doubtful.withheld is not None and doubtful.withheld.startswith(
        "L3/L4 values from the scan not filled in: the scan's level checks give this "
        "level's name low confidence"
    )
    with pytest.raises(ValueError, match="index_level='s1'"):
        at_l5.at_level("s1")
