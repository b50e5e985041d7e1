"""``prom simulate``, ``validate``, ``score-proms``, ``thresholds`` and ``tasks``: cohorts,
the data contract, PROM scores and the registries of thresholds and tasks."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from prom.cli.common import (
    DataOpt,
    DecimalOpt,
    DelimiterOpt,
    EncodingOpt,
    MappingOpt,
    MissingValuesOpt,
    Mode,
    TableOpt,
    check_out_free,
    check_output_name,
    console,
    err_console,
    fail,
    load_table,
    problems_table,
    validate_table,
)

__all__ = ["simulate", "validate", "score_proms", "thresholds", "tasks"]


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

    check_output_name(out)
    with console.status(f"simulating {n:,} patients"):
        df = simulate_cohort(n, seed=seed, n_sites=sites, missingness=missingness)
    write_table(df, out)
    console.print(f"wrote {len(df):,} patients × {df.shape[1]} columns to {out}")


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
    encoding: EncodingOpt = None,
    delimiter: DelimiterOpt = None,
    decimal: DecimalOpt = None,
    missing_values: MissingValuesOpt = None,
) -> None:
    """Check a cohort table against the data contract and report every problem at once.

    Exit code 0 when there are no errors, 1 when there are.

    Example: prom validate --data registry.csv --mapping registry.yaml --mode lenient
    """
    if report is not None:
        check_output_name(report, "--report")
    _, rep = validate_table(
        data, table, mapping, mode.value, encoding, delimiter, missing_values, decimal
    )
    if len(rep.problems):
        console.print(problems_table(rep.problems, rows=rep.row_noun + "s"))
        hint = _decimal_comma_hint(rep.problems)
        if hint:
            console.print(f"[yellow]hint:[/] {escape(hint)}", highlight=False)
        if report is not None:
            from prom.cohort.writers import write_table

            written = rep.problems.astype({"rows": str, "values": str})
            write_table(written.rename(columns={"rows": rep.row_noun + "s"}), report)
            console.print(f"problem table written to {report}")
    n_err = int((rep.problems["severity"] == "error").sum()) if len(rep.problems) else 0
    n_warn = len(rep.problems) - n_err
    colour = "green" if rep.ok else "red"
    console.print(
        f"[{colour}]{rep.n_rows:,} rows checked: {n_err} error(s), {n_warn} warning(s)[/]"
    )
    raise typer.Exit(0 if rep.ok else 1)


def _decimal_comma_hint(problems) -> str | None:
    """A hint when the type problems' values are numbers written with a decimal comma."""
    import pandas as pd

    from prom.cohort.missing_values import decimal_comma_cells

    values = [v for vs in problems.loc[problems["check"] == "type", "values"] for v in vs]
    cells = pd.Series(values, dtype=object)
    comma = cells[decimal_comma_cells(cells)]
    if comma.empty:
        return None
    return (
        f"values such as {comma.iloc[0]!r} are numbers written with a decimal comma; if the "
        "file writes its numbers so, read it with --decimal ','"
    )


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
    encoding: EncodingOpt = None,
    delimiter: DelimiterOpt = None,
    decimal: DecimalOpt = None,
    missing_values: MissingValuesOpt = None,
    overwrite: Annotated[
        bool, typer.Option("--overwrite", help="Replace an existing output file")
    ] = False,
) -> None:
    """Score PROM items (ODI, NRS, COMI, mJOA) and derive every task's MCID labels.

    Writes the input columns plus scores (`odi_0m`, …), reasons for withheld scores,
    severity bands, and one column per task with its label and `<task>_reason`.

    Example: prom score-proms --data cohort.parquet --out scored.parquet -t mcid_odi_12m=odi_norspine_ldh
    """
    from prom.cohort.writers import write_table
    from prom.errors import PromError
    from prom.instruments import INSTRUMENTS, ODI, score_table, unscored_time_columns
    from prom.instruments.given import with_given_scores
    from prom.naming import TIMEPOINTS
    from prom.outcomes import derive_labels

    check_output_name(out)
    check_out_free(out, overwrite, source=data)
    overrides: dict[str, str] = {}
    for spec in threshold or []:
        if "=" not in spec:
            fail(f"--threshold {spec!r}: expected TASK=THRESHOLD_ID, e.g. mcid_odi_12m=odi_fuse_ml")
        k, v = (x.strip() for x in spec.split("=", 1))
        if k in overrides and overrides[k] != v:
            fail(f"--threshold names task {k} twice ({overrides[k]} and {v}); give one")
        overrides[k] = v
    df = load_table(data, table, mapping, encoding, delimiter, missing_values, decimal)
    for tp, cols in unscored_time_columns(df.columns).items():
        err_console.print(
            f"[yellow]note:[/] {len(cols)} column(s) at {tp} left unscored "
            f"({escape(', '.join(cols[:4]))}{', …' if len(cols) > 4 else ''}): the time points "
            f"scored are {', '.join(TIMEPOINTS)}"
        )
    insts = list(INSTRUMENTS.values())
    if odi_max_missing is not None:
        insts = [ODI(max_missing=odi_max_missing) if i.key == "odi" else i for i in insts]
    try:
        given = with_given_scores(df, score_table(df, instruments=insts), insts)
        scores = given.scores
        for line in given.notes:
            err_console.print(f"[yellow]note:[/] {escape(line)}")
        scored = df.drop(columns=[c for c in scores.columns if c in df.columns]).join(scores)
        labels = derive_labels(scored, thresholds=overrides)
    except (PromError, ValueError) as e:
        fail(str(e))
    again = [c for c in labels.columns if c in scored.columns]
    if again:  # a scored table scored again (another threshold): its labels are replaced
        err_console.print(
            f"[yellow]note:[/] the table's label column(s) {', '.join(again)} are replaced "
            "by the labels derived here"
        )
    result = scored.drop(columns=again).join(labels)
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
        t.add_row(
            c, f"{s.notna().sum():,}", f"{s.isna().sum():,}", desc if s.notna().any() else "–"
        )
    console.print(t)
    for line in _prorated_lines(df, scores, insts):
        console.print(line, markup=False, highlight=False)
    for line in _label_lines(labels, overrides):
        console.print(line, markup=False, highlight=False)
    console.print(f"wrote {len(result):,} row{'s' if len(result) != 1 else ''} to {out}")


