"""Geometry vs Pfirrmann grade on the SPIDER subset, with the ground-truth masks.

Reads every ``spider_<id>_t2.nii.gz`` / ``spider_<id>_mask.nii.gz`` pair in the data
folder (default: the repository root's sibling ``shared/data/spider-t2-lumbar``),
names the levels (lowest disc = L5/S1), measures each disc, joins SPIDER's
``gradings.csv`` (``IVD label`` 1 = lowest disc = L5/S1, via
:func:`radiomics_features.levels.disc_level_from_bottom`) and prints Spearman's rho of
``disc_csf_signal_ratio`` and ``disc_height_index`` against the Pfirrmann grade.

This is a check of direction and rough size (both should fall with degeneration), not
a test: 31 patients, one reader, discs clustered within patients.

    python -m radiomics_features.tools.spider_geometry_check [--data DIR] [--out CSV]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pandas as pd

from radiomics_features.geometry import spine_geometry
from radiomics_features.io import read_image_and_mask
from radiomics_features.labels import to_three_class
from radiomics_features.levels import DISC_LEVELS, disc_level_from_bottom

DEFAULT_DATA = Path(__file__).resolve().parents[3] / "shared" / "data" / "spider-t2-lumbar"
FEATURES = ("disc_csf_signal_ratio", "disc_height_index", "disc_height_mm")


def measure_all(data: Path, ids: list[int] | None = None) -> pd.DataFrame:
    frames = []
    images = sorted(data.glob("spider_*_t2.nii.gz"))
    for img_path in images:
        pid = int(img_path.name.split("_")[1])
        if ids is not None and pid not in ids:
            continue
        image, mask = read_image_and_mask(img_path, data / f"spider_{pid:03d}_mask.nii.gz")
        g = spine_geometry(to_three_class(mask.array), mask.spacing, image)
        g.insert(0, "patient", pid)
        frames.append(g[g["kind"] == "disc"])
    return pd.concat(frames, ignore_index=True)


def join_gradings(geom: pd.DataFrame, data: Path) -> pd.DataFrame:
    gr = pd.read_csv(data / "gradings.csv")
    gr = gr[gr["IVD label"].between(1, len(DISC_LEVELS))].copy()
    gr["level"] = [disc_level_from_bottom(int(n)) for n in gr["IVD label"]]
    gr = gr.rename(columns={"Patient": "patient", "Pfirrman grade": "pfirrmann"})
    return geom.merge(gr[["patient", "level", "pfirrmann"]], on=["patient", "level"], how="inner")


def spearman_table(df: pd.DataFrame) -> pd.DataFrame:
    from scipy.stats import spearmanr

    rows = []
    for f in FEATURES:
        ok = df[[f, "pfirrmann"]].dropna()
        res = spearmanr(ok[f], ok["pfirrmann"])
        rows.append({"feature": f, "n_discs": len(ok), "n_patients": df.loc[ok.index, "patient"].nunique(),
                     "rho": float(res.statistic), "p": float(res.pvalue)})
    return pd.DataFrame(rows)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA)
    ap.add_argument("--out", type=Path, default=None, help="write the per-disc table here (CSV)")
    args = ap.parse_args(argv)
    if not (args.data / "gradings.csv").exists():
        print(f"no SPIDER data at {args.data} (expected gradings.csv and spider_*_t2.nii.gz)",
              file=sys.stderr)
        return 2
    df = join_gradings(measure_all(args.data), args.data)
    if args.out:
        df.to_csv(args.out, index=False)
    pd.set_option("display.width", 120)
    print(spearman_table(df).to_string(index=False, float_format=lambda x: f"{x:.3g}"))
    print("\nmedian by Pfirrmann grade:")
    print(df.groupby("pfirrmann")[list(FEATURES)].median().round(3).to_string())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
