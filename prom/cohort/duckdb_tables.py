"""DuckDB databases as table sources: a read-only connection and one table resolved in it.

The one resolver of a ``table=`` choice for the cohort reader
(:func:`prom.cohort.readers.read_table`) and the bulk scorer's source
(:func:`prom.score.source.open_source`): which tables and views the database holds, which
one is meant (the only one when none is named), its quoted relation and its columns.
Errors are :class:`~prom.cohort.table_formats.TableReadError` naming the database and the
tables it does hold.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from prom.cohort.table_formats import TableReadError

if TYPE_CHECKING:
    from duckdb import DuckDBPyConnection

__all__ = ["connect_read_only", "resolve_table", "quote_identifier"]


def connect_read_only(path: Path) -> DuckDBPyConnection:
    """A read-only connection to the DuckDB database at ``path``."""
    import duckdb

    try:
        return duckdb.connect(str(path), read_only=True)
    except duckdb.Error as exc:
        raise TableReadError(f"cannot open {path.name!r} as a DuckDB database: {exc}") from None


def resolve_table(
    con: DuckDBPyConnection, path: Path, table: str | None, choose: str
) -> tuple[str, str, list[str]]:
    """``(name, quoted relation, column names)`` of the table or view ``table`` — or of the
    only one when ``table`` is None; ``choose`` names the option that picks one."""
    listed = con.execute(
        "SELECT schema_name, table_name FROM duckdb_tables() "
        "WHERE database_name = current_database() AND NOT internal "
        "UNION ALL SELECT schema_name, view_name FROM duckdb_views() "
        "WHERE database_name = current_database() AND NOT internal "
        "ORDER BY 1, 2"
    ).fetchall()
    tables = {
        (name if schema == "main" else f"{schema}.{name}"): (schema, name)
        for schema, name in listed
    }
    if not tables:
        raise TableReadError(f"DuckDB database {path.name!r} holds no tables")
    if table is None:
        if len(tables) > 1:
            raise TableReadError(
                f"DuckDB database {path.name!r} holds {len(tables)} tables; choose one with "
                f"{choose}: {', '.join(map(repr, tables))}"
            )
        table = next(iter(tables))
    if not isinstance(table, str) or table not in tables:
        raise TableReadError(
            f"DuckDB database {path.name!r} has no table {table!r}; its tables are "
            f"{', '.join(map(repr, tables))}"
        )
    schema, name = tables[table]
    relation = f"{quote_identifier(schema)}.{quote_identifier(name)}"
    return table, relation, [r[0] for r in con.execute(f"DESCRIBE {relation}").fetchall()]


def quote_identifier(identifier: str) -> str:
    """A DuckDB identifier in double quotes, embedded quotes doubled."""
    return '"' + identifier.replace('"', '""') + '"'
