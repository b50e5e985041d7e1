"""Read a column's values as its contract dtype: one parser per dtype, shared by
validation (:mod:`prom.cohort.validate`) and bulk scoring (:mod:`prom.score.checks`).

Each parser takes a column as it was read — any pandas dtype, text from a CSV, objects
from a DataFrame built by hand — and returns a :class:`Parsed`: the values in the dtype's
one representation (float64 for numbers and bools, object for text and categories) and
row-aligned masks of what is missing, what cannot be read as the dtype (``bad``) and
what converts without loss but was stored with another type (``coercible``: ``"42"`` in
a numeric column, ``"yes"`` in a bool column, a number in a text column).

Missing values are NaN, None, ``pd.NA`` and empty or all-blank text; text is stripped
exactly like :meth:`str.strip`. Bools are 0/1, True/False and the texts of
``true``/``false``, ``t``/``f``, ``yes``/``no``, ``y``/``n``, ``1``/``0`` (any case). Dates
and times are never numbers, bools or text.

What counts as a *problem* (and how it is reported) is the checks' business
(:mod:`prom.cohort.column_checks`); converting a whole table is
:func:`prom.cohort.validate.coerce_to_contract`.
"""

from __future__ import annotations

import numbers
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from prom.cohort.contract import ColumnSpec

__all__ = [
    "Parsed",
    "parse_column",
    "parse_numeric",
    "parse_bool",
    "parse_text",
    "parse_category",
    "object_view",
    "as_text",
    "is_textual",
]

_BOOL_TEXT: dict[str, float] = {
    "true": 1.0,
    "false": 0.0,
    "t": 1.0,
    "f": 0.0,
    "yes": 1.0,
    "no": 0.0,
    "y": 1.0,
    "n": 0.0,
    "1": 1.0,
    "0": 0.0,
    "1.0": 1.0,
    "0.0": 0.0,
}

# type codes of object-column elements: 0 real number or missing, 1 text, 2 bool, 3 other
_TYPE_CODE: dict[type, int] = {
    float: 0,
    int: 0,
    type(None): 0,
    np.float64: 0,
    np.int64: 0,
    str: 1,
    bool: 2,
    np.bool_: 2,
}


@dataclass
class Parsed:
    """A column read as its contract dtype.

    ``values`` is float64 for numeric and bool columns (NaN where missing or bad) and
    object for text and category columns; the masks are row-aligned booleans.
    """

    values: np.ndarray
    missing: np.ndarray
    bad: np.ndarray
    coercible: np.ndarray
    codes: np.ndarray | None = None
    """Category columns: each value's position in the declared categories (-1 missing or
    bad), when the values could be hashed."""


def _type_codes(arr: np.ndarray) -> np.ndarray:
    """0 real number or missing, 1 text, 2 bool, 3 other — one pass over an object array."""
    if pd.api.types.infer_dtype(arr, skipna=True) == "string":  # the common case, in C
        return np.ones(len(arr), dtype=np.int8)
    codes = np.fromiter((_TYPE_CODE.get(type(x), -1) for x in arr), dtype=np.int8, count=len(arr))
    for i in np.flatnonzero(codes < 0):  # subclasses and numpy scalars: rare
        x = arr[i]
        codes[i] = (
            1
            if isinstance(x, str)
            else 2
            if isinstance(x, (bool, np.bool_))
            else 0
            if isinstance(x, numbers.Real) or x is pd.NA or x is pd.NaT
            else 3
        )
    return codes


