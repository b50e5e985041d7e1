"""Level plausibility checks on the SPIDER subset: expert masks and the bundled backbone.

For every patient in the data folder (default ``../shared/data/spider-t2-lumbar``), the
levels are named and measured twice — from the expert mask and from the backbone's
segmentation — and the plausibility checks (:mod:`radiomics_features.levelling.plausibility`)
run on both. The backbone's disc names are compared with the expert mask's: a backbone disc
whose centroid lies more than 15 mm from the expert disc of the same name is a naming
error (the expert names themselves assume the lowest disc is L5/S1).

Prints the number of flagged levels and the reasons, per source, and the naming errors
with whether the checks flagged them; writes the per-level table with ``--out``.

    python benchmarks/spider_level_checks.py [--data DIR] [--ids 5 18] [--out CSV]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

DEFAULT_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "spider-t2-lumbar"
VALIDATION_IDS = (5, 18, 22, 65, 78, 136, 191)  # backbone/MODEL_CARD.md
_NAMING_ERROR_MM = 15.0


def _paths(data: Path, pid: int) -> tuple[Path, Path]:
    for stem in (f"spider_{pid:03d}", f"spider_{pid}"):
        img, msk = data / f"{stem}_t2.nii.gz", data / f"{stem}_mask.nii.gz"
        if img.exists():
            return img, msk
    raise FileNotFoundError(f"no image for SPIDER patient {pid} in {data}")


def _ids(data: Path) -> list[int]:
    return sorted(int(p.name.split("_")[1]) for p in data.glob("spider_*_t2.nii.gz"))


def _measure(mask: np.ndarray, image, sp) -> tuple[pd.DataFrame, pd.DataFrame]:
    from radiomics_features.geometry import spine_geometry
    from radiomics_features.levelling import label_levels
    from radiomics_features.postprocess import clean_mask

    m, _ = clean_mask(mask, sp)
    levelled = label_levels(m, sp, clean=False)
    long = spine_geometry(m, sp, image, levelled=levelled, clean=False)
    return long, levelled.table


def check_patient(data: Path, pid: int, backbone) -> pd.DataFrame:
    """Per-level rows (both sources) of one patient, with the naming comparison."""
    from radiomics_features.backbone.inference import segment_volume
    from radiomics_features.io import read_image_and_mask
    from radiomics_features.labels import to_three_class

    img_path, mask_path = _paths(data, pid)
    image, mask = read_image_and_mask(img_path, mask_path, convention="three_class")
    sp = image.spacing
    expert = to_three_class(mask.array, "three_class")
    rows = []
    t = time.perf_counter()
    seg = segment_volume(image.array, sp, backbone=backbone)
    t_seg = time.perf_counter() - t
    tables = {}
    for source, m in (("expert", expert), ("backbone", seg)):
        long, lt = _measure(m, image, sp)
        tables[source] = lt
        long = long.assign(patient=pid, source=source)
        rows.append(long)
    out = pd.concat(rows, ignore_index=True)
    ex = tables["expert"]
    ex_d = ex[(ex["kind"] == "disc") & ex["level"].notna()]
    bb = tables["backbone"]
    shift = {}
    for _, r in bb[(bb["kind"] == "disc") & bb["level"].notna()].iterrows():
        c = np.array([r["centroid_si_mm"], r["centroid_ap_mm"]])
        d = np.hypot(ex_d["centroid_si_mm"] - c[0], ex_d["centroid_ap_mm"] - c[1])
        if d.empty:
            continue
        same = ex_d[ex_d["level"] == r["level"]]
        off = (
            float(np.hypot(*(same[["centroid_si_mm", "centroid_ap_mm"]].iloc[0] - c)))
            if not same.empty
            else np.nan
        )
        shift[r["level"]] = (off, str(ex_d.iloc[int(np.argmin(d.to_numpy()))]["level"]))
    is_bb = out["source"] == "backbone"
    out.loc[is_bb, "offset_to_expert_same_name_mm"] = [
        shift.get(lev, (np.nan, ""))[0] for lev in out.loc[is_bb, "level"]
    ]
    out.loc[is_bb, "expert_name_of_nearest"] = [
        shift.get(lev, (np.nan, ""))[1] for lev in out.loc[is_bb, "level"]
    ]
    out["segment_s"] = t_seg
    return out


def summarise(df: pd.DataFrame) -> str:
    lines = []
    for source, g in df.groupby("source", sort=False):
        named = g[g["confidence"] != "none"]
        flagged = named[named["checks"].fillna("") != ""]
        cases = g.drop_duplicates("patient")
        lines.append(
            f"{source}: {len(named)} named levels in {g['patient'].nunique()} patients; "
            f"{len(flagged)} with check reasons in {flagged['patient'].nunique()} patients; "
            f"case confidence {cases['case_confidence'].value_counts().to_dict()}"
        )
        for _, r in flagged.iterrows():
            lines.append(f"  {r['patient']:>4} {r['level']:<6} {r['confidence']:<6} {r['checks']}")
        notes = cases[cases["case_notes"].fillna("") != ""]["case_notes"].value_counts()
        for text, n in notes.items():
            lines.append(f"  case note ×{n}: {text}")
    bb = df[(df["source"] == "backbone") & (df["kind"] == "disc")]
    wrong = bb[bb["offset_to_expert_same_name_mm"] > _NAMING_ERROR_MM]
    lines.append(
        f"backbone naming errors (> {_NAMING_ERROR_MM:g} mm from the expert disc of the same "
        f"name): {len(wrong)} discs in {wrong['patient'].nunique()} patients"
    )
    for _, r in wrong.iterrows():
        lines.append(
            f"  {r['patient']:>4} {r['level']:<6} is the expert's {r['expert_name_of_nearest']} "
            f"({r['offset_to_expert_same_name_mm']:.0f} mm off); confidence "
            f"{r['confidence']}; checks: {r['checks'] or '—'}"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA)
    ap.add_argument("--ids", type=int, nargs="*", default=None)
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args(argv)
    if not args.data.is_dir():
        print(f"no SPIDER data at {args.data}", file=sys.stderr)
        return 2
    from radiomics_features.backbone.inference import load_backbone

    backbone = load_backbone(threads=1)
    parts = []
    for pid in args.ids or _ids(args.data):
        t = time.perf_counter()
        parts.append(check_patient(args.data, pid, backbone))
        print(f"patient {pid}: {time.perf_counter() - t:.1f} s", file=sys.stderr, flush=True)
        if args.out:
            pd.concat(parts, ignore_index=True).to_csv(args.out, index=False)
    df = pd.concat(parts, ignore_index=True)
    df["validation_patient"] = df["patient"].isin(VALIDATION_IDS)
    if args.out:
        df.to_csv(args.out, index=False)
    print(summarise(df))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
