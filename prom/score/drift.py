"""Drift of the scored cohort against the training data, and calibration when outcomes exist.

Both are computed from small accumulators that are filled batch by batch and merged
(the same totals whichever engine or batch size), so nothing row-level is kept.

Drift, per task and predictor, against the training summary the model's preprocessor
recorded (``training_ranges_``: decile bins and their frequencies, mean, SD, missing
fraction; categorical level frequencies):

- **PSI**, population stability index ``Σ (a − e) · ln(a / e)`` over the training decile
  bins plus a *missing* bin (numeric), or over the training levels plus *missing* and
  *unseen* bins (categorical); fractions of 0 are replaced by :data:`PSI_FLOOR`. The usual
  reading: < 0.1 stable, 0.1–0.25 moderate shift, > 0.25 major shift.
- **standardised difference** of the means of the observed values (numeric):
  ``(mean_scored − mean_train) / sqrt((sd_scored² + sd_train²) / 2)``; |d| > 0.1 is the
  usual threshold for a notable difference.

A shift is judged only on at least ``10 × (bins − 1)`` scored rows (100 for a numeric
predictor's ten deciles and missing bin): without any drift, ``n × PSI`` is roughly
chi-squared with ``bins − 1`` degrees of freedom (Yurdakul 2018, Statistical properties of
the population stability index), so on fewer rows sampling alone gives readings around
:data:`PSI_MODERATE` and above — a registry's first 17 rows would all look shifted. The
PSI and difference are still reported; ``shift`` is then ``"not judged"`` with a note.

Calibration (observed vs expected): per task, over scored rows whose outcome can be
derived from the input (an MCID task's follow-up score, a multiclass task's label column,
a user-defined 0/1 column): observed event rate, mean predicted probability, their ratio
O/E, and the same in ten fixed risk groups (0–0.1, …, 0.9–1). Multiclass: per class.
Survival tasks: not computed (censored outcomes need a Kaplan–Meier estimate).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from prom.models.columns import ColumnCache

__all__ = [
    "PSI_FLOOR",
    "ROWS_PER_BIN",
    "PSI_MODERATE",
    "PSI_MAJOR",
    "SMD_NOTABLE",
    "BatchColumns",
    "observed_summary",
    "FeatureDrift",
    "TaskDrift",
    "Calibration",
    "psi",
]

PSI_FLOOR = 1e-4
#: Scored rows per degree of freedom of the PSI's bins needed to judge a shift.
ROWS_PER_BIN = 10
PSI_MODERATE = 0.1
PSI_MAJOR = 0.25
SMD_NOTABLE = 0.1
RISK_EDGES = np.linspace(0.0, 1.0, 11)


def psi(actual: np.ndarray, expected: np.ndarray, floor: float = PSI_FLOOR) -> float:
    """Population stability index of two vectors of fractions (each summing to 1)."""
    a = np.maximum(np.asarray(actual, dtype=float), floor)
    e = np.maximum(np.asarray(expected, dtype=float), floor)
    return float(np.sum((a - e) * np.log(a / e)))


@dataclass
class FeatureDrift:
    """Counts of one predictor in the scored rows, in the training summary's bins."""

    name: str
    info: dict  # the training summary (training_ranges_ entry)
    counts: np.ndarray = field(init=False)  # per bin / level, then missing, then unseen (cat.)
    n: int = 0  # rows seen
    n_obs: int = 0  # numeric: observed (non-missing) values
    mean: float = 0.0
    m2: float = 0.0  # sum of squared deviations (Chan et al. merge)

    def __post_init__(self) -> None:
        k = (
            len(self.info.get("bin_edges") or []) + 1
            if self.numeric
            else len(self.info["categories"]) + 1
        )
        self.counts = np.zeros(k + 1, dtype=np.int64)  # + missing (+ unseen: cat.)

    @property
    def numeric(self) -> bool:
        return self.info.get("kind") == "numeric"

    @property
    def has_bins(self) -> bool:
        return not self.numeric or self.info.get("bin_frequencies") is not None

    def add(self, values: np.ndarray) -> None:
        """Count one batch: float values (numeric; NaN missing) or level codes (categorical:
        index into the training ``categories``, ``-1`` unseen level, ``-2`` missing)."""
        if self.numeric:
            self.add_observed(*observed_summary(np.asarray(values, dtype=float)))
            return
        self.n += len(values)
        k = len(self.info["categories"])
        codes = np.asarray(values, dtype=np.int64)
        # levels, then missing (-2 → k), then unseen (-1 → k + 1)
        slot = np.where(codes >= 0, codes, np.where(codes == -2, k, k + 1))
        self.counts += np.bincount(slot, minlength=k + 2)

    def add_observed(self, obs_sorted: np.ndarray, n_missing: int, mean: float, m2: float) -> None:
        """Count a numeric batch given as :func:`observed_summary` (shared by tasks)."""
        self.n += obs_sorted.size + n_missing
        self.counts[-1] += n_missing
        if obs_sorted.size:
            # values ≤ each edge; bin j holds (e_j, e_{j+1}]
            edges = np.asarray(self.info.get("bin_edges") or [], dtype=float)
            below = np.searchsorted(obs_sorted, edges, side="right")
            self.counts[:-1] += np.diff(np.r_[0, below, obs_sorted.size])
            self._merge_moments(obs_sorted.size, mean, m2)

    def _merge_moments(self, n: int, mean: float, m2: float) -> None:
        total = self.n_obs + n
        delta = mean - self.mean
        self.m2 += m2 + delta * delta * self.n_obs * n / total
        self.mean += delta * n / total
        self.n_obs = total

    def merge(self, other: FeatureDrift) -> None:
        self.n += other.n
        self.counts += other.counts
        if other.n_obs:
            self._merge_moments(other.n_obs, other.mean, other.m2)

    def report(self) -> dict:
        info = self.info
        out: dict = {"kind": info["kind"], "n": self.n}
        if self.n == 0:
            return out
        frac = self.counts / self.n
        if self.numeric:
            out["missing_fraction"] = float(frac[-1])
            out["train_missing_fraction"] = info.get("missing_fraction")
            freqs = info.get("bin_frequencies")
            if freqs is not None and info.get("mean") is not None:
                expected = np.r_[np.asarray(freqs, dtype=float), info["missing_fraction"]]
                out["psi"] = round(psi(frac, expected), 6)
            else:
                out["psi"] = None
                out["note"] = (
                    "the bundle holds no training distribution for this predictor "
                    "(written by an earlier version of prom)"
                )
            if self.n_obs:
                sd = math.sqrt(self.m2 / (self.n_obs - 1)) if self.n_obs > 1 else 0.0
                out["mean"], out["sd"] = round(self.mean, 6), round(sd, 6)
                if info.get("mean") is not None:
                    out["train_mean"], out["train_sd"] = info["mean"], info["sd"]
                    pooled = math.sqrt((sd**2 + info["sd"] ** 2) / 2)
                    out["std_diff"] = (
                        round((self.mean - info["mean"]) / pooled, 6) if pooled > 0 else None
                    )
        else:
            cats = list(info["categories"])
            expected = np.r_[
                [info["frequencies"][str(c)] for c in cats], info["missing_fraction"], 0.0
            ]
            out["psi"] = round(psi(frac, expected), 6)
            out["missing_fraction"] = float(frac[len(cats)])
            out["train_missing_fraction"] = info["missing_fraction"]
            out["unseen_fraction"] = float(frac[len(cats) + 1])
            out["frequencies"] = {
                str(c): round(float(f), 6) for c, f in zip(cats, frac[: len(cats)], strict=True)
            }
            out["train_frequencies"] = {str(c): info["frequencies"][str(c)] for c in cats}
        psi_v, d = out.get("psi"), out.get("std_diff")
        need = ROWS_PER_BIN * (len(self.counts) - 1)
        if self.n < need:
            out["shift"] = "not judged"
            out["note"] = (
                f"{self.n:,} row(s): a shift is judged on {need:,} or more (on fewer, "
                f"sampling alone gives PSI readings around {PSI_MODERATE:g} and above)"
            )
            return out
        out["shift"] = (
            "major"
            if psi_v is not None and psi_v > PSI_MAJOR
            else "moderate"
            if (psi_v is not None and psi_v > PSI_MODERATE)
            or (d is not None and abs(d) > SMD_NOTABLE)
            else "stable"
        )
        return out


