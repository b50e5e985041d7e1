"""Which disc does each disc grade belong to? The grader's own count against the levels'.

On SPIDER's 31 T2 volumes with expert masks: each volume is segmented and levelled by
the bundled backbone (as ``prom features`` does), and the disc grader reads the slice
with the most canal (as ``prom features --grade`` does). Each lumbar disc it grades is
named two ways:

- **own**: the grader's count from the lowest disc it finds on that slice (how grades
  were named before);
- **levels**: the number of the levelled disc it lies on
  (:mod:`radiomics_features.grader.levelled`, how they are named now).

The reference is the expert mask's count from the bottom (the README of the data: "1 =
lowest disc, normally L5/S1") of the expert disc under the grade's centre (the nearest
on that slice when the centre lies on none). A name is correct when its number equals
that count. Beside it, the grades' agreement with the experts' Pfirrmann grades
(``gradings.csv``, by the name given): in-sample, since 30 of these 31 patients are among
the 179 whose slices trained the grader, so it says whether the names change the
agreement, not how well the grader grades.

Run: ``python benchmarks/grade_naming.py --data ../shared/data/spider-t2-lumbar
[--record]`` (about 3 min).
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from run import machine, write_section

KEY = "grade_naming.py"
LUMBAR = 5


def _expert_numbers(mask: np.ndarray) -> tuple[np.ndarray, dict[int, int]]:
    """The expert discs' components and each one's count from the bottom (1 = lowest)."""
    from scipy import ndimage

    comp, n = ndimage.label(mask == 2)
    idx = range(1, n + 1)
    rows = ndimage.mean(np.indices(mask.shape)[1], comp, idx)
    sizes = ndimage.sum(np.ones_like(comp), comp, idx)
    kept = sorted((i for i in idx if sizes[i - 1] > 50), key=lambda c: -rows[c - 1])
    return comp, {c: k + 1 for k, c in enumerate(kept)}


def _expert_number_at(comp, numbers, k: int, row: float, col: float) -> int | None:
    r, c = round(row), round(col)
    label = int(comp[k, r, c])
    if label == 0:
        pts = np.argwhere(comp[k] > 0)
        if not len(pts):
            return None
        label = int(comp[k][tuple(pts[np.argmin(((pts - [r, c]) ** 2).sum(1))])])
    return numbers.get(label)


def measure(data: Path) -> pd.DataFrame:
    """One row per lumbar disc graded (either way): patient, naming, number, expert count,
    grade and the expert's Pfirrmann grade for the disc of that name."""
    from radiomics_features.grader.inference import grade_slice
    from radiomics_features.grader.levelled import grade_levelled_slice
    from radiomics_features.io import read_image
    from radiomics_features.levels import disc_level_from_bottom
    from radiomics_features.pipeline import extract_case
    from radiomics_features.pipeline.case import grading_slice

    g = pd.read_csv(data / "gradings.csv")
    expert = {
        (int(p), int(n)): int(v)
        for p, n, v in zip(g["Patient"], g["IVD label"], g["Pfirrman grade"], strict=True)
    }
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for image in sorted(data.glob("spider_*_t2.nii.gz")):
            pid = int(image.name.split("_")[1])
            comp, numbers = _expert_numbers(
                read_image(data / image.name.replace("_t2", "_mask")).array
            )
            extract_case(image, radiomics=False, label_map_dir=tmp, patient_id=str(pid))
            levels = read_image(Path(tmp) / f"{pid}_levels.nii.gz").array
            vol = read_image(image)
            from radiomics_features.backbone import segment_volume

            k = grading_slice(segment_volume(vol.array, vol.spacing), vol.array.shape[0] // 2)
            sp = (vol.spacing[1], vol.spacing[2])
            own = grade_slice(vol.array[k], sp, orientation=(False, False)).discs
            named = grade_levelled_slice(vol.array[k], sp, levels[k]).by_level.values()
            for how, discs in (("own", own), ("levels", named)):
                for d in discs:
                    if d.label > LUMBAR:
                        continue
                    rows.append(
                        {
                            "patient": pid,
                            "naming": how,
                            "level": disc_level_from_bottom(d.label),
                            "number": d.label,
                            "expert_number": _expert_number_at(comp, numbers, k, d.row, d.col),
                            "grade": d.grade,
                            "expert_grade": expert.get((pid, d.label)),
                        }
                    )
            print(f"{image.name}: {len(own)} discs on slice {k}", flush=True)
    return pd.DataFrame(rows)


def table(df: pd.DataFrame) -> list[str]:
    from sklearn.metrics import cohen_kappa_score

    out = [
        (
            "| naming | lumbar discs graded | named as the experts count | wrongly named (patients) "
            "| exact grade | quadratic-weighted kappa (in-sample) |"
        ),
        "|---|---:|---:|---:|---:|---:|",
    ]
    for how, label in (("own", "grader's own count (before)"), ("levels", "levels' names (now)")):
        d = df[df["naming"] == how]
        ok = d["number"] == d["expert_number"]
        bad = d.loc[~ok, "patient"].nunique()
        m = d.dropna(subset=["expert_grade"])
        kappa = cohen_kappa_score(
            m["expert_grade"].astype(int), m["grade"].astype(int), weights="quadratic"
        )
        exact = float((m["grade"] == m["expert_grade"]).mean())
        out.append(
            f"| {label} | {len(d)} | {int(ok.sum())} | {int((~ok).sum())} ({bad}) "
            f"| {exact:.3f} | {kappa:.3f} |"
        )
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=Path("../shared/data/spider-t2-lumbar"))
    ap.add_argument("--record", action="store_true", help="write the section of RESULTS.md")
    args = ap.parse_args(argv)
    t = time.perf_counter()
    df = measure(args.data)
    seconds = time.perf_counter() - t
    command = f"python benchmarks/grade_naming.py --data {args.data}"
    text = "\n".join(
        [
            f"## Disc grades: which disc each grade's name belongs to — {dt.date.today()}",
            "",
            f"Command: `{command}{' --record' if args.record else ''}`  ",
            f"Machine: {machine()}; {seconds:.0f} s",
            "",
            (
                f"SPIDER's {df['patient'].nunique()} T2 volumes with expert masks, segmented and "
                "levelled by the bundled backbone, graded on the slice with the most canal. A "
                "name is correct when its number from the bottom equals the expert mask's count "
                "for the disc under the grade. Grades against the experts' Pfirrmann grades by "
                "the name given are in-sample (30 of these patients trained the grader)."
            ),
            "",
            *table(df),
        ]
    )
    print(text)
    if args.record:
        write_section(KEY, text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
