"""Training loop: Dice + cross-entropy, AdamW with warm-up and cosine decay, bf16 on CPU.

The learning-rate schedule runs on *progress* = max(step / planned steps, elapsed /
``max_minutes``): on an idle machine the planned epochs finish first and the run is
deterministic given the seed; on a shared, busy CPU the wall-time budget takes over and
the cosine decay still completes before the deadline instead of being cut off at a high
learning rate. Training uses random ``crop`` windows of the augmented slices (192 x 160
of 320 x 256: ~40 % of the pixels, ~2.5x the steps per minute; every window still
holds a long stretch of the column); validation uses whole slices.

Checkpoints go to ``workdir`` (default ``build/train-seg``, git-ignored): ``last.pt``
after every epoch and ``best.pt`` whenever the validation Dice improves, so a run that
is stopped early (``--max-minutes`` or by hand) still leaves usable weights.
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from radiomics_features.train.augment import augment_batch
from radiomics_features.train.data import PatientSlices
from radiomics_features.train.model import UNet2D

__all__ = ["TrainConfig", "TrainResult", "model_grid_dice", "soft_dice_loss", "train"]


@dataclass(frozen=True)
class TrainConfig:
    epochs: int = 100
    batch_size: int = 8
    lr: float = 2e-3
    weight_decay: float = 1e-4
    warmup_steps: int = 150
    base_channels: int = 16
    depth: int = 4
    dice_weight: float = 1.0
    seed: int = 2024
    threads: int = 2
    max_minutes: float = 40.0
    crop: tuple[int, int] = (192, 160)
    bf16: bool = True


@dataclass(frozen=True)
class TrainResult:
    best_epoch: int
    best_val_dice: float
    epochs_run: int
    wall_seconds: float
    stopped_early: bool
    checkpoint: str


def soft_dice_loss(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """1 - mean soft Dice over the foreground classes (1..K-1), pooled over the batch."""
    prob = logits.float().softmax(dim=1)[:, 1:]
    tgt = target[:, 1:]
    dims = (0, 2, 3)
    inter = (prob * tgt).sum(dims)
    denom = prob.sum(dims) + tgt.sum(dims)
    return 1.0 - ((2 * inter + 1.0) / (denom + 1.0)).mean()


def model_grid_dice(pred: np.ndarray, truth: np.ndarray, n_classes: int = 4) -> list[float]:
    """3D Dice per foreground class for one patient's label volumes."""
    out = []
    for k in range(1, n_classes):
        p, t = pred == k, truth == k
        denom = p.sum() + t.sum()
        out.append(float(2 * np.logical_and(p, t).sum() / denom) if denom else float("nan"))
    return out


def _random_crop(
    x: torch.Tensor, y: torch.Tensor, size: tuple[int, int], g: torch.Generator
) -> tuple[torch.Tensor, torch.Tensor]:
    """An independent uniformly placed ``size`` window per slice."""
    h, w = x.shape[-2:]
    ch, cw = min(size[0], h), min(size[1], w)
    if (ch, cw) == (h, w):
        return x, y
    r0 = torch.randint(0, h - ch + 1, (x.shape[0],), generator=g).tolist()
    c0 = torch.randint(0, w - cw + 1, (x.shape[0],), generator=g).tolist()
    xs = torch.stack(
        [x[i, :, r : r + ch, c : c + cw] for i, (r, c) in enumerate(zip(r0, c0, strict=True))]
    )
    ys = torch.stack(
        [y[i, :, r : r + ch, c : c + cw] for i, (r, c) in enumerate(zip(r0, c0, strict=True))]
    )
    return xs, ys


def _stack(patients: list[PatientSlices]) -> tuple[torch.Tensor, torch.Tensor]:
    h = max(p.image.shape[-2] for p in patients)
    w = max(p.image.shape[-1] for p in patients)
    n = sum(p.image.shape[0] for p in patients)
    k = patients[0].target.shape[1]
    x = torch.zeros(n, 1, h, w)
    y = torch.zeros(n, k, h, w, dtype=torch.float16)
    y[:, 0] = 1.0
    i = 0
    for p in patients:
        m, _, ph, pw = p.image.shape
        x[i : i + m, :, :ph, :pw] = torch.from_numpy(p.image)
        y[i : i + m, :, :ph, :pw] = torch.from_numpy(p.target)
        i += m
    return x, y


