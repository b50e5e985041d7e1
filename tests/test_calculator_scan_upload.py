"""A scan uploaded to the calculator as a PACS or CD export gives it: the DICOM files of a
series, or a zip archive of a whole study. The series to measure is the user's choice
when the upload holds several; files of the archive that are not DICOM are skipped and
said to be; an archive that is not a zip, is encrypted, or is too large is refused by
name; nothing is written outside the private staging folder, which is removed.
"""

from __future__ import annotations

import io
import uuid
import zipfile
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

sitk = pytest.importorskip("SimpleITK", reason="scan features need the imaging extra")

from prom.calculator import scan_upload  # noqa: E402
from prom.calculator.imaging import scan_features_from_upload  # noqa: E402
from prom.calculator.scan_upload import staged_upload, upload_series  # noqa: E402
from radiomics_features.io import write_dicom_series, write_volume  # noqa: E402
from radiomics_features.phantoms import make_phantom  # noqa: E402


def _axial(folder: Path) -> list[Path]:
    """Four axial slices of a second series in ``folder``."""
    img = sitk.GetImageFromArray(np.full((4, 16, 16), 100, np.int16))
    series = "2.25." + str(uuid.uuid4().int)
    writer = sitk.ImageFileWriter()
    writer.KeepOriginalImageUIDOn()
    out = []
    for k in range(img.GetDepth()):
        sl = img[:, :, k]
        for tag, value in {
            "0008|0060": "MR",
            "0008|103e": "T2_TSE_TRA",
            "0020|000e": series,
            "0008|0018": "2.25." + str(uuid.uuid4().int),
            "0020|0037": "1\\0\\0\\0\\1\\0",
            "0020|0032": f"0\\0\\{4.0 * k:.1f}",
            "0020|0013": str(k + 1),
            "0020|0011": "7",
        }.items():
            sl.SetMetaData(tag, value)
        out.append(folder / f"ax_{k:04d}.dcm")
        writer.SetFileName(str(out[-1]))
        writer.Execute(sl)
    return out


@pytest.fixture(scope="module")
def study(tmp_path_factory):
    """The phantom as 'T2_TSE_SAG' and its inverse as 'T1_TSE_SAG' (DICOM files), an axial
    series, and the zip archive of all three with a DICOMDIR-like index and a text file
    under a folder, as a CD export holds them."""
    root = tmp_path_factory.mktemp("upload")
    p = make_phantom()
    inverse = replace(p.image, array=(p.image.array.max() - p.image.array).astype(np.int16))
    t2 = sorted(write_dicom_series(p.image, root / "t2", description="T2_TSE_SAG").glob("*"))
    t1 = sorted(write_dicom_series(inverse, root / "t1", description="T1_TSE_SAG").glob("*"))
    (root / "ax").mkdir()
    ax = _axial(root / "ax")
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for i, f in enumerate([*t2, *t1, *ax]):
            zf.write(f, f"STUDY/SE{i // 100}/IM{i:04d}")  # PACS names: no extension
        zf.writestr("DICOMDIR", b"not a part-10 file")
        zf.writestr("README.TXT", b"viewer on this disc")
        zf.writestr("STUDY/", b"")
    return {
        "t2": [(f.name, f.read_bytes()) for f in t2],
        "t2_dir": root / "t2",
        "zip": [("study.zip", buf.getvalue())],
        "phantom": p,
    }


def test_the_dicom_files_of_one_series_are_measured(study):
    # L4/L5: the backbone takes the phantom's thin L5/S1 for a fragment (low confidence),
    # whose values the calculator does not fill in
    res = scan_features_from_upload(study["t2"], "l4_l5", radiomics=False)
    assert "l4_l5" in res.levels_found and res.withheld is None
    assert res.index_values["img_index_disc_height_mm"] is not None
    assert res.notes[0].startswith("DICOM series read: 'T2_TSE_SAG' (sagittal,")


def test_the_scan_is_read_in_a_process_of_its_own(study, monkeypatch):
    """The upload is measured in a child process (a native crash there is a message, not
    the server's end): a time limit shorter than the work stops the child, and the user
    reads why; this process's own imaging state is untouched. The same features come
    back as when measured here."""
    from prom.calculator import imaging

    here = imaging.scan_features(study["t2_dir"], "l4_l5", radiomics=False)
    there = scan_features_from_upload(study["t2"], "l4_l5", radiomics=False)
    assert here.index_values["img_index_disc_height_mm"] is not None
    assert there.index_values == here.index_values
    monkeypatch.setattr(imaging, "SCAN_TIMEOUT_S", 0.05)
    with pytest.raises(ValueError, match=r"the process reading the upload was still working"):
        scan_features_from_upload(study["t2"], "l5_s1", radiomics=False)


