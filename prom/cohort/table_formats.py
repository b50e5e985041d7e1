"""What every way of reading a table shares: the formats, their error, and what missing is.

Used by the cohort reader (:func:`prom.cohort.readers.read_table`, a whole table at once)
and by the bulk scorer's streaming source (:mod:`prom.score.source`, record batches), so
that both accept the same files, refuse them with the same words and hand over the same
values:

- :func:`table_kind`: a file's format from its name (``.csv``/``.csv.gz``,
  ``.tsv``/``.tsv.gz`` — CSV whose delimiter is a tab unless told otherwise,
  :func:`csv_delimiter` —, ``.parquet``/``.pq``, ``.duckdb``/``.db``; a folder is a
  Parquet dataset);
- :func:`partition_keys`: the hive partition keys (``site=007/``) of a Parquet folder;
- :func:`missing_as_nan`: None in text columns becomes NaN, so a missing value looks the
  same from every source (DuckDB and Parquet give None, CSV gives NaN).

DuckDB tables are resolved by :mod:`prom.cohort.duckdb_tables`.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from prom.errors import PromError

__all__ = [
    "TableReadError",
    "SUPPORTED_SUFFIXES",
    "table_kind",
    "csv_delimiter",
    "partition_keys",
    "missing_as_nan",
    "blank_text_as_nan",
    "missing_cells_as_nan",
]


class TableReadError(PromError, ValueError):
    """A table cannot be read: unsupported format, empty file, unknown table or column."""


#: File name endings :func:`table_kind` understands (and folders of Parquet files).
SUPPORTED_SUFFIXES: tuple[str, ...] = (
    ".csv",
    ".csv.gz",
    ".tsv",
    ".tsv.gz",
    ".parquet",
    ".pq",
    ".duckdb",
    ".db",
)

_KIND_BY_SUFFIX = {
    ".csv": "csv",
    ".csv.gz": "csv",
    ".tsv": "csv",
    ".tsv.gz": "csv",
    ".parquet": "parquet",
    ".pq": "parquet",
    ".duckdb": "duckdb",
    ".db": "duckdb",
}


def table_kind(path: Path) -> str:
    """``"csv"``, ``"parquet"`` or ``"duckdb"``: the format of the file or folder at ``path``."""
    if path.is_dir():
        return "parquet"
    name = path.name.lower()
    for suffix in sorted(_KIND_BY_SUFFIX, key=len, reverse=True):
        if name.endswith(suffix):
            return _KIND_BY_SUFFIX[suffix]
    hint = ""
    if name.endswith(_SPREADSHEETS):
        hint = (
            "; it is a spreadsheet workbook: save the sheet as CSV (UTF-8) from the "
            "spreadsheet program and pass that file"
        )
    raise TableReadError(
        f"cannot read {path.name!r}: unsupported file type; supported are "
        f"{', '.join(SUPPORTED_SUFFIXES)} and folders of Parquet files{hint}"
    )


#: Workbook formats a registry's export often comes in: refused with how to export CSV.
_SPREADSHEETS = (".xlsx", ".xlsm", ".xls", ".ods", ".numbers")


def csv_delimiter(path: Path, delimiter: str | None) -> str | None:
    """The delimiter to read the CSV file at ``path`` with: ``delimiter`` when given,
    a tab for a ``.tsv`` (``.tsv.gz``) file, else ``None`` (the comma)."""
    if delimiter is None and path.name.lower().endswith((".tsv", ".tsv.gz")):
        return "tab"
    return delimiter


def partition_keys(root: Path, files: list[Path]) -> list[str]:
    """Hive partition keys (``key=value`` folder names) in folder order."""
    keys: list[str] = []
    for f in files:
        for part in f.relative_to(root).parts[:-1]:
            key = part.split("=", 1)[0] if "=" in part else None
            if key and key not in keys:
                keys.append(key)
    return keys


def missing_as_nan(df: pd.DataFrame) -> pd.DataFrame:
    """None in object columns becomes NaN, so missing looks the same from every source.

    ``df`` is changed in place (readers call this on the frame they have just read) and
    returned.
    """
    for j in np.flatnonzero(df.dtypes.to_numpy() == np.dtype(object)):
        col = df.iloc[:, j]
        isnull = col.isna().to_numpy()
        if isnull.any():
            values = col.to_numpy(dtype=object, copy=True)
            values[isnull] = np.nan
            df.isetitem(j, values)
    return df


def missing_cells_as_nan(df: pd.DataFrame) -> pd.DataFrame:
    """:func:`missing_as_nan` then :func:`blank_text_as_nan`, in place (and returned): a
    Parquet or DuckDB table's missing cells as a CSV file's would be read."""
    return blank_text_as_nan(missing_as_nan(df))


def blank_text_as_nan(df: pd.DataFrame) -> pd.DataFrame:
    """Text of nothing but spaces (or nothing) in a Parquet or DuckDB table's object
    columns becomes NaN, in place (and returned): the empty cell a CSV file would have,
    which is missing (a column's other values are left as they are)."""
    for j in np.flatnonzero(df.dtypes.to_numpy() == np.dtype(object)):
        col = df.iloc[:, j]
        try:  # the distinct values are few in a text column: each checked once
            blank = [v for v in col.unique() if type(v) is str and not v.strip()]
        except TypeError:  # unhashable values: nothing here is text to blank
            continue
        if blank:
            values = col.to_numpy(dtype=object, copy=True)
            values[np.asarray(col.isin(blank), dtype=bool)] = np.nan
            df.isetitem(j, values)
    return df
