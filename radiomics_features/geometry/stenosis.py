"""Central canal stenosis per disc level as a *measurement-based category*.

The category comes from the canal's AP diameter measured at the disc level
(``canal_ap_mm``, :mod:`radiomics_features.geometry.canal`) with the classic cut-offs:

* ``absolute`` — AP diameter < 10 mm; ``relative`` — 10 mm to < 12 mm; ``none`` — ≥ 12 mm
  (Verbiest H. A radicular syndrome from developmental narrowing of the lumbar vertebral
  canal. J Bone Joint Surg Br 1954;36:230–237; Verbiest H. Neurogenic intermittent
  claudication. Amsterdam: North-Holland, 1976). Steurer J, Roner S, Gnannt R, Hodler J.
  Quantitative radiologic criteria for the diagnosis of lumbar spinal stenosis: a
  systematic literature review. BMC Musculoskelet Disord 2011;12:175 found these AP
  cut-offs (and the cross-sectional areas below) to be the most used quantitative
  criteria, with no agreed standard.

Where the stack allows, the canal's **cross-sectional extent** is also measured
(``canal_csa_mm2``): on every sagittal slice, the canal chord on the same line as the AP
diameter, times the slice spacing, summed over the slices — the area of the canal in the
plane through that line and the left–right axis. It is measured only when the slices are
at most :data:`CSA_MAX_SLICE_MM` apart (a 15–20 mm wide canal then gets ≥ 7 samples) and the
canal does not reach the first or last slice at that level (otherwise part of it lies
outside the stack). Its category uses the dural sac cut-offs < 75 mm² (absolute) and
< 100 mm² (relative) (Schönström N, Bolender NF, Spengler DM. The pathomorphology of
spinal stenosis as seen on CT scans of the lumbar spine. Spine 1985;10:806–811). The
labelled canal may include epidural fat, so its area is at least the dural sac's: the
area category can under-call stenosis.

Verbiest's cut-offs were set for the bony canal; the canal a mask labels on T2 MRI is
the thecal sac with its CSF and can be narrower, so the AP category may over-call: on the
31 SPIDER expert masks, 84 of 155 disc levels fell below 12 mm
(``benchmarks/spider_level_checks.py``, no stenosis gradings to check against).

Both are **measurements, not a radiologist's grade**: no stenosis gradings exist in the
data to validate them, and a grade also weighs morphology (CSF around the roots, lateral
recess, foramina) that a diameter does not. They are reported next to the features and
never used as a model predictor.
"""

from __future__ import annotations

import numpy as np

from radiomics_features.geometry.canal import canal_diameter
from radiomics_features.geometry.chords import Frame
from radiomics_features.labels import CANAL

__all__ = [
    "AP_ABSOLUTE_MM",
    "AP_RELATIVE_MM",
    "CSA_ABSOLUTE_MM2",
    "CSA_RELATIVE_MM2",
    "CSA_MAX_SLICE_MM",
    "STENOSIS_LABEL",
    "stenosis_from_ap",
    "stenosis_from_csa",
    "canal_cross_section",
    "stenosis_basis",
]

#: Verbiest's AP cut-offs (mm): below 10 absolute, 10 to < 12 relative stenosis.
AP_ABSOLUTE_MM = 10.0
AP_RELATIVE_MM = 12.0
#: Schönström et al. 1985 dural sac cross-sectional area cut-offs (mm²).
CSA_ABSOLUTE_MM2 = 75.0
CSA_RELATIVE_MM2 = 100.0
#: Largest slice spacing (mm) at which the cross-section is measured.
CSA_MAX_SLICE_MM = 2.0
#: How every output labels the category.
STENOSIS_LABEL = "measurement-based category (not a radiologist's grade)"


def stenosis_from_ap(ap_mm: float) -> str:
    """``none`` / ``relative`` / ``absolute`` from the canal AP diameter (Verbiest);
    ``not measured`` when the diameter is NaN."""
    v = float(ap_mm)
    if not np.isfinite(v):
        return "not measured"
    return "absolute" if v < AP_ABSOLUTE_MM else "relative" if v < AP_RELATIVE_MM else "none"


def stenosis_from_csa(csa_mm2: float) -> str:
    """``none`` / ``relative`` / ``absolute`` from the cross-sectional area (Schönström);
    ``not measured`` when NaN."""
    v = float(csa_mm2)
    if not np.isfinite(v):
        return "not measured"
    return "absolute" if v < CSA_ABSOLUTE_MM2 else "relative" if v < CSA_RELATIVE_MM2 else "none"


def canal_cross_section(
    mask: np.ndarray, spacing, f: Frame, t_post: float
) -> tuple[float, str | None]:
    """The canal's cross-sectional extent (mm²) at a disc, or NaN and why not.

    ``mask``: canonical three-class mask; ``f`` and ``t_post``: the disc's frame and
    posterior margin on its measured slice (the same line as ``canal_ap_mm``).
    """
    sp = np.asarray(spacing, dtype=float)
    if sp[0] > CSA_MAX_SLICE_MM:
        return float("nan"), (
            f"slices {sp[0]:g} mm apart (at most {CSA_MAX_SLICE_MM:g} mm needed): canal "
            "cross-section not measured"
        )
    chords = []
    for k in range(mask.shape[0]):
        c = canal_diameter(mask[k] == CANAL, sp[1:], f, t_post)
        chords.append(c if np.isfinite(c) else 0.0)
    a = np.asarray(chords)
    if (a > 0).sum() < 3:
        return float(
            "nan"
        ), "canal on fewer than 3 slices at this level: cross-section not measured"
    if a[0] > 0 or a[-1] > 0:
        return float("nan"), (
            "the canal reaches the first/last slice at this level: cross-section not measured"
        )
    return float(a.sum() * sp[0]), None


def stenosis_basis(ap_mm: float, slice_k, csa_mm2: float, csa_why: str | None) -> str:
    """One line saying what the category rests on, for the tables and panels."""
    ap = float(ap_mm)
    parts = [STENOSIS_LABEL]
    if np.isfinite(ap):
        parts.append(
            f"canal AP {ap:.1f} mm on slice {int(slice_k)} → {stenosis_from_ap(ap)} "
            f"(Verbiest: < {AP_ABSOLUTE_MM:g} mm absolute, < {AP_RELATIVE_MM:g} mm relative)"
        )
    else:
        parts.append("canal AP not measured")
    if np.isfinite(csa_mm2):
        parts.append(
            f"cross-section {csa_mm2:.0f} mm² → {stenosis_from_csa(csa_mm2)} (Schönström: "
            f"< {CSA_ABSOLUTE_MM2:g} mm² absolute, < {CSA_RELATIVE_MM2:g} mm² relative)"
        )
    elif csa_why:
        parts.append(csa_why)
    return "; ".join(parts)
