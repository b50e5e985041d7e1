"""Errors of reading MRI volumes: :class:`ImagingInputError` (a ``ValueError``) and its
subclasses, each naming the file, what was seen and what was expected."""

from __future__ import annotations

__all__ = [
    "ImagingInputError",
    "ImageReadError",
    "ImageDimensionError",
    "NonSagittalError",
    "GridMismatchError",
    "sitk_error_summary",
]


class ImagingInputError(ValueError):
    """A file or array cannot be used as an MRI volume (base class)."""


class ImageReadError(ImagingInputError):
    """The file is missing, empty, unreadable, or not a scalar image."""


class ImageDimensionError(ImagingInputError):
    """The image is not a 3D volume (2D, 4D, or a single slice)."""


class NonSagittalError(ImagingInputError):
    """The stack is not sagittal (axial or coronal slices)."""


class GridMismatchError(ImagingInputError):
    """Mask and image are not on the same voxel grid."""


def sitk_error_summary(exc: BaseException) -> str:
    """The informative line of a SimpleITK exception (at most 200 characters): ITK's
    messages run over many lines of C++ context."""
    lines = [ln.strip() for ln in str(exc).splitlines() if ln.strip()]
    for ln in lines:
        if "itk::ERROR" in ln or "Unable" in ln or "Could not" in ln:
            return ln[:200]
    return (lines[-1] if lines else type(exc).__name__)[:200]
