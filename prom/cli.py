"""The ``prom`` command.

Every sub-command has ``--help``. Start with ``prom demo`` to see the whole flow on a
simulated cohort, then ``prom simulate`` / ``prom validate`` / ``prom score-proms`` on
your own files.
"""

from __future__ import annotations

import sys
from enum import Enum
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

app = typer.Typer(
    name="prom",
    help="Clinical outcome prediction for spine care: PROM scoring, MCID outcomes, "
    "cohort validation and simulation.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode="markdown",
)
console = Console()
if not console.is_terminal:  # pipes, CI logs: wide enough that tables keep their names whole
    console = Console(width=110)
err_console = Console(stderr=True)


class Mode(str, Enum):
    strict = "strict"
    lenient = "lenient"


DataOpt = Annotated[
    Path,
    typer.Option(
        "--data", "-d", help="Cohort table: .csv, .csv.gz, .parquet (file or folder) or .duckdb"
    ),
]
TableOpt = Annotated[str | None, typer.Option("--table", help="Table name inside a DuckDB file")]
MappingOpt = Annotated[
    Path | None,
    typer.Option(
        "--mapping", "-m", help="YAML column-mapping file (your names/units → the contract)"
    ),
]


def _fail(message: str, code: int = 2) -> None:
    err_console.print(f"[bold red]error:[/] {message}")
    raise typer.Exit(code)


def _load(data: Path, table: str | None, mapping: Path | None):
    from prom.cohort.readers import load_cohort
    from prom.errors import PromError

    try:
        df, log = load_cohort(data, table=table, mapping=mapping)
    except (PromError, FileNotFoundError, ValueError, TypeError) as e:
        _fail(str(e))
    if log is not None:
        err_console.print(f"[dim]mapping applied: {log.summary_line()}[/]")
    return df


def _problems_table(problems, limit: int = 40) -> Table:
    t = Table(title="Data-contract problems", show_lines=False)
    for c in ("severity", "column", "check", "n_rows", "rows", "values", "expected"):
        t.add_column(c, overflow="fold")
    for _, p in problems.head(limit).iterrows():
        style = "red" if p["severity"] == "error" else "yellow"
        rows = p["rows"]
        rows_txt = (
            ", ".join(map(str, rows[:6])) + (" …" if len(rows) > 6 else "")
            if isinstance(rows, (list, tuple))
            else str(rows)
        )
        vals = p["values"]
        vals_txt = ", ".join(map(repr, vals[:4])) if isinstance(vals, (list, tuple)) else str(vals)
        t.add_row(
            f"[{style}]{p['severity']}[/]",
            str(p["column"]),
            str(p["check"]),
            str(p["n_rows"]),
            rows_txt,
            vals_txt,
            str(p["expected"]),
        )
    return t


@app.command()
def simulate(
    out: Annotated[Path, typer.Option("--out", "-o", help="Output file (.parquet or .csv)")],
    n: Annotated[int, typer.Option("--n", help="Number of patients", min=1)] = 5000,
    seed: Annotated[int, typer.Option(help="Random seed (same seed, same cohort)")] = 0,
    sites: Annotated[int, typer.Option(help="Number of sites (≥ 5)", min=5)] = 6,
    missingness: Annotated[
        bool, typer.Option(help="Add MCAR/MAR missingness and loss to follow-up")
    ] = True,
) -> None:
    """Simulate a cohort with a documented data-generating process and known truth.

    The output holds PROM item answers at 0, 1, 3 and 12 months (not scores: score them
    with `prom score-proms`), demographics, treatment, imaging features, time to surgery,
    and `true_p_<task>` columns with each patient's true outcome probability.

    Example: prom simulate --n 20000 --seed 1 --out cohort.parquet
    """
    from prom.cohort.simulate import simulate_cohort
    from prom.cohort.writers import write_table

    with console.status(f"simulating {n:,} patients"):
        df = simulate_cohort(n, seed=seed, n_sites=sites, missingness=missingness)
    write_table(df, out)
    console.print(f"wrote {len(df):,} patients × {df.shape[1]} columns to {out}")


