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
import pandas as pd
from scipy.special import ndtr, ndtri
from scipy.stats import rankdata

from prom.errors import StatisticalWarning, format_values
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


def _auc(y: np.ndarray, p: np.ndarray) -> float:
    """Mann-Whitney AUC from the rank sum of the cases (ties half credit)."""
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
    return _auc(ya, pa)


def auc_ci(y, p, level: float = 0.95) -> AUCResult:
    """AUC with DeLong's standard error and confidence interval.

    Matches pROC ``ci.auc(roc(y, p, direction = "<"), method = "delong")``: the
    variance is ``var(V10)/m + var(V01)/n`` over the m events' and n non-events'
    placement values, and the interval ``auc ± z·se`` is cut to [0, 1].
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
        low=max(0.0, auc - half),
        high=min(1.0, auc + half),
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
        summing to 1, column i for ``classes[i]``.
    classes : the k class labels, in the column order of ``P``.

    Agrees with ``sklearn.metrics.roc_auc_score(y, P, multi_class="ovr",
    labels=classes)`` for ``average="macro"`` and ``"weighted"``. Every class must
    occur at least once and no row may have a label outside ``classes``.
    """
    classes, codes, Pa = _multiclass_inputs(y_labels, P, classes)
    k = len(classes)
    counts = np.bincount(codes, minlength=k)
    if counts.min() < _checks.MIN_EVENTS:
        warnings.warn(
            f"smallest class has {counts.min()} rows; one-vs-rest AUCs are unstable with "
            f"fewer than {_checks.MIN_EVENTS}.",
            StatisticalWarning,
            stacklevel=2,
        )
    aucs = tuple(_auc((codes == i).astype(float), Pa[:, i]) for i in range(k))
    a = np.array(aucs)
    return MulticlassAUC(
        macro=float(a.mean()),
        weighted=float(np.average(a, weights=counts)),
        classes=classes,
        per_class=aucs,
        counts=tuple(int(c) for c in counts),
    )


def _multiclass_inputs(y_labels, P, classes):
    """Validated ``(classes, codes, P)``: ``codes[i]`` is the column of row i's label."""
    if isinstance(classes, str | bytes) or not isinstance(
        classes, Sequence | np.ndarray | pd.Index
    ):
        raise TypeError(
            f"classes must be a sequence of class labels; got {type(classes).__name__}."
        )
    classes = tuple(classes.tolist() if hasattr(classes, "tolist") else classes)
    k = len(classes)
    if k < 2 or len(set(classes)) != k:
        raise ValueError(f"classes must hold at least 2 distinct labels; got {classes!r}.")
    if y_labels is None or isinstance(y_labels, str | bytes | dict) or np.isscalar(y_labels):
        raise TypeError(
            f"y_labels must be a 1-D array-like of labels; got {type(y_labels).__name__}."
        )
    labels = y_labels if isinstance(y_labels, pd.Series) else pd.Series(y_labels)

    def rows(idx):
        return _checks.where_rows(y_labels, idx)

    miss = np.flatnonzero(labels.isna().to_numpy())
    if miss.size:
        raise ValueError(
            f"y_labels has {miss.size} missing value(s) ({rows(miss)}); "
            "remove or impute those rows first."
        )
    Pa = np.asarray(P.to_numpy() if isinstance(P, pd.DataFrame) else P)
    if Pa.dtype.kind not in "iuf":
        raise TypeError(f"P must be a numeric array of probabilities; got dtype {Pa.dtype}.")
    Pa = Pa.astype(float, copy=False)
    if Pa.ndim != 2 or Pa.shape[1] != k:
        raise ValueError(
            f"P must have shape (n, {k}), one column per class in `classes`; got {Pa.shape}."
        )
    _checks.same_length(y_labels=labels.to_numpy(), P=Pa)
    bad = np.flatnonzero(np.isnan(Pa).any(axis=1))
    if bad.size:
        raise ValueError(f"P has missing values in {bad.size} row(s) ({rows(bad)}).")
    bad = np.flatnonzero(((Pa < 0) | (Pa > 1)).any(axis=1))
    if bad.size:
        raise ValueError(
            f"P must hold probabilities in [0, 1]; {bad.size} row(s) do not ({rows(bad)})."
        )
    sums = Pa.sum(axis=1)
    bad = np.flatnonzero(~np.isclose(sums, 1.0, rtol=0, atol=1e-8))
    if bad.size:
        raise ValueError(
            f"rows of P must sum to 1 (class probabilities); {bad.size} row(s) do not "
            f"({rows(bad)}; sums {sums[bad].min():g} to {sums[bad].max():g}). "
            "Normalise them, or pass softmax outputs."
        )
    lab = labels.to_numpy()
    codes = pd.Index(classes).get_indexer(lab)
    bad = np.flatnonzero(codes < 0)
    if bad.size:
        raise ValueError(
            f"y_labels has {bad.size} label(s) not in classes ({rows(bad)}; labels "
            f"{format_values(pd.unique(lab[bad]).tolist())}); classes are {classes!r}."
        )
    counts = np.bincount(codes, minlength=k)
    if (counts == 0).any():
        absent = [c for c, m in zip(classes, counts, strict=True) if m == 0]
        raise ValueError(
            f"class(es) {absent!r} never occur in y_labels; their one-vs-rest AUC is undefined."
        )
    return classes, codes, Pa
