"""Benchmark: ``prom fit --target`` on a 310-row researcher's table, against plain scikit-learn.

The table imitates the public UCI vertebral-column data a researcher brings as their own
CSV (310 patients, six biomechanical measures, abnormal vs normal) but is simulated, with
this data-generating process (seed fixed, see :func:`simulate_vertebral`):

- ``pelvic_tilt`` ~ N(17.5, 10) degrees, ``sacral_slope`` ~ N(43, 13) degrees, independent;
- ``pelvic_incidence = pelvic_tilt + sacral_slope`` **exactly** (the geometric identity
  of the real data, so the three columns are exactly collinear);
- ``lumbar_lordosis_angle = 10 + 0.7 × pelvic_incidence + N(0, 12)``;
- ``pelvic_radius`` ~ N(118, 13) mm;
- ``degree_spondylolisthesis = exp(N(2.6, 0.9)) − 8`` (right-skewed, some below 0);
- ``abnormal`` ~ Bernoulli(expit(η)), η = 0.65 + 0.06 (pelvic_tilt − 17.5)
  − 0.05 (pelvic_radius − 118) + 0.04 degree_spondylolisthesis, which gives about 68%
  events (the real data: 210 of 310).

The script writes the table as CSV, then times, in the same run:

1. ``prom fit --data TABLE --target abnormal --predictors <the six>
   --allow-small-sample`` end to end (310 rows are below Riley et al.'s minimum of 336 at
   an anticipated C of 0.75, as with the real data) in a subprocess with the default
   settings (five families, 5 folds, ``n_iter`` 10, 200 bootstrap replicates, 100
   optimism refits, ``--jobs 2``), bundle unsigned;
2. plain scikit-learn: ``LogisticRegression`` (standardised, lbfgs) in 5-fold stratified
   cross-validation on the same table (``cross_val_predict``), the usual researcher's
   baseline.

Run: python benchmarks/fit_small.py [--record] [--keep DIR]
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
from run import machine, write_section

COLUMNS = (
    "pelvic_incidence",
    "pelvic_tilt",
    "lumbar_lordosis_angle",
    "sacral_slope",
    "pelvic_radius",
    "degree_spondylolisthesis",
)


def simulate_vertebral(n: int = 310, seed: int = 310) -> pd.DataFrame:
    """The 310-row table of the module docstring (``patient_id``, six measures,
    ``abnormal`` 0/1)."""
    rng = np.random.default_rng(seed)
    tilt = rng.normal(17.5, 10.0, n)
    slope = rng.normal(43.0, 13.0, n)
    incidence = tilt + slope
    lordosis = 10 + 0.7 * incidence + rng.normal(0, 12.0, n)
    radius = rng.normal(118.0, 13.0, n)
    spondy = np.exp(rng.normal(2.6, 0.9, n)) - 8
    eta = 0.65 + 0.06 * (tilt - 17.5) - 0.05 * (radius - 118) + 0.04 * spondy
    abnormal = rng.binomial(1, 1 / (1 + np.exp(-eta)))
    df = pd.DataFrame(
        {
            "patient_id": [f"v{i:03d}" for i in range(n)],
            "pelvic_incidence": incidence.round(2),
            "pelvic_tilt": tilt.round(2),
            "lumbar_lordosis_angle": lordosis.round(2),
            "sacral_slope": slope.round(2),
            "pelvic_radius": radius.round(2),
            "degree_spondylolisthesis": spondy.round(2),
            "abnormal": abnormal,
        }
    )
    # keep the identity exact after rounding (the real data round each to 2 decimals)
    df["pelvic_incidence"] = (df["pelvic_tilt"] + df["sacral_slope"]).round(2)
    return df


def sklearn_logistic_cv(df: pd.DataFrame) -> tuple[float, float]:
    """``(seconds, AUC)`` of plain scikit-learn logistic regression in 5-fold CV."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import StratifiedKFold, cross_val_predict
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    t0 = time.perf_counter()
    X = df[list(COLUMNS)].to_numpy(dtype=float)
    y = df["abnormal"].to_numpy()
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))
    cv = StratifiedKFold(n_splits=5, shuffle=True, random_state=0)
    p = cross_val_predict(model, X, y, cv=cv, method="predict_proba")[:, 1]
    return time.perf_counter() - t0, float(roc_auc_score(y, p))


def prom_fit(csv: Path, out: Path, jobs: int) -> tuple[float, str]:
    """``(seconds, output)`` of ``prom fit --target abnormal`` in a fresh interpreter."""
    cmd = [
        sys.executable,
        "-m",
        "prom.cli",
        "fit",
        "--data",
        str(csv),
        "--target",
        "abnormal",
        "--predictors",
        ",".join(COLUMNS),
        "--allow-small-sample",
        "--out",
        str(out),
        "--jobs",
        str(jobs),
        "--overwrite",
    ]
    env = {**os.environ, "PROM_SIGNING_KEY": ""}
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, encoding="utf-8", env=env)
    seconds = time.perf_counter() - t0
    if proc.returncode != 0:
        raise SystemExit(f"prom fit failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    return seconds, proc.stdout


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--record", action="store_true")
    ap.add_argument("--keep", type=Path, help="write the table and bundle here (kept)")
    args = ap.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        where = args.keep or Path(tmp)
        where.mkdir(parents=True, exist_ok=True)
        df = simulate_vertebral()
        csv = where / "vertebral_310.csv"
        df.to_csv(csv, index=False)
        load = os.getloadavg()[0]
        sk_seconds, sk_auc = sklearn_logistic_cv(df)
        prom_seconds, output = prom_fit(csv, where / "bundle", args.jobs)
        load_end = os.getloadavg()[0]
    print(output)
    print(f"events {int(df['abnormal'].sum())} of {len(df)}")
    print(f"prom fit --target (defaults, --jobs {args.jobs}): {prom_seconds:.1f} s")
    print(f"scikit-learn LogisticRegression, 5-fold CV:    {sk_seconds:.2f} s (AUC {sk_auc:.3f})")
    print(f"1-min load average: {load:.1f} at the start, {load_end:.1f} at the end")
    if args.record:
        text = "\n".join(
            [
                f"## `prom fit --target` on a 310-row table vs scikit-learn — {dt.date.today()}",
                "",
                (
                    "Command: `python benchmarks/fit_small.py --record` (simulated UCI-like "
                    "vertebral-column table, 310 rows, six measures with pelvic_incidence = "
                    "pelvic_tilt + sacral_slope exactly, "
                    f"{int(df['abnormal'].sum())} events; data-generating process in the "
                    "script's docstring)  "
                ),
                f"Machine: {machine()}  ",
                (
                    f"Load: 1-min load average {load:.1f} at the start and {load_end:.1f} at the "
                    "end on 2 cores."
                ),
                "",
                "| what | seconds |",
                "|---|---:|",
                (
                    f"| `prom fit --data TABLE --target abnormal --jobs {args.jobs}` (defaults: 5 "
                    "families, 5 folds, n_iter 10, 200 bootstrap replicates, 100 optimism "
                    f"refits; subprocess, end to end) | **{prom_seconds:.1f}** |"
                ),
                (
                    "| scikit-learn `LogisticRegression` (standardised), 5-fold "
                    f"`cross_val_predict` on the same table, AUC {sk_auc:.3f} | {sk_seconds:.2f} |"
                ),
                "",
                "Target: the five-family fit in ≤ 20 s.",
            ]
        )
        write_section("fit_small.py", text)
        print("recorded in benchmarks/RESULTS.md")


if __name__ == "__main__":
    main()