@app.command()
def validate(
    data: DataOpt,
    table: TableOpt = None,
    mapping: MappingOpt = None,
    mode: Annotated[
        Mode,
        typer.Option(
            help="strict: unknown columns and coercible types are errors; lenient: warnings"
        ),
    ] = Mode.strict,
    report: Annotated[Path | None, typer.Option(help="Write the problem table to this CSV")] = None,
) -> None:
    """Check a cohort table against the data contract and report every problem at once.

    Exit code 0 when there are no errors, 1 when there are.

    Example: prom validate --data registry.csv --mapping registry.yaml --mode lenient
    """
    from prom.cohort.validate import validate_cohort

    df = _load(data, table, mapping)
    rep = validate_cohort(df, mode=mode.value)
    if len(rep.problems):
        console.print(_problems_table(rep.problems))
        if report is not None:
            from prom.cohort.writers import write_table

            write_table(rep.problems.astype({"rows": str, "values": str}), report)
            console.print(f"problem table written to {report}")
    n_err = int((rep.problems["severity"] == "error").sum()) if len(rep.problems) else 0
    n_warn = len(rep.problems) - n_err
    colour = "green" if rep.ok else "red"
    console.print(f"[{colour}]{len(df):,} rows checked: {n_err} error(s), {n_warn} warning(s)[/]")
    raise typer.Exit(0 if rep.ok else 1)


@app.command("score-proms")
def score_proms(
    data: DataOpt,
    out: Annotated[Path, typer.Option("--out", "-o", help="Output file (.parquet or .csv)")],
    table: TableOpt = None,
    mapping: MappingOpt = None,
    threshold: Annotated[
        list[str] | None,
        typer.Option(
            "--threshold",
            "-t",
            help="Override a task's MCID definition: TASK=THRESHOLD_ID (see `prom thresholds`)",
        ),
    ] = None,
    odi_max_missing: Annotated[
        int | None,
        typer.Option(help="ODI sections allowed missing (default 1, Fairbank & Pynsent 2000)"),
    ] = None,
) -> None:
    """Score PROM items (ODI, NRS, COMI, mJOA) and derive every task's MCID labels.

    Writes the input columns plus scores (`odi_0m`, …), reasons for withheld scores,
    severity bands, and one column per task with its label and `<task>_reason`.

    Example: prom score-proms --data cohort.parquet --out scored.parquet -t mcid_odi_12m=odi_norspine_ldh
    """
    from prom.cohort.writers import write_table
    from prom.errors import PromError
    from prom.instruments import INSTRUMENTS, ODI, score_table
    from prom.outcomes import derive_labels

    df = _load(data, table, mapping)
    overrides = {}
    for spec in threshold or []:
        if "=" not in spec:
            _fail(
                f"--threshold {spec!r}: expected TASK=THRESHOLD_ID, e.g. mcid_odi_12m=odi_fuse_ml"
            )
        k, v = spec.split("=", 1)
        overrides[k.strip()] = v.strip()
    insts = list(INSTRUMENTS.values())
    if odi_max_missing is not None:
        insts = [ODI(max_missing=odi_max_missing) if i.key == "odi" else i for i in insts]
    try:
        scores = score_table(df, instruments=insts)
        scored = df.drop(columns=[c for c in scores.columns if c in df.columns]).join(scores)
        labels = derive_labels(scored, thresholds=overrides)
    except (PromError, ValueError) as e:
        _fail(str(e))
    result = scored.join(labels)
    write_table(result, out)
    t = Table(title="Scores and labels")
    for c in ("column", "scored / labelled", "missing", "mean or prevalence"):
        t.add_column(c)
    for c in [c for c in scores.columns if not c.endswith(("_reason", "_band", "_version"))]:
        s = scores[c]
        t.add_row(c, f"{s.notna().sum():,}", f"{s.isna().sum():,}", f"{s.mean():.1f}")
    for c in [c for c in labels.columns if not c.endswith("_reason")]:
        s = labels[c]
        desc = f"{s.mean():.1%}" if s.dtype.kind == "f" and not c.endswith("_time") else ""
        t.add_row(c, f"{s.notna().sum():,}", f"{s.isna().sum():,}", desc)
    console.print(t)
    console.print(f"wrote {len(result):,} rows to {out}")


