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
:func:`informative_columns` picks those a fit keeps.
"""

from __future__ import annotations

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
    build, ascending (``None``: all); the others are never written.
    """
    if keep is None:
        at = np.arange(n_full)
        width = n_full
    else:
        at = np.full(n_full, -1)
        at[np.asarray(keep, dtype=int)] = np.arange(len(keep))
        width = len(keep)
    # column-major: every write below fills one column, which is contiguous here; every
    # column is written exactly once, so no zero fill
    out = np.empty((n_rows, width), dtype=np.float64, order="F")
    unknown: dict[str, np.ndarray] = {}
    j = 0
    for block in plan:
        var = block["var"]
        if block["kind"] == "numeric":
            median = block["median"]
            if median is None:
                continue
            v = numeric(var)
            miss = np.isnan(v)
            if miss.any():
                v = np.where(miss, median, v)
            if at[j] >= 0:
                out[:, at[j]] = v
            j += 1
            if block["knots"]:
                basis = rcs_nonlinear_terms(v, block["knots"])
                for b in range(basis.shape[1]):
                    if at[j] >= 0:
                        out[:, at[j]] = basis[:, b]
                    j += 1
            if block["indicator"]:
                if at[j] >= 0:
                    out[:, at[j]] = miss
                j += 1
        else:
            levels = block["levels"]
            c = codes(var, tuple(levels))
            miss = c == -2
            unk = c == -1
            if not block["missing_level"]:
                unk |= miss
            unknown[var] = unk
            for k, lv in enumerate(levels):
                if block["reference"] is not None and lv == block["reference"]:
                    continue
                if at[j] >= 0:
                    out[:, at[j]] = c == k
                j += 1
            if block["missing_level"]:
                if at[j] >= 0:
                    out[:, at[j]] = miss
                j += 1
    return out, unknown


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
