"""Terminal output of a results table that reads whole at any width.

A wide table of numbers does not survive a narrow terminal or a pipe: rich shrinks its
columns until ``0.712 (0.650–0.774)`` becomes ``0.… │ 0.9…``. :class:`MetricView` holds
the rows once and picks a layout when it is printed:

- on a terminal wide enough for the whole table: the table;
- in a narrower terminal, or when the output is not a terminal (a pipe, a log, a file):
  one line per metric, grouped by row (model): a number is never cut, a line longer than
  the width wraps between words, and a log keeps every figure on the line of its
  metric (``grep auc`` finds them).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from rich.console import Console, ConsoleOptions, RenderResult
from rich.measure import Measurement
from rich.table import Table
from rich.text import Text

__all__ = ["MetricView", "Cell"]

#: A cell: plain text, or a :class:`rich.text.Text` carrying its style.
Cell = str | Text


@dataclass
class MetricView:
    """``rows``: ``(row label, cells)``, one cell per column of ``columns`` ("" for none).

    ``first``: the header of the label column (``"model"``); ``notes``: lines printed
    under the table in either layout.
    """

    title: str
    columns: Sequence[str]
    rows: list[tuple[Cell, list[Cell]]] = field(default_factory=list)
    first: str = "model"
    notes: list[str] = field(default_factory=list)

    def add_row(self, label: Cell, cells: Iterable[Cell]) -> None:
        cells = list(cells)
        if len(cells) != len(self.columns):
            raise ValueError(f"a row of {len(cells)} cells for {len(self.columns)} columns")
        self.rows.append((label, cells))

    def table(self) -> Table:
        """The whole table (what a wide terminal shows)."""
        t = Table(title=Text(self.title))
        t.add_column(self.first, no_wrap=True)
        for c in self.columns:
            t.add_column(c, no_wrap=True)
        for label, cells in self.rows:
            t.add_row(label, *cells)
        return t

    def lines(self) -> list[Text]:
        """The metric-per-line layout: the title, then per row its label and one indented
        ``metric  value`` line per non-empty cell."""
        width = max((len(c) for c in self.columns), default=0)
        out = [Text(self.title, style="bold")]
        for label, cells in self.rows:
            # the label starts its block at the margin (a table's alignment spaces dropped)
            text = label if isinstance(label, Text) else Text(label)
            out.append(text[len(text.plain) - len(text.plain.lstrip()) :])
            for name, cell in zip(self.columns, cells, strict=True):
                if not str(cell):
                    continue
                out.append(Text.assemble(f"  {name:<{width}}  ", cell))
        return out + [Text(n) for n in self.notes]

    def fits(self, console: Console, options: ConsoleOptions) -> bool:
        """The whole table fits the width a terminal gives it."""
        if not console.is_terminal:
            return False
        wide = options.update_width(10_000)  # the table's natural width, not shrunk to fit
        return Measurement.get(console, wide, self.table()).maximum <= options.max_width

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        if self.fits(console, options):
            yield self.table()
            yield from (Text(n) for n in self.notes)
            return
        yield from self.lines()  # a line longer than the width wraps, between words
