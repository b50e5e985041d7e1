"""Instances: discs and vertebral bodies as separate 3D structures (step 2 of the
levelling), and the spine axis they are ordered along.

Components (6-connected) above a minimum size; pieces of one structure (overlapping
along the spine) are merged; touching bodies are separated at a disc inside their
extent (:func:`split_at_discs`) or, when still much taller than the others, at equal
divisions moved to a clear waist (:func:`split_tall`). Coordinates are voxel indices
``(n, 3)`` in canonical (LR, SI, AP) order; positions along the spine are in mm.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage as ndi

__all__ = [
    "components",
    "project",
    "spine_axis",
    "merge_overlapping",
    "split_at_discs",
    "split_tall",
]

_SPLIT_FACTOR = 1.6  # body taller than this × typical height → touching bodies
_STRUCT_6 = ndi.generate_binary_structure(3, 1)


def components(binary: np.ndarray, min_voxels: int) -> list[np.ndarray]:
    """Voxel coordinates of each 6-connected component with at least ``min_voxels``."""
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


def project(coords: np.ndarray, spacing: np.ndarray, axis: np.ndarray) -> np.ndarray:
    """Position (mm) of each voxel along the (SI, AP) direction ``axis``."""
    return coords[:, 1] * spacing[1] * axis[0] + coords[:, 2] * spacing[2] * axis[1]


def spine_axis(centroids_mm: np.ndarray) -> np.ndarray:
    """Unit (SI, AP) direction of the spine, pointing inferior."""
    if len(centroids_mm) < 2:
        return np.array([1.0, 0.0])
    pts = centroids_mm[:, 1:] - centroids_mm[:, 1:].mean(axis=0)
    _, _, vt = np.linalg.svd(pts, full_matrices=False)
    ax = vt[0] / np.linalg.norm(vt[0])
    return ax if ax[0] >= 0 else -ax


def merge_overlapping(parts: list[np.ndarray], spacing, axis) -> list[np.ndarray]:
    """Merge pieces whose centroid projects inside a larger piece's 10–90 % extent."""
    parts = sorted(parts, key=len, reverse=True)
    merged: list[np.ndarray] = []
    spans: list[tuple[float, float]] = []
    for p in parts:
        proj = project(p, spacing, axis)
        c = proj.mean()
        for k, (lo, hi) in enumerate(spans):
            if lo <= c <= hi:
                merged[k] = np.vstack([merged[k], p])
                break
        else:
            merged.append(p)
            spans.append((np.percentile(proj, 10), np.percentile(proj, 90)))
    return merged


def split_at_discs(
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
        planes.append((c, vt[-1], float(project(d, spacing, axis).mean())))
    out: list[np.ndarray] = []
    queue = list(bodies)
    while queue:
        b = queue.pop()
        proj = project(b, spacing, axis)
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


def split_tall(
    bodies: list[np.ndarray], expected: float | None, spacing, axis, notes: list[str]
) -> list[np.ndarray]:
    """Split a body component taller than 1.6× the ``expected`` body height into equal
    parts along the spine, each cut moved to a clear waist nearby when there is one."""
    if expected is None or expected <= 0:
        return bodies
    out = []
    step = float(min(spacing[1], spacing[2]))
    for b in bodies:
        proj = project(b, spacing, axis)
        lo, hi = proj.min(), proj.max() + step
        extent = hi - lo
        n = round(float(extent / expected))
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
