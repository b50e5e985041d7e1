"""The paired bootstrap of :func:`prom.validation.compare_models`, vectorised.

Every model is resampled with the same rows (paired). A replicate is a row of a count
matrix ``W`` (``W[b, i]``: how often row i is drawn in replicate b), so a replicate's Brier
scores and net benefits are one matrix product and its AUCs come from weighted ranks
(:func:`weighted_auc`): 5 models × 200 replicates at n = 10,000 take about 0.2 s on one
core. The count matrices come in blocks (:func:`count_matrix_blocks`) to bound memory at
large n.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator

import numpy as np

from prom.errors import StatisticalWarning

__all__ = [
    "BLOCK_CELLS",
    "weighted_auc",
    "count_matrix",
    "count_matrix_blocks",
    "percentile_interval",
    "check_dropped",
]

#: rows × replicates handled per block of the bootstrap (bounds memory at large n)
BLOCK_CELLS = 4_000_000


def weighted_auc(W: np.ndarray, y: np.ndarray, p: np.ndarray) -> np.ndarray:
    """AUC in each replicate; ``W[b, i]`` is how often row i is drawn in replicate b.

    The Mann-Whitney AUC of the resampled rows, ties counting one half: rows are sorted
    by ``p`` once, drawn events and non-events are summed within each group of tied
    predictions, and each event weight meets the non-event weight below its group plus
    half the weight within it.
    """
    order = np.argsort(p, kind="stable")
    ps = p[order]
    starts = np.flatnonzero(np.r_[True, ps[1:] != ps[:-1]])
    Ws = W[:, order]
    ys = y[order].astype(bool)
    w1 = np.add.reduceat(np.where(ys, Ws, 0.0), starts, axis=1)
    w0 = np.add.reduceat(np.where(ys, 0.0, Ws), starts, axis=1)
    below = np.cumsum(w0, axis=1) - w0
    num = np.sum(w1 * (below + 0.5 * w0), axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return num / (w1.sum(axis=1) * w0.sum(axis=1))


def count_matrix(idx: np.ndarray, n: int) -> np.ndarray:
    """``W[b, i]``: how often row ``i`` is drawn in replicate ``b`` of the row positions
    ``idx`` (shape ``(replicates, n)``), as floats for matrix products."""
    b = idx.shape[0]
    flat = (idx + (np.arange(b) * n)[:, None]).ravel()
    return np.bincount(flat, minlength=b * n).reshape(b, n).astype(float)


def percentile_interval(x: np.ndarray, level: float) -> tuple[float, float]:
    """The ``level`` percentile interval of the replicate values ``x``."""
    a = (1 - level) / 2
    lo, hi = np.quantile(x, [a, 1 - a])
    return float(lo), float(hi)


def count_matrix_blocks(n: int, n_boot: int, random_state: int | None) -> Iterator[np.ndarray]:
    """The ``n_boot`` resamples of ``n`` rows drawn from ``random_state``, as
    :func:`count_matrix` blocks of ``BLOCK_CELLS // n`` replicates (bounds memory at large
    n). The row positions are drawn all at once and then cut, so the resamples do not
    depend on the block size."""
    idx = np.random.default_rng(random_state).integers(0, n, size=(n_boot, n))
    block = max(1, BLOCK_CELLS // n)
    for s in range(0, n_boot, block):
        yield count_matrix(idx[s : s + block], n)


def check_dropped(dropped: int, n_boot: int, what: str) -> None:
    """Refuse a bootstrap in which every replicate was dropped (lacked ``what``); warn
    (:class:`~prom.errors.StatisticalWarning`) with the count when some were."""
    if dropped == n_boot:
        raise ValueError(
            f"every bootstrap replicate lacks {what}; the outcome is too rare to bootstrap."
        )
    if dropped:
        warnings.warn(
            f"{dropped} of {n_boot} bootstrap replicates lack {what} and were dropped; "
            f"intervals use the other {n_boot - dropped}.",
            StatisticalWarning,
            stacklevel=3,
        )
