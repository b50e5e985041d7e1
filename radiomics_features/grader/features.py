"""Hand-made disc features for the grader's feature model: geometry and crop intensities.

One row per disc, the columns of ``FEATURE_NAMES`` in that order:

- geometry of the backbone's disc component on the T2 and on the T1 slice
  (``<seq>_height_mm``, ``_width_mm``, ``_angle_deg``, ``_area_mm2``; ``Disc``'s fields);
- intensity statistics of the disc-aligned crop (``crops.disc_crop``; slices scaled by
  their 99th percentile), per sequence: the disc core's mean, SD, 10th and 90th
  percentiles, its ratio to the vertebral bodies above and below and to the canal, and
  the ratio of the body above to the body below;
- the disc's number from the sacrum (``level``) and the T2 height-to-width ratio.

A sequence that is absent gives NaN in its columns (the feature model imputes them and
carries a missing-value indicator, as it was trained).

The boxes are fixed on the crop's 1.2 mm grid around its centre pixel, so a 64 x 64
model input and the 80 x 80 stored training crop (whose central 64 x 64 it is) give the
same values: disc core 4 x 20 px (4.8 x 24 mm); vertebral body above / below 8 x 20 px
from 10 to 18 px (12-21.6 mm) above / below the centre; canal 8 x 6 px from 20 to 26 px
(24-31.2 mm) posterior of the centre.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["FEATURE_NAMES", "GEOMETRY", "INTENSITY", "disc_features", "intensity_features"]

SEQUENCES = ("t2", "t1")
GEOMETRY = ("height_mm", "width_mm", "angle_deg", "area_mm2")
INTENSITY = (
    "core_mean",
    "core_sd",
    "core_p10",
    "core_p90",
    "core_to_body",
    "core_to_canal",
    "above_to_below",
)
FEATURE_NAMES: tuple[str, ...] = (
    *(f"{s}_{k}" for s in SEQUENCES for k in GEOMETRY),
    *(f"{s}_{k}" for s in SEQUENCES for k in INTENSITY),
    "level",
    "t2_height_to_width",
)
#: the canal box reaches 26 px posterior of the centre: crops must be at least this big
MIN_CROP = 2 * 26 + 2


def intensity_features(crops: np.ndarray, has: np.ndarray) -> pd.DataFrame:
    """``crops``: ``(n, 2, s, s)`` (T2, T1), ``has``: ``(n, 2)`` bool. One row per disc."""
    crops = np.asarray(crops)
    has = np.asarray(has, dtype=bool)
    if crops.ndim != 4 or crops.shape[1] != 2 or crops.shape[2] != crops.shape[3]:
        raise ValueError(f"crops must be (n, 2, s, s) with T2 and T1, got shape {crops.shape}")
    if crops.shape[2] < MIN_CROP:
        raise ValueError(f"crops must be at least {MIN_CROP} px square, got {crops.shape[2]}")
    if has.shape != (crops.shape[0], 2):
        raise ValueError(f"has must be ({crops.shape[0]}, 2), got {has.shape}")
    c = crops.shape[2] // 2
    n = len(crops)
    cols = {}
    for ch, seq in enumerate(SEQUENCES):
        x = crops[:, ch].astype(np.float32)
        core = x[:, c - 2 : c + 2, c - 10 : c + 10].reshape(n, -1)
        above = x[:, c - 18 : c - 10, c - 10 : c + 10].reshape(n, -1).mean(1)
        below = x[:, c + 10 : c + 18, c - 10 : c + 10].reshape(n, -1).mean(1)
        canal = x[:, c - 4 : c + 4, c + 20 : c + 26].reshape(n, -1).mean(1)
        body = (above + below) / 2
        feats = {
            "core_mean": core.mean(1),
            "core_sd": core.std(1),
            "core_p10": np.percentile(core, 10, axis=1),
            "core_p90": np.percentile(core, 90, axis=1),
            "core_to_body": core.mean(1) / np.maximum(body, 1e-3),
            "core_to_canal": core.mean(1) / np.maximum(canal, 1e-3),
            "above_to_below": above / np.maximum(below, 1e-3),
        }
        for k in INTENSITY:
            cols[f"{seq}_{k}"] = np.where(has[:, ch], feats[k], np.nan)
    return pd.DataFrame(cols)


def disc_features(
    geometry: pd.DataFrame, crops: np.ndarray, has: np.ndarray, labels
) -> pd.DataFrame:
    """The feature table (``FEATURE_NAMES``) of ``n`` discs.

    ``geometry``: ``n`` rows with the columns ``<seq>_<GEOMETRY>`` (NaN where a sequence
    is absent); ``crops``/``has`` as in ``intensity_features``; ``labels``: each disc's
    number from the sacrum (1 = lowest).
    """
    need = [f"{s}_{k}" for s in SEQUENCES for k in GEOMETRY]
    missing = [k for k in need if k not in geometry]
    if missing:
        raise KeyError(f"geometry column(s) {missing} missing; expected {need}")
    lab = np.asarray(labels)
    if len(geometry) != len(crops) or lab.shape != (len(crops),):
        raise ValueError(
            f"geometry ({len(geometry)} rows), crops ({len(crops)}) and labels "
            f"({lab.shape[0] if lab.ndim else 0}) must describe the same discs"
        )
    geo = geometry[need].reset_index(drop=True).astype(float)
    out = pd.concat([geo, intensity_features(crops, has)], axis=1)
    out["level"] = lab.astype(float)
    out["t2_height_to_width"] = geo["t2_height_mm"] / geo["t2_width_mm"]
    return out[list(FEATURE_NAMES)]
