"""Predictors derived from other cohort columns: the imaging features at the index level.

A patient's MRI is measured at every lumbar disc (``img_l1_l2_<feature>`` …
``img_l5_s1_<feature>``), but the level that matters for a prognosis is the symptomatic
one, ``index_level``. ``img_index_<feature>`` is the feature read at that level::

    img_index_canal_ap_mm = img_<index_level>_canal_ap_mm

Giving a model the five per-level columns instead asks it to learn an interaction of
``index_level`` with every imaging feature — 40 columns of which, for any patient, 32 are
about discs nobody complains of. The built-in lumbar tasks (:mod:`prom.outcomes`) use the
index-level columns; the per-level columns remain available to anyone who names them.

The model layer derives these columns on the way in when a predictor list asks for them
and the table does not carry them (:func:`derive_missing`), so a bundle, the calculator
and the bulk scorer accept the same per-level tables the cohort contract describes. A
table that already carries an ``img_index_*`` column keeps it as given.

The value is missing (NaN) when ``index_level`` is missing or not a lumbar disc level, or
when the feature is missing at that level; a model's imputation then handles it like any
other missing imaging value. Nothing is filled in from another level.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from prom.errors import MissingColumnError
from prom.naming import DISC_LEVELS, imaging_column

__all__ = [
    "INDEX_PREFIX",
    "index_imaging_column",
    "index_imaging_columns",
    "is_index_imaging_column",
    "add_index_level_imaging",
    "derive_missing",
    "derive_available",
]

INDEX_PREFIX = "img_index_"


def index_imaging_column(feature: str) -> str:
    """``img_index_<feature>``, e.g. ``index_imaging_column('canal_ap_mm')``."""
    return f"{INDEX_PREFIX}{feature}"


def index_imaging_columns() -> tuple[str, ...]:
    """The index-level column of every per-level imaging feature of the contract."""
    from prom.cohort.contract import IMAGING_FEATURES

    return tuple(index_imaging_column(f) for f, *_ in IMAGING_FEATURES)


def is_index_imaging_column(name: str) -> bool:
    return isinstance(name, str) and name.startswith(INDEX_PREFIX) and len(name) > len(INDEX_PREFIX)


def _sources(feature: str) -> list[str]:
    return ["index_level"] + [imaging_column(level, feature) for level in DISC_LEVELS]


def _level_rows(df: pd.DataFrame) -> list[tuple[str, np.ndarray]]:
    """Each disc level with the positions of the rows whose ``index_level`` it is."""
    code = pd.Index(list(DISC_LEVELS), dtype=object).get_indexer(
        df["index_level"].to_numpy(dtype=object)
    )
    return [(lev, np.flatnonzero(code == k)) for k, lev in enumerate(DISC_LEVELS)]


def _index_values(df: pd.DataFrame, feature: str, rows=None) -> np.ndarray:
    out = np.full(len(df), np.nan)
    for lev, at in _level_rows(df) if rows is None else rows:
        if at.size:
            out[at] = pd.to_numeric(df[imaging_column(lev, feature)], errors="raise").to_numpy(
                dtype=float, na_value=np.nan
            )[at]
    return out


def add_index_level_imaging(df: pd.DataFrame, features=None) -> pd.DataFrame:
    """A copy of ``df`` with ``img_index_<feature>`` added for each feature.

    ``features``: feature names (default: every contract imaging feature whose five
    per-level columns are present). Needs ``index_level`` and the five per-level columns
    of each feature asked for; a :class:`~prom.errors.MissingColumnError` names what is
    absent. Columns already present are recomputed.
    """
    from prom.cohort.contract import IMAGING_FEATURES

    if features is None:
        features = [
            f for f, *_ in IMAGING_FEATURES if all(c in df.columns for c in _sources(f)[1:])
        ]
    # a shallow copy: the new columns are added to it, the caller's table and its data are
    # left untouched and not duplicated (a deep copy cost more than the derivation)
    out = df.copy(deep=False)
    values = index_level_values(df, features)
    new = {k: v for k, v in values.items() if k not in out.columns}
    for name in values.keys() - new.keys():
        out[name] = values[name]  # recomputed in place
    if new:  # added at once: a table of many blocks (scores joined column by column) would
        # make pandas warn of fragmentation at every single insert
        out = pd.concat([out, pd.DataFrame(new, index=df.index)], axis=1, copy=False)
        out = out.__finalize__(df)
    return out


def index_level_values(df: pd.DataFrame, features) -> dict[str, np.ndarray]:
    """``{img_index_<feature>: values}`` for each of ``features``, read from ``df``'s
    ``index_level`` and per-level columns (see :func:`add_index_level_imaging`)."""
    out: dict[str, np.ndarray] = {}
    rows = None  # the rows of each level, found once for all features
    for feature in features:
        absent = [c for c in _sources(feature) if c not in df.columns]
        if absent:
            raise MissingColumnError(
                f"{index_imaging_column(feature)} is read at the index level and needs "
                f"column(s) {', '.join(absent)}, which the table does not have"
            )
        rows = _level_rows(df) if rows is None else rows
        out[index_imaging_column(feature)] = _index_values(df, feature, rows)
    return out


def derive_missing(df: pd.DataFrame, columns) -> pd.DataFrame:
    """``df`` with every absent ``img_index_*`` column among ``columns`` derived.

    Returns ``df`` itself when nothing is absent. Absent columns of any other kind are
    left for the caller to report.
    """
    wanted = [c for c in columns if is_index_imaging_column(c) and c not in df.columns]
    if not wanted:
        return df
    features = [c[len(INDEX_PREFIX) :] for c in wanted]
    missing = sorted(
        {s for f in features for s in _sources(f) if s not in df.columns},
        key=lambda s: (s != "index_level", s),
    )
    if missing:
        raise MissingColumnError(
            f"column(s) {', '.join(wanted)} are not in the table and cannot be derived: "
            f"reading an imaging feature at the index level needs {', '.join(missing)}. "
            "Supply the img_index_* columns directly, or the index level and the per-level "
            "img_<level>_<feature> columns"
        )
    return add_index_level_imaging(df, features)


def derive_available(df: pd.DataFrame, columns) -> pd.DataFrame:
    """``df`` with each absent ``img_index_*`` column among ``columns`` derived where its
    sources (``index_level`` and the five per-level columns) are all present; the others
    stay absent (a table without MRI simply has no imaging predictors)."""
    wanted = [
        c
        for c in columns
        if is_index_imaging_column(c)
        and c not in df.columns
        and all(s in df.columns for s in _sources(c[len(INDEX_PREFIX) :]))
    ]
    return add_index_level_imaging(df, [c[len(INDEX_PREFIX) :] for c in wanted]) if wanted else df
