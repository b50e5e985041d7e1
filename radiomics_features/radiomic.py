"""Radiomic features of each lumbar disc and the canal behind it, on sagittal slices.

pyradiomics (3.0.1) computes the features; this module decides *where*:

* **Slice** — one per patient, the mid-sagittal slice of
  :func:`radiomics_features.geometry.choose_mid_slice` (or ``mid_slice``). A disc absent
  there is taken on the nearest slice that has it (column ``slice``), as geometry does.
  With ``halfwidth_slices = h > 0`` the intensity and texture classes pool the ROI over
  slices ``slice - h … slice + h`` (texture still in-plane: ``force2D``); shape2D is
  always computed on ``slice`` alone.
* **ROIs**, one row each per disc level ``l1_l2 … l5_s1``:

  - ``disc`` — the level's disc voxels (:class:`~radiomics_features.levelling.LevelledSpine`).
  - ``canal`` — the canal segment at the disc: canal voxels lying between the disc's two
    endplate lines extended posteriorly, i.e. within the disc's extent across its own
    long axis (its principal axis on ``slice``), behind the disc's centre and at most
    60 mm from it. For a level disc this is the canal within the disc's
    superior–inferior extent; for a tilted one (L5/S1) the band tilts with it. Needs the
    three-class mask (``mask=``); without it the canal rows say so.

Output (:func:`radiomic_features`): a long table, one row per ROI — ``level``, ``roi``,
``slice``, ``n_voxels`` (voxels of the ROI handed to pyradiomics), ``reason`` (empty
when fine; otherwise why the features are NaN), then one column per feature named
``rad_<class>_<feature>`` in lower snake case: pyradiomics' ``glcm`` ``Contrast`` is
``rad_glcm_contrast``, ``shape2D`` ``PixelSurface`` is ``rad_shape2d_pixel_surface``,
``firstorder`` ``10Percentile`` is ``rad_firstorder_10_percentile``
(:func:`feature_columns` lists them). Shape features are in mm / mm²; intensities are
in normalised units (see the YAML). pyradiomics' ``diagnostics_*`` entries are never
features. A missing or too-small ROI gets NaN features and a reason; nothing raises for
anatomy.

Parameters live in ``params/sagittal_2d.yaml`` and are checked by :func:`load_params`
against the schema below; :func:`params_hash` fingerprints them for provenance.

pyradiomics cannot be a normal dependency (its source build needs numpy inside pip's
isolated build environment); install it with :data:`INSTALL_HINT`.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

import numpy as np
import pandas as pd

from radiomics_features.geometry import choose_mid_slice
from radiomics_features.io import volume_from_array, volume_to_sitk
from radiomics_features.labels import CANAL, DISC, instance_id
from radiomics_features.levelling import LevelledSpine
from radiomics_features.levels import DISC_LEVELS

__all__ = [
    "DEFAULT_PARAMS_PATH",
    "FEATURE_CLASSES",
    "ROI_KINDS",
    "INSTALL_HINT",
    "RadiomicsParamsError",
    "load_params",
    "validate_params",
    "params_hash",
    "feature_columns",
    "radiomic_features",
    "radiomics_provenance",
]

DEFAULT_PARAMS_PATH = Path(__file__).with_name("params") / "sagittal_2d.yaml"
FEATURE_CLASSES: tuple[str, ...] = (
    "firstorder",
    "shape2D",
    "glcm",
    "glrlm",
    "glszm",
    "gldm",
    "ngtdm",
)
ROI_KINDS: tuple[str, ...] = ("disc", "canal")
PREFIX = "rad_"
INSTALL_HINT = (
    "pip install setuptools wheel numpy && pip install --no-build-isolation pyradiomics==3.0.1"
)
_CANAL_REACH_MM = 60.0
_INTERPOLATORS = (
    "sitkNearestNeighbor",
    "sitkLinear",
    "sitkBSpline",
    "sitkGaussian",
    "sitkLabelGaussian",
    "sitkHammingWindowedSinc",
    "sitkCosineWindowedSinc",
    "sitkWelchWindowedSinc",
    "sitkLanczosWindowedSinc",
    "sitkBlackmanWindowedSinc",
)


class RadiomicsParamsError(ValueError):
    """A radiomics parameter file or dictionary does not fit the schema."""


# ----------------------------------------------------------------------------- schema
@dataclass(frozen=True)
class _Rule:
    """One allowed setting: its type, range and why a value is required."""

    kind: str  # bool, int, float, str, spacing, int_list
    low: float | None = None
    high: float | None = None
    low_open: bool = False
    choices: tuple = ()
    nullable: bool = False
    note: str = ""

    def expected(self) -> str:
        if self.choices:
            return "one of " + ", ".join(map(str, self.choices))
        rng = ""
        if self.low is not None:
            rng = f" {'>' if self.low_open else '≥'} {self.low:g}"
        if self.high is not None:
            rng += f"{',' if rng else ''} ≤ {self.high:g}"
        return {
            "bool": "true or false",
            "spacing": "a list of 3 numbers ≥ 0 (x, y, z)",
            "int_list": "a non-empty list of integers ≥ 1",
            "int": f"an integer{rng}",
            "float": f"a number{rng}",
            "str": "a string",
        }[self.kind]


_SETTINGS: Mapping[str, _Rule] = {
    "force2D": _Rule(
        "bool", choices=(True,), note="features are extracted per sagittal slice (2D)"
    ),
    "force2Ddimension": _Rule(
        "int",
        choices=(0,),
        note="the canonical array is handed over with the sagittal "
        "slices on numpy axis 0; 1 or 2 would be an axial or "
        "coronal plane",
    ),
    "binWidth": _Rule("float", low=0, low_open=True),
    "normalize": _Rule("bool"),
    "normalizeScale": _Rule("float", low=0, low_open=True),
    "removeOutliers": _Rule("float", low=0, low_open=True, nullable=True),
    "voxelArrayShift": _Rule("int", low=0),
    "resampledPixelSpacing": _Rule("spacing", nullable=True),
    "interpolator": _Rule("str", choices=_INTERPOLATORS),
    "padDistance": _Rule("int", low=0),
    "label": _Rule("int", low=1, high=255),
    "minimumROIDimensions": _Rule(
        "int", low=1, high=2, note="a sagittal ROI has at most 2 dimensions"
    ),
    "minimumROISize": _Rule("int", low=1),
    "additionalInfo": _Rule("bool"),
    "distances": _Rule("int_list"),
    "symmetricalGLCM": _Rule("bool"),
    "gldm_a": _Rule("int", low=0),
}
_REQUIRED_SETTINGS = ("force2D", "force2Ddimension", "binWidth", "label")
_TOP_LEVEL = ("setting", "imageType", "featureClass")
_HINTS = {
    "binCount": "use binWidth: a fixed bin width keeps intensity steps comparable between patients",
    "shape": "3D shape is not defined on a sagittal slice; use shape2D",
}


def _fail(where: str, value, expected: str, source: str, note: str = "") -> RadiomicsParamsError:
    extra = f" ({note})" if note else ""
    return RadiomicsParamsError(f"{source}: {where} is {value!r}; expected {expected}{extra}")


def _number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _check_setting(key: str, value, rule: _Rule, source: str):
    where = f"setting {key!r}"
    if value is None:
        if rule.nullable:
            return None
        raise _fail(where, value, rule.expected(), source, rule.note)
    if rule.kind == "bool":
        ok = isinstance(value, bool)
    elif rule.kind == "int":
        ok = isinstance(value, int) and not isinstance(value, bool)
    elif rule.kind == "float":
        ok = _number(value) and math.isfinite(value)
        value = float(value) if ok else value
    elif rule.kind == "str":
        ok = isinstance(value, str)
    elif rule.kind == "spacing":
        ok = (
            isinstance(value, list)
            and len(value) == 3
            and all(_number(v) and math.isfinite(v) and v >= 0 for v in value)
        )
        if ok:
            value = [float(v) for v in value]
            if value[2] != 0:
                raise _fail(
                    where,
                    value,
                    "[x, y, 0]",
                    source,
                    "resampling is in-plane only: the third value (the slice axis, "
                    "left-right) must be 0, meaning 'keep the slice spacing'",
                )
    else:  # int_list
        ok = (
            isinstance(value, list)
            and len(value) > 0
            and all(isinstance(v, int) and not isinstance(v, bool) and v >= 1 for v in value)
        )
    if not ok:
        raise _fail(where, value, rule.expected(), source, rule.note)
    if rule.choices and value not in rule.choices:
        raise _fail(where, value, rule.expected(), source, rule.note)
    if rule.kind in ("int", "float"):
        too_low = rule.low is not None and (
            value <= rule.low if rule.low_open else value < rule.low
        )
        too_high = rule.high is not None and value > rule.high
        if too_low or too_high:
            raise _fail(where, value, rule.expected(), source, rule.note)
    return value


def _unknown(kind: str, key, allowed, source: str) -> RadiomicsParamsError:
    hint = f" ({_HINTS[key]})" if key in _HINTS else ""
    return RadiomicsParamsError(
        f"{source}: unknown {kind} {key!r}{hint}; allowed: {', '.join(allowed)}"
    )


def validate_params(params: Mapping, *, source: str = "radiomics parameters") -> dict:
    """Check a parameter dictionary against the schema; return a canonical copy.

    Canonical: numbers of float settings as floats, ``imageType`` defaulted to
    ``{'Original': {}}``, so equal settings hash equally. Raises
    :class:`RadiomicsParamsError` naming the key, the value seen and what is allowed.
    Feature names listed under a class are checked against pyradiomics (imported then).
    """
    if not isinstance(params, Mapping):
        raise RadiomicsParamsError(
            f"{source}: expected a mapping with keys "
            f"{', '.join(_TOP_LEVEL)}; got {type(params).__name__}"
        )
    for key in params:
        if key not in _TOP_LEVEL:
            raise _unknown("top-level key", key, _TOP_LEVEL, source)
    for key in ("setting", "featureClass"):
        if key not in params:
            raise RadiomicsParamsError(f"{source}: required top-level key {key!r} is missing")

    raw = params["setting"]
    if not isinstance(raw, Mapping):
        raise _fail("'setting'", raw, "a mapping of setting: value", source)
    settings = {}
    for key, value in raw.items():
        if key not in _SETTINGS:
            raise _unknown("setting", key, list(_SETTINGS), source)
        settings[key] = _check_setting(key, value, _SETTINGS[key], source)
    for key in _REQUIRED_SETTINGS:
        if key not in settings:
            raise RadiomicsParamsError(
                f"{source}: required setting {key!r} is missing "
                f"(expected {_SETTINGS[key].expected()})"
            )
    if settings.get("resampledPixelSpacing") is not None and "interpolator" not in settings:
        raise RadiomicsParamsError(
            f"{source}: setting 'resampledPixelSpacing' needs an 'interpolator' (e.g. sitkLinear)"
        )

    image_type = params.get("imageType") or {"Original": {}}
    if not isinstance(image_type, Mapping):
        raise _fail("'imageType'", image_type, "a mapping, e.g. {Original: {}}", source)
    for key, value in image_type.items():
        if key != "Original":
            raise _unknown("imageType", key, ["Original"], source)
        if value not in (None, {}):
            raise _fail("imageType 'Original'", value, "{} (no per-image settings)", source)

    classes = params["featureClass"]
    if not isinstance(classes, Mapping) or not classes:
        raise _fail(
            "'featureClass'",
            classes,
            "a non-empty mapping of class: null or [feature, ...]",
            source,
        )
    feature_class: dict[str, list[str] | None] = {}
    for cls, names in classes.items():
        if cls not in FEATURE_CLASSES:
            raise _unknown("featureClass", cls, FEATURE_CLASSES, source)
        if names is None or names == []:
            feature_class[cls] = None
            continue
        if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
            raise _fail(f"featureClass {cls!r}", names, "null or a list of feature names", source)
        known = _class_features(cls, include_deprecated=True)
        bad = [n for n in names if n not in known]
        if bad:
            raise RadiomicsParamsError(
                f"{source}: featureClass {cls!r} has unknown feature(s) "
                f"{', '.join(map(repr, bad))}; allowed: {', '.join(known)}"
            )
        feature_class[cls] = list(names)
    return {"setting": settings, "imageType": {"Original": {}}, "featureClass": feature_class}


def load_params(path: str | os.PathLike | None = None) -> dict:
    """Read a YAML parameter file (default: the bundled ``sagittal_2d.yaml``) and check it.

    YAML is read with ``yaml.safe_load`` (no arbitrary tags). Returns the canonical
    dictionary of :func:`validate_params`.
    """
    import yaml

    p = Path(path) if path is not None else DEFAULT_PARAMS_PATH
    if not p.is_file():
        raise FileNotFoundError(
            f"radiomics parameter file {str(p)!r} not found; expected a "
            f"YAML file like {DEFAULT_PARAMS_PATH.name}"
        )
    try:
        raw = yaml.safe_load(p.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise RadiomicsParamsError(f"{p}: not valid YAML ({exc})") from exc
    return validate_params(raw if raw is not None else {}, source=str(p))


def params_hash(params: Mapping) -> str:
    """sha256 of the parameters as canonical JSON (sorted keys, no whitespace)."""
    blob = json.dumps(params, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


def _resolve(params) -> dict:
    if params is None:
        return load_params()
    if isinstance(params, (str, os.PathLike)):
        return load_params(params)
    return validate_params(params)


# ------------------------------------------------------------------------ pyradiomics
def _radiomics():
    """Import pyradiomics with its logging silenced (it logs per extraction)."""
    try:
        import radiomics
        from radiomics import featureextractor
    except ImportError as exc:
        raise ImportError(
            "radiomic features need pyradiomics 3.0.1, which cannot be installed as a normal "
            "dependency (its source build needs numpy in pip's isolated build environment). "
            f"Install it with: {INSTALL_HINT}"
        ) from exc
    # pyradiomics logs settings and per-ROI messages (INFO/WARNING) on its own stderr
    # handler; ROI failures reach the caller as reasons instead, so only CRITICAL passes.
    logging.getLogger("radiomics").setLevel(logging.CRITICAL)
    return radiomics, featureextractor


def _class_features(cls: str, *, include_deprecated: bool = False) -> list[str]:
    radiomics, _ = _radiomics()
    names = radiomics.getFeatureClasses()[cls].getFeatureNames()
    return [n for n, deprecated in names.items() if include_deprecated or not deprecated]


def _snake(name: str) -> str:
    s = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name)
    s = re.sub(r"(?<=[A-Z])(?=[A-Z][a-z])", "_", s)
    return s.lower()


def _column(cls: str, feature: str) -> str:
    return f"{PREFIX}{cls.lower()}_{_snake(feature)}"


def feature_columns(params: Mapping | None = None) -> list[str]:
    """The ``rad_<class>_<feature>`` columns the parameters produce, in output order."""
    p = _resolve(params)
    cols = [
        _column(cls, f)
        for cls, names in p["featureClass"].items()
        for f in (names or _class_features(cls))
    ]
    if len(set(cols)) != len(cols):  # pragma: no cover - a pyradiomics naming change
        dup = sorted({c for c in cols if cols.count(c) > 1})
        raise RuntimeError(f"feature names collide after snake-casing: {', '.join(dup)}")
    return cols


def _versions() -> dict[str, str]:
    def version(dist: str) -> str:
        try:
            return metadata.version(dist)
        except metadata.PackageNotFoundError:
            return "not installed"

    from radiomics_features import __version__

    return {
        "radiomics_features_version": __version__,
        "pyradiomics_version": version("pyradiomics"),
        "simpleitk_version": version("SimpleITK"),
        "numpy_version": np.__version__,
    }


def radiomics_provenance(params: Mapping | None = None) -> dict:
    """Package versions (radiomics_features, pyradiomics, SimpleITK, numpy) and the
    parameters' sha256; the pipeline adds the image and mask hashes per case."""
    p = _resolve(params)
    return {**_versions(), "params_sha256": params_hash(p)}


