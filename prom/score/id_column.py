"""Which input column keys the scored rows, when it is not called ``patient_id``.

Every output and quarantine row of ``prom score`` is keyed by ``patient_id``. A table
whose id column has its own name is read with ``--id-column NAME`` (``id_column=``), or,
without it, by the id column the bundle's development rows were recorded with
(``prom fit --id-column``), when the input has that column and no ``patient_id``; the
summary and the printed lines say which (``id_column``). Either way the column is renamed
to ``patient_id`` as a column mapping would rename it: ``--id-column`` adds that one rule
to the user's mapping, or is a mapping of that rule alone (every other column kept under
its own name). A name that is not in the input, an input that has a ``patient_id`` column
besides the one named, or a mapping that sends another column to ``patient_id`` is
refused, naming both.
"""

from __future__ import annotations

from collections.abc import Sequence

from prom.errors import MissingColumnError
from prom.naming import looks_like_id

__all__ = ["ID_COLUMN", "resolve_id_column", "id_column_hint"]

ID_COLUMN = "patient_id"


def resolve_id_column(
    bundle, header: Sequence[str], mapping: dict | None, origin: str, id_column: str | None
) -> tuple[dict | None, str, str | None]:
    """``(mapping, origin, note)``: the run's column mapping with the id column's rename
    (unchanged when ``patient_id`` is the key), and a note saying which column keys the
    rows and why (``None``: ``patient_id`` itself)."""
    header = [str(c) for c in header]
    how = "given with --id-column"
    if id_column is None:
        if mapping is not None or ID_COLUMN in header:
            return mapping, origin, None
        id_column = _recorded_id_column(bundle)
        if id_column is None or id_column not in header:
            return mapping, origin, None
        how = (
            "the id column the bundle's development rows were recorded with (prom fit --id-column)"
        )
    if not isinstance(id_column, str):
        raise TypeError(f"id_column must be a column name, got {type(id_column).__name__}")
    if id_column not in header:
        raise MissingColumnError(
            f"--id-column {id_column!r} is not a column of the input; its columns are "
            + ", ".join(repr(c) for c in header[:20])
            + (f", … ({len(header)} in all)" if len(header) > 20 else "")
        )
    uses = [name for name, t in bundle.tasks.items() if id_column in t.predictors]
    if uses:
        raise MissingColumnError(
            f"--id-column {id_column!r} is a predictor of the bundle's models (task "
            f"{', '.join(uses)}); an id column identifies rows and cannot be a predictor"
        )
    note = f"rows keyed by {id_column!r}, {how}"
    if id_column == ID_COLUMN:
        return mapping, origin, None
    if mapping is None:
        if ID_COLUMN in header:
            raise MissingColumnError(
                f"--id-column {id_column!r}: the input has a {ID_COLUMN!r} column too; "
                f"name one of them (drop the option to key the rows by {ID_COLUMN!r})"
            )
        rule = {"version": 1, "columns": {id_column: ID_COLUMN}, "keep_unmapped": True}
        return rule, f"--id-column {id_column!r}", note
    columns = dict(mapping.get("columns") or {})
    for source, target in columns.items():
        to = target.get("to") if isinstance(target, dict) else target
        if to == ID_COLUMN and source != id_column:
            raise MissingColumnError(
                f"--id-column {id_column!r}: the mapping ({origin}) already maps {source!r} "
                f"to {ID_COLUMN}; name one of them"
            )
    if id_column in columns and columns[id_column] != ID_COLUMN:
        raise MissingColumnError(
            f"--id-column {id_column!r}: the mapping ({origin}) maps that column to "
            f"{columns[id_column]!r}; an id column cannot be a predictor too"
        )
    columns[id_column] = ID_COLUMN
    return {**mapping, "columns": columns}, f"{origin} and --id-column {id_column!r}", note


def _recorded_id_column(bundle) -> str | None:
    """The one id column every task's development rows were recorded by, if any."""
    found = set()
    for t in bundle.tasks.values():
        rows = t.entry.development_rows
        if rows is None or rows.basis != "id column":
            return None
        found.add(rows.columns[0])
    return found.pop() if len(found) == 1 else None


def id_column_hint(header: Sequence[str]) -> str:
    """How to key the rows by an input column named like an id (``Patient ID``,
    ``PatID``, ``record_id``); empty when none is."""

    found = [c for c in header if looks_like_id(str(c))]
    if not found:
        return ""
    return f" To key the rows by {found[0]!r}, pass --id-column {found[0]!r}."
