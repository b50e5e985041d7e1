"""The final fit of every family on all rows, the families side by side on the workers.

The final fits are independent of each other and of the fit's cross-validation, so
:class:`PendingFinalFits` hands them to the pool those share
(:func:`prom.parallel.run_batches`; the costliest first, so that the cheap ones fill the
other worker while a forest grows) instead of fitting them one after another in this
process. Each fit's warnings come back with it and are collected against its family
(:class:`prom.workflows.cautions.Cautions`); each fit's own seconds are returned for the
fit's ``timings``. The fitted models are those of a fit in this process: ``n_jobs`` does
not change them.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from prom.parallel import Batch, CaughtWarning, run_quietly
from prom.workflows.cautions import Cautions

__all__ = ["by_cost", "PendingFinalFits"]

#: The order the final fits are handed to the workers: the slowest families first.
_COST_ORDER = ("random_forest", "xgboost", "lightgbm", "elastic_net", "logistic")


def by_cost(families) -> list[str]:
    """``families`` with the slowest to fit first (unknown ones first of all): the order
    to hand fits to the workers so that the cheap ones fill the gaps at the end."""
    return sorted(families, key=lambda f: _COST_ORDER.index(f) if f in _COST_ORDER else -1)


def _timed_fit(model, X, y) -> tuple[tuple[Any, float], list[CaughtWarning]]:
    """Fit ``model`` (in a worker process when ``n_jobs > 1``): ``((model, seconds),
    warnings)``."""

    def work():
        t0 = time.perf_counter()
        fitted = model.fit(X, y)
        return fitted, time.perf_counter() - t0

    return run_quietly(work)


class PendingFinalFits:
    """Every model of ``unfitted`` (family → estimator) fitted on ``X``, ``y``, in a pool
    shared with other steps: :meth:`batch` gives the fits as a
    :class:`prom.parallel.Batch` (the costliest first), :meth:`finish` the
    ``(models, seconds)`` — in the order the families were given, with each fit's
    seconds — from that batch's results."""

    def __init__(self, unfitted: dict[str, Any], X, y) -> None:
        self.families = list(unfitted)
        self.order = by_cost(unfitted)
        self.calls = [(_timed_fit, (unfitted[f], X, y)) for f in self.order]

    def batch(
        self,
        tick: Callable[[int, int], None] | None = None,
        ranks: dict[str, int] | None = None,
    ) -> Batch:
        """``tick(done, total)`` as each fit finishes; ``ranks`` (family → rank) place
        the fits in a shared pool (default: the costliest first)."""
        done = [0]

        def on_done(_: int, __: Any) -> None:
            done[0] += 1
            if tick is not None:
                tick(done[0], len(self.order))

        return Batch(
            calls=self.calls,
            ranks=[0] * len(self.order) if ranks is None else [ranks[f] for f in self.order],
            on_done=on_done,
        )

    def finish(self, results: list, cautions: Cautions) -> tuple[dict[str, Any], dict[str, float]]:
        """``(models, seconds)`` in the order the families were given; each fit's
        warnings are collected against its family."""
        fitted: dict[str, Any] = {}
        seconds: dict[str, float] = {}
        for fam, ((model, spent), caught) in zip(self.order, results, strict=True):
            fitted[fam], seconds[fam] = model, spent
            for category, message in caught:
                cautions.add(fam, category, message, "the final fit")
        return {f: fitted[f] for f in self.families}, {f: seconds[f] for f in self.families}
