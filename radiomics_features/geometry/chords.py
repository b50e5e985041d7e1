"""Lengths of a structure along its own axes, on one sagittal slice, in mm.

A structure's :class:`Frame` is its centre and two unit directions in the (SI, AP)
plane: ``u`` along it (posterior-pointing) and ``v`` across (inferior-pointing).
:func:`profile` gives its AP depth (the chord along ``u`` through the centre) and its
heights (chords along ``v``) at fractions of that depth. Chords are sampled at 1/8
voxel with nearest-voxel lookup: a length is exact up to the rasterisation of its two
ends, i.e. within one voxel.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["Frame", "pca_frame", "oriented_frame", "profile", "first_run_length"]


@dataclass(frozen=True)
class Frame:
    """Centre (mm) and axes of a structure on a slice."""

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


def first_run_length(region, sp2, origin, d, start, length, min_len: float = 0.0) -> float:
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


def pca_frame(region: np.ndarray, sp2: np.ndarray) -> Frame:
    """The frame of a 2D region from its principal axes (``u`` = the long one)."""
    pts = np.argwhere(region) * sp2
    c = pts.mean(axis=0)
    _, _, vt = np.linalg.svd(pts - c, full_matrices=False)
    u = vt[0] / np.linalg.norm(vt[0])
    return oriented_frame(c, u)


def oriented_frame(c: np.ndarray, u: np.ndarray) -> Frame:
    """The frame at centre ``c`` with ``u`` turned posterior and ``v`` inferior."""
    u = u if u[1] >= 0 else -u  # posterior-pointing
    v = np.array([u[1], -u[0]])
    v = v if v[0] >= 0 else -v  # inferior-pointing
    return Frame(c, u, v)


def _anchor(region, sp2, f: Frame, span: float) -> Frame:
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
    return Frame(f.centre + 0.5 * (t[left] + t[right]) * f.v, f.u, f.v)


def profile(region, sp2, f: Frame) -> tuple[dict[str, float], Frame]:
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
