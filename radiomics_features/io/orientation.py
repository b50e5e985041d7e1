"""How a stored array's axes map to the canonical (LR, SI, AP) order.

How the orientation is decided
------------------------------
* **Header** — used when the direction matrix is trustworthy: orthonormal, not the
  identity, every index axis within 45° of one patient axis, and the acquisition is
  really sagittal (the left–right axis is the slice axis: the coarsest spacing, or for
  isotropic voxels ITK's z index). An axial or coronal header raises
  :class:`~radiomics_features.io.errors.NonSagittalError`.
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
"""

from __future__ import annotations

import numpy as np

from radiomics_features.io.errors import GridMismatchError, NonSagittalError
from radiomics_features.io.volume import AxisDecision

__all__ = ["decide_axes", "decide_for_image", "to_canonical", "disc_chain_across"]

# Thresholds of the array heuristics, named so the docs and the errors can quote them.
_ANISOTROPY = 1.1  # slice axis: spacing at least 10 % coarser than both others
_MAX_THROUGH_PLANE = 0.6  # sagittal stack: LR extent < 60 % of the smaller in-plane extent
_SQUARE = 1.05  # in-plane extents within 5 %: cannot tell SI from AP by size
_TRUST_TOL = 1e-3  # orthonormality tolerance of a direction matrix

_PATIENT_AXIS = ("left-right", "anterior-posterior", "superior-inferior")  # LPS x, y, z


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
    return AxisDecision(
        (axes[0], axes[1], axes[2]),
        (flips[0], flips[1], flips[2]),
        "left_to_right",
        "header",
        reason,
    )


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

    stored_shape = tuple(int(s) for s in shape)
    sp = np.asarray(spacing, dtype=float)
    extent = sp * np.asarray(stored_shape)
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
        if m.shape != stored_shape:
            raise GridMismatchError(
                f"mask for {source!r} has shape {m.shape}; expected {stored_shape}"
            )
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
    ap_ax = next(a for a in inplane if a != si_ax)
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


def to_canonical(arr: np.ndarray, d: AxisDecision) -> np.ndarray:
    """A stored-order array in canonical order (a contiguous copy)."""
    out = np.transpose(arr, d.axes)
    for i, flip in enumerate(d.flips):
        if flip:
            out = np.flip(out, axis=i)
    return np.ascontiguousarray(out)


def decide_for_image(img, path: str, what: str, mask3: np.ndarray | None) -> AxisDecision:
    """The axes of a SimpleITK image: from its header when trusted, else from
    :func:`decide_axes` (with the three-class ``mask3`` in stored order, if given)."""
    direction = _direction_matrix(img)
    trusted, why = _trusted_header(direction)
    if trusted:
        return _from_header(direction, img.GetSpacing(), path, what)
    stored_spacing = tuple(reversed(img.GetSpacing()))
    shape = tuple(reversed(img.GetSize()))
    d = decide_axes(shape, stored_spacing, mask3, source=path)
    return AxisDecision(d.axes, d.flips, d.lr_order, d.method, f"{why}; {d.reason}")


def disc_chain_across(mask: np.ndarray, spacing) -> str | None:
    """Why a canonical (LR, SI, AP) mask's discs say the image lies on its side — their
    centres spread further front-to-back than top-to-bottom — or None. For an orientation
    taken from the array's shape (no trustworthy header, no mask given): the backbone's
    discs are the first anatomy to check it against."""
    from scipy import ndimage

    lab, n = ndimage.label(np.asarray(mask) == 2)
    if n < 2:
        return None
    centres = np.array(ndimage.center_of_mass(lab > 0, lab, range(1, n + 1))) * np.asarray(
        spacing, dtype=float
    )
    spread = centres.max(axis=0) - centres.min(axis=0)
    if spread[2] <= spread[1]:
        return None
    return (
        f"the {n} discs found lie front to back ({spread[2]:.0f} mm) more than top to "
        f"bottom ({spread[1]:.0f} mm): the image is probably on its side (its orientation "
        "came from the shape of the field of view, not from a header); every name and "
        "measurement is in doubt — give a file whose header records the orientation"
    )
