"""What "outside the training data" means: one predictor's training summary and its checks.

:class:`~prom.models.preprocess.Preprocessor` records, for every input column, a summary
of its training rows (``training_ranges_``; a model bundle keeps it in each model's state
and the union over the models in the manifest's ``feature_schema``). This module is

- its typed, frozen view: :class:`NumericRange` (``min``, ``max``, ``p01``, ``p99``,
  ``median``, ``missing_fraction`` and the :class:`Distribution` drift checks compare
  against) and :class:`CategoricalRange` (``categories``, ``frequencies``,
  ``missing_fraction``), read from the stored dicts with :func:`training_range` (or a
  class's ``from_dict``) and written back with ``to_dict`` — the same dict, key order
  included, so JSON written from it is byte for byte what the Preprocessor writes
  (a fitted Preprocessor's :meth:`~prom.models.preprocess.Preprocessor.training_summaries`
  reads its own once);
- the one definition of the checks the calculator (one value, :meth:`TrainingRange.check`)
  and the bulk scorer (a column at a time, :meth:`TrainingRange.findings`) make:

  =====================  =============================================  ===================
  :class:`Finding`       when                                           scorer's flag
  =====================  =============================================  ===================
  ``BELOW``              a number below the training minimum            ``<col><min``
  ``ABOVE``              a number above the training maximum            ``<col>>max``
  ``UNSEEN``             a category level no training row had           ``<col>:unseen``
  ``MISSING``            missing where no training row was missing      ``<col>:missing``
  =====================  =============================================  ===================

  and, separately (:meth:`NumericRange.tail_findings`; the value is *inside* the training
  range, so the model has seen such values, but fewer than 1 in 100 training rows did):

  =====================  =============================================  ===================
  ``LOW_TAIL``           at or above the minimum, below the 1st pct     ``<col><p01``
  ``HIGH_TAIL``          at or below the maximum, above the 99th pct    ``<col>>p99``
  =====================  =============================================  ===================

A numeric column missing in every training row has no range (``min`` is ``None``) and
gives no finding. Category levels match as the model codes them — Python equality and
hashing (as :func:`prom.models.columns.level_codes` codes a column: ``1`` and ``1.0``
are one level) — and a missing value is ``None`` or ``NaN``. Summaries saved before the
distribution was recorded have no ``mean``/``sd``/``bin_edges``/``bin_frequencies`` keys
(``NumericRange.distribution`` is ``None``) and are written back without them.
"""

from __future__ import annotations

import enum
import functools
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import pandas as pd

__all__ = [
    "Finding",
    "Distribution",
    "TrainingRange",
    "NumericRange",
    "CategoricalRange",
    "training_range",
    "read_training_ranges",
    "median_of",
    "DRIFT_QUANTILES",
    "Level",
]

#: Interior cut points of the training distribution summary: the deciles.
DRIFT_QUANTILES = tuple(np.round(np.arange(0.1, 1.0, 0.1), 1))

#: A category level as a bundle stores it (a plain JSON scalar).
Level = str | int | float | bool

_NUMERIC_KEYS = ("kind", "min", "max", "p01", "p99", "median", "missing_fraction")
_DISTRIBUTION_KEYS = ("mean", "sd", "bin_edges", "bin_frequencies")
_CATEGORICAL_KEYS = ("kind", "categories", "frequencies", "missing_fraction")
_KEY_SETS: dict[tuple[str, ...], frozenset[str]] = {
    keys: frozenset(keys)
    for keys in (_NUMERIC_KEYS, _NUMERIC_KEYS + _DISTRIBUTION_KEYS, _CATEGORICAL_KEYS)
}


class Finding(enum.Enum):
    """How a value lies outside the training data; the value is the scorer's flag suffix."""

    BELOW = "<min"
    ABOVE = ">max"
    UNSEEN = ":unseen"
    MISSING = ":missing"
    LOW_TAIL = "<p01"
    HIGH_TAIL = ">p99"

    def flag(self, column: str) -> str:
        """The bulk scorer's flag: ``'age_years>max'``, ``'smoking:unseen'``, …"""
        return f"{column}{self.value}"


def _where(column: str | None) -> str:
    return f"training summary of {column!r}" if column else "training summary"


