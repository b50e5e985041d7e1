"""``--subgroups`` of ``prom fit`` and ``prom evaluate``, and their subgroup tables
(laid out by :mod:`prom.workflows.subgroup_tables`)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Annotated, Any

import typer
from rich.console import Console

from prom.cli.common import console, fail
from prom.workflows import subgroup_tables as tables
from prom.workflows.subgroup_tables import SubgroupView, subgroup_lines, subgroup_table

__all__ = [
    "SubgroupsOpt",
    "SubgroupView",
    "print_subgroups",
    "subgroup_columns_or_fail",
    "subgroup_lines",
    "subgroup_table",
]

#: ``--subgroups`` of ``prom fit`` and ``prom evaluate``.
SubgroupsOpt = Annotated[
    str | None,
    typer.Option(
        help="Comma-separated columns to show performance by, besides sex, age band and "
        "site (categorical as recorded; numeric split at quartiles)"
    ),
]


def subgroup_columns_or_fail(data, text: str | None) -> tuple[str, ...]:
    """The ``--subgroups`` columns; one the table does not have ends the command, named."""
    from prom.workflows.subgroups import check_subgroup_columns, parse_subgroup_columns

    columns = parse_subgroup_columns(text, data.columns)
    try:
        check_subgroup_columns(data, columns)
    except ValueError as e:
        fail(f"--subgroups: {e}")
    return columns


def print_subgroups(
    section: Mapping[str, Any] | None,
    task: str,
    models: Sequence[str] | None = None,
    *,
    out: Console = console,
) -> None:
    """:func:`prom.workflows.subgroup_tables.print_subgroups` on the command's console."""
    tables.print_subgroups(section, task, models, out=out)
