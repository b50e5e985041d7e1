"""Disc-centred crops at a fixed physical size, aligned with the disc.

A crop is ``size x size`` pixels of ``crop_mm / size`` millimetres each, centred on a
disc found by ``localise_discs``, rotated so that the disc's long axis is horizontal
(anterior left, posterior right) and superior is up. The field (the model's input: 64 x 64 pixels of 1.2 mm, 76.8 mm)
covers the whole disc, both endplates with the adjacent vertebral bodies (Modic and
endplate changes) and the canal behind the disc (herniation, bulging).

Intensities: the slice is divided by its 99th percentile (as the backbone's
preprocessing does) and clipped to [0, 2]. On the SPIDER PNG exports the intensities
are windowed 8-bit values, so the crops describe contrast *within* a slice, not
scanner signal; a model trained on them must see slices scaled the same way.
"""

from __future__ import annotations

import numpy as np

from radiomics_features.grader.localise import Disc

__all__ = [
    "CROP_MM",
    "CROP_PIXEL_MM",
    "CROP_SIZE",
    "STORED_MM",
    "STORED_SIZE",
    "disc_crop",
    "normalise_slice",
]

#: pixel size of every crop (mm); the model sees 64 x 64 of them (76.8 mm)
CROP_PIXEL_MM = 1.2
#: the model's input: 64 x 64 pixels
CROP_SIZE = 64
CROP_MM = CROP_SIZE * CROP_PIXEL_MM
#: stored training crops are larger (80 x 80, 96 mm) so augmentation (shift, rotation,
#: scale) samples real tissue instead of padding; their central 64 x 64 is the model input
STORED_SIZE = 80
STORED_MM = STORED_SIZE * CROP_PIXEL_MM


def normalise_slice(
    image: np.ndarray, percentile: float = 99.0, clip_max: float = 2.0
) -> np.ndarray:
    """Slice divided by its ``percentile``-th percentile, clipped to ``[0, clip_max]``."""
    a = np.asarray(image, dtype=np.float32)
    scale = float(np.percentile(a, percentile))
    if scale <= 1e-6:
        return np.zeros_like(a)
    return np.clip(a / scale, 0.0, clip_max)


def disc_crop(
    image: np.ndarray,
    spacing: tuple[float, float],
    disc: Disc,
    *,
    flip_rows: bool,
    flip_cols: bool,
    size: int = CROP_SIZE,
    crop_mm: float = CROP_MM,
    normalised: bool = False,
) -> np.ndarray:
    """``(size, size)`` float32 crop around ``disc`` (see the module docstring).

    ``image`` is the slice as read (input orientation) and ``disc`` comes from
    ``localise_discs`` on that same slice; ``flip_rows`` / ``flip_cols`` are the
    localisation's orientation. Pixels outside the slice are 0.
    """
    from scipy import ndimage

    img = np.asarray(image, dtype=np.float32) if normalised else normalise_slice(image)
    out_mm = crop_mm / size
    # anti-alias when the crop's pixels are coarser than the slice's
    sig = [max(0.0, 0.5 * (out_mm / s - 1.0)) for s in spacing]
    if max(sig) > 0.05:
        img = ndimage.gaussian_filter(img, sigma=sig, mode="nearest")
    # canonical frame: u along the disc (anterior -> posterior), v across it (superior -> inferior)
    a = np.radians(disc.angle_deg)
    u_dir = np.array([np.sin(a), np.cos(a)])  # (drow, dcol) in canonical orientation
    v_dir = np.array([np.cos(a), -np.sin(a)])
    offs = (np.arange(size) - (size - 1) / 2.0) * out_mm
    vv, uu = np.meshgrid(offs, offs, indexing="ij")
    # mm offsets in canonical orientation -> canonical pixel offsets
    d_row = (uu * u_dir[0] + vv * v_dir[0]) / spacing[0]
    d_col = (uu * u_dir[1] + vv * v_dir[1]) / spacing[1]
    # flips map canonical offsets to input offsets by a sign change
    rows = disc.row + (-d_row if flip_rows else d_row)
    cols = disc.col + (-d_col if flip_cols else d_col)
    crop = ndimage.map_coordinates(img, [rows, cols], order=1, mode="constant", cval=0.0)
    return crop.astype(np.float32)