def _score_if_needed(df):
    """Score PROM items when item columns are present but scores are not."""
    from prom.instruments import score_table

    scores = score_table(df)
    new = [c for c in scores.columns if c not in df.columns]
    if new:
        err_console.print(
            f"[dim]scored PROM items: {len([c for c in new if not c.endswith(('_reason', '_band', '_version'))])} score column(s) added[/]"
        )
        df = df.join(scores[new])
    return df


def _comparison_table(fit) -> Table:
    tab = fit.comparison.table
    t = Table(
        title=f"{fit.task_name}: every model against logistic regression "
        f"(out-of-fold, {fit.settings['n_splits']}-fold CV; n = {fit.n:,})"
    )
    t.add_column("model", no_wrap=True)
    for c in ("AUC (95% CI)", "ΔAUC (p)", "Brier", "ΔBrier (95% CI)", "cal. slope", "verdict"):
        t.add_column(c, overflow="fold")
    for name, r in tab.iterrows():
        d_auc = (
            ""
            if name == fit.baseline or pd_isna(r.get("delta_auc"))
            else (
                f"{r['delta_auc']:+.3f}"
                + ("" if pd_isna(r.get("delta_auc_p")) else f" (p={r['delta_auc_p']:.3f})")
            )
        )
        d_b = (
            ""
            if name == fit.baseline
            else (
                f"{r['delta_brier']:+.4f} ({r['delta_brier_low']:+.4f}, {r['delta_brier_high']:+.4f})"
            )
        )
        slope = (
            ""
            if pd_isna(r.get("calibration_slope", float("nan")))
            else f"{r['calibration_slope']:.2f}"
        )
        style = {"better": "green", "worse": "red"}.get(r["verdict"], "")
        t.add_row(
            ("* " if name == fit.primary else "  ") + str(name),
            f"{r['auc']:.3f} ({r['auc_low']:.3f}–{r['auc_high']:.3f})",
            d_auc,
            f"{r['brier']:.4f}",
            d_b,
            slope,
            f"[{style}]{r['verdict']}[/]" if style else str(r["verdict"]),
        )
    return t


def pd_isna(x) -> bool:
    import pandas as pd

    return x is None or bool(pd.isna(x))


