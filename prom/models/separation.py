"""Separation: an outcome perfectly predicted by a level, a threshold or a combination.

When the outcome is separated, the maximum-likelihood estimate of an unpenalised logistic
model does not exist: some coefficient grows without bound (Albert & Anderson 1984).
:func:`find_separation` checks, on the baseline's design, for each outcome (the binary
outcome, or each class against the rest of a multiclass one):

- a 0/1 design column (category level, missing indicator) whose rows with a 1 all have
  the same outcome (quasi-complete separation by that level);
- a threshold on one numeric predictor that splits the outcomes (complete, or
  quasi-complete when the two sides touch);
- when neither names a column, Konis's linear program (Konis 2007, the method of R's
  ``detectseparation``) for a combination of columns along which the fit diverges
  (skipped above :data:`MAX_LP_CELLS` design cells, with a note: the program costs
  seconds at ten thousand rows, and with thousands of rows a separating combination that
  no single level or threshold shows is rare; the odds-ratio table's maximum-likelihood
  fit still names diverging coefficients, :func:`prom.models.odds_ratios`).

A survival outcome: a level with no event among its rows (the Cox partial likelihood is
monotone in its coefficient, Heinze & Schemper 2001).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["LEAKAGE", "LEVELS_LISTED", "MAX_LP_CELLS", "find_separation"]

#: Separating levels of one column listed one by one; more are summarised in one finding.
LEVELS_LISTED = 3

#: Konis's linear program is skipped for designs larger than this (rows × columns): about
#: 5,000 rows of 50 design columns (≈ 0.5 s on one core).
MAX_LP_CELLS = 250_000


def _outcome_sets(y: Any, kind: str) -> list[tuple[str, np.ndarray, Any]]:
    """(name, 0/1 array, class) per comparison: the outcome (binary; class ``None``), each
    class vs the rest."""
    v = np.asarray(y, dtype=object)
    classes = sorted(pd.unique(v).tolist(), key=str)
    if kind == "binary":
        return [("", (v == classes[-1]).astype(int), None)]
    return [(f"class {c!r} vs the rest: ", (v == c).astype(int), c) for c in classes]


def _levels(Z: np.ndarray, names: list[str]) -> Iterator[tuple[str, np.ndarray]]:
    """``(name, rows)`` of each 0/1 design column (a category level, a missing indicator)
    with a row at 1: the columns a level's separation is looked for in."""
    for j, name in enumerate(names):
        col = Z[:, j]
        if np.isin(col, (0.0, 1.0)).all():
            rows = col == 1.0
            if rows.any():
                yield name, rows


def _multiclass_levels(
    Z: np.ndarray, names: list[str], groups: dict[str, str], y: Any
) -> tuple[list[dict[str, Any]], dict[Any, set[str]]]:
    """Levels (0/1 design columns) whose rows lack a class: one finding per level, naming
    the classes, instead of one per class-against-the-rest comparison it separates (a level
    whose rows are all of one class separates every comparison); and per class the columns
    of the levels that separate its comparison."""
    v = np.asarray(y, dtype=object)
    classes = sorted(pd.unique(v).tolist(), key=str)
    out: list[dict[str, Any]] = []
    hit: dict[Any, set[str]] = {c: set() for c in classes}
    for name, rows in _levels(Z, names):
        k = int(rows.sum())
        present = set(v[rows].tolist())
        absent = [c for c in classes if c not in present]
        if not absent:
            continue
        for c in classes:
            if c in absent or present == {c}:
                hit[c].add(groups[name])
        what = (
            f"all {k:,} row(s) with {name} are of class {next(iter(present))!r}"
            if len(present) == 1
            else f"none of the {k:,} row(s) with {name} is of class "
            + " or ".join(map(repr, absent))
        )
        out.append(
            {
                "column": groups[name],
                "detail": f"{what} (quasi-complete separation: the level's logistic "
                "coefficients diverge); merge the level with a similar one or drop "
                f"{groups[name]!r}",
            }
        )
    return out, hit


def _level_separation(
    Z: np.ndarray, names: list[str], groups: dict[str, str], y01: np.ndarray, prefix: str
) -> list[dict[str, Any]]:
    """One finding per separating level; a column with more than
    :data:`LEVELS_LISTED` of them (a category of many small levels) gets one finding that
    lists the first few and counts the rest."""
    by_column: dict[str, list[tuple[str, int, int]]] = {}
    out = []
    for name, rows in _levels(Z, names):
        if np.unique(y01[rows]).size == 1:
            o = int(y01[rows][0])
            if (~rows).any() and (y01[~rows] == 1 - o).all():  # the level alone decides
                out.append({"column": groups[name], "detail": _complete(prefix, name, o)})
                continue
            by_column.setdefault(groups[name], []).append((name, int(rows.sum()), o))
    for column, levels in by_column.items():
        if len(levels) <= LEVELS_LISTED:
            out += [
                {
                    "column": column,
                    "detail": f"{prefix}all {k:,} row(s) with {name} have outcome {o} "
                    "(quasi-complete separation: its logistic coefficient diverges); merge "
                    f"the level with a similar one or drop {column!r}",
                }
                for name, k, o in levels
            ]
            continue
        shown = "; ".join(
            f"{name}: {k:,} row(s), outcome {o}" for name, k, o in levels[:LEVELS_LISTED]
        )
        out.append(
            {
                "column": column,
                "detail": f"{prefix}{len(levels):,} levels of {column!r} have one outcome in "
                f"all their rows ({shown}; and {len(levels) - LEVELS_LISTED:,} more) "
                "(quasi-complete separation: their logistic coefficients diverge); merge "
                f"small levels or drop {column!r}",
            }
        )
    return out


