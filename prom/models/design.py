"""The design plan: which design columns each input column makes, and the matrix they form.

A fitted :class:`~prom.models.preprocess.Preprocessor` keeps a *plan* (``plan_``, plain
JSON in a bundle), one block per input column, in input order:

- numeric ``{"var", "kind": "numeric", "median", "knots", "indicator"}`` → the column,
  missing values imputed with ``median`` (``None``: missing in every training row, no
  design column at all); then ``len(knots) - 2`` restricted cubic spline terms
  ``<var>__rcs1 …`` of the imputed values (``knots`` ``None``: none); then
  ``<var>__missing`` when ``indicator``;
- categorical ``{"var", "kind": "categorical", "levels", "reference", "missing_level"}``
  → one 0/1 column ``<var>=<level>`` per level but ``reference`` (``None``: every
  level); then ``<var>__missing`` when ``missing_level``. A value that is no level — or
  missing without a missing column — is all zeros, and *unknown*.

:func:`design_names` names the full design's columns, :func:`build_design` fills them
from two column readers (:func:`frame_readers` over a DataFrame;
:class:`~prom.models.columns.ColumnCache` has the same two), and
:func:`informative_columns` picks those a fit keeps. :class:`DesignProgram` is the plan
compiled into where each input's columns go (what :func:`build_design` runs; a fitted
preprocessor keeps its own through :func:`compiled_program`), so that one patient's
design costs a few array operations, not a few per design column.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Literal, TypedDict

import numpy as np
import pandas as pd

from prom.models.columns import level_codes
from prom.models.inputs import numeric_values
from prom.splines import rcs_nonlinear_terms

__all__ = [
    "NumericBlock",
    "CategoricalBlock",
    "PlanBlock",
    "NumericReader",
    "CodeReader",
    "design_names",
    "build_design",
    "DesignProgram",
    "compiled_program",
    "frame_readers",
    "informative_columns",
]


class NumericBlock(TypedDict):
    """The plan of one numeric input column."""

    var: str
    kind: Literal["numeric"]
    median: float | None
    knots: list[float] | None
    indicator: bool


class CategoricalBlock(TypedDict):
    """The plan of one categorical input column."""

    var: str
    kind: Literal["categorical"]
    levels: list[Any]
    reference: Any
    missing_level: bool


PlanBlock = NumericBlock | CategoricalBlock
#: ``numeric(var)``: an input column as float64, ``NaN`` for missing.
NumericReader = Callable[[str], np.ndarray]
#: ``codes(var, levels)``: index of each value in ``levels``; -1 no level, -2 missing.
CodeReader = Callable[[str, tuple[Any, ...]], np.ndarray]


def design_names(
    plan: Sequence[PlanBlock], rename: Mapping[str, str] | None = None
) -> tuple[list[str], list[str]]:
    """``(names, groups)`` of the full design's columns: each column's name and the input
    column it comes from (``rename`` maps input names to the names shown)."""
    names: list[str] = []
    groups: list[str] = []
    for block in plan:
        var = block["var"]
        shown = rename.get(var, var) if rename else var
        if block["kind"] == "numeric":
            if block["median"] is None:
                continue
            parts = [shown]
            if block["knots"]:
                parts += [f"{shown}__rcs{j + 1}" for j in range(len(block["knots"]) - 2)]
            if block["indicator"]:
                parts.append(f"{shown}__missing")
        else:
            parts = [
                f"{shown}={lv}"
                for lv in block["levels"]
                if lv != block["reference"] or block["reference"] is None
            ]
            if block["missing_level"]:
                parts.append(f"{shown}__missing")
        names += parts
        groups += [shown] * len(parts)
    dup = sorted({x for x in names if names.count(x) > 1})
    if dup:
        raise ValueError(
            f"design column name(s) {', '.join(dup)} arise twice (a level name clashes "
            "with another column's name); rename the column or the level"
        )
    return names, groups


def build_design(
    plan: Sequence[PlanBlock],
    numeric: NumericReader,
    codes: CodeReader,
    n_rows: int,
    n_full: int,
    keep: Sequence[int] | None = None,
) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Design columns (before scaling) and the unknown-level mask of every categorical.

    ``n_full``: the full design's width (:func:`design_names`); ``keep``: its columns to
    build, ascending (``None``: all); the others are never written. The same as
    ``DesignProgram(plan, n_full, keep).build(numeric, codes, n_rows)``.
    """
    return DesignProgram(plan, n_full, keep).build(numeric, codes, n_rows)


