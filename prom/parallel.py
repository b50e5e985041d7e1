"""Map a function over independent tasks in worker processes, warnings included.

Resampling — cross-validation folds, bootstrap samples, one fit per held-out site — is one
function mapped over independent tasks. This module runs such a map and guarantees:

- **Same results for any ``n_jobs``.** :func:`parallel_map` returns the results in task
  order; with ``n_jobs == 1`` (or a single task) it runs in this process, in order, with
  nothing pickled.
- **Processes, not threads.** With ``n_jobs > 1`` the tasks run in a pool of joblib's loky
  worker processes, so pure-Python work (pandas preprocessing, scikit-learn's fit
  plumbing) scales with the cores.
- **No oversubscription.** Each worker may use ``cpu_count() // n_jobs`` BLAS/OpenMP
  threads (joblib's ``inner_max_num_threads``), so estimators that thread internally
  (histogram gradient boosting, XGBoost, LightGBM) do not start ``n_jobs × cores``
  threads.
- **Warnings come home, once.** A warning raised in a worker process never reaches the
  caller. A task runs its work through :func:`run_quietly`, which records the warnings and
  returns them with the result; the caller gathers them from every task and hands them to
  :func:`reissue_warnings`, which issues each distinct warning once, saying where it arose
  and how many times (``"... [while fitting in cross-validation: 5 time(s)]"``). The same
  path is taken with ``n_jobs == 1``, so the warnings do not depend on ``n_jobs`` either.

::

    def task(estimator, X, y, train):
        return run_quietly(fit_one, estimator, X, y, train)

    n_jobs = resolve_n_jobs(n_jobs)                   # checked; -1 -> the number of cores
    caught = []
    for result, warned in parallel_map(task, tasks, n_jobs):
        caught += warned
    reissue_warnings(caught, "while fitting in cross-validation")
"""

from __future__ import annotations

import contextlib
import warnings
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from prom.options import N_JOBS, check_option

__all__ = [
    "CaughtWarning",
    "import_while_workers_run",
    "resolve_n_jobs",
    "parallel_map",
    "Batch",
    "run_batches",
    "batches",
    "run_quietly",
    "reissue_warnings",
]

T = TypeVar("T")
R = TypeVar("R")

#: A recorded warning: its category and its message.
CaughtWarning = tuple[type[Warning], str]


def resolve_n_jobs(n_jobs: Any, name: str = "n_jobs") -> int:
    """``n_jobs`` checked (:data:`prom.options.N_JOBS`: a positive integer or -1) and turned
    into the number of worker processes to use (-1: every core joblib can use).

    Raises :class:`TypeError` for a non-integer and :class:`ValueError` for 0 or below -1.
    """
    from joblib import effective_n_jobs

    return int(effective_n_jobs(check_option(name, n_jobs, N_JOBS)))


#: Modules for this process to import while the next pool's workers run (in order).
_IMPORT_WHILE_WAITING: dict[str, None] = {}


def import_while_workers_run(*modules: str) -> None:
    """Have this process import ``modules`` (a library a later step needs) while the next
    pool of worker processes runs: in this thread, at the pool's first result, not in a
    second thread — two threads importing modules that import each other can fail
    ("cannot import name … from partially initialized module"). Nothing is imported when
    no pool runs (one worker: the later step imports it as before); an import that fails
    here is left to fail again where the step imports it, with its own message."""
    _IMPORT_WHILE_WAITING.update(dict.fromkeys(modules))


def _import_waiting_modules() -> None:
    import importlib

    while _IMPORT_WHILE_WAITING:
        name = next(iter(_IMPORT_WHILE_WAITING))
        del _IMPORT_WHILE_WAITING[name]
        with contextlib.suppress(Exception):  # see import_while_workers_run
            importlib.import_module(name)


