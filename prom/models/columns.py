"""A table's columns as the model layer reads them, each converted once.

:class:`ColumnCache` holds one table (a pandas DataFrame) and hands out its columns as
float64 arrays (``NaN`` for missing) and as codes against a list of category levels
(index of the level, ``-1`` for a value that is no level, ``-2`` for missing). Each
conversion is made once and kept, so several consumers of the same rows share it: bulk
scoring builds one cache per batch and every task's preprocessor
(:meth:`prom.models.preprocess.Preprocessor.transform_columns`), the out-of-range flags
and the drift counts read from it — five tasks reading the same forty predictors convert
each of them once, not five times.

The cache assumes clean input: values were checked before (bulk scoring quarantines bad
rows first). A numeric column that cannot be read as numbers raises the model layer's
own error (:func:`prom.models.inputs.numeric_values`, naming the rows).
"""

from __future__ import annotations

import functools

import numpy as np
import pandas as pd

__all__ = ["ColumnCache", "level_codes"]


@functools.lru_cache(maxsize=1024)
def _level_index(levels: tuple) -> pd.Index:
    """The levels as an object Index (immutable; a model's few level lists are reused by
    every call that codes against them)."""
    return pd.Index(list(levels), dtype=object)


@functools.lru_cache(maxsize=1024)
def _text_levels(levels: tuple) -> dict[str, int] | None:
    """``level → index`` when the levels are distinct ``str``; ``None`` otherwise."""
    if not all(type(lv) is str for lv in levels) or len(set(levels)) != len(levels):
        return None
    return {lv: i for i, lv in enumerate(levels)}


def level_codes(values: np.ndarray, levels) -> np.ndarray:
    """Index of each of ``values`` (object array) in ``levels``; -1 other value, -2 missing.

    Matching is Python equality and hashing, as in a dict: ``1`` and ``1.0`` match.
    """
    levels = tuple(levels)
    if len(values) <= 16:  # a few rows of text (one patient): a dict beats a hash table
        table = _text_levels(levels)
        if table is not None and all(type(v) is str for v in values):
            return np.fromiter((table.get(v, -1) for v in values), np.int64, len(values))
    codes = _level_index(levels).get_indexer(values).astype(np.int64)
    other = np.flatnonzero(codes < 0)
    if other.size:
        codes[other[pd.isna(values[other])]] = -2
    return codes


class ColumnCache:
    """Columns of ``frame`` as float arrays or level codes, each computed once.

    ``extra``: further numeric columns as float64 arrays of the frame's length (derived
    columns, kept out of the frame so that it is not copied to hold them).
    """

    def __init__(self, frame: pd.DataFrame, extra: dict[str, np.ndarray] | None = None):
        self.frame = frame
        self.n_rows = len(frame)
        self._numeric: dict[str, np.ndarray] = {}
        self._codes: dict[tuple, np.ndarray] = {}
        for name, v in (extra or {}).items():
            v = np.asarray(v, dtype=np.float64)
            if v.shape != (self.n_rows,):
                raise ValueError(f"column {name!r} has {v.shape} values for {self.n_rows} rows")
            v.flags.writeable = False
            self._numeric[name] = v
        self.extra = tuple(extra or ())

    def preload(self) -> ColumnCache:
        """Convert every plain float64 column of the frame now, in one conversion, and
        return the cache: a frame of a few rows (one patient) costs one conversion instead
        of one per column. The columns read the same as :meth:`numeric` reads them."""
        floats = self.frame.select_dtypes(include=[np.float64])  # in frame order
        plain = [c for c in floats.columns if isinstance(c, str) and c not in self._numeric]
        if plain and self.frame.columns.is_unique:
            if len(plain) < floats.shape[1]:
                floats = floats[plain]
            block = floats.to_numpy(dtype=np.float64, na_value=np.nan)
            block.flags.writeable = False
            for i, c in enumerate(plain):
                self._numeric[c] = block[:, i]
        return self

    def __contains__(self, column: str) -> bool:
        return column in self.frame.columns or column in self.extra

    def numeric(self, column: str) -> np.ndarray:
        """The column as float64, ``NaN`` where missing (read-only: shared)."""
        v = self._numeric.get(column)
        if v is None:
            from prom.models.inputs import numeric_values

            s = self.frame[column]
            v = (
                s.to_numpy(dtype=np.float64, na_value=np.nan)
                if s.dtype == np.float64
                else numeric_values(s, column)
            )
            v.flags.writeable = False
            self._numeric[column] = v
        return v

    def codes(self, column: str, levels: tuple) -> np.ndarray:
        """Index of each value in ``levels``; -1 a value that is no level, -2 missing."""
        key = (column, levels)
        c = self._codes.get(key)
        if c is None:
            s = self.frame[column] if column not in self.extra else pd.Series(self._numeric[column])
            if isinstance(s.dtype, pd.CategoricalDtype):  # level per category, then a take
                per = level_codes(s.cat.categories.to_numpy(dtype=object), levels)
                own = s.cat.codes.to_numpy()
                c = np.full(len(own), -2, dtype=np.int64)
                have = own >= 0
                c[have] = per[own[have]]
            else:
                c = level_codes(s.to_numpy(dtype=object), levels)
            c.flags.writeable = False
            self._codes[key] = c
        return c