@app.command()
def fit(
    data: DataOpt,
    out: Annotated[Path, typer.Option("--out", "-o", help="Bundle directory to write")],
    task: Annotated[
        list[str] | None,
        typer.Option("--task", help="Built-in task (repeat for several; `prom tasks` lists them)"),
    ] = None,
    target: Annotated[
        str | None, typer.Option(help="Instead of --task: any 0/1 column of your table")
    ] = None,
    predictors: Annotated[
        str | None,
        typer.Option(
            help="Comma-separated predictor columns (default: the task's candidates present in the table)"
        ),
    ] = None,
    threshold: Annotated[
        str | None,
        typer.Option(
            "--threshold", "-t", help="MCID definition for the (single) task, e.g. odi_fuse_ml"
        ),
    ] = None,
    models: Annotated[
        str | None,
        typer.Option(
            help="Comma-separated families (default: logistic,elastic_net,random_forest,xgboost,lightgbm; logistic is always included as the baseline). Survival task: cox,cox_ridge (the default)"
        ),
    ] = None,
    folds: Annotated[int, typer.Option(help="Outer CV folds", min=2)] = 5,
    n_iter: Annotated[
        int, typer.Option(help="Random-search budget per family (inner CV)", min=1)
    ] = 10,
    boot: Annotated[
        int, typer.Option(help="Bootstrap replicates for the comparison CIs", min=10)
    ] = 200,
    optimism_boot: Annotated[
        int,
        typer.Option(help="Bootstrap refits for the logistic model's optimism (0: skip)", min=0),
    ] = 100,
    site_column: Annotated[
        str, typer.Option(help="Column for internal–external validation")
    ] = "site",
    seed: Annotated[int, typer.Option(help="Random seed")] = 0,
    jobs: Annotated[int, typer.Option(help="Parallel worker processes", min=1)] = 2,
    table: TableOpt = None,
    mapping: MappingOpt = None,
    overwrite: Annotated[bool, typer.Option(help="Replace an existing bundle directory")] = False,
) -> None:
    """Fit, validate and compare models for a task; write a model bundle.

    Every family (logistic regression, elastic net, random forest, XGBoost, LightGBM) is
    tuned and calibrated inside cross-validation, compared with logistic regression on the
    same out-of-fold predictions (ΔAUC with DeLong p, ΔBrier and Δ net benefit with
    bootstrap CIs, calibration slope, a verdict), validated site by site, and refitted on
    all rows. The bundle holds every model in a safe format, with a manifest of hashes.

    Examples:

      prom fit --data cohort.parquet --task mcid_odi_12m --out bundles/odi

      prom fit --data my.csv --mapping my.yaml --target good_outcome --out bundles/mine
    """
    import warnings as _w

    from prom.bundle import write_bundle
    from prom.errors import PromError, StatisticalWarning
    from prom.workflow import FAMILIES, fit_task
    from prom.workflow_survival import SURVIVAL_FAMILIES

    if bool(task) == bool(target):
        _fail("give --task TASK (one or more) or --target COLUMN")
    if out.exists() and not overwrite:
        _fail(f"{out} exists; choose another --out or pass --overwrite")
    fams = [m.strip() for m in models.split(",") if m.strip()] if models else None
    unknown = sorted(set(fams or ()) - set(FAMILIES) - set(SURVIVAL_FAMILIES))
    if unknown:
        _fail(
            f"unknown model family {', '.join(unknown)}; choose from {', '.join(FAMILIES)} "
            f"(survival task: {', '.join(SURVIVAL_FAMILIES)})"
        )
    if threshold and task and len(task) > 1:
        _fail("--threshold applies to one task; fit tasks with different definitions separately")
    df = _score_if_needed(_load(data, table, mapping))
    preds = [p.strip() for p in predictors.split(",")] if predictors else None
    fits = []
    targets = [(t, None) for t in task] if task else [(None, target)]
    with console.status("fitting") as status:
        for t, tg in targets:
            try:
                with _w.catch_warnings(record=True) as caught:
                    _w.simplefilter("always", StatisticalWarning)
                    f = fit_task(
                        df,
                        t,
                        target=tg,
                        predictors=preds,
                        threshold=threshold,
                        families=fams,
                        n_splits=folds,
                        n_iter=n_iter,
                        n_boot=boot,
                        optimism_boot=optimism_boot,
                        site_column=site_column,
                        random_state=seed,
                        n_jobs=jobs,
                        progress=lambda m: status.update(m),
                    )
            except (PromError, ValueError, TypeError) as e:
                _fail(str(e))
            fits.append(f)
            if f.kind == "survival":  # no comparison table: see SurvivalTaskFit.summary
                console.print(f.summary(), markup=False, highlight=False)
                console.print(
                    "rows: " + ", ".join(f"{k} {v:,}" for k, v in f.row_accounting.items())
                )
                continue
            console.print(_comparison_table(f))
            console.print("rows: " + ", ".join(f"{k} {v:,}" for k, v in f.row_accounting.items()))
            for name, res in f.iecv.items():
                meta = res.meta
                if "auc" in meta.index:
                    m = meta.loc["auc"]
                    console.print(
                        f"{name}, leave-one-site-out: pooled AUC {m['estimate']:.3f} "
                        f"({m['low']:.3f}–{m['high']:.3f}), prediction interval "
                        f"{m['pi_low']:.3f}–{m['pi_high']:.3f} over {int(m['k'])} sites"
                    )
            for name, res in f.optimism.items():
                tab = res.table
                console.print(
                    f"{name}, bootstrap optimism ({res.n_boot} refits): AUC apparent "
                    f"{tab.loc['auc', 'apparent']:.3f}, corrected {tab.loc['auc', 'corrected']:.3f}"
                )
            for w in {str(c.message) for c in caught}:
                console.print(f"[yellow]caution:[/] {w}")
            console.print(
                f"primary model: [bold]{f.primary}[/]"
                + ("" if f.primary != "logistic" else " (no family beat logistic regression)")
            )
    path = write_bundle(out, fits, overwrite=overwrite, description=f"prom fit on {data.name}")
    from prom.bundle import verify_bundle

    console.print(f"bundle written to {path} (id {verify_bundle(path)['bundle_id'][:12]})")