def object_view(s: pd.Series) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Object array with blank text made missing, its missing mask and type codes."""
    arr = s.to_numpy(dtype=object, copy=True)
    missing = np.asarray(pd.isna(arr), dtype=bool)
    codes = _type_codes(arr)
    idx = np.flatnonzero((codes == 1) & ~missing)
    if idx.size:
        stripped = np.fromiter((x.strip() for x in arr[idx]), dtype=object, count=idx.size)
        blank = stripped == ""
        missing[idx[blank]] = True
        arr[idx] = stripped
        codes[idx[blank]] = 0
    arr[missing] = None
    return arr, missing, codes


def _to_float(arr: np.ndarray) -> np.ndarray:
    """Object array as float64, NaN for anything that is not a real number or numeric text."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # e.g. complex numbers: refuse, don't truncate
            num = pd.to_numeric(pd.Series(arr, dtype=object), errors="coerce")
            if num.dtype.kind in "fiub":
                return num.to_numpy(dtype=float, na_value=np.nan)
    except (TypeError, ValueError, Warning):
        pass
    return np.array([_one_float(x) for x in arr], dtype=float)  # odd objects: rare, slow


def _one_float(x: Any) -> float:
    if isinstance(x, str):
        try:
            return float(x)
        except ValueError:
            return np.nan
    if isinstance(x, numbers.Real):
        return float(x)
    return np.nan


def is_textual(s: pd.Series) -> bool:
    """Whether ``s`` may hold text: any dtype but numbers and bools (object, string, …)."""
    return not (pd.api.types.is_numeric_dtype(s.dtype) or pd.api.types.is_bool_dtype(s.dtype))


def _is_temporal(s: pd.Series) -> bool:
    return s.dtype.kind in "mM" or isinstance(s.dtype, pd.DatetimeTZDtype | pd.PeriodDtype)


def parse_numeric(s: pd.Series) -> Parsed:
    """A ``float``/``int`` column: numbers as float64; numeric text is coercible; bools,
    dates and other text are bad."""
    n = len(s)
    none = np.zeros(n, dtype=bool)
    if _is_temporal(s):
        missing = np.asarray(s.isna(), dtype=bool)
        return Parsed(np.full(n, np.nan), missing, ~missing, none)
    if pd.api.types.is_bool_dtype(s.dtype):
        missing = np.asarray(s.isna(), dtype=bool)
        return Parsed(np.full(n, np.nan), missing, ~missing, none)
    if pd.api.types.is_numeric_dtype(s.dtype) and not isinstance(s.dtype, pd.CategoricalDtype):
        v = s.to_numpy(dtype=float, na_value=np.nan)
        return Parsed(v, np.isnan(v), none, none)
    arr, missing, codes = object_view(s)
    v = _to_float(arr)
    bad = ~missing & (np.isnan(v) | (codes >= 2))
    coercible = ~missing & ~bad & (codes == 1)
    v[bad] = np.nan
    return Parsed(v, missing, bad, coercible)


def parse_bool(s: pd.Series) -> Parsed:
    """A ``bool`` column as 0.0/1.0: bools and the numbers 0 and 1; the bool texts
    (``yes``, ``f``, ``1.0``, …) are coercible; anything else is bad."""
    n = len(s)
    none = np.zeros(n, dtype=bool)
    if _is_temporal(s):
        missing = np.asarray(s.isna(), dtype=bool)
        return Parsed(np.full(n, np.nan), missing, ~missing, none)
    if pd.api.types.is_bool_dtype(s.dtype):
        v = s.to_numpy(dtype=float, na_value=np.nan)
        return Parsed(v, np.isnan(v), none, none)
    if pd.api.types.is_numeric_dtype(s.dtype) and not isinstance(s.dtype, pd.CategoricalDtype):
        v = s.to_numpy(dtype=float, na_value=np.nan)
        missing = np.isnan(v)
        bad = ~missing & (v != 0) & (v != 1)
        v[bad] = np.nan
        return Parsed(v, missing, bad, none)
    arr, missing, codes = object_view(s)
    v = np.full(n, np.nan)
    text = (codes == 1) & ~missing
    if text.any():
        v[text] = (
            pd.Series(arr[text], dtype=object)
            .str.lower()
            .map(_BOOL_TEXT)
            .to_numpy(dtype=float, na_value=np.nan)
        )
    other = ~text & ~missing
    if other.any():
        v[other] = _to_float(arr[other])
    with np.errstate(invalid="ignore"):
        bad = ~missing & ~((v == 0) | (v == 1))
    v[bad] = np.nan
    return Parsed(v, missing, bad, text & ~bad)


