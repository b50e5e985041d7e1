"""A survival target — follow-up time and event — read from what users pass as ``y``.

:func:`survival_target` accepts what :func:`prom.outcomes.derive_label` returns for a
survival task (a DataFrame with ``time`` and ``event``), a structured array with two
fields (scikit-survival's convention: the boolean field is the event) or any two-column
array ``[time, event]``, and refuses missing, negative or infinite times, events other
than 0/1 and targets without any event, naming the rows.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from prom.errors import format_rows

__all__ = ["survival_target"]


def survival_target(y, index=None) -> tuple[np.ndarray, np.ndarray]:
    """``(time, event)`` float arrays from a DataFrame with ``time``/``event``, a structured
    array with two fields, or an (n, 2) array; missing or invalid values name the rows."""
    if isinstance(y, pd.DataFrame):
        if {"time", "event"} <= set(y.columns):
            time, event = y["time"], y["event"]
        elif y.shape[1] == 2:
            time, event = y.iloc[:, 0], y.iloc[:, 1]
        else:
            raise ValueError(
                f"y has columns {', '.join(map(str, y.columns))}; expected 'time' and 'event' "
                "(as derive_label returns for a survival task)"
            )
        time = time.to_numpy(dtype=float, na_value=np.nan)
        event = event.to_numpy(dtype=float, na_value=np.nan)
    elif isinstance(y, np.ndarray) and y.dtype.names and len(y.dtype.names) == 2:
        a, b = y.dtype.names
        first_bool = y.dtype[a].kind == "b"
        event = np.asarray(y[a if first_bool else b], dtype=float)
        time = np.asarray(y[b if first_bool else a], dtype=float)
    elif y is None:
        raise ValueError("requires y to be passed, but the target y is None")
    else:
        arr = np.asarray(y, dtype=float)
        if arr.ndim != 2 or arr.shape[1] != 2:
            raise ValueError(f"y must have two columns (time, event); got shape {arr.shape}")
        time, event = arr[:, 0], arr[:, 1]
    rows = index if index is not None and len(index) == time.size else np.arange(time.size)
    bad = np.isnan(time) | np.isnan(event)
    if bad.any():
        raise ValueError(
            f"y has {int(bad.sum())} row(s) without time or event "
            f"({format_rows(rows[bad])}); "
            "fit on rows with a survival label (derive_label(...)['time'].notna())"
        )
    if (time < 0).any() or not np.isfinite(time).all():
        neg = (time < 0) | ~np.isfinite(time)
        raise ValueError(
            f"{int(neg.sum())} time(s) are negative or infinite ({format_rows(rows[neg])}); "
            "expected follow-up times ≥ 0"
        )
    if not np.isin(event, (0.0, 1.0)).all():
        raise ValueError("event must be 0 (censored) or 1 (event)")
    if event.sum() == 0:
        raise ValueError(f"y has no events among {time.size} rows; a Cox model needs events")
    return time, event
