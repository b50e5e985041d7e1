"""The ``prom`` command.

Every sub-command has ``--help``. Start with ``prom demo`` to see the whole flow on a
simulated cohort, then ``prom simulate`` / ``prom validate`` / ``prom score-proms`` on
your own files.

The command is a thin layer over the application layer (:mod:`prom.workflows`) and the
domain packages: each sub-command lives in a module of this package by what it works on
(:mod:`~prom.cli.data`, :mod:`~prom.cli.models`, :mod:`~prom.cli.imaging`,
:mod:`~prom.cli.scoring`, :mod:`~prom.cli.demo`, :mod:`~prom.cli.keys`) and is registered here, in the order
``prom --help`` lists them. A user's mistake (a bad file, a wrong option) ends with
``error: …`` and exit code 2; anything else is a bug and shows its traceback.
"""

from __future__ import annotations

import typer

from prom.cli import data, demo, imaging, keys, models, scoring

__all__ = ["app", "main"]

app = typer.Typer(
    name="prom",
    help="Clinical outcome prediction for spine care: PROM scoring, MCID outcomes, "
    "cohort validation and simulation.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode="markdown",
)

app.command()(data.simulate)
app.command()(data.validate)
app.command("score-proms")(data.score_proms)
app.command()(models.fit)
app.command()(models.evaluate)
app.command()(models.report)
app.command()(data.thresholds)
app.command()(data.tasks)
app.command()(demo.demo)
app.command()(imaging.features)
app.command()(scoring.score)
app.add_typer(keys.app)


def main() -> None:  # pragma: no cover - console entry
    app()
