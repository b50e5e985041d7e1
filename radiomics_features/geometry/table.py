"""The per-level table: one row of geometry and signal per lumbar level.

:func:`spine_geometry` measures each disc and vertebral body of a levelled mask (the
package docstring, :mod:`radiomics_features.geometry`, says where and how);
:func:`geometry_wide` turns the rows into ``img_<level>_<feature>`` columns.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from radiomics_features.geometry.canal import canal_diameter
from radiomics_features.geometry.chords import Frame, oriented_frame, pca_frame, profile
from radiomics_features.geometry.signal import measure_signal
from radiomics_features.geometry.slices import choose_mid_slice, region_on_slice
from radiomics_features.geometry.stenosis import (
    canal_cross_section,
    stenosis_basis,
    stenosis_from_ap,
)
from radiomics_features.geometry.weighting import weighting_note
from radiomics_features.labels import CANAL, instance_id
from radiomics_features.levelling import LevelledSpine, label_levels
from radiomics_features.levelling.plausibility import check_levels
from radiomics_features.levels import DISC_LEVELS, VERTEBRA_LEVELS, adjacent_vertebrae
from radiomics_features.postprocess import clean_mask

__all__ = [
    "DISC_FEATURES",
    "DISC_MEASURES",
    "DISC_TEXT_FEATURES",
    "CHECK_COLUMNS",
    "VERTEBRA_FEATURES",
    "spine_geometry",
    "geometry_wide",
]

DISC_FEATURES: tuple[str, ...] = (
    "disc_height_anterior_mm",
    "disc_height_middle_mm",
    "disc_height_posterior_mm",
    "disc_height_mm",
    "disc_ap_depth_mm",
    "disc_height_depth_ratio",
    "disc_area_mm2",
    "disc_volume_mm3",
    "disc_angle_deg",
    "disc_height_index",
    "canal_ap_mm",
    "disc_signal_mean",
    "disc_signal_median",
    "csf_signal_median",
    "disc_csf_signal_ratio",
)
#: Further numeric disc measures, kept apart from :data:`DISC_FEATURES` (the feature set
#: other modules model on, e.g. the Pfirrmann classifier): the canal's cross-section
#: (:mod:`radiomics_features.geometry.stenosis`). Written as ``img_<disc>_canal_csa_mm2``.
DISC_MEASURES: tuple[str, ...] = ("canal_csa_mm2",)
#: Text columns of the disc rows: the measurement-based stenosis category and its basis
#: (:mod:`radiomics_features.geometry.stenosis`); never model predictors.
DISC_TEXT_FEATURES: tuple[str, ...] = ("canal_stenosis", "canal_stenosis_basis")
#: Per-level and per-case columns of the plausibility checks
#: (:mod:`radiomics_features.levelling.plausibility`) and the case notes.
CHECK_COLUMNS: tuple[str, ...] = ("checks", "case_confidence", "case_checks", "case_notes")
VERTEBRA_FEATURES: tuple[str, ...] = (
    "body_height_anterior_mm",
    "body_height_middle_mm",
    "body_height_posterior_mm",
    "body_height_mm",
    "body_ap_depth_mm",
    "canal_ap_mm",
)


def _as_array(x):
    if x is None:
        return None, None
    if hasattr(x, "array") and hasattr(x, "spacing"):
        return np.asarray(x.array), tuple(x.spacing)
    return np.asarray(x), None


# -------------------------------------------------------------------- main entry
def spine_geometry(
    mask,
    spacing=None,
    image=None,
    *,
    levelled: LevelledSpine | None = None,
    mid_slice: int | None = None,
    clean: bool = True,
    signal_halfwidth_mm: float = 2.0,
    csf_band_mm: float = 10.0,
) -> pd.DataFrame:
    """Per-level geometry and signal (see the package docstring).

    ``mask`` / ``image``: canonical arrays or :class:`~radiomics_features.io.Volume`\\ s
    (``spacing`` then comes from the mask Volume). ``levelled``: a
    :func:`~radiomics_features.levelling.label_levels` result for this mask, else it is
    computed (after :func:`~radiomics_features.postprocess.clean_mask` when ``clean``).
    """
    m, msp = _as_array(mask)
    spacing = msp if spacing is None else spacing
    if spacing is None:
        raise TypeError("spacing is required when the mask is a plain array")
    sp = np.asarray(spacing, dtype=float)
    if m.ndim != 3 or sp.shape != (3,):
        raise ValueError(
            f"need a 3D canonical mask and 3 spacings; got shape {m.shape}, spacing {spacing}"
        )
    img, _ = _as_array(image)
    if img is not None and img.shape != m.shape:
        raise ValueError(
            f"image shape {img.shape} differs from mask shape {m.shape}; expected "
            "the same canonical grid"
        )
    if clean:
        m, _ = clean_mask(m, sp)
    if levelled is None:
        levelled = label_levels(m, sp, clean=False)
    inst = levelled.instances
    k_mid = choose_mid_slice(m, sp) if mid_slice is None else int(mid_slice)
    sp2 = sp[1:]
    canal_plane = m[k_mid] == CANAL
    half = max(int(np.floor(signal_halfwidth_mm / sp[0] + 1e-9)), 0)
    ks = slice(max(k_mid - half, 0), min(k_mid + half + 1, m.shape[0]))

    rows: dict[str, dict] = {}
    frames: dict[str, Frame] = {}
    for lev in DISC_LEVELS:
        rows[lev] = _disc_row(
            lev, levelled, inst, m, img, sp, sp2, k_mid, ks, canal_plane, csf_band_mm, frames
        )
    for lev in VERTEBRA_LEVELS:
        rows[lev] = _vertebra_row(lev, levelled, inst, m, sp2, k_mid, frames)
    for lev in DISC_LEVELS:
        _add_dhi(lev, rows)

    order = [x for pair in zip(VERTEBRA_LEVELS, DISC_LEVELS, strict=True) for x in pair]
    out = pd.DataFrame([rows[lev] for lev in order])
    cols = [
        "level",
        "kind",
        "slice",
        *dict.fromkeys((*VERTEBRA_FEATURES, *DISC_FEATURES, *DISC_MEASURES)),
        *DISC_TEXT_FEATURES,
        "dhi_bodies",
        "confidence",
        "reason",
        "notes",
    ]
    for c in cols:
        if c not in out:
            out[c] = np.nan
    out = out[cols]
    text = ("level", "kind", *DISC_TEXT_FEATURES, "dhi_bodies", "confidence", "reason", "notes")
    num = [c for c in cols if c not in text]
    out[num] = out[num].astype(float)
    out, case_conf, case_checks = check_levels(out, levelled.table, m, sp, levelled.notes)
    out["case_confidence"] = case_conf
    out["case_checks"] = case_checks
    discs = out["kind"] == "disc"
    notes = (
        _volume_note(levelled, m.shape, sp),
        weighting_note(out.loc[discs, "disc_csf_signal_ratio"]),
    )
    out["case_notes"] = "; ".join(n for n in notes if n)
    out.attrs["mid_slice"] = k_mid
    out.attrs["levelling_assumption"] = levelled.levelling_assumption
    out.attrs["levelling_notes"] = levelled.notes
    return out


def _base(lev, kind, levelled):
    row = {
        "level": lev,
        "kind": kind,
        "slice": np.nan,
        "reason": [],
        "notes": [],
        "confidence": "none",
        "dhi_bodies": "",
    }
    info = levelled.row(lev)
    if info is None:
        row["reason"].append(levelled.missing.get(lev, "not found"))
        return row, None
    row["confidence"] = info["confidence"]
    if info["notes"]:
        row["notes"].append(info["notes"])
    return row, info


def _named_region(inst: np.ndarray, lev: str, iid: int, k_mid: int) -> tuple[int, np.ndarray]:
    found = region_on_slice(inst, iid, k_mid)
    if found is None:  # pragma: no cover - a named level has voxels
        raise RuntimeError(f"level {lev} is named but has no voxels in the instance map")
    return found


def _finish(row):
    row["reason"] = "; ".join(dict.fromkeys(row["reason"]))
    row["notes"] = "; ".join(dict.fromkeys(row["notes"]))
    return row


def _disc_row(lev, levelled, inst, m, img, sp, sp2, k_mid, ks, canal_plane, band, frames):
    row, info = _base(lev, "disc", levelled)
    if info is None:
        return _finish(row)
    iid = instance_id(lev)
    k, region = _named_region(inst, lev, iid, k_mid)
    row["slice"] = k
    if k != k_mid:
        row["notes"].append(f"not on the mid-sagittal slice {k_mid}; measured on slice {k}")
    prof, f = profile(region, sp2, pca_frame(region, sp2))
    frames[lev] = f
    trunc = bool(info["truncated"])
    if trunc:
        row["reason"].append("disc truncated by the field of view: size measures not taken")
    elif prof:
        row.update(
            {
                "disc_height_anterior_mm": prof["anterior"],
                "disc_height_middle_mm": prof["middle"],
                "disc_height_posterior_mm": prof["posterior"],
                "disc_height_mm": prof["mean"],
                "disc_ap_depth_mm": prof["depth"],
                "disc_height_depth_ratio": prof["mean"] / prof["depth"],
                "disc_area_mm2": float(region.sum() * sp2.prod()),
            }
        )
        if not info["lateral_truncated"]:  # else explained once per case (_volume_note)
            row["disc_volume_mm3"] = float(info["voxels"] * sp.prod())
    row["disc_angle_deg"] = float(np.degrees(np.arctan2(f.u[0], f.u[1])))
    canal_k = m[k] == CANAL if k != k_mid else canal_plane
    cap = canal_diameter(canal_k, sp2, f, prof["t_post"]) if prof else float("nan")
    row["canal_ap_mm"] = cap
    if not np.isfinite(cap):
        row["reason"].append("no canal behind the disc on its slice: canal_ap_mm not taken")
    csa, why = canal_cross_section(m, sp, f, prof["t_post"]) if prof else (np.nan, None)
    row["canal_csa_mm2"] = csa
    row["canal_stenosis"] = stenosis_from_ap(cap)
    row["canal_stenosis_basis"] = stenosis_basis(cap, k, csa, why)
    if img is None:
        row["notes"].append("no image: signal not measured")
    else:
        measure_signal(
            row,
            inst[ks] == iid,
            m[ks] == CANAL,
            img[ks],
            f,
            sp2,
            band,
            canal_here=bool(np.isfinite(cap)),
        )
    return _finish(row)


def _vertebra_row(lev, levelled, inst, m, sp2, k_mid, frames):
    row, info = _base(lev, "vertebra", levelled)
    if info is None:
        return _finish(row)
    iid = instance_id(lev)
    k, region = _named_region(inst, lev, iid, k_mid)
    row["slice"] = k
    if k != k_mid:
        row["notes"].append(f"not on the mid-sagittal slice {k_mid}; measured on slice {k}")
    below = next((d for d in DISC_LEVELS if adjacent_vertebrae(d)[0] == lev), None)
    above = next((d for d in DISC_LEVELS if adjacent_vertebrae(d)[1] == lev), None)
    us = [frames[d].u for d in (above, below) if d in frames]
    centre = (np.argwhere(region) * sp2).mean(axis=0)
    if us:
        u = np.mean([x if x[1] >= 0 else -x for x in us], axis=0)
        f = oriented_frame(centre, u / np.linalg.norm(u))
    else:
        f = pca_frame(region, sp2)
        if abs(f.u[0]) > abs(f.u[1]):  # principal axis is SI: swap
            f = oriented_frame(centre, f.v)
        row["notes"].append("no adjacent disc: frame from the body's own principal axes")
    prof, f = profile(region, sp2, f)
    if info["truncated"]:
        row["reason"].append(
            "vertebral body truncated by the field of view: size measures not taken"
        )
    elif prof:
        row.update(
            {
                "body_height_anterior_mm": prof["anterior"],
                "body_height_middle_mm": prof["middle"],
                "body_height_posterior_mm": prof["posterior"],
                "body_height_mm": prof["mean"],
                "body_ap_depth_mm": prof["depth"],
            }
        )
    cap = canal_diameter(m[k] == CANAL, sp2, f, prof["t_post"]) if prof else float("nan")
    row["canal_ap_mm"] = cap
    if not np.isfinite(cap):
        row["reason"].append("no canal behind the body on its slice: canal_ap_mm not taken")
    return _finish(row)


def _volume_note(levelled: LevelledSpine, shape, sp) -> str:
    """Why disc volumes are missing, once per case: discs reaching the first/last slice."""
    t = levelled.table
    discs = t[(t["kind"] == "disc") & t["level"].notna() & ~t["truncated"].astype(bool)]
    cut = discs.loc[discs["lateral_truncated"].astype(bool), "level"].tolist()
    if not cut:
        return ""
    which = "discs reach" if len(cut) == len(discs) else f"discs {', '.join(cut)} reach"
    return (
        f"the stack's {shape[0]} slices cover {shape[0] * sp[0]:g} mm; {which} the first/last "
        "slice: volume not measured"
    )


def _add_dhi(lev, rows):
    upper, lower = adjacent_vertebrae(lev)
    d = rows[lev]
    h = d.get("disc_height_mm", np.nan)
    used, heights = [], []
    for v in (upper, lower):
        if v is None:
            continue
        bh = rows[v].get("body_height_mm", np.nan)
        if np.isfinite(bh):
            used.append(v)
            heights.append(bh)
    d["dhi_bodies"] = "+".join(used)
    if lower is None and used:
        _append(d, "notes", "L5/S1: DHI uses L5 alone (sacrum not measured)")
    elif lower is not None and len(used) == 1:
        _append(d, "notes", f"DHI uses {used[0]} alone (other body missing/truncated)")
    if np.isfinite(h) and heights:
        d["disc_height_index"] = h / float(np.mean(heights))
    elif np.isfinite(h):
        _append(d, "reason", "no measurable adjacent body: disc_height_index not taken")


def _append(row: dict, key: str, text: str) -> None:
    row[key] = "; ".join(filter(None, [row[key], text]))


def geometry_wide(long: pd.DataFrame, patient_id: str | None = None) -> pd.DataFrame:
    """One row of ``img_<level>_<feature>`` columns (disc features on disc levels, body
    features and mid-vertebra ``canal_ap_mm`` on vertebra levels), all numbers; then the
    text columns: ``cat_<disc>_canal_stenosis`` and ``cat_<disc>_canal_stenosis_basis``
    (a measurement-based category, not a feature), ``qc_<level>_confidence``,
    ``qc_<level>_checks``, ``qc_case_confidence``, ``qc_case_checks`` and ``qc_case_notes``."""
    out: dict[str, float | str] = {}
    if patient_id is not None:
        out["patient_id"] = patient_id
    for _, r in long.iterrows():
        feats = (*DISC_FEATURES, *DISC_MEASURES) if r["kind"] == "disc" else VERTEBRA_FEATURES
        for f in feats:
            out[f"img_{r['level']}_{f}"] = float(r[f])
        if r["kind"] == "disc":  # text, so not img_ (img_* columns are numbers)
            for f in DISC_TEXT_FEATURES:
                if f in long:
                    out[f"cat_{r['level']}_{f}"] = r[f]
    for _, r in long.iterrows():
        for f in ("confidence", "checks"):
            if f in long:
                out[f"qc_{r['level']}_{f}"] = r[f]
    for f in CHECK_COLUMNS[1:]:
        if f in long and len(long):
            out[f"qc_{f}"] = long[f].iloc[0]
    return pd.DataFrame([out])