#: What complete separation by one predictor usually means, and what to do.
LEAKAGE = (
    "a predictor that alone determines the outcome is usually recorded with or after it "
    "(leakage): check that {column!r} is known before the outcome and drop it if not — "
    "no new patient will reproduce the model's AUC of 1"
)


def _complete(prefix: str, name: str, o: int) -> str:
    column = name.split("=", 1)[0]
    return (
        f"{prefix}every row with {name} has outcome {o} and every other row outcome {1 - o} "
        f"(complete separation: {name} alone decides the outcome); " + LEAKAGE.format(column=column)
    )


def _threshold_separation(
    X: pd.DataFrame, numeric: list[str], y01: np.ndarray, prefix: str
) -> list[dict[str, Any]]:
    out = []
    for c in numeric:
        x = pd.to_numeric(X[c], errors="coerce").to_numpy(dtype=float)
        ok = ~np.isnan(x)
        x1, x0 = x[ok & (y01 == 1)], x[ok & (y01 == 0)]
        if not x1.size or not x0.size or np.unique(x[ok]).size < 2:
            continue
        for hi, lo, up in ((x1, x0, 1), (x0, x1, 0)):
            if lo.max() <= hi.min():
                cut = (lo.max() + hi.min()) / 2
                split = (
                    f"{prefix}a threshold on {c!r} separates the outcome: every row above "
                    f"{cut:.4g} has outcome {up} and every row below it outcome {1 - up}"
                )
                if lo.max() < hi.min():
                    detail = f"{split} (complete separation); " + LEAKAGE.format(column=c)
                else:
                    detail = (
                        f"{split} (quasi-complete separation: the logistic coefficient of "
                        f"{c!r} diverges); use a penalised family (elastic_net) or check "
                        f"whether {c!r} is a consequence of the outcome"
                    )
                out.append({"column": c, "detail": detail})
                break
    return out


def _lp_separation(Z: np.ndarray, y01: np.ndarray) -> np.ndarray | None:
    """Konis's linear program: a direction ``b`` (intercept first) with ``s_i·x_i'b ≥ 0``
    for every row and ``Σ s_i·x_i'b > 0`` exists exactly when the outcome is (quasi-)
    separated; returns its non-zero coefficients' mask over the columns, or None."""
    from scipy.optimize import linprog

    sd = Z.std(axis=0)
    sd[sd == 0] = 1.0
    A = np.column_stack([np.ones(len(Z)), (Z - Z.mean(axis=0)) / sd])
    s = np.where(y01 == 1, 1.0, -1.0)
    SA = s[:, None] * A
    res = linprog(
        -SA.sum(axis=0),
        A_ub=-SA,
        b_ub=np.zeros(len(Z)),
        bounds=[(-1.0, 1.0)] * A.shape[1],
        method="highs",
    )
    if res.status != 0 or -res.fun <= 1e-6 * len(Z):
        return None
    return np.abs(res.x[1:]) > 1e-6


def find_separation(
    X: pd.DataFrame,
    Z: np.ndarray,
    names: list[str],
    groups: dict[str, str],
    numeric: list[str],
    y: Any,
    kind: str,
) -> tuple[list[dict[str, Any]], list[str]]:
    out: list[dict[str, Any]] = []
    notes: list[str] = []
    if kind == "survival":
        event = np.asarray(y["event"], dtype=float)
        for name, rows in _levels(Z, names):
            if event[rows].sum() == 0:
                out.append(
                    {
                        "column": groups[name],
                        "detail": f"no event among the {int(rows.sum()):,} row(s) with {name} "
                        "(monotone partial likelihood: its Cox coefficient diverges); merge "
                        f"the level with a similar one or drop {groups[name]!r}",
                    }
                )
        return out, notes
    levels: dict[Any, set[str]] = {}
    if kind == "multiclass":
        found_levels, levels = _multiclass_levels(Z, names, groups, y)
        out += found_levels
    for prefix, y01, cls in _outcome_sets(y, kind):
        if kind == "multiclass":
            found, flagged = [], levels[cls]
        else:
            found = _level_separation(Z, names, groups, y01, prefix)
            flagged = {f["column"] for f in found}
        found += _threshold_separation(X, [c for c in numeric if c not in flagged], y01, prefix)
        if not found and not flagged and Z.shape[1]:
            if Z.shape[0] * Z.shape[1] > MAX_LP_CELLS:
                skipped = (
                    "separation by a combination of predictors was not checked (a design of "
                    f"{Z.shape[0]:,} rows × {Z.shape[1]} columns, above {MAX_LP_CELLS:,} "
                    "cells); single levels and thresholds were"
                )
                if skipped not in notes:
                    notes.append(skipped)
                continue
            mask = _lp_separation(Z, y01)
            if mask is not None:
                cols = sorted({groups[names[j]] for j in np.flatnonzero(mask)})
                out.append(
                    {
                        "column": ", ".join(cols),
                        "detail": f"{prefix}a combination of {', '.join(map(repr, cols))} "
                        "separates the outcome (Konis's linear program): the unpenalised "
                        "logistic fit diverges; use a penalised family (elastic_net) or drop "
                        "one of these predictors",
                    }
                )
        out += found
    return out, notes
