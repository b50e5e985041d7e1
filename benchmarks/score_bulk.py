"""Bulk scoring (`prom score`): throughput, ratio to the bare booster calls, memory, Dask.

One run measures, side by side:

1. **Probabilities path** — ``score_file`` on ``--ratio-rows`` rows (validation, PROM
   scores, index-level imaging, calibrated probability of five tasks, flags, drift,
   provenance, Parquet output) against the *bare* booster calls of the same five models on
   the same rows: ``Booster.inplace_predict(Z)`` (what the bundle's XGBoost wrapper calls)
   and ``Booster.predict(DMatrix(Z))``, on design matrices ``Z`` built beforehand (building
   them is not timed). Alternated ``--repeats`` times; medians.
2. **Reasons path** — the same with ``--reasons`` (top-3 reasons per task from exact
   native TreeSHAP, ``Booster.predict(DMatrix, pred_contribs=True)``) on ``--reason-rows``
   rows, against the bare ``pred_contribs`` call of the five models on the same designs;
   and the approximate path (``--reasons-method approx``: XGBoost's Saabas attribution,
   ``approx_contribs=True``) against its bare call, with how often its top 3 agree with
   the exact path's on the same rows (the same set of 3 variables; the same first one).
3. **Memory** — peak RSS of a child process scoring 1M rows (one Parquet file) and 10M
   rows (a folder of ten files), local engine, with their rows per minute.
4. **Dask** — the 1M-row file on a LocalCluster of 2 worker processes against the local
   engine, side by side.

The bundle: five tasks (ODI, NRS back, NRS leg and COMI MCID at 12 months, and triage —
three classes) fitted on ``--n-fit`` simulated patients with logistic regression and
XGBoost at its default parameters (400 trees of depth 2, no tuning); XGBoost is made the
primary model of every task (``TaskFit.primary``) so that every task is scored by a
booster. Inputs: the lumbar rows of ``simulate_cohort`` with baseline PROM scores and the
columns a registry's baseline table holds (id, site, predictors, per-level imaging); no
follow-up columns, no PROM items, so the figures are for the plain probabilities path.

``--record`` writes the section of benchmarks/RESULTS.md (replacing this script's earlier
one) with the command, the machine and its load. Run with ``make bench``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import statistics
import subprocess
import sys
import time
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from run import machine, write_section

RESULTS = Path(__file__).with_name("RESULTS.md")
KEY = "score_bulk.py"
TASKS = ("mcid_odi_12m", "mcid_nrs_back_12m", "mcid_nrs_leg_12m", "mcid_comi_12m", "triage")
STAMP = "2026-11-24T00:00:00Z"
CHUNK = 1_150_000  # simulated patients per chunk (~88% lumbar)


# --- set-up -------------------------------------------------------------------------------


def bench_key(work: Path):
    """The benchmark's own signing key, trusted in its own trust store (``work/keys``,
    ``work/trusted-keys``), which this process and its children load bundles against."""
    from prom.bundle import SigningKey, TrustStore, read_signing_key, write_key_pair

    private = work / "keys" / "score-bench.pem"
    key = read_signing_key(private) if private.exists() else SigningKey.generate("score-bench")
    if not private.exists():
        write_key_pair(key, work / "keys")
    store = TrustStore(work / "trusted-keys")
    if store.find(key.public.key_id) is None:
        store.add(key.public)
    os.environ["PROM_TRUST_STORE"] = str(store.path)
    return key


def make_bundle(path: Path, n_fit: int, key) -> Path:
    from prom.bundle import check_bundle, sign_bundle, write_bundle
    from prom.cohort import simulate_cohort
    from prom.errors import StatisticalWarning
    from prom.instruments import add_scores
    from prom.workflows import FitSettings, fit_task

    if (path / "manifest.json").exists():  # reused: signed by this benchmark's key
        if not check_bundle(path, allow_unsigned=True)[1].verified:
            sign_bundle(path, key)
        return path
    df = add_scores(simulate_cohort(n_fit, seed=2026))
    fits = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", StatisticalWarning)
        for task in TASKS:
            fit = fit_task(
                df,
                task,
                families=("logistic", "xgboost"),
                settings=FitSettings(
                    n_splits=2, n_iter=1, n_boot=10, optimism_boot=0, site_column=None, n_jobs=2
                ),
            )
            fit.primary = "xgboost"
            fits.append(fit)
    return write_bundle(path, fits, description="benchmarks/score_bulk.py", signing_key=key)


def _registry_rows(n_patients: int, seed: int, prefix: str):
    from prom.cohort import simulate_cohort
    from prom.cohort.contract import COHORT_CONTRACT
    from prom.instruments import score_table

    df = simulate_cohort(n_patients, seed=seed)
    df = df[df["region"].eq("lumbar")].reset_index(drop=True)
    scores = score_table(df, timepoints=("0m",))
    keep = [
        c.name
        for c in COHORT_CONTRACT
        if c.name in df.columns and c.role in ("id", "context", "predictor", "treatment", "imaging")
    ]
    out = df[keep].copy()
    for c in ("odi_0m", "nrs_back_0m", "nrs_leg_0m", "comi_0m"):
        out[c] = scores[c]
    if prefix:
        out["patient_id"] = prefix + out["patient_id"].astype(str)
    return out


def make_input(path: Path, n_rows: int, files: int = 1) -> Path:
    """``n_rows`` lumbar rows as one Parquet file, or a folder of ``files`` files."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    if path.exists():
        return path
    tmp = path.with_name(path.name + ".tmp")
    tmp.mkdir(parents=True, exist_ok=True)
    per = -(-n_rows // files)
    for k in range(files):
        want = min(per, n_rows - k * per)
        df = _registry_rows(int(want / 0.87) + 1000, seed=100 + k, prefix=f"C{k:02d}-")
        pq.write_table(
            pa.Table.from_pandas(df.iloc[:want], preserve_index=False),
            tmp / f"part-{k:02d}.parquet",
            row_group_size=131072,
        )
        print(f"  input {path.name}: part {k + 1}/{files} written", flush=True)
    if files == 1:
        (tmp / "part-00.parquet").rename(path)
        tmp.rmdir()
    else:
        tmp.rename(path)
    return path


# --- measurements ---------------------------------------------------------------------------


def designs(bundle_path: Path, source: Path, rows: int):
    """The first ``rows`` rows as their own file, and each primary booster with its design
    matrix of those rows (built here, outside the timings)."""
    import pyarrow.parquet as pq

    from prom.bundle import load_bundle
    from prom.cohort.derived import derive_missing

    b = load_bundle(bundle_path)
    df = (
        pq.ParquetFile(source)
        .read_row_groups(list(range(-(-rows // 131072))))
        .to_pandas()
        .iloc[:rows]
    )
    df.to_parquet(source.with_name(f"first{rows}.parquet"), row_group_size=131072)
    preds = sorted({p for t in b.tasks.values() for p in t.models[t.primary].predictors})
    df = derive_missing(df, preds)
    out = []
    for t in b.tasks.values():
        m = t.models[t.primary]
        out.append((m.estimator_.booster, m.preprocessor_.transform(df[m.predictors])))
    return out, source.with_name(f"first{rows}.parquet")


def timed(fn) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def probabilities_path(bundle: Path, source: Path, rows: int, repeats: int, work: Path) -> dict:
    import xgboost as xgb

    from prom.score import score_file

    boosters, subset = designs(bundle, source, rows)

    def run():
        return score_file(
            bundle,
            subset,
            work / "ratio.parquet",
            overwrite=True,
            scored_at=STAMP,
        )

    def inplace():
        return [b.inplace_predict(Z) for b, Z in boosters]

    def dmat():
        return [b.predict(xgb.DMatrix(Z)) for b, Z in boosters]

    run()  # warm-up: imports, first bundle load
    t = {"pipeline": [], "inplace": [], "dmatrix": []}
    for _ in range(repeats):
        t["inplace"].append(timed(inplace))
        t["pipeline"].append(timed(run))
        t["dmatrix"].append(timed(dmat))
    return {"rows": rows, **{k: statistics.median(v) for k, v in t.items()}, "all": t}


def reasons_path(bundle: Path, source: Path, rows: int, repeats: int, work: Path) -> dict:
    import xgboost as xgb

    from prom.score import score_file

    boosters, subset = designs(bundle, source, rows)

    def run():
        return score_file(
            bundle,
            subset,
            work / "reasons.parquet",
            overwrite=True,
            scored_at=STAMP,
            reasons=True,
            top_k=3,
        )

    def bare():
        return [b.predict(xgb.DMatrix(Z), pred_contribs=True) for b, Z in boosters]

    def run_a():
        return score_file(
            bundle,
            subset,
            work / "reasons_approx.parquet",
            overwrite=True,
            scored_at=STAMP,
            reasons=True,
            top_k=3,
            reasons_method="approx",
        )

    def bare_a():
        return [
            b.predict(xgb.DMatrix(Z), pred_contribs=True, approx_contribs=True) for b, Z in boosters
        ]

    t = {"pipeline": [], "contribs": [], "approx": [], "approx_contribs": []}
    for _ in range(repeats):
        t["contribs"].append(timed(bare))
        t["pipeline"].append(timed(run))
        t["approx_contribs"].append(timed(bare_a))
        t["approx"].append(timed(run_a))
    return {
        "rows": rows,
        **{k: statistics.median(v) for k, v in t.items()},
        "all": t,
        "agreement": top3_agreement(work / "reasons.parquet", work / "reasons_approx.parquet"),
    }


def top3_agreement(exact: Path, approx: Path) -> dict:
    """Per task, over the rows with reasons: the share whose approximate top 3 is the same
    set of variables as the exact top 3, and whose first reason is the same."""
    import pandas as pd

    e, a = pd.read_parquet(exact), pd.read_parquet(approx)
    out = {}
    for task in TASKS:
        cols = [f"{task}_reason_{i}" for i in (1, 2, 3)]
        have = e[cols[0]].notna().to_numpy()
        es, as_ = e.loc[have, cols].to_numpy(), a.loc[have, cols].to_numpy()
        out[task] = {
            "rows": int(have.sum()),
            "same_set": float(
                sum(set(x) == set(y) for x, y in zip(es, as_, strict=True)) / max(1, have.sum())
            ),
            "same_first": float((es[:, 0] == as_[:, 0]).mean()) if have.any() else None,
        }
    return out


# Peak memory is the child's VmHWM (high-water resident set of its own address space).
# Not ru_maxrss: that survives fork + exec, so a child of a big parent would report the
# parent's size.
CHILD = """
import json, sys, time
from prom.score import score_file
kw = json.loads(sys.argv[1])
t0 = time.perf_counter()
s = score_file(**kw)
seconds = time.perf_counter() - t0
hwm = next(int(line.split()[1]) for line in open("/proc/self/status")
           if line.startswith("VmHWM:"))
print(json.dumps({"seconds": seconds, "rows": s["rows"], "peak_rss_gb": hwm / 1024**2}))
"""


def child_run(**kw) -> dict:
    kw = {k: str(v) if isinstance(v, Path) else v for k, v in kw.items()}
    res = subprocess.run(
        [sys.executable, "-c", CHILD, json.dumps(kw)],
        capture_output=True,
        text=True,
        encoding="utf-8",
        check=False,
    )
    if res.returncode:
        raise SystemExit(f"scoring run failed:\n{res.stderr[-3000:]}")
    return json.loads(res.stdout.strip().splitlines()[-1])


# --- report ---------------------------------------------------------------------------------


def per_min(rows: int, seconds: float) -> float:
    return rows / seconds * 60 / 1e6


def block(r: dict, command: str) -> str:
    p, q = r["prob"], r["reasons"]
    lines = [
        f"## Bulk scoring (`prom score`), five-task bundle — {dt.date.today().isoformat()}",
        "",
        f"Command: `{command}`  ",
        f"Machine: {machine()}  ",
        (
            f"Load: 1-min load average {r['load'][0]:.1f} at the start and {r['load'][1]:.1f} at "
            f"the end on {os.cpu_count()} cores (the machine was shared with other jobs: "
            "compare the ratios measured side by side, not absolute seconds across sections)."
        ),
        "",
        (
            "Bundle: five tasks (mcid_odi_12m, mcid_nrs_back_12m, mcid_nrs_leg_12m, mcid_comi_12m, "
            f"triage), XGBoost primary (400 trees of depth 2; triage 3 classes), fitted on "
            f"{r['n_fit']:,} simulated patients. Inputs: lumbar rows of `simulate_cohort` with "
            "baseline scores (no items, no follow-up), Parquet, row groups of 131,072."
        ),
        "",
        "| measurement | rows | seconds (median) | M rows/min | ratio |",
        "|---|---:|---:|---:|---:|",
        (
            f"| probabilities path: `score_file` (local engine) | {p['rows']:,} | "
            f"{p['pipeline']:.2f} | {per_min(p['rows'], p['pipeline']):.2f} | |"
        ),
        (
            f"| bare `Booster.inplace_predict` × 5 models, same rows | {p['rows']:,} | "
            f"{p['inplace']:.2f} | {per_min(p['rows'], p['inplace']):.2f} | "
            f"pipeline / bare = **{p['pipeline'] / p['inplace']:.2f}** |"
        ),
        (
            f"| bare `Booster.predict(DMatrix)` × 5 models, same rows | {p['rows']:,} | "
            f"{p['dmatrix']:.2f} | {per_min(p['rows'], p['dmatrix']):.2f} | "
            f"pipeline / bare = {p['pipeline'] / p['dmatrix']:.2f} |"
        ),
        (
            f"| reasons path: `score_file --reasons` (top 3, native TreeSHAP) | {q['rows']:,} | "
            f"{q['pipeline']:.2f} | {per_min(q['rows'], q['pipeline']):.3f} | |"
        ),
        (
            f"| bare `Booster.predict(DMatrix, pred_contribs=True)` × 5, same rows | {q['rows']:,} | "
            f"{q['contribs']:.2f} | {per_min(q['rows'], q['contribs']):.3f} | "
            f"pipeline / bare = **{q['pipeline'] / q['contribs']:.2f}** |"
        ),
        (
            f"| approximate reasons: `score_file --reasons --reasons-method approx` (Saabas) | "
            f"{q['rows']:,} | {q['approx']:.2f} | {per_min(q['rows'], q['approx']):.3f} | "
            f"exact / approx = {q['pipeline'] / q['approx']:.2f} |"
        ),
        (
            f"| bare `pred_contribs=True, approx_contribs=True` × 5, same rows | {q['rows']:,} | "
            f"{q['approx_contribs']:.2f} | {per_min(q['rows'], q['approx_contribs']):.3f} | "
            f"pipeline / bare = {q['approx'] / q['approx_contribs']:.2f} |"
        ),
    ]
    for label, m in r["memory"].items():
        lines.append(
            f"| {label}: local engine, child process | {m['rows']['read']:,} | "
            f"{m['seconds']:.1f} | {per_min(m['rows']['read'], m['seconds']):.2f} | "
            f"peak RSS **{m['peak_rss_gb']:.2f} GB** |"
        )
    if r.get("dask"):
        d = r["dask"]
        lines += [
            (
                f"| 1M rows, local engine (same run as Dask below) | {d['rows']:,} | "
                f"{d['local']:.1f} | {per_min(d['rows'], d['local']):.2f} | |"
            ),
            (
                f"| 1M rows, Dask LocalCluster, 2 worker processes × 1 thread | {d['rows']:,} | "
                f"{d['dask']:.1f} | {per_min(d['rows'], d['dask']):.2f} | "
                f"Dask / local = {d['dask'] / d['local']:.2f} |"
            ),
        ]
    lines += [
        "",
        (
            "Repeats (seconds, in the order run): "
            f"probabilities {json.dumps({k: [round(x, 2) for x in v] for k, v in p['all'].items()})}; "
            f"reasons {json.dumps({k: [round(x, 2) for x in v] for k, v in q['all'].items()})}."
        ),
        "",
        "Approximate reasons against exact TreeSHAP, same rows (top 3 per task): "
        + "; ".join(
            f"{t} same set of 3 {g['same_set']:.1%}, same first {g['same_first']:.1%}"
            for t, g in q["agreement"].items()
        )
        + ".",
        "",
        r["verdict"],
    ]
    return "\n".join(lines)


def verdict(r: dict) -> str:
    p = r["prob"]
    big = r["memory"].get("10M rows")
    rate = (
        per_min(big["rows"]["read"], big["seconds"]) if big else per_min(p["rows"], p["pipeline"])
    )
    ratio = p["pipeline"] / p["inplace"]
    peaks = [m["peak_rss_gb"] for m in r["memory"].values()]
    parts = [
        (
            f"Targets: ≥ 5 M rows/min — {'met' if rate >= 5 else 'not met'} ({rate:.2f} M rows/min"
            f"{' at 10M rows' if big else ''}); within 2× of the bare booster calls — "
            f"{'met' if ratio <= 2 else 'not met'} ({ratio:.2f}× `inplace_predict`); peak memory "
            f"≤ 1.5 GB — {'met' if peaks and max(peaks) <= 1.5 else 'not met'} "
            f"({', '.join(f'{x:.2f}' for x in peaks)} GB)."
        ),
    ]
    return " ".join(parts)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "--work",
        type=Path,
        default=Path("/tmp/prom_score_bench"),
        help="folder for the bundle, inputs and outputs (reused when present)",
    )
    ap.add_argument("--n-fit", type=int, default=8000, help="simulated patients to fit on")
    ap.add_argument(
        "--ratio-rows",
        type=int,
        default=1_000_000,
        help="rows of the side-by-side ratio runs (fixed costs — bundle load, id "
        "pass — amortised as in a registry run)",
    )
    ap.add_argument("--reason-rows", type=int, default=20_000)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument(
        "--big-rows", type=int, default=10_000_000, help="rows of the large memory run (0: skip)"
    )
    ap.add_argument("--no-dask", action="store_true")
    ap.add_argument("--record", action="store_true", help="write the section of RESULTS.md")
    args = ap.parse_args(argv)
    work = args.work
    work.mkdir(parents=True, exist_ok=True)
    load0 = os.getloadavg()[0]
    print("bundle …", flush=True)
    bundle = make_bundle(work / "bundle", args.n_fit, bench_key(work))
    print("inputs …", flush=True)
    one = make_input(work / "rows_1m.parquet", 1_000_000)
    big = (
        make_input(work / f"rows_{args.big_rows // 1_000_000}m", args.big_rows, files=10)
        if args.big_rows
        else None
    )
    r: dict = {"n_fit": args.n_fit}
    print("probabilities path …", flush=True)
    r["prob"] = probabilities_path(bundle, one, args.ratio_rows, args.repeats, work)
    print(r["prob"], flush=True)
    print("reasons path …", flush=True)
    r["reasons"] = reasons_path(bundle, one, args.reason_rows, max(2, args.repeats - 1), work)
    print(r["reasons"], flush=True)
    print("memory …", flush=True)
    r["memory"] = {
        "1M rows": child_run(
            bundle=bundle, source=one, out=work / "out_1m.parquet", overwrite=True, scored_at=STAMP
        )
    }
    print(r["memory"], flush=True)
    if big is not None:
        r["memory"]["10M rows"] = child_run(
            bundle=bundle, source=big, out=work / "out_10m.parquet", overwrite=True, scored_at=STAMP
        )
        print(r["memory"], flush=True)
    if not args.no_dask:
        print("dask …", flush=True)
        local = child_run(
            bundle=bundle, source=one, out=work / "local.parquet", overwrite=True, scored_at=STAMP
        )
        dask = child_run(
            bundle=bundle,
            source=one,
            out=work / "dask.parquet",
            overwrite=True,
            scored_at=STAMP,
            engine="dask",
            n_workers=2,
        )
        same = (work / "local.parquet").read_bytes() == (work / "dask.parquet").read_bytes()
        r["dask"] = {
            "rows": local["rows"]["read"],
            "local": local["seconds"],
            "dask": dask["seconds"],
            "identical": same,
        }
        print(r["dask"], flush=True)
    r["load"] = (load0, os.getloadavg()[0])
    r["verdict"] = verdict(r) + (
        f" Dask and local outputs byte-identical: {r['dask']['identical']}."
        if r.get("dask")
        else ""
    )
    command = "python benchmarks/score_bulk.py" + (" --record" if args.record else "")
    text = block(r, command)
    print(text)
    if args.record:
        write_section(KEY, text)
        print(f"\nrecorded in {RESULTS}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
