"""The ``prom`` command.

Every sub-command has ``--help``. Start with ``prom demo`` to see the whole flow on a
simulated cohort, then ``prom simulate`` / ``prom validate`` / ``prom score-proms`` on
your own files.

The command is a thin layer over the application layer (:mod:`prom.workflows`) and the
domain packages: each sub-command lives in a module of this package by what it works on
(:mod:`~prom.cli.data`, :mod:`~prom.cli.fitting`, :mod:`~prom.cli.models`, :mod:`~prom.cli.imaging`,
:mod:`~prom.cli.scoring`, :mod:`~prom.cli.serve`, :mod:`~prom.cli.demo`,
:mod:`~prom.cli.keys`) and is registered here, in the order
``prom --help`` lists them.

Exit codes, the same for every sub-command (docs/cli.md):

==== =====================================================================================
0    done
1    the command ran and found errors: ``prom validate`` (contract errors), ``prom
     features`` (every case failed), ``prom demo`` (the simulated cohort failed the contract)
2    bad input or options: a missing, empty or unreadable file, a value the data contract
     or an instrument refuses, an unknown option (``error: …`` says what and where)
3    an internal error — a bug: one ``error:`` line naming the exception; ``prom --debug
     COMMAND …`` shows its traceback
4    ``prom score`` only: an output exists (without ``--overwrite``) or another run is
     writing it
130  interrupted (Ctrl-C)
143  ``prom score``: stopped by SIGTERM (a scheduler or ``kill``); its partial files removed
==== =====================================================================================

When the program reading the output closes it early (``prom fit --help | head``), the
command stops without a message and exits with 1, as click and rich (which print the
output) do.
"""

from __future__ import annotations

import os
import sys
from typing import Annotated, Any

import typer
from rich.markup import escape
from typer.core import TyperGroup

from prom.cli import data, demo, fitting, imaging, keys, models, scoring, serve
from prom.cli.common import err_console

__all__ = [
    "app",
    "main",
    "EXIT_FOUND_ERRORS",
    "EXIT_BAD_INPUT",
    "EXIT_INTERNAL",
    "EXIT_INTERRUPTED",
]

#: The command ran and found errors (``prom validate``, ``prom features``, ``prom demo``).
EXIT_FOUND_ERRORS = 1
#: Bad input or options.
EXIT_BAD_INPUT = 2
#: An internal error (a bug); ``--debug`` shows its traceback.
EXIT_INTERNAL = 3
#: Interrupted by the user.
EXIT_INTERRUPTED = 130
EXIT_TERMINATED = 143


def _stdout_closed() -> bool:
    """Whether the program reading standard output has closed it (``prom … | head``).

    A pipe whose reader has gone polls as an error; a terminal, a file or an open pipe
    does not. This tells a broken standard output from a broken pipe elsewhere (a worker
    process or a socket), which is an error to report.
    """
    import select

    try:
        poller = select.poll()
        poller.register(sys.stdout.fileno(), select.POLLOUT)
        return any(event & select.POLLERR for _, event in poller.poll(0))
    except (AttributeError, OSError, ValueError):  # no poll, no file descriptor
        return False


class _Guarded(TyperGroup):
    """Runs a sub-command so that nothing but ``--debug`` prints a traceback.

    A deliberate exit passes through. The toolkit's own errors (:class:`~prom.errors.PromError`,
    always about the input) and operating-system errors (a file that cannot be read or
    written) that a command did not catch end as ``error: …`` with exit code 2; any other
    exception is a bug: one ``error:`` line naming it and exit code 3.
    """

    def invoke(self, ctx: Any) -> Any:  # ctx: the group's context (typer's own click)
        from prom.errors import PromError

        try:
            return super().invoke(ctx)
        except (typer.Exit, typer.Abort, typer.TyperException):  # exits, usage errors
            raise
        except KeyboardInterrupt as e:
            from prom.errors import Terminated

            if isinstance(e, Terminated):
                err_console.print("[bold red]error:[/] terminated (SIGTERM); nothing written")
                raise typer.Exit(EXIT_TERMINATED) from None
            err_console.print("[bold red]error:[/] interrupted")
            raise typer.Exit(EXIT_INTERRUPTED) from None
        except (PromError, OSError) as e:
            if isinstance(e, BrokenPipeError) and _stdout_closed():
                # nobody reads what is left: point the descriptor at the null device so
                # the interpreter's last flush at exit has somewhere to go; stop quietly
                os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
                raise typer.Exit(EXIT_FOUND_ERRORS) from None  # click's and rich's code
            if ctx.params.get("debug"):
                raise
            err_console.print(f"[bold red]error:[/] {escape(str(e))}")
            raise typer.Exit(EXIT_BAD_INPUT) from e
        except Exception as e:  # the one place a bug becomes a clean exit (re-raised as Exit)
            if ctx.params.get("debug"):
                raise
            err_console.print(
                f"[bold red]error:[/] internal error: {type(e).__name__}: {escape(str(e))}; "
                "run with --debug for the traceback (prom --debug COMMAND …)"
            )
            raise typer.Exit(EXIT_INTERNAL) from e


app = typer.Typer(
    name="prom",
    help="Clinical outcome prediction for spine care: PROM scoring, MCID outcomes, "
    "cohort validation and simulation.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode="markdown",
    cls=_Guarded,
)


@app.callback()
def _root(
    debug: Annotated[
        bool,
        typer.Option(
            "--debug",
            envvar="PROM_DEBUG",
            help="Show the traceback of an unexpected error (exit code 3) instead of one line",
        ),
    ] = False,
) -> None:
    # the option is read by _Guarded.invoke from the context; nothing to do here
    pass


app.command()(data.simulate)
app.command()(data.validate)
app.command("score-proms")(data.score_proms)
app.command()(fitting.fit)
app.command()(models.evaluate)
app.command()(models.report)
app.command()(data.thresholds)
app.command()(data.tasks)
app.command()(demo.demo)
app.command()(imaging.features)
app.command()(imaging.phantoms)
app.command()(scoring.score)
app.command()(serve.serve)
app.add_typer(keys.app)


def main() -> None:
    """The ``prom`` command (console script and ``python -m prom.cli``).

    When the command is done, every object still alive is moved out of the cyclic
    collector's reach (:func:`gc.freeze`): the interpreter's last collection at exit then
    has nothing to walk, which took 0.4 s of the 0.8 s a ``prom fit`` needed to exit after
    its last line (the pandas, scikit-learn and booster objects of the run). Files are
    written and closed by then, and exit handlers still run.
    """
    import gc

    try:
        app()
    finally:
        gc.freeze()
