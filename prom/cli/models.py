"""``prom fit``, ``evaluate`` and ``report``: fit and compare models into a bundle,
validate a bundle on new data, and write its report."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape

from prom.cli.common import (
    AllowUnsignedOpt,
    DataOpt,
    DelimiterOpt,
    EncodingOpt,
    MappingOpt,
    MissingValuesOpt,
    SignKeyOpt,
    TableOpt,
    TrustStoreOpt,
    check_numbers_or_fail,
    console,
    err_console,
    fail,
    load_table,
    score_if_needed,
    signing_key_or_fail,
    unsigned_notice,
)
from prom.cli.subgroup_output import SubgroupsOpt, print_subgroups, subgroup_columns_or_fail

__all__ = ["fit", "evaluate", "report"]


def _rows_line(accounting: dict[str, int]) -> str:
    """Where every input row went: ``rows: read 3,000, used 2,097, …``."""
    return "rows: " + ", ".join(f"{k} {v:,}" for k, v in accounting.items())


def _is_survival(task: str) -> bool:
    """A built-in survival task's name (an unknown name is refused later, by the fit)."""
    from prom.outcomes import TASKS

    return task in TASKS and TASKS[task].kind == "survival"


def _development_line(fit) -> None:
    """Say how a fit's development rows were recorded (by which key)."""
    d = fit.development_rows
    if d is not None:
        console.print(
            f"development rows: {d.n_rows:,} recorded as keyed digests, {d.describe()} ({d.note})",
            highlight=False,
        )


def imputed_line(counts) -> str:
    """``'2 values imputed (training median): pelvic_tilt 1, …'`` for the fit summary."""
    from prom.models.imputed import describe_imputed

    text = describe_imputed(counts)
    return text if not counts else text.replace(" imputed:", " imputed (training median):", 1)


def _written(path: Path, what: str, key, out: Console = console) -> None:
    """Say where a bundle was written, which key signed it, and whether it will load
    (on ``out``: stderr when stdout carries JSON)."""
    from prom.bundle import BundleError, check_bundle

    try:
        manifest, trust = check_bundle(path, allow_unsigned=True)
    except BundleError as e:
        fail(str(e))
    out.print(f"{what} written to {path} (id {manifest.bundle_id[:12]})", highlight=False)
    if key is None:
        out.print(
            "[yellow]caution:[/] the bundle is unsigned (no --sign-key or PROM_SIGNING_KEY); "
            f"prom score, evaluate and report refuse it until it is signed: prom keys sign "
            f"{path} --key YOUR_KEY.pem",
            highlight=False,
        )
        return
    out.print(f"signed with key {key.public.key_id[:16]}… ({key.name})", highlight=False)
    if not trust.verified:
        out.print(
            f"[yellow]caution:[/] {trust.reason}; to load it here: prom keys trust "
            f"{key.name}.pub.pem",
            highlight=False,
        )


def _print_diagnostics(diagnostics) -> None:
    """What the fit found about its predictors before fitting, one line per finding
    (:meth:`prom.models.diagnostics.FitDiagnostics.lines`)."""
    from rich.markup import escape

    if diagnostics is None:
        return
    for line in diagnostics.lines():
        console.print(f"[cyan]diagnostics:[/] {escape(line)}", highlight=False)


def _load(bundle: Path, trust_store: Path | None, allow_unsigned: bool, out: Console = console):
    """Load a bundle for a command (a refusal ends it with its message) and say how its
    origin was established (on ``out``)."""
    from prom.bundle import BundleError, load_bundle

    if allow_unsigned:
        unsigned_notice(bundle)
    try:
        b = load_bundle(bundle, trust_store=trust_store, allow_unsigned=allow_unsigned)
    except BundleError as e:
        fail(str(e))
    out.print(f"bundle {b.bundle_id[:12]}: {b.trust.describe()}", highlight=False)
    return b


