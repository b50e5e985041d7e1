"""Slice preprocessing shared by training and inference: one implementation, two users.

The network sees each sagittal slice on a fixed physical grid (``target_spacing_mm``
in-plane, ~1 mm), with a per-slice intensity scale, padded to a multiple of the
network's total stride. Training (``radiomics_features.train``) builds its inputs with
these functions and inference (``radiomics_features.backbone.inference``) calls the
same ones, with the parameters read back from the model's JSON sidecar, so the two
cannot drift apart.

Resampling is separable and linear: each in-plane axis gets a small weight matrix
(triangle kernel, widened when downsampling so it also anti-aliases, like PIL's
``BILINEAR`` with reduction). A stack of slices is then resampled by two sparse matrix
products (a few non-zeros per row), which is fast on CPU, exact to reproduce and needs
only numpy and scipy.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
from scipy import sparse

__all__ = [
    "Preprocessing",
    "SliceGrid",
    "from_model_grid",
    "normalise_slices",
    "resample_to_grid",
    "resample_weights",
    "slice_grid",
    "to_model_grid",
]


@dataclass(frozen=True)
class Preprocessing:
    """Parameters of the input pipeline; stored in, and read from, the sidecar JSON.

    ``target_spacing_mm``: in-plane pixel size the network works at (rows and columns).
    ``percentile`` / ``clip_max``: each slice is divided by its ``percentile``-th
    intensity percentile, then clipped to ``[0, clip_max]``. A per-slice scale makes the
    8-bit SPIDER exports comparable whatever window the exporter chose.
    ``size_multiple``: padded height and width are multiples of this (the network's
    total stride); padding is added at the bottom and right with ``pad_value``.
    """

    target_spacing_mm: float = 0.9375
    percentile: float = 99.0
    clip_max: float = 2.0
    size_multiple: int = 16
    pad_value: float = 0.0

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> Preprocessing:
        unknown = set(d) - set(cls.__dataclass_fields__)
        if unknown:
            raise ValueError(
                f"preprocessing parameters {sorted(unknown)} are not known to this "
                f"version (expected {sorted(cls.__dataclass_fields__)}); is the sidecar "
                "from a newer release?"
            )
        return cls(**d)


@dataclass(frozen=True)
class SliceGrid:
    """Geometry linking an input slice grid to the model grid, for the way back."""

    in_shape: tuple[int, int]  # rows, cols of the input slices
    model_shape: tuple[int, int]  # rows, cols after resampling, before padding
    padded_shape: tuple[int, int]  # rows, cols fed to the network
    row_weights: sparse.csr_array  # (model rows, input rows)
    col_weights: sparse.csr_array  # (model cols, input cols)
    row_weights_back: sparse.csr_array  # (input rows, model rows)
    col_weights_back: sparse.csr_array  # (input cols, model cols)


def resample_weights(n_in: int, spacing_in: float, spacing_out: float, n_out: int) -> np.ndarray:
    """Weights ``(n_out, n_in)`` resampling a 1D signal between two pixel grids.

    Both grids start at the same physical edge; pixel ``i`` of a grid has its centre at
    ``(i + 0.5) * spacing``. The kernel is a triangle of half-width
    ``max(1, spacing_out / spacing_in)`` input pixels (linear interpolation when
    upsampling, anti-aliased averaging when downsampling). Rows sum to 1; near the edges
    the kernel is renormalised over the pixels that exist.

    >>> w = resample_weights(4, 1.0, 2.0, 2)
    >>> w.shape, bool(np.allclose(w.sum(axis=1), 1.0))
    ((2, 4), True)
    """
    if n_in < 1 or n_out < 1:
        raise ValueError(f"grid sizes must be at least 1, got n_in={n_in}, n_out={n_out}")
    centres = (np.arange(n_out, dtype=np.float64) + 0.5) * (spacing_out / spacing_in) - 0.5
    support = max(1.0, spacing_out / spacing_in)
    j = np.arange(n_in, dtype=np.float64)
    w = np.clip(1.0 - np.abs(j[None, :] - centres[:, None]) / support, 0.0, None)
    sums = w.sum(axis=1, keepdims=True)
    # An output pixel past the input's far edge (rounding) takes the nearest input pixel.
    empty = sums[:, 0] == 0
    if empty.any():
        nearest = np.clip(np.rint(centres[empty]), 0, n_in - 1).astype(int)
        w[empty] = 0.0
        w[np.flatnonzero(empty), nearest] = 1.0
        sums = w.sum(axis=1, keepdims=True)
    return (w / sums).astype(np.float32)


def normalise_slices(slices: np.ndarray, prep: Preprocessing) -> np.ndarray:
    """Per-slice intensity scaling of a ``(n, rows, cols)`` float stack (returns a new array).

    Each slice is divided by its ``prep.percentile``-th percentile and clipped to
    ``[0, prep.clip_max]``; an all-dark slice (percentile 0) is left at zero.
    """
    x = np.asarray(slices, dtype=np.float32)
    flat = x.reshape(x.shape[0], -1)
    scale = np.percentile(flat, prep.percentile, axis=1).astype(np.float32)
    scale = np.where(scale > 1e-6, scale, np.float32(1.0))
    out = x / scale[:, None, None]
    return np.clip(out, 0.0, prep.clip_max, out=out)


def slice_grid(
    in_shape: tuple[int, int], spacing_rc: tuple[float, float], prep: Preprocessing
) -> SliceGrid:
    """Build the resampling geometry for slices of ``in_shape`` with ``(row, col)`` spacing."""
    rows, cols = int(in_shape[0]), int(in_shape[1])
    row_mm, col_mm = float(spacing_rc[0]), float(spacing_rc[1])
    t = prep.target_spacing_mm
    h = max(1, round(rows * row_mm / t))
    w = max(1, round(cols * col_mm / t))
    m = prep.size_multiple
    padded = (-(-h // m) * m, -(-w // m) * m)
    return SliceGrid(
        in_shape=(rows, cols),
        model_shape=(h, w),
        padded_shape=padded,
        row_weights=sparse.csr_array(resample_weights(rows, row_mm, t, h)),
        col_weights=sparse.csr_array(resample_weights(cols, col_mm, t, w)),
        row_weights_back=sparse.csr_array(resample_weights(h, t, row_mm, rows)),
        col_weights_back=sparse.csr_array(resample_weights(w, t, col_mm, cols)),
    )


def _apply_2d(x: np.ndarray, w_rows: sparse.csr_array, w_cols: sparse.csr_array) -> np.ndarray:
    """``w_rows @ x[i] @ w_cols.T`` for every leading index of ``x (..., r, c)``."""
    lead, (r, c) = x.shape[:-2], x.shape[-2:]
    flat = x.reshape(-1, c)  # (lead*r, c)
    y = (w_cols @ flat.T).T  # (lead*r, w)
    w = y.shape[-1]
    y = np.moveaxis(y.reshape(-1, r, w), 1, 0).reshape(r, -1)  # (r, lead*w)
    z = w_rows @ y  # (h, lead*w)
    h = z.shape[0]
    return (
        np.ascontiguousarray(np.moveaxis(z.reshape(h, -1, w), 0, 1))
        .reshape(*lead, h, w)
        .astype(np.float32, copy=False)
    )


def resample_to_grid(stack: np.ndarray, grid: SliceGrid) -> np.ndarray:
    """Resample ``(..., rows, cols)`` to the model grid ``(..., h, w)`` (no padding)."""
    x = np.asarray(stack, dtype=np.float32)
    return _apply_2d(x, grid.row_weights, grid.col_weights)


def to_model_grid(slices: np.ndarray, grid: SliceGrid, prep: Preprocessing) -> np.ndarray:
    """Network input ``(n, 1, H, W)`` float32 from raw slices ``(n, rows, cols)``."""
    x = normalise_slices(resample_to_grid(slices, grid), prep)
    h, w = grid.model_shape
    ph, pw = grid.padded_shape
    out = np.full((x.shape[0], 1, ph, pw), prep.pad_value, dtype=np.float32)
    out[:, 0, :h, :w] = x
    return out


def from_model_grid(maps: np.ndarray, grid: SliceGrid) -> np.ndarray:
    """Crop the padding and resample ``(n, k, H, W)`` maps back to ``(n, k, rows, cols)``.

    Linear interpolation (see ``resample_weights``): applied to logits, the class
    boundaries after ``argmax`` follow the sub-pixel zero crossings instead of the
    model grid's staircase.
    """
    h, w = grid.model_shape
    x = np.asarray(maps, dtype=np.float32)[..., :h, :w]
    return _apply_2d(x, grid.row_weights_back, grid.col_weights_back)
