"""SPIDER T2 lumbar volumes: reading, the patient split, and slices on the model grid.

Training-only module (imported by ``python -m radiomics_features.train``); the data
files are read in place from the shared folder and never copied into the repository.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from radiomics_features.backbone.preprocess import (
    Preprocessing,
    resample_to_grid,
    slice_grid,
    to_model_grid,
)

__all__ = [
    "CLASS_NAMES",
    "SPIDER_IDS",
    "SPLIT_NOTE",
    "TRAINING_IDS",
    "VALIDATION_IDS",
    "PatientSlices",
    "default_data_dir",
    "load_patients",
    "read_case",
]

SPIDER_IDS: tuple[int, ...] = (
    5, 11, 18, 22, 35, 41, 45, 52, 55, 57, 65, 69, 78, 98, 107, 110,
    127, 129, 136, 142, 146, 152, 162, 166, 177, 191, 200, 209, 234, 239, 241,
)  # fmt: skip

# Fixed patient-level split, drawn once and frozen here so it cannot move:
# numpy.random.default_rng(2024), stratified by how the 8-bit export was windowed
# (9 series whose intensities saturate at 255: 11 41 65 142 146 191 200 209 241; the
# other 22 top out near 125-190). rng.permutation(saturated)[:2] then
# rng.permutation(others)[:5] -> validation; the remaining 24 patients train.
VALIDATION_IDS: tuple[int, ...] = (5, 18, 22, 65, 78, 136, 191)
TRAINING_IDS: tuple[int, ...] = tuple(i for i in SPIDER_IDS if i not in VALIDATION_IDS)
SPLIT_NOTE = (
    "patient-level, fixed by id; numpy default_rng(2024), stratified by 8-bit export "
    "window (2 of the 9 saturating series, 5 of the other 22) into validation"
)

CLASS_NAMES: tuple[str, ...] = ("background", "vertebra", "disc", "canal")


def default_data_dir() -> Path:
    """``../shared/data/spider-t2-lumbar`` next to the repository root."""
    return Path(__file__).resolve().parents[2].parent / "shared" / "data" / "spider-t2-lumbar"


def read_case(
    data_dir: Path, pid: int
) -> tuple[np.ndarray, np.ndarray, tuple[float, float, float]]:
    """Image, mask (arrays ``(slices, rows, cols)``) and spacing per array axis (mm).

    The spacing is SimpleITK's ``GetSpacing()`` reversed, ``(slice, row, col)``, the
    convention of ``radiomics_features.io.Volume`` and ``segment_volume``.
    """
    import SimpleITK as sitk

    img_path = Path(data_dir) / f"spider_{pid:03d}_t2.nii.gz"
    mask_path = Path(data_dir) / f"spider_{pid:03d}_mask.nii.gz"
    for p in (img_path, mask_path):
        if not p.is_file():
            raise FileNotFoundError(
                f"SPIDER file {p} not found; pass --data pointing at the "
                "spider-t2-lumbar folder (default ../shared/data/spider-t2-lumbar)"
            )
    img = sitk.ReadImage(str(img_path))
    image = sitk.GetArrayFromImage(img)
    mask = sitk.GetArrayFromImage(sitk.ReadImage(str(mask_path)))
    if image.shape != mask.shape:
        raise ValueError(f"patient {pid}: image shape {image.shape} != mask shape {mask.shape}")
    bad = np.setdiff1d(np.unique(mask), np.arange(len(CLASS_NAMES)))
    if bad.size:
        raise ValueError(f"patient {pid}: mask has label(s) {bad.tolist()}, expected 0-3")
    sx, sy, sz = img.GetSpacing()
    return image, mask, (float(sz), float(sy), float(sx))


@dataclass
class PatientSlices:
    """One patient's slices on the model grid, ready for training or validation."""

    pid: int
    image: np.ndarray  # (n, 1, H, W) float32, normalised and padded
    target: np.ndarray  # (n, 4, H, W) float16 soft one-hot (area-resampled masks)


def load_patients(data_dir: Path, ids: tuple[int, ...], prep: Preprocessing) -> list[PatientSlices]:
    """Read each patient and resample image and one-hot mask to the model grid.

    Masks are resampled as one-hot class maps with the same anti-aliasing weights as the
    image, giving soft targets: a model-grid pixel half disc, half vertebra is trained
    towards 0.5/0.5, matching the way logits are interpolated back at inference.
    """
    out = []
    for pid in ids:
        image, mask, spacing = read_case(data_dir, pid)
        grid = slice_grid(image.shape[1:], (spacing[1], spacing[2]), prep)
        x = to_model_grid(image, grid, prep)
        onehot = mask[:, None, :, :] == np.arange(len(CLASS_NAMES))[None, :, None, None]
        soft = resample_to_grid(onehot.astype(np.float32), grid)
        h, w = grid.model_shape
        ph, pw = grid.padded_shape
        target = np.zeros((soft.shape[0], soft.shape[1], ph, pw), dtype=np.float16)
        target[:, 0] = 1.0  # padding is background
        target[:, :, :h, :w] = soft
        out.append(PatientSlices(pid=pid, image=x, target=target))
    return out
