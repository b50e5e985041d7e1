"""The extraction: pyradiomics run on each disc level's ROIs of one patient.

:func:`radiomic_features` places the ROIs (:mod:`radiomics_features.radiomic.rois`) on
the mid-sagittal slice, hands each to pyradiomics with the checked parameters
(:mod:`radiomics_features.radiomic.params`) and collects one row per ROI; the package
docstring (:mod:`radiomics_features.radiomic`) describes the output.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from radiomics_features.geometry import choose_mid_slice
from radiomics_features.io import volume_from_array, volume_to_sitk
from radiomics_features.labels import DISC
from radiomics_features.levelling import LevelledSpine
from radiomics_features.levels import DISC_LEVELS
from radiomics_features.radiomic.library import (
    PREFIX,
    class_features,
    feature_column,
    require_pyradiomics,
)
from radiomics_features.radiomic.params import ParamsSource, params_hash, resolve_params
from radiomics_features.radiomic.rois import Roi, disc_and_canal_rois

__all__ = ["radiomic_features"]


class _Extractor:
    """pyradiomics extractors built from checked parameters (no pykwalify round-trip)."""

    def __init__(self, params: dict):
        _, featureextractor = require_pyradiomics()
        settings = dict(params["setting"])
        settings["additionalInfo"] = False  # diagnostics are not features
        classes = params["featureClass"]
        self.columns = {
            c: [feature_column(c, f) for f in (names or class_features(c))]
            for c, names in classes.items()
        }
        self.shape = self._build(
            featureextractor, settings, {c: v for c, v in classes.items() if c == "shape2D"}
        )
        self.texture = self._build(
            featureextractor, settings, {c: v for c, v in classes.items() if c != "shape2D"}
        )
        self.both = self._build(featureextractor, settings, classes)
        self.label = int(settings["label"])
        self.min_size = int(settings.get("minimumROISize") or 1)

    @staticmethod
    def _build(featureextractor, settings, classes):
        if not classes:
            return None
        ex = featureextractor.RadiomicsFeatureExtractor(**settings)
        ex.disableAllImageTypes()
        ex.enableImageTypes(Original={})
        ex.disableAllFeatures()
        ex.enableFeaturesByName(**{c: (list(v) if v else []) for c, v in classes.items()})
        return ex

    def run(self, extractor, image, mask) -> dict[str, float]:
        out = {}
        result = extractor.execute(image, mask, label=self.label)
        for key, value in result.items():
            if key.startswith("diagnostics_"):
                continue
            _, cls, feature = key.split("_", 2)
            out[feature_column(cls, feature)] = float(value)
        return out


def _as_image(image, levelled: LevelledSpine) -> tuple[np.ndarray, np.ndarray]:
    if hasattr(image, "array") and hasattr(image, "spacing"):
        arr, sp = np.asarray(image.array), np.asarray(image.spacing, dtype=float)
        if not np.allclose(sp, levelled.spacing, rtol=1e-4):
            raise ValueError(
                f"image spacing {tuple(sp)} mm differs from the levelled mask's "
                f"{levelled.spacing}; expected the same canonical grid"
            )
    else:
        arr, sp = np.asarray(image), np.asarray(levelled.spacing, dtype=float)
    if arr.shape != levelled.instances.shape:
        raise ValueError(
            f"image shape {arr.shape} differs from the levelled mask's "
            f"{levelled.instances.shape}; expected the same canonical grid"
        )
    if arr.dtype.kind not in "uif":
        raise TypeError(f"image must hold numeric intensities; got dtype {arr.dtype}")
    return arr, sp


def _sitk_pair(image: np.ndarray, roi: np.ndarray, label: int, sp, cache: dict, key):
    if key not in cache:
        cache[key] = volume_to_sitk(volume_from_array(image.astype(np.float64), tuple(sp)))
    mask = volume_to_sitk(volume_from_array(roi.astype(np.uint8) * np.uint8(label), tuple(sp)))
    return cache[key], mask


def radiomic_features(
    image,
    levelled: LevelledSpine,
    *,
    params: ParamsSource = None,
    mid_slice: int | None = None,
    halfwidth_slices: int | None = None,
    mask=None,
) -> pd.DataFrame:
    """pyradiomics features of each disc and its canal segment (see the package docstring,
    :mod:`radiomics_features.radiomic`).

    Parameters
    ----------
    image : Volume or ndarray
        Canonical image; a plain array takes ``levelled.spacing``.
    levelled : LevelledSpine
        Named levels of the mask on the same grid.
    params : dict, path or None
        Parameters (checked with :func:`~radiomics_features.radiomic.validate_params`);
        None reads the bundled YAML.
    mid_slice : int, optional
        Slice to use; default :func:`~radiomics_features.geometry.choose_mid_slice` of
        ``mask`` (of the levelled discs when no mask is given).
    halfwidth_slices : int, optional
        Pool intensity and texture over ``slice ± halfwidth_slices``; None or 0: one slice.
    mask : Volume or ndarray, optional
        The (cleaned) three-class mask; needed for the canal ROIs.

    Returns
    -------
    DataFrame
        One row per disc level × ROI (``disc``, ``canal``); ``attrs`` hold the mid slice
        and the parameters' sha256.
    """
    p = resolve_params(params)
    img, sp = _as_image(image, levelled)
    m3 = None
    if mask is not None:
        m3 = np.asarray(mask.array if hasattr(mask, "array") else mask)
        if m3.shape != img.shape:
            raise ValueError(
                f"mask shape {m3.shape} differs from the image's {img.shape}; "
                "expected the same canonical grid"
            )
    half = 0 if halfwidth_slices is None else halfwidth_slices
    if not isinstance(half, (int, np.integer)) or isinstance(half, bool) or half < 0:
        raise ValueError(f"halfwidth_slices must be an int ≥ 0 or None; got {halfwidth_slices!r}")
    if mid_slice is None:
        ref = m3 if m3 is not None else np.where(levelled.instances > 200, DISC, 0)
        k_mid = choose_mid_slice(ref, sp)
    else:
        k_mid = int(mid_slice)
        if not 0 <= k_mid < img.shape[0]:
            raise ValueError(f"mid_slice {mid_slice} is outside 0–{img.shape[0] - 1}")

    # threadpoolctl ships no type information
    from threadpoolctl import threadpool_limits

    ex = _Extractor(p)
    columns = [c for cols in ex.columns.values() for c in cols]
    cache: dict = {}
    # GLCM's MCC takes eigenvalues of small (Ng x Ng) matrices: BLAS threads only add
    # overhead there, and on a loaded 2-core machine OpenBLAS' spinning threads made one
    # 130 x 130 eigvals take 1.2 s instead of 4 ms. One thread for the extraction.
    with threadpool_limits(limits=1, user_api="blas"):
        rows = [
            _extract_roi(roi, img, sp, ex, int(half), cache)
            for level in DISC_LEVELS
            for roi in disc_and_canal_rois(level, levelled, m3, k_mid, int(half), sp)
        ]
    meta = pd.DataFrame(
        {
            "level": [r["level"] for r in rows],
            "roi": [r["roi"] for r in rows],
            "slice": [np.nan if r["slice"] is None else float(r["slice"]) for r in rows],
            "n_voxels": [float(r["n_voxels"]) for r in rows],
            "reason": [r["reason"] for r in rows],
        }
    )
    values = np.array([[r.get(c, np.nan) for c in columns] for r in rows], dtype=float)
    out = pd.concat([meta, pd.DataFrame(values, columns=columns)], axis=1)
    out.attrs["mid_slice"] = k_mid
    out.attrs["params_sha256"] = params_hash(p)
    return out


def _extract_roi(
    roi: Roi, img: np.ndarray, sp: np.ndarray, ex: _Extractor, half: int, cache: dict
) -> dict[str, Any]:
    row: dict[str, Any] = {
        "level": roi.level,
        "roi": roi.kind,
        "slice": roi.slice,
        "n_voxels": 0 if roi.slab is None else int(roi.slab.sum()),
        "reason": roi.reason,
    }
    if roi.reason:
        return row
    if row["n_voxels"] < ex.min_size:
        row["reason"] = (
            f"{roi.kind} ROI has {row['n_voxels']} voxel(s), fewer than "
            f"minimumROISize {ex.min_size}"
        )
        return row
    k, k0, plane, slab = roi.slice, roi.k0, roi.plane, roi.slab
    if k is None or plane is None or slab is None:  # pragma: no cover - see Roi
        raise RuntimeError(f"{roi.kind} ROI of {roi.level} has neither voxels nor a reason")
    try:
        if half == 0:
            pair = _sitk_pair(img[k : k + 1], plane[None], ex.label, sp, cache, (k, k + 1))
            row.update(ex.run(ex.both, *pair))
        else:
            if ex.shape is not None:
                pair = _sitk_pair(img[k : k + 1], plane[None], ex.label, sp, cache, (k, k + 1))
                row.update(ex.run(ex.shape, *pair))
            if ex.texture is not None:
                k1 = k0 + slab.shape[0]
                pair = _sitk_pair(img[k0:k1], slab, ex.label, sp, cache, (k0, k1))
                row.update(ex.run(ex.texture, *pair))
    except ValueError as exc:  # pyradiomics' ROI checks (too small, one-dimensional)
        row["reason"] = f"pyradiomics could not use the {roi.kind} ROI: {exc}"
        return {k_: v for k_, v in row.items() if not k_.startswith(PREFIX)}
    # pyradiomics skips a class with only a (silenced) log line, e.g. shape2D when the
    # ROI is not flat along force2Ddimension: say so instead of leaving silent NaNs
    skipped = [c for c, cols in ex.columns.items() if any(col not in row for col in cols)]
    if skipped:
        row["reason"] = f"pyradiomics returned no value for class(es) {', '.join(skipped)}"
    return row