def _keys(data: Mapping[str, Any], required: tuple[str, ...], column: str | None) -> None:
    """Refuse a summary without exactly the keys ``required``."""
    if data.keys() == _KEY_SETS[required]:
        return
    absent = [k for k in required if k not in data]
    if absent:
        raise ValueError(
            f"{_where(column)} ({data.get('kind')}) has no {', '.join(map(repr, absent))}; "
            f"expected the keys {', '.join(required)}"
        )
    unknown = [k for k in data if k not in required]
    raise ValueError(
        f"{_where(column)} ({data.get('kind')}) has unknown key(s) {', '.join(map(repr, unknown))}"
    )


def _is_number(v: Any) -> bool:
    return type(v) is float or (isinstance(v, (int, float)) and not isinstance(v, bool))


def _number(data: Mapping[str, Any], key: str, column: str | None) -> float | None:
    v = data[key]
    if v is None:
        return None
    if not _is_number(v):
        raise TypeError(f"{_where(column)}: {key} is {v!r}; expected a number or null")
    return float(v)


def _numbers(data: Mapping[str, Any], key: str, column: str | None) -> tuple[float, ...]:
    v = data[key]
    if not isinstance(v, (list, tuple)) or not all(map(_is_number, v)):
        raise TypeError(f"{_where(column)}: {key} is {v!r}; expected a list of numbers")
    return tuple(map(float, v))


def _fraction(data: Mapping[str, Any], key: str, column: str | None) -> float:
    v = _number(data, key, column)
    if v is None or not 0 <= v <= 1:
        raise ValueError(f"{_where(column)}: {key} is {data[key]!r}; expected a fraction in [0, 1]")
    return v


@dataclass(frozen=True)
class Distribution:
    """Mean, SD (``ddof=1``) and decile bins of a numeric column's observed training values.

    ``bin_edges`` are the distinct deciles ``e_1 < … < e_m``; bin ``j`` holds values in
    ``(e_j, e_{j+1}]`` (first bin ``≤ e_1``, last ``> e_m``). ``bin_frequencies`` are
    fractions of all training rows, so with ``missing_fraction`` they sum to 1. Bulk
    scoring (:mod:`prom.score.drift`) compares a scored cohort with these (PSI,
    standardised difference) without needing the training rows. ``mean`` and ``sd`` are
    ``None`` (and the bins empty) for a column missing in every training row.
    """

    mean: float | None
    sd: float | None
    bin_edges: tuple[float, ...]
    bin_frequencies: tuple[float, ...]

    @classmethod
    def of(cls, observed: np.ndarray, n_rows: int) -> Distribution:
        """The summary of the non-missing training values ``observed`` out of ``n_rows``."""
        edges = np.unique(np.quantile(observed, DRIFT_QUANTILES))
        counts = np.bincount(
            np.searchsorted(edges, observed, side="left"), minlength=edges.size + 1
        )
        return cls(
            mean=float(observed.mean()),
            sd=float(observed.std(ddof=1)) if observed.size > 1 else 0.0,
            bin_edges=tuple(float(e) for e in edges),
            bin_frequencies=tuple(float(k) / n_rows for k in counts),
        )


class TrainingRange:
    """One predictor's training summary (:class:`NumericRange` or :class:`CategoricalRange`)."""

    kind: ClassVar[str]
    missing_fraction: float

    def to_dict(self) -> dict[str, Any]:
        """The summary as the Preprocessor records it (plain JSON data)."""
        raise NotImplementedError

    def findings(self, column: np.ndarray) -> dict[Finding, np.ndarray]:
        """Per finding the mask of the rows of ``column`` it applies to (vectorised).

        ``column``: float64 values with ``NaN`` for missing (numeric) or level codes —
        index into ``categories``, -1 a value that is no level, -2 missing (categorical;
        :meth:`prom.models.columns.ColumnCache.codes`). Only the findings that can apply
        are returned, in the order ``BELOW``, ``ABOVE``, ``UNSEEN``, ``MISSING``.
        """
        raise NotImplementedError

    def as_column(self, value: Any) -> np.ndarray:
        """One value (``None`` for missing) as the one-row column :meth:`findings` reads."""
        raise NotImplementedError

    def check(self, value: Any) -> Finding | None:
        """How one value (``None`` for missing) lies outside the training data, if it does."""
        for finding, rows in self.findings(self.as_column(value)).items():
            if rows[0]:
                return finding
        return None


def median_of(values: np.ndarray) -> float | None:
    """The median of the non-missing values, ``None`` when all are missing: the
    ``median`` a :class:`NumericRange` records and the value a preprocessor imputes."""
    obs = values[~np.isnan(values)]
    return float(np.median(obs)) if obs.size else None


