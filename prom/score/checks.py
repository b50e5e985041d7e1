"""Row-level contract checks for bulk scoring: which rows are bad, and why.

The checks are the cohort contract's own (:mod:`prom.cohort.column_checks`, the ones
:mod:`prom.cohort.validate` runs: missing value where the contract forbids it, wrong kind
of value, fraction in an integer column, out of range, category not declared), applied
column by column to one batch, with every offending row kept —
:func:`~prom.cohort.validate.validate_cohort` reports at most 20 rows per problem, which
suits a person reading a report but not a quarantine file that must name every row.
Values that convert without loss (``"42"`` in a numeric column of a CSV chunk, ``"yes"``
in a bool column) are accepted and converted, as in lenient validation.

Duplicated ids are found over the whole input, not per batch, in one pass over the id
column before scoring: :func:`id_hashes` gives 64-bit hashes of the normalised ids,
:func:`duplicated_hashes` the ones seen more than once, and :func:`find_duplicates` the
input rows that carry them (:class:`DuplicateIds`). Every such row is quarantined (all
copies: which one is right cannot be known). Scoring looks the rows up by position and
confirms each one's id hash, so the ids of the other rows are not hashed twice.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

# The contract's own parsers and per-column checks (quarantining with a copy of them
# would let the bulk scorer and `prom validate` drift apart).
from prom.cohort.column_checks import check_column, suggest_category
from prom.cohort.contract import extra_imaging_spec
from prom.cohort.parsing import as_text, parse_bool, parse_category, parse_numeric, parse_text

__all__ = [
    "PROBLEM_FIELDS",
    "check_rows",
    "coerce_columns",
    "spec_for",
    "check_ids",
    "id_hashes",
    "duplicated_hashes",
    "DuplicateIds",
    "find_duplicates",
]

#: Columns of a quarantine record (``row`` is added by the caller).
PROBLEM_FIELDS = ("position", "column", "check", "value", "expected")

#: Contract checks that do not make a row bad (the value converts without loss).
_ACCEPTED = frozenset({"coercible_type"})


def spec_for(name: str):
    """The contract's declaration of ``name`` (``img_*`` extras: a float feature), or None
    for a column the contract does not declare (a user-defined task's own predictor: read
    as given, with nothing to check it against)."""
    from prom.cohort.contract import COHORT_CONTRACT

    if name in COHORT_CONTRACT:
        return COHORT_CONTRACT[name]
    if name.startswith("img_"):
        return extra_imaging_spec(name)
    return None


def _each_suggestion(values: list, spec) -> list[str]:
    """The expected text of each quarantined category value, with the suggestion for that
    value only (``one of female, male (did you mean 'male' for 'Male'?)``)."""
    base, cats, seen = spec.expected(), spec.categories or (), {}
    out = []
    for v in values:
        key = repr(v)
        if key not in seen:
            seen[key] = base + suggest_category(np.array([v], dtype=object), cats)
        out.append(seen[key])
    return out


def check_rows(frame: pd.DataFrame, columns, parsed: dict | None = None) -> pd.DataFrame:
    """Every (row, column) problem of ``columns`` in ``frame``, one record per offending cell.

    Returns a DataFrame with :data:`PROBLEM_FIELDS` (``position`` is the 0-based row
    position in ``frame``), ordered by position, then by the order of ``columns``. The id
    column's duplicates are not checked here (see :func:`duplicated_hashes`). ``parsed``,
    when given, receives each checked column as the checks parsed it (for
    :func:`coerce_columns`, so that a column is parsed once).
    """
    found: list[pd.DataFrame] = []
    for name in columns:
        spec = spec_for(name)
        if spec is None:
            continue
        if spec.role == "id":  # duplicates are judged over the whole input, not a batch
            spec = dataclasses.replace(spec, role="context")

        def add(column, check, positions, values, expected, spec=spec):
            if check in _ACCEPTED or positions is None:
                return
            vals = list(values) if len(values) == len(positions) else [None] * len(positions)
            if check == "category":  # each row's own suggestion, not the column's
                expected = _each_suggestion(vals, spec)
            found.append(
                pd.DataFrame(
                    {
                        "position": np.asarray(positions, dtype=np.int64),
                        "column": column,
                        "check": check,
                        "value": [_text(v) for v in vals],
                        "expected": expected,
                    }
                )
            )

        p = check_column(frame[name], spec, add)
        if parsed is not None:
            parsed[name] = p
    if not found:
        return pd.DataFrame(
            {f: pd.Series(dtype=np.int64 if f == "position" else object) for f in PROBLEM_FIELDS}
        )
    order = {c: i for i, c in enumerate(columns)}
    out = pd.concat(found, ignore_index=True)
    out["_c"] = out["column"].map(order)
    return (
        out.sort_values(["position", "_c"], kind="stable").drop(columns="_c").reset_index(drop=True)
    )


def _text(v) -> str:
    if v is None or (isinstance(v, float) and np.isnan(v)):
        return ""
    if isinstance(v, float):
        return f"{v:.10g}"
    return str(v)


def coerce_columns(frame: pd.DataFrame, columns, parsed: dict | None = None) -> pd.DataFrame:
    """``frame`` with ``columns`` in the types the models expect (a new frame).

    Numeric and bool columns become float64 (NaN for missing; bool as 0/1), category
    columns pandas ``Categorical`` over the declared categories (missing or blank text
    missing), text columns ``str``. Run on
    rows that passed :func:`check_rows`: values that are bad there become missing here.
    ``parsed``: the columns as :func:`check_rows` parsed them (not parsed again).
    """
    out = frame.copy(deep=False)
    parsed = parsed or {}
    for name in columns:
        spec = spec_for(name)
        s = frame[name]
        if spec is None:
            continue
        p = parsed.get(name)
        if spec.dtype in ("float", "int"):
            if p is not None or s.dtype != np.float64:
                out[name] = (p or parse_numeric(s)).values
        elif spec.dtype == "bool":
            if p is not None or s.dtype != np.float64:
                out[name] = (p or parse_bool(s)).values
        elif spec.dtype == "category":
            p = p or parse_category(s, spec)
            out[name] = (
                p.values
                if p.codes is None
                # codes: no per-value work
                else pd.Categorical.from_codes(p.codes, categories=list(spec.categories))
            )
        else:
            p = p or parse_text(s)
            arr = (
                p.values
                if p.values.dtype == object and not p.coercible.any()
                else as_text(s).to_numpy(dtype=object)
            )
            out[name] = arr
    return out


def check_ids(s: pd.Series) -> tuple[np.ndarray, pd.DataFrame]:
    """``(ids, problems)``: the ids as the contract reads them (text, stripped; ``None``
    where missing or not text) and their problems (missing, wrong kind), parsed once."""
    spec = spec_for(s.name)
    p = parse_text(s)
    ids = p.values if not p.coercible.any() else as_text(s).to_numpy(dtype=object)
    ids = ids.copy()
    ids[p.missing | p.bad] = None
    found = []
    for check, mask in (
        ("missing_value", p.missing if not spec.nullable else None),
        ("type", p.bad),
    ):
        if mask is not None and mask.any():
            pos = np.flatnonzero(mask)
            values = s.to_numpy(dtype=object)[pos] if check == "type" else [None] * pos.size
            found.append(
                pd.DataFrame(
                    {
                        "position": pos.astype(np.int64),
                        "column": s.name,
                        "check": check,
                        "value": [_text(v) for v in values],
                        "expected": spec.expected(),
                    }
                )
            )
    problems = (
        pd.concat(found, ignore_index=True)
        .sort_values("position", kind="stable")
        .reset_index(drop=True)
        if found
        else check_rows(s.to_frame().iloc[:0], [])
    )
    return ids, problems


def id_hashes(ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(hashes, present)``: 64-bit hashes of normalised ids (:func:`check_ids`) and
    where an id exists.

    Two different ids share a hash with probability about ``n² / 2⁶⁵`` (≈ 3e-6 for ten
    million rows); such a pair would be quarantined as duplicates.
    """
    present = pd.notna(ids).astype(bool) if ids.size else np.zeros(0, dtype=bool)
    h = np.zeros(ids.size, dtype=np.uint64)
    if present.any():
        # categorize=False: hash each id directly (the default factorizes first, which
        # only pays when values repeat; ids mostly do not). Same hash values either way.
        h[present] = pd.util.hash_array(ids[present].astype(object), categorize=False)
    return h, present


