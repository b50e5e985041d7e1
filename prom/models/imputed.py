"""Counting what the models impute, so that no imputation goes unsaid.

Every model of :mod:`prom.models` replaces a missing value of a numeric predictor by the
training rows' median (:mod:`prom.models.preprocess`); a missing category is a level of
its own and is not imputed. :func:`imputed_counts` counts, per numeric predictor, the
values a model imputes for a table; :func:`describe_imputed` words the count the same way
for every front end (``prom fit``, ``prom score``, the calculator):
``"2 values imputed: pelvic_tilt 1, sacral_slope 1"``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import numpy as np
import pandas as pd

__all__ = ["MOSTLY_MISSING", "imputed_counts", "describe_imputed", "mostly_missing_notes"]


def imputed_counts(X: pd.DataFrame, numeric: Iterable[str] | None = None) -> dict[str, int]:
    """``{column: missing values}`` of the numeric columns of ``X`` that have any, in
    column order. ``numeric``: the numeric columns (default: as the models infer them,
    :func:`prom.models.inputs.infer_kinds`)."""
    if numeric is None:
        from prom.models.inputs import infer_kinds

        numeric, _ = infer_kinds(X)
    wanted = set(numeric)
    out: dict[str, int] = {}
    for c in X.columns:
        if c not in wanted:
            continue
        s = X[c]
        miss = s.isna().to_numpy()
        if s.dtype == object:  # blank text is missing too, as the models read it
            miss |= np.asarray(s.map(lambda v: isinstance(v, str) and v.strip() == ""), bool)
        n = int(miss.sum())
        if n:
            out[str(c)] = n
    return out


def describe_imputed(counts: Mapping[str, int], limit: int = 8) -> str:
    """``'2 values imputed: pelvic_tilt 1, sacral_slope 1'``, or ``'no value imputed'``."""
    n = sum(counts.values())
    if not n:
        return "no value imputed"
    items = [f"{c} {k:,}" for c, k in counts.items() if k]
    more = f", … ({len(items)} columns)" if len(items) > limit else ""
    return f"{n:,} value{'s' if n != 1 else ''} imputed: " + ", ".join(items[:limit]) + more


#: A numeric predictor missing in more than this share of the rows is named by the fit's
#: diagnostics: the model mostly sees its training median there.
MOSTLY_MISSING = 0.5


def mostly_missing_notes(X: pd.DataFrame) -> list[str]:
    """A sentence per numeric predictor of ``X`` missing in more than
    :data:`MOSTLY_MISSING` of its rows (the fit's diagnostics print and record them)."""
    n = len(X)
    out = []
    for c, k in imputed_counts(X).items():
        if n and k / n > MOSTLY_MISSING:
            out.append(
                f"mostly missing: {c} in {k / n:.1%} of the labelled rows ({k:,} of {n:,}), "
                f"imputed there with its median; its effect rests on the {n - k:,} row(s) "
                "that have it — consider leaving it out"
            )
    return out
