"""``prom demo``: the whole flow on a simulated cohort."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from prom.cli.common import SignKeyOpt, console, signing_key_or_fail

__all__ = ["demo"]


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
    sign_key: SignKeyOpt = None,
    full: Annotated[
        bool,
        typer.Option(
            "--full/--quick",
            help="The complete run: every model family for every task, 5-fold CV, every "
            "scan (about 17 minutes on two cores); default: the quick run",
        ),
    ] = False,
) -> None:
    """Run the whole flow on a simulated cohort and print a summary.

    simulate → score PROM items → derive every task's labels → validate against the
    contract → prevalences and oracle AUCs (the ceiling any model can reach, on the rows
    the models are evaluated on) → fit every task, compare with logistic regression, and
    write a demonstration bundle (signed with --sign-key or PROM_SIGNING_KEY when given
    one) and its report → features of a few MRI scans. The quick run (default) fits all
    five families for mcid_odi_12m at a reduced search and logistic regression with one
    other family for the other tasks; --full fits every family for every task.
    """
    from prom.workflows.demo import run_demo

    key = signing_key_or_fail(sign_key)
    code = run_demo(
        out,
        n=n,
        seed=seed,
        console=console,
        fit_models=fit_models,
        n_fit=n_fit,
        signing_key=key,
        full=full,
    )
    raise typer.Exit(code)