def parse_text(s: pd.Series) -> Parsed:
    """A ``string`` column as stripped ``str`` (object). Among text, numbers are coercible
    (their text is meant) and bools, dates and other objects bad; a column of a numeric,
    bool or date dtype is coercible as a whole (its values as text, see :func:`as_text`)."""
    n = len(s)
    none = np.zeros(n, dtype=bool)
    if is_textual(s) and not _is_temporal(s):
        arr, missing, codes = object_view(s)
        coercible = ~missing & (codes == 0)  # numbers: their text is meant
        bad = ~missing & (codes >= 2)  # True/False, lists, dates: not an id or a name
        arr[bad] = None
        return Parsed(arr, missing, bad, coercible)
    missing = np.asarray(s.isna(), dtype=bool)
    arr = as_text(s).to_numpy(dtype=object)
    return Parsed(arr, missing, none, ~missing)


def parse_category(s: pd.Series, spec: ColumnSpec) -> Parsed:
    """Vectorised over the distinct values: categories are few even in a huge table."""
    n = len(s)
    none = np.zeros(n, dtype=bool)
    categories = list(spec.categories or ())
    allowed = set(categories)
    missing = np.asarray(s.isna(), dtype=bool)
    values = s.to_numpy(dtype=object, copy=True)
    try:
        if isinstance(s.dtype, pd.CategoricalDtype):  # already factorized
            at = s.cat.codes.to_numpy().astype(np.intp)
            uniques = s.cat.categories.to_numpy(dtype=object)
        else:
            at, uniques = pd.factorize(values)  # one pass; missing values get -1
    except TypeError:  # unhashable values (lists): classify each one, slowly
        ok = np.array([isinstance(x, str) and x in allowed for x in values], dtype=bool)
        blank = np.array([isinstance(x, str) and not x.strip() for x in values], dtype=bool)
        missing = missing | blank
        bad = ~missing & ~ok
        values[missing | bad] = None
        return Parsed(values, missing, bad, none)
    uniques = np.asarray(uniques, dtype=object)
    k = len(uniques)
    blank_u = np.fromiter((isinstance(u, str) and not u.strip() for u in uniques), bool, k)
    ok_u = np.fromiter((isinstance(u, str) and u in allowed for u in uniques), bool, k)
    code_u = (
        pd.Index(categories, dtype=object).get_indexer(uniques)
        if categories
        else np.full(k, -1, dtype=np.intp)
    )
    code_u[~ok_u] = -1
    present = at >= 0
    idx = np.where(present, at, 0)
    if k:
        missing = missing | (present & blank_u[idx])
        bad = present & ~blank_u[idx] & ~ok_u[idx]
        codes = np.where(present, code_u[idx], -1)
    else:
        bad, codes = none, np.full(n, -1, dtype=np.intp)
    values[missing | bad] = None
    return Parsed(values, missing, bad, none, codes)


def parse_column(s: pd.Series, spec: ColumnSpec) -> Parsed:
    """``s`` parsed as ``spec``'s dtype (``int`` columns as numbers: their fractions are
    the checks' business)."""
    if spec.dtype in ("float", "int"):
        return parse_numeric(s)
    if spec.dtype == "bool":
        return parse_bool(s)
    if spec.dtype == "category":
        return parse_category(s, spec)
    return parse_text(s)


def as_text(s: pd.Series) -> pd.Series:
    """Numbers as text: whole floats without '.0' (so an id 7.0 becomes '7')."""
    if pd.api.types.is_float_dtype(s.dtype):
        v = s.to_numpy(dtype=float, na_value=np.nan)
        whole = np.isfinite(v) & (v == np.round(v))
        text = s.astype(object).map(lambda x: x if pd.isna(x) else str(x))
        if whole.any():
            text[whole] = [str(int(x)) for x in v[whole]]
        return text.where(~np.isnan(v), np.nan)
    return s.astype(object).map(lambda x: x if pd.isna(x) else str(x))
