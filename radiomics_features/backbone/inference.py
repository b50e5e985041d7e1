"""Run the bundled spine segmentation network on a sagittal T2 volume (onnxruntime only).

``load_backbone()`` reads the JSON sidecar next to the ONNX file, checks the weights'
sha256 against it and refuses to load anything else; ``segment_volume()`` labels a
volume slice by slice (batched) and returns labels on the input's own grid:
0 background, 1 vertebra, 2 disc, 3 spinal canal.

Resizing back to the input grid interpolates the *logits* linearly and takes the argmax
there, instead of taking the argmax on the ~1 mm model grid and upsampling labels by
nearest neighbour: the latter draws every boundary as a 2-pixel staircase, which costs
thin structures (discs, the canal) Dice and geometric accuracy; the former places each
boundary at the sub-pixel zero crossing of the interpolated logit difference. The
model card reports both on the validation patients.

No torch and no network access here: the weights ship with the package.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from radiomics_features.backbone.preprocess import (
    Preprocessing,
    from_model_grid,
    slice_grid,
    to_model_grid,
)

__all__ = [
    "DEFAULT_ONNX_PATH",
    "SIDECAR_FORMAT_VERSION",
    "Backbone",
    "BackboneIntegrityError",
    "load_backbone",
    "segment_volume",
    "sha256_of_file",
    "sidecar_path_for",
]

SIDECAR_FORMAT_VERSION = 1
DEFAULT_ONNX_PATH = Path(__file__).with_name("spine_seg.onnx")


class BackboneIntegrityError(ValueError):
    """The weights file does not match its sidecar (hash, format or contents)."""


@dataclass(frozen=True)
class Backbone:
    """A verified, loaded segmentation network and the parameters to feed it."""

    session: Any = field(repr=False)  # onnxruntime.InferenceSession
    preprocessing: Preprocessing
    class_names: tuple[str, ...]
    onnx_path: Path
    sha256: str
    metadata: dict = field(repr=False)
    input_name: str = "image"
    output_name: str = "logits"


def sha256_of_file(path: str | Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def sidecar_path_for(onnx_path: str | Path) -> Path:
    """``spine_seg.onnx`` -> ``spine_seg.json`` in the same folder."""
    return Path(onnx_path).with_suffix(".json")


def _read_sidecar(path: Path) -> dict:
    if not path.is_file():
        raise FileNotFoundError(
            f"sidecar {path} not found; the ONNX weights are only loaded together with "
            "their JSON sidecar (preprocessing parameters and sha256)"
        )
    meta = json.loads(path.read_text(encoding="utf-8"))
    version = meta.get("format_version")
    if version != SIDECAR_FORMAT_VERSION:
        raise BackboneIntegrityError(
            f"sidecar {path.name} has format_version {version!r}, this code reads "
            f"{SIDECAR_FORMAT_VERSION}; upgrade radiomics_features or use matching weights"
        )
    for key in ("onnx_sha256", "preprocessing", "class_names", "input_name", "output_name"):
        if key not in meta:
            raise BackboneIntegrityError(f"sidecar {path.name} lacks required key {key!r}")
    return meta


def load_backbone(onnx_path: str | Path | None = None, *, threads: int = 2) -> Backbone:
    """Verify and load the ONNX network (default: the weights bundled with the package).

    The file's bytes are hashed and compared with ``onnx_sha256`` in the sidecar before
    onnxruntime sees them; the session is built from those same bytes, so what was
    checked is what runs. Raises ``BackboneIntegrityError`` on any mismatch.
    """
    try:
        import onnxruntime as ort
    except ImportError as err:  # pragma: no cover - depends on the environment
        raise ImportError(
            "the segmentation backbone needs onnxruntime; install the imaging extra: "
            "pip install 'spine-prom[imaging]'"
        ) from err

    path = Path(onnx_path) if onnx_path is not None else DEFAULT_ONNX_PATH
    if not path.is_file():
        raise FileNotFoundError(f"ONNX weights {path} not found")
    meta = _read_sidecar(sidecar_path_for(path))
    blob = path.read_bytes()
    digest = hashlib.sha256(blob).hexdigest()
    if digest != meta["onnx_sha256"]:
        raise BackboneIntegrityError(
            f"refusing to load {path}: its sha256 is {digest}, but the sidecar "
            f"{sidecar_path_for(path).name} expects {meta['onnx_sha256']}. The weights "
            "were modified or do not belong to this sidecar; restore the released file."
        )
    if not isinstance(threads, int) or threads < 1:
        raise ValueError(f"threads must be a positive int, got {threads!r}")
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads
    opts.inter_op_num_threads = 1
    opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    opts.log_severity_level = 3
    session = ort.InferenceSession(blob, sess_options=opts, providers=["CPUExecutionProvider"])
    return Backbone(
        session=session,
        preprocessing=Preprocessing.from_dict(meta["preprocessing"]),
        class_names=tuple(meta["class_names"]),
        onnx_path=path,
        sha256=digest,
        metadata=meta,
        input_name=meta["input_name"],
        output_name=meta["output_name"],
    )


@lru_cache(maxsize=1)
def _bundled_backbone() -> Backbone:
    return load_backbone()


def _check_inputs(volume_array: Any, spacing: Any) -> tuple[np.ndarray, tuple[float, float, float]]:
    if not hasattr(volume_array, "shape") or not hasattr(volume_array, "dtype"):
        raise TypeError(
            f"volume_array must be a numpy array (slices, rows, cols), got {type(volume_array).__name__}"
        )
    vol = np.asarray(volume_array)
    if vol.dtype.kind not in "uif":
        raise TypeError(
            f"volume_array must hold integer or float intensities, got dtype {vol.dtype}"
        )
    if vol.ndim != 3:
        raise ValueError(
            f"volume_array must be 3D (slices, rows, cols) as from SimpleITK GetArrayFromImage, "
            f"got shape {vol.shape}; for a single slice pass volume[None]"
        )
    if min(vol.shape) < 1:
        raise ValueError(f"volume_array has an empty axis: shape {vol.shape}")
    if vol.dtype.kind == "f" and not np.isfinite(vol).all():
        bad = int((~np.isfinite(vol)).sum())
        raise ValueError(
            f"volume_array has {bad} non-finite value(s) (NaN/inf); fill or mask them first"
        )
    try:
        sp = tuple(float(s) for s in spacing)
    except TypeError as err:
        raise TypeError(f"spacing must be a sequence of 3 numbers, got {spacing!r}") from err
    if len(sp) != 3 or not all(np.isfinite(s) and s > 0 for s in sp):
        raise ValueError(
            f"spacing must be 3 positive finite numbers in mm, one per array axis "
            f"(slices, rows, cols), e.g. (1.0, 0.46875, 0.46875); got {spacing!r}. "
            "SimpleITK's GetSpacing() is (x, y, z): pass it reversed, spacing[::-1]"
        )
    low, high = vol.min(), vol.max()
    if low == high:
        raise ValueError(
            f"volume_array holds one value ({low.item():g}) in every voxel: a blank series, "
            "nothing to segment; check that the file is the sagittal T2 series"
        )
    return vol, sp


def segment_volume(
    volume_array: np.ndarray,
    spacing: tuple[float, float, float],
    *,
    backbone: Backbone | None = None,
    batch_size: int = 8,
) -> np.ndarray:
    """Label a sagittal lumbar T2 volume: 0 background, 1 vertebra, 2 disc, 3 canal.

    ``volume_array``: ``(slices, rows, cols)`` in the package's canonical sagittal
    order (``radiomics_features.io``: slices left-right, rows superior->inferior,
    columns anterior->posterior), any integer or float dtype. SPIDER's NIfTI files read
    with SimpleITK's ``GetArrayFromImage`` are already in this order.
    ``spacing``: mm per *array axis*, ``(slice, row, col)``, as in ``io.Volume.spacing``,
    so ``segment_volume(vol.array, vol.spacing)`` is right. Careful: SimpleITK's
    ``GetSpacing()`` is ``(x, y, z)`` = (col, row, slice), i.e. reversed. Only the
    in-plane values are used (each slice is segmented on its own).

    Returns a ``uint8`` array of the input's shape. The input is not modified.
    """
    vol, sp = _check_inputs(volume_array, spacing)
    if not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive int, got {batch_size!r}")
    bb = backbone if backbone is not None else _bundled_backbone()
    grid = slice_grid(vol.shape[1:], (sp[1], sp[2]), bb.preprocessing)
    out = np.empty(vol.shape, dtype=np.uint8)
    for start in range(0, vol.shape[0], batch_size):
        x = to_model_grid(vol[start : start + batch_size], grid, bb.preprocessing)
        logits = bb.session.run([bb.output_name], {bb.input_name: x})[0]
        out[start : start + batch_size] = from_model_grid(logits, grid).argmax(axis=1)
    return out
