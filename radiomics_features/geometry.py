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
  reaches the first or last slice, which would under-count it).
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

A structure cut by the superior/inferior or anterior/posterior edge of the field of
view gets NaN for its size measures (heights, depth, area, volume, and a DHI that
needs it); its canal and signal are still measured.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from radiomics_features.labels import CANAL, DISC, instance_id
from radiomics_features.levelling import LevelledSpine, label_levels
from radiomics_features.levels import DISC_LEVELS, VERTEBRA_LEVELS, adjacent_vertebrae
from radiomics_features.postprocess import clean_mask

__all__ = [
    "DISC_FEATURES",
    "VERTEBRA_FEATURES",
    "choose_mid_slice",
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
VERTEBRA_FEATURES: tuple[str, ...] = (
    "body_height_anterior_mm",
    "body_height_middle_mm",
    "body_height_posterior_mm",
    "body_height_mm",
    "body_ap_depth_mm",
    "canal_ap_mm",
)
_MID_WINDOW_MM = 8.0
_CANAL_SEARCH_MM = 40.0
_CANAL_RADIUS_MM = 12.0
_MIN_CANAL_MM = 1.0  # shorter canal runs are slivers at a corner, not the crossing


# ---------------------------------------------------------------- chord sampling
@dataclass(frozen=True)
class _Frame:
    centre: np.ndarray  # (si, ap) mm
    u: np.ndarray  # along the structure, posterior-pointing
    v: np.ndarray  # across, inferior-pointing


def _inside(region: np.ndarray, sp2: np.ndarray, pts: np.ndarray) -> np.ndarray:
    idx = np.rint(pts / sp2).astype(int)
    ok = (
        (idx[..., 0] >= 0)
        & (idx[..., 0] < region.shape[0])
        & (idx[..., 1] >= 0)
        & (idx[..., 1] < region.shape[1])
    )
    out = np.zeros(pts.shape[:-1], dtype=bool)
    out[ok] = region[idx[..., 0][ok], idx[..., 1][ok]]
    return out


def _chords(region, sp2, origins, d, half_len) -> np.ndarray:
    """Length of the run through (or nearest to) each origin along direction d."""
    step = float(sp2.min()) / 8.0
    t = np.arange(-half_len, half_len + step / 2, step)
    pts = origins[:, None, :] + t[None, :, None] * d[None, None, :]
    inside = _inside(region, sp2, pts)
    i0 = int(np.argmin(np.abs(t)))
    out = np.full(len(origins), np.nan)
    for n, b in enumerate(inside):
        hits = np.flatnonzero(b)
        if hits.size == 0:
            continue
        i = hits[np.argmin(np.abs(hits - i0))]
        gaps = np.flatnonzero(~b)
        left = gaps[gaps < i].max() if np.any(gaps < i) else -1
        right = gaps[gaps > i].min() if np.any(gaps > i) else len(b)
        out[n] = (right - left - 1) * step
    return out


def _first_run_behind(region, sp2, origin, d, start, length, min_len: float = 0.0) -> float:
    """Length of the first run of ``region`` (at least ``min_len`` mm) along d from
    ``origin + start·d``."""
    step = float(sp2.min()) / 8.0
    t = np.arange(start, start + length, step)
    b = _inside(region, sp2, origin[None, :] + t[:, None] * d[None, :])
    edges = np.flatnonzero(np.diff(np.r_[0, b.astype(np.int8), 0]))
    for i0, i1 in zip(edges[::2], edges[1::2], strict=True):
        if (i1 - i0) * step >= min_len:
            return float((i1 - i0) * step)
    return float("nan")


def _canal_diameter(canal: np.ndarray, sp2: np.ndarray, f: _Frame, t_post: float) -> float:
    """Canal AP diameter at a structure: the canal chord perpendicular to the canal's
    local axis, on the line through the structure's posterior margin.

    The margin is the structure's furthest extent along ``u`` (on the ``u`` line through
    its anchor). The local axis is the principal axis of the canal pixels within 12 mm
    of the margin, used when that patch is clearly elongated (singular values ≥ 1.5:1);
    otherwise, or when no canal is that close, the chord runs along ``u``. The chord is
    the first canal run of ≥ 1 mm from 2 mm in front of the margin to 40 mm behind it.
    """
    p0 = f.centre + t_post * f.u
    pts = np.argwhere(canal) * sp2
    if len(pts) == 0:
        return float("nan")
    direction = f.u
    near = pts[np.hypot(*(pts - p0).T) <= _CANAL_RADIUS_MM]
    if len(near) >= 10:
        _, sv, vt = np.linalg.svd(near - near.mean(axis=0), full_matrices=False)
        if sv[0] >= 1.5 * sv[1]:
            normal = np.array([vt[0][1], -vt[0][0]])
            direction = normal if normal @ f.u >= 0 else -normal
    half_step = float(sp2.min()) / 16.0  # samples never on a voxel boundary
    return _first_run_behind(
        canal, sp2, p0, direction, -2.0 + half_step, _CANAL_SEARCH_MM + 2.0, min_len=_MIN_CANAL_MM
    )


def _pca_frame(region: np.ndarray, sp2: np.ndarray) -> _Frame:
    pts = np.argwhere(region) * sp2
    c = pts.mean(axis=0)
    _, _, vt = np.linalg.svd(pts - c, full_matrices=False)
    u = vt[0] / np.linalg.norm(vt[0])
    return _oriented(c, u)


def _oriented(c: np.ndarray, u: np.ndarray) -> _Frame:
    u = u if u[1] >= 0 else -u  # posterior-pointing
    v = np.array([u[1], -u[0]])
    v = v if v[0] >= 0 else -v  # inferior-pointing
    return _Frame(c, u, v)


def _anchor(region, sp2, f: _Frame, span: float) -> _Frame:
    """Move the frame centre onto the region: the midpoint of the v-chord nearest the
    centroid (the centroid of a curved disc can lie outside it)."""
    step = float(sp2.min()) / 8.0
    t = np.arange(-span, span + step / 2, step)
    b = _inside(region, sp2, f.centre[None, :] + t[:, None] * f.v[None, :])
    hits = np.flatnonzero(b)
    if hits.size == 0:
        return f
    i = hits[np.argmin(np.abs(t[hits]))]
    gaps = np.flatnonzero(~b)
    left = gaps[gaps < i].max() + 1 if np.any(gaps < i) else 0
    right = gaps[gaps > i].min() - 1 if np.any(gaps > i) else len(b) - 1
    return _Frame(f.centre + 0.5 * (t[left] + t[right]) * f.v, f.u, f.v)


def _profile(region, sp2, f: _Frame) -> tuple[dict[str, float], _Frame]:
    """AP depth (the u-chord through the anchor) and heights along v at fractions of it."""
    span = float(np.hypot(*(np.asarray(region.shape) * sp2)))
    f = _anchor(region, sp2, f, span)
    step = float(sp2.min()) / 8.0
    t = np.arange(-span, span + step / 2, step)
    b = _inside(region, sp2, f.centre[None, :] + t[:, None] * f.u[None, :])
    i0 = int(np.argmin(np.abs(t)))
    if not b[i0]:
        return {}, f
    gaps = np.flatnonzero(~b)
    left = gaps[gaps < i0].max() if np.any(gaps < i0) else -1
    right = gaps[gaps > i0].min() if np.any(gaps > i0) else len(b)
    t_ant = float(t[left + 1]) - step / 2
    depth = float((right - left - 1) * step)

    def heights(fracs):
        origins = f.centre[None, :] + (t_ant + np.asarray(fracs) * depth)[:, None] * f.u[None, :]
        return _chords(region, sp2, origins, f.v, span)

    def band(frac):
        return float(np.nanmean(heights(frac + np.linspace(-0.05, 0.05, 5))))

    fr = np.linspace(0.1, 0.9, max(int(0.8 * depth / (sp2.min() / 2)), 5))
    proj = (np.argwhere(region) * sp2 - f.centre) @ f.u
    return (
        {
            "anterior": band(0.1),
            "middle": band(0.5),
            "posterior": band(0.9),
            "mean": float(np.nanmean(heights(fr))),
            "depth": depth,
            "t_post": float(proj.max()),
        },
        f,
    )


# ----------------------------------------------------------------------- helpers
def choose_mid_slice(mask: np.ndarray, spacing) -> int:
    """The mid-sagittal slice: largest canal + disc area within 8 mm of the canal's centre
    (near-ties within 2 % go to the most central slice)."""
    m = np.asarray(mask)
    sp0 = float(spacing[0])
    canal = (m == CANAL).sum(axis=(1, 2)).astype(float)
    disc = (m == DISC).sum(axis=(1, 2)).astype(float)
    ref = canal if canal.sum() else disc
    if ref.sum() == 0:
        return m.shape[0] // 2
    k = np.arange(m.shape[0])
    centre = float((k * ref).sum() / ref.sum())
    near = np.abs(k - centre) * sp0 <= _MID_WINDOW_MM
    if not near.any():
        near = k == int(round(centre))
    score = np.where(near, canal + disc, -1.0)
    best = np.flatnonzero(score >= 0.98 * score.max())  # near-ties: the most central
    return int(best[np.argmin(np.abs(best - centre))])


def _region_slice(inst3: np.ndarray, iid: int, k_mid: int) -> tuple[int | None, np.ndarray | None]:
    plane = inst3[k_mid] == iid
    if plane.any():
        return k_mid, plane
    present = np.flatnonzero((inst3 == iid).any(axis=(1, 2)))
    if present.size == 0:
        return None, None
    k = int(present[np.argmin(np.abs(present - k_mid))])
    return k, inst3[k] == iid


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
    """Per-level geometry and signal (see the module docstring).

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
    frames: dict[str, _Frame] = {}
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
        *dict.fromkeys((*VERTEBRA_FEATURES, *DISC_FEATURES)),
        "dhi_bodies",
        "confidence",
        "reason",
        "notes",
    ]
    for c in cols:
        if c not in out:
            out[c] = np.nan
    out = out[cols]
    num = [
        c for c in cols if c not in ("level", "kind", "dhi_bodies", "confidence", "reason", "notes")
    ]
    out[num] = out[num].astype(float)
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


def _finish(row):
    row["reason"] = "; ".join(dict.fromkeys(row["reason"]))
    row["notes"] = "; ".join(dict.fromkeys(row["notes"]))
    return row


def _disc_row(lev, levelled, inst, m, img, sp, sp2, k_mid, ks, canal_plane, band, frames):
    row, info = _base(lev, "disc", levelled)
    if info is None:
        return _finish(row)
    iid = instance_id(lev)
    k, region = _region_slice(inst, iid, k_mid)
    row["slice"] = k
    if k != k_mid:
        row["notes"].append(f"not on the mid-sagittal slice {k_mid}; measured on slice {k}")
    prof, f = _profile(region, sp2, _pca_frame(region, sp2))
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
        if info["lateral_truncated"]:
            row["reason"].append("disc reaches the first/last slice: volume not taken")
        else:
            row["disc_volume_mm3"] = float(info["voxels"] * sp.prod())
    row["disc_angle_deg"] = float(np.degrees(np.arctan2(f.u[0], f.u[1])))
    canal_k = m[k] == CANAL if k != k_mid else canal_plane
    cap = _canal_diameter(canal_k, sp2, f, prof["t_post"]) if prof else float("nan")
    row["canal_ap_mm"] = cap
    if not np.isfinite(cap):
        row["reason"].append("no canal behind the disc on its slice: canal_ap_mm not taken")
    if img is None:
        row["notes"].append("no image: signal not measured")
    else:
        _signal(
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


def _signal(row, disc3, canal3, img3, f: _Frame, sp2, band, canal_here: bool):
    vals = img3[disc3].astype(float)
    if vals.size == 0:
        row["reason"].append("no disc voxels near the mid slice: signal not measured")
        return
    row["disc_signal_mean"] = float(vals.mean())
    row["disc_signal_median"] = float(np.median(vals))
    if not canal_here:
        row["reason"].append("canal not labelled behind the disc: CSF reference not taken")
        return
    idx = np.argwhere(canal3)
    if idx.size:
        pos = idx[:, 1:] * sp2 - f.centre
        near = np.abs(pos @ f.v) <= band
        csf = img3[tuple(idx[near].T)].astype(float)
    else:
        csf = np.empty(0)
    if csf.size == 0:
        row["reason"].append(f"no canal within ±{band:g} mm of the disc: CSF signal not measured")
        return
    row["csf_signal_median"] = float(np.median(csf))
    if row["csf_signal_median"] > 0:
        row["disc_csf_signal_ratio"] = row["disc_signal_median"] / row["csf_signal_median"]
    else:
        row["reason"].append("CSF signal is 0: ratio not defined")


def _vertebra_row(lev, levelled, inst, m, sp2, k_mid, frames):
    row, info = _base(lev, "vertebra", levelled)
    if info is None:
        return _finish(row)
    iid = instance_id(lev)
    k, region = _region_slice(inst, iid, k_mid)
    row["slice"] = k
    if k != k_mid:
        row["notes"].append(f"not on the mid-sagittal slice {k_mid}; measured on slice {k}")
    below = next((d for d in DISC_LEVELS if adjacent_vertebrae(d)[0] == lev), None)
    above = next((d for d in DISC_LEVELS if adjacent_vertebrae(d)[1] == lev), None)
    us = [frames[d].u for d in (above, below) if d in frames]
    centre = (np.argwhere(region) * sp2).mean(axis=0)
    if us:
        u = np.mean([x if x[1] >= 0 else -x for x in us], axis=0)
        f = _oriented(centre, u / np.linalg.norm(u))
    else:
        f = _pca_frame(region, sp2)
        if abs(f.u[0]) > abs(f.u[1]):  # principal axis is SI: swap
            f = _oriented(centre, f.v)
        row["notes"].append("no adjacent disc: frame from the body's own principal axes")
    prof, f = _profile(region, sp2, f)
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
    cap = _canal_diameter(m[k] == CANAL, sp2, f, prof["t_post"]) if prof else float("nan")
    row["canal_ap_mm"] = cap
    if not np.isfinite(cap):
        row["reason"].append("no canal behind the body on its slice: canal_ap_mm not taken")
    return _finish(row)


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
    features and mid-vertebra ``canal_ap_mm`` on vertebra levels)."""
    out: dict[str, float | str] = {}
    if patient_id is not None:
        out["patient_id"] = patient_id
    for _, r in long.iterrows():
        feats = DISC_FEATURES if r["kind"] == "disc" else VERTEBRA_FEATURES
        for f in feats:
            out[f"img_{r['level']}_{f}"] = float(r[f])
    return pd.DataFrame([out])
