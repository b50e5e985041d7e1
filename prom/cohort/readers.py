"""Read a cohort table from CSV, Parquet or DuckDB, then map and validate it.

:func:`read_table` reads a table as it is stored; :func:`read_cohort` reads it, applies a
column mapping (if given) and validates it, returning the report rather than raising so
the caller decides what to do with errors.

Supported sources
-----------------
``.csv``, ``.csv.gz``
    Read by :mod:`prom.cohort.csv_reader`, which checks the file's structure row by row
    (a row with the wrong number of fields, a last line cut off, a quote left open: the
    file is refused with :class:`~prom.cohort.csv_reader.CsvStructureError`, naming the
    lines; :func:`read_cohort` reports them with the other problems), its encoding
    (``encoding=``, UTF-8 by default) and its header (a duplicated name, a header that
    looks like another ``delimiter=``). Text columns of the contract (``patient_id``,
    ``site``, the category columns) and the columns named in ``text_columns`` are read as
    text, so ids like ``'007'`` keep their leading zeros; other columns get pandas' type
    inference. Only an empty field is missing (NaN): ``NA``, ``n/a``, ``null`` … are
    read as text unless declared missing with ``missing_values=``.
``.parquet``, ``.pq``, or a folder of Parquet files
    A folder is read as one dataset, with hive partition folders (``site=007/``) kept as
    text columns; its rows come in file order and get a fresh ``RangeIndex``.
``.duckdb``, ``.db``
    Opened read-only; ``table=`` names a table or view (``name`` in the main schema, or
    ``schema.name``). When the file holds exactly one table, ``table`` may be omitted.

Missing text values are NaN whatever the source (DuckDB and Parquet give None).

Declared missing values
-----------------------
``missing_values=`` (``"n/a,NA,-99"`` or a list; the CLI's ``--missing-values``) names
markers that stand for a missing value in this table, whatever its format: the cells
that match become missing, and their count per column is left in
``df.attrs[MISSING_ATTR]`` (:func:`prom.cohort.missing_values.declared_counts`) so that
the commands can report it. See :mod:`prom.cohort.missing_values`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping, Sequence
from os import PathLike
from pathlib import Path
from typing import Any

import pandas as pd

from prom.cohort.contract import Contract
from prom.cohort.csv_reader import (
    STRUCTURE_CHECKS,
    CsvDialect,
    CsvStructureError,
    StructureProblem,
    read_csv_header,
    read_csv_table,
    refuse_csv_options,
)
from prom.cohort.duckdb_tables import connect_read_only, quote_identifier, resolve_table
from prom.cohort.mapping import ColumnMapping
from prom.cohort.missing_values import MISSING_ATTR, declare_missing, parse_missing_values
from prom.cohort.provenance import contract_facts, mark_table
from prom.cohort.table_formats import (
    SUPPORTED_SUFFIXES,
    TableReadError,
    csv_delimiter,
    missing_cells_as_nan,
    partition_keys,
    table_kind,
)
from prom.cohort.validate import (
    PROBLEM_COLUMNS,
    ROW_LIMIT,
    VALUE_LIMIT,
    Mode,
    ValidationReport,
    validate_cohort,
)
from prom.errors import MissingColumnError

__all__ = ["TableReadError", "SUPPORTED_SUFFIXES", "read_table", "read_cohort", "load_cohort"]


def read_table(
    source: str | PathLike[str],
    *,
    table: str | None = None,
    columns: Sequence[str] | None = None,
    text_columns: Iterable[str] | None = None,
    encoding: str | None = None,
    delimiter: str | None = None,
    missing_values: str | Iterable[str] | None = None,
    decimal: str | None = None,
) -> pd.DataFrame:
    """Read a table from a CSV, Parquet or DuckDB source.

    Parameters
    ----------
    source : str or path-like
        A ``.csv``/``.csv.gz``/``.parquet``/``.pq`` file, a folder of Parquet files, or a
        ``.duckdb``/``.db`` database.
    table : str, optional
        The table or view to read from a DuckDB database; not allowed for other sources.
    columns : sequence of str, optional
        Read only these columns, in this order.
    text_columns : iterable of str, optional
        CSV only: columns to read as text. Defaults to the cohort contract's ``string``
        and ``category`` columns.
    encoding, delimiter, decimal : str, optional
        CSV only: the file's text encoding (default UTF-8; a byte-order mark is accepted),
        field delimiter (default ``","``; ``"tab"`` for a tab) and decimal mark (``"."``
        by default, or ``","``); see :mod:`prom.cohort.csv_reader`.
    missing_values : str or iterable of str, optional
        Markers of a missing value besides the empty cell (``"n/a,NA,-99"``); the cells
        that match become missing and are counted per column in
        ``df.attrs[MISSING_ATTR]``. Default: only an empty cell is missing.

    Returns
    -------
    pandas.DataFrame
        From a CSV file, indexed by the line each row starts on (1-based, the header is
        line 1; an index named ``"line"``, :data:`prom.errors.LINE_INDEX`), so that every
        message about a row names its line; from Parquet or DuckDB, a fresh 0-based
        ``RangeIndex``.

    Raises
    ------
    FileNotFoundError
        ``source`` does not exist.
    TableReadError
        Unsupported file type, an empty file or folder, ``table=`` for a non-database
        source, a table that is not in the database; for CSV, a byte the encoding does
        not allow, a duplicated header name or a header in another delimiter.
    CsvStructureError
        CSV rows with the wrong number of fields, a last line cut off or a quote left
        open (a :class:`TableReadError` that lists them).
    MissingColumnError
        A name in ``columns`` is not in the table.
    """
    df, problems = _read_table(
        source, table, columns, text_columns, encoding, delimiter, missing_values, decimal
    )
    if problems:
        raise CsvStructureError(Path(source).name, problems)
    return df


def _read_table(
    source, table, columns, text_columns, encoding, delimiter, missing_values=None, decimal=None
) -> tuple[pd.DataFrame, list[StructureProblem]]:
    """:func:`read_table`, with a CSV file's structural problems returned, not raised."""
    tokens = parse_missing_values(missing_values)
    df, problems = _read_raw(source, table, columns, text_columns, encoding, delimiter, decimal)
    if tokens:
        kind = table_kind(Path(source))
        text = set(_contract_text_columns(None) if text_columns is None else text_columns)
        df, counts = declare_missing(df, tokens, text_columns=text, infer_numbers=kind == "csv")
        df.attrs[MISSING_ATTR] = counts
    return df, problems


