"""Survival metrics: Harrell's concordance, Kaplan-Meier, calibration at a horizon.

``concordance``/``harrell_c`` count pairs exactly as ``survival::concordance`` (survival
3.5-3) with ``reverse = TRUE`` and its defaults (``timewt = "n"``): see
:func:`concordance` for which pairs count. The standard error is survival's infinitesimal
jackknife. Pair counts use an O(n log² n) merge-tree count, vectorised over the levels of
the tree, so n = 100,000 takes a fraction of a second.

``kaplan_meier`` is a vectorised product-limit estimate with Greenwood's variance and
survfit's default ``conf.type = "log"`` interval; ``survival_calibration_at`` compares
mean predicted survival with Kaplan-Meier survival at a horizon in risk groups;
``survival_calibration_slope`` is the coefficient of a one-variable Cox model of the
outcome on a held-out score (``coxph(Surv(time, event) ~ score)``, Efron or Breslow ties).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from numbers import Real

import numpy as np
import pandas as pd
from scipy.special import ndtri
from scipy.stats import rankdata

from prom.errors import StatisticalWarning
from prom.validation import _checks

__all__ = [
    "Concordance",
    "concordance",
    "harrell_c",
    "kaplan_meier",
    "survival_calibration_at",
    "SurvivalSlope",
    "survival_calibration_slope",
]


@dataclass(frozen=True)
class Concordance:
    """Harrell's C with its pair counts (names as ``survival::concordance``).

    ``c = (concordant + tied_risk / 2) / (concordant + discordant + tied_risk)``;
    ``se`` is survival's infinitesimal-jackknife standard error. ``tied_time`` (events
    at the same time, different risk) and ``tied_both`` (same time and risk) are counted
    but, as in survival, are not comparable pairs.
    """

    c: float
    se: float
    concordant: int
    discordant: int
    tied_risk: int
    tied_time: int
    tied_both: int
    n: int
    n_events: int


# ---- inputs ----------------------------------------------------------------------------


def _few_events(n_events: int, what: str) -> None:
    if n_events < _checks.MIN_EVENTS:
        warnings.warn(
            f"only {n_events} events; {what} is unstable with fewer than {_checks.MIN_EVENTS}.",
            StatisticalWarning,
            stacklevel=3,
        )


# ---- concordance -----------------------------------------------------------------------


def _prefix_counts(pc, pr, qe, qr, n_ranks):
    """For each query j: how many points have coordinate < ``qe[j]`` and rank < / ==
    ``qr[j]``. Coordinates are non-negative integers; [0, e) is split into dyadic blocks
    (one per set bit of e) and each level's blocks are counted with one sort and a
    binary search, so the cost is O((points + queries) log² n)."""
    lt = np.zeros(qe.size, dtype=np.int64)
    eq = np.zeros(qe.size, dtype=np.int64)
    if pc.size == 0 or qe.size == 0:
        return lt, eq
    top = int(max(pc.max(), qe.max())).bit_length() + 1
    for level in range(top):
        sel = np.flatnonzero((qe >> level) & 1)
        if sel.size == 0:
            continue
        keys = np.sort((pc >> level) * n_ranks + pr)
        base = ((qe[sel] >> level) - 1) * n_ranks
        target = base + qr[sel]
        lo = np.searchsorted(keys, base, side="left")
        a = np.searchsorted(keys, target, side="left")
        b = np.searchsorted(keys, target, side="right")
        lt[sel] += a - lo
        eq[sel] += b - a
    return lt, eq


def count_concordance(t: np.ndarray, e: np.ndarray, risk: np.ndarray) -> Concordance:
    """:func:`concordance` of arrays already checked (times, 0/1 events, finite risks of one
    length): no input checks and no warnings, for resampling loops."""
    n = t.size
    order = np.lexsort((-e, t))  # time ascending, events before censorings at a tie
    ts, es = t[order], e[order].astype(bool)
    _, rk = np.unique(risk[order], return_inverse=True)
    rk = rk.astype(np.int64)
    n_ranks = int(rk.max()) + 1
    pos = np.arange(n, dtype=np.int64)
    # first partner of each event: after the events tied with it (censorings at the same
    # time come after the events and do count as longer survivors)
    group_start = np.searchsorted(ts, ts, side="left")
    ev_time = ts[es]
    d_at = np.searchsorted(ev_time, ts, side="right") - np.searchsorted(ev_time, ts, side="left")
    start = (group_start + d_at).astype(np.int64)
    ev = np.flatnonzero(es)
    # events as the shorter-lived member: partners are positions [start, n)
    by_rank = np.bincount(rk, minlength=n_ranks)
    below = np.concatenate([[0], np.cumsum(by_rank)])
    p_lt, p_eq = _prefix_counts(pos, rk, start[ev], rk[ev], n_ranks)
    lt1 = below[rk[ev]] - p_lt
    eq1 = by_rank[rk[ev]] - p_eq
    gt1 = (n - start[ev]) - lt1 - eq1
    # every row as the longer-lived member: partners are events with start <= position
    s_sorted = np.sort(start[ev])
    q_lt, q_eq = _prefix_counts(start[ev], rk[ev], pos + 1, rk, n_ranks)
    q_all = np.searchsorted(s_sorted, pos + 1, side="left")
    q_gt = q_all - q_lt - q_eq
    # concordant: the earlier event has the higher risk (reverse = TRUE)
    conc = np.zeros(n)
    disc = np.zeros(n)
    tie = np.zeros(n)
    conc[ev] += lt1
    disc[ev] += gt1
    tie[ev] += eq1
    conc += q_gt
    disc += q_lt
    tie += q_eq
    n_conc, n_disc, n_tie = int(lt1.sum()), int(gt1.sum()), int(eq1.sum())
    npair = n_conc + n_disc + n_tie
    # events tied in time: counted by survival as tied.y / tied.xy, never comparable
    if ev.size:
        _, d_t = np.unique(ev_time, return_counts=True)
        _, d_tr = np.unique(np.column_stack([ev_time, rk[ev]]), axis=0, return_counts=True)
        tied_both = int((d_tr * (d_tr - 1) // 2).sum())
        tied_time = int((d_t * (d_t - 1) // 2).sum()) - tied_both
    else:
        tied_time = tied_both = 0
    if npair == 0:
        raise ValueError(
            "no comparable pairs: a pair counts only when the shorter time is an event "
            f"(there are {int(es.sum())} events among {n} rows)."
        )
    somer = (n_conc - n_disc) / npair
    dfbeta = ((conc - disc) - somer * (conc + disc + tie)) / npair
    se = float(np.sqrt((dfbeta**2).sum() / 4))
    return Concordance(
        c=(somer + 1) / 2,
        se=se,
        concordant=n_conc,
        discordant=n_disc,
        tied_risk=n_tie,
        tied_time=tied_time,
        tied_both=tied_both,
        n=n,
        n_events=int(es.sum()),
    )


def concordance(time, event, risk) -> Concordance:
    """Harrell's C for a risk score (higher = earlier event), with survival's SE.

    The same as ``survival::concordance(Surv(time, event) ~ risk, reverse = TRUE)``.
    Which pairs count (i, j with ``time_i <= time_j``):

    * comparable: ``i`` is an event and either ``time_i < time_j``, or the times are
      equal and ``j`` is censored (a censoring at an event time is taken as later);
    * concordant if ``risk_i > risk_j``, discordant if ``risk_i < risk_j``, and a tie in
      risk (``tied_risk``) counts 1/2;
    * not comparable: ``i`` censored before ``j``'s time, two censorings, and two events
      at the same time (``tied_time``; ``tied_both`` when the risks are equal too).

    The standard error is survival's infinitesimal jackknife:
    ``var = sum(dfbeta_k^2) / 4`` with ``dfbeta_k = ((c_k - d_k) - D (c_k + d_k + t_k))
    / npair``, from the concordant, discordant and tied pairs each row is part of and
    Somers' ``D = 2C - 1``. survival's ``timefix`` (merging times that differ by
    rounding error only) is not applied: pass times as recorded.
    """
    a = _checks.survival_inputs(time, event, risk=(risk, "num"))
    _few_events(int(a["event"].sum()), "the concordance")
    return count_concordance(a["time"], a["event"], a["risk"])


def harrell_c(time, event, risk) -> float:
    """Harrell's C of a risk score; see :func:`concordance` for the pairs and the SE."""
    a = _checks.survival_inputs(time, event, risk=(risk, "num"))
    _few_events(int(a["event"].sum()), "the concordance")
    return count_concordance(a["time"], a["event"], a["risk"]).c


