"""Validation of the exported ONNX network on the held-out patients, and the model card.

Scores come from the same call users make (``segment_volume`` on the original volume
and spacing) against the expert masks on the original grid: per patient, 3D Dice per
structure over the whole volume; then mean and SD (ddof=1) across patients. For the
choice of upsampling, the nearest-neighbour alternative (argmax on the model grid,
labels upsampled) is scored alongside.
"""

from __future__ import annotations

import re
import time
from pathlib import Path

import numpy as np

from radiomics_features.backbone.inference import Backbone, segment_volume
from radiomics_features.backbone.preprocess import slice_grid, to_model_grid
from radiomics_features.train.data import CLASS_NAMES, read_case

__all__ = ["dice_by_structure", "evaluate_patients", "summarise", "update_model_card"]

STRUCTURES = CLASS_NAMES[1:]
CARD_BEGIN = (
    "<!-- generated:results:begin (python -m radiomics_features.train rewrites this block) -->"
)
CARD_END = "<!-- generated:results:end -->"


def dice_by_structure(pred: np.ndarray, truth: np.ndarray) -> dict[str, float]:
    """3D Dice of each foreground structure; NaN when absent from both."""
    out = {}
    for k, name in enumerate(STRUCTURES, start=1):
        p, t = pred == k, truth == k
        denom = int(p.sum()) + int(t.sum())
        out[name] = 2.0 * int(np.logical_and(p, t).sum()) / denom if denom else float("nan")
    return out


def _nearest_labels(image: np.ndarray, spacing, bb: Backbone) -> np.ndarray:
    """Alternative decoder: argmax on the model grid, then nearest-neighbour upsampling."""
    grid = slice_grid(image.shape[1:], (spacing[1], spacing[2]), bb.preprocessing)
    t = bb.preprocessing.target_spacing_mm
    rows, cols = grid.in_shape
    h, w = grid.model_shape
    ri = np.clip(np.floor((np.arange(rows) + 0.5) * spacing[1] / t).astype(int), 0, h - 1)
    ci = np.clip(np.floor((np.arange(cols) + 0.5) * spacing[2] / t).astype(int), 0, w - 1)
    out = np.empty(image.shape, dtype=np.uint8)
    for s in range(0, image.shape[0], 8):
        x = to_model_grid(image[s : s + 8], grid, bb.preprocessing)
        lab = bb.session.run([bb.output_name], {bb.input_name: x})[0].argmax(axis=1)
        out[s : s + 8] = lab[:, ri][:, :, ci]
    return out


def evaluate_patients(data_dir: Path, ids, bb: Backbone, log=print) -> dict:
    per_patient, per_patient_nearest, seconds = {}, {}, {}
    for pid in ids:
        image, mask, spacing = read_case(data_dir, pid)
        t0 = time.perf_counter()
        pred = segment_volume(image, spacing, backbone=bb)
        seconds[pid] = time.perf_counter() - t0
        per_patient[pid] = dice_by_structure(pred, mask)
        per_patient_nearest[pid] = dice_by_structure(_nearest_labels(image, spacing, bb), mask)
        log(
            f"patient {pid}: {image.shape[0]} slices, {seconds[pid]:.1f} s, "
            + ", ".join(f"{k} {v:.3f}" for k, v in per_patient[pid].items())
        )
    return {
        "per_patient": {str(k): v for k, v in per_patient.items()},
        "summary": summarise(per_patient),
        "summary_nearest_upsampling": summarise(per_patient_nearest),
        "seconds_per_volume": {str(k): round(v, 2) for k, v in seconds.items()},
    }


def summarise(per_patient: dict) -> dict[str, dict[str, float]]:
    """Mean and SD (ddof=1) across patients for each structure."""
    out = {}
    for name in STRUCTURES:
        v = np.array([d[name] for d in per_patient.values()], dtype=float)
        out[name] = {
            "mean": float(np.nanmean(v)),
            "sd": float(np.nanstd(v, ddof=1)) if np.isfinite(v).sum() > 1 else float("nan"),
            "min": float(np.nanmin(v)),
            "n": int(np.isfinite(v).sum()),
        }
    return out


def _results_markdown(
    metrics: dict, training: dict, targets: dict[str, float], last_epoch: dict | None
) -> str:
    s, sn = metrics["summary"], metrics["summary_nearest_upsampling"]
    governed = (
        f"the {training['recipe']['max_minutes']:.0f}-min wall-time budget governed the "
        "schedule (shared CPU)"
        if training["stopped_early"]
        else "the planned epochs completed within the wall-time budget"
    )
    lines = [
        CARD_BEGIN,
        "",
        (
            f"Training run: {training['epochs_run']} epochs of {training['epochs_planned']} "
            f"planned; {governed}. Training wall time {training['wall_minutes']:.1f} min "
            f"on {training['threads']} threads of {training['cpu']} under `nice -n 10`, "
            f"torch {training['torch']}, bf16 autocast. Exported weights: epoch "
            f"{training['exported_epoch']}, the best mean validation Dice on the model grid."
        ),
        "",
        (
            "Per-structure 3D Dice on the 7 validation patients (never used for gradient "
            "updates; they did pick the exported epoch, see Limits), computed on the "
            "original 0.47 mm grid from `segment_volume` output:"
        ),
        "",
        "| structure | mean ± SD | min | target | nearest-upsampled labels (mean ± SD) |",
        "|---|---|---|---|---|",
    ]
    for name in STRUCTURES:
        m = s[name]
        hit = "met" if m["mean"] >= targets[name] else "**short**"
        lines.append(
            f"| {name} | {m['mean']:.3f} ± {m['sd']:.3f} | {m['min']:.3f} | "
            f"≥ {targets[name]:.2f} ({hit}) | {sn[name]['mean']:.3f} ± {sn[name]['sd']:.3f} |"
        )
    if last_epoch is not None:
        lines += [
            "",
            f"Without checkpoint selection (final epoch {last_epoch['epoch']}), the same "
            "patients score "
            + ", ".join(
                f"{name} {last_epoch['summary'][name]['mean']:.3f} ± "
                f"{last_epoch['summary'][name]['sd']:.3f}"
                for name in STRUCTURES
            )
            + ": the optimism from choosing the epoch on these patients is of that size.",
        ]
    lines += [
        "",
        (
            "Per patient (vertebra / disc / canal; seconds for `segment_volume`, "
            "measured during the training run on the shared CPU):"
        ),
        "",
    ]
    for pid, d in metrics["per_patient"].items():
        lines.append(
            f"- {pid}: {d['vertebra']:.3f} / {d['disc']:.3f} / {d['canal']:.3f}; "
            f"{metrics['seconds_per_volume'][pid]:.1f} s"
        )
    lines += ["", CARD_END]
    return "\n".join(lines)


def update_model_card(
    card: Path,
    metrics: dict,
    training: dict,
    targets: dict[str, float],
    last_epoch: dict | None = None,
) -> None:
    """Rewrite the generated results block of ``MODEL_CARD.md`` (prose is left alone)."""
    text = card.read_text(encoding="utf-8")
    pattern = re.compile(re.escape(CARD_BEGIN) + r".*?" + re.escape(CARD_END), re.DOTALL)
    if not pattern.search(text):
        raise ValueError(f"{card} has no generated results block ({CARD_BEGIN!r} ... {CARD_END!r})")
    block = _results_markdown(metrics, training, targets, last_epoch)
    card.write_text(pattern.sub(lambda _: block, text), encoding="utf-8")
