"""``prom fit``, ``evaluate`` and ``report``: fit and compare models into a bundle,
validate a bundle on new data, and write its report."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from prom.cli.common import (
    AllowUnsignedOpt,
    DataOpt,
    DelimiterOpt,
    EncodingOpt,
    MappingOpt,
    SignKeyOpt,
    TableOpt,
    TrustStoreOpt,
    console,
    fail,
    load_table,
    score_if_needed,
    signing_key_or_fail,
    unsigned_notice,
)

__all__ = ["fit", "evaluate", "report"]


def _rows_line(accounting: dict[str, int]) -> str:
    """Where every input row went: ``rows: read 3,000, used 2,097, …``."""
    return "rows: " + ", ".join(f"{k} {v:,}" for k, v in accounting.items())


def _written(path: Path, what: str, key) -> None:
    """Say where a bundle was written, which key signed it, and whether it will load."""
    from prom.bundle import BundleError, check_bundle

    try:
        manifest, trust = check_bundle(path, allow_unsigned=True)
    except BundleError as e:
        fail(str(e))
    console.print(f"{what} written to {path} (id {manifest.bundle_id[:12]})", highlight=False)
    if key is None:
        console.print(
            "[yellow]caution:[/] the bundle is unsigned (no --sign-key or PROM_SIGNING_KEY); "
            f"prom score, evaluate and report refuse it until it is signed: prom keys sign "
            f"{path} --key YOUR_KEY.pem",
            highlight=False,
        )
        return
    console.print(f"signed with key {key.public.key_id[:16]}… ({key.name})", highlight=False)
    if not trust.verified:
        console.print(
            f"[yellow]caution:[/] {trust.reason}; to load it here: prom keys trust "
            f"{key.name}.pub.pem",
            highlight=False,
        )


def _load(bundle: Path, trust_store: Path | None, allow_unsigned: bool):
    """Load a bundle for a command (a refusal ends it with its message) and say how its
    origin was established."""
    from prom.bundle import BundleError, load_bundle

    if allow_unsigned:
        unsigned_notice(bundle)
    try:
        b = load_bundle(bundle, trust_store=trust_store, allow_unsigned=allow_unsigned)
    except BundleError as e:
        fail(str(e))
    console.print(f"bundle {b.bundle_id[:12]}: {b.trust.describe()}", highlight=False)
    return b


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
    drop_unusable: Annotated[
        bool,
        typer.Option(
            "--drop-unusable",
            help="Leave out a --predictors column that is all missing, constant or duplicated, recording it in the bundle and report (default: refuse)",
        ),
    ] = False,
    allow_small_sample: Annotated[
        bool,
        typer.Option(
            "--allow-small-sample",
            help="Fit a --target outcome below the minimum sample size (10 events per parameter and Riley's criteria); the bundle and report say so",
        ),
    ] = False,
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
    encoding: EncodingOpt = None,
    delimiter: DelimiterOpt = None,
    sign_key: SignKeyOpt = None,
) -> None:
    """Fit, validate and compare models for a task; write a model bundle.

    Every family (logistic regression, elastic net, random forest, XGBoost, LightGBM) is
    tuned and calibrated inside cross-validation, compared with logistic regression on the
    same out-of-fold predictions (ΔAUC with DeLong p, ΔBrier and Δ net benefit with
    bootstrap CIs, calibration slope, a verdict), validated site by site, and refitted on
    all rows. The bundle holds every model in a safe format, with a manifest of hashes,
    signed with --sign-key (or PROM_SIGNING_KEY) when given one.

    Examples:

      prom fit --data cohort.parquet --task mcid_odi_12m --out bundles/odi --sign-key ~/keys/me.pem

      prom fit --data my.csv --mapping my.yaml --target good_outcome --out bundles/mine
    """
    import warnings

    from rich.markup import escape

    from prom.bundle import BundleError, write_bundle
    from prom.cli.fit_progress import cautions_of, fit_progress
    from prom.errors import PromError
    from prom.workflows import FAMILIES, SURVIVAL_FAMILIES, FitSettings, SurvivalTaskFit, fit_task
    from prom.workflows.tables import comparison_table

    if bool(task) == bool(target):
        fail("give --task TASK (one or more) or --target COLUMN")
    if out.exists() and not overwrite:
        fail(f"{out} exists; choose another --out or pass --overwrite")
    key = signing_key_or_fail(sign_key)  # before any fitting
    fams = [m.strip() for m in models.split(",") if m.strip()] if models else None
    unknown = sorted(set(fams or ()) - set(FAMILIES) - set(SURVIVAL_FAMILIES))
    if unknown:
        fail(
            f"unknown model family {', '.join(unknown)}; choose from {', '.join(FAMILIES)} "
            f"(survival task: {', '.join(SURVIVAL_FAMILIES)})"
        )
    if threshold and task and len(task) > 1:
        fail("--threshold applies to one task; fit tasks with different definitions separately")
    try:
        settings = FitSettings(
            n_splits=folds,
            n_iter=n_iter,
            n_boot=boot,
            optimism_boot=optimism_boot,
            site_column=site_column,
            random_state=seed,
            n_jobs=jobs,
            drop_unusable=drop_unusable,
            allow_small_sample=allow_small_sample,
        )
    except ValueError as e:
        fail(str(e))
    df = score_if_needed(load_table(data, table, mapping, encoding, delimiter))
    preds = [p.strip() for p in predictors.split(",") if p.strip()] if predictors else None
    fits = []
    targets = [(t, None) for t in task] if task else [(None, target)]
    for t, tg in targets:
        try:
            with fit_progress() as shown, warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                f = fit_task(
                    df,
                    t,
                    target=tg,
                    predictors=preds,
                    threshold=threshold,
                    families=fams,
                    settings=settings,
                    progress=shown,
                )
        except (PromError, ValueError) as e:
            fail(str(e))
        fits.append(f)
        if isinstance(f, SurvivalTaskFit):  # no comparison table: see its summary
            console.print(f.summary(), markup=False, highlight=False)
            console.print(_rows_line(f.row_accounting))
            continue
        console.print(comparison_table(f))
        console.print(_rows_line(f.row_accounting))
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
        for ex in f.excluded_predictors:  # a survival fit's summary lists them
            console.print(f"[yellow]excluded predictor:[/] {ex.describe()}")
        for w in cautions_of(caught):
            console.print(f"[yellow]caution:[/] {escape(w)}")
        console.print(
            f"primary model: [bold]{f.primary}[/]"
            + ("" if f.primary != "logistic" else " (no family beat logistic regression)")
        )
    try:
        path = write_bundle(
            out,
            fits,
            overwrite=overwrite,
            description=f"prom fit on {data.name}",
            signing_key=key,
        )
    except BundleError as e:
        fail(str(e))
    _written(path, "bundle", key)


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
    encoding: EncodingOpt = None,
    delimiter: DelimiterOpt = None,
    trust_store: TrustStoreOpt = None,
    allow_unsigned: AllowUnsignedOpt = False,
    sign_key: SignKeyOpt = None,
) -> None:
    """Validate a bundle on new data (e.g. a new site), optionally recalibrating it.

    Labels are derived exactly as the bundle defines them. Reports AUC (DeLong CI),
    calibration-in-the-large, calibration slope, O/E and Brier for every model; with
    --recalibrate, the same after a logistic recalibration on these rows. A survival task
    reports Harrell's C, the calibration slope and predicted against Kaplan–Meier risk at
    the bundle's horizon.

    The bundle's signature is checked against the trust store first; the output says who
    signed it. The recalibrated bundle (--out) is signed with --sign-key when given one.

    Example: prom evaluate --bundle bundles/odi --data site7.csv --recalibrate intercept --out bundles/odi_site7
    """
    from prom.bundle import BundleError, write_bundle
    from prom.errors import PromError
    from prom.workflows import evaluate_bundle, recalibrated_fits

    b = _load(bundle, trust_store, allow_unsigned)
    key = signing_key_or_fail(sign_key) if out is not None else None
    df = score_if_needed(load_table(data, table, mapping, encoding, delimiter))
    try:
        res = evaluate_bundle(b, df, recalibrate=recalibrate)
    except (PromError, ValueError) as e:
        fail(str(e))
    for name, tab in res.tables.items():
        t = Table(title=f"{name} on {data.name}")
        for c in tab.columns:
            t.add_column(c, no_wrap=c == "model")
        for _, r in tab.iterrows():
            t.add_row(*[f"{v:.3f}" if isinstance(v, float) else str(v) for v in r])
        console.print(t)
        console.print(_rows_line(res.row_accounting[name]))
    for w in res.warnings:
        console.print(f"[yellow]caution:[/] {w}")
    if out is not None:
        if recalibrate == "none":
            fail(
                "--out writes a recalibrated bundle; give --recalibrate intercept or intercept_slope"
            )
        note = f"{recalibrate} on {data.name}"
        if not b.trust.verified:  # the new bundle says where it came from
            note += f" (from bundle {b.bundle_id[:12]}, {b.trust.describe()})"
        try:
            path = write_bundle(out, recalibrated_fits(b, res, note), signing_key=key)
        except BundleError as e:
            fail(str(e))
        _written(path, "recalibrated bundle", key)


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
    encoding: EncodingOpt = None,
    delimiter: DelimiterOpt = None,
    trust_store: TrustStoreOpt = None,
    allow_unsigned: AllowUnsignedOpt = False,
) -> None:
    """Write a self-contained HTML report of a bundle: one part per task.

    Table 1 by outcome, missingness, the Riley sample-size check, the comparison with
    logistic regression, ROC, calibration and decision curves, internal–external results
    by site, odds ratios, SHAP summaries (with --data), a model card and a TRIPOD+AI
    checklist. Numbers come from the bundle's manifest and validation record (verified by
    SHA-256, the signature checked against the trust store: the report says who signed
    the bundle); the file has no external resources and opens offline.

    Example: prom report --bundle demo_out/bundle --data demo_out/cohort_scored.parquet --out reports/demo.html
    """
    from prom.errors import PromError
    from prom.report import write_report

    if out.suffix.lower() not in (".html", ".htm"):
        fail(f"--out {str(out)!r}: expected a file name ending in .html")
    b = _load(bundle, trust_store, allow_unsigned)  # before reading any data
    df = (
        score_if_needed(load_table(data, table, mapping, encoding, delimiter))
        if data is not None
        else None
    )
    try:
        with console.status("writing the report"):
            path = write_report(b, out, data=df, tasks=task, shap_rows=shap_rows, random_state=seed)
    except (PromError, ValueError) as e:
        fail(str(e))
    console.print(f"report written to {path} ({path.stat().st_size / 1e6:.1f} MB)")