@app.command()
def evaluate(
    bundle: Annotated[
        Path, typer.Option("--bundle", "-b", help="Bundle directory written by `prom fit`")
    ],
    data: DataOpt,
    recalibrate: Annotated[
        str,
        typer.Option(
            help="none, intercept or intercept_slope: refit calibration on these rows (survival task: intercept re-estimates the Cox baseline hazard; intercept_slope is refused)"
        ),
    ] = "none",
    out: Annotated[
        Path | None,
        typer.Option("--out", "-o", help="With --recalibrate: write the recalibrated bundle here"),
    ] = None,
    table: TableOpt = None,
    mapping: MappingOpt = None,
) -> None:
    """Validate a bundle on new data (e.g. a new site), optionally recalibrating it.

    Labels are derived exactly as the bundle defines them. Reports AUC (DeLong CI),
    calibration-in-the-large, calibration slope, O/E and Brier for every model; with
    --recalibrate, the same after a logistic recalibration on these rows. A survival task
    reports Harrell's C, the calibration slope and predicted against Kaplan–Meier risk at
    the bundle's horizon.

    Example: prom evaluate --bundle bundles/odi --data site7.csv --recalibrate intercept --out bundles/odi_site7
    """
    from prom.bundle import BundleError, load_bundle, write_bundle
    from prom.errors import PromError
    from prom.evaluate import evaluate_bundle, recalibrated_fits

    try:
        b = load_bundle(bundle)
    except BundleError as e:
        _fail(str(e))
    df = _score_if_needed(_load(data, table, mapping))
    try:
        res = evaluate_bundle(b, df, recalibrate=recalibrate)
    except (PromError, ValueError) as e:
        _fail(str(e))
    for name, tab in res.tables.items():
        t = Table(title=f"{name} on {data.name}")
        for c in tab.columns:
            t.add_column(c, no_wrap=c == "model")
        for _, r in tab.iterrows():
            t.add_row(*[f"{v:.3f}" if isinstance(v, float) else str(v) for v in r])
        console.print(t)
        console.print(
            "rows: " + ", ".join(f"{k} {v:,}" for k, v in res.row_accounting[name].items())
        )
    for w in res.warnings:
        console.print(f"[yellow]caution:[/] {w}")
    if out is not None:
        if recalibrate == "none":
            _fail(
                "--out writes a recalibrated bundle; give --recalibrate intercept or intercept_slope"
            )
        path = write_bundle(out, recalibrated_fits(b, res, f"{recalibrate} on {data.name}"))
        console.print(f"recalibrated bundle written to {path}")


@app.command()
def report(
    bundle: Annotated[
        Path, typer.Option("--bundle", "-b", help="Bundle directory written by `prom fit`")
    ],
    out: Annotated[
        Path, typer.Option("--out", "-o", help="HTML file to write, e.g. reports/odi.html")
    ],
    data: Annotated[
        Path | None,
        typer.Option(
            "--data",
            "-d",
            help="Cohort table whose rows the SHAP summaries explain (optional; without it the report has no SHAP section)",
        ),
    ] = None,
    task: Annotated[
        list[str] | None,
        typer.Option(
            "--task", help="Only this task (repeat for several; default: every task in the bundle)"
        ),
    ] = None,
    shap_rows: Annotated[
        int,
        typer.Option(
            help="Rows explained per task for SHAP (a random sample of the task's labelled rows)",
            min=10,
        ),
    ] = 500,
    seed: Annotated[int, typer.Option(help="Seed of the SHAP row sample")] = 0,
    table: TableOpt = None,
    mapping: MappingOpt = None,
) -> None:
    """Write a self-contained HTML report of a bundle: one part per task.

    Table 1 by outcome, missingness, the Riley sample-size check, the comparison with
    logistic regression, ROC, calibration and decision curves, internal–external results
    by site, odds ratios, SHAP summaries (with --data), a model card and a TRIPOD+AI
    checklist. Numbers come from the bundle's manifest and validation record (verified by
    SHA-256); the file has no external resources and opens offline.

    Example: prom report --bundle demo_out/bundle --data demo_out/cohort_scored.parquet --out reports/demo.html
    """
    from prom.bundle import BundleError, verify_bundle
    from prom.errors import PromError
    from prom.report import write_report

    if out.suffix.lower() not in (".html", ".htm"):
        _fail(f"--out {str(out)!r}: expected a file name ending in .html")
    try:
        verify_bundle(bundle)  # before reading any data
    except BundleError as e:
        _fail(str(e))
    df = _score_if_needed(_load(data, table, mapping)) if data is not None else None
    try:
        with console.status("writing the report"):
            path = write_report(
                bundle, out, data=df, tasks=task, shap_rows=shap_rows, random_state=seed
            )
    except (PromError, ValueError) as e:
        _fail(str(e))
    console.print(f"report written to {path} ({path.stat().st_size / 1e6:.1f} MB)")


