"""Table 1 and the missingness table: aggregate statistics of the rows a model was fitted on.

Both take the predictor table ``X`` and one group label per row (the outcome: MCID
reached or not, the treatment class, surgery or not) and return plain records — counts,
medians, quartiles, means and standard deviations, never a patient's row — so they can be
stored in a bundle's validation record and printed in a report.

Variable types come from the cohort contract when the column is declared there (``bool``
→ binary, ``category`` → categorical, ``int``/``float`` → continuous), else from the data
(numeric holding only 0/1 → binary, other numeric → continuous, anything else →
categorical). Continuous variables get median [IQR] *and* mean (SD); binary variables the
n (%) of ones; categorical variables n (%) per level. Percentages are of the rows where
the variable is observed; the number missing is given separately.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from prom.cohort.contract import ColumnSpec

__all__ = ["variable_kind", "describe_variable", "table_one", "missingness_table"]


def _contract_spec(name: str) -> ColumnSpec | None:
    from prom.cohort.contract import COHORT_CONTRACT

    return COHORT_CONTRACT.get(name)


def describe_variable(name: str) -> dict:
    """Description and unit of a column from the cohort contract (empty when undeclared)."""
    spec = _contract_spec(name)
    if spec is None:
        return {"description": "", "unit": ""}
    return {"description": spec.description, "unit": spec.unit or ""}


def variable_kind(name: str, values: pd.Series) -> str:
    """``"continuous"``, ``"binary"`` or ``"categorical"`` (see the module docstring)."""
    spec = _contract_spec(name)
    if spec is not None:
        return {"bool": "binary", "category": "categorical", "string": "categorical"}.get(
            spec.dtype, "continuous"
        )
    if pd.api.types.is_bool_dtype(values):
        return "binary"
    if pd.api.types.is_numeric_dtype(values):
        observed = pd.unique(values.dropna())
        return "binary" if len(observed) and set(observed) <= {0, 1} else "continuous"
    return "categorical"


def _levels(name: str, values: pd.Series) -> list:
    spec = _contract_spec(name)
    seen = values.dropna().astype(str)
    if spec is not None and spec.categories:
        known = [c for c in spec.categories if c in set(seen)]
        return known + sorted(set(seen) - set(known))
    return list(seen.value_counts().index)


def _continuous(v: pd.Series) -> dict:
    x = pd.to_numeric(v, errors="coerce").dropna().to_numpy(dtype=float)
    if x.size == 0:
        return {"n": 0}
    q1, med, q3 = np.quantile(x, [0.25, 0.5, 0.75])
    return {
        "n": int(x.size),
        "median": float(med),
        "q1": float(q1),
        "q3": float(q3),
        "mean": float(x.mean()),
        "sd": float(x.std(ddof=1)) if x.size > 1 else float("nan"),
    }


def _count(hit: pd.Series, observed: pd.Series) -> dict:
    n_obs = int(observed.sum())
    k = int((hit & observed).sum())
    return {"count": k, "n": n_obs, "pct": 100.0 * k / n_obs if n_obs else float("nan")}


def table_one(
    X: pd.DataFrame, groups: pd.Series | np.ndarray, order: Sequence | None = None
) -> dict:
    """Table 1 of ``X`` by ``groups`` (and overall).

    Returns ``{"groups": [labels…], "group_n": {label: n}, "n": total, "rows": [...]}``;
    each row has ``variable``, ``kind``, ``level`` (categorical; else None),
    ``description``, ``unit`` and ``cells``: ``{group label or "overall": statistics}``
    where the statistics are ``n``, ``median``, ``q1``, ``q3``, ``mean``, ``sd``
    (continuous) or ``count``, ``n``, ``pct`` (binary, categorical), plus ``missing``.
    Group labels are strings (``str`` of the group value), in ``order`` when given.
    """
    g = pd.Series(np.asarray(groups, dtype=object), index=X.index).astype(str)
    labels = [str(v) for v in (order if order is not None else sorted(g.unique()))]
    unknown = sorted(set(g.unique()) - set(labels))
    if unknown:
        raise ValueError(f"group value(s) {', '.join(unknown)} are not in order={labels}")
    masks = {lab: (g == lab).to_numpy() for lab in labels}
    masks["overall"] = np.ones(len(g), dtype=bool)
    rows = []
    for name in X.columns:
        col = X[name]
        kind = variable_kind(name, col)
        info = describe_variable(name)
        if kind == "continuous":
            cells = {
                k: {**_continuous(col[m]), "missing": int(col[m].isna().sum())}
                for k, m in masks.items()
            }
            rows.append({"variable": name, "kind": kind, "level": None, **info, "cells": cells})
        elif kind == "binary":
            obs = col.notna()
            hit = pd.to_numeric(col.astype(object).where(obs), errors="coerce").eq(1)
            cells = {
                k: {**_count(hit[m], obs[m]), "missing": int((~obs[m]).sum())}
                for k, m in masks.items()
            }
            rows.append({"variable": name, "kind": kind, "level": None, **info, "cells": cells})
        else:
            obs = col.notna()
            text = col.astype(object).where(obs).astype(str)
            for level in _levels(name, col):
                cells = {
                    k: {**_count(text[m].eq(level), obs[m]), "missing": int((~obs[m]).sum())}
                    for k, m in masks.items()
                }
                rows.append(
                    {"variable": name, "kind": kind, "level": level, **info, "cells": cells}
                )
    return {
        "groups": labels,
        "group_n": {k: int(m.sum()) for k, m in masks.items()},
        "n": len(g),
        "rows": rows,
    }


def missingness_table(
    X: pd.DataFrame, groups: pd.Series | np.ndarray, order: Sequence | None = None
) -> list[dict]:
    """Missing values per predictor, overall and by group, most missing first.

    One record per column: ``variable``, ``description``, ``missing`` (count overall),
    ``pct`` (of all rows) and ``by_group``: ``{label: {"missing", "n", "pct"}}``.
    """
    g = pd.Series(np.asarray(groups, dtype=object), index=X.index).astype(str)
    labels = [str(v) for v in (order if order is not None else sorted(g.unique()))]
    out = []
    n = len(X)
    for name in X.columns:
        miss = X[name].isna()
        by = {}
        for lab in labels:
            m = (g == lab).to_numpy()
            k, size = int(miss[m].sum()), int(m.sum())
            by[lab] = {"missing": k, "n": size, "pct": 100.0 * k / size if size else float("nan")}
        out.append(
            {
                "variable": name,
                "description": describe_variable(name)["description"],
                "missing": int(miss.sum()),
                "pct": 100.0 * float(miss.sum()) / n if n else float("nan"),
                "by_group": by,
            }
        )
    out.sort(key=lambda r: (-r["missing"], r["variable"]))
    return out
