"""The calculator's warnings of an entry against a model's training data.

:func:`range_message`: an entry outside the training range, a category never seen, or a
value not recorded that every training patient had; :func:`beyond_message`: one line for
an entry outside the range of several models. :func:`tail_message`: the training-tail
warning, an entry inside the training range, but rare.

An entry is in a training tail of a model when it lies within that model's training range
but below the 1st or above the 99th percentile of its training values
(:meth:`prom.models.ranges.NumericRange.tail`). The model has seen such values, so this is
no extrapolation (that is the "outside the training data" warning), yet fewer than 1 in
100 training patients had one — worth a second look, e.g. an imaging feature measured on
a scan whose intensities differ from the training scans'.
"""

from __future__ import annotations

from typing import Any

from prom.calculator.fields import field_label, option_label
from prom.models.ranges import Finding

__all__ = [
    "assumed_text",
    "beyond_message",
    "imputed_note",
    "missing_message",
    "range_message",
    "tail_message",
]


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


def assumed_text(col: str, medians: list[float | None]) -> str:
    """What the models use for ``col`` left empty, as the form shows a value: the training
    median of each model (``medians``; ``None`` for a category, which gets no category),
    ``'7'`` or ``'6–7 by model'``; a yes/no field's ``0``/``1`` as ``'no'``/``'yes'``."""
    from prom.cohort.contract import COHORT_CONTRACT

    numbers = [m for m in medians if m is not None]
    if not numbers:
        return "no category"
    spec = COHORT_CONTRACT.get(col)
    if spec is not None and spec.dtype == "bool" and set(numbers) <= {0.0, 1.0}:
        return " or ".join(dict.fromkeys("yes" if m == 1 else "no" for m in sorted(numbers)))
    return _where(numbers, "g")


def missing_message(label: str, col: str, medians: list[float | None]) -> str:
    """The warning for ``col`` left empty where every training patient had a value, one
    line however many models it concerns (``medians``: each model's training median,
    ``None`` for a category)."""
    used = assumed_text(col, medians)
    what = "no category" if used == "no category" else f"the training median ({used})"
    return (
        f"{label} not recorded, although every training patient had a value: the models use {what}"
    )


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


def range_message(label: str, col: str, v: Any, r: object) -> str | None:
    """The warning for entry ``v`` of ``col`` against its training summary ``r`` (a
    :mod:`prom.models.ranges` view, whose checks decide), if any."""
    from prom.models.ranges import CategoricalRange, Finding, NumericRange

    if not isinstance(r, (NumericRange, CategoricalRange)):
        raise TypeError(f"expected a training summary of {col!r}, got {type(r).__name__}")
    finding = r.check(v)
    if finding is None:
        return None
    if finding is Finding.MISSING:
        if isinstance(r, NumericRange) and r.median is not None:
            return (
                f"{label} not recorded, although every training patient had a value: "
                f"the model uses the training median ({r.median:g})"
            )
        return f"{label} not recorded, although every training patient had a value"
    if finding is Finding.BELOW and isinstance(r, NumericRange) and r.min is not None:
        return f"{label} {float(v):g} is below every training patient's (lowest {r.min:g})"
    if finding is Finding.ABOVE and isinstance(r, NumericRange) and r.max is not None:
        return f"{label} {float(v):g} is above every training patient's (highest {r.max:g})"
    if finding is Finding.UNSEEN and isinstance(r, CategoricalRange):
        cats = [str(c) for c in r.categories]
        return (
            f"{label} '{option_label(col, v)}' never occurred in training "
            f"(seen: {', '.join(option_label(col, c) for c in cats)})"
        )
    return None


def imputed_note(columns: tuple[str, ...]) -> str:
    """``'2 values imputed: Body-mass index (kg/m2), Diabetes mellitus (…)'``: the
    calculator's note, each column by its label on the form."""
    n = len(columns)
    return (
        f"{n} value{'s' if n != 1 else ''} imputed: {', '.join(map(field_label, columns))} "
        "(not entered; the models use the training median)"
    )
