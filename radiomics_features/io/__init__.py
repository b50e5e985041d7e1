"""Reading MRI volumes into one canonical sagittal array order.

Every image and mask that enters the imaging pipeline is a :class:`Volume`: a read-only
array in the **canonical order**

==========  ==================================================================
axis 0      sagittal slices, left–right. With a trusted header they run from the
            patient's LEFT to RIGHT (LPS −x; the order a right-handed sagittal DICOM
            series with ImageOrientationPatient (0,1,0,0,0,−1) is stored in). With an
            untrusted header the stored order is kept and ``lr_order`` is ``"unknown"``.
axis 1      superior → inferior
axis 2      anterior → posterior
==========  ==================================================================

plus the spacing in mm per canonical axis, the source path, the original size, and a
sentence saying how the orientation was decided.

The axes are decided from the file's header when it can be trusted, else from the
array and, given a mask, from the anatomy (:mod:`radiomics_features.io.orientation`
has the rules).

Errors are :class:`ImagingInputError` subclasses (``ValueError``) that name the file,
what was seen and what was expected.

Modules: :mod:`~radiomics_features.io.volume` (the Volume type),
:mod:`~radiomics_features.io.orientation`, :mod:`~radiomics_features.io.reading`,
:mod:`~radiomics_features.io.dicom` (DICOM series folders),
:mod:`~radiomics_features.io.writing`, :mod:`~radiomics_features.io.errors`.
"""

from radiomics_features.io.dicom import write_dicom_series
from radiomics_features.io.errors import (
    GridMismatchError,
    ImageDimensionError,
    ImageReadError,
    ImagingInputError,
    NonSagittalError,
)
from radiomics_features.io.orientation import decide_axes
from radiomics_features.io.reading import read_image, read_image_and_mask, read_mask
from radiomics_features.io.volume import AxisDecision, Volume, volume_from_array
from radiomics_features.io.writing import volume_to_sitk, write_volume

__all__ = [
    "Volume",
    "AxisDecision",
    "ImagingInputError",
    "ImageReadError",
    "ImageDimensionError",
    "NonSagittalError",
    "GridMismatchError",
    "read_image",
    "read_mask",
    "read_image_and_mask",
    "decide_axes",
    "volume_from_array",
    "volume_to_sitk",
    "write_volume",
    "write_dicom_series",
]