class DesignProgram:
    """A plan compiled once into where each input's design columns go, so that a design
    is built with a few whole-array operations instead of a few per design column — what
    counts when a fitted model transforms one patient at a time (the calculator, the
    prediction service). A fitted preprocessor keeps one (its plan no longer changes).

    Every kept column is written exactly once, from the same element-wise operations as
    one column at a time: the same numbers.
    """

    def __init__(
        self, plan: Sequence[PlanBlock], n_full: int, keep: Sequence[int] | None = None
    ) -> None:
        if keep is None:
            at = np.arange(n_full)
            self.width = n_full
        else:
            at = np.full(n_full, -1)
            at[np.asarray(keep, dtype=int)] = np.arange(len(keep))
            self.width = len(keep)
        numeric: list[str] = []
        medians: list[float] = []
        value_at: list[int] = []
        splines: list[tuple[int, list[float], np.ndarray]] = []
        indicators: list[tuple[int, int]] = []  # (numeric position, design position)
        self.categorical: list[tuple[str, tuple[Any, ...], np.ndarray, np.ndarray, int, bool]] = []
        j = 0
        for block in plan:
            if block["kind"] == "numeric":
                if block["median"] is None:
                    continue
                i = len(numeric)
                numeric.append(block["var"])
                medians.append(float(block["median"]))
                value_at.append(int(at[j]))
                j += 1
                if block["knots"]:
                    n_terms = len(block["knots"]) - 2
                    splines.append((i, block["knots"], at[j : j + n_terms].copy()))
                    j += n_terms
                if block["indicator"]:
                    indicators.append((i, int(at[j])))
                    j += 1
            else:
                levels = tuple(block["levels"])
                ref = block["reference"]
                coded = [k for k, lv in enumerate(levels) if ref is None or lv != ref]
                targets = at[j : j + len(coded)]
                j += len(coded)
                missing_at = -1
                if block["missing_level"]:
                    missing_at = int(at[j])
                    j += 1
                wanted = targets >= 0
                self.categorical.append(
                    (
                        block["var"],
                        levels,
                        np.asarray(coded, dtype=np.int64)[wanted],
                        targets[wanted],
                        missing_at,
                        bool(block["missing_level"]),
                    )
                )
        self.numeric = numeric
        self.medians = np.asarray(medians, dtype=np.float64)
        value_at_ = np.asarray(value_at, dtype=int)
        self.value_from = np.flatnonzero(value_at_ >= 0)
        self.value_to = value_at_[self.value_from]
        # per spline: its column, knots, and which basis terms go to which design columns
        self.splines = [
            (i, knots, np.flatnonzero(targets >= 0), targets[targets >= 0])
            for i, knots, targets in splines
            if (targets >= 0).any()
        ]
        kept = [(i, t) for i, t in indicators if t >= 0]
        self.indicator_from = np.asarray([i for i, _ in kept], dtype=int)
        self.indicator_to = np.asarray([t for _, t in kept], dtype=int)

    def build(
        self, numeric: NumericReader, codes: CodeReader, n_rows: int
    ) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        """Design columns (before scaling) and the unknown-level masks (see
        :func:`build_design`)."""
        # column-major: each column is contiguous; every kept column is written once
        out = np.empty((n_rows, self.width), dtype=np.float64, order="F")
        if self.numeric:
            values = np.empty((n_rows, len(self.numeric)), dtype=np.float64, order="F")
            for i, var in enumerate(self.numeric):
                values[:, i] = numeric(var)
            miss = np.isnan(values)
            if miss.any():
                np.copyto(values, np.broadcast_to(self.medians, values.shape), where=miss)
            out[:, self.value_to] = values[:, self.value_from]
            for i, knots, terms, targets in self.splines:
                out[:, targets] = rcs_nonlinear_terms(values[:, i], knots)[:, terms]
            if self.indicator_to.size:
                out[:, self.indicator_to] = miss[:, self.indicator_from]
        unknown: dict[str, np.ndarray] = {}
        for var, levels, coded, targets, missing_at, missing_level in self.categorical:
            c = codes(var, levels)
            miss_c = c == -2
            unk = c == -1
            if not missing_level:
                unk |= miss_c
            unknown[var] = unk
            if targets.size:
                out[:, targets] = c[:, None] == coded[None, :]
            if missing_at >= 0:
                out[:, missing_at] = miss_c
        return out, unknown


