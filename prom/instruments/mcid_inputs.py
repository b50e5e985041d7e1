"""Checked inputs of the MCID estimators: change scores, anchors, baseline scores.

Shared by the anchor-based (:mod:`prom.instruments.mcid_anchor`) and distribution-based
(:mod:`prom.instruments.mcid_distribution`) estimators. Missing values are never dropped
here: a NaN is an error that says where it is (index labels of a Series, else 0-based
positions), so the complete-case selection is made, and reported, by the caller.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from prom.errors import PromError, format_values

__all__ = ["MCIDInputError", "MIN_GROUP_SIZE", "as_values", "as_anchor", "check_two_classes"]

#: Fewer patients than this in an anchor group (or baseline sample) gives a warning.
MIN_GROUP_SIZE = 30


class MCIDInputError(PromError, ValueError):
    """Data or settings an MCID cannot be estimated from as given (NaNs, lengths, one class…)."""


def as_values(data, name: str) -> tuple[np.ndarray, pd.Index | None]:
    """A 1-D float array of finite numbers, and the Series index when given a Series."""
    index = None
    if isinstance(data, pd.DataFrame):
        raise TypeError(
            f"{name} must be 1-D (a Series, array or list); got a DataFrame — pass one column"
        )
    if data is None or isinstance(data, (str, bytes)) or np.ndim(data) == 0:
        raise TypeError(f"{name} must be a 1-D array-like of numbers; got {type(data).__name__}")
    if isinstance(data, pd.Series):
        index = data.index
        if pd.api.types.is_bool_dtype(data.dtype) or not (
            pd.api.types.is_numeric_dtype(data.dtype) or data.isna().all()
        ):
            raise TypeError(f"{name} has dtype {data.dtype}; expected numbers")
        x = data.to_numpy(dtype=float, na_value=np.nan)
    else:
        arr = np.asarray(data)
        if arr.dtype.kind == "O":
            if any(isinstance(v, (str, bytes, bool, np.bool_)) for v in arr.ravel()):
                raise TypeError(f"{name} holds text or booleans; expected numbers")
            try:
                arr = arr.astype(float)
            except (TypeError, ValueError):
                raise TypeError(f"{name} holds values that are not numbers") from None
        if arr.dtype.kind not in "iuf":
            raise TypeError(f"{name} has dtype {arr.dtype}; expected numbers")
        x = arr.astype(float)
    if x.ndim != 1:
        raise MCIDInputError(f"{name} has shape {x.shape}; expected one value per patient (1-D)")
    if x.size == 0:
        raise MCIDInputError(f"{name} is empty")
    _check_finite(x, name, index)
    return x, index


def as_anchor(data, n: int, change_index: pd.Index | None) -> np.ndarray:
    """Boolean anchor of length ``n``: bools, or numbers 0/1, with no missing values."""
    name = "anchor_improved"
    if isinstance(data, pd.DataFrame):
        raise TypeError(f"{name} must be 1-D; got a DataFrame — pass one column")
    if data is None or isinstance(data, (str, bytes)) or np.ndim(data) == 0:
        raise TypeError(
            f"{name} must be a 1-D array-like of booleans or 0/1; got {type(data).__name__}"
        )
    index = None
    if isinstance(data, pd.Series):
        index = data.index
        if not (
            pd.api.types.is_bool_dtype(data.dtype) or pd.api.types.is_numeric_dtype(data.dtype)
        ):
            raise TypeError(
                f"{name} has dtype {data.dtype}; expected booleans or 0/1. Dichotomise a "
                f"rating with anchor_from_rating()"
            )
        a = data.to_numpy(dtype=float, na_value=np.nan)
    else:
        arr = np.asarray(data)
        if arr.dtype.kind == "O":
            if any(isinstance(v, (str, bytes)) for v in arr.ravel()):
                raise TypeError(f"{name} holds text; expected booleans or 0/1")
            try:
                arr = arr.astype(float)
            except (TypeError, ValueError):
                raise TypeError(f"{name} holds values that are not booleans or numbers") from None
        if arr.dtype.kind not in "biuf":
            raise TypeError(
                f"{name} has dtype {arr.dtype}; expected booleans or 0/1. Dichotomise a "
                f"rating with anchor_from_rating()"
            )
        a = arr.astype(float)
    if a.ndim != 1:
        raise MCIDInputError(f"{name} has shape {a.shape}; expected one value per patient (1-D)")
    if len(a) != n:
        raise MCIDInputError(
            f"change has {n} value(s) but {name} has {len(a)}; give one anchor per change score"
        )
    if index is not None and change_index is not None and not index.equals(change_index):
        raise MCIDInputError(
            f"change and {name} are Series with different indexes; align them first "
            f"(e.g. anchor.reindex(change.index)) — they are not matched by position"
        )
    nan = np.isnan(a)
    if nan.any():
        raise MCIDInputError(
            _missing_message(
                name, np.flatnonzero(nan), index if index is not None else change_index
            )
        )
    bad = (a != 0) & (a != 1)
    if bad.any():
        raise MCIDInputError(
            f"{name} has {int(bad.sum())} value(s) other than 0/1 (values "
            f"{format_values(a[bad].tolist())}, {_where(np.flatnonzero(bad), index)}); "
            f"expected booleans or 0/1 — dichotomise a rating with anchor_from_rating()"
        )
    return a == 1


def check_two_classes(n1: int, n0: int) -> None:
    """Refuses an anchor with only improved or only not-improved patients."""
    if n1 == 0 or n0 == 0:
        which = "improved (True/1)" if n0 == 0 else "not improved (False/0)"
        raise MCIDInputError(
            f"anchor_improved has only one class: all {n1 + n0} patients are {which}; an "
            f"anchor-based MCID needs both improved and not-improved patients"
        )


def _check_finite(x: np.ndarray, name: str, index) -> None:
    nan = np.isnan(x)
    if nan.any():
        raise MCIDInputError(_missing_message(name, np.flatnonzero(nan), index))
    inf = np.isinf(x)
    if inf.any():
        raise MCIDInputError(
            f"{name} has {int(inf.sum())} infinite value(s) {_where(np.flatnonzero(inf), index)}; "
            f"expected finite numbers"
        )


def _missing_message(name: str, pos: np.ndarray, index) -> str:
    return (
        f"{name} has {len(pos)} missing value(s) (NaN) {_where(pos, index)}; missing values "
        f"are never dropped silently — drop these patients from every input explicitly "
        f"(e.g. keep = change.notna() & anchor.notna()) and pass the complete cases"
    )


def _where(pos: np.ndarray, index, limit: int = 8) -> str:
    """``'at index labels 3, 7'`` for a Series, ``'at positions 3, 7 (0-based)'`` otherwise."""
    if index is not None:
        labels, what, tail = list(index[pos]), "index label", ""
    else:
        labels, what, tail = [int(p) for p in pos], "position", " (0-based)"
    shown = ", ".join(str(v) for v in labels[:limit])
    if len(labels) > limit:
        shown += f", … ({len(labels)} in all)"
    return f"at {what}{'s' if len(labels) > 1 else ''} {shown}{tail}"