def _read_raw(
    source, table, columns, text_columns, encoding, delimiter, decimal=None
) -> tuple[pd.DataFrame, list[StructureProblem]]:
    """The table as stored (only empty cells missing) and a CSV file's structural problems."""
    path = Path(source)
    if not path.exists():
        raise FileNotFoundError(
            f"no file or folder at {str(path)!r} (resolved to {str(path.resolve())!r})"
        )
    kind = table_kind(path)
    if table is not None and kind != "duckdb":
        raise TableReadError(
            f"table={table!r} applies to DuckDB databases only; {path.name!r} is {kind}"
        )
    if columns is not None:
        if isinstance(columns, str) or not all(isinstance(c, str) for c in columns):
            raise TypeError(f"columns must be a list of column names, got {columns!r}")
        columns = list(columns)
    refuse_csv_options(path.name, kind, encoding, delimiter, decimal)
    if path.is_file() and path.stat().st_size == 0:
        raise TableReadError(f"{path.name!r} is empty (0 bytes); expected a {kind} table")
    if kind == "csv":
        dialect = CsvDialect(encoding, csv_delimiter(path, delimiter), decimal)
        return _read_csv(path, columns, text_columns, dialect)
    if kind == "parquet":
        df = _read_parquet(path, columns)
    else:
        df = _read_duckdb(path, table, columns)
    return missing_cells_as_nan(df), []


