"""From MRI files to per-level imaging features: one case, or a folder in parallel.

One case (:func:`extract_case`) runs five stages, each timed:

``read``      the image (NIfTI/MHA/NRRD file or a DICOM series folder) into canonical
              order; with a mask, :func:`~radiomics_features.io.read_image_and_mask`
              (the mask's anatomy then checks an untrusted orientation) and conversion
              to three classes with the named label convention (default
              ``three_class``; other labels raise an error naming the convention to pass).
``segment``   without a mask: the bundled backbone (:func:`~radiomics_features.backbone.
              inference.segment_volume`); 0 s with a supplied mask.
``label``     :func:`~radiomics_features.postprocess.clean_mask`, then
              :func:`~radiomics_features.levelling.label_levels` (**the lowest visible
              disc is taken as L5/S1**) and the mid-sagittal slice.
``geometry``  :func:`~radiomics_features.geometry.spine_geometry`.
``radiomics`` :func:`~radiomics_features.radiomic.radiomic_features` (skipped with
              ``radiomics=False``).

Outputs (:class:`CaseResult`):

* ``long`` — one row per level (``l1, l1_l2, … l5, l5_s1``): ``patient_id``, the geometry
  columns, the disc ROI's radiomic features as ``rad_<class>_<feature>`` with
  ``rad_n_voxels`` / ``rad_reason``, the canal segment's as ``rad_canal_<class>_<feature>``
  with ``rad_canal_n_voxels`` / ``rad_canal_reason`` (NaN on vertebra rows), then the
  provenance columns.
* ``wide`` — one row: ``patient_id``, ``img_<level>_<feature>`` for every numeric
  feature (geometry; ``rad_…`` and ``rad_canal_…`` on disc levels), provenance columns.
* Provenance columns (``prov_`` prefix, never ``img_``): ``prov_image_sha256``,
  ``prov_mask_source`` (``supplied mask`` / ``backbone``), ``prov_mask_sha256``,
  ``prov_backbone_sha256``, ``prov_params_sha256``, ``prov_mid_slice``, ``prov_levelling``
  and the versions of radiomics_features, pyradiomics, SimpleITK and numpy.

Batches (:func:`find_cases`, :func:`extract_batch`): a failing case never stops the
batch; it becomes a row of ``errors`` (patient id, image, stage, error type, message).

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

import hashlib
import multiprocessing
import os
import re
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd

__all__ = [
    "STAGES",
    "MASK_SOURCES",
    "Case",
    "CaseResult",
    "BatchResult",
    "patient_id_from_path",
    "find_cases",
    "extract_case",
    "extract_batch",
    "sha256_of_path",
]

STAGES: tuple[str, ...] = ("match", "read", "segment", "label", "geometry", "radiomics")
MASK_SOURCES: tuple[str, str] = ("supplied mask", "backbone")
IMAGE_SUFFIXES: tuple[str, ...] = (".nii.gz", ".nii", ".mha", ".mhd", ".nrrd", ".nhdr")
_IMAGE_TAG = re.compile(r"_(t2w?|image)$", re.IGNORECASE)
_MASK_TAG = re.compile(r"_(mask|seg|label)$", re.IGNORECASE)
LEVELLING_SHORT = "lowest visible disc taken as L5/S1"
ERROR_COLUMNS = ("patient_id", "image", "stage", "error_type", "message")
_ROI_META = ("rad_n_voxels", "rad_reason", "rad_canal_n_voxels", "rad_canal_reason")

_ORT_THREADS = 2  # onnxruntime threads; 1 inside batch worker processes


@dataclass(frozen=True)
class Case:
    """One image to process: its id, path, optional mask, and a matching problem if any."""

    patient_id: str
    image: Path
    mask: Path | None = None
    problem: str | None = None


@dataclass(frozen=True, eq=False)
class CaseResult:
    """Features of one case (see the module docstring for the columns)."""

    patient_id: str
    long: pd.DataFrame
    wide: pd.DataFrame
    provenance: dict
    timings: dict


@dataclass(frozen=True, eq=False)
class BatchResult:
    """Features of every case that succeeded, and one ``errors`` row per case that failed."""

    long: pd.DataFrame
    wide: pd.DataFrame
    errors: pd.DataFrame
    n_cases: int
    n_ok: int
    n_failed: int
    timings: dict = field(default_factory=dict)


# ------------------------------------------------------------------- ids and matching
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
    import SimpleITK as sitk

    return bool(sitk.ImageSeriesReader.GetGDCMSeriesIDs(str(folder)))


def find_cases(mri: str | os.PathLike, masks: str | os.PathLike | None = None) -> list[Case]:
    """The cases in ``mri``: a single file, a folder of image files, a DICOM series folder,
    or a folder of DICOM series folders (one patient each).

    ``masks`` (a file for a single image, or a folder) is matched by patient id; a case
    whose mask is missing or ambiguous carries a ``problem`` (reported by
    :func:`extract_batch` as a failed case), never silently runs without it. A subfolder
    holding no DICOM series is also reported as a case with a problem.
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
                images.append(
                    (
                        d,
                        f"folder {str(d)!r} holds no DICOM series and is not an "
                        "image file; expected one DICOM series per patient folder",
                    )
                )
    if root.is_file() and mask_root is not None and mask_root.is_file():
        return [Case(patient_id_from_path(root), root, mask_root)]

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
        cases.append(Case(pid, path, mask, problem))
    return cases


