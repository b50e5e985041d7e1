"""Which predictors a fit can use: a predictor is never dropped without a record.

:func:`screen_predictors` checks a task's predictors against its labelled rows before any
model sees them. What it does depends on who chose them:

- **named by the user** (``prom fit --predictors``, ``predictors=`` in
  :func:`prom.workflows.fit_task`; :attr:`Task.predictors_named <prom.outcomes.Task>`):
  a predictor that is not in the table is an error; one that is missing in every labelled
  row, constant (one distinct non-missing value), named more than once, identical in
  every labelled row to a predictor named before it, text holding dates, or text with a
  value of its own in most rows (an identifier, free text) is a :class:`PredictorError`
  naming it and saying why — or, with ``drop_unusable=True`` (``--drop-unusable``), an
  :class:`ExcludedPredictor` the bundle manifest and the report show;
- **the task's default candidates** (the registry's list, or for ``--target`` the
  contract's predictor columns present in the table): one that is not in the table or is
  missing in every labelled row is excluded, always with an :class:`ExcludedPredictor`
  record. A constant default candidate is kept; the shared preprocessing leaves out its
  constant design column and records that in the model state.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from prom.errors import MissingColumnError, PromError, format_values

__all__ = ["ExcludedPredictor", "PredictorError", "screen_predictors"]

#: What an error about named predictors tells the user to do.
_ADVICE = (
    "remove {it} from --predictors (predictors=) or pass --drop-unusable "
    "(drop_unusable=True) to record {its} exclusion"
)


class PredictorError(PromError, ValueError):
    """A predictor the user named cannot be used: missing in every labelled row, constant,
    named twice, or identical to another named predictor."""


@dataclass(frozen=True)
class ExcludedPredictor:
    """A candidate predictor left out of a fit, and why (``reason`` reads after "is")."""

    name: str
    reason: str

    def describe(self) -> str:
        """``"'bmi_kg_m2' (missing in all 812 labelled rows)"``."""
        return f"{self.name!r} ({self.reason})"

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "reason": self.reason}


def _rows(n: int) -> str:
    return f"all {n:,} labelled row{'s' if n != 1 else ''}"


def _value_key(col: pd.Series) -> np.ndarray:
    """A column's values in a form two columns are compared by: numbers (booleans as 0/1)
    as floats with NaN for missing, anything else as text with missing as ``None``."""
    if pd.api.types.is_numeric_dtype(col):
        return col.to_numpy(dtype=float, na_value=np.nan)
    return col.astype(str).where(col.notna(), None).to_numpy(dtype=object)


def _identical(a: np.ndarray, b: np.ndarray) -> bool:
    if a.dtype.kind != b.dtype.kind:  # numbers against text: never the same column
        return False
    return bool(np.array_equal(a, b, equal_nan=a.dtype.kind == "f"))


#: Text a date is written as: ISO (``2024-03-01``, with a time or not) or day/month/year
#: with dots, slashes or dashes (``01.03.2024``, ``3/1/24``).
_DATE = re.compile(
    r"\d{4}-\d{1,2}-\d{1,2}([ T]\d{1,2}:\d{2}(:\d{2}(\.\d+)?)?([+-]\d{2}:?\d{2}|Z)?)?"
    r"|\d{1,2}[./-]\d{1,2}[./-]\d{2,4}"
)
#: A text predictor with more distinct values than this share of its recorded rows (and
#: more than :data:`_MANY_VALUES`) is an identifier or free text, not a category.
_DISTINCT_SHARE = 0.5
_MANY_VALUES = 20


def _not_a_category(values: pd.Series, distinct: np.ndarray) -> str | None:
    """Why a named text predictor cannot be one: its values are dates, or nearly every
    row has a value of its own (an identifier, free text); None for a category."""
    if pd.api.types.is_numeric_dtype(values) or pd.api.types.is_bool_dtype(values):
        return None
    text = [str(v).strip() for v in distinct]
    shown = format_values(text[:3])
    dated = pd.api.types.is_datetime64_any_dtype(values)  # with a time zone or without
    if dated or sum(bool(_DATE.fullmatch(t)) for t in text) >= 0.9 * len(text):
        return (
            f"a date ({shown}, …): a date is not a predictor as such; derive a number from "
            "it (days from an index date, a year) and name that column"
        )
    many = len(text) > max(_MANY_VALUES, _DISTINCT_SHARE * len(values))
    if many and pd.to_numeric(pd.Series(text), errors="coerce").notna().mean() < 0.9:
        return (
            f"text with {len(text):,} distinct values in {len(values):,} recorded rows "
            f"({shown}, …): an identifier or free text, not a category; recode it into a "
            "few categories"
        )
    return None


def _usability(X: pd.DataFrame, names: Sequence[str], check_values: bool) -> dict[str, str]:
    """Why each unusable predictor of ``X`` cannot be used (name → reason): missing in
    every row; and with ``check_values`` constant, dates, an identifier or free text
    (:func:`_not_a_category`), or identical to an earlier one."""
    n = len(X)
    out: dict[str, str] = {}
    if n == 0:  # no labelled rows: the fit says so; nothing to judge a predictor by
        return out
    kept: list[tuple[str, np.ndarray]] = []
    for name in names:
        col = X[name]
        present = col.notna()
        if not present.any():
            out[name] = f"missing in {_rows(n)}"
            continue
        if not check_values:
            continue
        values = col[present]
        distinct = pd.unique(values.astype(object))
        if len(distinct) == 1:
            n_miss = int((~present).sum())
            where = _rows(n)
            if n_miss:
                where = (
                    f"the {n - n_miss:,} labelled rows where it is recorded ({n_miss:,} missing)"
                )
            out[name] = f"constant: one value ({format_values(list(distinct))}) in {where}"
            continue
        kind = _not_a_category(values, distinct)
        if kind:
            out[name] = kind
            continue
        key = _value_key(col)
        twin = next((other for other, k in kept if _identical(key, k)), None)
        if twin is not None:
            out[name] = f"identical to {twin!r} in {_rows(n)}"
            continue
        kept.append((name, key))
    return out


def screen_predictors(
    data: pd.DataFrame,
    rows: np.ndarray,
    candidates: Sequence[str],
    *,
    named: bool,
    drop_unusable: bool = False,
    task_name: str = "",
) -> tuple[list[str], tuple[ExcludedPredictor, ...]]:
    """The predictors of ``candidates`` a fit uses, and those it leaves out (see the
    module docstring).

    ``data`` holds the candidates (derived columns already added), ``rows`` is the boolean
    mask of the task's labelled rows. Returns the usable names in their given order and
    one :class:`ExcludedPredictor` per name left out.

    Raises
    ------
    MissingColumnError  a named predictor is not in the table
    PredictorError      a named predictor cannot be used and ``drop_unusable`` is False
    """
    task = f"task {task_name}: " if task_name else ""
    excluded: list[ExcludedPredictor] = []
    problems: list[str] = []
    seen: list[str] = []
    for name in candidates:
        if name in seen:
            if not drop_unusable:
                problems.append(f"predictor {name!r} is named more than once")
            elif not any(e.name == name for e in excluded):
                excluded.append(ExcludedPredictor(name, "named more than once; used once"))
            continue
        seen.append(name)
    absent = [c for c in seen if c not in data.columns]
    if absent and named:
        hints = {
            c: difflib.get_close_matches(c, [str(x) for x in data.columns], n=1) for c in absent
        }
        shown = ", ".join(
            f"{c!r}" + (f" (did you mean {h[0]!r}?)" if h else "") for c, h in hints.items()
        )
        quoted = any("," in h[0] for h in hints.values() if h)
        raise MissingColumnError(
            f"{task}predictor(s) {shown} named in --predictors (predictors=) not in the "
            "table; check the names, or map your columns onto the contract (--mapping)"
            + (
                "; on the command line a name holding a comma goes in double quotes: "
                "--predictors 'age,\"pain, baseline\"'"
                if quoted
                else ""
            )
        )
    excluded += [ExcludedPredictor(c, "not in the table") for c in absent]
    present = [c for c in seen if c in data.columns]
    X = data.loc[rows, present]
    reasons = _usability(X, present, check_values=named)
    if named and not drop_unusable:
        problems += [f"predictor {c!r} is {r}" for c, r in reasons.items()]
    if problems:
        many = len(problems) > 1
        advice = _ADVICE.format(it="them" if many else "it", its="their" if many else "its")
        raise PredictorError(f"{task}" + "; ".join(problems) + f"; {advice}")
    excluded += [ExcludedPredictor(c, r) for c, r in reasons.items()]
    usable = [c for c in present if c not in reasons]
    return usable, tuple(excluded)
