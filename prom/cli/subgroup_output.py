"""Subgroup tables in the terminal, for ``prom fit`` and ``prom evaluate``.

The section comes from :mod:`prom.workflows.subgroups` (for a fit, the one stored in the
bundle's validation record); this module only lays it out: one table per model, then how
the groups were formed, the small-group rule and any note, once.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from prom.cli.common import console

__all__ = ["print_subgroups", "subgroup_table"]


def _n(v: Any) -> str:
    return "–" if v is None else f"{int(v):,}"


def _x(v: Any, digits: int = 2) -> str:
    return "–" if v is None else f"{v:.{digits}f}"


def subgroup_table(rows: Sequence[Mapping[str, Any]], title: str, kind: str) -> Table:
    """One model's subgroup rows as a rich Table (figures only where the group has them)."""
    t = Table(title=title, title_justify="left")
    multi = kind == "multiclass"
    head = ["variable", "group"] + (["class"] if multi else []) + ["n", "events"]
    head += ["C (95% CI)"] if kind == "survival" else ["AUC (95% CI)", "CITL", "slope", "O/E"]
    head += ["note"]
    for h in head:
        t.add_column(h, overflow="fold", no_wrap=h not in ("note", "group", "variable"))
    for r in rows:
        cells = [str(r["variable"]), str(r["group"])] + ([str(r["class"])] if multi else [])
        cells += [_n(r.get("n")), _n(r.get("events"))]
        if kind == "survival":
            c = r.get("c")
            cells.append("–" if c is None else f"{c:.3f} ({r['c_low']:.3f}–{r['c_high']:.3f})")
        else:
            a = r.get("auc")
            cells += [
                "–" if a is None else f"{a:.3f} ({r['auc_low']:.3f}–{r['auc_high']:.3f})",
                _x(r.get("citl")),
                _x(r.get("slope")),
                _x(r.get("o_e")),
            ]
        cells.append(r.get("note") or "")
        t.add_row(*[escape(c) for c in cells])
    return t


def print_subgroups(
    section: Mapping[str, Any] | None,
    task: str,
    models: Sequence[str] | None = None,
    *,
    out: Console = console,
) -> None:
    """Print the subgroup tables of ``models`` (default: every model in the section) on
    ``out`` (``prom evaluate --json`` prints everything but the JSON on stderr)."""
    if not section:
        return
    kind = str(section.get("kind", "binary"))
    shown = [m for m in (models or list(section["models"])) if m in section["models"]]
    for m in shown:
        rows = section["models"][m]
        if rows:
            out.print(subgroup_table(rows, f"{task}: {m} by subgroup ({section['rows']})", kind))
    for v in section.get("variables", []):
        out.print(f"subgroups by {v['name']}: {v['how']}", markup=False, highlight=False)
    out.print(section["rule"], markup=False, highlight=False)
    for n in section.get("notes", []):
        out.print(f"subgroup note: {n}", markup=False, highlight=False)
