"""Benchmark: the full model comparison for one task at n = 10,000 (issue target ≤ 5 min).

5 families (logistic, elastic net, random forest, XGBoost, LightGBM), 5-fold CV with the
whole pipeline (tuning by random search in an inner 3-fold CV, cross-fitted calibration)
refitted in every fold, the comparison against logistic regression with 200 bootstrap
replicates, internal–external validation by site for the baseline and the best family,
bootstrap optimism of the baseline, and the final refits. Uses both cores (n_jobs=2).

Run: .venv/bin/python benchmarks/fit_comparison.py [--n 10000] [--record]
"""

from __future__ import annotations

import argparse
import datetime as dt
import time
import warnings
from pathlib import Path

from run import machine, peak_rss_gb


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--n", type=int, default=10_000, help="labelled rows wanted for the task")
    ap.add_argument("--task", default="mcid_odi_12m")
    ap.add_argument("--n-iter", type=int, default=10)
    ap.add_argument("--optimism-boot", type=int, default=50)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--record", action="store_true")
    args = ap.parse_args()

    from prom.cohort import simulate_cohort
    from prom.errors import StatisticalWarning
    from prom.instruments import add_scores
    from prom.outcomes import derive_label
    from prom.workflows import FAMILIES, FitSettings, fit_task

    # simulate enough patients that about n rows carry the task's label
    pilot = add_scores(simulate_cohort(5000, seed=99))
    frac = derive_label(pilot, args.task)["label"].notna().mean()
    df = add_scores(simulate_cohort(int(args.n / frac) + 1, seed=2026))
    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", StatisticalWarning)
        fit = fit_task(
            df,
            args.task,
            families=FAMILIES,
            progress=lambda m: print(f"  {m}", flush=True),
            settings=FitSettings(
                n_splits=5,
                n_iter=args.n_iter,
                n_boot=200,
                optimism_boot=args.optimism_boot,
                random_state=0,
                n_jobs=args.jobs,
            ),
        )
    total = time.perf_counter() - t0
    print(fit.comparison.summary())
    print(f"labelled rows {fit.n:,}; total {total:.1f} s; peak RSS {peak_rss_gb():.2f} GB")
    for k, v in fit.timings.items():
        print(f"  {k:<28} {v:7.1f} s")
    if args.record:
        path = Path(__file__).with_name("RESULTS.md")
        lines = [
            f"\n## Model comparison, one task, n = {fit.n:,} — {dt.date.today()}\n",
            (
                f"Command: `.venv/bin/python benchmarks/fit_comparison.py --n {args.n} --record` "
                f"(task {args.task}; 5 families; 5-fold CV with inner-CV tuning, n_iter={args.n_iter}, "
                f"and cross-fitted calibration in every fold; 200 bootstrap replicates; "
                f"IECV by site; {args.optimism_boot} optimism refits; n_jobs={args.jobs})  "
            ),
            f"Machine: {machine()}\n",
            f"Total: **{total:.1f} s** (target ≤ 300 s). Peak RSS {peak_rss_gb():.2f} GB.\n",
            "| step | seconds |",
            "|---|---:|",
        ]
        lines += [f"| {k} | {v:.1f} |" for k, v in fit.timings.items()]
        lines.append("")
        lines.append("```\n" + fit.comparison.summary() + "\n```")
        with path.open("a") as f:
            f.write("\n".join(lines) + "\n")
        print(f"recorded in {path}")


if __name__ == "__main__":
    main()
