"""Benchmark: the full model comparison for one task at n = 10,000 (target ≤ 150 s).

5 families (logistic, elastic net, random forest, XGBoost, LightGBM), 5-fold CV with the
whole pipeline (tuning by random search in an inner 3-fold CV, cross-fitted calibration)
refitted in every fold, the comparison against logistic regression with 200 bootstrap
replicates, internal–external validation by site for the baseline and the best family,
bootstrap optimism of the baseline, and the final refits. Uses both cores (n_jobs=2).
In the same run, plain scikit-learn logistic regression in 5-fold CV on the same rows and
predictors, for scale.

Run: .venv/bin/python benchmarks/fit_comparison.py [--n 10000] [--record]
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import time
import warnings
from pathlib import Path

from run import machine, peak_rss_gb


def sklearn_logistic_cv(df, predictors: list[str], task: str) -> tuple[float, float]:
    """``(seconds, AUC)`` of plain scikit-learn: logistic regression on the task's labelled
    rows and predictors (numeric: median-imputed and standardised; the rest one-hot), in
    5-fold stratified ``cross_val_predict`` — what a researcher would run by hand."""
    import numpy as np
    import pandas as pd
    from sklearn.compose import make_column_transformer
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import StratifiedKFold, cross_val_predict
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    from prom.outcomes import resolve_task
    from prom.workflows import FitSettings
    from prom.workflows.fit_checks import task_data_for_fit

    td = task_data_for_fit(df, resolve_task(df, task), None, FitSettings())  # labelled rows
    t0 = time.perf_counter()
    X = td.X[predictors]
    y = td.y.astype(int).to_numpy()
    numeric = [c for c in predictors if pd.api.types.is_numeric_dtype(X[c])]
    other = [c for c in predictors if c not in numeric]
    X = X.astype(dict.fromkeys(other, str))
    pre = make_column_transformer(
        (make_pipeline(SimpleImputer(strategy="median"), StandardScaler()), numeric),
        (OneHotEncoder(handle_unknown="ignore"), other),
    )
    model = make_pipeline(pre, LogisticRegression(max_iter=1000))
    cv = StratifiedKFold(n_splits=5, shuffle=True, random_state=0)
    p = cross_val_predict(model, X, y, cv=cv, method="predict_proba")[:, 1]
    return time.perf_counter() - t0, float(roc_auc_score(y, np.asarray(p)))


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
    load = os.getloadavg()[0]
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
    for k, v in fit.timings.items():
        print(f"  {k:<28} {v:7.1f} s", flush=True)
    sk_seconds, sk_auc = sklearn_logistic_cv(df, fit.predictors, args.task)
    print(fit.comparison.summary())
    print(
        f"plain scikit-learn LogisticRegression, 5-fold CV on the same rows: {sk_seconds:.1f} s "
        f"(AUC {sk_auc:.3f})"
    )
    print(f"labelled rows {fit.n:,}; total {total:.1f} s; peak RSS {peak_rss_gb():.2f} GB")
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
            (
                f"Total: **{total:.1f} s** (target ≤ 150 s). Peak RSS {peak_rss_gb():.2f} GB. "
                f"Plain scikit-learn in the same run (`LogisticRegression` after one-hot coding "
                f"and median imputation, 5-fold `cross_val_predict`, same rows and predictors): "
                f"**{sk_seconds:.1f} s** (AUC {sk_auc:.3f}). 1-min load average at the start "
                f"{load:.1f}, at the end {os.getloadavg()[0]:.1f} on 2 cores.\n"
            ),
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