def observed_summary(values: np.ndarray) -> tuple[np.ndarray, int, float, float]:
    """``(sorted observed values, missing count, mean, sum of squared deviations)``."""
    miss = np.isnan(values)
    obs = np.sort(values[~miss])
    if not obs.size:
        return obs, int(miss.sum()), 0.0, 0.0
    mean = float(obs.mean())
    return obs, int(miss.sum()), mean, float(((obs - mean) ** 2).sum())


class BatchColumns(ColumnCache):
    """A batch's :class:`~prom.models.columns.ColumnCache`, shared by its tasks' models,
    out-of-range flags and drift counts, with the observed-value summaries drift needs."""

    def __init__(self, frame: pd.DataFrame, extra: dict[str, np.ndarray] | None = None):
        super().__init__(frame, extra)
        self._observed: dict[tuple, tuple] = {}
        self._table = None

    def table(self) -> pd.DataFrame:
        """The frame with the ``extra`` columns, made once, when a consumer needs a
        DataFrame (survival models, outcome labels, explanations)."""
        if self._table is None:
            from prom.score.source import with_columns

            self._table = with_columns(self.frame, {c: self._numeric[c] for c in self.extra})
        return self._table

    def observed(self, column: str, group, rows: np.ndarray | None) -> tuple:
        """:func:`observed_summary` of ``rows`` (None: all) of a numeric column, once per
        group of rows (tasks with the same population share it)."""
        key = (column, group)
        if key not in self._observed:
            v = self.numeric(column)
            self._observed[key] = observed_summary(v if rows is None else v[rows])
        return self._observed[key]


