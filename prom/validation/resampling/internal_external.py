"""Internal–external cross-validation: leave one site out at a time.

:func:`internal_external_cv` fits on all sites but one and predicts the held-out site, for
every site in turn (Royston, Parmar & Sylvester, Stat Med 2004; 23:907; Steyerberg &
Harrell, J Clin Epidemiol 2016; 69:245), and reports per-site performance, the pooled
out-of-site performance and a random-effects meta-analysis across sites
(:func:`~prom.validation.meta_analysis.random_effects_meta`; Debray et al., BMJ 2017;
356:i6460; Riley et al., BMJ 2016; 353:i3140).
"""

from __future__ import annotations

import warnings
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.special import expit, logit, ndtri

from prom.errors import StatisticalWarning
from prom.options import Count, check_option
from prom.parallel import CaughtWarning, parallel_map, reissue_warnings, resolve_n_jobs
from prom.validation import _checks
from prom.validation.calibration import calibration_intercept_slope
from prom.validation.discrimination import auc_ci
from prom.validation.meta_analysis import random_effects_meta
from prom.validation.outcome_encoding import encode_outcome
from prom.validation.resampling.fitting import fit_predict_held_out
from prom.validation.resampling.inputs import check_estimator, check_groups, check_rows
from prom.validation.resampling.scores import CLIP, warn_notes
from prom.validation.subgroups import MIN_PUBLISHED_ROWS

__all__ = ["IECVResult", "internal_external_cv"]


@dataclass(frozen=True)
class IECVResult:
    """Leave-one-site-out (internal–external) cross-validation.

    ``per_site``: one row per site: ``n``, ``events``, ``auc`` with its DeLong ``auc_se``,
    ``auc_low``, ``auc_high``; ``citl``, ``calibration_intercept``, ``calibration_slope``
    (with ``slope_low``/``slope_high``); ``o_e`` (observed / expected events) with
    ``o_e_low``/``o_e_high`` (``se(ln O/E) = sqrt((1 - O/n) / O)``, Debray et al. 2017);
    ``brier``; ``reason``, set when the site's metrics were not estimated (too few
    events or non-events, or a training set without both classes); ``note``, set when
    the site has fewer than 10 events or non-events (possible with ``min_events`` below
    10) or the calibration slope could not be estimated (constant or separating
    predictions). ``pooled``: the same
    metrics on all out-of-site predictions together (one row). ``meta``: random-effects
    meta-analyses of the site estimates (rows ``auc`` on the logit scale, ``o_e`` on the
    log scale, ``calibration_slope`` as is, each back-transformed): ``estimate``,
    ``low``, ``high``, ``pi_low``, ``pi_high``, ``tau2`` (on the analysis scale), ``i2``,
    ``k``. ``predictions``: every row's out-of-site probability.
    """

    per_site: pd.DataFrame
    pooled: pd.DataFrame
    meta: pd.DataFrame
    predictions: np.ndarray
    min_events: int
    level: float

    def to_frame(self) -> pd.DataFrame:
        return self.per_site.copy()

    def summary(self) -> str:
        ok = self.per_site["reason"].isna()
        lines = [
            (
                f"Internal-external cross-validation over {len(self.per_site)} sites "
                f"({int(ok.sum())} with site-level metrics):"
            )
        ]
        for site, r in self.per_site.iterrows():
            if pd.isna(r.reason):
                lines.append(
                    f"  {site!s:<16} n={r.n:<6} events={r.events:<5} AUC {r.auc:.3f} "
                    f"({r.auc_low:.3f}-{r.auc_high:.3f})  slope {r.calibration_slope:.2f}"
                    f"  O/E {r.o_e:.2f}"
                )
            else:
                lines.append(f"  {site!s:<16} n={r.n:<6} events={r.events:<5} {r.reason}")
        p = self.pooled.iloc[0]
        lines.append(
            f"  pooled out-of-site: AUC {p.auc:.3f} ({p.auc_low:.3f}-{p.auc_high:.3f}),"
            f" slope {p.calibration_slope:.2f}, O/E {p.o_e:.2f}, Brier {p.brier:.3f}"
        )
        for m, r in self.meta.iterrows():
            pi = (
                f", {round(100 * self.level)}% prediction interval {r.pi_low:.3f} to "
                f"{r.pi_high:.3f}"
                if np.isfinite(r.pi_low)
                else ""
            )
            lines.append(
                f"  random-effects {m}: {r.estimate:.3f} ({r.low:.3f} to {r.high:.3f})"
                f"{pi}, tau2 {r.tau2:.4f}, I2 {100 * r.i2:.0f}%"
            )
        return "\n".join(lines)


