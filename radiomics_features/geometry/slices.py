"""Which sagittal slice a structure is measured on."""

from __future__ import annotations

import numpy as np

from radiomics_features.labels import CANAL, DISC

__all__ = ["choose_mid_slice", "region_on_slice"]

_MID_WINDOW_MM = 8.0


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
        near = k == round(centre)
    score = np.where(near, canal + disc, -1.0)
    best = np.flatnonzero(score >= 0.98 * score.max())  # near-ties: the most central
    return int(best[np.argmin(np.abs(best - centre))])


def region_on_slice(inst3: np.ndarray, iid: int, k_mid: int) -> tuple[int, np.ndarray] | None:
    """The slice of instance ``iid`` nearest ``k_mid`` (``k_mid`` itself when the instance
    is there) and its 2D region on it; None when the instance has no voxels."""
    plane = inst3[k_mid] == iid
    if plane.any():
        return k_mid, plane
    present = np.flatnonzero((inst3 == iid).any(axis=(1, 2)))
    if present.size == 0:
        return None
    k = int(present[np.argmin(np.abs(present - k_mid))])
    return k, inst3[k] == iid
