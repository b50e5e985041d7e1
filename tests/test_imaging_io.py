"""Reading volumes into the canonical (LR, SI, AP) order, and every error path.

The same canonical array must come back from a SPIDER NIfTI (untrusted identity header,
anatomy decides), and from a phantom written to MHA, NRRD, NIfTI and a DICOM series
(trusted sagittal header), including files stored in another axis order.
"""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np
import pytest

sitk = pytest.importorskip("SimpleITK", reason="SimpleITK (imaging extra) is not installed")

from radiomics_features.io import (  # noqa: E402
    GridMismatchError,
    ImageDimensionError,
    ImageReadError,
    NonSagittalError,
    decide_axes,
    read_image,
    read_image_and_mask,
    read_mask,
    volume_from_array,
    volume_to_sitk,
    write_dicom_series,
    write_volume,
)
from radiomics_features.phantoms import make_phantom  # noqa: E402

SPIDER = Path(__file__).resolve().parents[2] / "shared" / "data" / "spider-t2-lumbar"
needs_spider = pytest.mark.skipif(
    not (SPIDER / "spider_005_t2.nii.gz").exists(),
    reason=f"SPIDER subset not found at {SPIDER} (the repository root's sibling shared/)",
)


@pytest.fixture(scope="module")
def phantom():
    return make_phantom(tilt_deg=10, spacing=(2.0, 0.5, 0.5))


# ------------------------------------------------------------------- SPIDER NIfTI
@needs_spider
def test_spider_nifti_is_already_canonical_and_anatomy_decides():
    """SPIDER arrays are stored (slices L↔R, rows S→I, cols A→P) with an identity header."""
    raw_img = sitk.GetArrayFromImage(sitk.ReadImage(str(SPIDER / "spider_005_t2.nii.gz")))
    raw_msk = sitk.GetArrayFromImage(sitk.ReadImage(str(SPIDER / "spider_005_mask.nii.gz")))
    img, msk = read_image_and_mask(
        SPIDER / "spider_005_t2.nii.gz", SPIDER / "spider_005_mask.nii.gz"
    )
    np.testing.assert_array_equal(img.array, raw_img)
    np.testing.assert_array_equal(msk.array, raw_msk)
    assert img.spacing == (1.0, 0.46875, 0.46875)
    assert img.decision.method == "anatomy" and img.lr_order == "unknown"
    assert "identity" in img.orientation and "canal lies behind the discs" in img.orientation
    assert img.original_size == (512, 640, 18)
    assert not img.array.flags.writeable
    alone = read_image(SPIDER / "spider_005_t2.nii.gz")  # no mask: array heuristics
    np.testing.assert_array_equal(alone.array, raw_img)
    assert alone.decision.method == "array" and "taller in-plane extent" in alone.orientation


@needs_spider
def test_spider_through_dicom_gives_the_same_canonical_array(tmp_path):
    img = read_image(SPIDER / "spider_005_t2.nii.gz")
    crop = volume_from_array(img.array[6:12, 100:400, 150:400], img.spacing)
    back = read_image(write_dicom_series(crop, tmp_path / "dcm"))
    np.testing.assert_array_equal(back.array, crop.array)
    assert back.spacing == pytest.approx(crop.spacing, abs=1e-6)
    assert back.decision.method == "header" and back.lr_order == "left_to_right"


# ------------------------------------------------------------- phantom round trips
@pytest.mark.parametrize("suffix", [".mha", ".nrrd", ".nii.gz"])
def test_phantom_file_round_trip(phantom, tmp_path, suffix):
    for vol in (phantom.image, phantom.mask):
        back = read_image(write_volume(vol, tmp_path / f"p{suffix}"))
        np.testing.assert_array_equal(back.array, vol.array)
        assert back.spacing == pytest.approx(vol.spacing)
        assert back.decision.method == "header"


def test_phantom_dicom_round_trip(phantom, tmp_path):
    back = read_image(write_dicom_series(phantom.image, tmp_path / "series"))
    np.testing.assert_array_equal(back.array, phantom.image.array)
    assert back.spacing == pytest.approx(phantom.image.spacing, abs=1e-6)
    assert len(list((tmp_path / "series").glob("*.dcm"))) == phantom.image.shape[0]


