"""Canal AP diameter at a disc or vertebral body: the canal chord perpendicular to the
canal's local axis, on the line through the structure's posterior margin."""

from __future__ import annotations

import numpy as np

from radiomics_features.geometry.chords import Frame, first_run_length

__all__ = ["canal_diameter"]

_CANAL_SEARCH_MM = 40.0
_CANAL_RADIUS_MM = 12.0
_MIN_CANAL_MM = 1.0  # shorter canal runs are slivers at a corner, not the crossing


def canal_diameter(canal: np.ndarray, sp2: np.ndarray, f: Frame, t_post: float) -> float:
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
    return first_run_length(
        canal, sp2, p0, direction, -2.0 + half_step, _CANAL_SEARCH_MM + 2.0, min_len=_MIN_CANAL_MM
    )
