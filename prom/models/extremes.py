"""Isolated extreme values of numeric predictors: a value entered wrongly looks like this.

A fit uses every value as it is. An age of 212 or a BMI of 284 (a typo, or a unit entered
in another scale) is no reason to refuse a table a contract range cannot judge — the
user's own columns have no range — but it is worth a look before the models are fitted.
A value is *extreme* when it lies beyond Tukey's "far out" fences, three interquartile
ranges below the first or above the third quartile (Tukey, Exploratory Data Analysis,
1977). A skewed measure (symptom duration, days to an event) has many such values, which
are its tail and not errors, so a column's extremes are reported only when they are
*isolated*: at most :data:`ISOLATED_FRACTION` of its filled values (at least one), in a
column with at least :data:`MIN_VALUES` filled values and a non-zero interquartile
range. Nothing is changed or dropped; ``prom fit`` names the column, the values, their
rows and the fences; the bundle (and the report written from it) keeps only the column,
the count and the fences (:meth:`prom.models.diagnostics.FitDiagnostics.to_dict`): a
value and its row are one patient's entry.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from prom.errors import row_noun

__all__ = [
    "FENCE_IQR",
    "ISOLATED_FRACTION",
    "MIN_VALUES",
    "SHARED_EXTREME_FIELDS",
    "describe_extremes",
    "isolated_extremes",
]

#: The far-out fences: this many interquartile ranges beyond the quartiles.
FENCE_IQR = 3.0
#: A column's extremes are isolated when they are at most this share of its values …
ISOLATED_FRACTION = 0.01
#: … and it has at least this many filled values.
MIN_VALUES = 20
#: Values and rows shown per column.
SHOWN = 5
#: What a bundle keeps of each column's isolated extreme values: no value, no row label.
SHARED_EXTREME_FIELDS: tuple[str, ...] = ("column", "count", "low", "high")


def isolated_extremes(X: pd.DataFrame, numeric: Sequence[str]) -> list[dict[str, Any]]:
    """Per numeric column of ``X`` with isolated extreme values: ``{column, count,
    values, rows, low, high}`` — the most extreme values first (at most five, with their
    row labels) and the fences."""
    out = []
    for c in numeric:
        if pd.api.types.is_bool_dtype(X[c].dtype):
            continue
        v = pd.to_numeric(X[c], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
        filled = np.isfinite(v)
        if filled.sum() < MIN_VALUES:
            continue
        q1, q3 = np.percentile(v[filled], [25, 75])
        iqr = q3 - q1
        if not iqr > 0:
            continue
        low, high = q1 - FENCE_IQR * iqr, q3 + FENCE_IQR * iqr
        beyond = filled & ((v < low) | (v > high))
        k = int(beyond.sum())
        if k == 0 or k > max(1, int(ISOLATED_FRACTION * filled.sum())):
            continue
        at = np.flatnonzero(beyond)
        order = at[np.argsort(-np.maximum(low - v[at], v[at] - high), kind="stable")][:SHOWN]
        out.append(
            {
                "column": str(c),
                "count": k,
                "values": [float(v[i]) for i in order],
                "rows": [_label(X.index[i]) for i in order],
                "row_noun": row_noun(X.index),  # "line": the rows are a CSV file's lines
                "low": float(low),
                "high": float(high),
            }
        )
    return out


def _label(x: Any) -> Any:
    return x.item() if isinstance(x, np.generic) else x if isinstance(x, (int, str)) else str(x)


def describe_extremes(found: Sequence[Mapping[str, Any]]) -> str:
    """``'age' 212 (row 77) (far-out fences 6 to 110); …; check them …`` (``prom fit``),
    or ``'age': 1 value (far-out fences 6 to 110); …`` from a bundle, which keeps no
    values or rows (:meth:`prom.models.diagnostics.FitDiagnostics.to_dict`)."""
    parts = []
    for r in found:
        fences = f"(far-out fences {r['low']:g} to {r['high']:g})"
        if "values" not in r or "rows" not in r:
            k = int(r["count"])
            parts.append(f"{r['column']!r}: {k} value{'s' if k != 1 else ''} {fences}")
            continue
        noun = r.get("row_noun", "row")
        shown = ", ".join(
            f"{v:g} ({noun} {i})" for v, i in zip(r["values"], r["rows"], strict=True)
        )
        more = f" and {r['count'] - len(r['values'])} more" if r["count"] > len(r["values"]) else ""
        parts.append(f"{r['column']!r} {shown}{more} {fences}")
    return (
        "; ".join(parts) + "; they are used as they are — check them against the source "
        "(a typo, or a unit entered in another scale)"
    )
