"""A DICOM folder holding several series (a study exported as one folder): the series to
read is the user's choice, by Series Description pattern or UID, never a guess; without
a choice the refusal describes every series (description, plane, files) so the choice
can be made from the message; the series read is recorded with the features.
"""

from __future__ import annotations

import uuid
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

sitk = pytest.importorskip("SimpleITK", reason="SimpleITK (imaging extra) is not installed")

from prom.cli import app  # noqa: E402
from radiomics_features.io import ImageReadError, read_image, write_dicom_series  # noqa: E402
from radiomics_features.io.series import choose_series, dicom_series  # noqa: E402
from radiomics_features.phantoms import make_phantom  # noqa: E402
from radiomics_features.pipeline import extract_batch, find_cases  # noqa: E402
from radiomics_features.pipeline.case import sha256_of_path  # noqa: E402
from radiomics_features.pipeline.summary import case_lines  # noqa: E402

runner = CliRunner()


AXIAL = "1\\0\\0\\0\\1\\0"


def _write_axial(folder: Path, description: str = "T2_TSE_TRA") -> None:
    """Six axial slices (Image Orientation (Patient) 1\\0\\0\\0\\1\\0) in ``folder``."""
    _write_slices(folder, description, [AXIAL] * 6)


def _write_slices(folder: Path, description: str, cosines: list[str], prefix: str = "ax") -> None:
    """One series in ``folder``: a slice per Image Orientation (Patient) of ``cosines``."""
    img = sitk.GetImageFromArray(np.full((len(cosines), 24, 24), 100, np.int16))
    img.SetSpacing((0.7, 0.7, 4.0))
    series = "2.25." + str(uuid.uuid4().int)
    writer = sitk.ImageFileWriter()
    writer.KeepOriginalImageUIDOn()
    for k in range(img.GetDepth()):
        sl = img[:, :, k]
        pos = img.TransformIndexToPhysicalPoint((0, 0, k))
        for tag, value in {
            "0008|0060": "MR",
            "0008|103e": description,
            "0020|000e": series,
            "0008|0018": "2.25." + str(uuid.uuid4().int),
            "0020|0037": cosines[k],
            "0020|0032": "\\".join(f"{v:.6f}" for v in pos),
            "0020|0013": str(k + 1),
            "0020|0011": "7",
        }.items():
            sl.SetMetaData(tag, value)
        writer.SetFileName(str(folder / f"{prefix}_{k:04d}.dcm"))
        writer.Execute(sl)


@pytest.fixture(scope="module")
def study(tmp_path_factory):
    """One folder: the phantom as 'T2_TSE_SAG', its inverse as 'T1_TSE_SAG', an axial T2.

    The writer names every file slice_NNNN.dcm, so each sagittal series is written
    apart and moved in with a prefix.
    """
    root = tmp_path_factory.mktemp("study")
    p = make_phantom()
    inverse = replace(p.image, array=(p.image.array.max() - p.image.array).astype(np.int16))
    folder = root / "pat_01"
    folder.mkdir()
    for name, vol in (("T2_TSE_SAG", p.image), ("T1_TSE_SAG", inverse)):
        tmp = write_dicom_series(vol, root / name, description=name)
        for f in sorted(tmp.glob("*.dcm")):
            f.rename(folder / f"{name}_{f.name}")
    _write_axial(folder)
    return folder, p


def test_the_series_of_a_folder_are_described_with_their_plane(study):
    folder, p = study
    found = {s.description: s for s in dicom_series(folder)}
    assert sorted(found) == ["T1_TSE_SAG", "T2_TSE_SAG", "T2_TSE_TRA"]
    assert found["T2_TSE_SAG"].plane == "sagittal" and found["T2_TSE_TRA"].plane == "axial"
    assert len(found["T2_TSE_SAG"].files) == p.image.shape[0]
    assert found["T2_TSE_TRA"].label() == "'T2_TSE_TRA' (axial, 6 files, series 7)"


def test_several_series_without_a_choice_are_listed_not_guessed(study):
    folder, _ = study
    with pytest.raises(ImageReadError) as e:
        read_image(folder)
    msg = str(e.value)
    assert "holds 3 DICOM series" in msg and "expected one" in msg
    assert "'T2_TSE_SAG' (sagittal," in msg and "'T2_TSE_TRA' (axial, 6 files" in msg
    assert "--series 'T2*SAG*'" in msg and "UID" in msg


