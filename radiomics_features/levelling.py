"""Name the levels of a three-class lumbar mask: which disc is L4/L5, which body is L4.

Steps (canonical LR, SI, AP arrays; :mod:`radiomics_features.io`):

1. **Vertebral bodies.** The vertebra class holds bodies *and* posterior elements
   (SPIDER), which touch through the pedicles and facets, so a 3D component is not a
   body. The body is the part anterior to the canal: per image row, the canal's most
   anterior voxel (over all slices) marks the posterior wall of the column; rows
   without canal are interpolated from their neighbours. Without a canal the discs'
   posterior edge is used instead. The pedicles and arch lie behind that line.
2. **Instances.** 3D components (6-connected) of discs and bodies above a minimum
   size; pieces of one structure (overlapping along the spine) are merged. Touching
   bodies are separated in two ways: a body component with a disc lying inside its
   extent (bodies meeting around a small disc) is cut along that disc's plane; a body
   component still much taller than the others (> 1.6× the typical body height, e.g.
   two bodies bridged where a collapsed disc is unlabelled) is split along the spine
   axis at equal divisions, moved to the narrowest cross-section nearby when there is
   a clear waist (< 85 % of the local median area).
3. **Order and names.** Structures are ordered along the spine axis (principal
   direction of their centroids, pointing inferior). **The lowest visible disc is taken
   as L5/S1** and discs are named upward (L4/L5, L3/L4, …, then T12/L1 …); the body
   above a disc is the upper vertebra of its name (above L5/S1 is L5). Two bodies with
   no disc between mean a disc is missing; two discs with no body between mean a body
   is missing; a gap between discs ≥ 1.7× the typical spacing means whole levels are
   missing. Each such inference is noted and lowers the confidence of every name above.

What breaks it: a lumbosacral transitional vertebra (sacralised L5 or lumbarised S1 /
L6) or a field of view that ends above L5/S1 shifts every name by one, and neither can
be detected from a lumbar sagittal stack alone; the output says so
(:data:`LEVELLING_ASSUMPTION`, per-level ``confidence`` and ``notes``). Missing or
truncated levels are reported, never raised.

Instance ids follow :data:`radiomics_features.labels.INSTANCE_ID_RULE` (1 = L5 body,
201 = L5/S1 disc), the same as SPIDER's original masks.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

import numpy as np
import pandas as pd
from scipy import ndimage as ndi

from radiomics_features.labels import (
    CANAL,
    DISC,
    VERTEBRA,
    disc_name_from_bottom,
    instance_id,
    vertebra_name_from_bottom,
)
from radiomics_features.levels import DISC_LEVELS, VERTEBRA_LEVELS
from radiomics_features.postprocess import remove_small_components

__all__ = ["LEVELLING_ASSUMPTION", "LevelledSpine", "vertebral_bodies", "label_levels"]

LEVELLING_ASSUMPTION = (
    "the lowest visible intervertebral disc is L5/S1; discs are named upward from it and "
    "the vertebral body above a disc is the upper vertebra of its name (above L5/S1 is "
    "L5). A lumbosacral transitional vertebra (sacralised L5, lumbarised S1/L6) or a "
    "field of view ending above L5/S1 shifts every name by one level and cannot be "
    "detected from a lumbar sagittal stack alone."
)

_SPLIT_FACTOR = 1.6  # body taller than this × typical height → touching bodies
_GAP_FACTOR = 1.7  # disc gap larger than this × typical spacing → missing level(s)
_STRUCT_6 = ndi.generate_binary_structure(3, 1)


@dataclass(frozen=True, eq=False)
class LevelledSpine:
    """Named levels of one mask.

    ``instances`` (int16, canonical grid): bodies and discs in SPIDER-style ids
    (0 elsewhere, including posterior elements and unnamed structures). ``table``: one
    row per structure found (named or not). ``missing``: contract levels
    (``l1 … l5``, ``l1_l2 … l5_s1``) not found, with the reason. ``body_mask``: every
    vertebral body voxel (vertebra class anterior to the canal).
    """

    instances: np.ndarray
    table: pd.DataFrame
    missing: Mapping[str, str]
    body_mask: np.ndarray
    spine_axis: tuple[float, float]
    spacing: tuple[float, float, float]
    levelling_assumption: str = LEVELLING_ASSUMPTION
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def levels(self) -> tuple[str, ...]:
        return tuple(self.table.loc[self.table["level"].notna(), "level"])

    def mask_of(self, level: str) -> np.ndarray:
        if level not in self.levels:
            raise KeyError(
                f"level {level!r} not found; found: {', '.join(self.levels) or 'none'}"
                + (f" ({self.missing[level]})" if level in self.missing else "")
            )
        return self.instances == instance_id(level)

    def row(self, level: str) -> pd.Series | None:
        hit = self.table[self.table["level"] == level]
        return None if hit.empty else hit.iloc[0]


# ------------------------------------------------------------------------ bodies
def _fill_rows(values: np.ndarray) -> np.ndarray | None:
    """Interpolate NaNs along rows; nearest value beyond the ends; None if all NaN."""
    ok = np.isfinite(values)
    if not ok.any():
        return None
    idx = np.arange(values.size)
    return np.interp(idx, idx[ok], values[ok])


def _posterior_wall(mask: np.ndarray) -> tuple[np.ndarray | None, str]:
    """Per row (SI), the AP index where the spinal column ends and the canal begins.

    Rows with canal: the canal's most anterior voxel. Rows without canal (annotations
    often stop at L4/L5, and the canal may be cut by the field of view) but with disc:
    one past the disc's most posterior voxel. Other rows: linear interpolation between
    those anchors, the nearest anchor beyond the ends.
    """
    cols = np.arange(mask.shape[2], dtype=float)
    canal = (mask == CANAL).any(axis=0)  # (rows, cols)
    disc = (mask == DISC).any(axis=0)
    front = np.where(canal, cols[None, :], np.inf).min(axis=1)
    back = np.where(disc, cols[None, :], -np.inf).max(axis=1) + 1
    wall = np.where(np.isfinite(front), front, np.where(np.isfinite(back), back, np.nan))
    if canal.any():
        how = "canal anterior edge" + (
            " (disc posterior edge where the canal is unlabelled)"
            if np.any(~np.isfinite(front) & np.isfinite(back))
            else ""
        )
    elif disc.any():
        how = "disc posterior edge (no canal in the mask)"
    else:
        return None, "none (no canal and no disc: the whole vertebra class is taken as body)"
    return _fill_rows(wall), how


def vertebral_bodies(mask: np.ndarray) -> tuple[np.ndarray, str]:
    """Vertebra-class voxels anterior to the canal: the vertebral bodies.

    Returns ``(body_mask, how)`` where ``how`` says which landmark cut the posterior
    elements off.
    """
    m = np.asarray(mask)
    wall, how = _posterior_wall(m)
    vert = m == VERTEBRA
    if wall is None:
        return vert, how
    cols = np.arange(m.shape[2])
    return vert & (cols[None, None, :] < wall[None, :, None]), how


# --------------------------------------------------------------------- instances
def _components(binary: np.ndarray, min_voxels: int) -> list[np.ndarray]:
    lab, n = ndi.label(binary, structure=_STRUCT_6)
    if n == 0:
        return []
    objs = ndi.find_objects(lab)
    out = []
    for i, sl in enumerate(objs, start=1):
        sub = lab[sl] == i
        if sub.sum() < min_voxels:
            continue
        coords = np.argwhere(sub) + np.array([s.start for s in sl])
        out.append(coords)
    return out


def _project(coords: np.ndarray, spacing: np.ndarray, axis: np.ndarray) -> np.ndarray:
    return coords[:, 1] * spacing[1] * axis[0] + coords[:, 2] * spacing[2] * axis[1]


def _spine_axis(centroids_mm: np.ndarray) -> np.ndarray:
    """Unit (SI, AP) direction of the spine, pointing inferior."""
    if len(centroids_mm) < 2:
        return np.array([1.0, 0.0])
    pts = centroids_mm[:, 1:] - centroids_mm[:, 1:].mean(axis=0)
    _, _, vt = np.linalg.svd(pts, full_matrices=False)
    ax = vt[0] / np.linalg.norm(vt[0])
    return ax if ax[0] >= 0 else -ax


def _merge_overlapping(parts: list[np.ndarray], spacing, axis) -> list[np.ndarray]:
    """Merge pieces whose centroid projects inside a larger piece's 10–90 % extent."""
    parts = sorted(parts, key=len, reverse=True)
    merged: list[np.ndarray] = []
    spans: list[tuple[float, float]] = []
    for p in parts:
        proj = _project(p, spacing, axis)
        c = proj.mean()
        for k, (lo, hi) in enumerate(spans):
            if lo <= c <= hi:
                merged[k] = np.vstack([merged[k], p])
                break
        else:
            merged.append(p)
            spans.append((np.percentile(proj, 10), np.percentile(proj, 90)))
    return merged


