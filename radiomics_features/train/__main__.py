"""``python -m radiomics_features.train``: train, export and validate the spine backbone.

Needs the training environment (torch, onnx, onnxruntime, SimpleITK); see
``MODEL_CARD.md`` in ``radiomics_features/backbone``. Steps:

1. read the 31 SPIDER patients from ``--data`` and put their slices on the model grid;
2. train on the 24 training patients, checkpointing to ``--workdir`` (skip with
   ``--skip-train`` to re-export an existing ``best.pt``);
3. export ``best.pt`` to ``<out>/spine_seg.onnx`` and write ``spine_seg.json``;
4. load the ONNX through ``load_backbone`` (hash-checked) and score the 7 validation
   patients; write the numbers into the sidecar and ``<out>/MODEL_CARD.md``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import asdict, fields
from pathlib import Path

# Published 3D nnU-Net on SPIDER reaches ~0.92 / 0.86 / 0.92; these are this project's bars.
TARGETS = {"vertebra": 0.90, "disc": 0.85, "canal": 0.85}


def _parser() -> argparse.ArgumentParser:
    from radiomics_features.train.data import default_data_dir
    from radiomics_features.train.loop import TrainConfig

    d = TrainConfig()
    p = argparse.ArgumentParser(
        prog="python -m radiomics_features.train", description=__doc__.split("\n")[0]
    )
    p.add_argument("--data", type=Path, default=default_data_dir(), help="spider-t2-lumbar folder")
    p.add_argument(
        "--out",
        type=Path,
        default=Path(__file__).resolve().parents[1] / "backbone",
        help="where spine_seg.onnx, spine_seg.json and MODEL_CARD.md go",
    )
    p.add_argument(
        "--workdir",
        type=Path,
        default=Path("build/train-seg"),
        help="checkpoints, history and logs (git-ignored build/ by default)",
    )
    p.add_argument("--epochs", type=int, default=d.epochs)
    p.add_argument("--batch-size", type=int, default=d.batch_size)
    p.add_argument("--lr", type=float, default=d.lr)
    p.add_argument("--base-channels", type=int, default=d.base_channels)
    p.add_argument("--seed", type=int, default=d.seed)
    p.add_argument("--threads", type=int, default=d.threads)
    p.add_argument(
        "--max-minutes",
        type=float,
        default=d.max_minutes,
        help="stop after the epoch that crosses this wall time (best.pt is kept)",
    )
    p.add_argument("--no-bf16", action="store_true", help="train in float32 (slower on CPU)")
    p.add_argument("--skip-train", action="store_true", help="export and evaluate workdir/best.pt")
    return p


def _score_last_epoch(
    workdir: Path, exported_epoch: int, example, prep, data: Path, log
) -> dict | None:
    """Validation Dice of ``last.pt`` when it is not the exported checkpoint.

    Shows how much choosing the epoch on the validation patients flatters their score.
    """
    import tempfile

    import torch

    from radiomics_features.backbone.inference import load_backbone
    from radiomics_features.train.data import VALIDATION_IDS
    from radiomics_features.train.evaluate import evaluate_patients
    from radiomics_features.train.export import export_onnx, write_sidecar

    last = workdir / "last.pt"
    if not last.is_file():
        return None
    epoch = int(torch.load(last, map_location="cpu", weights_only=True)["epoch"])
    if epoch == exported_epoch:
        return None
    with tempfile.TemporaryDirectory() as tmp:
        onnx_path = Path(tmp) / "last.onnx"
        info = export_onnx(last, onnx_path, example)
        write_sidecar(onnx_path, prep, info, {})
        metrics = evaluate_patients(data, VALIDATION_IDS, load_backbone(onnx_path), log=log)
    return {"epoch": epoch, "summary": metrics["summary"]}


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    import torch

    from radiomics_features.backbone.inference import load_backbone
    from radiomics_features.backbone.preprocess import Preprocessing
    from radiomics_features.train.data import TRAINING_IDS, VALIDATION_IDS, load_patients
    from radiomics_features.train.evaluate import evaluate_patients, update_model_card
    from radiomics_features.train.export import cpu_name, export_onnx, write_sidecar
    from radiomics_features.train.loop import TrainConfig, train

    torch.set_num_threads(args.threads)
    workdir = args.workdir
    workdir.mkdir(parents=True, exist_ok=True)

    def log(msg: str) -> None:
        line = f"[{time.strftime('%H:%M:%S')}] {msg}"
        print(line, flush=True)
        with open(workdir / "train.log", "a", encoding="utf-8") as f:
            f.write(line + "\n")

    if not args.data.is_dir():
        log(f"data folder {args.data} not found; pass --data")
        return 2
    cfg = TrainConfig(
        epochs=args.epochs,
        batch_size=args.batch_size,
        lr=args.lr,
        base_channels=args.base_channels,
        seed=args.seed,
        threads=args.threads,
        max_minutes=args.max_minutes,
        bf16=not args.no_bf16,
    )
    prep = Preprocessing()
    t0 = time.monotonic()
    val_set = load_patients(args.data, VALIDATION_IDS, prep)
    log(f"validation patients loaded in {time.monotonic() - t0:.0f} s")

    result_path = workdir / "train_result.json"
    if args.skip_train:
        if not result_path.is_file():
            log(f"--skip-train needs {result_path} from an earlier run")
            return 2
        result = json.loads(result_path.read_text(encoding="utf-8"))
    else:
        train_set = load_patients(args.data, TRAINING_IDS, prep)
        log(
            f"all patients loaded in {time.monotonic() - t0:.0f} s; config {json.dumps(asdict(cfg))}"
        )
        result = asdict(train(train_set, val_set, cfg, workdir, log=log))
        del train_set
    log(f"training result {json.dumps(result)}")

    onnx_path = args.out / "spine_seg.onnx"
    info = export_onnx(Path(result["checkpoint"]), onnx_path, val_set[0].image)
    log(
        f"exported {onnx_path} ({onnx_path.stat().st_size / 1e6:.2f} MB), "
        f"max |logit diff| vs torch {info['onnx_vs_torch_max_abs_logit_diff']:.2e}"
    )
    ckpt_cfg = info["config"]
    training = {
        "epochs_planned": ckpt_cfg["epochs"],
        "epochs_run": result["epochs_run"],
        "wall_minutes": round(result["wall_seconds"] / 60, 1),
        "stopped_early": result["stopped_early"],
        "threads": ckpt_cfg["threads"],
        "recipe": {k: ckpt_cfg[k] for k in (f.name for f in fields(TrainConfig))},
        "loss": "cross-entropy (soft one-hot targets) + soft Dice over vertebra/disc/canal",
        "optimiser": "AdamW, linear warm-up then cosine decay to 1e-5, batch of slices",
        "precision": "bf16 autocast (AMX) for training; ONNX is float32",
    }
    sidecar = write_sidecar(onnx_path, prep, info, training)
    bb = load_backbone(onnx_path)
    metrics = evaluate_patients(args.data, VALIDATION_IDS, bb, log=log)
    last_epoch = _score_last_epoch(workdir, info["epoch"], val_set[0].image, prep, args.data, log)
    write_sidecar(
        onnx_path,
        prep,
        info,
        training,
        validation={
            "patients": list(VALIDATION_IDS),
            "dice_3d": metrics["summary"],
            "dice_3d_nearest_upsampling": metrics["summary_nearest_upsampling"],
            "per_patient": metrics["per_patient"],
            "seconds_per_volume": metrics["seconds_per_volume"],
            "selection": "exported epoch chosen by mean validation Dice on the model grid",
            "dice_3d_final_epoch_without_selection": last_epoch,
        },
    )
    card = args.out / "MODEL_CARD.md"
    card_training = training | {
        "exported_epoch": info["epoch"],
        "torch": torch.__version__,
        "cpu": cpu_name(),
    }
    if card.is_file():
        update_model_card(card, metrics, card_training, TARGETS, last_epoch)
        log(f"updated {card}")
    else:
        log(f"{card} not found; results are in {sidecar}")
    for name, m in metrics["summary"].items():
        log(f"validation Dice {name}: {m['mean']:.3f} ± {m['sd']:.3f} (target {TARGETS[name]})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