def test_a_pattern_or_the_uid_chooses_the_series_and_the_volume_records_it(study):
    folder, p = study
    vol = read_image(folder, series="t2*sag*")  # any case
    np.testing.assert_array_equal(vol.array, p.image.array)
    assert vol.series is not None and vol.series.description == "T2_TSE_SAG"
    t1 = read_image(folder, series=" T1_TSE_SAG ")
    np.testing.assert_array_equal(t1.array, p.image.array.max() - p.image.array)
    by_uid = read_image(folder, series=vol.series.uid)
    np.testing.assert_array_equal(by_uid.array, p.image.array)


def test_a_choice_matching_several_or_none_is_refused_with_the_series(study):
    folder, _ = study
    with pytest.raises(
        ImageReadError, match=r"series 't2\*' matches 2 of its DICOM series: .*narrow the pattern"
    ):
        read_image(folder, series="t2*")
    with pytest.raises(
        ImageReadError, match=r"series 'flair' matches no Series Description or UID of its 3"
    ):
        read_image(folder, series="flair")


def test_a_single_series_folder_still_checks_the_choice(tmp_path):
    folder = write_dicom_series(make_phantom().image, tmp_path / "one", description="T2_SAG")
    assert read_image(folder).series.description == "T2_SAG"
    with pytest.raises(ImageReadError, match="'t1\\*' matches no Series Description"):
        read_image(folder, series="t1*")


def test_duplicate_descriptions_are_told_apart_by_uid():
    from radiomics_features.io.series import DicomSeries

    a = DicomSeries("1.2.3", "T2_SAG", "3", "sagittal", ("a.dcm",))
    b = DicomSeries("1.2.4", "T2_SAG", "4", "sagittal", ("b.dcm",))
    with pytest.raises(LookupError, match=r"UID 1\.2\.3\).*UID 1\.2\.4\)"):
        choose_series([a, b], "f", "image", None)
    assert choose_series([a, b], "f", "image", "1.2.4") is b


def test_a_series_choice_for_a_file_is_refused(tmp_path):
    from radiomics_features.io import write_volume

    f = tmp_path / "scan.nii.gz"
    write_volume(make_phantom().image, f)
    with pytest.raises(ImageReadError, match="is a file; series='t2\\*' chooses a DICOM series"):
        read_image(f, series="t2*")


def test_the_batch_records_the_series_read_and_hashes_only_its_files(study, tmp_path):
    folder, p = study
    mask = tmp_path / "pat_01_mask.nii.gz"
    from radiomics_features.io import write_volume

    write_volume(p.mask, mask)
    with pytest.raises(ValueError, match="series is empty"):
        find_cases(folder, mask, series=" ")
    cases = find_cases(folder.parent, tmp_path, series="T2*SAG")
    [case] = [c for c in cases if c.patient_id == "pat_01"]
    assert case.series == "T2*SAG"
    res = extract_batch([case], radiomics=False)
    assert res.n_ok == 1, res.errors.to_dict("records")
    row = res.wide.iloc[0]
    assert row["prov_dicom_series"].startswith("'T2_TSE_SAG' (sagittal,")
    uid = row["prov_dicom_series_uid"]
    [sag] = [s for s in dicom_series(folder) if s.description == "T2_TSE_SAG"]
    assert uid == sag.uid
    assert row["prov_image_sha256"] == sha256_of_path(folder, sag.files)
    assert row["prov_image_sha256"] != sha256_of_path(folder)  # not the whole folder
    lines = case_lines(res.long, res.case_timings)
    assert any(line.startswith("  DICOM series read: 'T2_TSE_SAG'") for line in lines)


def test_without_a_choice_the_batch_fails_that_case_with_the_listing(study):
    folder, _ = study
    res = extract_batch(find_cases(folder), radiomics=False)
    assert res.n_failed == 1
    assert "holds 3 DICOM series" in res.errors.iloc[0]["message"]


def test_cli_series_on_files_is_refused(tmp_path):
    from radiomics_features.io import write_volume

    (tmp_path / "mri").mkdir()
    write_volume(make_phantom().image, tmp_path / "mri" / "a_t2.nii.gz")
    res = runner.invoke(
        app,
        [
            "features",
            "--mri",
            str(tmp_path / "mri"),
            "--series",
            "t2*",
            "--out",
            str(tmp_path / "o.csv"),
        ],
    )
    assert res.exit_code == 2
    assert "--series chooses a series in DICOM folders" in res.output
    assert not (tmp_path / "o.csv").exists()


