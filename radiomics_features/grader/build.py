"""Build the disc-crop dataset from the SPIDER slice set (localise, check, crop, join).

    python -m radiomics_features.grader.build \
        --data ../shared/data/spider-sagittal-slices \
        --volumes ../shared/data/spider-t2-lumbar --out grader_out

Writes ``series.csv`` (orientation and checks per image), ``discs.csv`` (every disc
found, with ``trusted`` and the reason when not), ``graded.csv`` (one row per graded
disc: gradings, patient, which crops exist, disc geometry), ``crops.npz`` (``crops``
``(n, 2, 80, 80)`` (1.2 mm pixels) float16, channel 0 T2, 1 T1, rows in ``graded.csv`` order),
``volume_check.csv`` (the 31 expert-mask patients) and ``summary.json``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

from radiomics_features.grader.dataset import (
    build_crops,
    localise_series,
    numbering_checks,
    read_gradings,
    read_series,
)


def _quantiles(d, col: str) -> dict:
    return {
        str(seq): [round(float(v), 1) for v in g[col].quantile([0.05, 0.5, 0.95])]
        for seq, g in d.groupby("sequence")
    }


def summarise(series_tab, discs, graded) -> dict:
    found = graded.has_t2 | graded.has_t1
    s = series_tab
    both = s.pivot_table(index="patient", columns="sequence", values="n_discs_found")
    both = both.dropna()
    d = discs.copy()
    d["disc_width_mm"] = d.width_mm
    return {
        "series": len(s),
        "patients": int(s.patient.nunique()),
        "orientation_counts": {
            f"flip_rows={fr} flip_cols={fc}": int(n)
            for (fr, fc), n in s.groupby(["flip_rows", "flip_cols"]).size().items()
        },
        "canal_posterior": int(s.canal_posterior.sum()),
        "sacrum_found": int(s.sacrum_found.sum()),
        "count_diff_found_minus_annotated": {
            str(k): int(v)
            for k, v in (s.n_discs_found - s.num_discs_annotated)
            .value_counts()
            .sort_index()
            .items()
        },
        "t1_t2_same_count": int((both.get("t1") == both.get("t2")).sum())
        if {"t1", "t2"} <= set(both.columns)
        else None,
        "patients_with_both": len(both),
        "graded_discs": len(graded),
        "graded_found_trusted_any": int(found.sum()),
        "graded_found_trusted_t2": int(graded.has_t2.sum()),
        "graded_found_trusted_t1": int(graded.has_t1.sum()),
        "untrusted_reasons": discs.loc[~discs.trusted, "untrusted_reason"].value_counts().to_dict(),
        "disc_width_mm_q05_q50_q95": _quantiles(d, "width_mm"),
        "disc_height_mm_q05_q50_q95": _quantiles(d, "height_mm"),
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--data", type=Path, required=True)
    ap.add_argument("--volumes", type=Path, default=None)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument(
        "--crops-only",
        action="store_true",
        help="reuse series.csv and discs.csv in --out (skip localisation); recut the crops",
    )
    a = ap.parse_args(argv)
    if not (a.data / "series.csv").is_file():
        ap.error(f"{a.data}/series.csv not found; --data must be the spider-sagittal-slices folder")
    a.out.mkdir(parents=True, exist_ok=True)
    t0 = time.time()
    if a.crops_only:
        import pandas as pd

        series_tab = pd.read_csv(a.out / "series.csv")
        discs = pd.read_csv(a.out / "discs.csv")
    else:
        series = read_series(a.data)
        series_tab, discs = localise_series(a.data, series)
        discs = numbering_checks(series_tab, discs)
        series_tab.to_csv(a.out / "series.csv", index=False)
        discs.to_csv(a.out / "discs.csv", index=False)
    graded, crops = build_crops(a.data, series_tab, discs, read_gradings(a.data))
    graded.to_csv(a.out / "graded.csv", index=False)
    np.savez_compressed(a.out / "crops.npz", crops=crops)
    summary = summarise(series_tab, discs, graded)
    if a.volumes is not None and a.volumes.is_dir():
        from radiomics_features.grader.verify import verify_against_masks

        vc = verify_against_masks(a.volumes, discs, series_tab)
        vc.to_csv(a.out / "volume_check.csv", index=False)
        summary["volume_check"] = {
            "series": len(vc),
            "count_equal_mask": int((vc.n_slice == vc.n_mask).sum()),
            "mask_equal_annotated": int((vc.n_mask == vc.num_discs_annotated).sum()),
            "mean_r_by_shift": {
                c: float(vc[c].mean()) for c in vc.columns if c.startswith("r_shift")
            },
            "best_shift_counts": vc[[c for c in vc.columns if c.startswith("r_shift")]]
            .dropna(how="all")
            .idxmax(axis=1)
            .value_counts()
            .to_dict(),
        }
    summary["seconds"] = round(time.time() - t0, 1)
    (a.out / "summary.json").write_text(
        json.dumps(summary, indent=2, default=str), encoding="utf-8"
    )
    sys.stdout.write(json.dumps(summary, indent=2, default=str) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