_SITE_COLS = (
    "n",
    "events",
    "auc",
    "auc_se",
    "auc_low",
    "auc_high",
    "citl",
    "calibration_intercept",
    "calibration_slope",
    "slope_se",
    "slope_low",
    "slope_high",
    "o_e",
    "o_e_low",
    "o_e_high",
    "brier",
)


def _site_metrics(y: np.ndarray, p: np.ndarray, level: float) -> tuple[dict, int, str | None]:
    """Metrics of one site's (or the pooled) predictions, the number of clipped
    predictions, and a note when the calibration slope could not be estimated."""
    z = float(ndtri(1 - (1 - level) / 2))
    pc = np.clip(p, CLIP, 1 - CLIP)
    note = None
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        a = auc_ci(y, p, level=level)
        if pc.min() < pc.max():
            c = calibration_intercept_slope(y, pc, level=level)
            cal = {
                "citl": c.citl,
                "calibration_intercept": c.intercept,
                "calibration_slope": c.slope,
                "slope_se": c.slope_se,
                "slope_low": c.slope_low,
                "slope_high": c.slope_high,
            }
        else:
            note = "constant predictions: no calibration slope"
            cal = {"citl": float(logit(y.mean()) - logit(pc[0]))}
    if any("did not converge" in str(w.message) for w in caught):
        note = "predictions separate the outcome (AUC = 1): no calibration slope"
    o, e = float(y.sum()), float(p.sum())
    se_ln = np.sqrt((1 - o / y.size) / o)
    met = {
        "n": int(y.size),
        "events": int(o),
        "auc": a.auc,
        "auc_se": a.se,
        "auc_low": a.low,
        "auc_high": a.high,
        **cal,
        "o_e": o / e,
        "o_e_low": o / e * np.exp(-z * se_ln),
        "o_e_high": o / e * np.exp(z * se_ln),
        "brier": float(np.mean((p - y) ** 2)),
    }
    return met, int(np.count_nonzero(pc != p)), note