def test_cli_series_reads_the_chosen_series(study, tmp_path):
    folder, p = study
    from radiomics_features.io import write_volume

    (tmp_path / "masks").mkdir()
    write_volume(p.mask, tmp_path / "masks" / "pat_01_mask.nii.gz")
    out = tmp_path / "f.csv"
    args = ["features", "--mri", str(folder), "--masks", str(tmp_path / "masks"), "--no-radiomics"]
    res = runner.invoke(app, [*args, "--series", "T2_TSE_SAG", "--out", str(out)])
    assert res.exit_code == 0, res.output
    assert "DICOM series read: 'T2_TSE_SAG' (sagittal" in res.output
    import pandas as pd

    assert pd.read_csv(out)["prov_dicom_series"].str.startswith("'T2_TSE_SAG'").all()


def test_a_mask_folder_of_several_series_is_not_pointed_at_series(study, tmp_path):
    folder, p = study
    from radiomics_features.io import read_image_and_mask

    one = write_dicom_series(p.image, tmp_path / "one")
    with pytest.raises(ImageReadError) as e:
        read_image_and_mask(one, folder)
    msg = str(e.value)
    assert msg.startswith("mask folder") and "holds 3 DICOM series" in msg
    assert "put the mask's series in a folder of its own" in msg and "--series" not in msg


def test_a_localiser_of_several_planes_is_described_as_mixed(tmp_path):
    """A three-plane localiser is one series whose files lie in different planes."""
    img = sitk.GetImageFromArray(np.full((1, 16, 16), 50, np.int16)[0])
    series = "2.25." + str(uuid.uuid4().int)
    writer = sitk.ImageFileWriter()
    writer.KeepOriginalImageUIDOn()
    orientations = ["0\\1\\0\\0\\0\\-1", "1\\0\\0\\0\\0\\-1", "1\\0\\0\\0\\1\\0"]
    for k, iop in enumerate(orientations):  # sagittal, coronal, axial
        sl = sitk.Image(img)
        for tag, value in {
            "0008|0060": "MR",
            "0008|103e": "Localizer",
            "0020|000e": series,
            "0008|0018": "2.25." + str(uuid.uuid4().int),
            "0020|0037": iop,
            "0020|0032": f"0\\0\\{k * 10}",
            "0020|0013": str(k + 1),
        }.items():
            sl.SetMetaData(tag, value)
        writer.SetFileName(str(tmp_path / f"loc_{k}.dcm"))
        writer.Execute(sl)
    [loc] = dicom_series(tmp_path)
    assert loc.description == "Localizer" and loc.plane.startswith("mixed: "), loc.plane
    assert len(loc.files) == 3


def test_a_folder_is_scanned_once_until_its_files_change(tmp_path, monkeypatch):
    """Listing the series and then reading one (an upload) scans the headers once; a
    file added or rewritten makes the next call scan again."""
    folder = write_dicom_series(make_phantom().image, tmp_path / "study", description="T2_SAG")
    scans = []
    real = sitk.ImageSeriesReader.GetGDCMSeriesIDs
    monkeypatch.setattr(
        sitk.ImageSeriesReader, "GetGDCMSeriesIDs", lambda d, *a: scans.append(d) or real(d, *a)
    )
    first = dicom_series(folder)
    vol = read_image(folder)  # the reader's own listing
    assert len(scans) == 1 and vol.series is not None and vol.series.uid == first[0].uid
    _write_axial(folder)  # a second series arrives
    assert {s.description for s in dicom_series(folder)} == {"T2_SAG", "T2_TSE_TRA"}
    assert len(scans) == 2
    victim = sorted(folder.glob("ax_*.dcm"))[0]
    victim.write_bytes(victim.read_bytes()[:-10])  # rewritten: size and time change
    dicom_series(folder)
    assert len(scans) == 3


def test_a_three_plane_localiser_is_described_with_every_plane(tmp_path):
    """A localiser's three files are axial, coronal and sagittal: all three are named
    (only the first and last file were compared, which gave 'axial and sagittal')."""
    planes = [AXIAL, "1\\0\\0\\0\\0\\-1", "0\\1\\0\\0\\0\\-1"]
    _write_slices(tmp_path, "localizer", planes, prefix="loc")
    (found,) = dicom_series(tmp_path)
    assert found.plane == "mixed: axial, coronal and sagittal"
