"""Binary or multiclass? One reading of an outcome for resampling and model comparison.

:func:`encode_outcome` checks an outcome array-like and says how it is to be treated:
binary when its values are 0/1 (or boolean; 1 = event), multiclass when it has three or
more classes (labels of any type, a pandas categorical's categories in their own order).
Two classes coded otherwise are refused with the recoding to use, so that "the event" is
never guessed. Rows without an outcome are refused, never dropped.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from prom.errors import format_values
from prom.validation import _checks

__all__ = ["EncodedOutcome", "encode_outcome"]


@dataclass(frozen=True)
class EncodedOutcome:
    """An outcome read as binary or multiclass.

    ``kind``: ``"binary"`` or ``"multiclass"``. ``classes``: the labels, ``(0, 1)`` for a
    binary outcome, else in sorted order (a categorical's own order). ``codes``: each row's
    class position, 0 … k - 1. ``fit_y``: what an estimator is fitted on (the 0/1 integers,
    or the labels themselves).
    """

    kind: str
    classes: tuple
    codes: np.ndarray
    fit_y: np.ndarray


def encode_outcome(y, name: str = "y") -> EncodedOutcome:
    """``y`` checked and encoded: binary (0/1 or boolean; 1 = event) or multiclass (three
    or more classes, labels of any type).

    Raises :class:`TypeError` for something that is not a 1-D array-like, and
    :class:`ValueError`, naming the rows or values, for missing outcomes, a single class,
    two classes not coded 0/1, values that look continuous, and categories that never
    occur.
    """
    if y is None or isinstance(y, str | bytes | dict | set) or np.isscalar(y):
        raise TypeError(f"{name} must be a 1-D array-like of outcomes; got {type(y).__name__}.")
    if isinstance(y, pd.DataFrame):
        if y.shape[1] != 1:
            raise TypeError(f"{name} must be 1-D; got a DataFrame with {y.shape[1]} columns.")
        y = y.iloc[:, 0]
    if isinstance(y, pd.Series):
        ser = y
    elif isinstance(y, pd.Categorical):
        ser = pd.Series(y)
    else:
        arr = np.asarray(y)
        if arr.ndim != 1:
            raise ValueError(f"{name} must be 1-D; got an array of shape {arr.shape}.")
        ser = pd.Series(arr)
    if ser.empty:
        raise ValueError(f"{name} is empty.")
    miss = np.flatnonzero(ser.isna().to_numpy())
    if miss.size:
        raise ValueError(
            f"{name} has {miss.size} missing value(s) ({_checks.where_rows(y, miss)}); rows "
            "without an outcome are never dropped silently: remove them from X and y first."
        )
    cats = ser.dtype.categories if isinstance(ser.dtype, pd.CategoricalDtype) else None
    if cats is not None and pd.api.types.is_numeric_dtype(cats) and set(cats) <= {0, 1}:
        ser = ser.astype(float)  # a categorical of 0/1 is the 0/1 outcome it holds
    dtype = ser.dtype
    numeric = pd.api.types.is_numeric_dtype(dtype) or pd.api.types.is_bool_dtype(dtype)
    if isinstance(dtype, pd.CategoricalDtype):
        classes = tuple(dtype.categories)
        values = ser.astype(object).to_numpy()
    else:
        values = ser.to_numpy(dtype=float if numeric else object)
        classes = tuple(
            np.unique(values).tolist() if numeric else sorted(pd.unique(values), key=str)
        )
    if numeric and not isinstance(dtype, pd.CategoricalDtype):
        uniq = np.unique(values)
        if set(uniq.tolist()) <= {0.0, 1.0}:
            codes = values.astype(int)
            if uniq.size < 2:
                raise ValueError(
                    f"{name} has a single class: all {values.size} value(s) are {int(uniq[0])}; "
                    "validation needs events and non-events."
                )
            return EncodedOutcome("binary", (0, 1), codes, codes)
        if uniq.size == 2:
            raise ValueError(
                f"{name} has two values ({format_values(uniq.tolist())}); code a binary outcome "
                "as 0/1 (1 = event), e.g. (y == 2).astype(int)."
            )
        if not np.all(uniq == np.round(uniq)):
            raise ValueError(
                f"{name} has {uniq.size} distinct non-integer values (e.g. "
                f"{format_values(uniq[:3].tolist())}); it looks continuous. Validation here is "
                "for binary (0/1) or multiclass outcomes."
            )
    codes = pd.Index(classes).get_indexer(values)
    counts = np.bincount(codes, minlength=len(classes))
    if len(classes) == 2:
        raise ValueError(
            f"{name} has two classes ({format_values(list(classes))}); code a binary outcome "
            f"as 0/1 (1 = event), e.g. (y == {classes[1]!r}).astype(int)."
        )
    if (counts == 0).any() or len(classes) < 2:
        absent = [c for c, m in zip(classes, counts, strict=True) if m == 0]
        if len(classes) - len(absent) < 2:
            raise ValueError(
                f"{name} has a single class ({values[0]!r} in all "
                f"{values.size} rows); validation needs at least two."
            )
        raise ValueError(
            f"class(es) {absent!r} of {name} never occur; drop the unused "
            "categories (y.cat.remove_unused_categories()) first."
        )
    return EncodedOutcome("multiclass", classes, codes, values)
