"""MCID estimated from a cohort: anchor-based (ROC, Youden's J) and distribution-based.

The threshold registry (published MCIDs with their sources) lives elsewhere; this module
*estimates* an MCID from one's own data.

>>> import numpy as np
>>> from prom.instruments.mcid_estimate import anchor_mcid, distribution_mcid
>>> rng = np.random.default_rng(1)
>>> change = np.r_[rng.normal(2, 6, 300), rng.normal(12, 6, 300)].round()  # ODI points
>>> improved = np.r_[np.zeros(300, bool), np.ones(300, bool)]
>>> est = anchor_mcid(change, improved, n_boot=200)
>>> print(est.mcid, est.cutoff_midpoint)
8.0 7.5

Change scores are *improvements*: larger = better. For instruments where lower is better
(ODI, NRS, COMI) pass ``baseline − follow-up``; for mJOA pass ``follow-up − baseline``.
An AUC below 0.5 (larger changes going with *not* improving) gives a
:class:`~prom.errors.StatisticalWarning` that usually means the sign is the wrong way.

Missing values are never dropped here: a NaN is an error that says where it is, so the
complete-case selection is made, and reported, by the caller.

References
----------
Youden WJ. Index for rating diagnostic tests. Cancer 1950;3(1):32-35.
Robin X, Turck N, Hainard A, et al. pROC: an open-source package for R and S+ to analyze
and compare ROC curves. BMC Bioinformatics 2011;12:77.
Norman GR, Sloan JA, Wyrwich KW. Interpretation of changes in health-related quality of
life: the remarkable universality of half a standard deviation. Med Care
2003;41(5):582-592.
Wyrwich KW, Tierney WM, Wolinsky FD. Further evidence supporting an SEM-based criterion
for identifying meaningful intra-individual changes in health-related quality of life.
J Clin Epidemiol 1999;52(9):861-873.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Iterable
from dataclasses import dataclass
from numbers import Integral, Real

import numpy as np
import pandas as pd

from prom.errors import PromError, StatisticalWarning, format_values

__all__ = [
    "AnchorMCID",
    "DistributionMCID",
    "MCIDInputError",
    "UndefinedMCIDError",
    "anchor_mcid",
    "anchor_from_rating",
    "distribution_mcid",
    "roc_table",
    "MIN_GROUP_SIZE",
]

#: Fewer patients than this in an anchor group (or baseline sample) gives a warning.
MIN_GROUP_SIZE = 30
#: Fewest bootstrap replicates accepted for a percentile interval (0 = no interval).
MIN_BOOT = 100
# Bootstrap replicates are drawn in blocks of about this many numbers, to bound memory.
_BLOCK = 1 << 20


class MCIDInputError(PromError, ValueError):
    """Data or settings an MCID cannot be estimated from as given (NaNs, lengths, one class…)."""


class UndefinedMCIDError(PromError, ValueError):
    """No cut-off of the change score separates the anchor groups (best Youden J is 0)."""


# --- results ---------------------------------------------------------------------------------
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


@dataclass(frozen=True)
class DistributionMCID:
    """Distribution-based MCID from the spread of baseline scores.

    Attributes
    ----------
    method : str
        ``'half_sd'`` (``mcid = 0.5 × sd``) or ``'sem'`` (``mcid = multiplier × sem``).
    mcid : float
        The estimate, in the instrument's points.
    sd : float
        Sample standard deviation of the baseline scores (``ddof=1``, as R's ``sd()``).
    n : int
        Number of baseline scores.
    multiplier : float
        0.5 for ``'half_sd'``; the SEM multiplier for ``'sem'``.
    reliability : float or None
        Test–retest reliability used for ``'sem'`` (None for ``'half_sd'``).
    sem : float or None
        Standard error of measurement, ``sd × sqrt(1 − reliability)`` (``'sem'`` only).
    mdc95 : float or None
        Minimal detectable change at 95 % confidence, ``1.96 × √2 × sem`` (``'sem'`` only).
    ci_low, ci_high : float
        Percentile bootstrap interval for ``mcid`` (NaN when ``n_boot=0``); the
        reliability is treated as known, so its own uncertainty is not in the interval.
    ci : float
        Coverage asked for.
    n_boot : int
        Bootstrap replicates drawn.
    seed : int or None
        Seed of the bootstrap (None when a Generator was passed).
    """

    method: str
    mcid: float
    sd: float
    n: int
    multiplier: float
    reliability: float | None
    sem: float | None
    mdc95: float | None
    ci_low: float
    ci_high: float
    ci: float
    n_boot: int
    seed: int | None


# --- anchor-based ------------------------------------------------------------------------------
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
    x, index = _as_values(change, "change")
    y = _as_anchor(anchor_improved, len(x), index)
    n_boot, ci, rng, seed_out = _check_bootstrap(n_boot, ci, seed)
    n1, n0 = int(y.sum()), int((~y).sum())
    _check_two_classes(n1, n0)
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
            ci_low, ci_high = _percentile_interval(reps[ok], ci)

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
    x, index = _as_values(change, "change")
    y = _as_anchor(anchor_improved, len(x), index)
    n1, n0 = int(y.sum()), int((~y).sum())
    _check_two_classes(n1, n0)
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
    r, index = _as_values(rating, "rating")
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


# --- distribution-based ---------------------------------------------------------------------
def distribution_mcid(
    baseline_scores,
    *,
    method: str = "half_sd",
    reliability: float | None = None,
    multiplier: float = 1.96,
    n_boot: int = 1000,
    ci: float = 0.95,
    seed: int | np.random.Generator | None = 0,
) -> DistributionMCID:
    """Distribution-based MCID from the spread of baseline scores.

    - ``'half_sd'``: ``0.5 × SD(baseline)`` (Norman, Sloan & Wyrwich 2003).
    - ``'sem'``: ``multiplier × SEM`` with ``SEM = SD(baseline) × sqrt(1 − reliability)``
      (Wyrwich et al. 1999 proposed one SEM; the project's default is 1.96 SEM). The
      result also carries ``mdc95 = 1.96 × √2 × SEM``, the minimal detectable change.

    Parameters
    ----------
    baseline_scores : array-like of float, 1-D
        Baseline scores of the cohort, at least 2, no NaN.
    method : {'half_sd', 'sem'}
    reliability : float, optional
        Test–retest reliability (e.g. an ICC) in (0, 1); required for, and only used by,
        ``'sem'``.
    multiplier : float, default 1.96
        SEMs per MCID (``'sem'`` only).
    n_boot, ci, seed
        As in :func:`anchor_mcid`; the bootstrap resamples baseline scores and keeps the
        reliability fixed.

    Returns
    -------
    DistributionMCID

    Notes
    -----
    SD is the sample standard deviation (``ddof=1``), as R's ``sd()``.

    Raises
    ------
    TypeError
        Non-numeric scores or settings of the wrong type.
    MCIDInputError
        NaN or infinite scores, fewer than 2 scores, all scores equal, unknown method,
        missing or out-of-range reliability, bad ``multiplier`` / ``n_boot`` / ``ci``.

    Warns
    -----
    StatisticalWarning
        Fewer than 30 baseline scores.
    """
    x, _ = _as_values(baseline_scores, "baseline_scores")
    if not isinstance(method, str):
        raise TypeError(f"method must be a string, 'half_sd' or 'sem'; got {type(method).__name__}")
    if method not in ("half_sd", "sem"):
        raise MCIDInputError(f"method={method!r}; expected 'half_sd' or 'sem'")
    if isinstance(multiplier, bool) or not isinstance(multiplier, Real):
        raise TypeError(f"multiplier must be a number; got {type(multiplier).__name__}")
    if not (math.isfinite(multiplier) and multiplier > 0):
        raise MCIDInputError(
            f"multiplier={multiplier!r}; expected a positive number such as 1 or 1.96"
        )
    if method == "sem":
        if reliability is None:
            raise MCIDInputError(
                "method='sem' needs reliability=, the test–retest reliability (e.g. ICC 0.85) "
                "of the instrument"
            )
        if isinstance(reliability, bool) or not isinstance(reliability, Real):
            raise TypeError(f"reliability must be a number; got {type(reliability).__name__}")
        if not 0 < reliability < 1:
            raise MCIDInputError(
                f"reliability={reliability!r} is outside (0, 1); give a test–retest "
                f"reliability coefficient such as an ICC of 0.85"
            )
    elif reliability is not None:
        raise MCIDInputError(
            "reliability= is used only by method='sem'; method='half_sd' ignores it "
            "(drop it, or pass method='sem')"
        )
    n_boot, ci, rng, seed_out = _check_bootstrap(n_boot, ci, seed)
    n = len(x)
    if n < 2:
        raise MCIDInputError(
            f"baseline_scores has {n} value(s); a standard deviation needs at least 2"
        )
    sd = float(np.std(x, ddof=1))
    if sd == 0:
        raise MCIDInputError(
            f"all {n} baseline scores equal {x[0]:g}; their standard deviation is 0"
        )
    if n < MIN_GROUP_SIZE:
        warnings.warn(
            f"the baseline SD comes from only {n} patients (fewer than {MIN_GROUP_SIZE}); "
            f"the MCID is imprecise",
            StatisticalWarning,
            stacklevel=2,
        )
    if method == "half_sd":
        factor, rel, sem, mdc95, mult = 0.5, None, None, None, 0.5
    else:
        rel, mult = float(reliability), float(multiplier)
        root = math.sqrt(1.0 - rel)
        factor = mult * root
        sem = sd * root
        mdc95 = 1.96 * math.sqrt(2.0) * sem

    ci_low = ci_high = math.nan
    if n_boot:
        xs = np.sort(x)  # row order does not change the interval
        sds = np.concatenate(
            [
                np.std(xs[rng.integers(0, n, size=(b, n))], axis=1, ddof=1)
                for b in _blocks(n_boot, n)
            ]
        )
        ci_low, ci_high = _percentile_interval(factor * sds, ci)

    return DistributionMCID(
        method=method,
        mcid=factor * sd,
        sd=sd,
        n=n,
        multiplier=mult,
        reliability=rel,
        sem=sem,
        mdc95=mdc95,
        ci_low=ci_low,
        ci_high=ci_high,
        ci=ci,
        n_boot=n_boot,
        seed=seed_out,
    )


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
    for b in _blocks(n_boot, max(n1 + n0, k_values)):
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


def _percentile_interval(reps: np.ndarray, ci: float) -> tuple[float, float]:
    """Percentile interval: the ⌈Bα⌉-th and ⌈B(1 − α)⌉-th smallest of B replicates.

    With α = (1 − ci)/2 (the 25th and 975th of 1000 at ci = 0.95). The bounds are
    replicate values. Computed from order statistics directly, because
    ``np.quantile(method='inverted_cdf')`` at the float 0.025000000000000022 would take
    the 26th.
    """
    b = len(reps)
    alpha = (1.0 - ci) / 2.0
    lo = min(max(math.ceil(b * alpha - 1e-9), 1), b)
    hi = min(max(math.ceil(b * (1.0 - alpha) - 1e-9), 1), b)
    ordered = np.sort(reps)
    return float(ordered[lo - 1]), float(ordered[hi - 1])


def _blocks(n_boot: int, width: int):
    """Replicate counts per block, so that a block holds about ``_BLOCK`` numbers."""
    size = max(1, _BLOCK // max(width, 1))
    for start in range(0, n_boot, size):
        yield min(size, n_boot - start)


# --- input checking --------------------------------------------------------------------------
def _as_values(data, name: str) -> tuple[np.ndarray, pd.Index | None]:
    """A 1-D float array of finite numbers, and the Series index when given a Series."""
    index = None
    if isinstance(data, pd.DataFrame):
        raise TypeError(
            f"{name} must be 1-D (a Series, array or list); got a DataFrame — pass one column"
        )
    if data is None or isinstance(data, (str, bytes)) or np.ndim(data) == 0:
        raise TypeError(f"{name} must be a 1-D array-like of numbers; got {type(data).__name__}")
    if isinstance(data, pd.Series):
        index = data.index
        if pd.api.types.is_bool_dtype(data.dtype) or not (
            pd.api.types.is_numeric_dtype(data.dtype) or data.isna().all()
        ):
            raise TypeError(f"{name} has dtype {data.dtype}; expected numbers")
        x = data.to_numpy(dtype=float, na_value=np.nan)
    else:
        arr = np.asarray(data)
        if arr.dtype.kind == "O":
            if any(isinstance(v, (str, bytes, bool, np.bool_)) for v in arr.ravel()):
                raise TypeError(f"{name} holds text or booleans; expected numbers")
            try:
                arr = arr.astype(float)
            except (TypeError, ValueError):
                raise TypeError(f"{name} holds values that are not numbers") from None
        if arr.dtype.kind not in "iuf":
            raise TypeError(f"{name} has dtype {arr.dtype}; expected numbers")
        x = arr.astype(float)
    if x.ndim != 1:
        raise MCIDInputError(f"{name} has shape {x.shape}; expected one value per patient (1-D)")
    if x.size == 0:
        raise MCIDInputError(f"{name} is empty")
    _check_finite(x, name, index)
    return x, index


def _as_anchor(data, n: int, change_index: pd.Index | None) -> np.ndarray:
    """Boolean anchor of length ``n``: bools, or numbers 0/1, with no missing values."""
    name = "anchor_improved"
    if isinstance(data, pd.DataFrame):
        raise TypeError(f"{name} must be 1-D; got a DataFrame — pass one column")
    if data is None or isinstance(data, (str, bytes)) or np.ndim(data) == 0:
        raise TypeError(
            f"{name} must be a 1-D array-like of booleans or 0/1; got {type(data).__name__}"
        )
    index = None
    if isinstance(data, pd.Series):
        index = data.index
        if not (
            pd.api.types.is_bool_dtype(data.dtype) or pd.api.types.is_numeric_dtype(data.dtype)
        ):
            raise TypeError(
                f"{name} has dtype {data.dtype}; expected booleans or 0/1. Dichotomise a "
                f"rating with anchor_from_rating()"
            )
        a = data.to_numpy(dtype=float, na_value=np.nan)
    else:
        arr = np.asarray(data)
        if arr.dtype.kind == "O":
            if any(isinstance(v, (str, bytes)) for v in arr.ravel()):
                raise TypeError(f"{name} holds text; expected booleans or 0/1")
            try:
                arr = arr.astype(float)
            except (TypeError, ValueError):
                raise TypeError(f"{name} holds values that are not booleans or numbers") from None
        if arr.dtype.kind not in "biuf":
            raise TypeError(
                f"{name} has dtype {arr.dtype}; expected booleans or 0/1. Dichotomise a "
                f"rating with anchor_from_rating()"
            )
        a = arr.astype(float)
    if a.ndim != 1:
        raise MCIDInputError(f"{name} has shape {a.shape}; expected one value per patient (1-D)")
    if len(a) != n:
        raise MCIDInputError(
            f"change has {n} value(s) but {name} has {len(a)}; give one anchor per change score"
        )
    if index is not None and change_index is not None and not index.equals(change_index):
        raise MCIDInputError(
            f"change and {name} are Series with different indexes; align them first "
            f"(e.g. anchor.reindex(change.index)) — they are not matched by position"
        )
    nan = np.isnan(a)
    if nan.any():
        raise MCIDInputError(
            _missing_message(
                name, np.flatnonzero(nan), index if index is not None else change_index
            )
        )
    bad = (a != 0) & (a != 1)
    if bad.any():
        raise MCIDInputError(
            f"{name} has {int(bad.sum())} value(s) other than 0/1 (values "
            f"{format_values(a[bad].tolist())}, {_where(np.flatnonzero(bad), index)}); "
            f"expected booleans or 0/1 — dichotomise a rating with anchor_from_rating()"
        )
    return a == 1


def _check_finite(x: np.ndarray, name: str, index) -> None:
    nan = np.isnan(x)
    if nan.any():
        raise MCIDInputError(_missing_message(name, np.flatnonzero(nan), index))
    inf = np.isinf(x)
    if inf.any():
        raise MCIDInputError(
            f"{name} has {int(inf.sum())} infinite value(s) {_where(np.flatnonzero(inf), index)}; "
            f"expected finite numbers"
        )


def _missing_message(name: str, pos: np.ndarray, index) -> str:
    return (
        f"{name} has {len(pos)} missing value(s) (NaN) {_where(pos, index)}; missing values "
        f"are never dropped silently — drop these patients from every input explicitly "
        f"(e.g. keep = change.notna() & anchor.notna()) and pass the complete cases"
    )


def _where(pos: np.ndarray, index, limit: int = 8) -> str:
    """``'at index labels 3, 7'`` for a Series, ``'at positions 3, 7 (0-based)'`` otherwise."""
    if index is not None:
        labels, what, tail = list(index[pos]), "index label", ""
    else:
        labels, what, tail = [int(p) for p in pos], "position", " (0-based)"
    shown = ", ".join(str(v) for v in labels[:limit])
    if len(labels) > limit:
        shown += f", … ({len(labels)} in all)"
    return f"at {what}{'s' if len(labels) > 1 else ''} {shown}{tail}"


def _check_two_classes(n1: int, n0: int) -> None:
    if n1 == 0 or n0 == 0:
        which = "improved (True/1)" if n0 == 0 else "not improved (False/0)"
        raise MCIDInputError(
            f"anchor_improved has only one class: all {n1 + n0} patients are {which}; an "
            f"anchor-based MCID needs both improved and not-improved patients"
        )


def _check_bootstrap(n_boot, ci, seed):
    if isinstance(n_boot, bool) or not isinstance(n_boot, Integral):
        raise TypeError(f"n_boot must be an int; got {type(n_boot).__name__}")
    if n_boot != 0 and n_boot < MIN_BOOT:
        raise MCIDInputError(
            f"n_boot={n_boot} is too few for a percentile interval; use 0 (no interval) "
            f"or at least {MIN_BOOT} (1000 or more recommended)"
        )
    if isinstance(ci, bool) or not isinstance(ci, Real):
        raise TypeError(f"ci must be a number such as 0.95; got {type(ci).__name__}")
    if not 0 < ci < 1:
        raise MCIDInputError(f"ci={ci!r} is outside (0, 1); for a 95% interval pass ci=0.95")
    if isinstance(seed, np.random.Generator):
        return int(n_boot), float(ci), seed, None
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, Integral)):
        raise TypeError(
            f"seed must be an int, a numpy Generator or None; got {type(seed).__name__}"
        )
    return int(n_boot), float(ci), np.random.default_rng(seed), None if seed is None else int(seed)
