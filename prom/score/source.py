"""Read an input table in record batches, so memory stays flat whatever its size.

Sources (as :func:`prom.cohort.readers.read_table`): ``.csv``/``.csv.gz``, ``.parquet``/
``.pq`` files, folders of Parquet files (hive partition folders such as ``site=007/``
become text columns), and ``.duckdb``/``.db`` databases (``table=``; read-only).

Row order is the order a registry would count its rows in, and it is fixed:

- CSV: file order;
- Parquet folder: files in sorted relative-path order, each file's rows in order;
- DuckDB: the table's insertion order (DuckDB preserves it for a plain ``SELECT``).

CSV is read by :mod:`prom.cohort.csv_reader` (``encoding=``, ``delimiter=``, ``decimal=``): a row with a
broken structure (wrong number of fields, a last line cut off, a quote left open) reaches
the scorer as a row of missing values with its :class:`~prom.cohort.csv_reader.StructureProblem`
in the batch, so it is counted and quarantined, never scored; every CSV row carries its
line in the file.

Units of work
-------------
A Parquet input is cut into :class:`Piece` s — one row group of one file — and every
piece is read in slices of at most ``batch_rows`` rows starting at the row group's first
row. The local engine and the Dask engine read the same pieces in the same slices, so
every row is scored in the same company of rows by both (the results are identical to
the last bit, not merely close). CSV and DuckDB are read as one stream (local engine only).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from prom.cohort.csv_reader import (
    CsvDialect,
    CsvHeader,
    StructureProblem,
    iter_csv_batches,
    read_csv_header,
    refuse_csv_options,
)
from prom.cohort.duckdb_tables import connect_read_only, quote_identifier, resolve_table
from prom.cohort.table_formats import (
    TableReadError,
    csv_delimiter,
    missing_cells_as_nan,
    partition_keys,
    table_kind,
)

__all__ = ["Piece", "Source", "Batch", "open_source"]


@dataclass(frozen=True)
class Batch:
    """Consecutive input rows: ``frame`` (a fresh ``RangeIndex``), and for CSV each row's
    1-based ``lines`` in the file and the ``problems`` of rows whose structure is broken
    (all missing in ``frame``; ``row`` counts from the start of the input)."""

    frame: pd.DataFrame
    lines: np.ndarray | None = None
    problems: tuple[StructureProblem, ...] = ()


@dataclass(frozen=True)
class Piece:
    """One row group of one Parquet file, and where its rows sit in the whole input."""

    path: str
    row_group: int
    first_row: int  # 0-based position of its first row in the input
    n_rows: int
    partition: tuple[tuple[str, str], ...] = ()  # hive keys of its folder: (key, value)


@dataclass(frozen=True)
class Source:
    """A table to stream. ``columns`` are its column names (hive keys included)."""

    path: Path
    kind: str  # "csv", "parquet" or "duckdb"
    columns: tuple[str, ...]
    table: str | None = None  # DuckDB: the resolved table or view
    n_rows: int | None = None  # known without reading (Parquet), else None
    csv: CsvHeader | None = None  # CSV: the checked header (encoding and delimiter)
    #: a partitioned Parquet folder: each file's name (from the folder), its columns
    #: (hive keys included) and rows, as read once for ``columns``
    parts: tuple[tuple[str, frozenset[str], int], ...] = ()

    def pieces(self) -> list[Piece]:
        """The Parquet row groups in input order (see the module docstring)."""
        if self.kind != "parquet":
            raise TableReadError(
                f"{self.path.name!r} is {self.kind}; only Parquet inputs (a file or a "
                "partitioned folder) are cut into pieces for the Dask engine. Convert it "
                "(e.g. duckdb COPY ... TO 'x.parquet') or use the local engine"
            )
        return _pieces(self.path)

    def batches(
        self, columns: Sequence[str], batch_rows: int, text_columns: Sequence[str] = ()
    ) -> Iterator[Batch]:
        """The rows in input order, ``columns`` only, at most ``batch_rows`` at a time.

        ``text_columns`` (CSV only) are read as text, so ids like ``'007'`` keep their
        zeros.
        """
        columns = list(columns)
        if self.csv is not None:
            for b in iter_csv_batches(self.csv, columns, batch_rows, text_columns):
                yield Batch(b.frame, b.lines, b.problems)
        elif self.kind == "parquet":
            for piece in self.pieces():
                yield from map(Batch, read_piece(piece, columns, batch_rows))
        else:
            if self.table is None:  # open_source resolves the table of every DuckDB input
                raise TableReadError(f"{self.path.name!r}: no DuckDB table chosen (table=)")
            yield from map(Batch, _duckdb_batches(self.path, self.table, columns, batch_rows))


def open_source(
    path,
    table: str | None = None,
    *,
    encoding: str | None = None,
    delimiter: str | None = None,
    decimal: str | None = None,
) -> Source:
    """Check that ``path`` is a readable table and read its column names (no rows).

    ``encoding``, ``delimiter`` and ``decimal`` (CSV only): see
    :mod:`prom.cohort.csv_reader`.
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"no input file or folder at {str(path)!r}")
    kind = table_kind(path)
    if table is not None and kind != "duckdb":
        raise TableReadError(f"--table applies to DuckDB databases only; {path.name!r} is {kind}")
    refuse_csv_options(path.name, kind, encoding, delimiter, decimal)
    if path.is_file() and path.stat().st_size == 0:
        raise TableReadError(f"{path.name!r} is empty (0 bytes); expected a {kind} table")
    if kind == "csv":
        dialect = CsvDialect(encoding, csv_delimiter(path, delimiter), decimal)
        header = read_csv_header(path, dialect)
        return Source(path, kind, header.names, csv=header)
    if kind == "parquet":
        import pyarrow.parquet as pq

        pieces = _pieces(path)
        keys = [k for k, _ in pieces[0].partition] if pieces else []
        every_key = list(dict.fromkeys(k for p in pieces for k, _ in p.partition))
        rows: dict[str, int] = {}
        for p in pieces:
            rows[p.path] = rows.get(p.path, 0) + p.n_rows
        names: list[str] = []
        parts = []
        for f, n in rows.items():
            own = pq.ParquetFile(f).schema_arrow.names
            names += [c for c in own if c not in names]
            parts.append((Path(f).relative_to(path).as_posix(), frozenset([*own, *every_key]), n))
        names += [k for k in keys if k not in names]
        return Source(
            path,
            kind,
            tuple(names),
            n_rows=sum(rows.values()),
            parts=tuple(parts) if path.is_dir() else (),
        )
    resolved, names = _duckdb_header(path, table)
    return Source(path, kind, tuple(names), table=resolved)


