"""Pfirrmann grade of each lumbar disc from its image features, on SPIDER, by patient.

    python -m radiomics_features.pfirrmann [--data DIR] [--masks truth|backbone]
        [--radiomics] [--repeats 5] [--folds 5] [--workers 2] [--out DIR]

Measures the discs (:func:`~radiomics_features.pfirrmann.disc_dataset`), cross-validates
the classifiers (:func:`~radiomics_features.pfirrmann.cross_validate_grades`), prints
the report and, with ``--out``, writes the tables and the JSON report.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

from radiomics_features.pfirrmann.dataset import DEFAULT_DATA, MASK_SOURCES, disc_dataset
from radiomics_features.pfirrmann.evaluation import cross_validate_grades
from radiomics_features.pfirrmann.report import format_report

__all__ = ["main"]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        prog="python -m radiomics_features.pfirrmann", description=__doc__.splitlines()[0]
    )
    ap.add_argument(
        "--data",
        type=Path,
        default=DEFAULT_DATA,
        help="the spider-t2-lumbar folder (default: the repository's sibling "
        "shared/data/spider-t2-lumbar)",
    )
    ap.add_argument(
        "--masks",
        choices=MASK_SOURCES,
        default="truth",
        help="measure the expert masks or the bundled backbone's segmentation",
    )
    ap.add_argument(
        "--radiomics",
        action="store_true",
        help="add the pyradiomics features of each disc and the canal beside it",
    )
    ap.add_argument("--folds", type=int, default=5)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--seed", type=int, default=0, help="first seed; repeats use seed, seed+1, …")
    ap.add_argument(
        "--workers",
        type=int,
        default=os.cpu_count() or 1,
        help="patients measured in parallel (processes)",
    )
    ap.add_argument(
        "--out",
        type=Path,
        default=None,
        help="directory for pfirrmann_{summary,per_repeat,discs}_<tag>.csv and "
        "pfirrmann_report_<tag>.json; tag = mask source (+ _radiomics)",
    )
    args = ap.parse_args(argv)
    if not (args.data / "gradings.csv").exists():
        print(
            f"no SPIDER data at {args.data} (expected gradings.csv and spider_*_t2.nii.gz); "
            "pass --data",
            file=sys.stderr,
        )
        return 2
    t0 = time.perf_counter()
    df = disc_dataset(args.data, masks=args.masks, radiomics=args.radiomics, workers=args.workers)
    t1 = time.perf_counter()
    res = cross_validate_grades(
        df, n_splits=args.folds, seeds=tuple(range(args.seed, args.seed + args.repeats))
    )
    t2 = time.perf_counter()
    print(format_report(res))
    print(f"\nfeatures measured in {t1 - t0:.0f} s, models cross-validated in {t2 - t1:.0f} s")
    if args.out:
        args.out.mkdir(parents=True, exist_ok=True)
        tag = f"{args.masks}{'_radiomics' if args.radiomics else ''}"
        res.summary.assign(mask_source=args.masks, radiomics=args.radiomics).to_csv(
            args.out / f"pfirrmann_summary_{tag}.csv", index=False
        )
        res.per_repeat.to_csv(args.out / f"pfirrmann_per_repeat_{tag}.csv", index=False)
        df.to_csv(args.out / f"pfirrmann_discs_{tag}.csv", index=False)
        (args.out / f"pfirrmann_report_{tag}.json").write_text(
            json.dumps(res.to_json(), indent=2, default=float), encoding="utf-8"
        )
        print(f"written to {args.out} (files tagged '{tag}')")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