def test_a_study_archive_lists_its_series_and_the_choice_is_the_users(study):
    options = upload_series(study["zip"])
    labels = sorted(options.values())
    assert [x.split(" (")[0] for x in labels] == ["'T1_TSE_SAG'", "'T2_TSE_SAG'", "'T2_TSE_TRA'"]
    assert any(x.startswith("'T2_TSE_TRA' (axial, 4 files") for x in labels)
    with pytest.raises(ValueError, match=r"the upload holds 3 DICOM series: .*choose the sagittal"):
        scan_features_from_upload(study["zip"], "l5_s1", radiomics=False)
    with pytest.raises(ValueError, match=r"\(UID 9\.9\) is not in this upload; it holds 3 DICOM"):
        scan_features_from_upload(study["zip"], "l5_s1", series="9.9", radiomics=False)
    t2 = next(uid for uid, label in options.items() if label.startswith("'T2_TSE_SAG'"))
    res = scan_features_from_upload(study["zip"], "l4_l5", series=t2, radiomics=False)
    direct = scan_features_from_upload(study["t2"], "l4_l5", radiomics=False)
    assert direct.index_values["img_index_disc_height_mm"] is not None
    assert res.index_values == direct.index_values  # the same series, the same numbers
    assert (
        res.notes[-1]
        == "2 files of the archive are not DICOM and were skipped: DICOMDIR, README.TXT"
    )


def test_uploads_that_are_not_a_scan_are_refused_by_name(study, tmp_path):
    vol = tmp_path / "scan.nii.gz"
    write_volume(study["phantom"].image, vol)
    nifti = ("scan.nii.gz", vol.read_bytes())
    cases = [
        ([], "no file uploaded"),
        ([("scan.dcm", b"")], "'scan.dcm' is empty"),
        ([("scan.dcm", b"abc" * 100)], r"'scan.dcm' is not a DICOM file \(no 'DICM' marker"),
        ([("notes.txt", b"abc")], "'notes.txt' is not a scan file this calculator reads"),
        ([nifti, study["t2"][0]], r"2 files uploaded \('scan.nii.gz', 'slice_0000.dcm'\)"),
        ([("study.zip", b"PK not a zip")], "'study.zip' is not a readable zip archive"),
        ([("empty.zip", _zip({"a.txt": b"x"}))], "'empty.zip' holds no DICOM file"),
    ]
    for files, match in cases:
        with pytest.raises(ValueError, match=match):
            scan_features_from_upload(files, "l5_s1", radiomics=False)
    with pytest.raises(ValueError, match="a series is chosen for DICOM uploads only"):
        scan_features_from_upload([nifti], "l5_s1", series="1.2", radiomics=False)


def test_an_encrypted_or_oversized_archive_is_refused(study, monkeypatch):
    data = _zip({"a.dcm": study["t2"][0][1]})
    # the general-purpose flag's bit 0 (encrypted) in the local and the central header
    flagged = bytearray(data)
    for sig, at in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):
        i = flagged.index(sig) + at
        flagged[i] |= 1
    with pytest.raises(ValueError, match=r"'s\.zip' is encrypted"):
        scan_features_from_upload([("s.zip", bytes(flagged))], "l5_s1")
    monkeypatch.setattr(scan_upload, "MAX_FILES", 3)
    with pytest.raises(ValueError, match=r"'study.zip' holds \d+ files; at most 3 are read"):
        scan_features_from_upload(study["zip"], "l5_s1")
    monkeypatch.setattr(scan_upload, "MAX_FILES", 5000)
    monkeypatch.setattr(scan_upload, "MAX_BYTES", 1 << 20)
    with pytest.raises(ValueError, match=r"'study.zip' unpacks to .* GiB; at most"):
        scan_features_from_upload(study["zip"], "l5_s1")


def test_member_paths_never_leave_the_staging_folder(study, tmp_path, monkeypatch):
    made = []
    real = scan_upload.tempfile.mkdtemp

    def spy(**kw):
        made.append(Path(real(dir=tmp_path, prefix=kw.get("prefix", ""))))
        return str(made[-1])

    monkeypatch.setattr(scan_upload.tempfile, "mkdtemp", spy)
    evil = _zip({"../../escaped.dcm": study["t2"][0][1], "/abs/x.dcm": study["t2"][1][1]})
    with staged_upload([("evil.zip", evil)]) as staged:
        inside = sorted(p.name for p in staged.path.iterdir())
        assert staged.kind == "dicom" and inside == ["00000.dcm", "00001.dcm"]
    assert made and not made[0].exists()  # removed on the way out
    assert sorted(p.name for p in tmp_path.iterdir()) == []  # and nothing beside it


def _zip(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return buf.getvalue()


def test_a_series_with_a_broken_file_is_refused_naming_the_users_files(study):
    """A file cut short is left out by the DICOM reader; the file is named, by the user's
    name for it (of the upload or of the archive), not the staging folder's."""
    files = list(study["t2"])
    name, data = files[5]
    files[5] = (name, data[: len(data) // 2])
    with pytest.raises(ValueError) as e:
        scan_features_from_upload(files, "l5_s1", radiomics=False)
    msg = str(e.value)
    assert "could not be read: 'slice_0005.dcm' (MR Image Storage, cut short" in msg
    assert "in the upload may be incomplete" in msg and "prom-scan-" not in msg
    archive = _zip({f"EXPORT/IM{i:04d}": d for i, (_, d) in enumerate(files)})
    with pytest.raises(ValueError, match=r"could not be read: 'EXPORT/IM0005' \(MR Image"):
        scan_features_from_upload([("export.zip", archive)], "l5_s1", radiomics=False)