def read_cohort(
    source: str | PathLike[str],
    *,
    table: str | None = None,
    mapping: ColumnMapping | str | PathLike[str] | Mapping[str, Any] | None = None,
    mode: Mode = "strict",
    contract: Contract | None = None,
    encoding: str | None = None,
    delimiter: str | None = None,
    missing_values: str | Iterable[str] | None = None,
    decimal: str | None = None,
) -> tuple[pd.DataFrame, ValidationReport]:
    """Read a cohort table, map it onto the contract and validate it.

    Parameters
    ----------
    source, table, encoding, delimiter, missing_values, decimal
        As for :func:`read_table`.
    mapping : ColumnMapping, path to a mapping YAML, or dict, optional
        Applied before validation; its log is attached to the report (``mapping_log``).
    mode : {'strict', 'lenient'}
        Validation mode (see :func:`prom.cohort.validate.validate_cohort`).
    contract : Contract, optional
        Defaults to ``COHORT_CONTRACT``.

    Returns
    -------
    (pandas.DataFrame, ValidationReport)
        The mapped table as read (no dtype coercion; see
        :func:`~prom.cohort.validate.coerce_to_contract`) and its report. Validation
        errors are *not* raised: call ``report.raise_for_errors()`` to stop on them.
        CSV rows with a broken structure are not in the table (the others keep their
        position among the file's data rows as index labels); they are errors of the
        report (checks ``field_count``, ``truncated_row``, ``open_quote``,
        ``repeated_header``), listed first, with their lines in ``expected``;
        ``report.n_rows`` counts them too.

    Raises
    ------
    FileNotFoundError, TableReadError, MissingColumnError
        From reading.
    MappingError
        The mapping is malformed or does not fit the table.
    """
    df, log, broken = _load(
        source, table, mapping, contract, encoding, delimiter, missing_values, decimal
    )
    report = validate_cohort(df, contract, mode)
    if log is not None:
        report = dataclasses.replace(report, mapping_log=log)
    if broken:
        report = _with_structure(report, broken, Path(source).name)
    mark_table(df, contract=contract_facts(report))  # what a fit's provenance reads
    return df, report


def load_cohort(
    source,
    *,
    table: str | None = None,
    mapping=None,
    contract: Contract | None = None,
    encoding: str | None = None,
    delimiter: str | None = None,
    missing_values: str | Iterable[str] | None = None,
    decimal: str | None = None,
):
    """Read a table and apply a column mapping, without validating.

    Returns ``(data, mapping_log)``; the log is ``None`` without a mapping. Text and
    category columns (under the contract's names and under the mapping's source names)
    are read as text, so ids like ``'007'`` keep their leading zeros. A CSV file with
    rows of a broken structure is refused (:class:`CsvStructureError`), as by
    :func:`read_table`. ``missing_values``: as for :func:`read_table` (the counts in
    ``df.attrs[MISSING_ATTR]`` are under the table's own column names).
    """
    df, log, broken = _load(
        source, table, mapping, contract, encoding, delimiter, missing_values, decimal
    )
    if broken:
        raise CsvStructureError(Path(source).name, broken)
    mark_table(df, contract={"checked": False})  # what a fit's provenance reads
    return df, log


def _load(source, table, mapping, contract, encoding, delimiter, missing_values=None, decimal=None):
    """``(data, mapping_log, structural problems)``: :func:`load_cohort`'s work."""
    if mapping is not None and not isinstance(mapping, ColumnMapping):
        if isinstance(mapping, Mapping):
            mapping = ColumnMapping.from_dict(mapping, contract=contract)
        elif isinstance(mapping, (str, PathLike)):
            mapping = ColumnMapping.from_yaml(mapping, contract=contract)
        else:
            raise TypeError(
                f"mapping must be a ColumnMapping, a path to a YAML file or a dict, "
                f"got {type(mapping).__name__}"
            )
    text = set(_contract_text_columns(contract))
    if mapping is not None:
        text |= set(mapping.text_sources())
    df, broken = _read_table(
        source, table, None, text, encoding, delimiter, missing_values, decimal
    )
    log = None
    if mapping is not None:
        attrs = dict(df.attrs)
        df, log = mapping.apply(df)
        df.attrs.update(attrs)
    mark_table(df, mapping="" if log is None else Path(log.origin).name)
    return df, log, broken