# canonical axis → LPS direction: 0 LR toward the right, 1 SI toward inferior, 2 AP posterior
_CANON_LPS = {0: (-1.0, 0.0, 0.0), 1: (0.0, 0.0, -1.0), 2: (0.0, 1.0, 0.0)}


def _stored(vol, perm, flips):
    """The same volume stored with numpy axes ``perm`` of canonical, some flipped."""
    arr = np.transpose(vol.array, perm)
    for k, f in enumerate(flips):
        if f:
            arr = np.flip(arr, axis=k)
    img = sitk.GetImageFromArray(np.ascontiguousarray(arr))
    cols = []
    for j in range(3):  # ITK index axis j = numpy axis 2 - j
        k = 2 - j
        d = np.array(_CANON_LPS[perm[k]]) * (-1 if flips[k] else 1)
        cols.append(d)
    img.SetDirection(tuple(np.stack(cols, axis=1).ravel()))
    img.SetSpacing(tuple(vol.spacing[perm[2 - j]] for j in range(3)))
    return img


@pytest.mark.parametrize(
    "perm,flips",
    [
        ((0, 1, 2), (True, False, False)),  # slices right→left
        ((2, 0, 1), (False, True, False)),  # stored (AP, LR, SI), LR reversed
        ((1, 2, 0), (False, True, True)),  # axial-looking storage of a sagittal volume
    ],
)
def test_header_decides_for_any_storage_order(phantom, tmp_path, perm, flips):
    path = tmp_path / "stored.mha"
    sitk.WriteImage(_stored(phantom.mask, perm, flips), str(path))
    back = read_image(path)
    np.testing.assert_array_equal(back.array, phantom.mask.array)
    assert back.spacing == pytest.approx(phantom.mask.spacing)
    np.testing.assert_array_equal(
        back.to_stored_order(back.array), sitk.GetArrayFromImage(sitk.ReadImage(str(path)))
    )


def test_read_mask_uses_the_image_decision(phantom, tmp_path):
    ip, mp = tmp_path / "i.nrrd", tmp_path / "m.nrrd"
    sitk.WriteImage(_stored(phantom.image, (2, 0, 1), (False, True, False)), str(ip))
    sitk.WriteImage(_stored(phantom.mask, (2, 0, 1), (False, True, False)), str(mp))
    img = read_image(ip)
    msk = read_mask(mp, like=img)
    np.testing.assert_array_equal(msk.array, phantom.mask.array)


# --------------------------------------------------------------- decide_axes rules
def test_decide_axes_transposed_inplane_and_reversed_ap_from_the_mask(phantom):
    """Columns = SI and AP reversed: the disc chain picks SI, the canal fixes AP."""
    m = phantom.mask.array
    stored = np.flip(np.transpose(m, (0, 2, 1)), axis=1)  # (LR, AP reversed, SI)
    sp = (2.0, 0.5, 0.5)
    d = decide_axes(stored.shape, sp, stored)
    assert d.axes == (0, 2, 1) and d.flips == (False, False, True)
    canon = np.flip(np.transpose(stored, d.axes), axis=2)
    np.testing.assert_array_equal(canon, m)


def test_decide_axes_square_field_of_view_falls_back_to_row_order():
    d = decide_axes((12, 400, 400), (3.0, 0.7, 0.7))
    assert d.axes == (0, 1, 2) and "square" in d.reason


# --------------------------------------------------------------------- error paths
def test_missing_file(tmp_path):
    with pytest.raises(ImageReadError, match=r"nope\.nii\.gz' does not exist; expected a NIfTI"):
        read_image(tmp_path / "nope.nii.gz")


def test_empty_file(tmp_path):
    p = tmp_path / "empty.mha"
    p.write_bytes(b"")
    with pytest.raises(ImageReadError, match=r"empty\.mha' is empty \(0 bytes\)"):
        read_image(p)


def test_unreadable_file(tmp_path):
    p = tmp_path / "garbage.nii.gz"
    p.write_bytes(b"this is not an image" * 10)
    with pytest.raises(ImageReadError, match=r"garbage\.nii\.gz' could not be read as an image"):
        read_image(p)