# --- Parquet ----------------------------------------------------------------------------


def _pieces(path: Path) -> list[Piece]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    if path.is_file():
        files, root = [path], path.parent
    else:
        listed = sorted(
            (p for p in path.rglob("*") if p.is_file()),
            key=lambda p: p.relative_to(path).as_posix(),
        )
        files = [p for p in listed if p.suffix.lower() in (".parquet", ".pq")]
        root = path
        if not files:
            raise TableReadError(
                f"folder {path.name!r} holds no .parquet files; expected a "
                "partitioned Parquet dataset"
            )
        others = [
            p.relative_to(path).as_posix()
            for p in listed
            if p.suffix.lower() not in (".parquet", ".pq")
            and not any(part.startswith((".", "_")) for part in p.relative_to(path).parts)
            and not p.name.endswith(".crc")
        ]
        if others:  # a CSV left beside the parts would be left out of every count
            shown = ", ".join(others[:5]) + (
                f", … ({len(others)} files)" if len(others) > 5 else ""
            )
            raise TableReadError(
                f"folder {path.name!r} holds files that are not Parquet ({shown}); a "
                "partitioned dataset is read from its .parquet files only, so their rows "
                "would not be scored or counted: move them out, or score them apart"
            )
    keys = partition_keys(root, files) if path.is_dir() else []
    out: list[Piece] = []
    first = 0
    for f in files:
        try:
            meta = pq.ParquetFile(f).metadata
        except (pa.ArrowException, OSError) as e:  # e.g. ArrowInvalid for a broken footer
            raise TableReadError(f"cannot read {f.name!r} as Parquet: {e}") from None
        parts = dict(p.split("=", 1) for p in f.relative_to(root).parts[:-1] if "=" in p)
        partition = tuple((k, parts[k]) for k in keys if k in parts)
        for g in range(meta.num_row_groups):
            n = meta.row_group(g).num_rows
            out.append(Piece(str(f), g, first, n, partition))
            first += n
    return out


