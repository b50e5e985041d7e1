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

# The SPIDER loader, the gradings join and the rho table are shared with the Pfirrmann
# classifier (radiomics_features.pfirrmann), which owns them.
from radiomics_features.pfirrmann import (
    DEFAULT_DATA,
    SPEARMAN_FEATURES,
    join_gradings,
    measure_discs,
    spearman_table,
)

__all__ = ["DEFAULT_DATA", "FEATURES", "measure_all", "join_gradings", "spearman_table", "main"]

FEATURES = SPEARMAN_FEATURES


def measure_all(data: Path, ids: list[int] | None = None) -> pd.DataFrame:
    """Disc rows of every patient in ``data`` (or of ``ids``), from the expert masks."""
    return measure_discs(data, ids, masks="truth", strict=True)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA)
    ap.add_argument("--out", type=Path, default=None, help="write the per-disc table here (CSV)")
    args = ap.parse_args(argv)
    if not (args.data / "gradings.csv").exists():
        print(
            f"no SPIDER data at {args.data} (expected gradings.csv and spider_*_t2.nii.gz)",
            file=sys.stderr,
        )
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