@pytest.mark.parametrize(
    ("suffix", "compress", "message"),
    [
        (".nii", False, r"is cut off: its header describes [\d,]+ bytes of a \d+×\d+×\d+ volume"),
        (".nii.gz", True, r"is not a complete gzip file \(.*\) — was the copy or download"),
        (".mha", False, r"is cut off: its header describes [\d,]+ bytes of a \d+×\d+×\d+ volume"),
        (".mha", True, r"is cut off: its header describes [\d,]+ bytes of compressed voxels"),
        (".nrrd", False, r"could not be read as an image \(\[nrrd\] .*fread got only"),
    ],
)
def test_a_file_cut_off_is_refused_not_read_as_black(phantom, tmp_path, suffix, compress, message):
    """ITK reads a NIfTI cut off at 60% as a volume whose last 40% is zeros, without a
    word (and fails on a cut MetaImage with "No such file or directory"): every format
    names the file as cut off; the whole file still reads."""
    whole = tmp_path / f"whole{suffix}"
    sitk.WriteImage(volume_to_sitk(phantom.image), str(whole), useCompression=compress)
    assert read_image(whole).array.shape == phantom.image.shape
    data = whole.read_bytes()
    cut = tmp_path / f"cut{suffix}"
    cut.write_bytes(data[: int(len(data) * 0.6)])
    if suffix == ".nii":  # what happens without the check
        raw = sitk.GetArrayFromImage(sitk.ReadImage(str(cut)))
        assert raw.shape[::-1] == sitk.ReadImage(str(whole)).GetSize() and not raw[-1].any()
    with pytest.raises(ImageReadError, match=message):
        read_image(cut)


def _float_nifti(arr: np.ndarray, order: str) -> bytes:
    """A minimal single-file NIfTI-1 of the float array ``arr`` (z, y, x), 1 mm voxels,
    written in byte order ``order`` ('<' or '>')."""
    import struct

    head = bytearray(348)
    struct.pack_into(order + "i", head, 0, 348)
    struct.pack_into(order + "8h", head, 40, 3, *arr.shape[::-1], 1, 1, 1, 1)
    code, bits = (16, 32) if arr.dtype.itemsize == 4 else (64, 64)
    struct.pack_into(order + "hh", head, 70, code, bits)
    struct.pack_into(order + "8f", head, 76, *[1.0] * 8)
    struct.pack_into(order + "ff", head, 108, 352.0, 1.0)  # vox_offset, scl_slope
    head[344:348] = b"n+1\0"
    return bytes(head) + bytes(4) + arr.astype(arr.dtype.newbyteorder(order)).tobytes()


@pytest.mark.parametrize("order", ["<", ">"])
@pytest.mark.parametrize("dtype", ["f4", "f8"])
@pytest.mark.parametrize("gz", [False, True])
def test_nan_voxels_in_a_nifti_file_are_refused_not_read_as_zeros(tmp_path, order, dtype, gz):
    """ITK's NIfTI reader turns NaN and infinite voxels into zeros without a word (its
    MetaImage and NRRD readers keep them, and segmentation refuses them): such a NIfTI
    file is refused with the counts; the same file without them reads."""
    import gzip

    arr = np.arange(30 * 30 * 3, dtype=dtype).reshape(30, 30, 3)  # a thin left-right stack
    bad = arr.copy()
    bad[1, 2, 0] = bad[4, 5, 1] = np.nan
    bad[29, 29, 2] = -np.inf
    name = "v.nii.gz" if gz else "v.nii"
    for data, path in ((arr, tmp_path / "ok" / name), (bad, tmp_path / "bad" / name)):
        path.parent.mkdir()
        raw = _float_nifti(data, order)
        path.write_bytes(gzip.compress(raw) if gz else raw)
    held = sitk.GetArrayFromImage(sitk.ReadImage(str(tmp_path / "bad" / name)))
    assert np.isfinite(held).all() and held[1, 2, 0] == 0  # what happens without the check
    assert read_image(tmp_path / "ok" / name).array.size == arr.size
    with pytest.raises(
        ImageReadError, match=r"holds 2 NaN and 1 infinite voxel\(s\) among its 2,700; the NIfTI"
    ):
        read_image(tmp_path / "bad" / name)