def _split_at_discs(
    bodies: list[np.ndarray], discs: list[np.ndarray], spacing, axis, notes: list[str]
) -> list[np.ndarray]:
    """Cut a body component along the plane of any disc that lies inside its extent.

    Bodies can touch around a small or partly labelled disc (their labels meet in front
    of or beside it), making one component of two bodies with the disc in between.
    """
    planes = []
    for d in discs:
        pts = d[:, 1:] * spacing[1:]
        c = pts.mean(axis=0)
        _, _, vt = np.linalg.svd(pts - c, full_matrices=False)
        planes.append((c, vt[-1], float(_project(d, spacing, axis).mean())))
    out: list[np.ndarray] = []
    queue = list(bodies)
    while queue:
        b = queue.pop()
        proj = _project(b, spacing, axis)
        lo, hi = np.percentile(proj, 5), np.percentile(proj, 95)
        for c, normal, p in planes:
            if not lo + 0.15 * (hi - lo) < p < hi - 0.15 * (hi - lo):
                continue
            side = (b[:, 1:] * spacing[1:] - c) @ normal > 0
            if side.sum() < 0.15 * len(b) or (~side).sum() < 0.15 * len(b):
                continue
            notes.append(
                f"a vertebral body component enclosed a disc (at {p:.0f} mm along the "
                "spine): split along the disc's plane"
            )
            queue += [b[side], b[~side]]
            break
        else:
            out.append(b)
    return out


