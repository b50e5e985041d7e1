"""Reading an image (NIfTI/MHA/NRRD file or DICOM series folder) and its mask into
canonical :class:`~radiomics_features.io.volume.Volume` objects.

The axes come from :mod:`radiomics_features.io.orientation`: the header when it can be
trusted, else the array heuristics, checked by the mask's anatomy when a mask is read
with its image (:func:`read_image_and_mask`).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from radiomics_features.io.dicom import read_dicom_series
from radiomics_features.io.errors import (
    GridMismatchError,
    ImageDimensionError,
    ImageReadError,
    sitk_error_summary,
)
from radiomics_features.io.orientation import decide_for_image, to_canonical
from radiomics_features.io.volume import AxisDecision, Volume
from radiomics_features.labels import LabelConvention, to_three_class

__all__ = ["read_image", "read_mask", "read_image_and_mask"]

_GRID_TOL = 1e-3  # mm (spacing, origin) and cosine (direction) tolerance


def _load(path: str | os.PathLike, what: str, series: str | None = None):
    """Read a file or a DICOM series folder with SimpleITK (and the DICOM series read, or
    ``None``); clear errors otherwise. ``series`` chooses a folder's DICOM series
    (:mod:`radiomics_features.io.series`); it is refused for a file."""
    import SimpleITK as sitk  # imported here: the imaging extra is optional

    p = Path(path)
    if not p.exists():
        raise ImageReadError(
            f"{what} {str(p)!r} does not exist; expected a NIfTI/MHA/NRRD "
            "file or a folder holding one DICOM series"
        )
    chosen = None
    if p.is_dir():
        img, chosen = read_dicom_series(p, what, series)
    elif series is not None:
        raise ImageReadError(
            f"{what} {str(p)!r} is a file; series={series!r} chooses a DICOM series in a "
            "folder of DICOM files"
        )
    else:
        if p.stat().st_size == 0:
            raise ImageReadError(f"{what} {str(p)!r} is empty (0 bytes); expected an image file")
        try:
            _check_complete(p, what)
            img = sitk.ReadImage(str(p))
        except RuntimeError as exc:
            raise ImageReadError(
                f"{what} {str(p)!r} could not be read as an image "
                f"({sitk_error_summary(exc)}); expected NIfTI, MHA, NRRD or a "
                "DICOM series folder"
            ) from exc
    if img.GetNumberOfComponentsPerPixel() != 1:
        raise ImageReadError(
            f"{what} {str(p)!r} has {img.GetNumberOfComponentsPerPixel()} "
            "components per voxel; expected a scalar (grey-level or label) image"
        )
    size = img.GetSize()
    if img.GetDimension() != 3:
        raise ImageDimensionError(
            f"{what} {str(p)!r} has {img.GetDimension()} dimensions "
            f"(size {'×'.join(map(str, size))}); expected a 3D volume "
            "(a stack of sagittal slices)"
        )
    if min(size) < 2:
        raise ImageDimensionError(
            f"{what} {str(p)!r} is a single slice (size "
            f"{'×'.join(map(str, size))}); expected a 3D volume with at "
            "least 2 slices along every axis"
        )
    return img, chosen


#: Bytes per voxel component of the MetaImage element types.
_MET_BYTES = {
    "MET_CHAR": 1, "MET_UCHAR": 1, "MET_SHORT": 2, "MET_USHORT": 2, "MET_INT": 4,
    "MET_UINT": 4, "MET_LONG": 4, "MET_ULONG": 4, "MET_LONG_LONG": 8, "MET_ULONG_LONG": 8,
    "MET_FLOAT": 4, "MET_DOUBLE": 8,
}  # fmt: skip


def _cut_off(what: str, p: Path, expected: int, held: int, described: str) -> ImageReadError:
    return ImageReadError(
        f"{what} {str(p)!r} is cut off: its header describes {expected:,} bytes of "
        f"{described} but it holds {held:,} ({100 * held / expected:.0f}%) — was the copy "
        "or download interrupted? Copy the file again"
    )


def _check_complete(p: Path, what: str) -> None:
    """Refuse an image file that holds fewer voxel bytes than its header describes.

    ITK's NIfTI reader fills missing voxels with zeros without a word (a ``.nii.gz`` copy
    cut off at 5% read as a volume 95% black, and was segmented and measured), and its
    MetaImage reader fails with "No such file or directory". A single-file NIfTI
    (``.nii``, ``.nii.gz``, header read by SimpleITK's ``ReadImageInformation``, no
    voxels) and a MetaImage with its data inside (``.mha``, header read as text) have
    their bytes counted — through gzip for ``.nii.gz``, whose stream must be complete.
    NRRD's reader refuses such files itself; other files pass untouched.

    In the same pass a NIfTI file of float voxels has its non-finite values counted: ITK's
    NIfTI reader turns NaN and infinite voxels into zeros without a word (a slab of NaN
    read as black tissue), where its MetaImage and NRRD readers keep them and the
    segmentation refuses them. Such a file is refused, with the count."""
    name = p.name.lower()
    if name.endswith((".nii", ".nii.gz")):
        _check_nifti(p, what, name.endswith(".gz"))
    elif name.endswith(".mha"):
        _check_metaimage(p, what)


def _check_nifti(p: Path, what: str, gzipped: bool) -> None:
    import gzip
    import zlib

    import SimpleITK as sitk

    reader = sitk.ImageFileReader()
    reader.SetFileName(str(p))
    reader.ReadImageInformation()  # RuntimeError: not an image (the caller words it)
    if not {"vox_offset", "bitpix", "dim[0]"} <= set(reader.GetMetaDataKeys()):
        return

    def number(key: str) -> int:
        return int(float(reader.GetMetaData(key)))

    try:  # a field this check cannot read: ITK decides
        voxels = 1
        for i in range(1, number("dim[0]") + 1):
            voxels *= max(1, number(f"dim[{i}]"))
        offset, bits = number("vox_offset"), number("bitpix")
    except (RuntimeError, ValueError, OverflowError):
        return
    expected = offset + voxels * bits // 8
    floats = _NonFinite(offset, _float_type(reader))
    held = 0
    try:
        with gzip.open(p, "rb") if gzipped else p.open("rb") as f:
            while chunk := f.read(1 << 20):
                floats.add(chunk)
                held += len(chunk)
    except (EOFError, gzip.BadGzipFile, zlib.error) as exc:
        raise ImageReadError(
            f"{what} {str(p)!r} is not a complete gzip file ({exc}; {held:,} of the "
            f"{expected:,} bytes its header describes came out) — was the copy or "
            "download interrupted? Copy the file again"
        ) from exc
    if held < expected:
        size = "×".join(str(v) for v in reader.GetSize())
        raise _cut_off(
            what, p, expected, held, f"a {size} volume of {bits}-bit voxels and its header"
        )
    if floats.nan or floats.inf:
        raise ImageReadError(
            f"{what} {str(p)!r} holds {floats.nan:,} NaN and {floats.inf:,} infinite "
            f"voxel(s) among its {voxels:,}; the NIfTI reader would read them as 0 (black "
            "tissue) without a word. Fill or mask them (with the background value, say) "
            "and save the file again"
        )


def _float_type(reader) -> np.dtype | None:
    """The numpy type of a NIfTI file's float voxels, in native byte order (the file's
    own order is read by :class:`_NonFinite`), or None for other voxel types."""
    try:
        code = int(float(reader.GetMetaData("datatype")))
    except (RuntimeError, ValueError):
        return None
    types: dict[int, np.dtype] = {16: np.dtype("f4"), 64: np.dtype("f8")}
    return types.get(code)


class _NonFinite:
    """Counts the NaN and infinite values of a NIfTI file's float voxels, fed its bytes in
    order (``add``); the header's first four bytes (``sizeof_hdr``, 348 or 540) give the
    byte order. Counts nothing when ``dtype`` is None."""

    def __init__(self, offset: int, dtype: np.dtype | None):
        self.offset, self.dtype = offset, dtype
        self.nan = self.inf = 0
        self._seen = 0
        self._rest = b""

    def add(self, chunk: bytes) -> None:
        start, self._seen = self._seen, self._seen + len(chunk)
        if self.dtype is None:
            return
        if start == 0:
            little = int.from_bytes(chunk[:4], "little") in (348, 540)
            self.dtype = self.dtype.newbyteorder("<" if little else ">")
        data = self._rest + chunk[max(0, self.offset - start) :]
        if self._seen <= self.offset:
            return
        usable = len(data) - len(data) % self.dtype.itemsize
        values = np.frombuffer(data[:usable], dtype=self.dtype)
        finite = np.isfinite(values)
        if not finite.all():
            bad = values[~finite]
            nan = int(np.isnan(bad).sum())
            self.nan, self.inf = self.nan + nan, self.inf + bad.size - nan
        self._rest = data[usable:]


def _check_metaimage(p: Path, what: str) -> None:
    with p.open("rb") as f:
        head = f.read(1 << 16)
    fields: dict[str, str] = {}
    end = 0
    for line in head.split(b"\n"):
        end += len(line) + 1
        key, sep, value = line.decode("latin-1").partition("=")
        if not sep:
            return  # not a text header this check understands: ITK decides
        fields[key.strip()] = value.strip()
        if key.strip() == "ElementDataFile":
            break
    else:
        return
    if fields.get("ElementDataFile", "").upper() != "LOCAL":
        return  # the voxels are in another file
    held = p.stat().st_size - end
    try:  # a field this check cannot read: ITK decides
        if fields.get("CompressedData", "False").lower() == "true":
            expected, described = int(fields["CompressedDataSize"]), "compressed voxels"
        else:
            dims = [int(v) for v in fields["DimSize"].split()]
            size = _MET_BYTES[fields["ElementType"]]
            channels = int(fields.get("ElementNumberOfChannels", "1") or 1)
            expected = size * channels * int(np.prod(dims))
            described = f"a {'×'.join(map(str, dims))} volume of {8 * size}-bit voxels"
    except (KeyError, ValueError):
        return
    if held < expected:
        raise _cut_off(what, p, expected, held, described)


def _volume(img, path: Path | None, decision: AxisDecision, series=None) -> Volume:
    import SimpleITK as sitk

    arr = sitk.GetArrayFromImage(img)
    stored_spacing = tuple(reversed(img.GetSpacing()))
    spacing = tuple(stored_spacing[a] for a in decision.axes)
    return Volume(
        array=to_canonical(arr, decision),
        spacing=spacing,
        source=path,
        original_size=tuple(img.GetSize()),
        orientation=decision.reason,
        lr_order=decision.lr_order,
        decision=decision,
        header_origin=tuple(img.GetOrigin()),
        header_direction=tuple(img.GetDirection()),
        header_spacing=tuple(img.GetSpacing()),
        series=series,
    )


def read_image(path: str | os.PathLike, *, series: str | None = None) -> Volume:
    """Read a NIfTI/MHA/NRRD file or a DICOM series folder into a canonical Volume.

    Without a mask the array heuristics decide the axes when the header is untrusted;
    prefer :func:`read_image_and_mask` when a mask exists (the disc chain and canal then
    check the orientation). ``series`` chooses the DICOM series of a folder holding
    several: a Series Instance UID or a Series Description pattern
    (:mod:`radiomics_features.io.series`).
    """
    img, chosen = _load(path, "image", series)
    decision = decide_for_image(img, str(path), "image", None)
    return _volume(img, Path(path), decision, chosen)


def _check_grid(img, ref, path: str, ref_path: str) -> None:
    problems = []
    if img.GetSize() != ref.GetSize():
        problems.append(f"size {img.GetSize()} vs {ref.GetSize()}")
    if not np.allclose(img.GetSpacing(), ref.GetSpacing(), atol=_GRID_TOL):
        problems.append(f"spacing {img.GetSpacing()} vs {ref.GetSpacing()} mm")
    if not np.allclose(img.GetOrigin(), ref.GetOrigin(), atol=_GRID_TOL * 10):
        problems.append(f"origin {img.GetOrigin()} vs {ref.GetOrigin()} mm")
    if not np.allclose(img.GetDirection(), ref.GetDirection(), atol=_GRID_TOL):
        problems.append("direction differs")
    if problems:
        raise GridMismatchError(
            f"mask {path!r} and image {ref_path!r} are on different grids ({'; '.join(problems)}); "
            "expected the same size, spacing, origin and direction — resample the mask onto "
            "the image grid (nearest neighbour) first"
        )


def read_mask(path: str | os.PathLike, *, like: Volume) -> Volume:
    """Read a label mask onto the canonical axes already decided for its image ``like``.

    The mask must be on the image's grid (checked against the image's size, spacing,
    origin and direction when ``like`` came from a file).
    """
    img, chosen = _load(path, "mask")
    size = tuple(img.GetSize())
    if size != tuple(like.original_size):
        raise GridMismatchError(
            f"mask {str(path)!r} and image {str(like.source)!r} are on different grids (size "
            f"{size} vs {tuple(like.original_size)}); expected the same grid — resample the "
            "mask onto the image grid (nearest neighbour) first"
        )
    if like.header_direction:
        import SimpleITK as sitk

        ref = sitk.Image(list(like.original_size), sitk.sitkUInt8)
        ref.SetOrigin(like.header_origin)
        ref.SetDirection(like.header_direction)
        ref.SetSpacing(like.header_spacing)
        _check_grid(img, ref, str(path), str(like.source))
    return _volume(img, Path(path), like.decision, chosen)


def read_image_and_mask(
    image_path: str | os.PathLike,
    mask_path: str | os.PathLike,
    *,
    convention: str | LabelConvention = "three_class",
    series: str | None = None,
) -> tuple[Volume, Volume]:
    """Read an image and its mask; an untrusted header is resolved with the mask's anatomy.

    ``convention`` names the mask's label convention (:mod:`radiomics_features.labels`);
    the mask is returned with its original label values, only reoriented. ``series``
    chooses the image's DICOM series, as for :func:`read_image`.
    """
    import SimpleITK as sitk

    img, chosen = _load(image_path, "image", series)
    msk, msk_series = _load(mask_path, "mask")
    _check_grid(msk, img, str(mask_path), str(image_path))
    three = to_three_class(sitk.GetArrayFromImage(msk), convention)
    decision = decide_for_image(img, str(image_path), "image", three)
    return (
        _volume(img, Path(image_path), decision, chosen),
        _volume(msk, Path(mask_path), decision, msk_series),
    )