# ---- Kaplan-Meier ----------------------------------------------------------------------


def _km_at(t: np.ndarray, e: np.ndarray, at: np.ndarray, z: float):
    """Kaplan-Meier at times ``at``: (n_risk, n_event, surv, se_surv, low, high)."""
    ts = np.sort(t)
    et = np.sort(t[e == 1])
    ut, d = np.unique(et, return_counts=True)
    nr = ts.size - np.searchsorted(ts, ut, side="left")
    surv = np.cumprod(1.0 - d / nr)
    with np.errstate(divide="ignore", invalid="ignore"):
        gw = np.cumsum(d / (nr * (nr - d).astype(float)))
    # position 0 stands for "before the first event": S = 1, Greenwood sum 0
    idx = np.searchsorted(ut, at, side="right")
    s = np.concatenate([[1.0], surv])[idx]
    g = np.concatenate([[0.0], gw])[idx]
    se_log = np.sqrt(g)
    with np.errstate(invalid="ignore", divide="ignore"):
        se = s * se_log
        low = np.where(s > 0, s * np.exp(-z * se_log), np.nan)
        high = np.where(s > 0, np.minimum(1.0, s * np.exp(z * se_log)), np.nan)
    n_risk = ts.size - np.searchsorted(ts, at, side="left")
    n_event = np.searchsorted(et, at, side="right")
    beyond = at > ts[-1]
    for arr in (s, se, low, high):
        arr[beyond] = np.nan
    return n_risk, n_event, s, se, low, high


