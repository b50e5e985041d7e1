"""Which subgroups a fit or an evaluation tabulates, and the tables themselves.

:func:`subgroup_variables` turns the rows of a task into one label per row for every
grouping that applies:

* ``sex`` — the contract's ``sex`` column, when the table has it, as recorded;
* ``age band`` — the contract's ``age_years``, when present, in the bands of
  :data:`AGE_BANDS` (< 40, 40–59, 60–74, ≥ 75 years; a band includes its lower bound);
* the site column of the fit (``--site-column``, default ``site``), when present;
* every column the user names (``--subgroups col1,col2``): categorical columns — and
  numeric columns with at most :data:`MAX_DISTINCT_AS_IS` distinct values — as recorded;
  other numeric columns split at their quartiles *of the rows tabulated* (the cut points
  are stated with the table).

A value that is missing forms its own group (``missing``). A column with more than
:data:`MAX_GROUPS` groups is not tabulated (a note says so: bin it first), so that an
identifier cannot turn into hundreds of one-patient groups.

:func:`subgroup_section` computes, for each model asked for, the per-group table of
:mod:`prom.validation.subgroups` over every grouping, and returns the JSON-ready section
stored in a task's validation record (``record["subgroups"]``) and printed by ``prom fit``
and ``prom evaluate``: aggregates only, small groups screened as that module says.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from prom.jsonable import to_jsonable
from prom.naming import split_column_names

__all__ = [
    "AGE_BANDS",
    "AGE_COLUMN",
    "MAX_DISTINCT_AS_IS",
    "MAX_GROUPS",
    "SEX_COLUMN",
    "SubgroupVariable",
    "check_subgroup_columns",
    "evaluation_subgroups",
    "parse_subgroup_columns",
    "subgroup_variables",
    "subgroup_section",
    "subgroups_of_rows",
]

#: The contract's columns used for the standard groupings when a table has them.
SEX_COLUMN = "sex"
AGE_COLUMN = "age_years"
#: Age bands (years): (label, lower bound inclusive, upper bound exclusive).
AGE_BANDS: tuple[tuple[str, float, float], ...] = (
    ("<40", -np.inf, 40.0),
    ("40–59", 40.0, 60.0),
    ("60–74", 60.0, 75.0),
    ("≥75", 75.0, np.inf),
)
#: A numeric user column with at most this many distinct values is grouped as recorded.
MAX_DISTINCT_AS_IS = 5
#: A grouping with more groups than this is not tabulated.
MAX_GROUPS = 30


@dataclass(frozen=True)
class SubgroupVariable:
    """One grouping of the rows: its name, source column, how groups were formed, the
    label of every row (``None``: not tabulated, see ``how``) and the groups' order."""

    name: str
    column: str
    how: str
    labels: pd.Series | None
    order: tuple[str, ...] = ()


def parse_subgroup_columns(text: str | None, columns=()) -> tuple[str, ...]:
    """``"a, b,a"`` → ``("a", "b")``; None or blank → ``()``. A name is kept as typed
    where ``columns`` (the table's) holds exactly that name, e.g. ``"Site "``."""
    if not text:
        return ()
    return tuple(dict.fromkeys(split_column_names(text, columns)))


def check_subgroup_columns(data: pd.DataFrame, columns: Sequence[str]) -> None:
    """Refuse a ``--subgroups`` column the table does not have, naming it."""
    missing = [c for c in columns if c not in data.columns]
    if missing:
        shown = ", ".join(map(str, list(data.columns)[:20]))
        more = f", … ({len(data.columns)} in all)" if len(data.columns) > 20 else ""
        raise ValueError(
            f"subgroup column(s) {', '.join(repr(c) for c in missing)} not in the table; "
            f"its columns are: {shown}{more}. Name columns of the table with --subgroups."
        )


def _fmt(x: float) -> str:
    return f"{x:.4g}"


def _age(values: pd.Series) -> SubgroupVariable:
    v = pd.to_numeric(values, errors="coerce")
    out = pd.Series(pd.NA, index=values.index, dtype=object)
    for label, lo, hi in AGE_BANDS:
        out[(v >= lo) & (v < hi)] = label
    bands = ", ".join(b[0] for b in AGE_BANDS)
    return SubgroupVariable(
        name="age band",
        column=AGE_COLUMN,
        how=f"{AGE_COLUMN} in bands {bands} years (a band includes its lower bound)",
        labels=out,
        order=tuple(b[0] for b in AGE_BANDS),
    )