@dataclass(frozen=True)
class NumericRange(TrainingRange):
    """A numeric predictor's training summary (see the module docstring).

    ``min``, ``max``, ``p01``, ``p99`` and ``median`` of the observed training values
    (``None`` when every training value was missing); ``missing_fraction`` of the training
    rows; ``distribution``: ``None`` for a summary saved before it was recorded.
    """

    min: float | None
    max: float | None
    p01: float | None
    p99: float | None
    median: float | None
    missing_fraction: float
    distribution: Distribution | None = None

    kind: ClassVar[str] = "numeric"

    @classmethod
    def summarise(cls, values: np.ndarray) -> NumericRange:
        """The summary of a column's training values (float64, ``NaN`` for missing)."""
        miss = np.isnan(values)
        obs = values[~miss]
        if obs.size == 0:
            return cls(None, None, None, None, None, 1.0, Distribution(None, None, (), ()))
        p01, p99 = np.quantile(obs, [0.01, 0.99])
        return cls(
            min=float(obs.min()),
            max=float(obs.max()),
            p01=float(p01),
            p99=float(p99),
            median=median_of(obs),
            missing_fraction=float(miss.mean()),
            distribution=Distribution.of(obs, values.size),
        )

    @property
    def is_empty(self) -> bool:
        """Missing in every training row: no range, nothing to check against."""
        return self.min is None or self.max is None

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], column: str | None = None) -> NumericRange:
        """The view of a stored summary (``column`` names it in error messages)."""
        present = not data.keys().isdisjoint(_DISTRIBUTION_KEYS)  # all four, or none
        _keys(data, _NUMERIC_KEYS + _DISTRIBUTION_KEYS if present else _NUMERIC_KEYS, column)
        distribution = None
        if present:
            distribution = Distribution(
                mean=_number(data, "mean", column),
                sd=_number(data, "sd", column),
                bin_edges=_numbers(data, "bin_edges", column),
                bin_frequencies=_numbers(data, "bin_frequencies", column),
            )
        return cls(
            min=_number(data, "min", column),
            max=_number(data, "max", column),
            p01=_number(data, "p01", column),
            p99=_number(data, "p99", column),
            median=_number(data, "median", column),
            missing_fraction=_fraction(data, "missing_fraction", column),
            distribution=distribution,
        )

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "kind": self.kind,
            "min": self.min,
            "max": self.max,
            "p01": self.p01,
            "p99": self.p99,
            "median": self.median,
            "missing_fraction": self.missing_fraction,
        }
        if self.distribution is not None:
            d = self.distribution
            out.update(
                mean=d.mean,
                sd=d.sd,
                bin_edges=list(d.bin_edges),
                bin_frequencies=list(d.bin_frequencies),
            )
        return out

    def findings(self, column: np.ndarray) -> dict[Finding, np.ndarray]:
        if self.min is None or self.max is None:
            return {}
        with np.errstate(invalid="ignore"):
            out = {Finding.BELOW: column < self.min, Finding.ABOVE: column > self.max}
        if self.missing_fraction == 0:
            out[Finding.MISSING] = np.isnan(column)
        return out

    def as_column(self, value: Any) -> np.ndarray:
        return np.array([np.nan if value is None else float(value)], dtype=np.float64)

    def check(self, value: Any) -> Finding | None:
        # one value: the comparisons of findings() on a Python float (the same IEEE
        # comparisons as on a one-row float64 column; NaN compares false), without arrays
        if self.min is None or self.max is None:
            return None
        x = np.nan if value is None else float(value)
        if x < self.min:
            return Finding.BELOW
        if x > self.max:
            return Finding.ABOVE
        if self.missing_fraction == 0 and x != x:
            return Finding.MISSING
        return None

    def tail_findings(self, column: np.ndarray) -> dict[Finding, np.ndarray]:
        """``LOW_TAIL``/``HIGH_TAIL`` masks: rows within ``[min, max]`` but below ``p01`` or
        above ``p99`` (strictly). Kept apart from :meth:`findings` because a tail value is
        no extrapolation — 2% of the training rows themselves lie there — yet a value
        that rare deserves a second look (e.g. a feature measured on another scale)."""
        if self.is_empty or self.p01 is None or self.p99 is None:
            return {}
        with np.errstate(invalid="ignore"):
            return {
                Finding.LOW_TAIL: (column < self.p01) & (column >= self.min),
                Finding.HIGH_TAIL: (column > self.p99) & (column <= self.max),
            }

    def tail(self, value: Any) -> Finding | None:
        """``LOW_TAIL``/``HIGH_TAIL`` for one value (``None`` for missing) in a training
        tail, else ``None`` (also for a value outside the range: :meth:`check` says so)."""
        # as tail_findings() on a one-row column, on a Python float (see check())
        if self.is_empty or self.p01 is None or self.p99 is None:
            return None
        x = np.nan if value is None else float(value)
        if self.min <= x < self.p01:  # type: ignore[operator]
            return Finding.LOW_TAIL
        if self.p99 < x <= self.max:  # type: ignore[operator]
            return Finding.HIGH_TAIL
        return None