def fit(
    data: DataOpt,
    out: Annotated[Path, typer.Option("--out", "-o", help="Bundle directory to write")],
    task: Annotated[
        list[str] | None,
        typer.Option("--task", help="Built-in task (repeat for several; `prom tasks` lists them)"),
    ] = None,
    target: Annotated[
        str | None,
        typer.Option(
            help="Instead of --task: an outcome column of your table, 0/1 (binary), two other values (binary: name the event with --event-value) or up to 10 classes (multiclass, the classes as the table writes them)"
        ),
    ] = None,
    event_value: Annotated[
        str | None,
        typer.Option(
            "--event-value",
            help="With a two-valued --target that is not 0/1: the value that is the event, e.g. Abnormal",
        ),
    ] = None,
    time: Annotated[
        str | None,
        typer.Option(
            "--time",
            help="Instead of --task: the time column of your own time-to-event outcome (with --event and --horizon)",
        ),
    ] = None,
    event: Annotated[
        str | None,
        typer.Option("--event", help="With --time: the event column (1 = event, 0 = censored)"),
    ] = None,
    time_unit: Annotated[
        str | None,
        typer.Option(
            "--time-unit",
            help="With --time: the unit of the time column, e.g. days (default: stated as 'the unit of COL')",
        ),
    ] = None,
    horizon: Annotated[
        float | None,
        typer.Option(
            help="Survival: the time at which risks are predicted and calibrated, in the time unit (needed with --time; surgery_conversion: 12 months)",
        ),
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
    subgroups: SubgroupsOpt = None,
    table: TableOpt = None,
    mapping: MappingOpt = None,
    overwrite: Annotated[bool, typer.Option(help="Replace an existing bundle directory")] = False,
    encoding: EncodingOpt = None,
    delimiter: DelimiterOpt = None,
    sign_key: SignKeyOpt = None,
    id_column: Annotated[
        str | None,
        typer.Option(
            "--id-column",
            help="Column identifying a row (default: patient_id when present, else the rows' values); the bundle records keyed digests of the development rows' ids so prom evaluate can say which rows it was fitted on",
        ),
    ] = None,
    missing_values: MissingValuesOpt = None,
) -> None:
    """Fit, validate and compare models for a task; write a model bundle.

    Every family (logistic regression, elastic net, random forest, XGBoost, LightGBM) is
    tuned and calibrated inside cross-validation, compared with logistic regression on the
    same out-of-fold predictions (ΔAUC with DeLong p, ΔBrier and Δ net benefit with
    bootstrap CIs, calibration slope, a verdict), validated site by site, and refitted on
    all rows. The bundle holds every model in a safe format, with a manifest of hashes,
    signed with --sign-key (or PROM_SIGNING_KEY) when given one.
    Performance by subgroup (sex, age band, site, --subgroups columns) is kept too.

    Examples:

      prom fit --data cohort.parquet --task mcid_odi_12m --out bundles/odi --sign-key ~/keys/me.pem

      prom fit --data my.csv --mapping my.yaml --target good_outcome --out bundles/mine

      prom fit --data spine.csv --target class --event-value Abnormal --predictors pelvic_tilt,lumbar_lordosis_angle --out bundles/abnormal

      prom fit --data mine.csv --time days_to_reoperation --event reoperation --time-unit days --horizon 365 --out bundles/reop
    """
    import warnings

    from prom.bundle import BundleError, write_bundle
    from prom.errors import PromError, StatisticalWarning
    from prom.workflows import FAMILIES, SURVIVAL_FAMILIES, FitSettings, SurvivalTaskFit, fit_task
    from prom.workflows.tables import comparison_table

    own = target is not None or time is not None or event is not None
    if bool(task) == own:
        fail(
            "give --task TASK (one or more), --target COLUMN, or --time COLUMN --event COLUMN "
            "(your own outcome)"
        )
    if target is not None and (time is not None or event is not None):
        fail("give --target COLUMN or --time/--event, not both")
    if horizon is not None and not (time or any(_is_survival(t) for t in task or ())):
        fail("--horizon is for a time-to-event outcome (--time/--event, or a survival --task)")
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
            horizon=horizon,
            id_column=id_column,
            subgroups=tuple(c.strip() for c in (subgroups or "").split(",") if c.strip()),
        )
    except ValueError as e:
        fail(str(e))
    df = score_if_needed(load_table(data, table, mapping, encoding, delimiter, missing_values))
    subgroup_columns_or_fail(df, subgroups)
    preds = [p.strip() for p in predictors.split(",") if p.strip()] if predictors else None
    fits = []
    targets = [(t, None) for t in task] if task else [(None, target)]
    outcome = {"event_value": event_value, "time": time, "event": event, "time_unit": time_unit}
    with console.status("fitting") as status:
        for t, tg in targets:
            try:
                with warnings.catch_warnings(record=True) as caught:
                    warnings.simplefilter("always", StatisticalWarning)
                    f = fit_task(
                        df,
                        t,
                        target=tg,
                        predictors=preds,
                        threshold=threshold,
                        families=fams,
                        settings=settings,
                        progress=lambda m: status.update(m),
                        **outcome,
                    )
            except (PromError, ValueError) as e:
                fail(str(e))
            fits.append(f)
            console.print(f"{f.task_name}: {imputed_line(f.imputed)}", highlight=False)
            if isinstance(f, SurvivalTaskFit):  # no comparison table: see its summary
                console.print(f.summary(), markup=False, highlight=False)
                console.print(_rows_line(f.row_accounting))
                _development_line(f)
                print_subgroups(f.record.get("subgroups"), f.task_name, [f.primary])
                continue
            _print_diagnostics(f.diagnostics)
            console.print(comparison_table(f))
            console.print(_rows_line(f.row_accounting))
            _development_line(f)
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
            for w in dict.fromkeys(str(c.message) for c in caught):
                console.print(f"[yellow]caution:[/] {w}")
            print_subgroups(f.record.get("subgroups"), f.task_name, [f.primary])
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
    exclude_development_rows: Annotated[
        bool,
        typer.Option(
            "--exclude-development-rows",
            help="Leave out the rows the bundle was fitted on (recognised by its record of them), so the figures are on new rows only",
        ),
    ] = False,
    json_out: Annotated[
        bool,
        typer.Option(
            "--json",
            help="Write the full result as JSON to stdout (every other message goes to stderr)",
        ),
    ] = False,
    json_file: Annotated[
        Path | None,
        typer.Option("--json-file", help="Write the full result as JSON to this file"),
    ] = None,
    missing_values: MissingValuesOpt = None,
    subgroups: SubgroupsOpt = None,
) -> None:
    """Validate a bundle on new data (e.g. a new site), optionally recalibrating it.

    Labels are derived exactly as the bundle defines them. Reports AUC (DeLong CI),
    calibration-in-the-large, calibration slope, O/E and Brier for every model; with
    --recalibrate, the same after a logistic recalibration on these rows. A survival task
    reports Harrell's C, the calibration slope and predicted against Kaplan–Meier risk at
    the bundle's horizon. The same by subgroup (sex, age band, site, --subgroups).

    The bundle's signature is checked against the trust store first; the output says who
    signed it. The recalibrated bundle (--out) is signed with --sign-key when given one.

    Every task says how many of its evaluation rows were the bundle's development rows:
    figures on them are apparent performance, not validation, and are labelled so;
    --exclude-development-rows leaves them out. --json / --json-file: the full result as
    JSON (metrics with intervals, row accounting, development rows, cautions).

    Example: prom evaluate --bundle bundles/odi --data site7.csv --recalibrate intercept --out bundles/odi_site7
    """
    import json
    import sys

    from prom.bundle import BundleError, write_bundle
    from prom.errors import PromError
    from prom.workflows import evaluate_bundle, recalibrated_fits
    from prom.workflows.evaluate_output import evaluation_document, evaluation_view
    from prom.workflows.missing import bundle_imputed

    say = err_console if json_out else console  # with --json, stdout holds the JSON only
    b = _load(bundle, trust_store, allow_unsigned, say)
    key = signing_key_or_fail(sign_key) if out is not None else None
    df = score_if_needed(load_table(data, table, mapping, encoding, delimiter, missing_values))
    check_numbers_or_fail(df, b)
    subs = subgroup_columns_or_fail(df, subgroups)
    try:
        res = evaluate_bundle(
            b,
            df,
            recalibrate=recalibrate,
            exclude_development_rows=exclude_development_rows,
            subgroups=subs,
        )
        imputed = bundle_imputed(b, df)
    except (PromError, ValueError) as e:
        fail(str(e))
    for name, tab in res.tables.items():
        overlap = res.development.get(name)
        say.print(evaluation_view(name, tab, data.name, overlap))
        say.print(_rows_line(res.row_accounting[name]), highlight=False)
        if overlap is not None:
            say.print(overlap.sentence(), highlight=False)
        if name in imputed:
            say.print(f"{name}: {imputed_line(imputed[name])}", highlight=False)
        print_subgroups(res.subgroups.get(name), name, out=say)
    for w in res.warnings:
        say.print(f"[yellow]caution:[/] {escape(w)}", highlight=False)
    if json_out or json_file is not None:
        doc = evaluation_document(
            res,
            source=data.name,
            bundle={"id": b.bundle_id, "path": str(bundle), "trust": b.trust.describe()},
            settings={
                "recalibrate": recalibrate,
                "exclude_development_rows": exclude_development_rows,
            },
        )
        text = json.dumps(doc, indent=1, ensure_ascii=False, allow_nan=False) + "\n"
        if json_file is not None:
            try:
                json_file.write_text(text, encoding="utf-8")
            except OSError as e:
                fail(f"--json-file {str(json_file)!r}: cannot write it ({e.strerror})")
            say.print(f"JSON result written to {json_file}", highlight=False)
        if json_out:
            sys.stdout.write(text)
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
        _written(path, "recalibrated bundle", key, say)


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
    missing_values: MissingValuesOpt = None,
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
        score_if_needed(load_table(data, table, mapping, encoding, delimiter, missing_values))
        if data is not None
        else None
    )
    if df is not None:
        check_numbers_or_fail(df, b, task)
    try:
        with console.status("writing the report"):
            path = write_report(b, out, data=df, tasks=task, shap_rows=shap_rows, random_state=seed)
    except (PromError, ValueError) as e:
        fail(str(e))
    console.print(f"report written to {path} ({path.stat().st_size / 1e6:.1f} MB)")
