"""Discrimination: the AUC (c-statistic), its DeLong interval, DeLong's paired test, and
one-vs-rest AUCs for several classes.

All AUCs give tied predictions half credit (the Mann-Whitney statistic) and assume that
a higher prediction means a higher risk of ``y == 1``: unlike pROC's default
``direction = "auto"``, a model that ranks backwards gets an AUC below 0.5, not a
flipped one.

DeLong variances use the O(n log n) algorithm of Sun & Xu (IEEE Signal Process Lett
2014; 21:1389): the placement values of DeLong, DeLong & Clarke-Pearson (Biometrics
1988; 44:837) come from mid-ranks, within and across classes. This is the computation
of pROC (``ci.auc(method = "delong")``, ``roc.test(method = "delong", paired = TRUE)``),
including its sample variances with n - 1 denominators.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy.special import ndtr, ndtri
from scipy.stats import rankdata

from prom.errors import StatisticalWarning
from prom.validation import _checks

__all__ = [
    "AUCResult",
    "DeLongTest",
    "MulticlassAUC",
    "auc_score",
    "auc_ci",
    "delong_test",
    "multiclass_auc_ovr",
]


@dataclass(frozen=True)
class AUCResult:
    """AUC with its DeLong standard error and a Wald interval on the AUC scale.

    ``low``/``high`` are ``auc ∓ z·se`` truncated to [0, 1], as pROC's ``ci.auc``.
    """

    auc: float
    se: float
    low: float
    high: float
    n: int
    n_events: int
    level: float = 0.95


@dataclass(frozen=True)
class DeLongTest:
    """DeLong's test of two correlated AUCs (same rows): ``diff = auc1 - auc2``.

    ``z = diff / se``, two-sided ``p_value``, and ``low``/``high`` the Wald interval of
    the difference (not truncated), as pROC's ``roc.test(..., paired = TRUE)``.
    """

    auc1: float
    auc2: float
    diff: float
    se: float
    z: float
    p_value: float
    low: float
    high: float
    n: int
    n_events: int
    level: float = 0.95


@dataclass(frozen=True)
class MulticlassAUC:
    """One-vs-rest AUCs: ``per_class[i]`` is the AUC of ``classes[i]`` against the rest.

    ``macro`` is their plain mean (scikit-learn's ``average="macro"``), ``weighted`` the
    mean weighted by class counts (``average="weighted"``).
    """

    macro: float
    weighted: float
    classes: tuple
    per_class: tuple[float, ...]
    counts: tuple[int, ...]

    def as_dict(self) -> dict:
        """``{class: AUC}``."""
        return dict(zip(self.classes, self.per_class, strict=True))


# ---- computation on validated arrays ---------------------------------------------------


def _placements(y: np.ndarray, p: np.ndarray):
    """DeLong placement values by mid-ranks (Sun & Xu 2014, Algorithm 1).

    Returns ``(auc, v10, v01)``: ``v10[i]`` is the share of controls below case i (ties
    count half), ``v01[j]`` the share of cases above control j; ``auc = mean(v10)``.
    """
    cases = y == 1
    x, z = p[cases], p[~cases]
    m, n = x.size, z.size
    tz = rankdata(np.concatenate([x, z]))
    tx, ty = rankdata(x), rankdata(z)
    v10 = (tz[:m] - tx) / n
    v01 = 1.0 - (tz[m:] - ty) / m
    return float(v10.mean()), v10, v01


def auc_from_ranks(y: np.ndarray, p: np.ndarray) -> float:
    """Mann-Whitney AUC from the rank sum of the cases (ties half credit).

    For arrays already checked (``y`` 0/1 with both classes, ``p`` finite): no input
    checks and no warnings, so that resampling loops can call it many times; the public
    :func:`auc_score` checks its inputs and then computes this.
    """
    cases = y == 1
    m = int(cases.sum())
    n = y.size - m
    r = rankdata(p)
    return float((r[cases].sum() - m * (m + 1) / 2) / (m * n))


def _z(level: float) -> float:
    return float(ndtri(1 - (1 - level) / 2))


# ---- public functions ------------------------------------------------------------------


def auc_score(y, p) -> float:
    """Area under the ROC curve (c-statistic) of predictions ``p`` for 0/1 outcome ``y``.

    The probability that a random event gets a higher prediction than a random
    non-event, ties counting one half. ``p`` must be probabilities in [0, 1]; any strictly
    increasing transformation of them gives the same AUC.

    Raises ``ValueError`` when ``y`` has a single class; warns
    (:class:`~prom.errors.StatisticalWarning`) below 10 events or non-events.
    """
    ya, pa, _ = _checks.binary_and_probs(y, p, what="the AUC")
    return auc_from_ranks(ya, pa)


def auc_ci(y, p, level: float = 0.95) -> AUCResult:
    """AUC with DeLong's standard error and confidence interval.

    Matches pROC ``ci.auc(roc(y, p, direction = "<"), method = "delong")``: the
    variance is ``var(V10)/m + var(V01)/n`` over the m events' and n non-events'
    placement values, and the interval ``auc ± z·se`` is cut to [0, 1]. With a single
    event or a single non-event that variance is undefined: ``se``, ``low`` and ``high``
    are NaN (pROC gives NA), not an interval.
    """
    level = _checks.level_arg(level)
    ya, pa, n_events = _checks.binary_and_probs(y, p, what="the AUC interval")
    auc, v10, v01 = _placements(ya, pa)
    var = _delong_var(v10, v01)
    se = float(np.sqrt(var))
    half = _z(level) * se
    return AUCResult(
        auc=auc,
        se=se,
        low=float(np.clip(auc - half, 0.0, 1.0)),  # NaN stays NaN (max(0, nan) is 0)
        high=float(np.clip(auc + half, 0.0, 1.0)),
        n=int(ya.size),
        n_events=n_events,
        level=level,
    )


def _delong_var(v10: np.ndarray, v01: np.ndarray) -> float:
    m, n = v10.size, v01.size
    s10 = np.var(v10, ddof=1) if m > 1 else np.nan
    s01 = np.var(v01, ddof=1) if n > 1 else np.nan
    return float(s10 / m + s01 / n)


def delong_test(y, p1, p2, level: float = 0.95) -> DeLongTest:
    """DeLong's test comparing the AUCs of two predictions of the same outcomes.

    Paired: ``p1`` and ``p2`` are predictions for the same rows. The variance of
    ``auc1 - auc2`` is ``L S L'`` with ``S = S10/m + S01/n`` the 2x2 covariance matrices
    of the placement values and ``L = (1, -1)``. Matches pROC
    ``roc.test(roc1, roc2, method = "delong", paired = TRUE)`` (statistic, p-value and
    ``conf.int``), both curves with ``direction = "<"``. When both AUCs are equal and
    the variance is 0 (identical predictions), ``z = 0`` and ``p_value = 1`` as in pROC.
    """
    level = _checks.level_arg(level)
    ya = _checks.binary_outcome(y)
    pa1 = _checks.probabilities(p1, "p1")
    pa2 = _checks.probabilities(p2, "p2")
    _checks.same_length(y=ya, p1=pa1, p2=pa2)
    n_events, _ = _checks.both_classes(ya, what="DeLong's test")
    auc1, x1, y1 = _placements(ya, pa1)
    auc2, x2, y2 = _placements(ya, pa2)
    m, n = x1.size, y1.size
    if m < 2 or n < 2:
        raise ValueError(
            f"DeLong's test needs at least 2 events and 2 non-events; got {m} and {n}."
        )
    s10 = np.cov(np.vstack([x1, x2]), ddof=1)
    s01 = np.cov(np.vstack([y1, y2]), ddof=1)
    s = s10 / m + s01 / n
    var = s[0, 0] + s[1, 1] - 2 * s[0, 1]
    se = float(np.sqrt(max(var, 0.0)))
    diff = auc1 - auc2
    if se == 0:
        z = 0.0 if diff == 0 else float(np.copysign(np.inf, diff))
    else:
        z = diff / se
    p_value = float(2 * ndtr(-abs(z)))
    half = _z(level) * se
    return DeLongTest(
        auc1=auc1,
        auc2=auc2,
        diff=diff,
        se=se,
        z=z,
        p_value=p_value,
        low=diff - half,
        high=diff + half,
        n=int(ya.size),
        n_events=n_events,
        level=level,
    )


def multiclass_auc_ovr(y_labels, P, classes: Sequence) -> MulticlassAUC:
    """One-vs-rest AUCs for a multi-class outcome.

    Parameters
    ----------
    y_labels : array-like of class labels, one per row.
    P : array of shape (n, k) (or DataFrame) of predicted class probabilities, rows
        summing to 1, column i for ``classes[i]``; a DataFrame whose columns are the
        classes is read by column name, in any order.
    classes : the k class labels, in the column order of ``P``.

    Agrees with ``sklearn.metrics.roc_auc_score(y, P, multi_class="ovr",
    labels=classes)`` for ``average="macro"`` and ``"weighted"``. Every class must
    occur at least once and no row may have a label outside ``classes``.
    """
    classes, codes, Pa = _checks.multiclass_inputs(y_labels, P, classes)
    k = len(classes)
    counts = np.bincount(codes, minlength=k)
    if counts.min() < _checks.MIN_EVENTS:
        warnings.warn(
            f"smallest class has {counts.min()} rows; one-vs-rest AUCs are unstable with "
            f"fewer than {_checks.MIN_EVENTS}.",
            StatisticalWarning,
            stacklevel=2,
        )
    aucs = tuple(auc_from_ranks((codes == i).astype(float), Pa[:, i]) for i in range(k))
    a = np.array(aucs)
    return MulticlassAUC(
        macro=float(a.mean()),
        weighted=float(np.average(a, weights=counts)),
        classes=classes,
        per_class=aucs,
        counts=tuple(int(c) for c in counts),
    )
