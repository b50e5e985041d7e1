"""Plain JSON values from the objects results are made of (one converter for the package).

Bundles, validation records, workflow results and the scorer's summary all write JSON
built from dataclasses, numpy arrays and scalars, and pandas timestamps;
:func:`to_jsonable` turns them into dicts, lists, str, int, float, bool and None. NaN stays
NaN (written as ``NaN`` with ``allow_nan=True``); ``pd.NA`` and ``pd.NaT`` become None.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["to_jsonable", "table_records"]


def to_jsonable(obj: Any) -> Any:
    """``obj`` with every container, numpy value and timestamp made plain JSON."""
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {k: to_jsonable(v) for k, v in dataclasses.asdict(obj).items()}
    if isinstance(obj, Mapping):
        return {str(k): to_jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [to_jsonable(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return [to_jsonable(v) for v in obj.tolist()]
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, (pd.Timestamp, dt.datetime, dt.date)):
        return obj.isoformat()
    if obj is pd.NA or obj is pd.NaT:
        return None
    return obj


def table_records(frame: pd.DataFrame) -> tuple[dict[str, Any], ...]:
    """A table as plain JSON rows, one mapping per row (as a bundle manifest stores it)."""
    return tuple(to_jsonable(r) for r in frame.to_dict(orient="records"))
