"""``prom evaluate`` and ``report``: validate a bundle on new data and write its report
(``prom fit`` is :mod:`prom.cli.fitting`), and the helpers the three share."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape

from prom.cli.common import (
    AllowUnsignedOpt,
    DataOpt,
    DecimalOpt,
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

__all__ = ["evaluate", "report"]


def rows_line(accounting: dict[str, int]) -> str:
    """Where every input row went: ``rows: read 3,000, used 2,097, …``."""
    return "rows: " + ", ".join(f"{k} {v:,}" for k, v in accounting.items())


def imputed_line(counts) -> str:
    """``'2 values imputed (training median): pelvic_tilt 1, …'`` for the fit summary."""
    from prom.models.imputed import describe_imputed

    text = describe_imputed(counts)
    return text if not counts else text.replace(" imputed:", " imputed (training median):", 1)


def say_written(path: Path, what: str, key, out: Console = console) -> None:
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
    decimal: DecimalOpt = None,
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
    allow_small_sample: Annotated[
        bool,
        typer.Option(
            "--allow-small-sample",
            help="With --out: write a bundle recalibrated on fewer than 10 events (or non-events), carrying that caution",
        ),
    ] = False,
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
    df = score_if_needed(
        load_table(data, table, mapping, encoding, delimiter, missing_values, decimal)
    )
    check_numbers_or_fail(df, b, columns=False)  # evaluate_bundle refuses lacking columns
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
        say.print(rows_line(res.row_accounting[name]), highlight=False)
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
            imputed=imputed,
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
        small = {t: c for t, c in res.small_recalibration.items() if t in res.recalibrated}
        if small and not allow_small_sample:
            fail(
                "; ".join(f"{t}: {c}" for t, c in small.items())
                + ". The recalibrated bundle is not written: recalibrate on more rows, or pass "
                "--allow-small-sample to write it anyway (its manifest, report and model card "
                "then carry this caution)"
            )
        # the new bundle says where it came from, whoever signs it next
        t = b.trust
        origin = (
            f"signed by key {(t.key_id or '')[:16]}… named {t.key_name!r}"
            if t.verified
            else t.describe()  # unverified: says so, with why
        )
        note = f"{recalibrate} on {data.name}; from bundle {b.bundle_id[:12]}, {origin}"
        try:
            was = b.manifest.description or f"bundle {b.bundle_id[:12]}"
            path = write_bundle(
                out,
                recalibrated_fits(b, res, note),
                signing_key=key,
                description=f"{was}, recalibrated ({note})",
            )
        except BundleError as e:
            fail(str(e))
        for name, (_, said) in res.recalibration_rows.items():
            say.print(f"{name}: {said}", markup=False, highlight=False)
        say_written(path, "recalibrated bundle", key, say)


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
    decimal: DecimalOpt = None,
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
        score_if_needed(
            load_table(data, table, mapping, encoding, delimiter, missing_values, decimal)
        )
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