def internal_external_cv(
    estimator,
    X,
    y,
    groups,
    *,
    min_events: int = 10,
    n_jobs: int = 1,
    level: float = 0.95,
    progress: Callable[[int, int], None] | None = None,
) -> IECVResult:
    """Leave one site out at a time: fit on the other sites, evaluate on the held-out one.

    For each site (each distinct value of ``groups``), a clone of ``estimator`` is fitted
    on all other sites and predicts the held-out site's rows, so every row gets an
    out-of-site prediction. Site-level metrics (see :class:`IECVResult`) are estimated
    when the site has at least ``min_events`` events and ``min_events`` non-events;
    otherwise the site keeps a row with the reason, its rows still count in the pooled
    metrics, and it is left out of the meta-analysis (with a
    :class:`~prom.errors.StatisticalWarning`).

    Across sites, the AUC is meta-analysed on the logit scale with
    ``se(logit AUC) = se(AUC) / (AUC (1 - AUC))`` (delta method) and O/E on the log scale
    (the scales recommended by Debray et al., BMJ 2017; 356:i6460), the calibration slope
    on its own scale, each by DerSimonian–Laird with a prediction interval from
    ``t(k - 2)`` (:func:`random_effects_meta`; Riley, Higgins & Deeks, BMJ 2011;
    342:d549; Riley et al., BMJ 2016; 353:i3140). The pooled metrics mix
    between-site differences into one number; the meta-analysis and its prediction
    interval say how much performance varies from one site to the next.

    Binary outcomes only. ``progress(done, total)`` is called as each held-out site's fit
    finishes.
    """
    check_estimator(estimator)
    out = encode_outcome(y)
    if out.kind != "binary":
        raise ValueError(
            f"internal_external_cv is for binary (0/1) outcomes; y has {len(out.classes)} classes."
        )
    n = out.codes.size
    check_rows(X, y, n)
    g = check_groups(groups, n)
    min_events = check_option("min_events", min_events, Count(1))
    level = _checks.level_arg(level)
    n_jobs = resolve_n_jobs(n_jobs)
    sites = pd.unique(g)
    if sites.size < 2:
        raise ValueError(
            f"groups has a single site ({sites[0]!r}); internal-external "
            "cross-validation needs at least 2 (3 for a prediction interval)."
        )
    yv = out.codes.astype(float)
    masks = [g == s for s in sites]
    tasks: list[tuple] = []
    reasons: dict = {}
    for s, m in zip(sites, masks, strict=True):
        train_y = out.codes[~m]
        if train_y.min() == train_y.max():
            reasons[s] = "the other sites have a single outcome class: no model was fitted"
            continue
        tasks.append(
            (estimator, X, out.fit_y, np.flatnonzero(~m), np.flatnonzero(m), out.classes, out.kind)
        )
    fitted_sites = [s for s in sites if s not in reasons]
    results = parallel_map(
        fit_predict_held_out,
        tasks,
        n_jobs,
        None if progress is None else lambda i, _: progress(i + 1, len(tasks)),
    )
    preds = np.full(n, np.nan)
    caught: list[CaughtWarning] = []
    for s, ((p,), w) in zip(fitted_sites, results, strict=True):
        preds[g == s] = p
        caught += w
    reissue_warnings(caught, "while fitting in internal-external cross-validation")

    rows, clipped = [], 0
    for s, m in zip(sites, masks, strict=True):
        ev = int(yv[m].sum())
        row = {"site": s, "n": int(m.sum()), "events": ev}
        non = row["n"] - ev
        if s not in reasons and min(ev, non) < min_events:
            counts = (  # a count below the subgroups' rule is not published
                f"{ev} events and {non} non-events"
                if min(ev, non) >= MIN_PUBLISHED_ROWS
                else f"fewer than {MIN_PUBLISHED_ROWS} rows"
                if row["n"] < MIN_PUBLISHED_ROWS
                else f"fewer than {min_events} {'events' if ev <= non else 'non-events'}"
            )
            reasons[s] = (
                f"{counts}; site-level metrics need at least "
                f"min_events={min_events} of each (rows kept in the pooled results)"
            )
        if s in reasons:
            row["reason"] = reasons[s]
        else:
            met, c, note = _site_metrics(yv[m], preds[m], level)
            clipped += c
            row.update(met)
            row["reason"] = None
            if min(ev, non) < _checks.MIN_EVENTS:
                few = (
                    f"{min(ev, non)} {'events' if ev <= non else 'non-events'}: site-level "
                    f"estimates are unstable with fewer than {_checks.MIN_EVENTS}"
                )
                note = few if note is None else f"{few}; {note}"
            row["note"] = note
        rows.append(row)
    per_site = pd.DataFrame(rows, columns=["site", *_SITE_COLS, "reason", "note"])
    per_site = per_site.set_index("site")
    per_site[["reason", "note"]] = per_site[["reason", "note"]].astype(object)
    done = np.isfinite(preds)
    if np.unique(yv[done]).size == 2:
        pooled_met, c, note = _site_metrics(yv[done], preds[done], level)
        clipped += c
    else:
        pooled_met = {"n": int(done.sum()), "events": int(yv[done].sum())}
        note = "the out-of-site predictions cover a single outcome class: nothing to evaluate"
    pooled = pd.DataFrame([{**pooled_met, "note": note}], columns=[*_SITE_COLS, "note"])
    if clipped:
        warn_notes(Counter[str](), clipped, n, "internal-external cross-validation", "")
    skipped = per_site[per_site["reason"].notna()]
    if len(skipped):
        shown = "; ".join(f"{s!r}: {r}" for s, r in skipped["reason"].items())
        warnings.warn(
            f"{len(skipped)} of {len(sites)} sites have no site-level metrics and are left out "
            f"of the meta-analysis ({shown}).",
            StatisticalWarning,
            stacklevel=2,
        )

    ok = per_site[per_site["reason"].isna()]
    meta_rows = []
    if len(ok) >= 2:
        auc = ok["auc"].to_numpy(float)
        with np.errstate(divide="ignore"):
            specs = {
                "auc": (logit(auc), ok["auc_se"].to_numpy(float) / (auc * (1 - auc)), expit),
                "o_e": (
                    np.log(ok["o_e"].to_numpy(float)),
                    np.sqrt((1 - ok["events"] / ok["n"]) / ok["events"]).to_numpy(float),
                    np.exp,
                ),
                "calibration_slope": (
                    ok["calibration_slope"].to_numpy(float),
                    ok["slope_se"].to_numpy(float),
                    lambda v: v,
                ),
            }
        for name, (est, se, back) in specs.items():
            fin = np.isfinite(est) & np.isfinite(se) & (se > 0)
            if fin.sum() < 2:
                continue
            ma = random_effects_meta(est[fin], se[fin], level=level)
            meta_rows.append(
                {
                    "metric": name,
                    "estimate": float(back(ma.estimate)),
                    "low": float(back(ma.low)),
                    "high": float(back(ma.high)),
                    "pi_low": float(back(ma.pi_low)),
                    "pi_high": float(back(ma.pi_high)),
                    "tau2": ma.tau2,
                    "i2": ma.i2,
                    "k": ma.k,
                }
            )
    meta = pd.DataFrame(
        meta_rows,
        columns=["metric", "estimate", "low", "high", "pi_low", "pi_high", "tau2", "i2", "k"],
    ).set_index("metric")
    preds.flags.writeable = False
    return IECVResult(
        per_site=per_site,
        pooled=pooled,
        meta=meta,
        predictions=preds,
        min_events=min_events,
        level=level,
    )