def kaplan_meier(time, event, times, level: float = 0.95) -> pd.DataFrame:
    """Kaplan-Meier survival at ``times``, as ``summary(survfit(Surv(time, event) ~ 1),
    times = times)``.

    Columns: ``time``; ``n_risk`` (rows with ``time >= t``); ``n_event`` (events with
    time <= t, cumulative); ``survival``; ``std_err`` (Greenwood, of the survival);
    ``low``/``high`` (survfit's default ``conf.type = "log"``:
    ``S * exp(∓z * se(log S))``, the upper limit cut at 1). Times after the last
    follow-up give NaN with a :class:`~prom.errors.StatisticalWarning` (survfit drops
    them).
    """
    level = _checks.level_arg(level)
    a = _checks.survival_inputs(time, event)
    at = _checks.as_numeric_1d(times, "times", allow_bool=False)
    z = float(ndtri(1 - (1 - level) / 2))
    n_risk, n_event, s, se, low, high = _km_at(a["time"], a["event"], at, z)
    if (at > a["time"].max()).any():
        warnings.warn(
            f"{int((at > a['time'].max()).sum())} requested time(s) are after the last "
            f"follow-up ({a['time'].max():g}); survival is NaN there.",
            StatisticalWarning,
            stacklevel=2,
        )
    return pd.DataFrame(
        {
            "time": at,
            "n_risk": n_risk,
            "n_event": n_event,
            "survival": s,
            "std_err": se,
            "low": low,
            "high": high,
        }
    )


def survival_calibration_at(
    time, event, predicted_survival_at_t, t, n_groups: int = 10, level: float = 0.95
) -> pd.DataFrame:
    """Predicted against Kaplan-Meier observed survival at horizon ``t`` in risk groups.

    Rows are ordered by predicted survival and split into ``n_groups`` groups of (near)
    equal size, group 1 with the lowest predicted survival; rows with the same
    prediction always share a group (group = ``floor((min-rank - 1) * n_groups / n)``,
    renumbered 1, 2, … when ties leave a group empty). For each group:

    ``group``, ``n``, ``n_events`` (events at or before ``t``), ``predicted`` (mean
    predicted survival at ``t``), ``observed`` (Kaplan-Meier survival at ``t``),
    ``std_err`` (Greenwood), ``low``/``high`` (log interval, as survfit).

    A group whose follow-up ends before ``t`` gets NaN observed survival and a
    :class:`~prom.errors.StatisticalWarning`; so do fewer than 10 events by ``t``.
    """
    if isinstance(t, bool) or not isinstance(t, Real):
        raise TypeError(f"t must be a number (the horizon, in the units of time); got {t!r}.")
    if not np.isfinite(float(t)) or float(t) <= 0:
        raise ValueError(f"t must be a positive finite horizon; got {t}.")
    level = _checks.level_arg(level)
    a = _checks.survival_inputs(
        time, event, predicted_survival_at_t=(predicted_survival_at_t, "prob")
    )
    tt, ee, pred = a["time"], a["event"], a["predicted_survival_at_t"]
    n = tt.size
    n_groups = _checks.int_arg(n_groups, "n_groups", 1, n)
    events_by_t = int(((tt <= t) & (ee == 1)).sum())
    if events_by_t < _checks.MIN_EVENTS:
        warnings.warn(
            f"only {events_by_t} events at or before t = {t:g}; the comparison "
            f"is unstable with fewer than {_checks.MIN_EVENTS}.",
            StatisticalWarning,
            stacklevel=2,
        )
    raw = (rankdata(pred, method="min").astype(np.int64) - 1) * n_groups // n
    _, group = np.unique(raw, return_inverse=True)
    z = float(ndtri(1 - (1 - level) / 2))
    rows = []
    short = []
    for g in range(int(group.max()) + 1):
        m = group == g
        _, _, s, se, low, high = _km_at(tt[m], ee[m], np.array([float(t)]), z)
        if np.isnan(s[0]):
            short.append(g + 1)
        rows.append(
            {
                "group": g + 1,
                "n": int(m.sum()),
                "n_events": int(((tt[m] <= t) & (ee[m] == 1)).sum()),
                "predicted": float(pred[m].mean()),
                "observed": float(s[0]),
                "std_err": float(se[0]),
                "low": float(low[0]),
                "high": float(high[0]),
            }
        )
    if short:
        warnings.warn(
            f"follow-up ends before t = {t:g} in group(s) {short}; their observed survival is NaN.",
            StatisticalWarning,
            stacklevel=2,
        )
    return pd.DataFrame(rows)


