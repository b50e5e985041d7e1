"""Index-level imaging features from one uploaded sagittal T2 scan.

:func:`scan_features` runs :func:`radiomics_features.pipeline.extract_case` (segmentation
by the bundled backbone unless a mask is given, level naming, geometry, pyradiomics) and
reads the contract's imaging features off its per-level output:

============================ =================================================
contract feature             pipeline column (per disc level)
============================ =================================================
``disc_height_mm``           ``disc_height_mm``
``disc_height_index``        ``disc_height_index``
``canal_ap_mm``              ``canal_ap_mm``
``disc_csf_signal_ratio``    ``disc_csf_signal_ratio``
``firstorder_entropy``       ``rad_firstorder_entropy`` (pyradiomics, disc ROI)
``glcm_contrast``            ``rad_glcm_contrast``
``glcm_correlation``         ``rad_glcm_correlation``
``pfirrmann``                — a radiologist's grade; never computed here
============================ =================================================

The cohort simulator draws every one of these features on the scale this pipeline
measures (the bundled backbone on SPIDER's sagittal T2 scans,
:mod:`prom.cohort.imaging_reference`), so a model trained on the simulated cohort reads
a scan's values with the same meaning; the calculator's warnings still show a value
outside the training range or in its tails (below the 1st or above the 99th percentile),
e.g. a scan whose windowing differs from SPIDER's 8-bit export.

Levels are named from the lowest visible disc upward (taken as L5/S1,
:data:`radiomics_features.levelling.LEVELLING_ASSUMPTION`); the result names the levels
found and which one is the index level, so the surgeon can check the count.

An upload is one volume file (NIfTI, MHA, NRRD), the DICOM files of a series, or a zip
archive of them (:mod:`prom.calculator.scan_upload`); of a DICOM study with several series
the user chooses the sagittal T2 (``series=``), which is never guessed.

Privacy: extraction needs a file path, so the uploaded bytes are written to a private
temporary directory (mode 0700, in memory under ``/dev/shm`` where available) and removed
as soon as extraction ends, whether it succeeded or not. Nothing else is written.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from prom.calculator.scan_upload import SCAN_SUFFIXES

__all__ = [
    "ScanFeatures",
    "scan_features",
    "scan_features_from_bytes",
    "scan_features_from_upload",
    "FEATURE_SOURCES",
    "SCAN_SUFFIXES",
    "SHORT_LABELS",
]

FEATURE_SOURCES: dict[str, str] = {
    "disc_height_mm": "disc_height_mm",
    "disc_height_index": "disc_height_index",
    "canal_ap_mm": "canal_ap_mm",
    "disc_csf_signal_ratio": "disc_csf_signal_ratio",
    "firstorder_entropy": "rad_firstorder_entropy",
    "glcm_contrast": "rad_glcm_contrast",
    "glcm_correlation": "rad_glcm_correlation",
}
#: The features that depend on the scan's intensities (left empty for a T1-like scan).
INTENSITY_FEATURES: tuple[str, ...] = (
    "disc_csf_signal_ratio",
    "firstorder_entropy",
    "glcm_contrast",
    "glcm_correlation",
)
#: Column headings for the per-level table (the form carries the full descriptions).
SHORT_LABELS: dict[str, str] = {
    "disc_height_mm": "disc height (mm)",
    "disc_height_index": "height index",
    "canal_ap_mm": "canal AP (mm)",
    "disc_csf_signal_ratio": "disc/CSF signal",
    "firstorder_entropy": "entropy",
    "glcm_contrast": "GLCM contrast",
    "glcm_correlation": "GLCM correlation",
}


@dataclass(frozen=True)
class ScanFeatures:
    """Per-level features of one scan and the values at the index level.

    ``per_level``: one row per disc level found (``level``, the contract features,
    ``reason`` where the pipeline could not measure something, and the level checks'
    ``confidence`` / ``checks`` and the measurement-based ``canal_stenosis`` category
    with its ``canal_stenosis_basis``, :mod:`prom.calculator.imaging_checks`);
    ``index_values``: ``img_index_<feature>`` → value at ``index_level`` (``None`` where
    not measured, and for every feature when the level is not plausible, see
    ``withheld``); ``levels_found``: disc levels with a measured disc; ``notes``: what
    the surgeon should know (levelling assumption, level confidence and checks, the index
    level's canal category and its basis, missing index level, texture scale);
    ``withheld``: why the index level's values do not fill the form (a size outside the
    pipeline's plausible range, or a level name of low confidence), else ``None``.

    :meth:`at_level` reads another level of the same scan (the per-level features are
    all here): the calculator re-reads them when the index level changes.
    """

    index_level: str
    per_level: pd.DataFrame
    index_values: dict[str, float | None]
    levels_found: tuple[str, ...]
    notes: tuple[str, ...]
    mask_source: str
    withheld: str | None = None
    #: notes about the whole scan, before and after the index level's own notes
    case_notes: tuple[str, ...] = ()
    scan_notes: tuple[str, ...] = ()
    #: the scan looks T1-weighted: its intensity features never fill the form
    t1_like: bool = False

    def at_level(self, level: str) -> ScanFeatures:
        """The same scan read at disc level ``level`` (``'l3_l4'`` …)."""
        from radiomics_features.levels import DISC_LEVELS

        if level not in DISC_LEVELS:
            raise ValueError(f"index_level={level!r}; expected one of {', '.join(DISC_LEVELS)}")
        values, notes, withheld = _reading(self.per_level, level, self.levels_found, self.t1_like)
        return dataclasses.replace(
            self,
            index_level=level,
            index_values=values,
            notes=(*self.case_notes, *notes, *self.scan_notes),
            withheld=withheld,
        )


def scan_features(
    image_path, index_level: str, *, mask_path=None, radiomics: bool = True, series=None
) -> ScanFeatures:
    """Features of the scan at ``image_path`` (a volume file or a DICOM folder; ``series``:
    which of the folder's series, by UID or description pattern) read at ``index_level``
    (``'l4_l5'`` …), in this process."""
    from radiomics_features.levels import DISC_LEVELS
    from radiomics_features.pipeline import extract_case

    if index_level not in DISC_LEVELS:
        raise ValueError(f"index_level={index_level!r}; expected one of {', '.join(DISC_LEVELS)}")
    res = extract_case(image_path, mask_path, radiomics=radiomics, patient_id="scan", series=series)
    return _scan_features_of(res, index_level, radiomics)


def _scan_features_of(res, index_level: str, radiomics: bool) -> ScanFeatures:
    """:class:`ScanFeatures` at ``index_level`` of an extraction (a
    :class:`~radiomics_features.pipeline.CaseResult`)."""
    from prom.calculator.imaging_checks import case_notes, level_check_columns
    from radiomics_features.geometry.weighting import looks_t1_weighted
    from radiomics_features.levelling import LEVELLING_ASSUMPTION
    from radiomics_features.levels import DISC_LEVELS

    long = res.long
    discs = long[long["kind"] == "disc"].set_index("level")
    rows = []
    for level in DISC_LEVELS:
        row: dict[str, Any] = {"level": level}
        for feature, source in FEATURE_SOURCES.items():
            v = (
                discs.at[level, source]
                if level in discs.index and source in discs.columns
                else float("nan")
            )
            row[feature] = float(v) if v is not None else float("nan")
        reason = (
            discs.at[level, "reason"]
            if level in discs.index and "reason" in discs.columns
            else "level not found on the scan"
        )
        row["reason"] = _text(reason)
        row.update(level_check_columns(discs, level))
        rows.append(row)
    per_level = pd.DataFrame(rows)
    found = tuple(r["level"] for r in rows if not math.isnan(r["disc_height_mm"]))
    head = [f"Levels: {LEVELLING_ASSUMPTION}", *case_notes(long)]
    if res.provenance.get("dicom_series"):
        head.insert(0, f"DICOM series read: {res.provenance['dicom_series']}")
    tail = []
    t1_like = bool(looks_t1_weighted(per_level["disc_csf_signal_ratio"]))
    if t1_like:
        tail.append(
            "the scan looks T1-weighted (see the case notes above): its signal ratio and "
            "texture features are left empty, not filled in the form — upload the sagittal "
            "T2 series to have them measured"
        )
    elif radiomics:
        tail.append(
            "signal ratio and texture features (entropy, GLCM) depend on the scan's "
            "intensities; the models learned them as the pipeline measures SPIDER's "
            "windowed T2 scans — see the training-range and training-tail warnings"
        )
    if not radiomics:
        tail.append("texture features not computed (radiomics off); they are left empty")
    tail.append("Pfirrmann grade is a radiologist's reading: enter it by hand")
    scan = ScanFeatures(
        index_level,
        per_level,
        {},
        found,
        (),
        str(res.provenance.get("mask_source")),
        case_notes=tuple(head),
        scan_notes=tuple(tail),
        t1_like=t1_like,
    )
    return scan.at_level(index_level)


def _reading(
    per_level: pd.DataFrame, level: str, found: tuple[str, ...], t1_like: bool
) -> tuple[dict[str, float | None], tuple[str, ...], str | None]:
    """The form's values at ``level``, the level's notes, and why the values are
    withheld (``None`` when they fill the form)."""
    from prom.calculator.imaging_checks import implausible, level_name, level_notes

    at = per_level.set_index("level").loc[level]
    values = {f"img_index_{f}": _snap(f, at[f]) for f in FEATURE_SOURCES}
    if t1_like:
        for f in INTENSITY_FEATURES:
            values[f"img_index_{f}"] = None
    notes = level_notes(at, level)
    name = level_name(level)
    if level not in found:
        notes.append(
            f"the index level {name} was not measured on this scan (discs found: "
            f"{', '.join(level_name(x) for x in found) or 'none'}); its features are left "
            "empty"
        )
        return values, tuple(notes), None
    failed = implausible(at)
    if failed:
        why = "; ".join(failed) + " (the scan's level checks)"
    elif str(at.get("confidence")) == "low":
        checks = str(at.get("checks") or "")
        why = "the scan's level checks give this level's name low confidence" + (
            f" ({checks})" if checks else ""
        )
    else:
        return values, tuple(notes), None
    withheld = (
        f"{name} values from the scan not filled in: {why}. The imaging inputs are left "
        "empty (not recorded); check the level on the scan, or type values measured by hand"
    )
    return dict.fromkeys(values), (withheld, *notes), withheld


def _snap(feature: str, v: float) -> float | None:
    """``None`` for NaN; a value within 1e-9 of a contract bound (floating-point noise, e.g.
    an entropy of -3e-16 for a uniform region) set to the bound; anything else unchanged
    (a real out-of-range value is for the contract check to report)."""
    from prom.cohort.contract import IMAGING_FEATURES

    if math.isnan(v):
        return None
    lo, hi = next((lo, hi) for f, _, _, lo, hi, _ in IMAGING_FEATURES if f == feature)
    if lo - 1e-9 <= v < lo:
        return float(lo)
    if hi < v <= hi + 1e-9:
        return float(hi)
    return float(v)


def _text(v) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return ""
    if isinstance(v, (list, tuple)):
        return "; ".join(str(x) for x in v)
    return str(v)


def scan_features_from_bytes(
    data: bytes, filename: str, index_level: str, *, radiomics: bool = True
) -> ScanFeatures:
    """:func:`scan_features_from_upload` of one uploaded file."""
    return scan_features_from_upload([(filename, data)], index_level, radiomics=radiomics)


#: The longest an upload's features may take (a lumbar volume takes 3–8 s here).
SCAN_TIMEOUT_S = 300.0


def _staged_scan_features(
    path, kind: str, index_level: str, series: str | None, radiomics: bool
) -> ScanFeatures:
    """:func:`scan_features` of a staged upload, its images read, segmented and measured
    in a process of its own (:func:`~radiomics_features.pipeline.case.extract_upload`),
    after checking its series choice."""
    from radiomics_features.levels import DISC_LEVELS
    from radiomics_features.pipeline.case import extract_upload
    from radiomics_features.pipeline.isolation import call_isolated

    if index_level not in DISC_LEVELS:
        raise ValueError(f"index_level={index_level!r}; expected one of {', '.join(DISC_LEVELS)}")
    if kind == "volume" and series is not None:
        raise ValueError("a series is chosen for DICOM uploads only; this is a volume file")
    labels, res = call_isolated(
        extract_upload,
        path,
        series=series,
        radiomics=radiomics,
        patient_id="scan",
        what="the upload",
        timeout=SCAN_TIMEOUT_S,
    )
    if res is None:
        listing = "; ".join(labels.values())
        if series is None:
            raise ValueError(
                f"the upload holds {len(labels)} DICOM series: {listing}; choose the "
                "sagittal T2 series under 'DICOM series' and extract again"
            )
        raise ValueError(
            f"the chosen series (UID {series}) is not in this upload; it holds "
            f"{len(labels)} DICOM series: {listing}"
        )
    return _scan_features_of(res, index_level, radiomics)


def scan_features_from_upload(
    files: Sequence[tuple[str, bytes]],
    index_level: str,
    *,
    series: str | None = None,
    radiomics: bool = True,
) -> ScanFeatures:
    """:func:`scan_features` of an upload — one volume file, DICOM files, or a zip archive
    of a DICOM series, as ``(file name, bytes)`` pairs — held in a private temporary
    directory only while the features are extracted (:mod:`prom.calculator.scan_upload`).
    ``series``: the Series Instance UID of the series to read when the upload holds
    several (:func:`~prom.calculator.scan_upload.series_labels` lists them); several
    without a choice, or a choice the upload does not hold, is a :class:`ValueError`
    listing the upload's series. The images are read, segmented and measured in a
    separate process (:func:`radiomics_features.pipeline.isolation.call_isolated`): a file
    that crashes a native library, or keeps it busy past :data:`SCAN_TIMEOUT_S`, is a
    :class:`~radiomics_features.pipeline.isolation.WorkerDied` (a ``ValueError``), and the
    calculator's server goes on."""
    from prom.calculator.scan_upload import staged_upload

    with staged_upload(files) as staged:
        try:  # the imaging libraries run in a process of their own: a crash loses the upload only
            res = _staged_scan_features(staged.path, staged.kind, index_level, series, radiomics)
        except ValueError as e:  # e.g. a series with a slice missing, named by the user's file
            raise type(e)(staged.told(str(e))) from None
    note = staged.skipped_note()
    if note is None:
        return res
    return dataclasses.replace(res, notes=(*res.notes, note), scan_notes=(*res.scan_notes, note))
