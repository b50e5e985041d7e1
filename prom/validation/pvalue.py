"""One way to print a p-value, shared by the report, the terminal tables and the verdicts.

A p-value printed with fixed decimals reads ``0.000`` when it is small, which claims a
probability of zero. Below ``0.001`` it is printed as ``< 0.001`` (the convention of most
journals and of TRIPOD+AI's examples); otherwise with three decimals. A missing or
non-finite value prints as an empty string, so a table cell stays blank rather than
saying ``nan``.
"""

from __future__ import annotations

import math

__all__ = ["P_FLOOR", "format_p_value"]

#: Below this, a p-value is printed as ``< 0.001``.
P_FLOOR = 0.001


def format_p_value(p: float | None, *, label: bool = False) -> str:
    """``"< 0.001"`` or ``"0.042"``; with ``label=True`` ``"p < 0.001"`` or ``"p = 0.042"``.

    ``p`` must be a probability; ``None``, NaN and infinities give ``""``.
    """
    if p is None or isinstance(p, bool):
        return ""
    try:
        value = float(p)
    except (TypeError, ValueError):
        raise TypeError(f"p-value {p!r} is not a number") from None
    if not math.isfinite(value):
        return ""
    if not -1e-12 <= value <= 1.0 + 1e-12:  # rounding of 2·Φ(−|z|) aside
        raise ValueError(f"p-value {value!r} is outside 0–1")
    text = f"< {P_FLOOR:.3f}" if value < P_FLOOR else f"{value:.3f}"
    if not label:
        return text
    return f"p {text}" if value < P_FLOOR else f"p = {text}"
