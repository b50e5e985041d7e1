"""One case: from an MRI file (and optionally its mask) to per-level features.

:func:`extract_case` runs the stages ``read``, ``segment`` (without a mask), ``label``,
``geometry`` and ``radiomics``, each timed; the package docstring
(:mod:`radiomics_features.pipeline`) describes them and the output columns.
"""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd

from radiomics_features.levels import DISC_LEVELS
from radiomics_features.pipeline.cases import patient_id_from_path

__all__ = [
    "STAGES",
    "TIMED_STAGES",
    "MASK_SOURCES",
    "LEVELLING_SHORT",
    "ONNX_THREADS",
    "CaseResult",
    "sha256_of_path",
    "extract_case",
    "extract_upload",
    "run_case",
    "write_label_map",
]

#: The stages of one case, each timed (``CaseResult.timings``; ``grade`` only with ``grade=True``).
TIMED_STAGES: tuple[str, ...] = ("read", "segment", "label", "geometry", "radiomics", "grade")
#: The stages a case can fail at (an ``errors`` row's ``stage``): matching, then the timed ones.
STAGES: tuple[str, ...] = ("match", *TIMED_STAGES)
MASK_SOURCES: tuple[str, str] = ("supplied mask", "backbone")
LEVELLING_SHORT = "lowest visible disc taken as L5/S1"
_ROI_META = ("rad_n_voxels", "rad_reason", "rad_canal_n_voxels", "rad_canal_reason")
ONNX_THREADS = 2  # onnxruntime threads of the bundled backbone; batch workers use 1


@dataclass(frozen=True, eq=False)
class CaseResult:
    """Features of one case (the package docstring, :mod:`radiomics_features.pipeline`,
    lists the columns)."""

    patient_id: str
    long: pd.DataFrame
    wide: pd.DataFrame
    provenance: dict
    timings: dict


def sha256_of_path(path: str | os.PathLike, files: Sequence[str] | None = None) -> str:
    """sha256 of a file; for a DICOM folder, of its files' names and hashes (sorted): all
    of them, or ``files`` (the series read, when the folder holds several)."""
    from radiomics_features.backbone.inference import sha256_of_file

    p = Path(path)
    if p.is_file():
        return sha256_of_file(p)
    chosen = (Path(f) for f in files) if files is not None else p.rglob("*")
    lines = [
        f"{f.relative_to(p).as_posix()} {sha256_of_file(f)}\n"
        for f in sorted(x for x in chosen if x.is_file())
    ]
    return hashlib.sha256("".join(lines).encode("utf-8")).hexdigest()


@lru_cache(maxsize=2)
def _default_backbone(threads: int):
    from radiomics_features.backbone.inference import load_backbone

    return load_backbone(threads=threads)


def _read(image_path, mask_path, convention, series=None):
    from radiomics_features.io import read_image, read_image_and_mask
    from radiomics_features.labels import (
        CONVENTIONS,
        UnknownLabelError,
        check_structures,
        to_three_class,
    )

    if mask_path is None:
        return read_image(image_path, series=series), None
    conv = "three_class" if convention is None else convention
    try:
        image, mask = read_image_and_mask(image_path, mask_path, convention=conv, series=series)
    except UnknownLabelError as exc:
        if convention is not None:
            raise
        said = str(exc)
        raise UnknownLabelError(
            f"{said}{' ' if said.endswith(('?', '.')) else '. '}Name the mask's label "
            "convention with convention= "
            f"(CLI: --convention), one of {', '.join(CONVENTIONS)}"
        ) from exc
    three = to_three_class(mask.array, conv)
    check_structures(mask.array, three, conv)
    return image, three


