"""Which images to process: cases found on disk, their patient ids, their masks.

Patient ids and mask matching
-----------------------------
The id of a file is its name without the image extension (``.nii.gz``, ``.nii``,
``.mha``, ``.mhd``, ``.nrrd``, ``.nhdr``) and without one trailing image tag ``_t2``,
``_t2w`` or ``_image`` (any case): ``spider_005_t2.nii.gz`` → ``spider_005``. A DICOM
series folder's id is the folder name. A mask's id is found the same way after removing
one trailing mask tag ``_mask``, ``_seg`` or ``_label`` first, so ``spider_005_mask``,
``spider_005_t2_seg`` and ``spider_005_t2`` (same name as the image, in a separate masks
folder) all match ``spider_005``. Files carrying a mask tag are never taken as images,
and an image is never its own mask, so images and masks may share one folder.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from radiomics_features.io.dicom import dicom_series_ids

__all__ = ["IMAGE_SUFFIXES", "Case", "patient_id_from_path", "find_cases"]

IMAGE_SUFFIXES: tuple[str, ...] = (".nii.gz", ".nii", ".mha", ".mhd", ".nrrd", ".nhdr")
_IMAGE_TAG = re.compile(r"_(t2w?|image)$", re.IGNORECASE)
_MASK_TAG = re.compile(r"_(mask|seg|label)$", re.IGNORECASE)


@dataclass(frozen=True)
class Case:
    """One image to process: its id, path, optional mask, a matching problem if any, and
    for a DICOM folder the choice of its series (``series``; see
    :mod:`radiomics_features.io.series`)."""

    patient_id: str
    image: Path
    mask: Path | None = None
    problem: str | None = None
    series: str | None = None


def _strip_suffix(name: str) -> str | None:
    low = name.lower()
    for s in IMAGE_SUFFIXES:
        if low.endswith(s):
            return name[: -len(s)]
    return None


def patient_id_from_path(path: str | os.PathLike) -> str:
    """Patient id of an image file or DICOM folder (rule in the module docstring)."""
    p = Path(path)
    stem = p.name if p.is_dir() else (_strip_suffix(p.name) or p.stem)
    return _IMAGE_TAG.sub("", stem) or stem


def _mask_id(path: Path) -> str:
    stem = _strip_suffix(path.name) or path.stem
    stem = _MASK_TAG.sub("", stem) or stem
    return _IMAGE_TAG.sub("", stem) or stem


def _is_mask_name(path: Path) -> bool:
    stem = _strip_suffix(path.name) or path.stem
    return bool(_MASK_TAG.search(stem))


def _image_files(folder: Path) -> list[Path]:
    return sorted(
        p
        for p in folder.iterdir()
        if p.is_file()
        and not p.name.startswith(".")
        and _strip_suffix(p.name) is not None
        and not _is_mask_name(p)
    )


def _has_dicom(folder: Path) -> bool:
    return bool(dicom_series_ids(folder))


def find_cases(
    mri: str | os.PathLike, masks: str | os.PathLike | None = None, *, series: str | None = None
) -> list[Case]:
    """The cases in ``mri``: a single file, a folder of image files, a DICOM series folder,
    or a folder of DICOM series folders (one patient each).

    ``series`` (a Series Instance UID or a Series Description pattern) chooses the series
    of every DICOM folder case, for folders holding several (a study exported as one
    folder); image files ignore it.

    ``masks`` (a file for a single image, or a folder) is matched by patient id; a case
    whose mask is missing or ambiguous carries a ``problem`` (reported by
    :func:`~radiomics_features.pipeline.extract_batch` as a failed case), never silently
    runs without it. A subfolder holding no DICOM series is also reported as a case with
    a problem.
    """
    root = Path(mri)
    if not root.exists():
        raise FileNotFoundError(
            f"MRI path {str(root)!r} does not exist; expected an image "
            "file, a folder of images, or a folder of DICOM series folders"
        )
    mask_root = Path(masks) if masks is not None else None
    if mask_root is not None and not mask_root.exists():
        raise FileNotFoundError(f"masks path {str(mask_root)!r} does not exist")

    images: list[tuple[Path, str | None]] = []
    if root.is_file():
        images.append((root, None))
    else:
        files = _image_files(root)
        subdirs = sorted(
            d
            for d in root.iterdir()
            if d.is_dir()
            and not d.name.startswith(".")
            and (mask_root is None or d.resolve() != mask_root.resolve())
        )
        if not files and not subdirs and _has_dicom(root):
            images.append((root, None))
        images += [(f, None) for f in files]
        for d in subdirs:
            if _has_dicom(d):
                images.append((d, None))
            elif any(x.is_file() for x in d.iterdir()):
                not_dicom = (
                    f"folder {str(d)!r} holds no DICOM series and is not an "
                    "image file; expected one DICOM series per patient folder"
                )
                images.append((d, not_dicom))
    if root.is_file() and mask_root is not None and mask_root.is_file():
        return [Case(patient_id_from_path(root), root, mask_root)]
    if series is not None and not series.strip():
        raise ValueError("series is empty; give a Series Description pattern or a UID")

    by_id: dict[str, list[Path]] = {}
    if mask_root is not None:
        if mask_root.is_file():
            raise ValueError(
                f"masks {str(mask_root)!r} is a file but MRI {str(root)!r} is a "
                "folder; give a masks folder (matched by patient id)"
            )
        taken = {path.resolve() for path, _ in images}  # masks next to their images
        for f in sorted(mask_root.iterdir()):
            if f.is_file() and _strip_suffix(f.name) is not None and f.resolve() not in taken:
                by_id.setdefault(_mask_id(f), []).append(f)
    cases: list[Case] = []
    seen: dict[str, Path] = {}
    for path, problem in images:
        pid = patient_id_from_path(path)
        mask = None
        if problem is None and pid in seen:
            problem = (
                f"patient id {pid!r} of {str(path)!r} is also the id of "
                f"{str(seen[pid])!r}; rename one so that ids are unique"
            )
        seen.setdefault(pid, path)
        if problem is None and mask_root is not None:
            hits = by_id.get(pid, [])
            if not hits:
                problem = (
                    f"no mask for patient {pid!r} in {str(mask_root)!r}; expected "
                    f"{pid}_mask.nii.gz (or _seg, _label, or the image's own name)"
                )
            elif len(hits) > 1:
                problem = (
                    f"{len(hits)} masks match patient {pid!r}: "
                    f"{', '.join(h.name for h in hits)}; expected exactly one"
                )
            else:
                mask = hits[0]
        cases.append(Case(pid, path, mask, problem, series if path.is_dir() else None))
    return cases
