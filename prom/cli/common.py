"""What every ``prom`` sub-command shares: the consoles, failing with a message, reading a
user's table, and the options several commands take."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from enum import StrEnum
from pathlib import Path
from typing import Annotated, NoReturn

import numpy as np
import pandas as pd
import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from prom.errors import format_values

__all__ = [
    "console",
    "err_console",
    "fail",
    "check_output_name",
    "load_table",
    "terminated_as_interrupt",
    "score_if_needed",
    "problems_table",
    "DataOpt",
    "TableOpt",
    "MappingOpt",
    "EncodingOpt",
    "DelimiterOpt",
    "DecimalOpt",
    "MissingValuesOpt",
    "validate_table",
    "check_numbers_or_fail",
    "check_out_free",
    "TrustStoreOpt",
    "AllowUnsignedOpt",
    "SignKeyOpt",
    "unsigned_notice",
    "signing_key_or_fail",
    "Mode",
    "Engine",
    "ReasonsMethod",
]

console = Console()
if not console.is_terminal:  # pipes, CI logs: wide enough that tables keep their names whole
    console = Console(width=110)
err_console = Console(stderr=True)


class Mode(StrEnum):
    strict = "strict"
    lenient = "lenient"


class Engine(StrEnum):
    local = "local"
    dask = "dask"


class ReasonsMethod(StrEnum):
    exact = "exact"
    approx = "approx"


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

EncodingOpt = Annotated[
    str | None,
    typer.Option(
        "--encoding",
        help="Text encoding of a CSV file (default utf-8, a byte-order mark accepted), e.g. latin-1 or cp1252",
    ),
]
DelimiterOpt = Annotated[
    str | None,
    typer.Option(
        "--delimiter",
        help="Field delimiter of a CSV file (default ',', a tab for .tsv), e.g. ';', '|' or tab",
    ),
]

DecimalOpt = Annotated[
    str | None,
    typer.Option(
        "--decimal",
        help="Decimal mark of the numbers in a CSV file: '.' (default) or ',' for a file written with decimal commas (28,4), whose delimiter is then another character, e.g. --delimiter ';'",
    ),
]

MissingValuesOpt = Annotated[
    str | None,
    typer.Option(
        "--missing-values",
        help="Comma-separated texts that mark a missing value in this table, e.g. 'n/a,NA,-99' (default: only an empty cell is missing; 'NA' and 'n/a' are values that a numeric column refuses); matching cells are counted and treated as missing",
        show_default=False,
    ),
]


TrustStoreOpt = Annotated[
    Path | None,
    typer.Option(
        "--trust-store",
        envvar="PROM_TRUST_STORE",
        help="Directory of trusted public keys (default: $XDG_CONFIG_HOME/prom/trusted-keys, else ~/.config/prom/trusted-keys)",
        show_default=False,
    ),
]
AllowUnsignedOpt = Annotated[
    bool,
    typer.Option(
        "--allow-unsigned",
        help="Use a bundle that is unsigned or signed by an untrusted key, unverified (noted on every run and recorded in the output); a signature that does not verify is refused regardless",
    ),
]
SignKeyOpt = Annotated[
    Path | None,
    typer.Option(
        "--sign-key",
        envvar="PROM_SIGNING_KEY",
        help="Private key (PEM, from `prom keys new`) to sign the bundle written",
        show_default=False,
    ),
]


def unsigned_notice(bundle: Path) -> None:
    """The notice ``--allow-unsigned`` prints on stderr on every run."""
    err_console.print(
        f"[bold yellow]notice:[/] --allow-unsigned: bundle {escape(str(bundle))} is used even if it is "
        "unsigned or signed by a key you do not trust; its origin is not verified, and the "
        "output records this",
        markup=True,
        highlight=False,
    )


def signing_key_or_fail(path: Path | None):
    """The signing key at ``path`` (None: no key), or a clean exit naming the problem."""
    if path is None:
        return None
    from prom.bundle import BundleError, read_signing_key

    try:
        return read_signing_key(path)
    except BundleError as e:
        fail(str(e))


def fail(message: str, code: int = 2) -> NoReturn:
    """Print ``error: message`` on stderr and exit with ``code`` (2: bad input or options).

    The message is printed as one line and as it is: square brackets in it (a quoted line
    of a user's file) are not read as console markup.
    """
    err_console.print(f"[bold red]error:[/] {escape(message)}", soft_wrap=True)
    raise typer.Exit(code)


def column_names(text: str | None, columns) -> list[str] | None:
    """Comma-separated column names (``--predictors``): each name as typed when the table
    has a column of exactly that name (a header exported with a trailing space), else
    without its surrounding spaces (``a, b``)."""
    from prom.naming import split_column_names

    return split_column_names(text, columns) if text else None


def check_out_free(out: Path, overwrite: bool, source: Path | None = None) -> None:
    """End the command when ``--out`` is the input table ``source`` (whatever
    ``--overwrite`` says: it would be destroyed) or exists without ``--overwrite``."""
    if out.exists() and source is not None and out.resolve() == source.resolve():
        fail(f"--out {str(out)!r} is the input table: write the output to another file")
    if out.exists() and not overwrite:
        fail(f"{out} exists; choose another --out or pass --overwrite")


def check_output_name(path: Path, option: str = "--out") -> None:
    """Refuse an output table name the writer cannot write, before any work is done."""
    from prom.cohort.writers import SUPPORTED_OUTPUTS

    if not path.name.lower().endswith(SUPPORTED_OUTPUTS):
        fail(
            f"{option} {str(path)!r}: expected a file name ending in {', '.join(SUPPORTED_OUTPUTS)}"
        )


def load_table(
    data: Path,
    table: str | None,
    mapping: Path | None,
    encoding: str | None = None,
    delimiter: str | None = None,
    missing_values: str | None = None,
    decimal: str | None = None,
) -> pd.DataFrame:
    """A user's table through the cohort reader (and their column mapping), or a clean exit
    (a CSV row with a broken structure is such an exit, naming the file and the lines).
    With ``missing_values`` (``--missing-values``), the cells declared missing are counted
    per column in one line."""
    from prom.cohort.readers import load_cohort
    from prom.errors import PromError

    try:
        df, log = load_cohort(
            data,
            table=table,
            mapping=mapping,
            encoding=encoding,
            delimiter=delimiter,
            missing_values=missing_values,
            decimal=decimal,
        )
    except (PromError, OSError, ValueError, TypeError) as e:
        fail(str(e))
    if log is not None:
        err_console.print(f"[dim]mapping applied: {log.summary_line()}[/]")
    _declared_line(df, missing_values)
    return _yes_no_words(df)


def _yes_no_words(df: pd.DataFrame) -> pd.DataFrame:
    """The data contract's yes/no columns written as words (``yes``/``no``, ``true``/
    ``false``, ``y``/``n``, ``t``/``f``, any case) read as 1/0, as ``prom score`` and a
    lenient ``prom validate`` read them, each column said; a column with any other text
    is left as it is (the command then names those values)."""
    from prom.cohort.contract import COHORT_CONTRACT
    from prom.cohort.parsing import parse_bool

    out = None
    for c in df.columns:
        spec = COHORT_CONTRACT.get(str(c))
        if spec is None or spec.dtype != "bool" or df[c].dtype != object:
            continue
        p = parse_bool(df[c])
        if p.bad.any() or not p.coercible.any():
            continue
        out = df.copy() if out is None else out
        out[c] = p.values
        err_console.print(
            f"[dim]{escape(str(c))}: {int(p.coercible.sum()):,} yes/no value(s) written as "
            "words read as 1/0 (the data contract's reading)[/]"
        )
    return df if out is None else out.__finalize__(df)


def check_numbers_or_fail(df: pd.DataFrame, bundle=None, tasks=None, *, columns=True) -> None:
    """End the command, naming the columns or cells, when the table lacks a predictor of
    ``bundle``'s tasks, a numeric predictor holds text that is not a number, a categorical
    one none of the models' categories, or a built-in task's predictor a value the cohort
    contract does not allow (:func:`prom.workflows.missing.check_bundle_inputs`).
    ``columns=False``: the lacking columns are left to the caller, who refuses them itself
    (``evaluate_bundle`` does, from the task rows it derives anyway)."""
    from prom.errors import PromError
    from prom.workflows.missing import check_bundle_inputs

    try:
        check_bundle_inputs(bundle, df, tasks, columns=columns)
    except PromError as e:
        fail(str(e))


def validate_table(
    data: Path,
    table: str | None,
    mapping: Path | None,
    mode: str,
    encoding: str | None = None,
    delimiter: str | None = None,
    missing_values: str | None = None,
    decimal: str | None = None,
):
    """``(table, report)``: a user's table read, mapped and validated, or a clean exit; a
    CSV row with a broken structure is an error of the report. With ``missing_values``,
    the cells declared missing are counted per column in one line."""
    from prom.cohort.readers import read_cohort
    from prom.errors import PromError

    try:
        df, rep = read_cohort(
            data,
            table=table,
            mapping=mapping,
            mode=mode,  # type: ignore[arg-type]
            encoding=encoding,
            delimiter=delimiter,
            missing_values=missing_values,
            decimal=decimal,
        )
    except (PromError, OSError, ValueError, TypeError) as e:
        fail(str(e))
    if rep.mapping_log is not None:
        err_console.print(f"[dim]mapping applied: {rep.mapping_log.summary_line()}[/]")
    _declared_line(df, missing_values)
    return df, rep


def _declared_line(df: pd.DataFrame, missing_values: str | None) -> None:
    """``missing values: 3 cells declared missing (--missing-values '…'): a 2, b 1``."""
    if missing_values is None:
        return
    from prom.cohort.missing_values import (
        declared_counts,
        describe_declared,
        parse_missing_values,
    )

    tokens = parse_missing_values(missing_values)
    console.print(
        f"missing values: {describe_declared(declared_counts(df), tokens)}", highlight=False
    )


def score_if_needed(df: pd.DataFrame) -> pd.DataFrame:
    """Score PROM items when item columns are present but scores are not (a bad item
    column ends the command with its message); the table's loading facts record which
    score columns were computed (:mod:`prom.cohort.provenance`), and ``attrs`` every
    column added (:data:`~prom.instruments.OUTPUTS_ATTR`)."""
    from prom.cohort.provenance import mark_table
    from prom.errors import PromError
    from prom.instruments import INSTRUMENTS, OUTPUTS_ATTR, score_names, score_table
    from prom.instruments.given import with_given_scores

    try:
        scores = score_table(df)
    except PromError as e:
        fail(str(e))
    given = with_given_scores(df, scores, list(INSTRUMENTS.values()))
    for line in given.notes:
        err_console.print(f"[yellow]note:[/] {escape(line)}")
    scores = given.scores
    new = [c for c in scores.columns if c not in df.columns]
    # a score the table gives and its items too: the items' (the table's where they give none)
    again = [c for c in given.compared if _changed(df[c], scores[c])]
    computed = score_names(new) + again
    if new or again:
        err_console.print(
            f"[dim]scored PROM items: {len(score_names(new))} score column(s) added"
            + (f", {len(again)} scored again from their items" if again else "")
            + "[/]"
        )
        out = df.copy()
        for c in again:
            out[c] = scores[c]
        df = out.join(scores[new]).__finalize__(df)  # join drops attrs: the loading facts
        df.attrs[OUTPUTS_ATTR] = sorted({*df.attrs.get(OUTPUTS_ATTR, ()), *new, *again})
    return mark_table(df, scored_from_items=computed)  # possibly none: scores as given


def _changed(given: pd.Series, scored: pd.Series) -> bool:
    """Whether the items' score (with the table's where they give none) changes any value."""
    a = pd.to_numeric(given, errors="coerce").to_numpy(dtype=float)
    b = scored.to_numpy(dtype=float, na_value=np.nan)
    # a value read back from a CSV may differ in its last bit: that is no change
    return bool((~np.isclose(a, b, rtol=1e-12, atol=0.0) & ~(np.isnan(a) & np.isnan(b))).any())


def problems_table(problems: pd.DataFrame, limit: int = 40, rows: str = "rows") -> Table:
    """The problems of a validation report as a table; ``rows``: the heading of their
    labels (``"lines"`` for a CSV file's, :attr:`ValidationReport.row_noun`)."""
    t = Table(title="Data-contract problems", show_lines=False)
    for c in ("severity", "column", "check", "n_rows", rows, "values", "expected"):
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
        vals_txt = format_values(vals, limit=4) if isinstance(vals, (list, tuple)) else str(vals)
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


@contextlib.contextmanager
def terminated_as_interrupt() -> Iterator[None]:
    """SIGTERM raises :class:`prom.errors.Terminated` in the main thread while the block
    runs, so a stopped command cleans up as after Ctrl-C (the previous handler is put
    back after). Elsewhere than the main thread, nothing is changed."""
    import signal
    import threading

    from prom.errors import Terminated

    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def stop(signum, frame):
        raise Terminated

    previous = signal.signal(signal.SIGTERM, stop)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