class _Extractor:
    """pyradiomics extractors built from checked parameters (no pykwalify round-trip)."""

    def __init__(self, params: dict):
        _, featureextractor = _radiomics()
        settings = dict(params["setting"])
        settings["additionalInfo"] = False  # diagnostics are not features
        classes = params["featureClass"]
        self.columns = {
            c: [_column(c, f) for f in (names or _class_features(c))]
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
            out[_column(cls, feature)] = float(value)
        return out


# ------------------------------------------------------------------------------ ROIs
@dataclass(frozen=True)
class _Roi:
    level: str
    kind: str
    slice: int | None = None
    plane: np.ndarray | None = None  # ROI on `slice` (2D)
    slab: np.ndarray | None = None  # ROI on slices k0 … k1-1 (3D)
    k0: int = 0
    reason: str = ""


def _nearest_slice(region3: np.ndarray, k_mid: int) -> int | None:
    present = np.flatnonzero(region3.any(axis=(1, 2)))
    if present.size == 0:
        return None
    return int(present[np.argmin(np.abs(present - k_mid))])


def _canal_band(disc_plane: np.ndarray, sp2: np.ndarray):
    """Function (pixel coords -> bool): inside the disc's band, behind its centre."""
    pts = np.argwhere(disc_plane) * sp2
    c = pts.mean(axis=0)
    _, _, vt = np.linalg.svd(pts - c, full_matrices=False)
    u = vt[0] if vt[0][1] >= 0 else -vt[0]  # along the disc, posterior-pointing
    v = np.array([u[1], -u[0]])
    across = (pts - c) @ v
    half_px = 0.5 * float(np.abs(v) @ sp2)  # pixel half-footprint along v
    lo, hi = across.min() - half_px, across.max() + half_px

    def inside(idx: np.ndarray) -> np.ndarray:
        q = idx * sp2 - c
        a, b = q @ v, q @ u
        return (a >= lo) & (a <= hi) & (b > 0) & (b <= _CANAL_REACH_MM)

    return inside


def _rois(
    level: str,
    levelled: LevelledSpine,
    mask3: np.ndarray | None,
    k_mid: int,
    half: int,
    sp: np.ndarray,
) -> tuple[_Roi, _Roi]:
    if level not in levelled.levels:
        why = levelled.missing.get(level, "not found in the levelled mask")
        return (
            _Roi(level, "disc", reason=f"disc not found: {why}"),
            _Roi(level, "canal", reason=f"disc not found: {why}"),
        )
    disc3 = levelled.instances == instance_id(level)
    k = _nearest_slice(disc3, k_mid)
    if k is None:  # pragma: no cover - levels imply voxels
        return (
            _Roi(level, "disc", reason="disc has no voxels"),
            _Roi(level, "canal", reason="disc has no voxels"),
        )
    k0, k1 = max(k - half, 0), min(k + half + 1, disc3.shape[0])
    disc = _Roi(level, "disc", k, disc3[k], disc3[k0:k1], k0)
    if mask3 is None:
        return disc, _Roi(
            level,
            "canal",
            k,
            reason="no three-class mask given (mask=): the canal segment cannot be defined",
        )
    if disc3[k].sum() < 3:
        return disc, _Roi(
            level,
            "canal",
            k,
            reason=f"disc has {int(disc3[k].sum())} pixel(s) "
            f"on slice {k}: too few to place the canal band",
        )
    inside = _canal_band(disc3[k], sp[1:])
    slab = np.zeros((k1 - k0, *disc3.shape[1:]), dtype=bool)
    for j in range(k0, k1):
        idx = np.argwhere(mask3[j] == CANAL)
        if len(idx):
            keep = idx[inside(idx)]
            slab[j - k0, keep[:, 0], keep[:, 1]] = True
    if not slab[k - k0].any():
        return disc, _Roi(
            level, "canal", k, reason=f"no canal labelled behind the disc on slice {k}"
        )
    return disc, _Roi(level, "canal", k, slab[k - k0], slab, k0)


# ------------------------------------------------------------------------- extraction
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
    params=None,
    mid_slice: int | None = None,
    halfwidth_slices: int | None = None,
    mask=None,
) -> pd.DataFrame:
    """pyradiomics features of each disc and its canal segment (see the module docstring).

    Parameters
    ----------
    image : Volume or ndarray
        Canonical image; a plain array takes ``levelled.spacing``.
    levelled : LevelledSpine
        Named levels of the mask on the same grid.
    params : dict, path or None
        Parameters (checked with :func:`validate_params`); None reads the bundled YAML.
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
    p = _resolve(params)
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

    from threadpoolctl import threadpool_limits

    ex = _Extractor(p)
    columns = [c for cols in ex.columns.values() for c in cols]
    cache: dict = {}
    rows = []
    # GLCM's MCC takes eigenvalues of small (Ng x Ng) matrices: BLAS threads only add
    # overhead there, and on a loaded 2-core machine OpenBLAS' spinning threads made one
    # 130 x 130 eigvals take 1.2 s instead of 4 ms. One thread for the extraction.
    with threadpool_limits(limits=1, user_api="blas"):
        for level in DISC_LEVELS:
            for roi in _rois(level, levelled, m3, k_mid, int(half), sp):
                rows.append(_extract_roi(roi, img, sp, ex, int(half), cache))
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
    roi: _Roi, img: np.ndarray, sp: np.ndarray, ex: _Extractor, half: int, cache: dict
) -> dict:
    row = {
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
    k, k0 = roi.slice, roi.k0
    try:
        if half == 0:
            pair = _sitk_pair(img[k : k + 1], roi.plane[None], ex.label, sp, cache, (k, k + 1))
            row.update(ex.run(ex.both, *pair))
        else:
            if ex.shape is not None:
                pair = _sitk_pair(img[k : k + 1], roi.plane[None], ex.label, sp, cache, (k, k + 1))
                row.update(ex.run(ex.shape, *pair))
            if ex.texture is not None:
                k1 = k0 + roi.slab.shape[0]
                pair = _sitk_pair(img[k0:k1], roi.slab, ex.label, sp, cache, (k0, k1))
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
