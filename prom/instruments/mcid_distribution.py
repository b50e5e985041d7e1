"""Distribution-based MCID from the spread of baseline scores: half an SD, or SEM-based.

Overview and conventions: :mod:`prom.instruments.mcid_estimate`.

References
----------
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
from dataclasses import dataclass
from numbers import Real

import numpy as np

from prom.errors import StatisticalWarning
from prom.instruments.mcid_bootstrap import blocks, check_bootstrap, percentile_interval
from prom.instruments.mcid_inputs import MIN_GROUP_SIZE, MCIDInputError, as_values

__all__ = ["DistributionMCID", "distribution_mcid"]


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
    x, _ = as_values(baseline_scores, "baseline_scores")
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
    n_boot, ci, rng, seed_out = check_bootstrap(n_boot, ci, seed)
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
            [np.std(xs[rng.integers(0, n, size=(b, n))], axis=1, ddof=1) for b in blocks(n_boot, n)]
        )
        ci_low, ci_high = percentile_interval(factor * sds, ci)

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