def _as_is(name: str, column: str, values: pd.Series, how: str) -> SubgroupVariable:
    labels = values.astype(object).where(values.notna(), None)
    labels = labels.map(lambda x: x if x is None else _label(x))
    n_groups = labels.dropna().nunique() + int(labels.isna().any())
    if n_groups > MAX_GROUPS:
        return SubgroupVariable(
            name=name,
            column=column,
            how=(
                f"not tabulated: {n_groups} distinct values (more than {MAX_GROUPS} groups); "
                "group the column into fewer categories first"
            ),
            labels=None,
        )
    return SubgroupVariable(name=name, column=column, how=how, labels=labels)


def _label(x: Any) -> str:
    if isinstance(x, float) and x.is_integer():
        return str(int(x))
    return str(x)


def _quartiles(column: str, values: pd.Series) -> SubgroupVariable:
    v = pd.to_numeric(values, errors="coerce").astype(float)
    cuts = np.unique(np.quantile(v.dropna().to_numpy(), [0.25, 0.5, 0.75]))
    names = [f"< {_fmt(cuts[0])}"]
    names += [f"{_fmt(lo)} to < {_fmt(hi)}" for lo, hi in itertools.pairwise(cuts)]
    names += [f"≥ {_fmt(cuts[-1])}"]
    names = [f"Q{i + 1}: {s}" for i, s in enumerate(names)]
    idx = np.searchsorted(cuts, v.to_numpy(), side="right")
    out = pd.Series(np.asarray(names, dtype=object)[np.minimum(idx, len(names) - 1)])
    out.index = values.index
    out[v.isna()] = None
    note = "" if cuts.size == 3 else f" (tied values leave {cuts.size + 1} groups)"
    return SubgroupVariable(
        name=column,
        column=column,
        how=(
            f"numeric: split at the quartiles of the rows tabulated "
            f"({', '.join(_fmt(c) for c in cuts)}){note}; a group includes its lower bound"
        ),
        labels=out,
        order=tuple(names),
    )


def _user_column(column: str, values: pd.Series) -> SubgroupVariable:
    numeric = pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values)
    if numeric and values.dropna().nunique() > MAX_DISTINCT_AS_IS:
        return _quartiles(column, values)
    how = (
        f"numeric with at most {MAX_DISTINCT_AS_IS} distinct values: each value a group"
        if numeric
        else "categories as recorded"
    )
    return _as_is(column, column, values, how)


def subgroup_variables(
    data: pd.DataFrame,
    index: pd.Index,
    *,
    site_column: str | None = None,
    columns: Sequence[str] = (),
) -> list[SubgroupVariable]:
    """The groupings of the rows ``index`` of ``data`` (see the module docstring).

    ``columns`` are the user's own (``--subgroups``); one not in ``data`` is a
    ``ValueError`` naming it. A column is used once (a user column that is also the
    sex, age or site column is tabulated as the user asked).
    """
    check_subgroup_columns(data, columns)
    rows = data.loc[index]
    out: list[SubgroupVariable] = []
    taken = set(columns)
    if SEX_COLUMN in rows.columns and SEX_COLUMN not in taken:
        out.append(_as_is("sex", SEX_COLUMN, rows[SEX_COLUMN], "as recorded"))
    if AGE_COLUMN in rows.columns and AGE_COLUMN not in taken:
        out.append(_age(rows[AGE_COLUMN]))
    if site_column and site_column in rows.columns and site_column not in taken:
        out.append(
            _as_is(
                "site",
                site_column,
                rows[site_column],
                f"the fit's site column '{site_column}', as recorded",
            )
        )
    out += [_user_column(c, rows[c]) for c in columns]
    return out


def _table(kind: str, y: Any, pred: Any, var: SubgroupVariable, classes) -> pd.DataFrame:
    from prom.validation.subgroups import (
        multiclass_subgroup_performance,
        subgroup_performance,
        survival_subgroup_performance,
    )

    if var.labels is None:  # pragma: no cover - callers pass tabulated groupings only
        raise ValueError(f"{var.column}: {var.how}")
    labels = var.labels.to_numpy(dtype=object)
    if kind == "binary":
        return subgroup_performance(y, pred, labels, variable=var.name, order=var.order)
    if kind == "multiclass":
        return multiclass_subgroup_performance(
            y, pred, classes or (), labels, variable=var.name, order=var.order
        )
    return survival_subgroup_performance(
        y["time"], y["event"], pred, labels, variable=var.name, order=var.order
    )


