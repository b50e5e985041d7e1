"""The :class:`Volume`: a read-only 3D array in the canonical (LR, SI, AP) order.

A Volume carries the spacing in mm per canonical axis, the source path, the original
size, a sentence saying how the orientation was decided, and the
:class:`AxisDecision` that maps the file's stored array order to the canonical one
(:mod:`radiomics_features.io.orientation` makes that decision).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from radiomics_features.io.errors import ImageDimensionError
from radiomics_features.io.series import DicomSeries

__all__ = ["AxisDecision", "Volume", "volume_from_array"]


@dataclass(frozen=True)
class AxisDecision:
    """How a stored (numpy, ITK z-y-x) array maps to the canonical order.

    ``axes[i]`` is the stored axis that becomes canonical axis ``i``; ``flips[i]`` says
    whether canonical axis ``i`` is reversed after the transpose.
    """

    axes: tuple[int, int, int]
    flips: tuple[bool, bool, bool]
    lr_order: str
    method: str
    reason: str


@dataclass(frozen=True, eq=False)
class Volume:
    """A 3D image or mask in canonical (LR, SI, AP) order; the array is read-only.

    ``spacing`` is in mm per canonical axis. ``original_size`` is SimpleITK's (x, y, z)
    size of the file. ``orientation`` says how the axes were decided; ``decision`` holds
    the transpose/flips so arrays can be taken back to the stored order
    (:meth:`to_stored_order`), e.g. to write a predicted mask next to its image.
    ``series`` is the DICOM series read, for a DICOM folder (its files, UID, description).
    """

    array: np.ndarray
    spacing: tuple[float, float, float]
    source: Path | None
    original_size: tuple[int, ...]
    orientation: str
    lr_order: str
    decision: AxisDecision
    header_origin: tuple[float, ...] = ()
    header_direction: tuple[float, ...] = ()
    header_spacing: tuple[float, ...] = ()
    notes: tuple[str, ...] = field(default_factory=tuple)
    series: DicomSeries | None = None

    def __post_init__(self) -> None:
        arr = np.asarray(self.array)
        if arr.ndim != 3:
            raise ImageDimensionError(f"a Volume needs a 3D array, got shape {arr.shape}")
        if arr.flags.writeable:
            arr = arr.copy()
            arr.flags.writeable = False
        object.__setattr__(self, "array", arr)
        object.__setattr__(self, "spacing", tuple(float(s) for s in self.spacing))

    @property
    def shape(self) -> tuple[int, int, int]:
        return tuple(self.array.shape)

    @property
    def voxel_volume_mm3(self) -> float:
        return float(np.prod(self.spacing))

    def to_stored_order(self, array: np.ndarray) -> np.ndarray:
        """Take a canonical-order array back to the file's stored (z, y, x) order."""
        a = np.asarray(array)
        for i, flip in enumerate(self.decision.flips):
            if flip:
                a = np.flip(a, axis=i)
        return np.transpose(a, np.argsort(self.decision.axes))


def volume_from_array(
    array: np.ndarray,
    spacing: tuple[float, float, float],
    *,
    orientation: str = "constructed in canonical order",
    source: Path | None = None,
) -> Volume:
    """Wrap a canonical-order array (LR left→right, SI, AP) as a Volume."""
    a = np.asarray(array)
    if a.ndim != 3:
        raise ImageDimensionError(f"array has {a.ndim} dimensions (shape {a.shape}); expected 3")
    d = AxisDecision((0, 1, 2), (False, False, False), "left_to_right", "given", orientation)
    return Volume(
        array=a,
        spacing=spacing,
        source=source,
        original_size=tuple(reversed(a.shape)),
        orientation=orientation,
        lr_order="left_to_right",
        decision=d,
    )
