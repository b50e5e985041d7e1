"""Read one 2D sagittal slice (PNG or array) into a float image, with its pixel size.

The SPIDER slice set (``spider-sagittal-slices``) stores 8-bit windowed PNG exports,
some as RGBA. A slice is accepted only when it is greyscale in fact: an RGB(A) file
whose colour channels differ is refused rather than silently averaged.
"""

from __future__ import annotations

import ast
from pathlib import Path

import numpy as np

__all__ = ["SliceReadError", "parse_spacing", "read_slice"]


class SliceReadError(ValueError):
    """A slice file or array cannot be used as a greyscale sagittal image."""


def read_slice(path: str | Path) -> np.ndarray:
    """Greyscale ``float32`` array ``(rows, cols)`` from a PNG (L, LA, RGB or RGBA).

    Colour files must carry identical R, G and B channels (a greyscale image saved
    as colour); alpha is ignored. Anything else raises ``SliceReadError``.
    """
    from PIL import Image

    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"slice image {p} not found")
    with Image.open(p) as im:
        a = np.asarray(im)
    return as_grey(a, name=str(p))


def as_grey(a: np.ndarray, *, name: str = "image") -> np.ndarray:
    """``(rows, cols)`` float32 from a 2D array or an ``(rows, cols, 2|3|4)`` one."""
    a = np.asarray(a)
    if a.dtype.kind not in "uif":
        raise SliceReadError(f"{name}: expected integer or float intensities, got dtype {a.dtype}")
    if a.ndim == 3 and a.shape[2] in (2, 3, 4):
        if a.shape[2] >= 3:
            rgb = a[..., :3]
            if not (
                np.array_equal(rgb[..., 0], rgb[..., 1])
                and np.array_equal(rgb[..., 0], rgb[..., 2])
            ):
                raise SliceReadError(
                    f"{name}: colour image whose R, G and B channels differ; expected a "
                    "greyscale MRI slice"
                )
        a = a[..., 0]
    if a.ndim != 2:
        raise SliceReadError(f"{name}: expected a 2D greyscale slice, got shape {a.shape}")
    if min(a.shape) < 32:
        raise SliceReadError(f"{name}: slice of shape {a.shape} is too small (need >= 32 x 32)")
    out = a.astype(np.float32)
    if not np.isfinite(out).all():
        raise SliceReadError(f"{name}: {int((~np.isfinite(out)).sum())} non-finite pixel(s)")
    return out


def parse_spacing(value: object) -> tuple[float, float]:
    """``(row_mm, col_mm)`` from ``"[0.625, 0.625]"``, a number or a pair.

    >>> parse_spacing("[.5859375, .5859375]")
    (0.5859375, 0.5859375)
    """
    v = ast.literal_eval(value.strip()) if isinstance(value, str) else value
    if isinstance(v, (int, float)):
        v = (v, v)
    try:
        r, c = (float(x) for x in v)  # type: ignore[union-attr]
    except (TypeError, ValueError) as err:
        raise ValueError(
            f"pixel spacing {value!r}: expected a number or a pair of numbers (mm)"
        ) from err
    if not (np.isfinite(r) and np.isfinite(c) and r > 0 and c > 0):
        raise ValueError(f"pixel spacing {value!r}: expected positive finite millimetres")
    return r, c