def _doubt_orientation(geo: pd.DataFrame, mask, spacing) -> None:
    """Every level low, and the case check said, when the backbone's discs run front to
    back on an image oriented by its shape alone (in place)."""
    from radiomics_features.io.orientation import disc_chain_across

    why = disc_chain_across(mask, spacing)
    if why is None or not len(geo):
        return
    named = geo["confidence"] != "none"
    geo.loc[named, "confidence"] = "low"
    geo.loc[named, "checks"] = [
        "; ".join(x for x in (c, "orientation in doubt (see case checks)") if x)
        for c in geo.loc[named, "checks"].fillna("")
    ]
    geo["case_confidence"] = "low"
    geo["case_checks"] = "; ".join(x for x in (geo["case_checks"].iloc[0], why) if x)


def _provenance_columns(prov: dict) -> dict:
    keys = (
        "image_sha256",
        "dicom_series",
        "dicom_series_uid",
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
    patient_id: str,
    long: pd.DataFrame,
    radiomic_cols: Sequence[str],
    prov_cols: dict,
    *,
    graded: bool = False,
) -> pd.DataFrame:
    from radiomics_features.geometry import geometry_wide

    wide = geometry_wide(long, patient_id).iloc[0].to_dict()
    for _, r in long[long["kind"] == "disc"].iterrows():
        for c in radiomic_cols:
            wide[f"img_{r['level']}_{c}"] = float(r[c])
    if graded:  # every lumbar disc's pair, empty where no grade
        grades = long[long["kind"] == "disc"].set_index("level")
        for lv in DISC_LEVELS:
            for c in GRADE_FEATURES:
                wide[f"img_{lv}_{c}"] = float(grades[c].get(lv, np.nan))
    wide.update(prov_cols)
    return pd.DataFrame([wide])


def grading_slice(three: np.ndarray, k_mid: int) -> int:
    """The slice the disc grader reads: the one with the most spinal canal in the
    segmentation, as on the slices it was trained and validated on; ``k_mid`` when the
    segmentation has no canal."""
    from radiomics_features.labels import CANAL

    canal = (np.asarray(three) == CANAL).sum(axis=(1, 2))
    return int(np.argmax(canal)) if canal.max() > 0 else k_mid


#: The grader's columns of a disc row (``img_<level>_<name>`` in the wide table).
GRADE_FEATURES = ("pfirrmann_grade", "pfirrmann_prob")


def _grade(
    image_slice: np.ndarray,
    spacing: tuple[float, float, float],
    instances_slice: np.ndarray,
    geo: pd.DataFrame,
    backbone,
) -> tuple[pd.DataFrame, list[str]]:
    """The bundled grader's grade and its probability for each disc row of ``geo`` that it
    grades on the mid-sagittal slice, by the levels' names
    (:func:`radiomics_features.grader.levelled.grade_levelled_slice`), and the notes for
    the case. A grader failure, or a scan that looks T1-weighted
    (:mod:`radiomics_features.geometry.weighting`), is a note; the measurements stand."""
    from radiomics_features.geometry.weighting import looks_t1_weighted
    from radiomics_features.grader.levelled import grade_levelled_slice

    out = pd.DataFrame(np.nan, index=geo.index, columns=list(GRADE_FEATURES))
    if "disc_csf_signal_ratio" in geo and looks_t1_weighted(
        geo.loc[geo["kind"] == "disc", "disc_csf_signal_ratio"]
    ):
        t1 = "disc grades: not graded, the grader reads sagittal T2 and this scan looks T1-weighted"
        return out, [t1]
    try:
        res = grade_levelled_slice(
            image_slice, (spacing[1], spacing[2]), instances_slice, backbone=backbone
        )
    except Exception as exc:  # noqa: BLE001 - one case's grading, reported in its notes
        return out, [f"disc grades: not graded ({type(exc).__name__}: {exc})"[:300]]
    missed = []
    for i, level in geo["level"].items():
        d = res.by_level.get(level)
        if d is not None:
            out.loc[i] = (d.grade, round(d.probability, 4))
        elif geo.at[i, "kind"] == "disc" and level in DISC_LEVELS:
            missed.append(level)
    notes = list(res.notes)
    if missed:
        notes.append(
            f"disc grades: the grader found no disc on the slice at {', '.join(missed)}: not graded"
        )
    return out, notes