@dataclass(frozen=True)
class CategoricalRange(TrainingRange):
    """A categorical predictor's training summary (see the module docstring).

    ``categories``: the training levels in the model's order; ``frequencies``: fraction
    of the training rows per level, keyed by ``str(level)`` (a read-only mapping);
    ``missing_fraction``.
    """

    categories: tuple[Level, ...]
    frequencies: Mapping[str, float]
    missing_fraction: float

    kind: ClassVar[str] = "categorical"

    def __post_init__(self) -> None:
        # own copies: the view does not change when the dicts it was read from do
        object.__setattr__(self, "categories", tuple(self.categories))
        object.__setattr__(self, "frequencies", dict(self.frequencies))

    @property
    def most_frequent(self) -> Level | None:
        """The level the most training rows had (the first of ties); ``None`` if none."""
        if not self.categories:
            return None
        freqs = [self.frequencies[str(k)] for k in self.categories]
        return self.categories[int(np.argmax(freqs))]

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], column: str | None = None) -> CategoricalRange:
        """The view of a stored summary (``column`` names it in error messages)."""
        _keys(data, _CATEGORICAL_KEYS, column)
        categories = data["categories"]
        if not isinstance(categories, (list, tuple)) or not all(
            isinstance(c, (str, int, float, bool)) for c in categories
        ):
            raise TypeError(
                f"{_where(column)}: categories is {categories!r}; expected a list of levels "
                "(strings, numbers or booleans)"
            )
        freqs = data["frequencies"]
        if not isinstance(freqs, Mapping) or not all(
            isinstance(k, str) and isinstance(v, (int, float)) and not isinstance(v, bool)
            for k, v in freqs.items()
        ):
            raise TypeError(
                f"{_where(column)}: frequencies is {freqs!r}; expected level → fraction"
            )
        return cls(
            categories=tuple(categories),
            frequencies={k: float(v) for k, v in freqs.items()},
            missing_fraction=_fraction(data, "missing_fraction", column),
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "categories": list(self.categories),
            "frequencies": dict(self.frequencies),
            "missing_fraction": self.missing_fraction,
        }

    def findings(self, column: np.ndarray) -> dict[Finding, np.ndarray]:
        out = {Finding.UNSEEN: column == -1}
        if self.missing_fraction == 0:
            out[Finding.MISSING] = column == -2
        return out

    def as_column(self, value: Any) -> np.ndarray:
        # level_codes for one value, without building a pandas index (the calculator
        # checks ~150 entries per patient): the same hash-and-equality match
        try:
            code = _level_index(self.categories).get(value, -1)
        except TypeError:  # unhashable: no level
            code = -1
        if code == -1 and pd.api.types.is_scalar(value) and pd.isna(value):
            code = -2
        return np.array([code], dtype=np.int64)


@functools.lru_cache(maxsize=1024)
def _level_index(categories: tuple[Level, ...]) -> dict[Level, int]:
    """Level → code, matched by hashing and equality as level_codes' pandas index does."""
    index: dict[Level, int] = {}
    for code, level in enumerate(categories):
        index.setdefault(level, code)
    return index


def training_range(
    data: Mapping[str, Any], column: str | None = None
) -> NumericRange | CategoricalRange:
    """The typed view of one stored summary, by its ``kind``."""
    if not isinstance(data, Mapping):
        raise TypeError(f"{_where(column)} is a {type(data).__name__}; expected a mapping")
    kind = data.get("kind")
    if kind == NumericRange.kind:
        return NumericRange.from_dict(data, column)
    if kind == CategoricalRange.kind:
        return CategoricalRange.from_dict(data, column)
    raise ValueError(f"{_where(column)} has kind {kind!r}; expected 'numeric' or 'categorical'")


def read_training_ranges(
    ranges: Mapping[str, Mapping[str, Any]],
) -> dict[str, NumericRange | CategoricalRange]:
    """Typed views of a ``training_ranges_`` (or ``feature_schema``) mapping, in its order."""
    return {column: training_range(data, column) for column, data in ranges.items()}
