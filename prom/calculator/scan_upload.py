"""A scan uploaded to the calculator, staged for extraction: one volume file, the files of
a DICOM series, or a zip archive of them (as a PACS or a CD export gives a study).

:func:`staged_upload` writes the upload to a private temporary directory (mode 0700, in
memory under ``/dev/shm`` where available) and removes it when the extraction ends,
whether it succeeded or not:

- one ``.nii``/``.nii.gz``/``.mha``/``.nrrd`` file: read as it is;
- ``.dcm`` files: each must be a DICOM Part 10 file (``DICM`` at byte 128); they are
  written under numbered names into one folder, read as a DICOM folder;
- one ``.zip`` archive: its DICOM files (any name, any subfolder of the archive) are
  written the same way; other members (a viewer program, a ``DICOMDIR`` index, text) are
  skipped and counted. The archive is refused when it is not a zip, is encrypted, holds
  more than :data:`MAX_FILES` files or more than :data:`MAX_BYTES` once unpacked (each
  member is read up to the size its header declares, so an archive cannot unpack to more).
  Member paths are never used as paths: nothing is written outside the staging folder.

A DICOM folder with several series (localiser, sagittal T1 and T2, axial) is listed by
:func:`upload_series` (:func:`series_labels` of a staged folder); which one is the sagittal T2 is the user's to choose (the calculator
shows the list), never guessed. Nothing is read from a file whose bytes a check refuses.
"""

from __future__ import annotations

import io
import os
import re
import shutil
import tempfile
import zipfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from radiomics_features.io.part10 import is_part10
from radiomics_features.io.series import series_labels

__all__ = [
    "MAX_BYTES",
    "MAX_FILES",
    "SCAN_SUFFIXES",
    "UPLOAD_TYPES",
    "StagedScan",
    "staged_upload",
    "series_labels",
    "upload_series",
]

#: Single-file volume formats an upload may have.
SCAN_SUFFIXES: tuple[str, ...] = (".nii.gz", ".nii", ".mha", ".nrrd")
#: File types the calculator's uploader accepts (``.gz`` for ``.nii.gz``).
UPLOAD_TYPES: tuple[str, ...] = ("nii", "gz", "mha", "nrrd", "dcm", "zip")
#: Most DICOM files one upload may hold (a lumbar study is a few hundred).
MAX_FILES = 5000
#: Most bytes one upload may unpack to.
MAX_BYTES = 2 << 30

_STAGED_NAME = re.compile(r"\b(\d{5})\.dcm\b")
#: An imaging library's own error text in a reader's message: ``(sitk::ERROR: …)``.
_LIBRARY_DETAIL = re.compile(r" ?\([^()]*\bs?itk::ERROR\b[^()]*\)")


@dataclass(frozen=True)
class StagedScan:
    """Where a staged upload is (``path``: the volume file or the DICOM folder), what it is
    (``kind``: ``"volume"`` or ``"dicom"``), the user's name of each DICOM file staged
    (``origin``) and which files of a zip archive were skipped as not DICOM."""

    path: Path
    kind: str
    skipped: tuple[str, ...] = ()
    origin: tuple[str, ...] = ()  # the user's name of each staged DICOM file, in order
    name: str | None = None  # the user's name of a volume file

    def told(self, text: str) -> str:
        """A reader's message about the staged files said of the upload: a volume file by
        the user's name for it, the staging folder as "the upload", each staged DICOM
        file by the user's name for it; an imaging library's own error text (ITK's
        ``sitk::ERROR: …`` in parentheses) left out — it names the library, not the
        file's problem."""
        text = _LIBRARY_DETAIL.sub("", text)
        if self.name is not None:
            text = text.replace(f"image '{self.path}'", repr(self.name))
            text = text.replace(f"'{self.path}'", repr(self.name))
            text = text.replace(str(self.path), repr(self.name))
        text = text.replace(f"'{self.path}'", "the upload").replace(str(self.path), "the upload")
        if not self.origin:
            return text
        return _STAGED_NAME.sub(
            lambda m: (
                repr(self.origin[int(m.group(1))])
                if int(m.group(1)) < len(self.origin)
                else m.group(0)
            ),
            text,
        )

    def skipped_note(self) -> str | None:
        """``"3 files of the archive are not DICOM and were skipped: DICOMDIR, …"``."""
        if not self.skipped:
            return None
        names = ", ".join(self.skipped[:5]) + (", …" if len(self.skipped) > 5 else "")
        if len(self.skipped) == 1:
            return f"1 file of the archive is not DICOM and was skipped: {names}"
        return f"{len(self.skipped)} files of the archive are not DICOM and were skipped: {names}"


def _suffix(name: str) -> str | None:
    lower = name.lower()
    return next((s for s in SCAN_SUFFIXES if lower.endswith(s)), None)


def _names(files: Sequence[tuple[str, bytes]]) -> str:
    shown = ", ".join(repr(n) for n, _ in files[:3])
    return shown + (f", … ({len(files)} files)" if len(files) > 3 else "")


