"""``prom fit``: fit, validate and compare models for a task (built-in or the user's own
outcome) and write them into a bundle."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from prom.cli.common import (
    DataOpt,
    DecimalOpt,
    DelimiterOpt,
    EncodingOpt,
    MappingOpt,
    MissingValuesOpt,
    SignKeyOpt,
    TableOpt,
    check_out_free,
    column_names,
    console,
    fail,
    load_table,
    score_if_needed,
    signing_key_or_fail,
)
from prom.cli.models import imputed_line, rows_line, say_written
from prom.cli.subgroup_output import SubgroupsOpt, print_subgroups, subgroup_columns_or_fail

__all__ = ["fit"]


def _is_survival(task: str) -> bool:
    """A built-in survival task's name (an unknown name is refused later, by the fit)."""
    from prom.outcomes import TASKS

    return task in TASKS and TASKS[task].kind == "survival"


#: Why a fit with a site column validated no model site by site, by outcome kind.
_NO_IECV = {
    "survival": "internal–external validation is run for binary outcomes; a time-to-event "
    "outcome's figures are its cross-validation's",
    "multiclass": "internal–external validation is run for binary outcomes; a multiclass "
    "outcome's figures are its cross-validation's",
}


def _development_line(fit) -> None:
    """Say how a fit's development rows were recorded (by which key)."""
    d = fit.development_rows
    if d is not None:
        console.print(
            f"development rows: {d.n_rows:,} recorded as keyed digests, {d.describe()} ({d.note})",
            highlight=False,
        )


def _print_diagnostics(diagnostics) -> None:
    """What the fit found about its predictors before fitting, one line per finding
    (:meth:`prom.models.diagnostics.FitDiagnostics.lines`)."""

    if diagnostics is None:
        return
    for line in diagnostics.lines():
        console.print(f"[cyan]diagnostics:[/] {escape(line)}", highlight=False)


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
        str,
        typer.Option(
            help="Column for internal–external validation ('none': no site-by-site "
            "validation; the default 'site' is used when the table has it)"
        ),
    ] = "site",
    seed: Annotated[int, typer.Option(help="Random seed")] = 0,
    jobs: Annotated[int, typer.Option(help="Parallel worker processes", min=1)] = 2,
    subgroups: SubgroupsOpt = None,
    table: TableOpt = None,
    mapping: MappingOpt = None,
    overwrite: Annotated[bool, typer.Option(help="Replace an existing bundle directory")] = False,
    encoding: EncodingOpt = None,
    delimiter: DelimiterOpt = None,
    decimal: DecimalOpt = None,
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
    from prom.cli.fit_progress import cautions_of, fit_progress
    from prom.errors import PromError
    from prom.parallel import import_while_workers_run
    from prom.validation.meta_analysis import prediction_interval_text
    from prom.workflows import FAMILIES, SURVIVAL_FAMILIES, FitSettings, SurvivalTaskFit, fit_task
    from prom.workflows.tables import comparison_table

    own = target is not None or time is not None or event is not None
    if task and own:
        fail(
            "give --task TASK (a built-in task) or your own outcome (--target COLUMN, or "
            "--time COLUMN --event COLUMN), not both"
        )
    if not task and not own:
        fail(
            "give --task TASK (one or more), --target COLUMN, or --time COLUMN --event COLUMN "
            "(your own outcome)"
        )
    if target is not None and (time is not None or event is not None):
        fail("give --target COLUMN or --time/--event, not both")
    if horizon is not None and not (time or any(_is_survival(t) for t in task or ())):
        fail("--horizon is for a time-to-event outcome (--time/--event, or a survival --task)")
    check_out_free(out, overwrite)
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
            site_column=None if site_column.strip().lower() == "none" else site_column,
            random_state=seed,
            n_jobs=jobs,
            drop_unusable=drop_unusable,
            allow_small_sample=allow_small_sample,
            horizon=horizon,
            id_column=id_column,
        )
    except ValueError as e:
        fail(str(e))
    df = score_if_needed(
        load_table(data, table, mapping, encoding, delimiter, missing_values, decimal)
    )
    if settings.site_column not in (None, "site") and settings.site_column not in df.columns:
        fail(
            f"--site-column {settings.site_column!r} is not a column of the table; name the "
            "column that holds each row's site, or 'none' to fit without site-by-site "
            "validation"
        )
    # --subgroups is read once the table is: names as it has them (a trailing space kept)
    settings = dataclasses.replace(settings, subgroups=subgroup_columns_or_fail(df, subgroups))
    preds = column_names(predictors, df.columns)
    fits = []
    # the bundle writer's serialisation library (about 0.5 s of imports) loads while this
    # process waits for the fit's workers, not after them
    import_while_workers_run("skops.io")
    targets = [(t, None) for t in task] if task else [(None, target)]
    outcome = {"event_value": event_value, "time": time, "event": event, "time_unit": time_unit}
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
                    **outcome,
                )
        except (PromError, ValueError) as e:
            fail(str(e))
        fits.append(f)
        console.print(f"{f.task_name}: {imputed_line(f.imputed)}", highlight=False)
        site = settings.site_column
        sites = df[site].nunique() if site and site in df.columns else 0
        if isinstance(f, SurvivalTaskFit):  # no comparison table: see its summary
            console.print(f.summary(), markup=False, highlight=False)
            console.print(rows_line(f.row_accounting))
            _development_line(f)
            if sites >= 2:
                console.print(f"site by site: not run ({_NO_IECV['survival']})", highlight=False)
            print_subgroups(f.record.get("subgroups"), f.task_name, [f.primary])
            continue
        _print_diagnostics(f.diagnostics)
        console.print(comparison_table(f))
        console.print(rows_line(f.row_accounting))
        _development_line(f)
        if sites >= 2 and not f.iecv and f.kind in _NO_IECV:
            console.print(f"site by site: not run ({_NO_IECV[f.kind]})", highlight=False)
        for name, res in f.iecv.items():
            meta = res.meta
            if "auc" in meta.index:
                m = meta.loc["auc"]
                console.print(
                    f"{name}, leave-one-site-out: pooled AUC {m['estimate']:.3f} "
                    f"({m['low']:.3f}–{m['high']:.3f}), "
                    + prediction_interval_text(m["pi_low"], m["pi_high"], int(m["k"]), "–")
                    + f" over {int(m['k'])} sites"
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
    say_written(path, "bundle", key)