def subgroup_section(
    kind: str,
    y: Any,
    predictions: Mapping[str, Any],
    variables: Sequence[SubgroupVariable],
    *,
    rows: str,
    classes: Sequence | None = None,
) -> dict[str, Any]:
    """The subgroup tables of every model in ``predictions`` (JSON-ready).

    ``kind``: ``binary`` (``y`` 0/1, predictions the probability of 1), ``multiclass``
    (``y`` labels, predictions an (n, k) array over ``classes``) or ``survival`` (``y``
    with ``time`` and ``event``, predictions a risk score, higher = earlier event).
    ``rows`` says which rows and predictions these are (written into the section).

    Returns ``{"kind", "rows", "rule", "variables": [{name, column, how}],
    "models": {model: [row, …]}, "notes": [...]}``.
    """
    from prom.validation.subgroups import RULE

    section: dict[str, Any] = {
        "kind": kind,
        "rows": rows,
        "rule": RULE,
        "variables": [{"name": v.name, "column": v.column, "how": v.how} for v in variables],
        "models": {},
        "notes": [],
    }
    usable = [v for v in variables if v.labels is not None]
    if not variables:
        section["notes"].append(
            "no subgroup column: the table has no sex, age_years or site column and none "
            "was named with --subgroups"
        )
    if kind == "multiclass":
        section["notes"].append("multiclass: each class against the rest (one-vs-rest), per group")
    for name, pred in predictions.items():
        tables = [_table(kind, y, pred, v, classes) for v in usable]
        frame = pd.concat(tables, ignore_index=True) if tables else pd.DataFrame()
        section["models"][name] = _records(frame)
    return to_jsonable(section)


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows as dicts with plain numbers, ``None`` for missing."""
    return [
        {k: (None if _missing(v) else v) for k, v in rec.items()}
        for rec in frame.astype(object).to_dict(orient="records")
    ]


def _missing(v: Any) -> bool:
    try:
        return bool(pd.isna(v))
    except (TypeError, ValueError):
        return False


def subgroups_of_rows(
    data: pd.DataFrame,
    index: pd.Index,
    kind: str,
    y: Any,
    predictions: Mapping[str, Any],
    *,
    rows: str,
    site_column: str | None = None,
    columns: Sequence[str] = (),
    classes: Sequence | None = None,
) -> dict[str, Any]:
    """:func:`subgroup_variables` of the rows ``index`` of ``data`` (the rows ``y`` and the
    predictions belong to, in that order), then :func:`subgroup_section` over them."""
    variables = subgroup_variables(data, index, site_column=site_column, columns=columns)
    return subgroup_section(kind, y, predictions, variables, rows=rows, classes=classes)


def evaluation_subgroups(
    entry: Any,
    models: Mapping[str, Any],
    X: pd.DataFrame,
    y: Any,
    data: pd.DataFrame,
    *,
    columns: Sequence[str] = (),
    describe: str | None = None,
) -> dict[str, Any]:
    """The subgroup section of a bundle's task on new rows (``prom evaluate``): the
    primary model and the baseline, as stored (before any recalibration), on the rows
    ``X`` (index into ``data``) with labels ``y`` as :meth:`TaskEntry.rows` gave them.

    ``describe`` is added to the section's account of the rows (e.g. whether they were
    development rows: apparent performance). The site grouping uses the column the fit
    used (``site`` for a survival task)."""
    kind = entry.kind
    names = [m for m in dict.fromkeys([entry.primary, entry.baseline]) if m and m in models]
    preds: dict[str, Any] = {}
    if kind == "survival":
        h = float(entry.horizon)
        for m in names:
            surv = models[m].predict_survival(X, [h]).to_numpy(dtype=float)[:, 0]
            preds[m] = 1.0 - surv
        yy: Any = y
        rows = f"the evaluation rows; risk by {h:g} {entry.time_unit} of the bundle's models"
        site: str | None = "site"
        classes = None
    else:
        classes = None if kind == "binary" else list(models[names[0]].classes_)
        for m in names:
            P = models[m].predict_proba(X)
            preds[m] = P[:, 1] if kind == "binary" else P
        yy = y.to_numpy(dtype=float) if kind == "binary" else y.astype(object).to_numpy()
        rows = "the evaluation rows; predictions of the bundle's models as stored"
        site = getattr(entry.settings, "site_column", None)
    if describe:
        rows += f"; {describe}"
    return subgroups_of_rows(
        data,
        X.index,
        kind,
        yy,
        preds,
        rows=rows,
        site_column=site,
        columns=columns,
        classes=classes,
    )