_COMPILED: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def compiled_program(
    owner: object, plan: Sequence[PlanBlock], keep: Sequence[int]
) -> DesignProgram:
    """The :class:`DesignProgram` of ``plan`` and ``keep``, made once for ``owner`` (a
    fitted preprocessor) and kept while it lives — outside its attributes, so that a
    transform leaves a scikit-learn estimator's state as it was — and remade when the
    owner's plan or kept columns are replaced."""
    cached = _COMPILED.get(owner)
    if cached is None or cached[0] is not plan or cached[1] is not keep:
        cached = (plan, keep, DesignProgram(plan, len(design_names(plan)[0]), keep))
        _COMPILED[owner] = cached
    return cached[2]


def frame_readers(
    frame: pd.DataFrame, plan: Sequence[PlanBlock] = ()
) -> tuple[NumericReader, CodeReader]:
    """The ``numeric`` and ``codes`` readers of :func:`build_design` over a DataFrame, with
    the model layer's errors for values that are not numbers.

    With the ``plan``, the plan's numeric columns are read in one conversion when they are
    all plain numbers (the common case, and most of the cost of a transform of a few
    rows); a column that needs more (an extension or categorical dtype, text, an infinite
    value) is read on its own, with the same result or the same error.
    """
    ready: dict[str, np.ndarray] = {}
    wanted = [b["var"] for b in plan if b["kind"] == "numeric" and b["median"] is not None]
    kinds = (  # plain NumPy dtypes only: extension dtypes go column by column
        {c: dt.kind for c, dt in frame.dtypes.items() if isinstance(dt, np.dtype)}
        if len(wanted) > 1
        else {}
    )
    if kinds and all(kinds.get(c) in ("b", "i", "u", "f") for c in wanted):
        block = frame[wanted].to_numpy(dtype=np.float64)
        if np.isfinite(block[~np.isnan(block)]).all():
            ready = {c: block[:, i] for i, c in enumerate(wanted)}

    def numeric(var: str) -> np.ndarray:
        v = ready.get(var)
        return numeric_values(frame[var], var) if v is None else v

    def codes(var: str, levels: tuple[Any, ...]) -> np.ndarray:
        # the coding bulk scoring uses (prom.models.columns): one hash lookup per value
        return level_codes(frame[var].to_numpy(dtype=object), levels)

    return numeric, codes


def informative_columns(full: np.ndarray, names: Sequence[str]) -> tuple[list[int], dict[str, str]]:
    """The columns of the training design ``full`` worth keeping, and why the others go.

    A column constant in the training rows carries no information; a column identical to
    an earlier one (the missing indicators of the MRI columns of patients without MRI)
    is kept once, under the first name. Leaving both out keeps the unpenalised logistic
    and Cox designs free of exact collinearity.
    """
    n_rows = full.shape[0]
    keep: list[int] = []
    dropped: dict[str, str] = {}
    seen: dict[bytes, str] = {}
    for j in range(full.shape[1]):
        col = np.ascontiguousarray(full[:, j])
        if np.ptp(col) == 0:
            dropped[names[j]] = (
                "constant in the training rows" if n_rows > 1 else "only one training row"
            )
            continue
        key = col.tobytes()
        if key in seen:  # e.g. the missing indicators of all MRI columns (no MRI)
            dropped[names[j]] = f"identical to {seen[key]} in the training rows"
            continue
        seen[key] = names[j]
        keep.append(j)
    return keep, dropped