def test_a_header_the_length_check_cannot_read_is_left_to_itk(phantom, tmp_path):
    """The check's own header parsing never escapes as a bare ValueError: a MetaImage
    field it cannot read leaves the file to ITK, whose refusal is worded as always."""
    whole = tmp_path / "whole.mha"
    sitk.WriteImage(volume_to_sitk(phantom.image), str(whole), useCompression=False)
    data = whole.read_bytes()
    assert b"ElementType = " in data
    bad = tmp_path / "bad.mha"
    bad.write_bytes(
        data.replace(b"ElementType = ", b"ElementNumberOfChannels = x\nElementType = ", 1)
    )
    with pytest.raises(ImageReadError, match=r"bad\.mha' could not be read as an image"):
        read_image(bad)


def test_a_dicom_series_with_a_slice_missing_is_refused(phantom, tmp_path):
    """ITK reads 23 of 24 slices 2 mm apart as 23 slices 2.09 mm apart (a console
    warning only); the reader names the gap and the files around it."""
    folder = write_dicom_series(phantom.image, tmp_path / "series")
    files = sorted(folder.glob("*.dcm"))
    assert read_image(folder).shape == phantom.image.shape
    gone = files[len(files) // 2]
    gone.unlink()
    raw = sitk.ImageSeriesReader()
    raw.SetFileNames(sitk.ImageSeriesReader.GetGDCMSeriesFileNames(str(folder)))
    assert raw.Execute().GetSpacing()[2] > 2.05  # what happens without the check
    before, after = files[len(files) // 2 - 1].name, files[len(files) // 2 + 1].name
    with pytest.raises(
        ImageReadError,
        match=rf"is not evenly spaced: its slices are 2\.00 mm apart but 4\.00 mm between "
        rf"{before} and {after} — a slice missing",
    ):
        read_image(folder)


def _dicomdir(path: Path) -> None:
    """A minimal DICOMDIR: its File Meta Information says Media Storage Directory."""
    uid = b"1.2.840.10008.1.3.10\0"
    el = struct.pack("<HH", 2, 2) + b"UI" + struct.pack("<H", len(uid)) + uid
    group_length = struct.pack("<HH", 2, 0) + b"UL" + struct.pack("<HI", 4, len(el))
    path.write_bytes(b"\0" * 128 + b"DICM" + group_length + el + b"\x04\x00\x30\x11CS\0\0")


@pytest.mark.parametrize("cut", [170, 400, -1000], ids=["in-meta", "in-header", "in-pixels"])
def test_a_dicom_slice_cut_short_at_the_end_of_a_series_is_refused(phantom, tmp_path, cut):
    """GDCM leaves a file it cannot parse out of the series without a word; at either end
    of the series there is no gap for the spacing check to find, and the volume was read
    a slice short. Such a file (a Part 10 file of an image class in no series) is named;
    a DICOMDIR and a text file beside the series are not."""
    folder = write_dicom_series(phantom.image, tmp_path / "series")
    _dicomdir(folder / "DICOMDIR")
    (folder / "README.TXT").write_text("exported by a viewer", encoding="utf-8")
    assert read_image(folder).shape == phantom.image.shape
    first = sorted(folder.glob("*.dcm"))[0]
    first.write_bytes(first.read_bytes()[:cut])
    raw = sitk.ImageSeriesReader()
    raw.SetFileNames(sitk.ImageSeriesReader.GetGDCMSeriesFileNames(str(folder)))
    assert raw.Execute().GetSize()[2] == phantom.image.shape[0] - 1  # without the check
    why = "its file meta information is cut short" if cut == 170 else "MR Image Storage, cut"
    with pytest.raises(
        ImageReadError,
        match=rf"\(sagittal, {phantom.image.shape[0] - 1} files\) in '.*' may be incomplete: "
        rf"1 DICOM image file could not be read: {first.name} \({why}.* read a slice short",
    ):
        read_image(folder)


def test_a_folder_of_damaged_dicom_files_says_so(phantom, tmp_path):
    folder = write_dicom_series(phantom.image, tmp_path / "series")
    for f in folder.iterdir():
        f.write_bytes(f.read_bytes()[:600])
    n = phantom.image.shape[0]
    with pytest.raises(
        ImageReadError,
        match=rf"holds no DICOM series: {n} DICOM image files could not be read: "
        rf"slice_0000\.dcm \(MR Image Storage, cut short or damaged\); .* and {n - 3} more; ",
    ):
        read_image(folder)


def test_folder_without_dicom(tmp_path):
    with pytest.raises(ImageReadError, match="holds no DICOM series"):
        read_image(tmp_path)


def test_two_dimensional_image(tmp_path):
    p = tmp_path / "flat.mha"
    sitk.WriteImage(sitk.GetImageFromArray(np.zeros((64, 48), np.uint8)), str(p))
    with pytest.raises(
        ImageDimensionError, match=r"flat\.mha' has 2 dimensions \(size 48×64\); expected a 3D"
    ):
        read_image(p)


def test_single_slice_volume(tmp_path):
    p = tmp_path / "one.mha"
    sitk.WriteImage(sitk.GetImageFromArray(np.zeros((1, 64, 48), np.uint8)), str(p))
    with pytest.raises(ImageDimensionError, match=r"is a single slice \(size 48×64×1\)"):
        read_image(p)


def test_vector_image(tmp_path):
    p = tmp_path / "rgb.mha"
    sitk.WriteImage(sitk.GetImageFromArray(np.zeros((4, 8, 8, 3), np.uint8), isVector=True), str(p))
    with pytest.raises(ImageReadError, match="3 components per voxel; expected a scalar"):
        read_image(p)


def test_axial_header_is_not_sagittal(tmp_path):
    img = sitk.GetImageFromArray(np.zeros((40, 64, 64), np.uint8))
    img.SetSpacing((0.7, 0.7, 4.0))
    img.SetDirection((1, 0, 0, 0, -1, 0, 0, 0, -1))  # slices along SI: an axial series
    p = tmp_path / "axial.nrrd"
    sitk.WriteImage(img, str(p))
    with pytest.raises(
        NonSagittalError,
        match=r"axial\.nrrd' is an axial stack: its slice axis .* runs superior-inferior",
    ):
        read_image(p)


def test_axial_stack_by_heuristics_is_not_sagittal(tmp_path):
    """Identity header, many thin slices covering as much as the in-plane field."""
    img = sitk.GetImageFromArray(np.zeros((125, 160, 160), np.uint8))
    img.SetSpacing((1.4, 1.4, 2.0))
    p = tmp_path / "thin.mha"
    sitk.WriteImage(img, str(p))
    with pytest.raises(
        NonSagittalError,
        match=r"does not look like a sagittal stack: its slice axis .* covers 250 mm, ≥ 60% of the in-plane field of view \(224 mm\)",
    ):
        read_image(p)


def test_disc_chain_along_the_slice_axis_is_not_sagittal(phantom):
    m = np.transpose(phantom.mask.array, (1, 0, 2))  # SI became the slice axis
    with pytest.raises(NonSagittalError, match="disc chain of the mask runs along the slice axis"):
        decide_axes(m.shape, (3.0, 0.5, 0.5), m)


def test_mask_on_another_grid(phantom, tmp_path):
    ip, mp = tmp_path / "i.mha", tmp_path / "m.mha"
    sitk.WriteImage(volume_to_sitk(phantom.image), str(ip))
    other = volume_to_sitk(phantom.mask)
    other.SetSpacing((0.6, 0.5, 2.0))
    sitk.WriteImage(other, str(mp))
    with pytest.raises(
        GridMismatchError, match=r"m\.mha' and image .*i\.mha' are on different grids \(spacing"
    ):
        read_image_and_mask(ip, mp)
    small = tmp_path / "small.mha"
    sitk.WriteImage(
        volume_to_sitk(volume_from_array(phantom.mask.array[:, :-4], phantom.mask.spacing)),
        str(small),
    )
    with pytest.raises(GridMismatchError, match=r"different grids \(size"):
        read_mask(small, like=read_image(ip))


def test_dicom_needs_integers(tmp_path):
    vol = volume_from_array(np.zeros((3, 8, 8), np.float32), (2.0, 0.5, 0.5))
    with pytest.raises(TypeError, match="DICOM stores integer pixels; got dtype float32"):
        write_dicom_series(vol, tmp_path / "d")


def test_volume_needs_3d():
    with pytest.raises(ImageDimensionError, match=r"array has 2 dimensions \(shape \(4, 4\)\)"):
        volume_from_array(np.zeros((4, 4)), (1.0, 1.0, 1.0))
