"""Vertebral bodies: the vertebra class anterior to the canal (step 1 of the levelling).

The vertebra class holds bodies *and* posterior elements (SPIDER), which touch through
the pedicles and facets, so a 3D component is not a body. The body is the part
anterior to the canal: per image row, the canal's most anterior voxel (over all
slices) marks the posterior wall of the column; rows without canal are interpolated
from their neighbours. Without a canal the discs' posterior edge is used instead.
"""

from __future__ import annotations

import numpy as np

from radiomics_features.labels import CANAL, DISC, VERTEBRA

__all__ = ["vertebral_bodies"]


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