def _split_tall(
    bodies: list[np.ndarray], expected: float | None, spacing, axis, notes: list[str]
) -> list[np.ndarray]:
    if expected is None or expected <= 0:
        return bodies
    out = []
    step = float(min(spacing[1], spacing[2]))
    for b in bodies:
        proj = _project(b, spacing, axis)
        lo, hi = proj.min(), proj.max() + step
        extent = hi - lo
        n = int(round(extent / expected))
        if extent <= _SPLIT_FACTOR * expected or n < 2:
            out.append(b)
            continue
        bins = np.arange(lo, hi + step, step)
        counts = np.histogram(proj, bins)[0].astype(float)
        counts = ndi.uniform_filter1d(counts, 3)
        cuts = []
        for k in range(1, n):
            nominal = lo + k * extent / n
            win = (bins[:-1] >= nominal - 0.25 * expected) & (
                bins[:-1] <= nominal + 0.25 * expected
            )
            i = np.flatnonzero(win)
            if i.size and counts[i].min() < 0.85 * np.median(counts[i]):  # a clear waist
                cuts.append(bins[i[np.argmin(counts[i])]] + step / 2)
            else:
                cuts.append(nominal)
        pieces = np.digitize(proj, cuts)
        for k in range(n):
            piece = b[pieces == k]
            if len(piece):
                out.append(piece)
        notes.append(
            f"a vertebral body component {extent:.0f} mm tall (typical "
            f"{expected:.0f} mm) was split into {n} along the spine axis: bodies "
            "touching without a labelled disc between"
        )
    return out


@dataclass
class _Item:
    kind: str
    coords: np.ndarray
    pos: float
    centroid: np.ndarray
    level: str | None = None
    inferred: int = 0
    notes: list[str] = field(default_factory=list)