@torch.no_grad()
def _validate(
    model: UNet2D, patients: list[PatientSlices], cfg: TrainConfig
) -> dict[int, list[float]]:
    model.eval()
    scores = {}
    for p in patients:
        preds = []
        for s in range(0, p.image.shape[0], 16):
            x = torch.from_numpy(p.image[s : s + 16]).contiguous(memory_format=torch.channels_last)
            with torch.autocast("cpu", dtype=torch.bfloat16, enabled=cfg.bf16):
                preds.append(model(x).float().argmax(dim=1).numpy())
        scores[p.pid] = model_grid_dice(np.concatenate(preds), p.target.argmax(axis=1))
    model.train()
    return scores


def train(
    train_set: list[PatientSlices],
    val_set: list[PatientSlices],
    cfg: TrainConfig,
    workdir: Path,
    log=print,
) -> TrainResult:
    """Train from scratch; returns where the best checkpoint is and how it went."""
    torch.set_num_threads(cfg.threads)
    torch.manual_seed(cfg.seed)
    g = torch.Generator().manual_seed(cfg.seed)
    workdir = Path(workdir)
    workdir.mkdir(parents=True, exist_ok=True)

    x_all, y_all = _stack(train_set)
    n = x_all.shape[0]
    steps_per_epoch = math.ceil(n / cfg.batch_size)
    total_steps = steps_per_epoch * cfg.epochs
    log(
        f"training slices {n} from {len(train_set)} patients; validation patients "
        f"{[p.pid for p in val_set]}; {steps_per_epoch} steps/epoch, {cfg.epochs} epochs"
    )

    model = UNet2D(1, y_all.shape[1], cfg.base_channels, cfg.depth).to(
        memory_format=torch.channels_last
    )
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)

    budget_s = cfg.max_minutes * 60

    def progress(step: int, elapsed: float) -> float:
        return max(step / total_steps, elapsed / budget_s)

    def lr_at(step: int, p: float) -> float:
        if step < cfg.warmup_steps:
            return cfg.lr * (step + 1) / cfg.warmup_steps
        return 1e-5 + 0.5 * (cfg.lr - 1e-5) * (1 + math.cos(math.pi * min(1.0, p)))

    t0 = time.monotonic()
    best, best_epoch, step, stopped = -1.0, -1, 0, False
    history = []
    epoch = 0
    for epoch in range(1, cfg.epochs + 1):
        model.train()
        order = torch.randperm(n, generator=g)
        running, seen = 0.0, 0
        for b in range(steps_per_epoch):
            idx = order[b * cfg.batch_size : (b + 1) * cfg.batch_size]
            xb, yb = augment_batch(x_all[idx], y_all[idx].float(), g)
            xb, yb = _random_crop(xb, yb, cfg.crop, g)
            xb = xb.contiguous(memory_format=torch.channels_last)
            p = progress(step, time.monotonic() - t0)
            lr = lr_at(step, p)
            for group in opt.param_groups:
                group["lr"] = lr
            with torch.autocast("cpu", dtype=torch.bfloat16, enabled=cfg.bf16):
                logits = model(xb)
            logits = logits.float()
            loss = F.cross_entropy(logits, yb) + cfg.dice_weight * soft_dice_loss(logits, yb)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            running += float(loss.detach()) * len(idx)
            seen += len(idx)
            step += 1
            if progress(step, time.monotonic() - t0) >= 1.0:
                break
        val = _validate(model, val_set, cfg)
        per_class = np.nanmean(np.array(list(val.values())), axis=0)
        score = float(per_class.mean())
        elapsed = time.monotonic() - t0
        record = {
            "epoch": epoch,
            "train_loss": running / seen,
            "val_dice_vertebra": float(per_class[0]),
            "val_dice_disc": float(per_class[1]),
            "val_dice_canal": float(per_class[2]),
            "val_dice_mean": score,
            "lr": lr,
            "steps": step,
            "elapsed_s": round(elapsed, 1),
        }
        history.append(record)
        ckpt = {"model": model.state_dict(), "config": asdict(cfg), "epoch": epoch, "val": record}
        torch.save(ckpt, workdir / "last.pt")
        if score > best:
            best, best_epoch = score, epoch
            torch.save(ckpt, workdir / "best.pt")
        log(json.dumps(record) + ("  *best*" if best_epoch == epoch else ""))
        (workdir / "history.json").write_text(json.dumps(history, indent=1))
        if progress(step, elapsed) >= 1.0:
            if epoch < cfg.epochs:
                log(
                    f"wall-time budget reached after epoch {epoch} ({elapsed / 60:.1f} min of "
                    f"--max-minutes {cfg.max_minutes}); schedule completed by time"
                )
                stopped = True
            break
    wall = time.monotonic() - t0
    result = TrainResult(best_epoch, best, epoch, wall, stopped, str(workdir / "best.pt"))
    (workdir / "train_result.json").write_text(json.dumps(asdict(result), indent=1))
    return result