# ---- calibration slope -----------------------------------------------------------------


@dataclass(frozen=True)
class SurvivalSlope:
    """Cox calibration slope with its Wald interval (``ties``: how tied times were handled)."""

    slope: float
    se: float
    low: float
    high: float
    n: int
    n_events: int
    ties: str


def fit_cox_slope(
    t: np.ndarray, e: np.ndarray, x: np.ndarray, ties: str, max_iter: int = 50, tol: float = 1e-12
) -> tuple[float, float]:
    """Newton-Raphson for the partial likelihood of one covariate: (beta, information).

    For arrays already checked (``ties`` ``"efron"`` or ``"breslow"``), no warnings;
    raises :class:`ValueError` when it does not converge (a constant or perfectly ordering
    ``x``). :func:`survival_calibration_slope` is the checked, public form.
    """
    x = x - x.mean()  # the slope does not depend on the centring; exp() stays in range
    order = np.argsort(-t, kind="mergesort")  # descending time
    ts, es, xs = t[order], e[order], x[order]
    # risk set of row i: positions 0 … end[i] (every row with time >= t_i)
    end = np.searchsorted(-ts, -ts, side="right") - 1
    ev = np.flatnonzero(es == 1)
    _, g_first, g_size = np.unique(-ts[ev], return_index=True, return_counts=True)
    g_end = end[ev[g_first]]  # risk-set end of each event time
    grp = np.repeat(np.arange(g_size.size), g_size)  # event → its event time
    # Efron: the l-th of d tied events sees the risk set minus l/d of the tied events
    frac = (np.arange(ev.size) - np.repeat(g_first, g_size)) / np.repeat(g_size, g_size)
    if ties == "breslow":
        frac = np.zeros(ev.size)
    beta = 0.0
    for _ in range(max_iter):
        w = np.exp(beta * xs - (beta * xs).max())
        s0, s1, s2 = (np.cumsum(w * xs**k)[g_end][grp] for k in (0, 1, 2))
        a0, a1, a2 = (np.bincount(grp, weights=w[ev] * xs[ev] ** k)[grp] for k in (0, 1, 2))
        d0, d1, d2 = s0 - frac * a0, s1 - frac * a1, s2 - frac * a2
        m1 = d1 / d0
        score = float(np.sum(xs[ev] - m1))
        info = float(np.sum(d2 / d0 - m1**2))
        if not np.isfinite(info) or info <= 0:
            break
        step = score / info
        beta += step
        if abs(step) <= tol * (1.0 + abs(beta)):
            return beta, info
    raise ValueError(
        "the Cox model of the outcome on the score did not converge (the score may order "
        "events and non-events perfectly, or be constant); no calibration slope"
    )


def survival_calibration_slope(
    time, event, score, *, ties: str = "efron", level: float = 0.95
) -> SurvivalSlope:
    """Calibration slope of a survival model on held-out rows: the coefficient of a Cox
    model of ``(time, event)`` on ``score`` — the model's linear predictor or, to pool
    predictions of different fits, its log cumulative hazard at a horizon
    ``log(-log S(t | x))`` (the two differ by a constant for one model, so give the same
    slope). 1 is ideal; below 1 the predictions are too extreme (overfitting).

    The same as ``coxph(Surv(time, event) ~ score, ties = ties)`` (``"efron"``, R's and
    lifelines' default, or ``"breslow"``); the interval is Wald's, ``slope ± z·se``.
    """
    if ties not in ("efron", "breslow"):
        raise ValueError(f"ties={ties!r}; expected 'efron' or 'breslow'")
    level = _checks.level_arg(level)
    a = _checks.survival_inputs(time, event, score=(score, "num"))
    n_events = int(a["event"].sum())
    if n_events == 0:
        raise ValueError(f"no events among {a['time'].size} rows; a calibration slope needs events")
    if np.ptp(a["score"]) == 0:
        raise ValueError("score is constant; a calibration slope needs varying predictions")
    _few_events(n_events, "the calibration slope")
    beta, info = fit_cox_slope(a["time"], a["event"], a["score"], ties)
    se = float(1.0 / np.sqrt(info))
    z = float(ndtri(1 - (1 - level) / 2))
    return SurvivalSlope(
        slope=float(beta),
        se=se,
        low=beta - z * se,
        high=beta + z * se,
        n=int(a["time"].size),
        n_events=n_events,
        ties=ties,
    )