@app.command()
def thresholds(
    instrument: Annotated[
        str | None, typer.Option(help="Only this instrument: odi, nrs_back, nrs_leg, comi, mjoa")
    ] = None,
) -> None:
    """List the registered MCID thresholds with their definitions and sources."""
    from prom.instruments.mcid import list_thresholds

    tab = list_thresholds(instrument)
    t = Table(title="MCID thresholds")
    t.add_column("id", no_wrap=True)
    for c in ("definition", "population"):
        t.add_column(c, overflow="fold")
    for _, r in tab.iterrows():
        t.add_row(r["id"], r["definition"], r["population"])
    console.print(t)


@app.command()
def tasks() -> None:
    """List the prediction tasks: label, population and number of candidate predictors."""
    from prom.outcomes import TASKS

    t = Table(title="Prediction tasks")
    t.add_column("task", no_wrap=True)
    for c in ("kind", "description", "population", "predictors", "default MCID"):
        t.add_column(c, overflow="fold")
    for task in TASKS.values():
        pop = "; ".join(f"{k} ∈ {{{', '.join(v)}}}" for k, v in task.population.items())
        t.add_row(
            task.name,
            task.kind,
            task.description,
            pop,
            str(len(task.predictors)),
            task.threshold or "",
        )
    console.print(t)


@app.command()
def demo(
    out: Annotated[Path, typer.Option("--out", "-o", help="Folder for the demo's files")] = Path(
        "demo_out"
    ),
    n: Annotated[int, typer.Option("--n", help="Patients to simulate", min=500)] = 20000,
    seed: Annotated[int, typer.Option(help="Random seed")] = 2026,
    fit_models: Annotated[
        bool, typer.Option("--fit/--no-fit", help="Also fit and compare models for every task")
    ] = True,
    n_fit: Annotated[int, typer.Option(help="Patients used for model fitting", min=500)] = 4000,
) -> None:
    """Run the whole flow on a simulated cohort and print a summary.

    simulate → score PROM items → derive every task's labels → validate against the
    contract → prevalences and oracle AUCs (the ceiling any model can reach) → fit every
    model family for every task, compare each with logistic regression, and write a
    demonstration bundle.
    """
    from prom.demo import run_demo

    code = run_demo(out, n=n, seed=seed, console=console, fit_models=fit_models, n_fit=n_fit)
    raise typer.Exit(code)


