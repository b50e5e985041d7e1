"""Export a checkpoint to ONNX and write the JSON sidecar (training-only)."""

from __future__ import annotations

import json
import platform
import warnings
from pathlib import Path

import numpy as np
import torch

from radiomics_features.backbone.inference import SIDECAR_FORMAT_VERSION, sha256_of_file
from radiomics_features.backbone.preprocess import Preprocessing
from radiomics_features.train.data import CLASS_NAMES, SPLIT_NOTE, TRAINING_IDS, VALIDATION_IDS
from radiomics_features.train.model import UNet2D

__all__ = [
    "MODEL_VERSION",
    "ONNX_OPSET",
    "SPIDER_CREDIT",
    "cpu_name",
    "export_onnx",
    "write_sidecar",
]

MODEL_VERSION = "1.0.0"
# onnxruntime 1.32 runs opsets up to 23; 17 is the newest the TorchScript exporter
# covers without caveats and is all a Conv/BN/ReLU/ConvTranspose graph needs.
ONNX_OPSET = 17
SPIDER_CREDIT = (
    "van der Graaf JW, van Hooff ML, Buckens CFM, et al. Lumbar spine segmentation in MR "
    "images: a dataset and a public benchmark. Sci Data 11, 264 (2024). "
    "(preprint arXiv:2306.12217); data: Zenodo doi:10.5281/zenodo.10159290"
)


def cpu_name() -> str:
    """The CPU's model name (``/proc/cpuinfo``, else ``platform.processor()``), recorded
    with the training and validation timings."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def export_onnx(checkpoint: Path, onnx_path: Path, example: np.ndarray) -> dict:
    """Write ``onnx_path`` from ``checkpoint``; check onnxruntime against torch on ``example``.

    ``example``: a ``(n, 1, H, W)`` float32 batch of real slices on the model grid.
    Batch, height and width are dynamic axes.
    """
    import onnxruntime as ort

    ckpt = torch.load(checkpoint, map_location="cpu", weights_only=True)
    cfg = ckpt["config"]
    model = UNet2D(1, len(CLASS_NAMES), cfg["base_channels"], cfg["depth"])
    model.load_state_dict(ckpt["model"])
    model.eval()
    onnx_path = Path(onnx_path)
    onnx_path.parent.mkdir(parents=True, exist_ok=True)
    x = torch.from_numpy(np.ascontiguousarray(example[:1]))
    with warnings.catch_warnings():
        # The TorchScript exporter is deprecated in favour of torch.export/onnxscript;
        # it still produces a plain, fully static-op graph here and needs no extra package.
        warnings.simplefilter("ignore", DeprecationWarning)
        torch.onnx.export(
            model,
            (x,),
            str(onnx_path),
            dynamo=False,
            opset_version=ONNX_OPSET,
            input_names=["image"],
            output_names=["logits"],
            dynamic_axes={
                "image": {0: "batch", 2: "height", 3: "width"},
                "logits": {0: "batch", 2: "height", 3: "width"},
            },
            do_constant_folding=True,
            external_data=False,
        )
    sess = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    batch = np.ascontiguousarray(example[:4])
    with torch.no_grad():
        ref = model(torch.from_numpy(batch)).numpy()
    got = sess.run(["logits"], {"image": batch})[0]
    max_diff = float(np.abs(ref - got).max())
    agree = float((ref.argmax(1) == got.argmax(1)).mean())
    if max_diff > 1e-2 or agree < 0.9999:
        raise RuntimeError(
            f"ONNX export disagrees with torch: max |logit diff| {max_diff:.3g}, "
            f"argmax agreement {agree:.5f}"
        )
    n_params = sum(p.numel() for p in model.parameters())
    return {
        "epoch": int(ckpt["epoch"]),
        "checkpoint_val": ckpt["val"],
        "config": cfg,
        "n_parameters": int(n_params),
        "onnx_vs_torch_max_abs_logit_diff": max_diff,
    }


def write_sidecar(
    onnx_path: Path,
    prep: Preprocessing,
    export_info: dict,
    training: dict,
    validation: dict | None = None,
) -> Path:
    """Write ``<onnx stem>.json`` next to the weights, with the weights' sha256."""
    import onnxruntime
    import SimpleITK

    onnx_path = Path(onnx_path)
    cfg = export_info["config"]
    meta = {
        "format_version": SIDECAR_FORMAT_VERSION,
        "name": "spine_seg",
        "version": MODEL_VERSION,
        "onnx_file": onnx_path.name,
        "onnx_sha256": sha256_of_file(onnx_path),
        "onnx_bytes": onnx_path.stat().st_size,
        "onnx_opset": ONNX_OPSET,
        "input_name": "image",
        "output_name": "logits",
        "input": {
            "layout": "NCHW (batch, channel, rows superior->inferior, cols anterior->posterior)",
            "dtype": "float32",
            "channels": 1,
            "dynamic_axes": ["batch", "height", "width"],
            "size_rule": "in-plane resampled to target_spacing_mm, then padded at bottom/right "
            "to a multiple of size_multiple",
            "size_for_spider_640x512_at_0.46875mm": [320, 256],
        },
        "output": "logits (N, 4, H, W) float32; crop padding, resample linearly to the input "
        "grid, argmax",
        "preprocessing": prep.to_dict(),
        "preprocessing_steps": [
            "per slice: linear (anti-aliased) resampling to target_spacing_mm",
            "divide by the slice's percentile-th intensity percentile, clip to [0, clip_max]",
            "pad bottom/right with pad_value to a multiple of size_multiple",
        ],
        "class_names": list(CLASS_NAMES),
        "architecture": {
            "family": "2D U-Net",
            "base_channels": cfg["base_channels"],
            "depth": cfg["depth"],
            "blocks": "2x (conv3x3-BN-ReLU) per level, maxpool down, transposed-conv up",
            "n_parameters": export_info["n_parameters"],
        },
        "training_data": {
            "dataset": "SPIDER lumbar spine MRI, sagittal T2 SPACE subset (31 patients)",
            "citation": SPIDER_CREDIT,
            "licence": "CC BY 4.0",
            "intensities": "8-bit windowed PNG exports restacked into NIfTI (not raw scanner values)",
        },
        "split": {
            "training_ids": list(TRAINING_IDS),
            "validation_ids": list(VALIDATION_IDS),
            "method": SPLIT_NOTE,
        },
        "training": training
        | {
            "exported_epoch": export_info["epoch"],
            "seed": cfg["seed"],
            "torch": torch.__version__,
            "cpu": cpu_name(),
        },
        "export_check": {
            "onnxruntime": onnxruntime.__version__,
            "SimpleITK": SimpleITK.Version.VersionString(),
            "max_abs_logit_diff_vs_torch": export_info["onnx_vs_torch_max_abs_logit_diff"],
        },
    }
    if validation is not None:
        meta["validation"] = validation
    path = onnx_path.with_suffix(".json")
    path.write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
    return path
