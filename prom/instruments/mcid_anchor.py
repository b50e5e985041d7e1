"""Anchor-based MCID: the change-score cut-off that best separates an external anchor.

ROC analysis of the change score against a binary anchor (a global rating of change
dichotomised with :func:`anchor_from_rating`): the MCID is the cut-off maximising Youden's
J, with a stratified percentile bootstrap interval; :func:`roc_table` lists every
candidate cut-off as pROC does. Overview and conventions:
:mod:`prom.instruments.mcid_estimate`.

References
----------
Youden WJ. Index for rating diagnostic tests. Cancer 1950;3(1):32-35.
Robin X, Turck N, Hainard A, et al. pROC: an open-source package for R and S+ to analyze
and compare ROC curves. BMC Bioinformatics 2011;12:77.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Iterable
from dataclasses import dataclass
from numbers import Real

import numpy as np
import pandas as pd

from prom.errors import PromError, StatisticalWarning, format_values
from prom.instruments.mcid_bootstrap import blocks, check_bootstrap, percentile_interval
from prom.instruments.mcid_inputs import (
    MIN_GROUP_SIZE,
    MCIDInputError,
    as_anchor,
    as_values,
    check_two_classes,
)

__all__ = ["AnchorMCID", "UndefinedMCIDError", "anchor_mcid", "roc_table", "anchor_from_rating"]


class UndefinedMCIDError(PromError, ValueError):
    """No cut-off of the change score separates the anchor groups (best Youden J is 0)."""


@dataclass(frozen=True)
class AnchorMCID:
    """Anchor-based MCID: the change-score cut-off that maximises Youden's J.

    Attributes
    ----------
    mcid : float
        The cut-off: a patient with ``change >= mcid`` counts as improved. It is an observed
        change score — the smallest one on the improved side of the best ROC threshold.
    cutoff_midpoint : float
        The same cut-off as pROC and SPSS report it: midway between ``mcid`` and the next
        smaller observed change score. ``change >= cutoff_midpoint`` classifies the sample
        exactly as ``change >= mcid`` does.
    sensitivity, specificity : float
        Share of improved patients with ``change >= mcid``; share of not-improved patients
        with ``change < mcid``.
    youden_j : float
        ``sensitivity + specificity - 1`` at the cut-off.
    auc : float
        Area under the ROC curve, the Mann–Whitney probability that an improved patient's
        change exceeds a not-improved patient's (ties count one half).
    n_improved, n_not_improved : int
        Size of each anchor group.
    ci_low, ci_high : float
        Percentile bootstrap interval for ``mcid`` (NaN when ``n_boot=0``).
    ci : float
        Coverage asked for, e.g. 0.95.
    n_boot : int
        Bootstrap replicates drawn.
    n_boot_undefined : int
        Replicates in which no cut-off had J > 0; they are left out of the interval.
    tied_cutoffs : tuple of float
        Every observed cut-off at which J reaches its maximum, ascending; ``mcid`` is the
        first (see :func:`anchor_mcid` for the rule).
    seed : int or None
        Seed of the bootstrap (None when a Generator was passed).
    """

    mcid: float
    cutoff_midpoint: float
    sensitivity: float
    specificity: float
    youden_j: float
    auc: float
    n_improved: int
    n_not_improved: int
    ci_low: float
    ci_high: float
    ci: float
    n_boot: int
    n_boot_undefined: int
    tied_cutoffs: tuple[float, ...]
    seed: int | None


def anchor_mcid(
    change,
    anchor_improved,
    *,
    n_boot: int = 1000,
    ci: float = 0.95,
    seed: int | np.random.Generator | None = 0,
) -> AnchorMCID:
    """Anchor-based MCID: the change-score cut-off that best separates an external anchor.

    ROC analysis of the change score against a binary anchor (typically a global rating of
    change dichotomised to "better / much better", see :func:`anchor_from_rating`). The
    MCID is the cut-off maximising Youden's J = sensitivity + specificity − 1, where a
    patient counts as improved when ``change >= cut-off`` (pROC's ``direction = "<"``).

    Parameters
    ----------
    change : array-like of float, 1-D
        Change scores oriented so that **larger = better** (for ODI, NRS or COMI, where
        lower is better, pass ``baseline − follow-up``). No NaN allowed.
    anchor_improved : array-like of bool or 0/1, 1-D, same length
        True (1) for patients the anchor rates improved. No missing values allowed.
    n_boot : int, default 1000
        Bootstrap replicates for the interval; 0 for none, else at least 100.
    ci : float, default 0.95
        Coverage of the percentile interval, in (0, 1).
    seed : int, numpy Generator or None, default 0
        Seed of the bootstrap; the same data and seed give the same interval, whatever
        the order of the rows.

    Returns
    -------
    AnchorMCID

    Notes
    -----
    *Reported cut-off.* pROC (Robin et al. 2011) and SPSS report thresholds midway
    between adjacent distinct change scores. Here ``mcid`` is the smallest **observed**
    change score on the improved side of that midpoint, and the midpoint is kept as
    ``cutoff_midpoint``. Both classify the sample identically under ``>=``; the observed
    value is a score patients can have, which matters for coarse scales (NRS in whole
    points, ODI in steps of 2: an MCID of "2 points", not "1.5").

    *Ties in J.* Youden's J is compared in exact integer arithmetic
    (``J·n₁·n₀ = TP·n₀ + TN·n₁ − n₁·n₀``) and, among tied cut-offs, the smallest wins
    (the most sensitive one). pROC's ``coords(roc, "best", best.method = "youden")``
    returns every tied threshold in ascending order, so ``mcid`` corresponds to its first
    row, and ``tied_cutoffs`` to all of them. (pROC compares floating-point sums, which
    could in principle miss an exact tie by one unit in the last place; the reference
    script checks its datasets for this.) The trivial cut-offs — everyone or no one
    improved, J = 0 — are never chosen: if no cut-off has J > 0 the MCID is undefined
    and :class:`UndefinedMCIDError` is raised.

    *Interval.* Percentile bootstrap with resampling within each anchor group (group
    sizes fixed); the bounds are the ⌈Bα⌉-th and ⌈B(1 − α)⌉-th smallest of the B
    replicates, α = (1 − ci)/2, hence observed change scores. A cut-off maximising an
    empirical criterion converges at the cube-root rate (Kim J, Pollard D. Cube root
    asymptotics. Ann Stat 1990;18(1):191-219), for which the bootstrap is not guaranteed
    nominal coverage: read the interval as a guide to the cut-off's instability.

    Raises
    ------
    TypeError
        ``change`` is not numeric, ``anchor_improved`` is not boolean/0-1 numeric, or a
        setting has the wrong type.
    MCIDInputError
        Lengths differ, NaN or infinite values, anchor values other than 0/1, only one
        anchor class, bad ``n_boot`` / ``ci``.
    UndefinedMCIDError
        No cut-off gives J > 0.

    Warns
    -----
    StatisticalWarning
        Fewer than 30 patients in an anchor group; AUC below 0.5 (is the change oriented
        larger = better?); bootstrap replicates without a defined cut-off.
    """
    x, index = as_values(change, "change")
    y = as_anchor(anchor_improved, len(x), index)
    n_boot, ci, rng, seed_out = check_bootstrap(n_boot, ci, seed)
    n1, n0 = int(y.sum()), int((~y).sum())
    check_two_classes(n1, n0)
    if min(n1, n0) < MIN_GROUP_SIZE:
        warnings.warn(
            f"only {n1} improved and {n0} not-improved patient(s) (fewer than "
            f"{MIN_GROUP_SIZE} in a group): the cut-off and its interval are unstable",
            StatisticalWarning,
            stacklevel=2,
        )

    values, inverse = np.unique(x, return_inverse=True)
    k_values = len(values)
    c1 = np.bincount(inverse[y], minlength=k_values)
    c0 = np.bincount(inverse[~y], minlength=k_values)
    auc = _auc(c1, c0, n1, n0)
    if auc < 0.5:
        warnings.warn(
            f"AUC = {auc:.3f} < 0.5: larger changes go with *not* improving. Is `change` "
            f"oriented so that larger = better? For ODI, NRS and COMI use baseline − "
            f"follow-up.",
            StatisticalWarning,
            stacklevel=2,
        )
    jnum = _youden_numerators(c1[None, :], c0[None, :], n1, n0)[0]
    best = jnum.max()
    if best <= n1 * n0:
        raise UndefinedMCIDError(
            f"no cut-off of the change score separates the {n1} improved from the {n0} "
            f"not-improved patients (best Youden J = 0, AUC = {auc:.3f}); the anchor and "
            f"the change score do not agree, so no anchor-based MCID can be estimated"
        )
    tied = np.flatnonzero(jnum == best)
    k = int(tied[0])
    tp = n1 - int(c1[:k].sum())
    tn = int(c0[:k].sum())
    sens, spec = tp / n1, tn / n0

    ci_low = ci_high = math.nan
    n_undefined = 0
    if n_boot:
        reps = _bootstrap_anchor(values, np.sort(inverse[y]), np.sort(inverse[~y]), n_boot, rng)
        ok = ~np.isnan(reps)
        n_undefined = int((~ok).sum())
        if n_undefined:
            warnings.warn(
                f"{n_undefined} of {n_boot} bootstrap replicates had no cut-off with J > 0; "
                f"the interval uses the other {n_boot - n_undefined}",
                StatisticalWarning,
                stacklevel=2,
            )
        if ok.any():
            ci_low, ci_high = percentile_interval(reps[ok], ci)

    return AnchorMCID(
        mcid=float(values[k]),
        cutoff_midpoint=float(_midpoints(values)[k]),
        sensitivity=sens,
        specificity=spec,
        youden_j=sens + spec - 1.0,
        auc=auc,
        n_improved=n1,
        n_not_improved=n0,
        ci_low=ci_low,
        ci_high=ci_high,
        ci=ci,
        n_boot=n_boot,
        n_boot_undefined=n_undefined,
        tied_cutoffs=tuple(float(v) for v in values[tied]),
        seed=seed_out,
    )


def roc_table(change, anchor_improved) -> pd.DataFrame:
    """Sensitivity, specificity and Youden's J at every candidate cut-off, ascending.

    One row per distinct change score ``c`` (rule: ``change >= c`` counts as improved),
    plus a last row with ``cutoff = inf`` (no one improved). ``midpoint`` is the threshold
    as pROC reports it (``-inf`` for the first row, where everyone counts as improved), so
    the table matches ``coords(roc, "all")`` row for row. Inputs are checked as in
    :func:`anchor_mcid`; no warnings are given.

    Returns
    -------
    pandas.DataFrame
        Columns ``cutoff``, ``midpoint``, ``sensitivity``, ``specificity``, ``youden_j``.
    """
    x, index = as_values(change, "change")
    y = as_anchor(anchor_improved, len(x), index)
    n1, n0 = int(y.sum()), int((~y).sum())
    check_two_classes(n1, n0)
    values, inverse = np.unique(x, return_inverse=True)
    c1 = np.bincount(inverse[y], minlength=len(values))
    c0 = np.bincount(inverse[~y], minlength=len(values))
    tp = n1 - np.r_[0, np.cumsum(c1)]
    tn = np.r_[0, np.cumsum(c0)]
    sens, spec = tp / n1, tn / n0
    return pd.DataFrame(
        {
            "cutoff": np.r_[values, np.inf],
            "midpoint": np.r_[_midpoints(values), np.inf],
            "sensitivity": sens,
            "specificity": spec,
            "youden_j": sens + spec - 1.0,
        }
    )


def anchor_from_rating(rating, improved_levels: Iterable = (1, 2)):
    """Dichotomise a global rating of change into an "improved" anchor.

    Parameters
    ----------
    rating : array-like of numbers, 1-D
        Coded answers, e.g. 1 = much better, 2 = better, 3 = unchanged, 4 = worse,
        5 = much worse. No NaN allowed.
    improved_levels : iterable of numbers, default (1, 2)
        Codes that count as improved.

    Returns
    -------
    numpy.ndarray of bool, or pandas.Series of bool on ``rating``'s index

    Notes
    -----
    Some studies compare "better" with "unchanged" only, leaving out patients who got
    worse. Select those rows explicitly (in both the rating and the change score) before
    calling this; nothing is dropped here.
    """
    r, index = as_values(rating, "rating")
    if isinstance(improved_levels, (str, bytes)) or not isinstance(improved_levels, Iterable):
        raise TypeError(
            f"improved_levels must be an iterable of rating codes, e.g. (1, 2); "
            f"got {type(improved_levels).__name__}"
        )
    levels = list(improved_levels)
    if not levels:
        raise MCIDInputError("improved_levels is empty; give the rating codes that mean improved")
    for lv in levels:
        if isinstance(lv, bool) or not isinstance(lv, Real):
            raise TypeError(f"improved_levels must hold numbers; got {lv!r}")
    improved = np.isin(r, np.asarray(levels, dtype=float))
    if not improved.any():
        raise MCIDInputError(
            f"none of the {len(r)} ratings is in improved_levels {tuple(levels)}; codes seen: "
            f"{format_values(np.unique(r).tolist())}. How is the rating scale coded?"
        )
    if index is not None:
        return pd.Series(improved, index=index, name="anchor_improved")
    return improved


# --- computation ---------------------------------------------------------------------------
def _youden_numerators(c1: np.ndarray, c0: np.ndarray, n1: int, n0: int) -> np.ndarray:
    """``(J + 1)·n₁·n₀`` at every distinct value (rows: replicates), exact integers.

    ``c1``/``c0`` count improved / not-improved patients at each distinct change value
    (ascending). Cut-off ``k`` means ``change >= values[k]``. Values absent from a
    replicate, and the first value present (everyone improved), are not cut-offs and get
    −1, below any real numerator.
    """
    below1 = np.cumsum(c1, axis=1) - c1
    below0 = np.cumsum(c0, axis=1) - c0
    jnum = (n1 - below1) * n0 + below0 * n1
    valid = ((c1 + c0) > 0) & ((below1 + below0) > 0)
    return np.where(valid, jnum, -1)


def _bootstrap_anchor(values, inv1, inv0, n_boot, rng) -> np.ndarray:
    """Youden cut-off (observed value) of each stratified bootstrap replicate; NaN if none."""
    n1, n0, k_values = len(inv1), len(inv0), len(values)
    out = []
    for b in blocks(n_boot, max(n1 + n0, k_values)):
        offset = (np.arange(b) * k_values)[:, None]
        c1 = np.bincount(
            (inv1[rng.integers(0, n1, size=(b, n1))] + offset).ravel(), minlength=b * k_values
        ).reshape(b, k_values)
        c0 = np.bincount(
            (inv0[rng.integers(0, n0, size=(b, n0))] + offset).ravel(), minlength=b * k_values
        ).reshape(b, k_values)
        jnum = _youden_numerators(c1, c0, n1, n0)
        k = jnum.argmax(axis=1)  # first maximum: the smallest tied cut-off
        best = jnum[np.arange(b), k]
        out.append(np.where(best > n1 * n0, values[k], np.nan))
    return np.concatenate(out)


def _midpoints(values: np.ndarray) -> np.ndarray:
    """Threshold below each distinct value as pROC computes it (roc.utils.thresholds).

    ``(a + b) / 2`` (or ``a/2 + b/2`` beyond 1e100), ``-inf`` below the smallest value;
    when rounding makes the midpoint equal the lower value ``a`` it becomes ``b``, so
    ``change >= midpoint`` always classifies like ``change >= b``.
    """
    a, b = values[:-1], values[1:]
    with np.errstate(over="ignore"):
        mid = (a + b) / 2
    mid = np.where(np.abs(mid) > 1e100, a / 2 + b / 2, mid)
    mid = np.where(mid == a, b, mid)
    return np.r_[-np.inf, mid]


def _auc(c1: np.ndarray, c0: np.ndarray, n1: int, n0: int) -> float:
    """Mann–Whitney AUC, ties counted one half, from counts per distinct value (exact sum)."""
    below0 = np.cumsum(c0) - c0
    twice = int(np.sum(c1 * (2 * below0 + c0)))
    return twice / (2 * n1 * n0)