def _with_structure(
    report: ValidationReport, broken: list[StructureProblem], name: str
) -> ValidationReport:
    """``report`` with one error per structural check of a CSV file's rows, first."""
    found = []
    for check in STRUCTURE_CHECKS:
        ps = [p for p in broken if p.check == check]
        if not ps:
            continue
        lines = ", ".join(str(p.line) for p in ps[:8]) + (
            f", … ({len(ps):,} in all)" if len(ps) > 8 else ""
        )
        found.append(
            dict(
                column="",
                check=check,
                severity="error",
                n_rows=len(ps),
                rows=[p.line for p in ps[:ROW_LIMIT]],  # the table's rows are its lines
                values=list(dict.fromkeys(p.value for p in ps))[:VALUE_LIMIT],
                expected=f"{ps[0].expected}; {name} line{'s' if len(ps) > 1 else ''} {lines}",
            )
        )
    problems = pd.concat(
        [pd.DataFrame(found, columns=list(PROBLEM_COLUMNS)), report.problems], ignore_index=True
    )
    return dataclasses.replace(
        report, problems=problems.astype({"n_rows": "int64"}), n_rows=report.n_rows + len(broken)
    )


# --- by format ----------------------------------------------------------------------------


def _contract_text_columns(contract: Contract | None) -> list[str]:
    if contract is None:
        from prom.cohort.contract import COHORT_CONTRACT

        contract = COHORT_CONTRACT
    return [c.name for c in contract if c.dtype in ("string", "category")]


def _check_columns(wanted: Sequence[str] | None, available: Sequence[str], where: str) -> None:
    if wanted is None:
        return
    absent = [c for c in wanted if c not in available]
    if absent:
        raise MissingColumnError(
            f"{where} has no column(s) {', '.join(map(repr, absent))}; its columns are "
            f"{', '.join(map(repr, list(available)[:30]))}"
            + (f", … ({len(available)} in all)" if len(available) > 30 else "")
        )


def _read_csv(
    path: Path, columns: list[str] | None, text_columns: Iterable[str] | None, dialect: CsvDialect
) -> tuple[pd.DataFrame, list[StructureProblem]]:
    header = read_csv_header(path, dialect)
    _check_columns(columns, header.names, repr(path.name))
    wanted = set(_contract_text_columns(None) if text_columns is None else text_columns)
    return read_csv_table(header, columns, [c for c in header.names if c in wanted])


def _read_parquet(path: Path, columns: list[str] | None) -> pd.DataFrame:
    import pyarrow as pa
    import pyarrow.dataset as ds
    import pyarrow.parquet as pq

    try:
        if path.is_file():
            available = pq.ParquetFile(path).schema_arrow.names
            _check_columns(columns, available, repr(path.name))
            return pd.read_parquet(path, columns=columns)
        files = [
            p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in (".parquet", ".pq")
        ]
        if not files:
            raise TableReadError(
                f"folder {path.name!r} holds no .parquet files; expected a partitioned Parquet dataset"
            )
        # Partition keys declared as text: pyarrow would otherwise infer 'site=007' as 7.
        keys = partition_keys(path, files)
        partitioning = ds.partitioning(pa.schema([(k, pa.string()) for k in keys]), flavor="hive")
        dataset = ds.dataset(path, format="parquet", partitioning=partitioning)
        _check_columns(columns, dataset.schema.names, f"folder {path.name!r}")
        tbl = dataset.to_table(columns=columns)
    except pa.ArrowInvalid as exc:
        raise TableReadError(f"cannot read {path.name!r} as Parquet: {exc}") from None
    return tbl.to_pandas().reset_index(drop=True)


def _read_duckdb(path: Path, table: str | None, columns: list[str] | None) -> pd.DataFrame:
    con = connect_read_only(path)
    try:
        table, relation, available = resolve_table(con, path, table, "table=")
        _check_columns(columns, available, f"DuckDB table {table!r}")
        select = "*" if columns is None else ", ".join(quote_identifier(c) for c in columns)
        return con.execute(f"SELECT {select} FROM {relation}").df()
    finally:
        con.close()