@dataclass
class TaskDrift:
    """Drift accumulators of one task's predictors."""

    task: str
    features: dict[str, FeatureDrift] = field(default_factory=dict)

    @classmethod
    def for_model(cls, task: str, model) -> TaskDrift:
        ranges = model.preprocessor_.training_ranges_
        return cls(task, {c: FeatureDrift(c, info) for c, info in ranges.items()})

    def add(self, columns, rows: np.ndarray | None, group=None) -> None:
        """Count the rows ``rows`` (None: all) of a batch's :class:`BatchColumns`;
        ``group`` names that set of rows, so tasks sharing it share the work."""
        for c, f in self.features.items():
            if f.numeric:
                f.add_observed(*columns.observed(c, group, rows))
            else:
                v = columns.codes(c, tuple(f.info["categories"]))
                f.add(v if rows is None else v[rows])

    def merge(self, other: TaskDrift) -> None:
        for c, f in self.features.items():
            f.merge(other.features[c])

    def report(self) -> dict:
        return {c: f.report() for c, f in self.features.items()}


@dataclass
class Calibration:
    """Observed vs expected for one task (binary: one column; multiclass: per class)."""

    task: str
    classes: list
    n: int = 0
    sum_p: np.ndarray = field(init=False)  # per class (binary: the event class only)
    sum_y: np.ndarray = field(init=False)
    groups: np.ndarray = field(init=False)  # binary: (10, 3) n, Σp, Σy by risk group

    def __post_init__(self) -> None:
        k = max(1, len(self.classes)) if len(self.classes) > 2 else 1
        self.sum_p = np.zeros(k)
        self.sum_y = np.zeros(k)
        self.groups = np.zeros((RISK_EDGES.size - 1, 3))

    def add(self, p: np.ndarray, y: np.ndarray) -> None:
        """``p``: (n,) event probability or (n, K) class probabilities; ``y``: 0/1 or codes."""
        if len(y) == 0:
            return
        self.n += len(y)
        if p.ndim == 1:
            self.sum_p += p.sum()
            self.sum_y += y.sum()
            g = np.clip(np.searchsorted(RISK_EDGES, p, side="right") - 1, 0, RISK_EDGES.size - 2)
            self.groups[:, 0] += np.bincount(g, minlength=RISK_EDGES.size - 1)
            self.groups[:, 1] += np.bincount(g, weights=p, minlength=RISK_EDGES.size - 1)
            self.groups[:, 2] += np.bincount(g, weights=y, minlength=RISK_EDGES.size - 1)
        else:
            self.sum_p += p.sum(axis=0)
            self.sum_y += np.bincount(y, minlength=p.shape[1])

    def merge(self, other: Calibration) -> None:
        self.n += other.n
        self.sum_p += other.sum_p
        self.sum_y += other.sum_y
        self.groups += other.groups

    def report(self) -> dict:
        if self.n == 0:
            return {
                "n_with_outcome": 0,
                "note": "no scored row has an observed outcome in the input",
            }
        if len(self.sum_p) == 1:
            obs, exp = float(self.sum_y[0] / self.n), float(self.sum_p[0] / self.n)
            groups = [
                {
                    "risk": f"{lo:.1f}-{hi:.1f}",
                    "n": int(g[0]),
                    "expected": round(g[1] / g[0], 6),
                    "observed": round(g[2] / g[0], 6),
                }
                for lo, hi, g in zip(RISK_EDGES[:-1], RISK_EDGES[1:], self.groups, strict=True)
                if g[0] > 0
            ]
            return {
                "n_with_outcome": self.n,
                "observed": round(obs, 6),
                "expected": round(exp, 6),
                "o_e_ratio": round(obs / exp, 6) if exp > 0 else None,
                "by_risk_group": groups,
            }
        return {
            "n_with_outcome": self.n,
            "by_class": {
                str(c): {
                    "observed": round(float(self.sum_y[i] / self.n), 6),
                    "expected": round(float(self.sum_p[i] / self.n), 6),
                    "o_e_ratio": (
                        round(float(self.sum_y[i] / self.sum_p[i]), 6)
                        if self.sum_p[i] > 0
                        else None
                    ),
                }
                for i, c in enumerate(self.classes)
            },
        }
