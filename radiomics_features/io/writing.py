"""Writing Volumes: a SimpleITK image with a true sagittal header, and files from it.

:func:`volume_to_sitk` stores the canonical array as is and says in the direction
matrix that slices run left→right, rows superior→inferior and columns
anterior→posterior, so :func:`~radiomics_features.io.read_image` turns the file back
into the same canonical array.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from radiomics_features.io.volume import Volume

__all__ = ["volume_to_sitk", "write_volume"]

# Direction of a right-handed sagittal series in LPS, as columns for ITK index x, y, z:
# x (columns) → posterior (0,1,0); y (rows) → inferior (0,0,-1); z (slices) → right (-1,0,0).
_SAGITTAL_DIRECTION = (0.0, 0.0, -1.0, 1.0, 0.0, 0.0, 0.0, -1.0, 0.0)


def volume_to_sitk(volume: Volume, origin: tuple[float, float, float] = (0.0, 0.0, 0.0)):
    """A SimpleITK image of a Volume with a true sagittal LPS header.

    The canonical array is stored as is (slices, rows, columns); the direction says that
    slices run left→right, rows superior→inferior and columns anterior→posterior, which
    is what :func:`~radiomics_features.io.read_image` turns back into the same canonical array.
    """
    import SimpleITK as sitk  # imported here: the imaging extra is optional

    img = sitk.GetImageFromArray(np.ascontiguousarray(volume.array))
    sp = volume.spacing
    img.SetSpacing((sp[2], sp[1], sp[0]))
    img.SetDirection(_SAGITTAL_DIRECTION)
    img.SetOrigin(origin)
    return img


def write_volume(volume: Volume, path: str | os.PathLike) -> Path:
    """Write a Volume to NIfTI/MHA/NRRD (by suffix) with a sagittal header."""
    import SimpleITK as sitk

    p = Path(path)
    sitk.WriteImage(volume_to_sitk(volume), str(p), True)
    return p