def write_label_map(levelled, mask, spacing, folder: str | os.PathLike, patient_id: str) -> Path:
    """Write ``<folder>/<patient_id>_levels.nii.gz``: the named levels the features were
    measured on, in SPIDER-style instance ids (:data:`radiomics_features.labels.INSTANCE_ID_RULE`:
    1 = L5 body … 5 = L1, 201 = L5/S1 disc … 205 = L1/L2, 100 = canal; 0 elsewhere, including
    posterior elements and unnamed structures).

    The array is the canonical (LR, SI, AP) grid written with a sagittal header
    (:func:`radiomics_features.io.write_volume`): it reads back onto the same canonical
    grid, but its header is not a copy of the input's, so overlay it on the image through
    :func:`radiomics_features.io.read_image`, not by raw voxel order.
    """
    import numpy as np

    from radiomics_features.io import volume_from_array, write_volume
    from radiomics_features.labels import CANAL

    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    inst = np.asarray(levelled.instances, dtype=np.int16).copy()
    inst[(np.asarray(mask) == CANAL) & (inst == 0)] = 100
    vol = volume_from_array(inst, tuple(spacing), orientation="level map (canonical order)")
    return write_volume(vol, out / f"{patient_id}_levels.nii.gz")


def run_case(
    image_path: str | os.PathLike,
    mask_path: str | os.PathLike | None,
    *,
    convention: str | None,
    patient_id: str | None,
    params: dict | None,
    radiomics: bool,
    backbone,
    stages: list[str],
    ort_threads: int = ONNX_THREADS,
    label_map_dir: str | os.PathLike | None = None,
    series: str | None = None,
    grade: bool = False,
) -> CaseResult:
    """:func:`extract_case` with the parameters already checked (``resolve_params``),
    for the batch runner: each stage's name is appended to ``stages`` as it starts, so
    a failure can be reported with its stage; ``ort_threads`` are onnxruntime's threads
    for the bundled backbone when ``backbone`` is None; ``label_map_dir``: also write the
    label map the features were measured on (:func:`write_label_map`); ``series``
    chooses a DICOM folder's series (:mod:`radiomics_features.io.series`); ``grade``:
    also grade the named discs (:func:`_grade`)."""
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
    timings = dict.fromkeys(TIMED_STAGES, 0.0)

    stages.append("read")
    t = time.perf_counter()
    image, three = _read(image_path, mask_path, convention, series)
    read = image.series
    prov = {
        "patient_id": pid,
        "image_path": str(image_path),
        "image_sha256": sha256_of_path(image_path, None if read is None else read.files),
        "dicom_series": None if read is None else read.label(),
        "dicom_series_uid": None if read is None else read.uid,
        "orientation": image.orientation,
        "spacing_mm": list(image.spacing),
    }
    if mask_path is not None:  # `three` is the supplied mask
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

        bb = backbone if backbone is not None else _default_backbone(ort_threads)
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
    if label_map_dir is not None:
        prov["label_map_path"] = str(write_label_map(levelled, mask, sp, label_map_dir, pid))
    timings["label"] = time.perf_counter() - t

    stages.append("geometry")
    t = time.perf_counter()
    long = spine_geometry(mask, sp, image, levelled=levelled, mid_slice=k_mid, clean=False)
    long.attrs = {}
    timings["geometry"] = time.perf_counter() - t

    geo = long.reset_index(drop=True)
    if prov.get("segmentation") == MASK_SOURCES[1] and image.decision.method == "array":
        _doubt_orientation(geo, mask, sp)
    parts = [pd.DataFrame({"patient_id": [pid] * len(geo)}), geo]
    grade_notes: list[str] = []
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
    if grade:
        stages.append("grade")
        t = time.perf_counter()
        bb = backbone if backbone is not None else _default_backbone(ort_threads)
        k = grading_slice(three, k_mid)
        part, grade_notes = _grade(image.array[k], sp, levelled.instances[k], geo, bb)
        parts.append(part)
        timings["grade"] = time.perf_counter() - t

    cols = _provenance_columns(prov)
    parts.append(pd.DataFrame([cols] * len(geo)))
    long = pd.concat(parts, axis=1)
    if grade_notes and len(long):  # the grader's notes join the case's
        long["case_notes"] = "; ".join(n for n in (long["case_notes"].iloc[0], *grade_notes) if n)
    radiomic_cols = [c for c in long.columns if c.startswith("rad_") and c not in _ROI_META]
    timings["total"] = float(sum(timings.values()))
    wide = _wide(pid, long, radiomic_cols, cols, graded=grade)
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
    label_map_dir: str | os.PathLike | None = None,
    series: str | None = None,
    grade: bool = False,
) -> CaseResult:
    """Per-level geometry and radiomic features of one MRI (see the package docstring,
    :mod:`radiomics_features.pipeline`).

    Parameters
    ----------
    image_path : path
        NIfTI/MHA/NRRD file or a folder of DICOM files.
    mask_path : path, optional
        A mask on the image's grid; None segments with the bundled backbone.
    convention : str, optional
        The mask's label convention (:data:`radiomics_features.labels.CONVENTIONS`);
        default ``three_class`` (labels 0–3).
    patient_id : str, optional
        Default :func:`~radiomics_features.pipeline.patient_id_from_path`.
    params : dict or path, optional
        Radiomics parameters; default the bundled ``sagittal_2d.yaml``.
    radiomics : bool
        False skips pyradiomics (geometry only; pyradiomics need not be installed).
    backbone : Backbone, optional
        A loaded segmentation network; default the bundled one.
    label_map_dir : path, optional
        Also write the label map the features were measured on
        (``<patient_id>_levels.nii.gz``, :func:`write_label_map`).
    series : str, optional
        For a DICOM folder holding several series, the one to read: its Series Instance
        UID or a Series Description pattern (:mod:`radiomics_features.io.series`).
    grade : bool
        Also grade each named disc with the bundled disc grader on the mid-sagittal slice
        (``pfirrmann_grade`` and ``pfirrmann_prob`` on disc rows; ``img_<disc>_pfirrmann_*``
        in the wide table for every lumbar disc, empty where not graded), under the same
        level names as the measurements.
    """
    if radiomics:
        from radiomics_features.radiomic import require_pyradiomics, resolve_params

        require_pyradiomics()
        params = resolve_params(params)
    return run_case(
        image_path,
        mask_path,
        convention=convention,
        patient_id=patient_id,
        params=params,
        radiomics=radiomics,
        backbone=backbone,
        stages=[],
        label_map_dir=label_map_dir,
        series=series,
        grade=grade,
    )


def extract_upload(
    image_path: str | os.PathLike,
    *,
    series: str | None = None,
    radiomics: bool = True,
    patient_id: str | None = None,
) -> tuple[dict[str, str], CaseResult | None]:
    """For an uploaded scan: the DICOM series of a folder (Series Instance UID → label,
    :func:`~radiomics_features.io.series.describe_series`; empty for a volume file) and,
    when the series to read is clear — a volume file, a folder's only series, or
    ``series``, a UID among them — :func:`extract_case` of it; else ``None``, for the
    caller to ask which. One call, so that an isolated process
    (:mod:`radiomics_features.pipeline.isolation`) reads the headers and the images once."""
    labels: dict[str, str] = {}
    if Path(image_path).is_dir():
        from radiomics_features.io.series import series_labels

        labels = series_labels(image_path)
        if (series is None and len(labels) > 1) or (series is not None and series not in labels):
            return labels, None
    res = extract_case(image_path, radiomics=radiomics, patient_id=patient_id, series=series)
    return labels, res