def duplicated_hashes(hashes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(values, counts)`` of the hashes that occur more than once, sorted."""
    if hashes.size == 0:
        return np.zeros(0, dtype=np.uint64), np.zeros(0, dtype=np.int64)
    values, counts = np.unique(hashes, return_counts=True)
    many = counts > 1
    return values[many], counts[many]


@dataclass(frozen=True)
class DuplicateIds:
    """The input rows whose id is used on more than one row (plain data, for Dask too)."""

    rows: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    """0-based input row positions, ascending."""
    counts: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    """Per row: how many rows of the input carry its id."""
    hashes: np.ndarray = field(default_factory=lambda: np.zeros(0, np.uint64))
    """Per row: its id's hash (:func:`id_hashes`), confirmed when the row is scored."""

    def within(self, first: int, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(positions within the batch, counts, hashes)`` of the batch of ``n`` rows
        starting at input row ``first``."""
        lo, hi = np.searchsorted(self.rows, [first, first + n])
        return self.rows[lo:hi] - first, self.counts[lo:hi], self.hashes[lo:hi]


def find_duplicates(hashes: np.ndarray, present: np.ndarray) -> DuplicateIds:
    """:class:`DuplicateIds` of a whole input from its rows' :func:`id_hashes`."""
    values, counts = duplicated_hashes(hashes[present])
    if not values.size:
        return DuplicateIds()
    at = np.minimum(np.searchsorted(values, hashes), values.size - 1)
    rows = np.flatnonzero(present & (values[at] == hashes))
    return DuplicateIds(rows.astype(np.int64), counts[at[rows]].astype(np.int64), hashes[rows])
