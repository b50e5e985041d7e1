"""The DICOM series of a folder, described, and the one to read chosen by the user.

A PACS or CD export often puts every series of a study in one folder: a localiser, the
sagittal T1 and T2, the axial T2. Which of them is the sagittal T2 is the user's to say
(``series=``; ``prom features --series``), never guessed: a folder of several series
without a choice is refused with each series described by its Series Description, plane
(from Image Orientation (Patient)) and number of files, so the choice can be made from
the message. A choice is a Series Instance UID or a pattern matched against the Series
Description, ignoring case (``fnmatch``: ``*`` any text, ``?`` one character), and must
match exactly one series.
"""

from __future__ import annotations

import fnmatch
import os
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

__all__ = ["DicomSeries", "dicom_series", "describe_series", "series_labels", "choose_series"]

_TAGS = {"description": "0008|103e", "number": "0020|0011", "cosines": "0020|0037"}


@dataclass(frozen=True)
class DicomSeries:
    """One series of a folder: its UID, Series Description, Series Number, plane and files."""

    uid: str
    description: str
    number: str
    plane: str  # sagittal, coronal, axial, oblique, unknown or 'mixed: a and b'
    files: tuple[str, ...]

    def label(self, with_uid: bool = False) -> str:
        """``'T2_TSE_SAG' (sagittal, 18 files, series 3)``; the UID appended on request."""
        name = repr(self.description) if self.description else "(no description)"
        number = f", series {self.number}" if self.number else ""
        uid = f", UID {self.uid}" if with_uid else ""
        return f"{name} ({self.plane}, {len(self.files)} files{number}{uid})"


def _plane(cosines: str) -> str:
    """The acquisition plane from Image Orientation (Patient): the patient axis the slice
    normal runs along (LPS x: sagittal, y: coronal, z: axial); oblique beyond 35°."""
    try:
        v = np.array([float(x) for x in cosines.split("\\")])
        normal = np.cross(v[:3], v[3:6])
    except ValueError:
        return "unknown"
    if v.size != 6 or not np.isfinite(normal).all() or np.linalg.norm(normal) < 1e-6:
        return "unknown"
    normal = np.abs(normal) / np.linalg.norm(normal)
    if normal.max() < np.cos(np.radians(35)):
        return "oblique"
    return ("sagittal", "coronal", "axial")[int(np.argmax(normal))]


def dicom_series(folder: str | os.PathLike) -> list[DicomSeries]:
    """The series of the DICOM files in ``folder`` (not its subfolders), each described
    from the header of its first file.

    Finding a series' files re-reads the headers of the whole folder, once per series, so
    a study of many series takes a while; an upload lists its series and then reads one,
    so the answer is kept for a folder whose files (names, sizes, modification times)
    have not changed since."""
    return list(_dicom_series(str(folder), _files_key(folder)))


def _files_key(folder: str | os.PathLike[str]) -> tuple[tuple[str, int, int], ...]:
    """Name, size and modification time (ns) of each file in ``folder``."""
    try:
        entries = list(os.scandir(os.fspath(folder)))
    except OSError:
        return ()  # not a readable folder: the reader says so
    out = []
    for e in entries:
        try:
            if e.is_file():
                st = e.stat()
                out.append((e.name, st.st_size, st.st_mtime_ns))
        except OSError:
            continue  # vanished while listed
    return tuple(sorted(out))


@lru_cache(maxsize=4)
def _dicom_series(folder: str, files_key: tuple) -> tuple[DicomSeries, ...]:
    import SimpleITK as sitk  # imported here: the imaging extra is optional

    out = []
    for uid in sitk.ImageSeriesReader.GetGDCMSeriesIDs(folder):
        files = tuple(sitk.ImageSeriesReader.GetGDCMSeriesFileNames(folder, uid))
        meta = _header(files[0])
        plane = _plane(meta["cosines"]) if meta["cosines"] else "unknown"
        if len(files) > 1 and plane != "unknown":  # a localiser holds several planes
            # a short series (a localiser's few files) is read whole, a long one at its ends
            rest = files[1:] if len(files) <= 10 else files[-1:]
            planes = [plane] + [_plane(c) for f in rest if (c := _header(f)["cosines"])]
            seen = list(dict.fromkeys(planes))
            if len(seen) > 1:
                plane = "mixed: " + ", ".join(seen[:-1]) + " and " + seen[-1]
        out.append(DicomSeries(uid, meta["description"], meta["number"], plane, files))
    return tuple(out)


def _header(path: str) -> dict[str, str]:
    """The description, number and orientation tags of one file ('' where absent or
    unreadable: reading the series says what is wrong with it)."""
    import SimpleITK as sitk

    meta = dict.fromkeys(_TAGS, "")
    reader = sitk.ImageFileReader()
    reader.SetFileName(path)
    try:
        reader.ReadImageInformation()
        for key, tag in _TAGS.items():
            if reader.HasMetaDataKey(tag):
                meta[key] = reader.GetMetaData(tag).strip()
    except RuntimeError:
        pass
    return meta


def describe_series(found: list[DicomSeries]) -> dict[str, str]:
    """Series Instance UID → :meth:`DicomSeries.label` of each series, in order, with the
    UID in the label where descriptions repeat (so the labels tell every series apart)."""
    descriptions = [s.description for s in found]
    return {s.uid: s.label(with_uid=descriptions.count(s.description) > 1) for s in found}


def series_labels(folder: str | os.PathLike) -> dict[str, str]:
    """:func:`describe_series` of the DICOM series in ``folder``: Series Instance UID →
    label (``'T2_TSE_SAG' (sagittal, 15 files, series 3)``), in the reader's order."""
    return describe_series(dicom_series(folder))


def _listing(found: list[DicomSeries]) -> str:
    return "; ".join(describe_series(found).values())


def choose_series(
    found: list[DicomSeries], folder: str, what: str, series: str | None
) -> DicomSeries:
    """The one series to read from ``found`` (all of ``folder``'s), by ``series`` (a UID or
    a Series Description pattern) when given. Raises ``LookupError`` with the series
    listed when there is none to choose, several without a choice, or the choice matches
    none or several."""
    where = f"{what} folder {folder!r}"
    if series is None:
        if len(found) == 1:
            return found[0]
        how = (
            "Choose it by its description (prom features --series 'T2*SAG*', series= in "
            "Python; a pattern, any case) or its UID, or put each series in its own folder"
            if what == "image"
            else "A choice of series is for images only: put the mask's series in a "
            "folder of its own"
        )
        raise LookupError(
            f"{where} holds {len(found)} DICOM series: {_listing(found)}; expected one. {how}"
        )
    chosen = [s for s in found if s.uid == series.strip()] or [
        s for s in found if fnmatch.fnmatchcase(s.description.lower(), series.strip().lower())
    ]
    if len(chosen) == 1:
        return chosen[0]
    if not chosen:
        raise LookupError(
            f"{where}: series {series!r} matches no Series Description or UID of its "
            f"{len(found)} DICOM series: {_listing(found)}"
        )
    raise LookupError(
        f"{where}: series {series!r} matches {len(chosen)} of its DICOM series: "
        f"{_listing(chosen)}; expected one — narrow the pattern or give the UID"
    )