@contextmanager
def staged_upload(files: Sequence[tuple[str, bytes]]) -> Iterator[StagedScan]:
    """The upload (``(file name, bytes)`` pairs) written where the pipeline can read it,
    removed on exit. :class:`ValueError` naming the file and what was expected when the
    upload is not one volume file, DICOM files, or one zip archive of a DICOM series."""
    files = [(os.path.basename(name or ""), data) for name, data in files]
    if not files:
        raise ValueError("no file uploaded")
    for name, data in files:
        if not data:
            raise ValueError(f"{name or 'the upload'!r} is empty")
    volumes = [f for f in files if _suffix(f[0])]
    archives = [f for f in files if f[0].lower().endswith(".zip")]
    if volumes or archives:
        if len(files) > 1:
            raise ValueError(
                f"{len(files)} files uploaded ({_names(files)}): upload one volume file "
                "(NIfTI, MHA or NRRD), one zip archive of a DICOM series, or the DICOM "
                "files of one series, not several of these"
            )
    else:
        other = [n for n, _ in files if not n.lower().endswith(".dcm")]
        if other:
            raise ValueError(
                f"{other[0]!r} is not a scan file this calculator reads; expected one "
                f"of {', '.join(SCAN_SUFFIXES)}, DICOM files (.dcm) or a zip archive of "
                "a DICOM series"
            )
    folder = _private_folder()
    try:
        if volumes:
            name, data = volumes[0]
            path = folder / f"scan{_suffix(name)}"
            path.write_bytes(data)
            yield StagedScan(path, "volume", name=name)
        elif archives:
            yield _stage_archive(archives[0], folder)
        else:
            not_dicom = [n for n, d in files if not is_part10(d)]
            if not_dicom:
                which = (
                    f"{not_dicom[0]!r} and {len(not_dicom) - 1} more are not DICOM files"
                    if len(not_dicom) > 1
                    else f"{not_dicom[0]!r} is not a DICOM file"
                )
                raise ValueError(
                    f"{which} (no 'DICM' marker at byte 128); expected DICOM Part 10 files "
                    "as a PACS or CD export writes them"
                )
            _check_size(len(files), sum(len(d) for _, d in files), "the upload")
            for i, (_, data) in enumerate(files):
                (folder / f"{i:05d}.dcm").write_bytes(data)
            origin = tuple(name for name, _ in files)
            yield StagedScan(folder, "dicom", origin=origin)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _private_folder() -> Path:
    shm = Path("/dev/shm")
    base = str(shm) if shm.is_dir() and os.access(shm, os.W_OK) else None
    return Path(tempfile.mkdtemp(prefix="prom-scan-", dir=base))  # mode 0700


def _check_size(n_files: int, n_bytes: int, what: str) -> None:
    if n_files > MAX_FILES:
        raise ValueError(
            f"{what} holds {n_files:,} files; at most {MAX_FILES:,} are read (one series of "
            "a study, not a whole archive)"
        )
    if n_bytes > MAX_BYTES:
        raise ValueError(
            f"{what} unpacks to {n_bytes / 2**30:.1f} GiB; at most {MAX_BYTES / 2**30:.0f} "
            "GiB are read (one series of a study, not a whole archive)"
        )


def _stage_archive(archive: tuple[str, bytes], folder: Path) -> StagedScan:
    name, data = archive
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, OSError) as e:
        raise ValueError(f"{name!r} is not a readable zip archive ({e})") from None
    with zf:
        members = [m for m in zf.infolist() if not m.is_dir()]
        _check_size(len(members), sum(m.file_size for m in members), repr(name))
        if any(m.flag_bits & 0x1 for m in members):
            raise ValueError(f"{name!r} is encrypted; upload an archive without a password")
        skipped: list[str] = []
        origin: list[str] = []  # the member staged as NNNNN.dcm is origin[NNNNN]
        for m in members:
            try:
                with zf.open(m) as f:
                    content = f.read(m.file_size + 1)
            except (zipfile.BadZipFile, OSError, NotImplementedError, RuntimeError) as e:
                raise ValueError(f"{name!r}: member {m.filename!r} cannot be read ({e})") from None
            if is_part10(content):
                (folder / f"{len(origin):05d}.dcm").write_bytes(content)
                origin.append(m.filename)
            else:
                skipped.append(m.filename)
    if not origin:
        raise ValueError(
            f"{name!r} holds no DICOM file ({len(members)} file(s), none with the 'DICM' "
            "marker at byte 128); expected a zip archive of a DICOM series"
        )
    return StagedScan(folder, "dicom", skipped=tuple(skipped), origin=tuple(origin))


def upload_series(files: Sequence[tuple[str, bytes]]) -> dict[str, str]:
    """:func:`series_labels` of an upload (empty for a volume file), for the user to
    choose from when there are several; the headers are read in a separate process, so a
    file that crashes the DICOM parser is a ``ValueError`` here, not the server's end."""
    from radiomics_features.pipeline.isolation import call_isolated

    with staged_upload(files) as staged:
        if staged.kind != "dicom":
            return {}
        # DICOM headers are parsed in native code: in a process of its own, which imports
        # radiomics_features only (not the calculator's bundle stack)
        try:
            return call_isolated(series_labels, staged.path, what="the upload", timeout=120)
        except ValueError as e:
            raise type(e)(staged.told(str(e))) from None