def part_gaps(source: Source, columns: Sequence[str]) -> dict[str, tuple[list[str], int]]:
    """The Parquet files of a partitioned input that lack some of ``columns`` (its hive
    keys aside): file name → (the columns it lacks, its rows). Another part having a
    column does not give this part's rows a value: read as it is, every one of its rows
    would be missing there (and imputed or quarantined) without a word."""
    out = {}
    for name, present, n in source.parts:  # read by open_source: no file is opened again
        lacking = [c for c in columns if c not in present]
        if lacking:
            out[name] = (lacking, n)
    return out


#: Arrow record batch → pandas without the two copies nothing here needs: one block per
#: column (no consolidation into 2-D blocks) and no interning of repeated strings.
_TO_PANDAS = {"split_blocks": True, "deduplicate_objects": False}


def with_columns(df: pd.DataFrame, columns: dict) -> pd.DataFrame:
    """``df`` (shallow) with ``columns`` set: existing ones replaced, new ones added in one
    concatenation — not one insert each, which pandas warns about on a frame read column
    by column (:data:`_TO_PANDAS`), whose every column is a block of its own."""
    if not columns:
        return df
    out = df.copy(deep=False)
    new = {}
    for name, values in columns.items():
        if name in out.columns:
            out[name] = values
        else:
            new[name] = values
    if new:
        out = pd.concat([out, pd.DataFrame(new, index=out.index)], axis=1, copy=False)
    return out


def read_piece(piece: Piece, columns: Sequence[str], batch_rows: int) -> Iterator[pd.DataFrame]:
    """A piece's rows in slices of ``batch_rows`` from its first row (both engines)."""
    import pyarrow.parquet as pq

    pf = pq.ParquetFile(piece.path)
    present = set(pf.schema_arrow.names)
    keys = dict(piece.partition)
    stored = [c for c in columns if c in present]
    for batch in pf.iter_batches(
        batch_size=batch_rows, row_groups=[piece.row_group], columns=stored, use_threads=False
    ):
        df = batch.to_pandas(**_TO_PANDAS)
        if len(stored) < len(columns):
            # a hive key, or a column this file lacks (schema drift)
            df = with_columns(
                df,
                {
                    c: np.full(len(df), keys.get(c, np.nan), dtype=object)
                    if c in keys
                    else np.full(len(df), np.nan)
                    for c in columns
                    if c not in present
                },
            )[list(columns)]
        yield missing_cells_as_nan(df)


# --- DuckDB -----------------------------------------------------------------------------


def _duckdb_header(path: Path, table: str | None) -> tuple[str, list[str]]:
    con = connect_read_only(path)
    try:
        table, _, names = resolve_table(con, path, table, "--table")
        return table, names
    finally:
        con.close()


def _duckdb_batches(
    path: Path, table: str, columns: list[str], batch_rows: int
) -> Iterator[pd.DataFrame]:
    import duckdb

    schema, name = table.split(".", 1) if "." in table else ("main", table)
    select = ", ".join(quote_identifier(c) for c in columns)
    con = duckdb.connect(str(path), read_only=True)
    try:
        reader = con.sql(
            f"SELECT {select} FROM {quote_identifier(schema)}.{quote_identifier(name)}"
        ).to_arrow_reader(batch_rows)
        for batch in reader:
            yield missing_cells_as_nan(batch.to_pandas(**_TO_PANDAS))
    finally:
        con.close()
