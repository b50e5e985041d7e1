"""The progress display of ``prom fit`` (and the bars ``prom score`` shares): a bar per step on a terminal, nothing otherwise.

On a terminal (stderr), each step of the fit — a family's cross-validation folds, the
comparison, a held-out site, the bootstrap samples of the optimism correction, the final
fits — gets a ``rich.progress`` bar with its count, the time elapsed since the fit began
and an estimate of the time the step still needs; finished steps stay on screen, so the
whole fit can be followed. When stderr is not a terminal (a pipe, a log file, CI),
nothing is shown: no progress lines end up in a file.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from prom.workflows.progress import FitStep

__all__ = ["fit_progress", "terminal_bars", "cautions_of", "SIDE_BY_SIDE", "ends"]

#: The stages a classifier fit runs side by side in one pool of workers (every family's
#: folds, the optimism refits, the final fits): one of them starting says nothing about
#: how far the others are.
SIDE_BY_SIDE = frozenset({"cv", "optimism", "final"})


def ends(new_stage: str, earlier_stage: str) -> bool:
    """Whether a step of ``new_stage`` starting means that ``earlier_stage``'s steps are
    done (stages follow each other, except those run side by side)."""
    return new_stage != earlier_stage and not {new_stage, earlier_stage} <= SIDE_BY_SIDE


@contextmanager
def terminal_bars(force: bool | None = None, *, transient: bool = False) -> Iterator[Any]:
    """A ``rich.progress.Progress`` on stderr when it is a terminal, else ``None`` (a pipe,
    a log file: nothing drawn; ``force`` overrides the check: tests). Each bar shows its
    description, count and ``unit`` field, the time elapsed and the time left; with
    ``transient`` the bars go when done. Shared by ``prom fit`` and ``prom score``."""
    from prom.cli.common import err_console

    if not (err_console.is_terminal if force is None else force):
        yield None
        return
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[unit]}"),
        TimeElapsedColumn(),
        TextColumn("left"),
        TimeRemainingColumn(),
        console=err_console,
        transient=transient,
    ) as bar:
        yield bar


@contextmanager
def fit_progress(force: bool | None = None) -> Iterator[Callable[[str], None] | None]:
    """A ``progress`` callback for :func:`prom.workflows.fit_task`, or ``None`` when
    stderr is not a terminal (``force`` overrides the check: tests)."""
    with terminal_bars(force) as bar:
        if bar is None:
            yield None
            return
        from rich.progress import TaskID

        bars: dict[tuple, TaskID] = {}
        totals: dict[TaskID, int] = {}

        def show_step(step: str) -> None:
            if not isinstance(step, FitStep):  # a plain message (older callers)
                bar.console.print(str(step), markup=False, highlight=False)
                return
            final = step.stage == "final"
            key = (step.task, step.stage, None if final else step.family)
            if key not in bars:
                # a new stage means the earlier ones are done, unless they share the pool
                for k, t in bars.items():
                    if ends(step.stage, k[1]):
                        bar.update(t, completed=totals[t])
                title = f"{step.task}: final fits" if final else str(step).split(" (", 1)[0]
                bars[key] = bar.add_task(title, total=step.total or 1, unit=step.unit)
            totals[bars[key]] = step.total or 1
            bar.update(bars[key], completed=step.done, total=totals[bars[key]])

        yield show_step
        for t in bars.values():
            bar.update(t, completed=totals[t])


def cautions_of(caught: list) -> list[str]:
    """The messages of recorded warnings to show as cautions, each once, in order;
    deprecation and future warnings (about the software, not the fit) are left out."""
    skip = (DeprecationWarning, PendingDeprecationWarning, FutureWarning)
    return list(dict.fromkeys(str(w.message) for w in caught if not issubclass(w.category, skip)))