def parallel_map(
    fn: Callable[..., R],
    tasks: Sequence[tuple[Any, ...]],
    n_jobs: int,
    on_done: Callable[[int, R], None] | None = None,
) -> list[R]:
    """``[fn(*task) for task in tasks]``, in loky worker processes when ``n_jobs > 1``.

    ``n_jobs`` is a number of processes as :func:`resolve_n_jobs` returns it. The results
    are in task order. In a pool, ``fn`` and the tasks are pickled to the workers (``fn``
    must be a module-level function) and each worker is limited to ``cpu_count() //
    n_jobs`` BLAS/OpenMP threads.

    ``on_done(i, result)``, when given, is called in this process for each task as its
    result arrives (in task order; a progress display counts with it).
    """
    if n_jobs == 1 or len(tasks) <= 1:
        out: list[R] = []
        for i, t in enumerate(tasks):
            out.append(fn(*t))
            if on_done is not None:
                on_done(i, out[-1])
        return out
    from joblib import Parallel, cpu_count, delayed, parallel_config

    inner = max(1, cpu_count() // n_jobs)
    with parallel_config(backend="loky", inner_max_num_threads=inner):
        results = Parallel(n_jobs=n_jobs, return_as="generator")(delayed(fn)(*t) for t in tasks)
        out = []
        for i, r in enumerate(results):
            out.append(r)
            if on_done is not None:
                on_done(i, r)
            if i == 0:  # the workers are busy with the next tasks: this process is free
                _import_waiting_modules()
        return out


@dataclass
class Batch:
    """One step's calls in a pool that several independent steps share.

    ``calls`` are ``(fn, args)`` pairs (``fn`` module-level, as for :func:`parallel_map`);
    ``ranks`` (default all 0) order the calls in the shared pool: lower ranks are handed
    out first, ties keep the order of the batches and of their calls.
    ``on_done(j, result)`` is called for the batch's ``j``-th call as its result arrives.
    """

    calls: list[tuple[Callable[..., Any], tuple[Any, ...]]]
    ranks: list[int] = field(default_factory=list)
    on_done: Callable[[int, Any], None] | None = None


def _call(fn: Callable[..., R], args: tuple[Any, ...]) -> R:
    return fn(*args)


def run_batches(steps: Sequence[Batch], n_jobs: int) -> list[list[Any]]:
    """Every call of every batch in one :func:`parallel_map`; each batch's results in the
    order of its calls.

    Steps that do not depend on each other (the outer folds of cross-validation, the
    bootstrap refits of the optimism estimate, the final fits) then keep both workers
    busy to the end, instead of each step leaving a worker idle while its last, longest
    call runs alone. Each call computes what it would alone, so the results do not depend
    on the grouping, the ranks or ``n_jobs``.
    """
    flat = sorted(
        (
            (b.ranks[j] if b.ranks else 0, k, j)
            for k, b in enumerate(steps)
            for j in range(len(b.calls))
        ),
        key=lambda t: t[0],
    )
    out: list[list[Any]] = [[None] * len(b.calls) for b in steps]

    def done(i: int, result: Any) -> None:
        _, k, j = flat[i]
        out[k][j] = result
        hook = steps[k].on_done
        if hook is not None:
            hook(j, result)

    parallel_map(_call, [steps[k].calls[j] for _, k, j in flat], n_jobs, done)
    return out


def batches(items: Sequence[T], n_jobs: int) -> list[list[T]]:
    """``items`` cut into contiguous batches, in order, for :func:`parallel_map`.

    One batch with ``n_jobs == 1``; else ``min(len(items), 4 * n_jobs)`` batches whose
    sizes differ by at most one (the larger ones first, as :func:`numpy.array_split`), so
    that many small tasks (bootstrap samples) pay the cost of a worker call a few times
    per worker instead of once per item, while the work stays balanced.
    """
    if not items:
        return []
    if n_jobs == 1:
        return [list(items)]
    k = min(len(items), 4 * n_jobs)
    size, extra = divmod(len(items), k)
    out, start = [], 0
    for i in range(k):
        stop = start + size + (1 if i < extra else 0)
        out.append(list(items[start:stop]))
        start = stop
    return out


def run_quietly(fn: Callable[..., R], *args: Any) -> tuple[R, list[CaughtWarning]]:
    """``(fn(*args), warnings)``: the result and every warning ``fn`` raised, recorded
    (category and message) instead of shown, to be passed to :func:`reissue_warnings` by
    the caller — also from a worker process, whose own warnings nobody would see."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = fn(*args)
    return result, [(w.category, str(w.message)) for w in caught]


def reissue_warnings(caught: Sequence[CaughtWarning], where: str, stacklevel: int = 3) -> None:
    """Issue each distinct recorded warning once, in the order first seen, with ``where``
    and its count: ``"<message> [<where>: <k> time(s)]"``, or ``"<message> [<where>]"``
    when it occurred once. The category is kept.

    The default ``stacklevel=3`` points at the caller of the function that calls this one
    (the user's call of a public resampling function).
    """
    for (category, message), k in Counter(caught).items():
        warnings.warn(
            f"{message} [{where}: {k} time(s)]" if k > 1 else f"{message} [{where}]",
            category,
            stacklevel=stacklevel,
        )
