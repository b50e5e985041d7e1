"""Where the radiomic features of a disc level are taken: the disc and canal ROIs.

One row per disc level ``l1_l2 … l5_s1`` and ROI kind (:data:`ROI_KINDS`):

* ``disc`` — the level's disc voxels (:class:`~radiomics_features.levelling.LevelledSpine`)
  on the slice nearest the mid-sagittal slice that has the disc.
* ``canal`` — the canal segment at the disc: canal voxels lying between the disc's two
  endplate lines extended posteriorly, i.e. within the disc's extent across its own
  long axis (its principal axis on the slice), behind the disc's centre and at most
  :data:`CANAL_REACH_MM` from it. Needs the three-class mask; without it the ROI
  carries a reason instead of voxels.

An ROI that cannot be placed carries a ``reason``; nothing raises for anatomy.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from radiomics_features.labels import CANAL, instance_id
from radiomics_features.levelling import LevelledSpine

__all__ = ["ROI_KINDS", "CANAL_REACH_MM", "Roi", "disc_and_canal_rois"]

ROI_KINDS: tuple[str, ...] = ("disc", "canal")
CANAL_REACH_MM = 60.0


@dataclass(frozen=True)
class Roi:
    """One ROI of a disc level: its voxels on ``slice`` (``plane``, 2D) and on the slab of
    slices ``k0 …`` (``slab``, 3D), or the ``reason`` it has none."""

    level: str
    kind: str
    slice: int | None = None
    plane: np.ndarray | None = None  # ROI on `slice` (2D)
    slab: np.ndarray | None = None  # ROI on slices k0 … k1-1 (3D)
    k0: int = 0
    reason: str = ""


def _nearest_slice(region3: np.ndarray, k_mid: int) -> int | None:
    present = np.flatnonzero(region3.any(axis=(1, 2)))
    if present.size == 0:
        return None
    return int(present[np.argmin(np.abs(present - k_mid))])


def _canal_band(disc_plane: np.ndarray, sp2: np.ndarray) -> Callable[[np.ndarray], np.ndarray]:
    """Function (pixel coords -> bool): inside the disc's band, behind its centre."""
    pts = np.argwhere(disc_plane) * sp2
    c = pts.mean(axis=0)
    _, _, vt = np.linalg.svd(pts - c, full_matrices=False)
    u = vt[0] if vt[0][1] >= 0 else -vt[0]  # along the disc, posterior-pointing
    v = np.array([u[1], -u[0]])
    across = (pts - c) @ v
    half_px = 0.5 * float(np.abs(v) @ sp2)  # pixel half-footprint along v
    lo, hi = across.min() - half_px, across.max() + half_px

    def inside(idx: np.ndarray) -> np.ndarray:
        q = idx * sp2 - c
        a, b = q @ v, q @ u
        return (a >= lo) & (a <= hi) & (b > 0) & (b <= CANAL_REACH_MM)

    return inside


def disc_and_canal_rois(
    level: str,
    levelled: LevelledSpine,
    mask3: np.ndarray | None,
    k_mid: int,
    half: int,
    sp: np.ndarray,
) -> tuple[Roi, Roi]:
    """The disc and canal ROIs of ``level`` near slice ``k_mid``, with slabs of
    ``half`` slices either side (see the module docstring); ``sp`` is the spacing."""
    if level not in levelled.levels:
        why = levelled.missing.get(level, "not found in the levelled mask")
        return (
            Roi(level, "disc", reason=f"disc not found: {why}"),
            Roi(level, "canal", reason=f"disc not found: {why}"),
        )
    disc3 = levelled.instances == instance_id(level)
    k = _nearest_slice(disc3, k_mid)
    if k is None:  # pragma: no cover - levels imply voxels
        return (
            Roi(level, "disc", reason="disc has no voxels"),
            Roi(level, "canal", reason="disc has no voxels"),
        )
    k0, k1 = max(k - half, 0), min(k + half + 1, disc3.shape[0])
    disc = Roi(level, "disc", k, disc3[k], disc3[k0:k1], k0)
    if mask3 is None:
        return disc, Roi(
            level,
            "canal",
            k,
            reason="no three-class mask given (mask=): the canal segment cannot be defined",
        )
    if disc3[k].sum() < 3:
        return disc, Roi(
            level,
            "canal",
            k,
            reason=f"disc has {int(disc3[k].sum())} pixel(s) "
            f"on slice {k}: too few to place the canal band",
        )
    inside = _canal_band(disc3[k], sp[1:])
    slab = np.zeros((k1 - k0, *disc3.shape[1:]), dtype=bool)
    for j in range(k0, k1):
        idx = np.argwhere(mask3[j] == CANAL)
        if len(idx):
            keep = idx[inside(idx)]
            slab[j - k0, keep[:, 0], keep[:, 1]] = True
    if not slab[k - k0].any():
        return disc, Roi(
            level, "canal", k, reason=f"no canal labelled behind the disc on slice {k}"
        )
    return disc, Roi(level, "canal", k, slab[k - k0], slab, k0)
