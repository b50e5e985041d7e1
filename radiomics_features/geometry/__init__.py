"""Per-level geometry and signal of the lumbar spine, in millimetres.

Input: a canonical three-class mask (:mod:`radiomics_features.io`,
:mod:`radiomics_features.labels`) with its spacing, optionally the image. Output: a
long DataFrame, one row per contract level cranial → caudal (``l1, l1_l2, l2, …,
l5, l5_s1``), ``kind`` = ``disc`` or ``vertebra``. Feature names match the cohort
contract where they overlap (``disc_height_mm``, ``disc_height_index``,
``canal_ap_mm``, ``disc_csf_signal_ratio``); :func:`geometry_wide` makes the
``img_<level>_<feature>`` columns. A level that is missing or cut by the field of view
gets NaN and a ``reason``; nothing raises for anatomy.

Where things are measured
-------------------------
* **Mid-sagittal slice** — one per patient: among the slices within 8 mm of the canal's
  left–right centre (of the discs' when there is no canal), the one with the largest
  canal + disc area (areas within 2 % of the largest count as ties, won by the slice
  nearest that centre). Column ``slice``. A structure absent there is measured on the
  nearest slice that has it (noted).
* **Endplate-aligned frame** — for a disc, the principal axes of its mid-slice region
  (in mm): ``u`` along the disc (anterior → posterior), ``v`` perpendicular, i.e.
  perpendicular to the endplates it lies between; a tilted disc is measured across,
  not along image rows. A vertebral body uses the mean frame of its adjacent discs (its
  endplates), or its own principal axes when it has none.
* **Heights** — chord lengths of the region along ``v``: anterior / middle / posterior
  at 10 % / 50 % / 90 % of the AP depth (each the mean of 5 chords over ±5 % of the
  depth), and the mean height (``disc_height_mm`` / ``body_height_mm``) as the mean
  chord over 10–90 % of the depth. **AP depth** is the chord along ``u`` through the
  centroid. Chords are sampled at 1/8 voxel with nearest-voxel lookup: a length is
  exact up to the rasterisation of its two ends, i.e. within one voxel.
* **Disc area** (mm², mid slice) and **volume** (mm³, all slices; NaN when the disc
  reaches the first or last slice, which would under-count it — said once per case in
  ``case_notes``, e.g. a SPIDER stack of 13–27 one-millimetre slices lies wholly inside
  the ~45 mm wide discs, so no SPIDER disc volume can be measured).
* **Disc height index** — mean disc height / mean height of the adjacent vertebral
  bodies. L5/S1 has only L5 above (the sacrum is not segmented): **L5 alone** is used.
  Any disc with one adjacent body missing or truncated uses the other; ``dhi_bodies``
  names the bodies used.
* **Canal AP diameter** — at the disc level and at mid-vertebra: the canal chord
  perpendicular to the canal's local axis (principal axis of the canal within 12 mm,
  when clearly elongated; else along ``u``), on the line through the posterior margin
  of the disc (or body): the first canal run of at least 1 mm within 40 mm (shorter
  runs are slivers where the line grazes a corner of the canal). Perpendicular to the
  canal, not along the disc: at a stenotic, obliquely running canal a chord along the
  disc would clip its edge.
* **Signal** — disc mean and median over the disc voxels within ±2 mm of the
  mid-sagittal slice; CSF = median of the canal voxels in the same slices within
  ±10 mm of the disc centre along ``v``, taken only where the canal is labelled behind
  the disc (where ``canal_ap_mm`` is measured: the end of the thecal sac or an
  unlabelled canal is no CSF reference); ``disc_csf_signal_ratio`` = disc median / CSF
  median.

* **Stenosis** — ``canal_stenosis`` (``none`` / ``relative`` / ``absolute`` /
  ``not measured``) from ``canal_ap_mm`` with Verbiest's cut-offs, the canal's
  cross-section ``canal_csa_mm2`` where the stack allows, and ``canal_stenosis_basis``;
  a measurement-based category, not a radiologist's grade
  (:mod:`~radiomics_features.geometry.stenosis`); in the wide table
  ``cat_<disc>_canal_stenosis`` and ``cat_<disc>_canal_stenosis_basis`` (text, so not
  ``img_``: ``img_*`` columns are numbers).
* **Checks** — every named level is checked against anatomical ranges, the spacing of
  its neighbours and the level sequence (:mod:`radiomics_features.levelling.plausibility`):
  a failed check lowers ``confidence`` and says why in ``checks``; ``case_confidence`` /
  ``case_checks`` hold the case's. ``geometry_wide`` writes them as ``qc_<level>_confidence``,
  ``qc_<level>_checks``, ``qc_case_confidence``, ``qc_case_checks`` and ``qc_case_notes``.

A structure cut by the superior/inferior or anterior/posterior edge of the field of
view gets NaN for its size measures (heights, depth, area, volume, and a DHI that
needs it); its canal and signal are still measured.

Modules: :mod:`~radiomics_features.geometry.table` (the per-level rows),
:mod:`~radiomics_features.geometry.slices` (the mid-sagittal slice),
:mod:`~radiomics_features.geometry.chords` (frames, heights and depths),
:mod:`~radiomics_features.geometry.canal` (canal AP diameter),
:mod:`~radiomics_features.geometry.signal` (disc and CSF signal).
"""

from radiomics_features.geometry.slices import choose_mid_slice
from radiomics_features.geometry.table import (
    CHECK_COLUMNS,
    DISC_FEATURES,
    DISC_MEASURES,
    DISC_TEXT_FEATURES,
    VERTEBRA_FEATURES,
    geometry_wide,
    spine_geometry,
)

__all__ = [
    "CHECK_COLUMNS",
    "DISC_FEATURES",
    "DISC_MEASURES",
    "DISC_TEXT_FEATURES",
    "VERTEBRA_FEATURES",
    "choose_mid_slice",
    "spine_geometry",
    "geometry_wide",
]
