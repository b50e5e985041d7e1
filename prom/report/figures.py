"""The report's figures, drawn from validation-record data (never from patient rows).

Each function takes the numbers to draw and ``ax=None``; without an axis it makes a new
``matplotlib.figure.Figure`` (never pyplot, so nothing global is touched and it works
without a display) and returns the axis — ``ax.figure`` is what gets embedded.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

__all__ = [
    "roc_plot",
    "calibration_plot",
    "decision_plot",
    "forest_plot",
    "km_plot",
    "risk_calibration_plot",
]

#: Colour of each model family (stable across figures; others get the cycle's next).
COLOURS = {
    "logistic": "#222222",
    "elastic_net": "#1f77b4",
    "random_forest": "#2ca02c",
    "xgboost": "#d62728",
    "lightgbm": "#9467bd",
    "cox": "#222222",
    "cox_ridge": "#1f77b4",
}
_CYCLE = ("#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf")


def _axis(ax, size=(5.2, 4.2)):
    if ax is not None:
        return ax
    from matplotlib.figure import Figure

    return Figure(figsize=size, layout="constrained").add_subplot()


def _colour(name: str, i: int) -> str:
    return COLOURS.get(name, _CYCLE[i % len(_CYCLE)])


def roc_plot(curves: Mapping[str, tuple[Sequence, Sequence, float]], *, title: str = "", ax=None):
    """ROC curves: ``{label: (fpr, tpr, auc)}``; the AUC is shown in the legend."""
    ax = _axis(ax)
    ax.plot([0, 1], [0, 1], color="#bbbbbb", lw=1, ls="--")
    for i, (name, (fpr, tpr, auc)) in enumerate(curves.items()):
        ax.plot(fpr, tpr, color=_colour(name, i), lw=1.6, label=f"{name} (AUC {auc:.3f})")
    ax.set(
        xlim=(0, 1),
        ylim=(0, 1.01),
        xlabel="1 − specificity (false-positive rate)",
        ylabel="sensitivity (true-positive rate)",
        title=title,
    )
    ax.set_aspect("equal")
    ax.legend(loc="lower right", fontsize=7.5, frameon=False)
    return ax


def calibration_plot(
    curves: Mapping[str, Mapping],
    *,
    histogram: Mapping | None = None,
    bands: Sequence[str] | None = None,
    title: str = "",
    ax=None,
):
    """Smoothed calibration curves: ``{label: {predicted, observed, low, high}}``, with
    their bands for the labels in ``bands`` (default all); ``histogram`` (edges, events,
    non_events) of one model's predictions is drawn as small bars along the bottom (events
    up, non-events down)."""
    ax = _axis(ax, (5.2, 4.6))
    ax.plot([0, 1], [0, 1], color="#bbbbbb", lw=1, ls="--", label="ideal")
    top = 0.0
    for i, (name, c) in enumerate(curves.items()):
        x = np.asarray(c["predicted"], dtype=float)
        colour = _colour(name, i)
        banded = bands is None or name in bands
        ax.plot(
            x,
            np.asarray(c["observed"], dtype=float),
            color=colour,
            lw=1.6 if banded else 1.0,
            label=name,
        )
        if banded and c.get("low") is not None:
            ax.fill_between(
                x,
                np.asarray(c["low"], dtype=float),
                np.asarray(c["high"], dtype=float),
                color=colour,
                alpha=0.12,
                lw=0,
            )
        top = max(top, float(np.nanmax(x)))
    lim = min(1.0, max(0.2, 1.08 * top))
    if histogram is not None:
        edges = np.asarray(histogram["edges"], dtype=float)
        ev, ne = (np.asarray(histogram[k], dtype=float) for k in ("events", "non_events"))
        scale = 0.08 * lim / max(ev.max(), ne.max(), 1)
        w = np.diff(edges)
        ax.bar(
            edges[:-1],
            ev * scale,
            width=w,
            align="edge",
            bottom=0,
            color="#999999",
            lw=0,
            alpha=0.6,
        )
        ax.bar(
            edges[:-1],
            -ne * scale,
            width=w,
            align="edge",
            bottom=0,
            color="#cccccc",
            lw=0,
            alpha=0.8,
        )
    ax.axhline(0, color="#999999", lw=0.5)
    ax.set(
        xlim=(0, lim),
        ylim=(-0.1 * lim if histogram is not None else 0, lim),
        xlabel="predicted probability",
        ylabel="observed proportion",
        title=title,
    )
    ax.legend(loc="upper left", fontsize=7.5, frameon=False)
    return ax


def decision_plot(
    thresholds: Sequence,
    models: Mapping[str, Sequence],
    treat_all: Sequence,
    *,
    prevalence: float,
    title: str = "",
    ax=None,
):
    """Net benefit against the threshold probability, with treat-all and treat-none."""
    ax = _axis(ax, (5.6, 4.2))
    t = np.asarray(thresholds, dtype=float)
    ax.plot(t, np.asarray(treat_all, dtype=float), color="#888888", lw=1.2, label="treat all")
    ax.axhline(0, color="#444444", lw=1.0, ls=":", label="treat none")
    for i, (name, nb) in enumerate(models.items()):
        ax.plot(t, np.asarray(nb, dtype=float), color=_colour(name, i), lw=1.5, label=name)
    hi = max(prevalence, 0.02)
    ax.set(
        xlim=(0, min(0.99, max(0.5, 1.6 * prevalence))),
        ylim=(-0.25 * hi, 1.1 * hi),
        xlabel="threshold probability",
        ylabel="net benefit",
        title=title,
    )
    ax.legend(loc="upper right", fontsize=7.5, frameon=False)
    return ax


def forest_plot(
    labels: Sequence[str],
    est: Sequence,
    low: Sequence,
    high: Sequence,
    *,
    weights: Sequence | None = None,
    summary: tuple | None = None,
    prediction: tuple | None = None,
    reference: float | None = None,
    xlabel: str = "",
    title: str = "",
    ax=None,
):
    """One row per site (point and interval, point size by ``weights``), then the pooled
    ``summary`` (estimate, low, high) as a diamond with its ``prediction`` interval."""
    n = len(labels)
    ax = _axis(ax, (5.2, 0.9 + 0.3 * (n + 2)))
    y = np.arange(n)[::-1] + 2.0
    w = np.ones(n) if weights is None else np.asarray(weights, dtype=float)
    size = 15 + 60 * w / max(w.max(initial=0.0), 1)  # no site with metrics: no points
    for yi, e, lo, hi, s in zip(y, est, low, high, size, strict=True):
        if e is None or not np.isfinite(e):
            continue
        ax.plot([lo, hi], [yi, yi], color="#333333", lw=1.2)
        ax.scatter([e], [yi], s=s, marker="s", color="#333333", zorder=3)
    ticks, names = list(y), list(labels)
    if summary is not None and all(v is not None and np.isfinite(v) for v in summary):
        e, lo, hi = summary
        ax.fill([lo, e, hi, e], [0.5, 0.75, 0.5, 0.25], color="#1f77b4", zorder=3)
        if prediction is not None and all(v is not None and np.isfinite(v) for v in prediction):
            ax.plot(prediction, [0.5, 0.5], color="#1f77b4", lw=1, ls="--")
        ticks.append(0.5)
        names.append("pooled (random effects)")
    if reference is not None:
        ax.axvline(reference, color="#999999", lw=0.8, ls=":")
    ax.set_yticks(ticks, names, fontsize=8)
    ax.set(ylim=(0, n + 2.5), xlabel=xlabel, title=title)
    return ax


def km_plot(
    time: Sequence,
    groups: Mapping[str, Mapping],
    *,
    unit: str = "months",
    ylabel: str = "free of surgery",
    title: str = "",
    ax=None,
):
    """Kaplan–Meier curves (steps) with their bands, one per group."""
    ax = _axis(ax, (5.6, 4.2))
    t = np.asarray(time, dtype=float)
    palette = {"low": "#2ca02c", "middle": "#ff7f0e", "high": "#d62728"}
    for i, (name, g) in enumerate(groups.items()):
        colour = palette.get(name, _CYCLE[i % len(_CYCLE)])
        s = np.asarray(g["survival"], dtype=float)
        ax.step(t, s, where="post", color=colour, lw=1.5, label=f"{name} predicted risk")
        ax.fill_between(
            t,
            np.asarray(g["low"], dtype=float),
            np.asarray(g["high"], dtype=float),
            step="post",
            color=colour,
            alpha=0.12,
            lw=0,
        )
    ax.set(
        xlim=(0, float(np.nanmax(t))),
        ylim=(0, 1.01),
        xlabel=f"time ({unit})",
        ylabel=ylabel,
        title=title,
    )
    ax.legend(loc="lower left", fontsize=7.5, frameon=False)
    return ax


def risk_calibration_plot(
    predicted: Sequence,
    observed: Sequence,
    low: Sequence,
    high: Sequence,
    *,
    horizon_label: str,
    title: str = "",
    ax=None,
):
    """Mean predicted risk against the Kaplan–Meier risk (with interval) by risk group."""
    ax = _axis(ax, (4.6, 4.4))
    p, o = np.asarray(predicted, dtype=float), np.asarray(observed, dtype=float)
    lo, hi = np.asarray(low, dtype=float), np.asarray(high, dtype=float)
    lim = min(1.0, 1.15 * float(np.nanmax(np.r_[p, hi])))
    ax.plot([0, lim], [0, lim], color="#bbbbbb", lw=1, ls="--")
    ax.errorbar(p, o, yerr=[o - lo, hi - o], fmt="o", color="#222222", ms=4, lw=1, capsize=2)
    ax.set(
        xlim=(0, lim),
        ylim=(0, lim),
        xlabel=f"predicted risk by {horizon_label}",
        ylabel=f"observed (Kaplan–Meier) risk by {horizon_label}",
        title=title,
    )
    ax.set_aspect("equal")
    return ax
