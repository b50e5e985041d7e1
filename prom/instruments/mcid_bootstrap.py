"""Percentile bootstrap of the MCID estimators: settings, memory-bounded blocks, interval.

Shared by :func:`prom.instruments.mcid_anchor.anchor_mcid` and
:func:`prom.instruments.mcid_distribution.distribution_mcid`.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from numbers import Integral, Real
from typing import Any

import numpy as np

from prom.instruments.mcid_inputs import MCIDInputError

__all__ = ["MIN_BOOT", "check_bootstrap", "percentile_interval", "blocks"]

#: Fewest bootstrap replicates accepted for a percentile interval (0 = no interval).
MIN_BOOT = 100
# Bootstrap replicates are drawn in blocks of about this many numbers, to bound memory.
_BLOCK = 1 << 20


def check_bootstrap(
    n_boot: Any, ci: Any, seed: Any
) -> tuple[int, float, np.random.Generator, int | None]:
    """``(n_boot, ci, generator, seed)``, checked: ``n_boot`` 0 (no interval) or at least
    :data:`MIN_BOOT`; ``ci`` in (0, 1); ``seed`` an int, None, or a numpy Generator (used
    as given, reported as seed None)."""
    if isinstance(n_boot, bool) or not isinstance(n_boot, Integral):
        raise TypeError(f"n_boot must be an int; got {type(n_boot).__name__}")
    if n_boot != 0 and n_boot < MIN_BOOT:
        raise MCIDInputError(
            f"n_boot={n_boot} is too few for a percentile interval; use 0 (no interval) "
            f"or at least {MIN_BOOT} (1000 or more recommended)"
        )
    if isinstance(ci, bool) or not isinstance(ci, Real):
        raise TypeError(f"ci must be a number such as 0.95; got {type(ci).__name__}")
    if not 0 < float(ci) < 1:
        raise MCIDInputError(f"ci={ci!r} is outside (0, 1); for a 95% interval pass ci=0.95")
    if isinstance(seed, np.random.Generator):
        return int(n_boot), float(ci), seed, None
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, Integral)):
        raise TypeError(
            f"seed must be an int, a numpy Generator or None; got {type(seed).__name__}"
        )
    seed_int = None if seed is None else int(seed)
    return int(n_boot), float(ci), np.random.default_rng(seed_int), seed_int


def percentile_interval(reps: np.ndarray, ci: float) -> tuple[float, float]:
    """Percentile interval: the ⌈Bα⌉-th and ⌈B(1 − α)⌉-th smallest of B replicates.

    With α = (1 − ci)/2 (the 25th and 975th of 1000 at ci = 0.95). The bounds are
    replicate values. Computed from order statistics directly, because
    ``np.quantile(method='inverted_cdf')`` at the float 0.025000000000000022 would take
    the 26th.
    """
    b = len(reps)
    alpha = (1.0 - ci) / 2.0
    lo = min(max(math.ceil(b * alpha - 1e-9), 1), b)
    hi = min(max(math.ceil(b * (1.0 - alpha) - 1e-9), 1), b)
    ordered = np.sort(reps)
    return float(ordered[lo - 1]), float(ordered[hi - 1])


def blocks(n_boot: int, width: int) -> Iterator[int]:
    """Replicate counts per block, so that a block holds about ``_BLOCK`` numbers."""
    size = max(1, _BLOCK // max(width, 1))
    for start in range(0, n_boot, size):
        yield min(size, n_boot - start)