# ------------------------------------------------------------------------ one case
def sha256_of_path(path: str | os.PathLike) -> str:
    """sha256 of a file; for a DICOM folder, of its files' names and hashes (sorted)."""
    from radiomics_features.backbone.inference import sha256_of_file

    p = Path(path)
    if p.is_file():
        return sha256_of_file(p)
    lines = [
        f"{f.relative_to(p).as_posix()} {sha256_of_file(f)}\n"
        for f in sorted(x for x in p.rglob("*") if x.is_file())
    ]
    return hashlib.sha256("".join(lines).encode("utf-8")).hexdigest()


@lru_cache(maxsize=2)
def _default_backbone(threads: int):
    from radiomics_features.backbone.inference import load_backbone

    return load_backbone(threads=threads)


def _read(image_path, mask_path, convention):
    from radiomics_features.io import read_image, read_image_and_mask
    from radiomics_features.labels import CONVENTIONS, UnknownLabelError, to_three_class

    if mask_path is None:
        return read_image(image_path), None
    conv = "three_class" if convention is None else convention
    try:
        image, mask = read_image_and_mask(image_path, mask_path, convention=conv)
    except UnknownLabelError as exc:
        if convention is not None:
            raise
        raise UnknownLabelError(
            f"{exc}. Name the mask's label convention with convention= "
            f"(CLI: --convention), one of {', '.join(CONVENTIONS)}"
        ) from exc
    return image, to_three_class(mask.array, conv)


def _provenance_columns(prov: dict) -> dict:
    keys = (
        "image_sha256",
        "mask_source",
        "mask_sha256",
        "backbone_sha256",
        "params_sha256",
        "mid_slice",
        "levelling",
        "radiomics_features_version",
        "pyradiomics_version",
        "simpleitk_version",
        "numpy_version",
    )
    return {f"prov_{k}": prov.get(k) for k in keys}


def _radiomic_parts(levels: pd.Series, rad: pd.DataFrame) -> list[pd.DataFrame]:
    """The disc and canal ROIs' columns, aligned with the geometry rows' levels."""
    feats = [c for c in rad.columns if c.startswith("rad_")]
    disc = rad[rad["roi"] == "disc"].set_index("level")[["n_voxels", "reason", *feats]]
    disc = disc.rename(columns={"n_voxels": "rad_n_voxels", "reason": "rad_reason"})
    canal = rad[rad["roi"] == "canal"].set_index("level")[["n_voxels", "reason", *feats]]
    canal = canal.rename(
        columns={
            "n_voxels": "rad_canal_n_voxels",
            "reason": "rad_canal_reason",
            **{f: "rad_canal_" + f.removeprefix("rad_") for f in feats},
        }
    )
    return [part.reindex(levels.to_numpy()).reset_index(drop=True) for part in (disc, canal)]


def _wide(
    patient_id: str, long: pd.DataFrame, radiomic_cols: Sequence[str], prov_cols: dict
) -> pd.DataFrame:
    from radiomics_features.geometry import geometry_wide

    wide = geometry_wide(long, patient_id).iloc[0].to_dict()
    for _, r in long[long["kind"] == "disc"].iterrows():
        for c in radiomic_cols:
            wide[f"img_{r['level']}_{c}"] = float(r[c])
    wide.update(prov_cols)
    return pd.DataFrame([wide])