@app.command()
def features(
    mri: Annotated[
        Path,
        typer.Option(
            "--mri",
            help="An image file (NIfTI/MHA/NRRD), a folder of them, a DICOM series folder, or a folder of DICOM series folders (one per patient)",
        ),
    ],
    out: Annotated[
        Path, typer.Option("--out", "-o", help="Wide table, one row per patient (.csv or .parquet)")
    ],
    masks: Annotated[
        Path | None,
        typer.Option(
            "--masks",
            help="Mask file, or folder of masks matched by patient id (`<id>_mask.nii.gz`); without it the bundled network segments",
        ),
    ] = None,
    convention: Annotated[
        str | None,
        typer.Option(
            "--convention",
            help="Label convention of the masks: three_class (default), spider, spineps_instance, spineps_semantic, totalspineseg, totalspineseg_2024",
        ),
    ] = None,
    workers: Annotated[
        int, typer.Option("--workers", "-j", help="Parallel worker processes", min=1)
    ] = 1,
    radiomics: Annotated[
        bool,
        typer.Option(
            "--radiomics/--no-radiomics",
            help="Also compute pyradiomics features (geometry is always computed)",
        ),
    ] = True,
    params: Annotated[
        Path | None,
        typer.Option(
            "--params", help="pyradiomics parameter YAML (default: the bundled sagittal_2d.yaml)"
        ),
    ] = None,
    long_out: Annotated[
        Path | None,
        typer.Option("--long-out", help="Also write the long table, one row per patient × level"),
    ] = None,
    errors: Annotated[
        Path | None,
        typer.Option(
            "--errors",
            help="Error log (CSV) for failed cases; default `<out stem>_errors.csv` next to --out, written only when a case fails",
        ),
    ] = None,
) -> None:
    """Per-level MRI features (geometry and radiomics) of lumbar sagittal T2 scans.

    Each image is read, segmented (or its mask read), its levels named (the lowest
    visible disc is taken as L5/S1), and measured. The wide table has one row per patient
    with `img_<level>_<feature>` columns, joinable to a cohort on `patient_id`, plus
    `prov_*` provenance columns (file hashes, parameter hash, versions).

    A case that fails does not stop the others: it is listed in the error log. Exit
    code 0 when at least one case succeeded, 1 when every case failed, 2 for bad options.

    Examples:

      prom features --mri scans/ --out features.parquet

      prom features --mri scans/ --masks masks/ --convention spider --workers 2 --out features.csv --long-out levels.csv
    """
    from prom.cohort.writers import write_table
    from radiomics_features.labels import CONVENTIONS
    from radiomics_features.pipeline import extract_batch, find_cases

    if convention is not None and convention not in CONVENTIONS:
        _fail(
            f"--convention {convention!r} is not a known label convention; choose from "
            f"{', '.join(CONVENTIONS)}"
        )
    for path, opt in ((out, "--out"), (long_out, "--long-out")):
        if path is not None and not path.name.lower().endswith((".csv", ".csv.gz", ".parquet")):
            _fail(f"{opt} {str(path)!r}: expected a .csv, .csv.gz or .parquet file name")
    run_params = None
    if radiomics:
        from radiomics_features.radiomic import (
            RadiomicsParamsError,
            load_params,
            require_pyradiomics,
        )

        try:
            require_pyradiomics()
            run_params = load_params(params)
        except (ImportError, FileNotFoundError, RadiomicsParamsError) as e:
            _fail(
                f"{e}"
                + (
                    ""
                    if isinstance(e, RadiomicsParamsError)
                    else "; or run with --no-radiomics for geometry only"
                )
            )
    elif params is not None:
        _fail("--params applies to radiomics; drop it or drop --no-radiomics")
    try:
        cases = find_cases(mri, masks)
    except (FileNotFoundError, ValueError) as e:
        _fail(str(e))
    if not cases:
        _fail(
            f"no images found in {str(mri)!r}; expected .nii.gz/.nii/.mha/.nrrd files or "
            "DICOM series folders"
        )

    if err_console.is_terminal:
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

        with Progress(
            "[progress.description]{task.description}",
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=err_console,
        ) as bar:
            task = bar.add_task("extracting features", total=len(cases))
            res = extract_batch(
                cases,
                workers=workers,
                params=run_params,
                radiomics=radiomics,
                convention=convention,
                progress=lambda done, total: bar.update(task, completed=done),
            )
    else:
        res = extract_batch(
            cases, workers=workers, params=run_params, radiomics=radiomics, convention=convention
        )

    written = []
    if res.n_ok:
        written.append(f"wide table → {write_table(res.wide, out)}")
        if long_out is not None:
            written.append(f"long table → {write_table(res.long, long_out)}")
    if res.n_failed:
        err_path = (
            errors if errors is not None else out.with_name(out.name.split(".")[0] + "_errors.csv")
        )
        written.append(f"error log → {write_table(res.errors, err_path)}")
        for _, e in res.errors.head(5).iterrows():
            err_console.print(
                f"[red]failed[/] {e['patient_id']} at {e['stage']}: "
                f"{e['error_type']}: {e['message'][:200]}"
            )
        if res.n_failed > 5:
            err_console.print(f"… and {res.n_failed - 5} more in the error log")
    colour = "green" if not res.n_failed else ("yellow" if res.n_ok else "red")
    console.print(f"[{colour}]{res.n_cases} case(s) read: {res.n_ok} ok, {res.n_failed} failed[/]")
    for line in written:
        console.print(line)
    if not res.n_ok:
        console.print("nothing written for the features: every case failed")
    raise typer.Exit(0 if res.n_ok else 1)


class Engine(str, Enum):
    local = "local"
    dask = "dask"


