"""Benchmark: one sagittal SPIDER volume end to end, against the target of ≤ 10 s.

``extract_case`` with no mask (the shipped path): read, segment with the bundled ONNX
backbone (onnxruntime, ``--threads`` threads), clean + label levels, geometry,
radiomics. The patients default to the SPIDER volumes with the fewest, the median and
the most sagittal slices (segmentation time scales with slices). Each patient runs once
as a warm-up, then ``--repeats`` timed times; figures are medians, per stage (the
pipeline's own ``timings``) and for the whole call.

``--dice`` also recomputes the backbone's validation Dice per structure on its 7
held-out patients with the training package's evaluation code
(``radiomics_features.train.evaluate``; onnxruntime only, no torch).

``--record`` writes both into benchmarks/RESULTS.md, replacing this script's earlier
sections (marked by HTML comments) or appending them.

    python benchmarks/imaging_volume.py [--data DIR] [--patients 5 18 22] [--repeats 5]
        [--threads 2] [--dice] [--record]
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import statistics
import sys
import time
from pathlib import Path

from run import machine, peak_rss_gb, write_section

REPO = Path(__file__).resolve().parents[1]
DEFAULT_DATA = REPO.parent / "shared" / "data" / "spider-t2-lumbar"
RESULTS = Path(__file__).with_name("RESULTS.md")
TARGET_S = 10.0
STAGES = ("read", "segment", "label", "geometry", "radiomics")
MODEL_CARD = "radiomics_features/backbone/MODEL_CARD.md"


def _slices(path: Path) -> int:
    import SimpleITK as sitk

    reader = sitk.ImageFileReader()
    reader.SetFileName(str(path))
    reader.ReadImageInformation()
    return int(reader.GetSize()[2])  # ITK z = the sagittal slice axis of SPIDER


def default_patients(data: Path) -> list[int]:
    """The patients with the fewest, the median and the most slices (ties: lowest id)."""
    from radiomics_features.pfirrmann import spider_ids

    by_size = sorted((_slices(data / f"spider_{p:03d}_t2.nii.gz"), p) for p in spider_ids(data))
    picks = [by_size[0], by_size[len(by_size) // 2], by_size[-1]]
    return list(dict.fromkeys(p for _, p in picks))


def time_patient(data: Path, pid: int, repeats: int, backbone) -> dict:
    """Warm-up once, then ``repeats`` timed runs; per-stage and total medians (s)."""
    from radiomics_features.pipeline import extract_case

    image = data / f"spider_{pid:03d}_t2.nii.gz"
    extract_case(image, None, patient_id=str(pid), backbone=backbone)  # warm-up
    runs = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        res = extract_case(image, None, patient_id=str(pid), backbone=backbone)
        runs.append({**res.timings, "total": time.perf_counter() - t0})
    out = {k: statistics.median(r[k] for r in runs) for k in (*STAGES, "total")}
    out |= {
        "patient": pid,
        "slices": _slices(image),
        "max_total": max(r["total"] for r in runs),
        "levels_found": int(
            res.long.loc[res.long["kind"] == "disc", "disc_height_mm"].notna().sum()
        ),
    }
    return out


def validation_dice(data: Path, threads: int) -> dict:
    """Per-structure Dice of the bundled backbone on its validation patients."""
    from radiomics_features.backbone import load_backbone
    from radiomics_features.train.data import VALIDATION_IDS
    from radiomics_features.train.evaluate import evaluate_patients

    return evaluate_patients(
        data,
        VALIDATION_IDS,
        load_backbone(threads=threads),
        log=lambda msg: print("  " + msg, flush=True),
    )


def _load_note(before: float) -> str:
    """The 1-min load average just before the timed runs (a whole core or more busy means
    other jobs shared the CPU, so the seconds are upper bounds)."""
    note = f"1-min load average just before the timed runs: {before:.1f} on {os.cpu_count()} cores"
    return note + (
        " (other jobs were running: the seconds are upper bounds)"
        if before >= 1.0
        else " (machine otherwise idle)"
    )


def _timing_block(rows: list[dict], command: str, repeats: int, threads: int, load: str) -> str:
    total = statistics.median(r["total"] for r in rows)
    worst = max(r["max_total"] for r in rows)
    verdict = "met" if worst <= TARGET_S else "**missed**"
    lines = [
        f"## Imaging: one sagittal volume end to end — {dt.date.today()}",
        "",
        f"Command: `{command}`  ",
        f"Machine: {machine()}",
        "",
        (
            f"`extract_case(image)` without a mask: read, segment (bundled ONNX backbone, "
            f"onnxruntime {threads} threads), clean + label levels, geometry, radiomics "
            f"(pyradiomics, bundled `sagittal_2d.yaml`). One warm-up run per patient, then "
            f"{repeats} timed runs; medians in seconds (stages from the pipeline's own timings; "
            f"total = the whole call, including hashing and table assembly)."
        ),
        "",
        "| patient | slices | " + " | ".join(STAGES) + " | total | slowest run | discs measured |",
        "|---:|---:|" + "---:|" * (len(STAGES) + 3),
    ]
    lines.extend(
        f"| {r['patient']} | {r['slices']} | "
        + " | ".join(f"{r[s]:.2f}" for s in STAGES)
        + f" | **{r['total']:.2f}** | {r['max_total']:.2f} | {r['levels_found']}/5 |"
        for r in rows
    )
    lines += [
        "",
        (
            f"Median total over the patients' medians: **{total:.2f} s**; slowest single "
            f"run {worst:.2f} s. Target ≤ {TARGET_S:g} s per volume: {verdict}. "
            f"Peak RSS {peak_rss_gb():.2f} GB. {load[0].upper() + load[1:]}."
        ),
    ]
    return "\n".join(lines)


def _dice_block(metrics: dict, card: dict, command: str) -> str:
    """Markdown of the recomputed Dice; ``card`` is the sidecar's ``validation.dice_3d``
    (the numbers the model card was generated from), shown alongside."""
    s, sn = metrics["summary"], metrics["summary_nearest_upsampling"]
    lines = [
        f"## Segmentation backbone: validation Dice — {dt.date.today()}",
        "",
        (
            f"Command: `{command}` (recomputed with `radiomics_features.train.evaluate."
            f"evaluate_patients`, onnxruntime only)  "
        ),
        f"Machine: {machine()}",
        "",
        (
            f"3D Dice per structure of `segment_volume` output against the expert masks, on the "
            f"original grid, over the backbone's {len(metrics['per_patient'])} validation "
            f"patients ({', '.join(metrics['per_patient'])}; never used for gradient updates, "
            f"but they chose the exported epoch). Source of the split and the training run: "
            f"[the model card]({'../' + MODEL_CARD})."
        ),
        "",
        (
            "| structure | mean ± SD | min | nearest-upsampled labels (mean ± SD) "
            "| model card (mean ± SD) |"
        ),
        "|---|---|---|---|---|",
    ]
    for name, m in s.items():
        c = card.get(name)
        lines.append(
            f"| {name} | {m['mean']:.3f} ± {m['sd']:.3f} | {m['min']:.3f} | "
            f"{sn[name]['mean']:.3f} ± {sn[name]['sd']:.3f} | "
            + (f"{c['mean']:.3f} ± {c['sd']:.3f} |" if c else "not recorded |")
        )
    lines += ["", "Per patient (vertebra / disc / canal):", ""]
    lines += [
        f"- {pid}: " + " / ".join(f"{v:.3f}" for v in d.values())
        for pid, d in metrics["per_patient"].items()
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA)
    ap.add_argument(
        "--patients",
        type=int,
        nargs="+",
        default=None,
        help="SPIDER ids (default: fewest / median / most slices)",
    )
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--threads", type=int, default=2, help="onnxruntime threads")
    ap.add_argument(
        "--dice", action="store_true", help="also recompute the backbone's validation Dice"
    )
    ap.add_argument("--record", action="store_true", help="write the sections of RESULTS.md")
    args = ap.parse_args(argv)
    if not (args.data / "gradings.csv").exists():
        print(
            f"no SPIDER data at {args.data}; pass --data (the spider-t2-lumbar folder)",
            file=sys.stderr,
        )
        return 2
    if args.repeats < 1:
        print(f"--repeats must be ≥ 1, got {args.repeats}", file=sys.stderr)
        return 2
    command = "python benchmarks/imaging_volume.py " + " ".join(
        argv if argv is not None else sys.argv[1:]
    )
    from radiomics_features.backbone import load_backbone

    backbone = load_backbone(threads=args.threads)
    patients = args.patients or default_patients(args.data)
    load = _load_note(os.getloadavg()[0])
    rows = []
    for pid in patients:
        r = time_patient(args.data, pid, args.repeats, backbone)
        rows.append(r)
        print(
            f"patient {pid} ({r['slices']} slices): "
            + ", ".join(f"{s} {r[s]:.2f}" for s in STAGES)
            + f"; total {r['total']:.2f} s (slowest {r['max_total']:.2f} s)",
            flush=True,
        )
    timing = _timing_block(rows, command.strip(), args.repeats, args.threads, load)
    print("\n" + timing)
    dice = None
    if args.dice:
        print("\nvalidation Dice of the bundled backbone:")
        card = backbone.metadata.get("validation", {}).get("dice_3d", {})
        dice = _dice_block(validation_dice(args.data, args.threads), card, command.strip())
        print("\n" + dice)
    if args.record:
        write_section("imaging_volume.py:timing", timing)
        if dice is not None:
            write_section("imaging_volume.py:dice", dice)
        print(f"\nrecorded in {RESULTS}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