def label_levels(
    mask: np.ndarray,
    spacing,
    *,
    clean: bool = True,
    min_disc_mm3: float = 150.0,
    min_body_mm3: float = 500.0,
) -> LevelledSpine:
    """Split a three-class mask into named levels (see the module docstring).

    ``mask`` is a canonical-order three-class array (or a :class:`~radiomics_features.io.Volume`
    of one, whose spacing is then used if ``spacing`` is None). ``clean`` first drops
    specks below 100 mm³ (:func:`radiomics_features.postprocess.remove_small_components`).
    """
    if hasattr(mask, "array") and hasattr(mask, "spacing"):
        spacing = mask.spacing if spacing is None else spacing
        mask = mask.array
    m = np.asarray(mask)
    if m.ndim != 3:
        raise ValueError(f"mask must be 3D in canonical (LR, SI, AP) order; got shape {m.shape}")
    sp = np.asarray(spacing, dtype=float)
    if sp.shape != (3,) or np.any(sp <= 0):
        raise ValueError(f"spacing must be three positive mm values; got {spacing}")
    if clean:
        m = remove_small_components(m, sp, 100.0)
    voxel = float(np.prod(sp))
    notes: list[str] = []
    bodies_mask, how = vertebral_bodies(m)
    notes.append(f"vertebral body = vertebra class anterior to the {how}")

    discs = _components(m == DISC, int(np.ceil(min_disc_mm3 / voxel)))
    bodies = _components(bodies_mask, int(np.ceil(min_body_mm3 / voxel)))
    cents = [c.mean(axis=0) * sp for c in discs + bodies]
    axis = _spine_axis(np.array(cents)) if len(cents) >= 2 else np.array([1.0, 0.0])
    discs = _merge_overlapping(discs, sp, axis)
    bodies = _merge_overlapping(bodies, sp, axis)

    # typical body height along the axis, from the bodies or from the disc spacing
    def extent(c):
        p = _project(c, sp, axis)
        return p.max() - p.min() + min(sp[1], sp[2])

    bodies = _split_at_discs(bodies, discs, sp, axis, notes)
    disc_pos = sorted(_project(d, sp, axis).mean() for d in discs)
    gaps = np.diff(disc_pos)
    expected = None
    if len(bodies) >= 3:
        expected = float(np.median([extent(b) for b in bodies]))
    elif len(gaps) >= 1:
        expected = float(np.median(gaps) - np.median([extent(d) for d in discs]))
    bodies = _split_tall(bodies, expected, sp, axis, notes)

    items = [
        _Item("disc", d, float(_project(d, sp, axis).mean()), d.mean(axis=0) * sp) for d in discs
    ]
    items += [
        _Item("vertebra", b, float(_project(b, sp, axis).mean()), b.mean(axis=0) * sp)
        for b in bodies
    ]
    items.sort(key=lambda it: -it.pos)  # bottom → top
    body_below = _name(items, notes)

    shape = m.shape
    inst = np.zeros(shape, dtype=np.int16)
    rows = []
    for it in items:
        c = it.coords
        if it.level is not None:
            inst[c[:, 0], c[:, 1], c[:, 2]] = instance_id(it.level)
        trunc = bool(
            (c[:, 1].min() == 0)
            | (c[:, 1].max() == shape[1] - 1)
            | (c[:, 2].min() == 0)
            | (c[:, 2].max() == shape[2] - 1)
        )
        lat = bool((c[:, 0].min() == 0) | (c[:, 0].max() == shape[0] - 1))
        if trunc:
            it.notes.append(
                "touches the superior/inferior or anterior/posterior edge of the "
                "field of view: truncated"
            )
        rows.append(
            dict(
                level=it.level,
                kind=it.kind,
                instance_id=instance_id(it.level) if it.level else 0,
                position_mm=it.pos,
                centroid_lr_mm=it.centroid[0],
                centroid_si_mm=it.centroid[1],
                centroid_ap_mm=it.centroid[2],
                voxels=len(c),
                volume_mm3=len(c) * voxel,
                truncated=trunc,
                lateral_truncated=lat,
                inferred_below=it.inferred,
                notes="; ".join(it.notes),
            )
        )
    table = pd.DataFrame(
        rows,
        columns=[
            "level",
            "kind",
            "instance_id",
            "position_mm",
            "centroid_lr_mm",
            "centroid_si_mm",
            "centroid_ap_mm",
            "voxels",
            "volume_mm3",
            "truncated",
            "lateral_truncated",
            "inferred_below",
            "notes",
        ],
    )
    table = table.iloc[::-1].reset_index(drop=True)  # cranial → caudal

    lowest = next((it for it in items if it.kind == "disc"), None)
    global_doubt = body_below
    if lowest is not None and table.loc[table["level"] == lowest.level, "truncated"].any():
        notes.append(
            "the lowest disc is truncated by the field of view: if L5/S1 lies below "
            "it, every name is one level too low"
        )
        global_doubt = True
    table["confidence"] = [
        _confidence(int(inf), global_doubt, len(discs)) if lev is not None else "none"
        for lev, inf in zip(table["level"], table["inferred_below"], strict=True)
    ]

    missing = _missing(table, items)
    return LevelledSpine(
        instances=inst,
        table=table,
        missing=MappingProxyType(missing),
        body_mask=bodies_mask,
        spine_axis=(float(axis[0]), float(axis[1])),
        spacing=tuple(float(s) for s in sp),
        notes=tuple(notes),
    )


