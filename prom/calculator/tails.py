"""The calculator's training-tail warning: an entry inside the training range, but rare.

An entry is in a training tail of a model when it lies within that model's training range
but below the 1st or above the 99th percentile of its training values
(:meth:`prom.models.ranges.NumericRange.tail`). The model has seen such values, so this is
no extrapolation (that is the "outside the training data" warning), yet fewer than 1 in
100 training patients had one — worth a second look, e.g. an imaging feature measured on
a scan whose intensities differ from the training scans'.
"""

from __future__ import annotations

from typing import Any

from prom.models.ranges import Finding

__all__ = ["beyond_message", "tail_message"]


def _where(values: list[float], fmt: str) -> str:
    """One value, or the span of the models' values: ``'59.3'``, ``'41.6–59.3 by model'``."""
    lo, hi = format(min(values), fmt), format(max(values), fmt)
    return lo if lo == hi else f"{lo}–{hi} by model"


def beyond_message(label: str, v: Any, finding: Finding, bounds: list[float]) -> str:
    """The warning for a number outside the training range of one or more models:
    ``finding`` (``Finding.BELOW``/``ABOVE``), ``bounds`` each such model's lowest (or
    highest) training value — one line per entry, however many models it concerns."""
    if finding is Finding.BELOW:
        return (
            f"{label} {float(v):g} is below every training patient's (lowest {_where(bounds, 'g')})"
        )
    return f"{label} {float(v):g} is above every training patient's (highest {_where(bounds, 'g')})"


def tail_message(label: str, v: Any, finding: Finding, cuts: list[float]) -> str:
    """The warning for a number inside the training range but in one of its tails:
    ``finding`` (``Finding.LOW_TAIL``/``HIGH_TAIL``), ``cuts`` the 1st (or 99th) percentile
    of each model's training values that put it there."""
    where = _where(cuts, ".3g")
    side = "below the 1st" if finding is Finding.LOW_TAIL else "above the 99th"
    return (
        f"{label} {float(v):g} is in the training tail: {side} percentile of training "
        f"patients ({where}); fewer than 1 in 100 had a value this "
        f"{'low' if finding is Finding.LOW_TAIL else 'high'}"
    )
