"""Subgroup tables in the terminal: ``prom fit``, ``prom evaluate`` and ``prom demo``.

The section comes from :mod:`prom.workflows.subgroups` (for a fit, the one stored in the
bundle's validation record); this module only lays it out: one table per model (one line
per group in a pipe, a log or a narrow terminal, so no figure is cut), then how the groups
were formed, the small-group rule and any note, once.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from rich.console import Console, ConsoleOptions, RenderResult
from rich.measure import Measurement
from rich.table import Table
from rich.text import Text

__all__ = ["SubgroupView", "print_subgroups", "subgroup_lines", "subgroup_table"]


def _n(v: Any) -> str:
    return "–" if v is None else f"{int(v):,}"


def _x(v: Any, digits: int = 2) -> str:
    return "–" if v is None else f"{v:.{digits}f}"


def _figures(r: Mapping[str, Any], kind: str) -> list[str]:
    """The figure cells of one group: n, events, then C or AUC, CITL, slope, O/E."""
    cells = [_n(r.get("n")), _n(r.get("events"))]
    if kind == "survival":
        c = r.get("c")
        return [*cells, "–" if c is None else f"{c:.3f} ({r['c_low']:.3f}–{r['c_high']:.3f})"]
    a = r.get("auc")
    return [
        *cells,
        "–" if a is None else f"{a:.3f} ({r['auc_low']:.3f}–{r['auc_high']:.3f})",
        _x(r.get("citl")),
        _x(r.get("slope")),
        _x(r.get("o_e")),
    ]


def _headers(kind: str) -> list[str]:
    multi = kind == "multiclass"
    head = ["variable", "group"] + (["class"] if multi else []) + ["n", "events"]
    head += ["C (95% CI)"] if kind == "survival" else ["AUC (95% CI)", "CITL", "slope", "O/E"]
    return [*head, "note"]


def subgroup_table(rows: Sequence[Mapping[str, Any]], title: str, kind: str) -> Table:
    """One model's subgroup rows as a rich Table (figures only where the group has them)."""
    t = Table(title=Text(title), title_justify="left")
    for h in _headers(kind):
        t.add_column(h, overflow="fold", no_wrap=h not in ("note", "group", "variable"))
    for r in rows:
        label = [str(r["variable"]), str(r["group"])]
        if kind == "multiclass":
            label.append(str(r["class"]))
        t.add_row(*[Text(c) for c in [*label, *_figures(r, kind), r.get("note") or ""]])
    return t


def subgroup_lines(rows: Sequence[Mapping[str, Any]], title: str, kind: str) -> list[Text]:
    """The same, one line per group (``sex = female: n 214, events 120, AUC …``): what a
    pipe, a log or a narrow terminal gets, so that no figure is cut and ``grep`` finds a
    group's figures on one line."""
    names = _headers(kind)[3 if kind == "multiclass" else 2 : -1]
    out = [Text(title, style="bold")]
    notes = {r.get("note") for r in rows}
    # one note in every group (the predictions separate the outcome everywhere): said once
    common = notes.pop() if len(rows) > 1 and len(notes) == 1 else None
    for r in rows:
        label = f"{r['variable']} = {r['group']}"
        if kind == "multiclass":
            label += f", class {r['class']}"
        figures = ", ".join(
            f"{n} {v}" for n, v in zip(names, _figures(r, kind), strict=True) if v != "–"
        )
        note = None if common else r.get("note")
        out.append(Text(f"  {label}: " + "; ".join(x for x in (figures, note) if x)))
    if common:
        out.append(Text(f"  in every group: {common}"))
    return out


@dataclass
class SubgroupView:
    """One model's subgroup table: the table on a terminal wide enough for it, else one
    line per group (as :class:`prom.workflows.layout.MetricView` does for metrics)."""

    rows: Sequence[Mapping[str, Any]]
    title: str
    kind: str

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        table = subgroup_table(self.rows, self.title, self.kind)
        if console.is_terminal:
            natural = Measurement.get(console, options.update_width(10_000), table).maximum
            if natural <= options.max_width:
                yield table
                return
        yield from subgroup_lines(self.rows, self.title, self.kind)


def print_subgroups(
    section: Mapping[str, Any] | None,
    task: str,
    models: Sequence[str] | None = None,
    *,
    out: Console,
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
            out.print(SubgroupView(rows, f"{task}: {m} by subgroup ({section['rows']})", kind))
    for v in section.get("variables", []):
        out.print(f"subgroups by {v['name']}: {v['how']}", markup=False, highlight=False)
    out.print(section["rule"], markup=False, highlight=False)
    for n in section.get("notes", []):
        out.print(f"subgroup note: {n}", markup=False, highlight=False)