def _extract(
    image_path, mask_path, convention, patient_id, params, radiomics, backbone, stages: list[str]
) -> CaseResult:
    from radiomics_features.geometry import choose_mid_slice, spine_geometry
    from radiomics_features.levelling import LEVELLING_ASSUMPTION, label_levels
    from radiomics_features.postprocess import clean_mask
    from radiomics_features.radiomic import (
        package_versions,
        radiomic_features,
        radiomics_provenance,
    )

    image_path = Path(image_path)
    pid = patient_id if patient_id is not None else patient_id_from_path(image_path)
    timings = dict.fromkeys(("read", "segment", "label", "geometry", "radiomics"), 0.0)

    stages.append("read")
    t = time.perf_counter()
    image, three = _read(image_path, mask_path, convention)
    prov = {
        "patient_id": pid,
        "image_path": str(image_path),
        "image_sha256": sha256_of_path(image_path),
        "orientation": image.orientation,
        "spacing_mm": list(image.spacing),
    }
    if three is not None:
        prov.update(
            segmentation=MASK_SOURCES[0],
            mask_source=MASK_SOURCES[0],
            mask_path=str(mask_path),
            mask_sha256=sha256_of_path(mask_path),
            convention=convention or "three_class",
            backbone_sha256=None,
        )
    timings["read"] = time.perf_counter() - t

    if three is None:
        stages.append("segment")
        t = time.perf_counter()
        from radiomics_features.backbone.inference import segment_volume

        bb = backbone if backbone is not None else _default_backbone(_ORT_THREADS)
        three = segment_volume(image.array, image.spacing, backbone=bb)
        prov.update(
            segmentation=MASK_SOURCES[1],
            mask_source=MASK_SOURCES[1],
            mask_path=None,
            mask_sha256=None,
            convention=None,
            backbone_sha256=bb.sha256,
            backbone_version=bb.metadata.get("version"),
        )
        timings["segment"] = time.perf_counter() - t

    stages.append("label")
    t = time.perf_counter()
    sp = image.spacing
    mask, _ = clean_mask(three, sp)
    levelled = label_levels(mask, sp, clean=False)
    k_mid = choose_mid_slice(mask, sp)
    prov.update(
        levelling=LEVELLING_SHORT,
        levelling_assumption=LEVELLING_ASSUMPTION,
        levelling_notes=list(levelled.notes),
        mid_slice=k_mid,
    )
    timings["label"] = time.perf_counter() - t

    stages.append("geometry")
    t = time.perf_counter()
    long = spine_geometry(mask, sp, image, levelled=levelled, mid_slice=k_mid, clean=False)
    long.attrs = {}
    timings["geometry"] = time.perf_counter() - t

    geo = long.reset_index(drop=True)
    parts = [pd.DataFrame({"patient_id": [pid] * len(geo)}), geo]
    if radiomics:
        stages.append("radiomics")
        t = time.perf_counter()
        rad = radiomic_features(image, levelled, params=params, mid_slice=k_mid, mask=mask)
        parts += _radiomic_parts(geo["level"], rad)
        prov.update(radiomics_provenance(params), radiomics=True)
        timings["radiomics"] = time.perf_counter() - t
    else:
        prov.update(package_versions(), params_sha256=None, radiomics=False)
        prov["pyradiomics_version"] = None

    cols = _provenance_columns(prov)
    parts.append(pd.DataFrame([cols] * len(geo)))
    long = pd.concat(parts, axis=1)
    radiomic_cols = [c for c in long.columns if c.startswith("rad_") and c not in _ROI_META]
    wide = _wide(pid, long, radiomic_cols, cols)
    return CaseResult(pid, long, wide, prov, timings)


def extract_case(
    image_path: str | os.PathLike,
    mask_path: str | os.PathLike | None = None,
    *,
    convention: str | None = None,
    patient_id: str | None = None,
    params=None,
    radiomics: bool = True,
    backbone=None,
) -> CaseResult:
    """Per-level geometry and radiomic features of one MRI (see the module docstring).

    Parameters
    ----------
    image_path : path
        NIfTI/MHA/NRRD file or a folder holding one DICOM series.
    mask_path : path, optional
        A mask on the image's grid; None segments with the bundled backbone.
    convention : str, optional
        The mask's label convention (:data:`radiomics_features.labels.CONVENTIONS`);
        default ``three_class`` (labels 0–3).
    patient_id : str, optional
        Default :func:`patient_id_from_path`.
    params : dict or path, optional
        Radiomics parameters; default the bundled ``sagittal_2d.yaml``.
    radiomics : bool
        False skips pyradiomics (geometry only; pyradiomics need not be installed).
    backbone : Backbone, optional
        A loaded segmentation network; default the bundled one.
    """
    if radiomics:
        from radiomics_features.radiomic import require_pyradiomics, resolve_params

        require_pyradiomics()
        params = resolve_params(params)
    return _extract(image_path, mask_path, convention, patient_id, params, radiomics, backbone, [])


