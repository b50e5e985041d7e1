"""The radiomics parameters: their schema, reading, checking and fingerprint.

Parameters live in YAML (the bundled ``params/sagittal_2d.yaml``) and are checked by
:func:`load_params` / :func:`validate_params` against the schema below, the way
pyradiomics checks its own files against a shipped schema; :func:`params_hash`
fingerprints them for provenance. Every entry point of the radiomics step accepts
parameters as a dictionary, a YAML path or None (the bundled file);
:func:`resolve_params` turns any of them into the checked dictionary.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeAlias

from radiomics_features.radiomic.library import class_features, feature_column

__all__ = [
    "DEFAULT_PARAMS_PATH",
    "FEATURE_CLASSES",
    "RadiomicsParamsError",
    "validate_params",
    "load_params",
    "params_hash",
    "resolve_params",
    "feature_columns",
    "ParamsSource",
]

#: Where parameters come from: a dictionary, a YAML file, or None for the bundled file.
ParamsSource: TypeAlias = Mapping[str, Any] | str | os.PathLike[str] | None

DEFAULT_PARAMS_PATH = Path(__file__).parent.parent / "params" / "sagittal_2d.yaml"
FEATURE_CLASSES: tuple[str, ...] = (
    "firstorder",
    "shape2D",
    "glcm",
    "glrlm",
    "glszm",
    "gldm",
    "ngtdm",
)
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
        known = class_features(cls, include_deprecated=True)
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


def resolve_params(params: ParamsSource) -> dict:
    """Checked parameters from a dictionary (:func:`validate_params`), a YAML path or
    None (the bundled file, :func:`load_params`)."""
    if params is None:
        return load_params()
    if isinstance(params, (str, os.PathLike)):
        return load_params(params)
    return validate_params(params)


def feature_columns(params: ParamsSource = None) -> list[str]:
    """The ``rad_<class>_<feature>`` columns the parameters produce, in output order."""
    p = resolve_params(params)
    cols = [
        feature_column(cls, f)
        for cls, names in p["featureClass"].items()
        for f in (names or class_features(cls))
    ]
    if len(set(cols)) != len(cols):  # pragma: no cover - a pyradiomics naming change
        dup = sorted({c for c in cols if cols.count(c) > 1})
        raise RuntimeError(f"feature names collide after snake-casing: {', '.join(dup)}")
    return cols
