"""``prom score``: score a registry's table with a bundle, in bulk."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer

from prom.cli.common import (
    AllowUnsignedOpt,
    DecimalOpt,
    DelimiterOpt,
    EncodingOpt,
    Engine,
    MappingOpt,
    MissingValuesOpt,
    ReasonsMethod,
    TableOpt,
    TrustStoreOpt,
    console,
    fail,
    terminated_as_interrupt,
    unsigned_notice,
)

__all__ = ["score", "EXIT_OUTPUT_IN_USE"]

#: ``prom score``'s exit code when an output exists (without --overwrite) or another run
#: is writing it; 2 is any other refusal of bad input or options.
EXIT_OUTPUT_IN_USE = 4


def score(
    bundle: Annotated[
        Path, typer.Option("--bundle", "-b", help="Bundle directory written by `prom fit`")
    ],
    input: Annotated[
        Path,
        typer.Option(
            "--input",
            "-i",
            "--data",
            help="Table to score: .csv, .csv.gz, .parquet (file or partitioned folder) or "
            ".duckdb (--data is the same option, as the other commands name their table)",
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
    encoding: EncodingOpt = None,
    delimiter: DelimiterOpt = None,
    decimal: DecimalOpt = None,
    id_column: Annotated[
        str | None,
        typer.Option(
            "--id-column",
            help="Input column that keys the rows when it is not patient_id, e.g. 'Patient ID' (default: the id column the bundle was fitted with, when the input has it)",
        ),
    ] = None,
    trust_store: TrustStoreOpt = None,
    allow_unsigned: AllowUnsignedOpt = False,
    missing_values: MissingValuesOpt = None,
) -> None:
    """Score a registry's table with a bundle: probabilities, flags, provenance; bad rows quarantined.

    Streams the input in batches; rows failing the data contract go to the quarantine
    file (row, line, column, check, value, expected) — so does a CSV row with the wrong
    number of fields, a last line cut off or a quote left open, never scored — and every
    input row is accounted for in the summary (scored + quarantined = read), which also
    holds drift against the training data and observed-vs-expected calibration where
    outcomes are present. The output is
    written under a temporary name and renamed only when complete. The bundle's signature
    is checked against the trust store before any row is read; the summary records who
    signed it (or that it was used unverified, with --allow-unsigned).

    Exit codes: 0 done; 2 bad input or options; 4 an output exists (without --overwrite)
    or another run is writing it.

    Examples:

      prom score -b bundles/odi -i registry.parquet -o scored.parquet --scored-at 2026-11-24T00:00:00Z

      prom score -b B -i registry/ -o scored.parquet --engine dask --scheduler tcp://10.0.0.5:8786
    """
    from prom.errors import PromError
    from prom.score import OutputInUseError, score_file, summary_lines

    if allow_unsigned:
        unsigned_notice(bundle)
    with terminated_as_interrupt(), score_progress() as shown:  # SIGTERM unwinds as Ctrl-C
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
                encoding=encoding,
                delimiter=delimiter,
                decimal=decimal,
                trust_store=trust_store,
                allow_unsigned=allow_unsigned,
                missing_values=missing_values,
                id_column=id_column,
                progress=shown,
            )
        except OutputInUseError as e:  # exists, or another run is writing it
            fail(str(e), code=EXIT_OUTPUT_IN_USE)
        except (PromError, OSError, ValueError) as e:
            fail(str(e))
    for line in summary_lines(report):
        console.print(line, markup=False, highlight=False)
    console.print(f"wrote {report['output']}, {report['quarantine']} and the summary")


@contextmanager
def score_progress(force: bool | None = None) -> Iterator[Callable[[int, int], None] | None]:
    """A progress bar of the rows scored on stderr when it is a terminal (``None``, and
    nothing drawn, in a pipe or a log file; ``force`` overrides the check: tests)."""
    from prom.cli.fit_progress import terminal_bars

    # transient: the summary that follows says what was done
    with terminal_bars(force, transient=True) as bar:
        if bar is None:
            yield None
            return
        task = bar.add_task("scoring", total=None, unit="rows")

        def shown(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        yield shown
