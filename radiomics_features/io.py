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

How the orientation is decided
------------------------------
* **Header** — used when the direction matrix is trustworthy: orthonormal, not the
  identity, every index axis within 45° of one patient axis, and the acquisition is
  really sagittal (the left–right axis is the slice axis: the coarsest spacing, or for
  isotropic voxels ITK's z index). An axial or coronal header raises
  :class:`NonSagittalError`.
* **Anatomy / array heuristics** — an identity direction is what writers emit when they
  have no orientation (SPIDER's PNG restacks, many research NIfTIs); it cannot be told
  apart from a genuine LPS axial volume, so it is not trusted. Then
  :func:`decide_axes` picks the slice axis from the spacing (the coarsest axis; for
  isotropic voxels the one with the smallest extent), checks that the stack is thin
  left–right compared with its in-plane field of view (or, given a mask, that the disc
  chain runs along an in-plane axis), takes the superior–inferior axis from the disc
  chain of the mask (else the taller in-plane extent), and the anterior–posterior sign
  from the canal lying behind the discs. The superior–inferior sign cannot be checked
  from a lumbar mask; it follows the radiological display order (row 0 at the top),
  which is how SPIDER's arrays are stored, and the ``orientation`` text says so.

Errors are :class:`ImagingInputError` subclasses (``ValueError``) that name the file,
what was seen and what was expected.
"""

from __future__ import annotations

import os
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

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

# Thresholds of the array heuristics, named so the docs and the errors can quote them.
_ANISOTROPY = 1.1  # slice axis: spacing at least 10 % coarser than both others
_MAX_THROUGH_PLANE = 0.6  # sagittal stack: LR extent < 60 % of the smaller in-plane extent
_SQUARE = 1.05  # in-plane extents within 5 %: cannot tell SI from AP by size
_TRUST_TOL = 1e-3  # orthonormality tolerance of a direction matrix
_GRID_TOL = 1e-3  # mm (spacing, origin) and cosine (direction) tolerance

_PATIENT_AXIS = ("left-right", "anterior-posterior", "superior-inferior")  # LPS x, y, z


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
        return tuple(self.array.shape)  # type: ignore[return-value]

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


# --------------------------------------------------------------------------- reading
def _sitk():
    import SimpleITK as sitk  # imported here: the imaging extra is optional

    return sitk


def _load(path: str | os.PathLike, what: str):
    """Read a file or a DICOM series folder with SimpleITK; clear errors otherwise."""
    sitk = _sitk()
    p = Path(path)
    if not p.exists():
        raise ImageReadError(
            f"{what} {str(p)!r} does not exist; expected a NIfTI/MHA/NRRD "
            "file or a folder holding one DICOM series"
        )
    if p.is_dir():
        ids = sitk.ImageSeriesReader.GetGDCMSeriesIDs(str(p))
        if not ids:
            raise ImageReadError(
                f"{what} folder {str(p)!r} holds no DICOM series; expected a "
                "folder of DICOM slice files"
            )
        if len(ids) > 1:
            raise ImageReadError(
                f"{what} folder {str(p)!r} holds {len(ids)} DICOM series "
                f"({', '.join(ids)}); expected exactly one, put each series "
                "in its own folder"
            )
        files = sitk.ImageSeriesReader.GetGDCMSeriesFileNames(str(p), ids[0])
        reader = sitk.ImageSeriesReader()
        reader.SetFileNames(files)
        try:
            img = reader.Execute()
        except RuntimeError as exc:
            raise ImageReadError(
                f"{what} DICOM series in {str(p)!r} could not be read ({_first_line(exc)})"
            ) from exc
    else:
        if p.stat().st_size == 0:
            raise ImageReadError(f"{what} {str(p)!r} is empty (0 bytes); expected an image file")
        try:
            img = sitk.ReadImage(str(p))
        except RuntimeError as exc:
            raise ImageReadError(
                f"{what} {str(p)!r} could not be read as an image "
                f"({_first_line(exc)}); expected NIfTI, MHA, NRRD or a "
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
    return img


def _first_line(exc: BaseException) -> str:
    lines = [ln.strip() for ln in str(exc).splitlines() if ln.strip()]
    for ln in lines:
        if "itk::ERROR" in ln or "Unable" in ln or "Could not" in ln:
            return ln[:200]
    return (lines[-1] if lines else type(exc).__name__)[:200]


def _direction_matrix(img) -> np.ndarray:
    return np.asarray(img.GetDirection(), dtype=float).reshape(3, 3)


def _trusted_header(direction: np.ndarray) -> tuple[bool, str]:
    if np.allclose(direction, np.eye(3), atol=1e-6):
        return False, "the header direction is the identity (no orientation recorded)"
    if not np.allclose(direction.T @ direction, np.eye(3), atol=_TRUST_TOL):
        return False, "the header direction is not orthonormal"
    dominant = np.abs(direction).max(axis=0)
    if (
        np.any(dominant < np.cos(np.deg2rad(45.0)))
        or len(set(np.abs(direction).argmax(axis=0).tolist())) != 3
    ):
        return False, "the header direction is oblique by more than 45° on some axis"
    return True, "the header direction is orthonormal and not the identity"


def _from_header(
    direction: np.ndarray, spacing_xyz: tuple[float, ...], path: str, what: str
) -> AxisDecision:
    """Canonical axes from a trusted direction; NonSagittalError if not sagittal."""
    # Column j of the direction is the LPS direction of ITK index axis j (x, y, z);
    # numpy stored axis k corresponds to ITK index axis 2 - k.
    patient = np.abs(direction).argmax(axis=0)  # LPS axis per ITK index axis
    signs = np.sign(direction[patient, np.arange(3)])
    sp = np.asarray(spacing_xyz, dtype=float)
    coarse = int(np.argmax(sp))
    if sp[coarse] >= _ANISOTROPY * np.delete(sp, coarse).max():
        slice_itk, why = coarse, f"the coarsest spacing ({sp[coarse]:g} mm)"
    else:
        slice_itk, why = 2, "ITK's z index (isotropic voxels)"
    if patient[slice_itk] != 0:
        seen = _PATIENT_AXIS[patient[slice_itk]]
        kind = "an axial" if patient[slice_itk] == 2 else "a coronal"
        raise NonSagittalError(
            f"{what} {path!r} is {kind} stack: its slice axis ({why}) runs {seen} by the "
            "header; expected sagittal slices (slice axis left-right)"
        )
    itk_for_lps = {int(p): j for j, p in enumerate(patient)}
    # canonical: 0 = LR (LPS x, want -x: left→right), 1 = SI (LPS z, want -z), 2 = AP (+y)
    want = {0: (0, -1.0), 1: (2, -1.0), 2: (1, 1.0)}
    axes, flips = [], []
    for c in range(3):
        lps, sign = want[c]
        j = itk_for_lps[lps]
        axes.append(2 - j)
        flips.append(bool(signs[j] != sign))
    obl = np.degrees(np.arccos(np.clip(np.abs(direction).max(axis=0), -1, 1))).max()
    reason = (
        f"header direction (sagittal acquisition: slice axis = {why}, left-right); "
        f"largest obliquity {obl:.1f}°, axes permuted/flipped without resampling"
    )
    return AxisDecision(tuple(axes), tuple(flips), "left_to_right", "header", reason)


def decide_axes(
    shape: tuple[int, int, int],
    spacing: tuple[float, float, float],
    mask: np.ndarray | None = None,
    *,
    source: str = "array",
) -> AxisDecision:
    """Canonical axes of a stored array whose header cannot be trusted.

    ``shape`` and ``spacing`` are in stored (numpy) order; ``mask``, if given, is a
    three-class mask (1 vertebra, 2 disc, 3 canal) in the same order. See the module
    docstring for the rules. Raises :class:`NonSagittalError` when the array does not
    look like a sagittal stack.
    """
    from scipy import ndimage as ndi

    shape = tuple(int(s) for s in shape)
    sp = np.asarray(spacing, dtype=float)
    extent = sp * np.asarray(shape)
    coarse = int(np.argmax(sp))
    if sp[coarse] >= _ANISOTROPY * np.delete(sp, coarse).max():
        slice_ax = coarse
        why = f"axis {coarse} has the coarsest spacing ({sp[coarse]:g} mm)"
    else:
        slice_ax = int(np.argmin(extent))
        why = (
            f"isotropic voxels; axis {slice_ax} has the smallest extent ({extent[slice_ax]:.0f} mm)"
        )
    inplane = [a for a in range(3) if a != slice_ax]
    notes: list[str] = [why]

    chain = None
    if mask is not None:
        m = np.asarray(mask)
        if m.shape != shape:
            raise GridMismatchError(f"mask for {source!r} has shape {m.shape}; expected {shape}")
        lab, n = ndi.label(m == 2)
        if n >= 2:
            flat = lab.ravel()
            sizes = np.bincount(flat, minlength=n + 1).astype(float)
            sizes[0] = 0
            keep = np.flatnonzero(sizes >= 0.2 * sizes.max())
            if keep.size >= 2:
                boxes = ndi.find_objects(lab)
                cents = (
                    np.array(
                        [
                            (
                                np.argwhere(lab[boxes[i - 1]] == i)
                                + [b.start for b in boxes[i - 1]]
                            ).mean(axis=0)
                            for i in keep
                        ]
                    )
                    * sp
                )
                chain = cents.max(axis=0) - cents.min(axis=0)
    if chain is not None:
        along = int(np.argmax(chain))
        if along == slice_ax:
            raise NonSagittalError(
                f"image {source!r}: the disc chain of the mask runs along the slice axis "
                f"(axis {slice_ax}, {chain[slice_ax]:.0f} mm); this is an axial or coronal "
                "stack, expected sagittal slices with the discs stacked within each slice"
            )
        si_ax = along
        notes.append(
            f"superior-inferior = axis {si_ax}, along which the disc chain runs "
            f"({chain[si_ax]:.0f} mm)"
        )
    else:
        small_in = extent[inplane].min()
        if extent[slice_ax] >= _MAX_THROUGH_PLANE * small_in:
            raise NonSagittalError(
                f"image {source!r} does not look like a sagittal stack: its slice axis "
                f"({why}) covers {extent[slice_ax]:.0f} mm, ≥ {_MAX_THROUGH_PLANE:.0%} of the "
                f"in-plane field of view ({small_in:.0f} mm) — an axial or coronal series? "
                "Expected a thin left-right stack; give the mask (read_image_and_mask) or a "
                "file with a trustworthy direction"
            )
        a, b = inplane
        if extent[a] >= _SQUARE * extent[b] or extent[b] >= _SQUARE * extent[a]:
            si_ax = a if extent[a] > extent[b] else b
            notes.append(
                f"superior-inferior = axis {si_ax}, the taller in-plane extent "
                f"({extent[si_ax]:.0f} mm)"
            )
        else:
            si_ax = inplane[0]
            notes.append(
                f"in-plane field of view is square; superior-inferior = axis {si_ax} "
                "(stored row order) by assumption"
            )
    ap_ax = [a for a in inplane if a != si_ax][0]
    flip_ap = False
    if mask is not None and np.any(m == 3) and np.any(m == 2):
        canal = np.argwhere(m == 3)[:, ap_ax].mean()
        disc = np.argwhere(m == 2)[:, ap_ax].mean()
        flip_ap = bool(canal < disc)
        notes.append(
            "anterior-posterior sign checked: the canal lies behind the discs"
            + (" after flipping" if flip_ap else "")
        )
    else:
        notes.append(
            "anterior-posterior sign assumed from the stored order (index 0 anterior; "
            "not checked: no mask with canal and discs)"
        )
    notes.append(
        "superior-inferior sign assumed from the stored order (index 0 superior, "
        "radiological display order; not checkable from a lumbar mask)"
    )
    return AxisDecision(
        (slice_ax, si_ax, ap_ax),
        (False, False, flip_ap),
        "unknown",
        "anatomy" if chain is not None else "array",
        "header not trusted; " + "; ".join(notes),
    )


def _canonical(arr: np.ndarray, d: AxisDecision) -> np.ndarray:
    out = np.transpose(arr, d.axes)
    for i, flip in enumerate(d.flips):
        if flip:
            out = np.flip(out, axis=i)
    return np.ascontiguousarray(out)


def _decision_for(img, path: str, what: str, mask3: np.ndarray | None) -> AxisDecision:
    direction = _direction_matrix(img)
    trusted, why = _trusted_header(direction)
    if trusted:
        return _from_header(direction, img.GetSpacing(), path, what)
    stored_spacing = tuple(reversed(img.GetSpacing()))
    shape = tuple(reversed(img.GetSize()))
    d = decide_axes(shape, stored_spacing, mask3, source=path)
    return AxisDecision(d.axes, d.flips, d.lr_order, d.method, f"{why}; {d.reason}")


def _volume(img, path: Path | None, decision: AxisDecision) -> Volume:
    sitk = _sitk()
    arr = sitk.GetArrayFromImage(img)
    stored_spacing = tuple(reversed(img.GetSpacing()))
    spacing = tuple(stored_spacing[a] for a in decision.axes)
    return Volume(
        array=_canonical(arr, decision),
        spacing=spacing,
        source=path,
        original_size=tuple(img.GetSize()),
        orientation=decision.reason,
        lr_order=decision.lr_order,
        decision=decision,
        header_origin=tuple(img.GetOrigin()),
        header_direction=tuple(img.GetDirection()),
        header_spacing=tuple(img.GetSpacing()),
    )


def read_image(path: str | os.PathLike) -> Volume:
    """Read a NIfTI/MHA/NRRD file or a DICOM series folder into a canonical Volume.

    Without a mask the array heuristics decide the axes when the header is untrusted;
    prefer :func:`read_image_and_mask` when a mask exists (the disc chain and canal then
    check the orientation).
    """
    img = _load(path, "image")
    return _volume(img, Path(path), _decision_for(img, str(path), "image", None))


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
    img = _load(path, "mask")
    size = tuple(img.GetSize())
    if size != tuple(like.original_size):
        raise GridMismatchError(
            f"mask {str(path)!r} and image {str(like.source)!r} are on different grids (size "
            f"{size} vs {tuple(like.original_size)}); expected the same grid — resample the "
            "mask onto the image grid (nearest neighbour) first"
        )
    if like.header_direction:
        sitk = _sitk()
        ref = sitk.Image(list(like.original_size), sitk.sitkUInt8)
        ref.SetOrigin(like.header_origin)
        ref.SetDirection(like.header_direction)
        ref.SetSpacing(like.header_spacing)
        _check_grid(img, ref, str(path), str(like.source))
    return _volume(img, Path(path), like.decision)


def read_image_and_mask(
    image_path: str | os.PathLike,
    mask_path: str | os.PathLike,
    *,
    convention: object = "three_class",
) -> tuple[Volume, Volume]:
    """Read an image and its mask; an untrusted header is resolved with the mask's anatomy.

    ``convention`` names the mask's label convention (:mod:`radiomics_features.labels`);
    the mask is returned with its original label values, only reoriented.
    """
    from radiomics_features.labels import to_three_class

    img = _load(image_path, "image")
    msk = _load(mask_path, "mask")
    _check_grid(msk, img, str(mask_path), str(image_path))
    sitk = _sitk()
    three = to_three_class(sitk.GetArrayFromImage(msk), convention)
    decision = _decision_for(img, str(image_path), "image", three)
    return _volume(img, Path(image_path), decision), _volume(msk, Path(mask_path), decision)


# --------------------------------------------------------------------------- writing
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
        spacing=tuple(spacing),
        source=source,
        original_size=tuple(reversed(a.shape)),
        orientation=orientation,
        lr_order="left_to_right",
        decision=d,
    )


# Direction of a right-handed sagittal series in LPS, as columns for ITK index x, y, z:
# x (columns) → posterior (0,1,0); y (rows) → inferior (0,0,-1); z (slices) → right (-1,0,0).
_SAGITTAL_DIRECTION = (0.0, 0.0, -1.0, 1.0, 0.0, 0.0, 0.0, -1.0, 0.0)


def volume_to_sitk(volume: Volume, origin: tuple[float, float, float] = (0.0, 0.0, 0.0)):
    """A SimpleITK image of a Volume with a true sagittal LPS header.

    The canonical array is stored as is (slices, rows, columns); the direction says that
    slices run left→right, rows superior→inferior and columns anterior→posterior, which
    is what :func:`read_image` turns back into the same canonical array.
    """
    sitk = _sitk()
    img = sitk.GetImageFromArray(np.ascontiguousarray(volume.array))
    sp = volume.spacing
    img.SetSpacing((sp[2], sp[1], sp[0]))
    img.SetDirection(_SAGITTAL_DIRECTION)
    img.SetOrigin(origin)
    return img


def write_volume(volume: Volume, path: str | os.PathLike) -> Path:
    """Write a Volume to NIfTI/MHA/NRRD (by suffix) with a sagittal header."""
    p = Path(path)
    _sitk().WriteImage(volume_to_sitk(volume), str(p), True)
    return p


def write_dicom_series(
    volume: Volume,
    folder: str | os.PathLike,
    *,
    modality: str = "MR",
    description: str = "spine-prom volume",
) -> Path:
    """Write a Volume as a sagittal DICOM series (one file per slice) in ``folder``.

    Integer arrays only (DICOM stores integers); each slice carries the position,
    orientation, spacing and instance number so a series reader rebuilds the volume.
    """
    sitk = _sitk()
    a = np.asarray(volume.array)
    if not np.issubdtype(a.dtype, np.integer):
        raise TypeError(f"DICOM stores integer pixels; got dtype {a.dtype} (cast first)")
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    img = volume_to_sitk(volume)
    d = img.GetDirection()
    iop = "\\".join(f"{v:g}" for v in (d[0], d[3], d[6], d[1], d[4], d[7]))
    root = "2.25."
    study, series = root + str(uuid.uuid4().int), root + str(uuid.uuid4().int)
    writer = sitk.ImageFileWriter()
    writer.KeepOriginalImageUIDOn()
    for k in range(img.GetDepth()):
        sl = img[:, :, k]
        pos = img.TransformIndexToPhysicalPoint((0, 0, k))
        tags = {
            "0008|0060": modality,
            "0008|103e": description,
            "0020|000d": study,
            "0020|000e": series,
            "0008|0018": root + str(uuid.uuid4().int),
            "0020|0037": iop,
            "0020|0032": "\\".join(f"{v:.6f}" for v in pos),
            "0020|0013": str(k + 1),
            "0018|0050": f"{volume.spacing[0]:g}",
            "0018|0088": f"{volume.spacing[0]:g}",
        }
        for tag, value in tags.items():
            sl.SetMetaData(tag, value)
        writer.SetFileName(str(out / f"slice_{k:04d}.dcm"))
        writer.Execute(sl)
    return out
