"""Engines: the same scoring function over the input's batches, locally or on Dask.

Both yield :class:`~prom.score.core.BatchResult` s in input order, batch by batch, and
the run writes them as they come. The local engine reads the input as a stream. The Dask
engine maps :func:`score_piece` over the Parquet pieces (row groups) on a distributed
cluster — the scheduler at ``scheduler``, or a ``LocalCluster`` started for the run — and
reads each piece in the same slices as the local engine, so both engines score every row
in the same batch and give identical results row for row (in fact identical files).

What travels to a worker is plain data — the bundle's path and manifest SHA-256, the
options, the layout and the duplicated-id hashes; each worker loads and verifies the
bundle itself (:func:`prom.score.plan.realise`), once per process. Results come back
through Dask's own serialisation between the run's processes; no file is unpickled.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator

from prom.score.core import BatchResult, score_batch
from prom.score.plan import Layout, Options, ScoringPlan, realise
from prom.score.source import Piece, Source, read_piece

__all__ = ["local_results", "dask_results", "score_piece"]


def local_results(plan: ScoringPlan, source: Source, threads: int = 2) -> Iterator[BatchResult]:
    """Batches scored in input order, ``threads`` at a time (the boosters and numpy release
    the GIL, so one batch's prediction overlaps the next batch's checks); at most
    ``threads`` batches are held at once.

    The first batch is scored in this thread, before any other starts: the modules
    scoring imports on first use (explanations, a model library's predict path) are then
    imported by one thread, never by two at once (two threads importing modules that
    import each other can fail: "cannot import name … from partially initialized
    module")."""
    batches = source.batches(plan.layout.read, plan.options.batch_rows, plan.layout.text)
    first = 0
    for b in batches:
        yield score_batch(b.frame, first, plan, b.lines, b.problems)
        first += len(b.frame)
        if threads > 1:
            break
    if threads <= 1:
        return
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(threads, thread_name_prefix="prom-score") as pool:
        running: deque = deque()
        for b in batches:
            running.append(pool.submit(score_batch, b.frame, first, plan, b.lines, b.problems))
            first += len(b.frame)
            if len(running) >= threads:
                yield running.popleft().result()
        while running:
            yield running.popleft().result()


def score_piece(piece: Piece, spec: tuple) -> list[BatchResult]:
    """Score one Parquet piece on a worker: its slices, in order."""
    options, layout, duplicates = spec
    plan = realise(options, layout, duplicates)
    out, first = [], piece.first_row
    for raw in read_piece(piece, layout.read, options.batch_rows):
        out.append(score_batch(raw, first, plan))
        first += len(raw)
    return out


def dask_results(
    options: Options,
    layout: Layout,
    duplicates,
    source: Source,
    *,
    scheduler: str | None = None,
    n_workers: int = 2,
    processes: bool = True,
) -> Iterator[BatchResult]:
    """Results of :func:`score_piece` over every piece, in input order.

    At most two pieces per worker are in flight, so results never pile up on the
    cluster faster than the run writes them.
    """
    from distributed import Client, LocalCluster

    pieces = source.pieces()
    cluster = None
    if scheduler is None:
        cluster = LocalCluster(
            n_workers=n_workers, threads_per_worker=1, processes=processes, dashboard_address=None
        )
        client = Client(cluster)
    else:
        client = Client(scheduler)
    try:
        workers = max(1, len(client.scheduler_info().get("workers", {})))
        spec = client.scatter((options, layout, duplicates), broadcast=True)
        todo = iter(pieces)
        running: deque = deque()

        def submit() -> None:
            piece = next(todo, None)
            if piece is not None:
                running.append(client.submit(score_piece, piece, spec, pure=False))

        for _ in range(2 * workers):
            submit()
        while running:
            future = running.popleft()
            results = future.result()
            future.release()
            submit()
            yield from results
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
