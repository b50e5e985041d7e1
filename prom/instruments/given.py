"""A table that carries PROM scores beside the item answers they come from: one rule for
every command that scores (``prom fit``, ``evaluate``, ``report``, ``score-proms``).

Registries often export both the items and their own total. The toolkit scores the items
itself (:func:`prom.instruments.score_table`, each instrument's missing-item rule) and

- uses the items' score wherever the items give one; a row whose table score differs from
  it by more than :data:`TOLERANCE` points (more than a rounding) is counted and named;
- keeps the table's score where the items give none (blank, or too many missing), when it
  is inside the instrument's range; the row's ``<score>_reason`` says so;
- names a table score outside the range that could not be used.

Nothing is replaced or kept without a note: :func:`with_given_scores` returns the notes
that the commands print.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from prom.errors import format_rows, format_values
from prom.instruments.base import Instrument
from prom.naming import TIMEPOINTS

__all__ = ["TOLERANCE", "GivenScores", "Reconciled", "reconcile", "with_given_scores"]

#: Points by which a table's score may differ from its items' score (a registry's rounding
#: of a total such as ODI 46.67 to 47).
TOLERANCE = 0.5


@dataclass(frozen=True)
class GivenScores:
    """``scores``: :func:`score_table`'s columns with the table's scores kept where the
    items give none; ``notes``: what was kept, and where the table and the items differ;
    ``compared``: the score columns the table gave beside their items (the NRS ratings,
    which are their own item, are not among them)."""

    scores: pd.DataFrame
    notes: tuple[str, ...] = ()
    compared: tuple[str, ...] = ()


@dataclass(frozen=True)
class Reconciled:
    """The rule on one score column, row by row (:func:`reconcile`): ``values`` to use,
    and where the table's score ``differs`` from the items', was ``kept`` (the items give
    none) or was ``unusable`` (the items give none and it is outside the range)."""

    values: np.ndarray
    differs: np.ndarray
    kept: np.ndarray
    unusable: np.ndarray


def reconcile(computed: np.ndarray, given: np.ndarray, score_range) -> Reconciled:
    """The module's rule on arrays (NaN: no score): the items' score ``computed`` where
    there is one, else the table's ``given`` when inside ``score_range``. Every command
    applies it through here (bulk scoring counts the masks, the others name the rows)."""
    lo, hi = score_range
    c, g = np.asarray(computed, dtype=float), np.asarray(given, dtype=float)
    both = ~np.isnan(c) & ~np.isnan(g)
    with np.errstate(invalid="ignore"):
        differs = both & (np.abs(g - c) > TOLERANCE)
        blank = np.isnan(c) & ~np.isnan(g)
        kept = blank & (g >= lo) & (g <= hi)
    return Reconciled(np.where(kept, g, c), differs, kept, blank & ~kept)


def with_given_scores(
    data: pd.DataFrame, scores: pd.DataFrame, instruments: list[Instrument]
) -> GivenScores:
    """``scores`` (from ``data``'s items) reconciled with the score columns ``data`` already
    has (see the module docstring)."""
    out = scores.copy()
    notes: list[str] = []
    compared: list[str] = []
    for inst in instruments:
        for name in [c for c in scores.columns if c in data.columns]:
            tp = name[len(inst.key) + 1 :] if name.startswith(f"{inst.key}_") else None
            if tp not in TIMEPOINTS or inst.score_column(tp) != name:
                continue  # another instrument's, or a reason or band column
            if name in inst.item_columns(tp).values():
                continue  # a one-item instrument (NRS): the column is its own item
            compared.append(name)
            notes += _reconcile(out, data[name], inst, name)
    return GivenScores(out, tuple(notes), tuple(compared))


def _reconcile(out: pd.DataFrame, column: pd.Series, inst: Instrument, name: str) -> list[str]:
    given = pd.to_numeric(column, errors="coerce").astype(float)
    computed = out[name].astype(float)
    r = reconcile(computed.to_numpy(), given.to_numpy(), inst.score_range)
    lo, hi = inst.score_range
    notes = []
    blank = column.map(lambda v: isinstance(v, str) and not v.strip()).astype(bool)
    text = (column.notna() & given.isna() & ~blank).to_numpy()  # 'n/a', a word: not a score
    if text.any():
        notes.append(
            f"{name}: {int(text.sum()):,} row(s) hold text that is not a score "
            f"({format_values(column[text].tolist())} at {format_rows(out.index[text])}): "
            "not used, the items' score (or none) is used there; declare such a marker "
            "missing with --missing-values"
        )
    if r.differs.any():
        rows = out.index[r.differs]
        notes.append(
            f"{name}: the table's score differs from its items' by more than {TOLERANCE:g} "
            f"points on {int(r.differs.sum()):,} row(s) ({format_rows(rows)}; "
            f"e.g. {given[rows[0]]:g} given, {computed[rows[0]]:g} from the items); the "
            "items' score is used"
        )
    if r.kept.any():
        fill = pd.Series(r.kept, index=out.index)
        if f"{name}_reason" in out.columns:
            reason = out[f"{name}_reason"].astype(object)
            kept = "as given in the table: its items give no score (" + reason.astype(str) + ")"
            out[f"{name}_reason"] = reason.where(~fill, kept)
        out[name] = r.values
        if f"{name}_band" in out.columns:
            band = inst.band(out[name], index=out.index)
            out[f"{name}_band"] = out[f"{name}_band"].astype(object).where(~fill, band)
        notes.append(
            f"{name}: {int(r.kept.sum()):,} row(s) whose items give no score keep the table's "
            f"score ({format_rows(out.index[r.kept])})"
        )
    if r.unusable.any():
        notes.append(
            f"{name}: {int(r.unusable.sum()):,} row(s) whose items give no score have a table "
            f"score outside {lo:g}–{hi:g} ({format_values(given[r.unusable].tolist())} at "
            f"{format_rows(out.index[r.unusable])}): not used, the score is missing there"
        )
    return notes
