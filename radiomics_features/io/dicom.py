"""DICOM series: finding them in a folder, reading one, writing a Volume as one.

A DICOM image is a folder holding one series (one file per slice), or several of which
the user names one (:mod:`radiomics_features.io.series`); several without a choice are
refused, each described.
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import numpy as np

from radiomics_features.io.errors import ImageReadError, sitk_error_summary
from radiomics_features.io.part10 import (
    HEAD_BYTES,
    class_name,
    is_image_class,
    is_part10,
    read_media_class,
)
from radiomics_features.io.series import DicomSeries, choose_series, dicom_series
from radiomics_features.io.volume import Volume
from radiomics_features.io.writing import volume_to_sitk

__all__ = ["dicom_series_ids", "read_dicom_series", "unread_image_files", "write_dicom_series"]


def dicom_series_ids(folder: str | os.PathLike) -> list[str]:
    """The DICOM series instance UIDs of the files in ``folder`` (not its subfolders)."""
    import SimpleITK as sitk  # imported here: the imaging extra is optional

    return list(sitk.ImageSeriesReader.GetGDCMSeriesIDs(str(folder)))


def read_dicom_series(folder: Path, what: str, series: str | None = None):
    """The SimpleITK image of one DICOM series in ``folder`` and its
    :class:`~radiomics_features.io.series.DicomSeries`: the only one, or the one
    ``series`` (a UID or a Series Description pattern) chooses
    (:func:`~radiomics_features.io.series.choose_series`); ``what`` (``image`` or
    ``mask``) names it in the :class:`~radiomics_features.io.errors.ImageReadError`."""
    import SimpleITK as sitk

    found = dicom_series(folder)
    unread = unread_image_files(folder, found)
    if not found:
        raise ImageReadError(
            f"{what} folder {str(folder)!r} holds no DICOM series"
            + (f": {_unread_text(unread)}" if unread else "")
            + "; expected a folder of DICOM slice files"
        )
    try:
        chosen = choose_series(found, str(folder), what, series)
    except LookupError as exc:
        raise ImageReadError(str(exc)) from None
    if unread:
        raise ImageReadError(
            f"{what} DICOM series {chosen.label()} in {str(folder)!r} may be incomplete: "
            f"{_unread_text(unread)}. A slice the reader cannot read is left out of its "
            "series without a word, and at either end of the series it leaves no gap to "
            "find: the volume would be read a slice short. Copy the series again, or "
            "remove the file(s) if they belong to no series you read"
        )
    files = list(chosen.files)
    reader = sitk.ImageSeriesReader()
    reader.SetFileNames(files)
    reader.MetaDataDictionaryArrayUpdateOn()
    try:
        img = reader.Execute()
    except RuntimeError as exc:
        raise ImageReadError(
            f"{what} DICOM series {chosen.label()} in {str(folder)!r} could not be read "
            f"({sitk_error_summary(exc)})"
        ) from exc
    _check_slice_spacing(reader, files, folder, what)
    return img, chosen


def unread_image_files(folder: Path, found: list[DicomSeries]) -> list[tuple[str, str]]:
    """The files of ``folder`` that are DICOM Part 10 files of an image class
    (:mod:`radiomics_features.io.part10`) yet in none of the series the reader ``found``
    — cut short or damaged — each with what its header says it is, by file name.
    Files that are not Part 10 (a README, a viewer) and non-image objects (a DICOMDIR, a
    structured report) are not counted."""
    placed = {Path(f).name for s in found for f in s.files}
    out = []
    for p in sorted(Path(folder).iterdir()):
        if p.name in placed or not p.is_file():
            continue
        with open(p, "rb") as fh:
            head = fh.read(HEAD_BYTES)
        if not is_part10(head):
            continue
        uid = read_media_class(head)
        if uid is None:
            out.append((p.name, "its file meta information is cut short or damaged"))
        elif is_image_class(uid):
            out.append((p.name, f"{class_name(uid)}, cut short or damaged"))
    return out


def _unread_text(unread: list[tuple[str, str]]) -> str:
    shown = "; ".join(f"{name} ({why})" for name, why in unread[:3])
    more = f" and {len(unread) - 3} more" if len(unread) > 3 else ""
    n = len(unread)
    return f"{n} DICOM image file{'s' if n > 1 else ''} could not be read: {shown}{more}"


def _check_slice_spacing(reader, files, folder: Path, what: str) -> None:
    """Refuse a series whose slices are not evenly spaced: a slice missing (a gap twice
    the others) or one position held twice. ITK reads such a series with one averaged
    spacing and a warning on the console only (a series of 24 slices 2 mm apart, one
    deleted, became 23 slices 2.09 mm apart), so every later measurement across slices
    would be off. Positions are the slices' Image Position (Patient) along the normal of
    their Image Orientation (Patient); a series without them is left to ITK."""
    if len(files) < 3:
        return

    def vector(i: int, tag: str) -> np.ndarray:
        return np.array([float(v) for v in reader.GetMetaData(i, tag).split("\\")])

    try:
        cosines = vector(0, "0020|0037")  # Image Orientation (Patient): row, column
        normal = np.cross(cosines[:3], cosines[3:6])
        at = np.array([float(vector(i, "0020|0032") @ normal) for i in range(len(files))])
    except (RuntimeError, ValueError, IndexError):
        return
    order = np.argsort(at)
    gaps = np.diff(at[order])
    step = float(np.median(gaps))
    if step <= 0:
        return
    odd = np.flatnonzero(np.abs(gaps - step) > max(0.1 * step, 0.01))
    if odd.size:
        shown = []
        for k in odd[:3]:
            a, b = (Path(files[order[j]]).name for j in (k, k + 1))
            shown.append(f"{gaps[k]:.2f} mm between {a} and {b}")
        more = f" (and {odd.size - 3} more)" if odd.size > 3 else ""
        raise ImageReadError(
            f"{what} DICOM series in {str(folder)!r} is not evenly spaced: its slices are "
            f"{step:.2f} mm apart but {'; '.join(shown)}{more} — a slice missing, or one "
            "held twice; read as it is, the slices would be spread evenly over the gap and "
            "every measurement across them would be off. Copy the whole series again"
        )


def write_dicom_series(
    volume: Volume,
    folder: str | os.PathLike,
    *,
    modality: str = "MR",
    description: str = "spine-prom volume",
) -> Path:
    """Write a Volume as a sagittal DICOM series (one file per slice) in ``folder``.

    Integer arrays only (DICOM stores integers); each slice carries the position,
    orientation, spacing and instance number so a series reader rebuilds the volume.
    """
    import SimpleITK as sitk

    a = np.asarray(volume.array)
    if not np.issubdtype(a.dtype, np.integer):
        raise TypeError(f"DICOM stores integer pixels; got dtype {a.dtype} (cast first)")
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    img = volume_to_sitk(volume)
    d = img.GetDirection()
    iop = "\\".join(f"{v:g}" for v in (d[0], d[3], d[6], d[1], d[4], d[7]))
    root = "2.25."
    study, series = root + str(uuid.uuid4().int), root + str(uuid.uuid4().int)
    writer = sitk.ImageFileWriter()
    writer.KeepOriginalImageUIDOn()
    for k in range(img.GetDepth()):
        sl = img[:, :, k]
        pos = img.TransformIndexToPhysicalPoint((0, 0, k))
        tags = {
            "0008|0060": modality,
            "0008|103e": description,
            "0020|000d": study,
            "0020|000e": series,
            "0008|0018": root + str(uuid.uuid4().int),
            "0020|0037": iop,
            "0020|0032": "\\".join(f"{v:.6f}" for v in pos),
            "0020|0013": str(k + 1),
            "0018|0050": f"{volume.spacing[0]:g}",
            "0018|0088": f"{volume.spacing[0]:g}",
        }
        for tag, value in tags.items():
            sl.SetMetaData(tag, value)
        writer.SetFileName(str(out / f"slice_{k:04d}.dcm"))
        writer.Execute(sl)
    return out