# -------------------------------------------------------------------------- batches
def _init_worker() -> None:
    """Batch worker set-up: one thread each for onnxruntime and SimpleITK."""
    global _ORT_THREADS
    _ORT_THREADS = 1
    import SimpleITK as sitk

    sitk.ProcessObject.SetGlobalDefaultNumberOfThreads(1)


def _run_one(case: Case, params, radiomics: bool, convention):
    stages: list[str] = []
    try:
        return _extract(
            case.image, case.mask, convention, case.patient_id, params, radiomics, None, stages
        ), None
    except Exception as exc:  # a failing case never stops the batch
        return None, _error_row(case, stages[-1] if stages else "read", exc)


def _error_row(case: Case, stage: str, exc: BaseException | str) -> dict:
    if isinstance(exc, str):
        etype, msg = "CaseMatchError", exc
    else:
        etype, msg = type(exc).__name__, str(exc).strip() or repr(exc)
    return {
        "patient_id": case.patient_id,
        "image": str(case.image),
        "stage": stage,
        "error_type": etype,
        "message": msg,
    }


def _as_case(c) -> Case:
    if isinstance(c, Case):
        return c
    if isinstance(c, (str, os.PathLike)):
        return Case(patient_id_from_path(c), Path(c))
    raise TypeError(f"cases must be Case objects or image paths; got {type(c).__name__}")


def extract_batch(
    cases: Iterable[Case | str | os.PathLike],
    *,
    workers: int = 1,
    progress: Callable[[int, int], None] | None = None,
    params=None,
    radiomics: bool = True,
    convention: str | None = None,
) -> BatchResult:
    """Run :func:`extract_case` on every case; failures become ``errors`` rows.

    Parameters
    ----------
    cases : iterable of Case or path
        Usually :func:`find_cases`; a case with a ``problem`` fails at stage ``match``.
    workers : int
        Processes (spawned); 1 runs in this process. Each worker runs onnxruntime and
        SimpleITK single-threaded. Results come back in input order either way.
    progress : callable, optional
        Called as ``progress(done, total)`` after each case.
    params, radiomics, convention
        As for :func:`extract_case` (params are checked once, before any case runs).
    """
    if not isinstance(workers, int) or isinstance(workers, bool) or workers < 1:
        raise ValueError(f"workers must be an int ≥ 1; got {workers!r}")
    items = [_as_case(c) for c in cases]
    if radiomics:
        from radiomics_features.radiomic import require_pyradiomics, resolve_params

        require_pyradiomics()
        params = resolve_params(params)
    results: list[CaseResult | None] = [None] * len(items)
    errors: list[dict | None] = [None] * len(items)
    todo = []
    for i, c in enumerate(items):
        if c.problem is not None:
            errors[i] = _error_row(c, "match", c.problem)
        else:
            todo.append(i)
    done = len(items) - len(todo)
    if progress is not None and done:
        progress(done, len(items))
    t0 = time.perf_counter()
    if workers == 1 or len(todo) <= 1:
        for i in todo:
            results[i], errors[i] = _run_one(items[i], params, radiomics, convention)
            done += 1
            if progress is not None:
                progress(done, len(items))
    else:
        ctx = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(
            max_workers=min(workers, len(todo)), mp_context=ctx, initializer=_init_worker
        ) as pool:
            futures = {
                pool.submit(_run_one, items[i], params, radiomics, convention): i for i in todo
            }
            for fut in as_completed(futures):
                i = futures[fut]
                try:
                    results[i], errors[i] = fut.result()
                except Exception as exc:  # the worker process itself died
                    errors[i] = _error_row(items[i], "worker", exc)
                done += 1
                if progress is not None:
                    progress(done, len(items))
    ok = [r for r in results if r is not None]
    errs = [e for e in errors if e is not None]
    long = (
        pd.concat([r.long for r in ok], ignore_index=True)
        if ok
        else pd.DataFrame(columns=["patient_id"])
    )
    wide = (
        pd.concat([r.wide for r in ok], ignore_index=True)
        if ok
        else pd.DataFrame(columns=["patient_id"])
    )
    timings = {
        k: float(np.sum([r.timings[k] for r in ok]))
        for k in ("read", "segment", "label", "geometry", "radiomics")
    }
    timings["wall"] = time.perf_counter() - t0
    return BatchResult(
        long=long,
        wide=wide,
        errors=pd.DataFrame(errs, columns=ERROR_COLUMNS),
        n_cases=len(items),
        n_ok=len(ok),
        n_failed=len(errs),
        timings=timings,
    )
