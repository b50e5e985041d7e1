"""Progress of a fit: which family, which step, how far, how long, how long still.

A fit reports to a ``progress`` callback. What it hands over is a :class:`FitStep`: a
``str`` (the one-line message earlier callers printed or showed, so ``print`` and
``rich``'s ``status.update`` keep working) that also carries the structured fields a
progress display needs — the task, the stage (``cv``, ``comparison``, ``iecv``,
``optimism``, ``final``), the family, ``done`` of ``total`` units (folds, sites,
bootstrap samples, fits), the seconds since the fit started and an estimate of the
seconds the current step still needs.

:class:`StepClock` makes the steps: one per stage and family, ticked by the resampling
functions' ``progress(done, total)`` as their fits finish.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

__all__ = ["FitStep", "StepClock", "Progress"]


class FitStep(str):
    """One progress report: the message (this string) and its fields as attributes."""

    task: str
    stage: str
    family: str | None
    done: int
    total: int
    unit: str
    elapsed: float
    remaining: float | None

    def __new__(
        cls,
        message: str,
        *,
        task: str,
        stage: str,
        family: str | None = None,
        done: int = 0,
        total: int = 0,
        unit: str = "",
        elapsed: float = 0.0,
        remaining: float | None = None,
    ) -> FitStep:
        self = super().__new__(cls, message)
        self.task = task
        self.stage = stage
        self.family = family
        self.done = done
        self.total = total
        self.unit = unit
        self.elapsed = elapsed
        self.remaining = remaining
        return self

    def fields(self) -> dict[str, Any]:
        """The structured fields (for tests and logs)."""
        return {
            "task": self.task,
            "stage": self.stage,
            "family": self.family,
            "done": self.done,
            "total": self.total,
            "unit": self.unit,
            "elapsed": self.elapsed,
            "remaining": self.remaining,
        }


#: What a fit calls with each step (any ``Callable[[str], None]`` accepts a FitStep).
Progress = Callable[[FitStep], None]


def _seconds(s: float) -> str:
    return f"{s:.0f} s" if s < 120 else f"{s / 60:.1f} min"


class StepClock:
    """Makes the :class:`FitStep` reports of one task's fit and hands them to ``progress``.

    ``clock.start(stage, family, title, total, unit, done)`` reports the start of a step and
    returns the ``(done, total)`` callback to give the resampling function; each call of
    it reports again with the count, the elapsed time and the estimated time left in this
    step (the time per unit since the step's first unit finished × the units left; none
    before the second unit). With no ``progress``
    nothing is reported and the callbacks are ``None`` (nothing to call in the loops).
    """

    def __init__(self, task: str, progress: Callable[[FitStep], None] | None) -> None:
        self.task = task
        self.progress = progress
        self.t0 = time.perf_counter()

    def start(
        self,
        stage: str,
        family: str | None,
        title: str,
        total: int = 0,
        unit: str = "",
        done: int = 0,
    ) -> Callable[[int, int], None] | None:
        if self.progress is None:
            return None
        report = self.progress
        self._say(report, stage, family, title, done, total, unit, None)
        first: list[tuple[float, int]] = []  # when the first unit finished, and how many

        def tick(done: int, total_: int) -> None:
            now = time.perf_counter()
            left = None
            if done >= total_:
                left = 0.0
            elif first and done > first[0][1]:
                # the pace since this step's first unit finished: steps that share the
                # workers with others (the families' folds) do not count the wait before
                rate = (now - first[0][0]) / (done - first[0][1])
                left = rate * (total_ - done)
            if not first and done:
                first.append((now, done))
            self._say(report, stage, family, title, done, total_, unit, left)

        return tick

    def _say(self, report, stage, family, title, done, total, unit, left) -> None:
        elapsed = time.perf_counter() - self.t0
        text = f"{self.task}: {title}"
        if total:
            text += f" ({done}/{total} {unit}"
            text += f", {_seconds(elapsed)} elapsed"
            text += f", ~{_seconds(left)} left in this step)" if left is not None else ")"
        report(
            FitStep(
                text,
                task=self.task,
                stage=stage,
                family=family,
                done=done,
                total=total,
                unit=unit,
                elapsed=elapsed,
                remaining=left,
            )
        )