class ReasonsMethod(str, Enum):
    exact = "exact"
    approx = "approx"


@app.command()
def score(
    bundle: Annotated[
        Path, typer.Option("--bundle", "-b", help="Bundle directory written by `prom fit`")
    ],
    input: Annotated[
        Path,
        typer.Option(
            "--input",
            "-i",
            help="Table to score: .csv, .csv.gz, .parquet (file or partitioned folder) or .duckdb",
        ),
    ],
    out: Annotated[
        Path, typer.Option("--out", "-o", help="Scored rows: .parquet, .csv or .csv.gz")
    ],
    table: TableOpt = None,
    mapping: MappingOpt = None,
    quarantine: Annotated[
        Path | None,
        typer.Option(help="Quarantine CSV (default: next to --out, named STEM.quarantine.csv)"),
    ] = None,
    summary: Annotated[
        Path | None,
        typer.Option(help="Summary JSON (default: next to --out, named STEM.summary.json)"),
    ] = None,
    reasons: Annotated[
        bool, typer.Option("--reasons", help="Top-k SHAP reasons for every scored row")
    ] = False,
    reasons_above: Annotated[
        float | None,
        typer.Option(
            "--reasons-above",
            help="Reasons only where a task's probability is at least P",
            min=0.0,
            max=1.0,
        ),
    ] = None,
    top_k: Annotated[int, typer.Option("--top-k", help="Reasons per task and row", min=1)] = 3,
    reasons_method: Annotated[
        ReasonsMethod,
        typer.Option(
            "--reasons-method",
            help="exact (TreeSHAP), or approx: XGBoost models' Saabas attribution, about 5x faster, not SHAP (other models stay exact)",
        ),
    ] = ReasonsMethod.exact,
    strict: Annotated[
        bool, typer.Option("--strict", help="Stop at the first bad row (nothing is written)")
    ] = False,
    scored_at: Annotated[
        str | None,
        typer.Option(
            "--scored-at",
            help="The run's time stamp, ISO 8601 UTC (default: now); the same value reproduces the same bytes",
        ),
    ] = None,
    batch_rows: Annotated[int, typer.Option(help="Rows per batch", min=1)] = 65536,
    engine: Annotated[Engine, typer.Option(help="local, or dask (Parquet input)")] = Engine.local,
    scheduler: Annotated[
        str | None, typer.Option(help="Dask scheduler address (default: a LocalCluster)")
    ] = None,
    workers: Annotated[
        int, typer.Option(help="LocalCluster workers (--engine dask without --scheduler)", min=1)
    ] = 2,
    overwrite: Annotated[bool, typer.Option(help="Replace an existing output file")] = False,
) -> None:
    """Score a registry's table with a bundle: probabilities, flags, provenance; bad rows quarantined.

    Streams the input in batches; rows failing the data contract go to the quarantine
    file (row, column, check, value, expected) and every input row is accounted for in the
    summary (scored + quarantined = read), which also holds drift against the training
    data and observed-vs-expected calibration where outcomes are present. The output is
    written under a temporary name and renamed only when complete.

    Examples:

      prom score -b bundles/odi -i registry.parquet -o scored.parquet --scored-at 2026-11-24T00:00:00Z

      prom score -b B -i registry/ -o scored.parquet --engine dask --scheduler tcp://10.0.0.5:8786
    """
    from prom.errors import PromError
    from prom.score import score_file, summary_lines

    try:
        report = score_file(
            bundle,
            input,
            out,
            table=table,
            mapping=mapping,
            quarantine=quarantine,
            summary=summary,
            reasons=reasons,
            reasons_above=reasons_above,
            top_k=top_k,
            reasons_method=reasons_method.value,
            strict=strict,
            scored_at=scored_at,
            batch_rows=batch_rows,
            engine=engine.value,
            scheduler=scheduler,
            n_workers=workers,
            overwrite=overwrite,
        )
    except (PromError, FileNotFoundError, ValueError, TypeError) as e:
        _fail(str(e))
    for line in summary_lines(report):
        console.print(line, markup=False, highlight=False)
    console.print(f"wrote {report['output']}, {report['quarantine']} and the summary")


def main() -> None:  # pragma: no cover - console entry
    app()


if __name__ == "__main__":  # pragma: no cover
    sys.exit(app())
