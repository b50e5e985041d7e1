"""Shared machinery for PROM instruments.

An instrument *declares* its items (names, answer ranges), score range, direction,
missing-item rule, version and citation, and implements only ``raw_score``: the score
from a complete-or-partly-missing matrix of valid item answers. Everything else —
reading columns, checking answers, applying the missing-item rule, writing the reason a
score was withheld, severity bands — lives here, once.

Scores are computed for a whole DataFrame at a time (vectorised with NumPy).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from numbers import Real
from typing import ClassVar

import numpy as np
import pandas as pd

from prom.errors import (
    ColumnTypeError,
    InsufficientItemsError,
    InvalidItemError,
    MissingColumnError,
    format_rows,
    format_values,
)
from prom.naming import item_column, score_column
from prom.number_forms import decimal_comma_cells, decimal_comma_hint

__all__ = ["Item", "Band", "Instrument"]


@dataclass(frozen=True)
class Item:
    """One question of an instrument: its answers run from ``low`` to ``high``."""

    name: str
    label: str
    low: float
    high: float
    integer: bool = True
    unit: str | None = None
    #: column template overriding the instrument's ``<key>_<item>_<tp>`` convention
    column: str | None = None


#: Bands include their edges to within this (scores are sums of item points).
_BAND_TOL = 1e-9


@dataclass(frozen=True)
class Band:
    """A severity band: scores in ``[low, high]`` (``high`` inclusive) get ``label``."""

    label: str
    low: float
    high: float


class Instrument:
    """Base class: subclasses declare the class attributes and implement ``raw_score``.

    Parameters
    ----------
    max_missing : int, optional
        Most items that may be unanswered for a score still to be computed. Defaults to
        the instrument's ``default_max_missing`` (see its docstring for the source).
    """

    key: ClassVar[str]
    name: ClassVar[str]
    version: ClassVar[str]
    citation: ClassVar[str]
    items: ClassVar[tuple[Item, ...]]
    score_range: ClassVar[tuple[float, float]]
    score_unit: ClassVar[str | None] = "points"
    higher_is_better: ClassVar[bool]
    default_max_missing: ClassVar[int] = 0
    missing_rule: ClassVar[str] = "no item may be missing"
    bands: ClassVar[tuple[Band, ...]] = ()

    def __init__(self, max_missing: int | None = None):
        self.max_missing = max_missing

    # --- declarations --------------------------------------------------------------------
    @property
    def item_names(self) -> tuple[str, ...]:
        return tuple(i.name for i in self.items)

    def item(self, name: str) -> Item:
        for it in self.items:
            if it.name == name:
                return it
        raise KeyError(f"{self.name} has no item {name!r}; items are {', '.join(self.item_names)}")

    def item_columns(self, timepoint: str) -> dict[str, str]:
        """Default column of each item at a time point (``{'lifting': 'odi_lifting_0m', ...}``)."""
        cols = {}
        for it in self.items:
            if it.column is not None:
                cols[it.name] = it.column.format(tp=timepoint)
            else:
                cols[it.name] = item_column(self.key, it.name, timepoint)
        return cols

    def score_column(self, timepoint: str) -> str:
        return score_column(self.key, timepoint)

    @property
    def direction(self) -> str:
        return "higher is better" if self.higher_is_better else "lower is better"

    @property
    def items_allowed_missing(self) -> int:
        """How many items a form may leave unanswered and still be scored (``max_missing``,
        else the instrument's ``default_max_missing``; checked)."""
        return self._max_missing()

    def _max_missing(self) -> int:
        m = self.default_max_missing if self.max_missing is None else self.max_missing
        if isinstance(m, bool) or not isinstance(m, (int, np.integer)):
            raise TypeError(f"{self.name}: max_missing must be an int, got {type(m).__name__}")
        if not 0 <= m < len(self.items):
            raise ValueError(
                f"{self.name}: max_missing={m} is outside 0–{len(self.items) - 1} "
                f"(the instrument has {len(self.items)} items)"
            )
        return int(m)

    # --- the one thing a subclass implements ----------------------------------------------
    def raw_score(self, answers: np.ndarray) -> np.ndarray:
        """Score from valid answers, shape (n, n_items), NaN where unanswered.

        Called only after the missing-item rule; rows it will not score may hold any value.
        """
        raise NotImplementedError

    def scorable(self, answered: np.ndarray) -> np.ndarray:
        """Which rows may be scored, given the boolean matrix of answered items."""
        return (~answered).sum(axis=1) <= self._max_missing()

    def withheld_reason(self, answered: np.ndarray) -> np.ndarray:
        """Text explaining why each unscorable row has no score (object array, None if scored).

        Built once per distinct pattern of missing items, so a registry-sized table with
        many incomplete forms costs little more than one with none.
        """
        out = np.full(len(answered), None, dtype=object)
        withheld = ~self.scorable(answered)
        if not withheld.any():
            return out
        names = np.array(self.item_names, dtype=object)
        # one integer code per row: bit j set when item j is missing
        codes = (~answered[withheld]).astype(np.int64) @ (
            1 << np.arange(len(names), dtype=np.int64)
        )
        uniq, inverse = np.unique(codes, return_inverse=True)
        texts = np.empty(len(uniq), dtype=object)
        for k, code in enumerate(uniq):
            miss = ((int(code) >> np.arange(len(names))) & 1).astype(bool)
            texts[k] = (
                f"{int(miss.sum())} of {len(names)} {self.name} items missing "
                f"({', '.join(names[miss])}); rule: {self.missing_rule}"
            )
        out[withheld] = texts[inverse.ravel()]
        return out

    # --- public API -------------------------------------------------------------------------
    def score(
        self,
        data: pd.DataFrame,
        timepoint: str | None = None,
        columns: Mapping[str, str] | None = None,
        on_insufficient: str = "reason",
    ) -> pd.DataFrame:
        """Score every row of ``data``.

        Item answers are read from ``columns`` (item name → column) when given, else from
        the convention ``<key>_<item>_<timepoint>``. The input is not modified.

        Returns a DataFrame on ``data``'s index with ``score`` (NaN where withheld),
        ``n_answered``, ``reason`` (why a score was withheld, else missing), ``band`` where
        the instrument has severity bands, and ``version``.

        Raises
        ------
        MissingColumnError  an item's column is not in ``data``
        ColumnTypeError     an item column holds True/False (a TypeError)
        InvalidItemError    answers that are not numbers (text), outside the item's
                            range, or fractional where whole numbers are expected (all
                            problems reported at once, each naming its rows and values)
        InsufficientItemsError  too many items missing and ``on_insufficient='raise'``
        """
        if not isinstance(data, pd.DataFrame):
            raise TypeError(f"{self.name}: expected a pandas DataFrame, got {type(data).__name__}")
        if on_insufficient not in ("reason", "raise"):
            raise ValueError(f"on_insufficient={on_insufficient!r}; expected 'reason' or 'raise'")
        cols = self._resolve_columns(data, timepoint, columns)
        answers = self._read_answers(data, cols)
        answered = ~np.isnan(answers)
        ok = self.scorable(answered)
        if on_insufficient == "raise" and not ok.all():
            bad = data.index[~ok]
            reasons = self.withheld_reason(answered)[~ok]
            raise InsufficientItemsError(
                f"{self.name}: {len(bad)} row(s) cannot be scored ({format_rows(bad)}): "
                f"{reasons[0]}"
            )
        score = np.full(len(data), np.nan)
        if ok.any():
            score[ok] = self.raw_score(answers[ok]) + 0.0  # + 0.0 turns -0.0 into 0.0
        lo, hi = self.score_range
        # Guard the declaration–implementation link: a score outside the declared range
        # is a bug in raw_score, not a data problem.
        if np.any((score < lo - 1e-9) | (score > hi + 1e-9)):
            raise RuntimeError(f"{self.name}: raw_score produced values outside {lo}–{hi}")
        out = pd.DataFrame(index=data.index)
        out["score"] = score
        out["n_answered"] = answered.sum(axis=1).astype("int64")
        reason = self.withheld_reason(answered)
        out["reason"] = pd.Series(reason, index=data.index, dtype="object")
        if self.bands:
            out["band"] = self.band(score, index=data.index)
        out["version"] = self.version
        return out

    def band(self, score, index=None) -> pd.Series:
        """Severity band of each score (missing where the score is missing)."""
        s = np.asarray(score, dtype=float)
        labels = np.full(s.shape, None, dtype=object)
        for b in reversed(self.bands):  # earlier bands win ties at shared edges
            hit = (s >= b.low - _BAND_TOL) & (s <= b.high + _BAND_TOL)
            labels[hit] = b.label
        cats = pd.CategoricalDtype([b.label for b in self.bands], ordered=True)
        return pd.Series(labels, index=index, dtype=cats)

    def band_of(self, score: float) -> str | None:
        """The band of one score, as :meth:`band` gives it (``None``: no band holds it, or
        the score is missing) — without a Series, for one patient."""
        for b in self.bands:  # the first band holding the score: earlier bands win ties
            if b.low - _BAND_TOL <= score <= b.high + _BAND_TOL:
                return b.label
        return None

    # --- helpers ----------------------------------------------------------------------------
    def _resolve_columns(self, data, timepoint, columns) -> dict[str, str]:
        if columns is None:
            if timepoint is None:
                raise TypeError(f"{self.name}: give either timepoint= or columns=")
            cols = self.item_columns(timepoint)
        else:
            unknown = sorted(set(columns) - set(self.item_names))
            if unknown:
                raise ValueError(
                    f"{self.name}: columns= names unknown item(s) {', '.join(unknown)}; "
                    f"items are {', '.join(self.item_names)}"
                )
            missing_items = [i for i in self.item_names if i not in columns]
            if missing_items:
                raise ValueError(
                    f"{self.name}: columns= gives no column for item(s) {', '.join(missing_items)}"
                )
            cols = dict(columns)
        absent = [f"{c!r} (item {i!r})" for i, c in cols.items() if c not in data.columns]
        twice = (
            []
            if data.columns.is_unique  # cached by pandas: the usual case costs nothing
            else [c for c in cols.values() if int((data.columns == c).sum()) > 1]
        )
        if twice:
            raise ValueError(
                f"{self.name}: the table has more than one column named "
                f"{', '.join(map(repr, twice))}; which holds the answers cannot be known: "
                "drop or rename the copies"
            )
        if absent:
            raise MissingColumnError(
                f"{self.name}: the table has no column {', '.join(absent)}; "
                f"map your column names onto these (prom.cohort.mapping) or pass columns="
            )
        return cols

    def _read_answers(self, data: pd.DataFrame, cols: dict[str, str]) -> np.ndarray:
        n = len(data)
        answers = np.empty((n, len(self.items)), dtype=float)
        problems: list[str] = []
        for j, it in enumerate(self.items):
            col = data[cols[it.name]]
            if pd.api.types.is_bool_dtype(col):
                raise ColumnTypeError(
                    f"{self.name} item {it.name!r} (column {cols[it.name]!r}) holds "
                    f"True/False; expected numbers {it.low:g}–{it.high:g}"
                )
            if pd.api.types.is_numeric_dtype(col):
                v = col.to_numpy(dtype=float, na_value=np.nan)
            else:
                v, text = _numbers_in(col)
                if text.any():
                    idx = np.flatnonzero(text)
                    bad = col.iloc[idx]
                    comma = decimal_comma_cells(bad)
                    how = (
                        _first_lower(decimal_comma_hint(bad[comma].tolist()))
                        if comma.all()
                        else "recode text answers to their numeric codes (a column mapping's "
                        "'values:' does)"
                    )
                    problems.append(
                        f"{self.name} item {it.name!r} (column {cols[it.name]!r}) has "
                        f"{len(idx)} value(s) that are not numbers "
                        f"({format_rows(data.index[idx])}; values "
                        f"{format_values(bad.tolist())}); expected "
                        f"{'whole ' if it.integer else ''}numbers {it.low:g}–{it.high:g} or "
                        f"blank; {how}"
                    )
            present = ~np.isnan(v)
            out_of_range = present & ((v < it.low) | (v > it.high))
            if out_of_range.any():
                idx = np.flatnonzero(out_of_range)
                problems.append(
                    f"{self.name} item {it.name!r} (column {cols[it.name]!r}) has "
                    f"{len(idx)} value(s) outside {it.low:g}–{it.high:g} "
                    f"({format_rows(data.index[idx])}; values {format_values(v[idx].tolist())})"
                    + self._coding_hint(v[present], it)
                )
            if it.integer:
                frac = present & ~out_of_range & (v != np.round(v))
                if frac.any():
                    idx = np.flatnonzero(frac)
                    problems.append(
                        f"{self.name} item {it.name!r} (column {cols[it.name]!r}) has "
                        f"{len(idx)} non-whole value(s) ({format_rows(data.index[idx])}; "
                        f"values {format_values(v[idx].tolist())}); expected whole numbers "
                        f"{it.low:g}–{it.high:g}"
                    )
            answers[:, j] = v
        if problems:
            raise InvalidItemError("\n".join(problems))
        return answers

    @staticmethod
    def _coding_hint(present: np.ndarray, it: Item) -> str:
        if present.size == 0:
            return ""
        lo, hi = present.min(), present.max()
        if it.integer and lo >= it.low + 1 and hi == it.high + 1:
            return f"; is the form coded {it.low + 1:g}–{it.high + 1:g}? Subtract 1 (mapping: offset -1)"
        # a 0–100 scale puts most answers above 10; a stray 11 among 0–10 answers is a typo
        above = float(np.mean(present > it.high))
        if hi > it.high and hi <= 10 * it.high and it.high == 10 and above >= 0.25:
            return "; is this a 0–100 scale? Map it with scale 0.1"
        return ""

    def __repr__(self) -> str:
        mm = "" if self.max_missing is None else f"max_missing={self.max_missing}"
        return f"{type(self).__name__}({mm})"


def _numbers_in(col: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """A column that is not numeric, read as numbers: ``(values, not_a_number)``.

    Numbers and numeric text (``"3"``, ``" 2.0 "``: a CSV column with one text answer is
    read as text throughout) are kept; missing values and blank text are missing (NaN);
    anything else — other text, True/False, dates — is NaN in ``values`` and flagged in
    ``not_a_number``, so that the caller can name its rows.
    """
    codes, distinct = pd.factorize(col.astype(object).to_numpy(), use_na_sentinel=True)
    value = np.full(len(distinct) + 1, np.nan)  # the last slot: missing (code -1)
    text = np.zeros(len(distinct) + 1, dtype=bool)
    for k, x in enumerate(distinct):  # once per distinct value, not per row
        if isinstance(x, str):
            if not x.strip():
                continue
            try:
                v = float(x)
            except ValueError:
                text[k] = True
            else:  # the text 'nan' is not a number either: only an empty cell is missing
                value[k] = v
                text[k] = v != v
        elif isinstance(x, Real) and not isinstance(x, (bool, np.bool_)):
            value[k] = float(x)
        else:  # True/False, a date, any other object (missing values have code -1)
            text[k] = True
    return value[codes], text[codes]


def _first_lower(sentence: str) -> str:
    """A sentence continued after a semicolon: its first letter in lower case."""
    return sentence[:1].lower() + sentence[1:]