def _prorated_lines(df, scores, insts) -> list[str]:
    """Per score of an instrument that allows missing items (the ODI): how many of its
    scores were pro-rated over the items answered, so that they can be told from complete
    forms (each row's items are in the output beside it)."""
    from prom.naming import TIMEPOINTS

    out = []
    for inst in insts:
        if not inst.items_allowed_missing:
            continue
        for tp in TIMEPOINTS:
            name, items = inst.score_column(tp), list(inst.item_columns(tp).values())
            if name not in scores.columns or not all(c in df.columns for c in items):
                continue
            scored = scores[name].notna().to_numpy()
            part = scored & df[items].isna().any(axis=1).to_numpy()
            if part.any():
                out.append(
                    f"{name}: {int(part.sum()):,} of {int(scored.sum()):,} scores pro-rated over "
                    f"the items answered (rule: {inst.missing_rule})"
                )
    return out


def _label_lines(labels, overrides: dict[str, str]) -> list[str]:
    """Per MCID task labelled: the threshold that defined its labels, and, for a task that
    labelled no row, the commonest reasons (a region written 'Lumbar' shows here)."""
    from prom.instruments.mcid import get_threshold
    from prom.outcomes import get_task

    out = []
    for c in labels.columns:
        if c.endswith(("_reason", "_time", "_event")):
            continue
        task = get_task(c)
        if task.kind == "binary" and task.instrument is not None:
            th = get_threshold(overrides.get(c) or task.declared("threshold"))
            how = "given with --threshold" if c in overrides else "the task's default"
            out.append(f"{c}: threshold {th.id} ({how}): {th.describe()}")
        if labels[c].notna().any():
            continue
        top = labels[f"{c}_reason"].value_counts().head(2)
        out.append(
            f"{c}: no row labelled — "
            + "; ".join(f"{reason} ({n:,} rows)" for reason, n in top.items())
        )
    return out


def thresholds(
    instrument: Annotated[
        str | None, typer.Option(help="Only this instrument: odi, nrs_back, nrs_leg, comi, mjoa")
    ] = None,
) -> None:
    """List the registered MCID thresholds with their definitions and sources."""
    from prom.instruments import INSTRUMENTS
    from prom.instruments.mcid import list_thresholds

    if instrument is not None and instrument not in INSTRUMENTS:
        fail(f"--instrument {instrument!r}: expected one of {', '.join(INSTRUMENTS)}")
    tab = list_thresholds(instrument)
    t = Table(title="MCID thresholds")
    t.add_column("id", no_wrap=True)
    for c in ("definition", "population", "source"):
        t.add_column(c, overflow="fold")
    for _, r in tab.iterrows():
        source = str(r["source"] or "")
        if isinstance(r["note"], str) and r["note"]:
            source += f" Note: {r['note']}."
        t.add_row(r["id"], r["definition"], r["population"], source)
    console.print(t)
    console.print(
        "A patient whose baseline leaves no room to reach a threshold (at the best possible "
        "follow-up score) gets no label for it, with that reason.",
        highlight=False,
    )


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
