"""Clean three-class masks: drop specks, fill holes per slice, keep the canal whole.

All functions take a canonical-order three-class mask (0 background, 1 vertebra,
2 disc, 3 canal; :mod:`radiomics_features.labels`), return a new array and never
modify their input. Sizes are in mm³ so the same settings work at any resolution.

* :func:`remove_small_components` — per class, 3D connected components (26-connected)
  smaller than a size in mm³ become background. Default 100 mm³: well below the
  smallest real structure in SPIDER (a truncated disc at the field-of-view edge is
  still ≥ 900 mm³) and above the PNG-restack specks (≤ 15 mm³).
* :func:`fill_holes_per_slice` — per sagittal slice and class, background voxels
  enclosed by that class join it (a dark nucleus spot left unlabelled, a haemangioma).
  Only background is filled; other classes are never overwritten.
* :func:`keep_largest_canal` — the canal is one tube: keep its largest 3D component,
  plus any component at least ``keep_fraction`` of the largest (a tight stenosis can
  split a correct canal segmentation in two).
* :func:`clean_mask` — the three in that order, with a :class:`CleanReport`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
from scipy import ndimage as ndi

__all__ = [
    "CleanReport",
    "remove_small_components",
    "fill_holes_per_slice",
    "keep_largest_canal",
    "clean_mask",
]

_STRUCT_26 = np.ones((3, 3, 3), dtype=bool)


@dataclass(frozen=True)
class CleanReport:
    """What cleaning changed, per class: components and voxels removed, voxels filled."""

    removed_components: Mapping[int, int]
    removed_voxels: Mapping[int, int]
    filled_voxels: Mapping[int, int]

    def summary(self) -> str:
        parts = [
            f"class {c}: -{self.removed_components.get(c, 0)} components "
            f"(-{self.removed_voxels.get(c, 0)} voxels), +{self.filled_voxels.get(c, 0)} "
            "filled"
            for c in (1, 2, 3)
        ]
        return "; ".join(parts)


def _check(mask: np.ndarray, spacing) -> tuple[np.ndarray, float]:
    m = np.asarray(mask)
    if m.ndim != 3:
        raise ValueError(f"mask must be 3D (canonical LR, SI, AP); got shape {m.shape}")
    if not np.issubdtype(m.dtype, np.integer):
        raise TypeError(f"mask must hold integer class labels; got dtype {m.dtype}")
    sp = np.asarray(spacing, dtype=float)
    if sp.shape != (3,) or np.any(sp <= 0):
        raise ValueError(f"spacing must be three positive mm values; got {tuple(spacing)}")
    return m, float(np.prod(sp))


def _sizes_for(min_size_mm3: float | Mapping[int, float], classes) -> dict[int, float]:
    if isinstance(min_size_mm3, Mapping):
        return {c: float(min_size_mm3.get(c, 0.0)) for c in classes}
    return {c: float(min_size_mm3) for c in classes}


def remove_small_components(
    mask: np.ndarray, spacing, min_size_mm3: float | Mapping[int, float] = 100.0, classes=(1, 2, 3)
) -> np.ndarray:
    """Set 3D components smaller than ``min_size_mm3`` (per class if a mapping) to 0."""
    out, _ = _remove_small(mask, spacing, min_size_mm3, classes)
    return out


def _remove_small(mask, spacing, min_size_mm3, classes):
    m, voxel = _check(mask, spacing)
    out = m.copy()
    comps, voxels = {}, {}
    for c, limit in _sizes_for(min_size_mm3, classes).items():
        lab, n = ndi.label(m == c, structure=_STRUCT_26)
        if n == 0 or limit <= 0:
            comps[c], voxels[c] = 0, 0
            continue
        sizes = np.bincount(lab.ravel(), minlength=n + 1)
        small = np.flatnonzero(sizes * voxel < limit)
        small = small[small > 0]
        if small.size:
            is_small = np.zeros(n + 1, dtype=bool)
            is_small[small] = True
            drop = is_small[lab]
            out[drop] = 0
            voxels[c] = int(drop.sum())
        else:
            voxels[c] = 0
        comps[c] = int(small.size)
    return out, (comps, voxels)


def fill_holes_per_slice(mask: np.ndarray, classes=(1, 2, 3)) -> np.ndarray:
    """Fill background holes of each class within each sagittal slice (axis 0)."""
    out, _ = _fill(mask, classes)
    return out


def _fill(mask, classes):
    m = np.asarray(mask)
    if m.ndim != 3:
        raise ValueError(f"mask must be 3D (canonical LR, SI, AP); got shape {m.shape}")
    out = m.copy()
    filled = {}
    for c in classes:
        count = 0
        for k in range(m.shape[0]):
            region = out[k] == c
            if not region.any():
                continue
            holes = ndi.binary_fill_holes(region) & ~region & (out[k] == 0)
            if holes.any():
                out[k][holes] = c
                count += int(holes.sum())
        filled[c] = count
    return out, filled


def keep_largest_canal(mask: np.ndarray, keep_fraction: float = 0.1, canal: int = 3) -> np.ndarray:
    """Keep the largest 3D canal component and those ≥ ``keep_fraction`` of its size."""
    out, _ = _largest(mask, keep_fraction, canal)
    return out


def _largest(mask, keep_fraction, canal):
    if not 0.0 < keep_fraction <= 1.0:
        raise ValueError(f"keep_fraction must be in (0, 1]; got {keep_fraction}")
    m = np.asarray(mask)
    out = m.copy()
    lab, n = ndi.label(m == canal, structure=_STRUCT_26)
    if n <= 1:
        return out, (0, 0)
    sizes = np.bincount(lab.ravel(), minlength=n + 1)
    sizes[0] = 0
    is_drop = (sizes > 0) & (sizes < keep_fraction * sizes.max())
    drop_ids = np.flatnonzero(is_drop)
    drop = is_drop[lab]
    out[drop] = 0
    return out, (int(drop_ids.size), int(drop.sum()))


def clean_mask(
    mask: np.ndarray,
    spacing,
    *,
    min_size_mm3: float | Mapping[int, float] = 100.0,
    fill_holes: bool = True,
    canal_keep_fraction: float | None = 0.1,
) -> tuple[np.ndarray, CleanReport]:
    """Specks out, holes filled per slice, canal kept whole; returns (mask, report)."""
    out, (comps, voxels) = _remove_small(mask, spacing, min_size_mm3, (1, 2, 3))
    filled = {1: 0, 2: 0, 3: 0}
    if fill_holes:
        out, filled = _fill(out, (1, 2, 3))
    if canal_keep_fraction is not None:
        out, (nc, nv) = _largest(out, canal_keep_fraction, 3)
        comps = {**comps, 3: comps.get(3, 0) + nc}
        voxels = {**voxels, 3: voxels.get(3, 0) + nv}
    return out, CleanReport(comps, voxels, filled)
