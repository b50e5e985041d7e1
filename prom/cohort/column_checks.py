"""The contract's checks of one column: which rows break which rule, and what was seen.

Shared by table validation (:func:`prom.cohort.validate.validate_cohort`, which reports the
first rows of each problem) and bulk scoring (:func:`prom.score.checks.check_rows`, which
quarantines every offending row), so that ``prom validate`` and ``prom score`` judge a
value alike. :func:`check_column` parses the column once (:mod:`prom.cohort.parsing`),
reports each problem through a callback and returns the parsed column, from which the
good rows are converted without parsing again.

Checks reported (names as in :data:`prom.cohort.validate.CHECKS`): ``missing_value``,
``category``, ``type``, ``coercible_type``, ``duplicate_id`` (``id`` columns only),
``not_integer`` and ``out_of_range``.

A row with nothing in it (:func:`empty_rows`: every cell missing or blank — the line of
delimiters only, ``;;;;;``, that a spreadsheet writes for a row that once held a value or
a format) is one problem of the row, ``empty_row``, instead of a ``missing_value`` in
every required column.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Collection, Sequence
from typing import Any

import numpy as np
import pandas as pd

from prom.cohort.contract import ColumnSpec
from prom.cohort.parsing import Parsed, object_view, parse_column

__all__ = [
    "AddProblem",
    "check_column",
    "suggest_category",
    "distinct_values",
    "empty_rows",
    "EMPTY_ROW",
    "unknown_expected",
    "NUMBERS_AS_TEXT",
    "VALUE_LIMIT",
]

#: Why a number column's numbers are text when some of its values are not numbers: a
#: CSV file has no types, and the reader keeps such a column as text.
NUMBERS_AS_TEXT = (
    "; these are numbers, kept as text only because the column also holds the values of "
    "its 'type' problem: correct those and, in a CSV file, these read as numbers"
)

#: Most distinct offending values a problem reports.
VALUE_LIMIT = 5

#: ``add(column, check, positions, values, expected)``: receives one problem of a column.
#: ``positions`` are the offending rows' 0-based positions (None for a problem of the
#: whole column), ``values`` what they hold (row-aligned with ``positions``, or empty when
#: there is nothing to show), ``expected`` what a valid value looks like.
AddProblem = Callable[[str, str, np.ndarray | None, Any, str], None]

#: What an ``empty_row`` problem expects.
EMPTY_ROW = (
    "a row with values; this one has none (a line of delimiters only, as a spreadsheet "
    "writes for a row once used): remove it"
)


def empty_rows(frame: pd.DataFrame, ignore: Collection[str] = ()) -> np.ndarray:
    """Which rows of ``frame`` hold nothing: every cell missing as the contract's checks
    see it (:func:`~prom.cohort.parsing.object_view`: NaN, None, ``pd.NA``, text of nothing
    but spaces). The columns named in ``ignore`` are not looked at (columns computed from
    the others, such as the scores and their reasons). Among fewer than two columns no row
    is called empty (a lone missing cell is a missing value, and a CSV file's blank line is
    no row at all)."""
    skip = set(ignore)
    looked = [j for j, c in enumerate(frame.columns) if c not in skip]
    if len(looked) < 2:
        return np.zeros(len(frame), dtype=bool)
    empty = np.ones(len(frame), dtype=bool)
    for j in looked:
        s = frame.iloc[:, j]
        empty &= object_view(s)[1] if s.dtype == object else s.isna().to_numpy()
        if not empty.any():
            break
    return empty


def unknown_expected(name: str, declared: Sequence[str], column: pd.Series) -> str:
    """The ``expected`` text of an ``unknown_column`` problem: what a column may be, the
    declared name it is close to, and, for a column without a name in the header and
    without a value (``Unnamed: 154``), where it comes from."""
    text = (
        "a declared column, an img_* imaging feature, or a PROM scoring column "
        "(<column>_reason, <column>_band, <instrument>_version)"
    )
    close = difflib.get_close_matches(name.lower(), list(declared), n=1, cutoff=0.75)
    if close:
        text += f"; did you mean {close[0]!r}?"
    if name.startswith("Unnamed: ") and bool(column.isna().all()):
        text += (
            "; this column has no name in the header and no value in any row: the lines end "
            "with a delimiter (an export setting); remove the trailing delimiters"
        )
    return text


def check_column(
    s: pd.Series, spec: ColumnSpec, add: AddProblem, expected: str | None = None
) -> Parsed:
    """Run every check that applies to one declared column; returns the column as parsed
    for the checks (bulk scoring converts the good rows from it instead of parsing again)."""
    expected = spec.expected() if expected is None else expected
    parsed = parse_column(s, spec)
    obj = None  # object view of the column, made only when values must be reported

    def raw(mask: np.ndarray) -> np.ndarray:
        nonlocal obj
        if obj is None:
            obj = s.to_numpy(dtype=object)
        return obj[mask]

    if not spec.nullable and parsed.missing.any():
        add(spec.name, "missing_value", np.flatnonzero(parsed.missing), [], expected)
    if parsed.bad.any():
        if spec.dtype == "category":
            add(
                spec.name,
                "category",
                np.flatnonzero(parsed.bad),
                raw(parsed.bad),
                expected + suggest_category(raw(parsed.bad), spec.categories or ()),
            )
        else:
            add(spec.name, "type", np.flatnonzero(parsed.bad), raw(parsed.bad), expected)
    if parsed.coercible.any():
        text_because = spec.dtype in ("float", "int") and parsed.bad.any()
        add(
            spec.name,
            "coercible_type",
            np.flatnonzero(parsed.coercible),
            raw(parsed.coercible),
            expected + (NUMBERS_AS_TEXT if text_because else ""),
        )
    if spec.role == "id":
        values = parsed.values
        present = ~parsed.missing & ~parsed.bad
        dup = np.zeros(len(s), dtype=bool)
        dup[present] = pd.Series(values[present]).duplicated(keep=False).to_numpy()
        if dup.any():
            add(
                spec.name,
                "duplicate_id",
                np.flatnonzero(dup),
                values[dup],
                "a unique " + expected[2:] if expected.startswith("a ") else expected,
            )
    if spec.dtype in ("float", "int"):
        v = parsed.values
        with np.errstate(invalid="ignore"):
            out = np.zeros(len(v), dtype=bool)
            if spec.low is not None:
                out |= v < spec.low
            if spec.high is not None:
                out |= v > spec.high
            frac = (~out & np.isfinite(v) & (v != np.round(v))) if spec.dtype == "int" else None
        if frac is not None and frac.any():
            add(spec.name, "not_integer", np.flatnonzero(frac), v[frac], expected)
        if out.any():
            add(spec.name, "out_of_range", np.flatnonzero(out), v[out], expected)
    return parsed


def suggest_category(bad_values: np.ndarray, categories: Sequence[str]) -> str:
    """'' or ' (did you mean 'male' for 'Male'?)'."""

    def norm(x: str) -> str:
        return x.strip().lower().replace("-", "_").replace(" ", "_").replace("/", "_")

    by_norm = {norm(c): c for c in categories}
    hints: list[str] = []
    for u in distinct_values(bad_values, limit=VALUE_LIMIT):
        if not isinstance(u, str):
            continue
        match = by_norm.get(norm(u))
        if match is None:
            close = difflib.get_close_matches(norm(u), list(by_norm), n=1, cutoff=0.75)
            match = by_norm[close[0]] if close else None
        if match is not None:
            hints.append(f"{match!r} for {u!r}")
    return f" (did you mean {', '.join(hints)}?)" if hints else ""


def distinct_values(values: Any, limit: int = VALUE_LIMIT) -> list[Any]:
    """Up to ``limit`` distinct values as plain Python objects, sorted where possible."""
    arr = np.asarray(values, dtype=object) if not isinstance(values, np.ndarray) else values
    if arr.size == 0:
        return []
    if arr.dtype.kind == "f":
        floats = np.unique(arr[~np.isnan(arr)]) if np.isnan(arr).any() else np.unique(arr)
        return floats[:limit].tolist()
    u: list[Any]
    try:
        u = list(pd.unique(arr))
    except TypeError:  # unhashable objects: report their text
        u = list(dict.fromkeys(repr(x) for x in arr[: 10 * limit]))
    if len(u) <= 10_000:
        try:
            u = sorted(u, key=lambda x: (type(x).__name__, x))
        except TypeError:
            u = sorted(u, key=lambda x: (type(x).__name__, repr(x)))
    return [x.item() if isinstance(x, np.generic) else x for x in u[:limit]]