def _confidence(inferred: int, doubt: bool, n_discs: int) -> str:
    score = inferred + int(doubt) + int(n_discs < 3)
    return "high" if score == 0 else "medium" if score == 1 else "low"


def _name(items: list[_Item], notes: list[str]) -> bool:
    """Walk bottom → top and name each structure (in place); True if bodies lie below."""
    discs = [it for it in items if it.kind == "disc"]
    if not discs:
        notes.append("no disc found: levels cannot be named")
        return False
    low_pos = discs[0].pos
    below = [it for it in items if it.kind == "vertebra" and it.pos > low_pos]
    if below:
        notes.append(
            f"{len(below)} vertebral body/bodies below the lowest disc (a labelled "
            "sacrum, or an unlabelled L5/S1 disc): left unnamed; names assume the "
            "lowest disc is L5/S1"
        )
        for it in below:
            it.notes.append("below the lowest disc: unnamed")
    gaps = np.diff([-d.pos for d in discs])  # positive, bottom → top
    typical = float(np.median(gaps)) if len(gaps) >= 3 else None

    n, inferred = 1, 0
    discs[0].level = disc_name_from_bottom(1)
    for a, b in zip(discs[:-1], discs[1:], strict=True):
        between = [it for it in items if it.kind == "vertebra" and b.pos < it.pos < a.pos]
        between.sort(key=lambda it: -it.pos)
        steps = max(len(between), 1)
        gap = a.pos - b.pos
        if typical is not None and gap >= _GAP_FACTOR * typical:
            steps = max(steps, int(round(gap / typical)))
        if len(between) == 0:
            inferred += 1
            notes.append(
                f"no vertebral body between {a.level} and the disc above it: "
                f"vertebra {vertebra_name_from_bottom(n)} missing from the mask"
            )
        if steps > 1:
            inferred += 1
            notes.append(
                f"{steps - 1} disc(s) missing above {a.level} (gap {gap:.0f} mm"
                + (f", typical {typical:.0f} mm" if typical else "")
                + f", {len(between)} bodies between): names above are inferred"
            )
        # bodies between: nearest of the `steps` vertebra slots, predicted evenly spaced
        slots = [a.pos - (j + 0.5) * gap / steps for j in range(steps)]
        used: set[int] = set()
        for it in between:
            j = int(
                np.argmin(
                    [abs(it.pos - s) if k not in used else np.inf for k, s in enumerate(slots)]
                )
            )
            used.add(j)
            it.level = vertebra_name_from_bottom(n + j)
            it.inferred = inferred
        n += steps
        if n > 24:
            break
        b.level = disc_name_from_bottom(n)
        b.inferred = inferred
    top = discs[-1]
    above = sorted(
        [it for it in items if it.kind == "vertebra" and it.pos < top.pos], key=lambda it: -it.pos
    )
    for j, it in enumerate(above):
        if n + j > 24:
            break
        it.level = vertebra_name_from_bottom(n + j)
        it.inferred = inferred + (1 if j else 0)
        if j:
            notes.append(f"bodies above the top disc without a disc between: {it.level} inferred")
    for it in items:
        if it.kind == "vertebra" and it.level is None and it not in below:
            it.notes.append("could not be placed in the level chain: unnamed")
    return bool(below)


def _missing(table: pd.DataFrame, items: list[_Item]) -> dict[str, str]:
    """Reason for each contract level not found."""
    named = [it for it in items if it.level]
    found = {it.level for it in named}

    def position(level: str) -> int:  # bottom-up chain: l5_s1 1, l5 2, l4_l5 3, l4 4, …
        k = instance_id(level)
        return 2 * (k - 200) - 1 if k > 200 else 2 * k

    top = max(named, key=lambda it: position(it.level), default=None)
    out: dict[str, str] = {}
    for lev in (*DISC_LEVELS, *VERTEBRA_LEVELS):
        if lev in found:
            continue
        if not any(it.kind == "disc" for it in named):
            out[lev] = "no disc found in the mask: levels cannot be named"
        elif position(lev) > position(top.level):
            out[lev] = (
                f"above the field of view or not segmented: the level chain ends at {top.level}"
            )
        else:
            out[lev] = "missing from the mask within the level chain (see the levelling notes)"
    return out
