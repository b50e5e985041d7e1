"""MCID estimated from a cohort: anchor-based (ROC, Youden's J) and distribution-based.

The threshold registry (published MCIDs with their sources) lives elsewhere; this module
*estimates* an MCID from one's own data. It is the estimators' public face: the
anchor-based estimator is :mod:`prom.instruments.mcid_anchor`, the distribution-based
one :mod:`prom.instruments.mcid_distribution`; both check their inputs with
:mod:`prom.instruments.mcid_inputs` and bootstrap with
:mod:`prom.instruments.mcid_bootstrap`.

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

from prom.instruments.mcid_anchor import (
    AnchorMCID,
    UndefinedMCIDError,
    anchor_from_rating,
    anchor_mcid,
    roc_table,
)
from prom.instruments.mcid_distribution import DistributionMCID, distribution_mcid
from prom.instruments.mcid_inputs import MIN_GROUP_SIZE, MCIDInputError

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
