"""Report sections drawing the out-of-fold predictions of a binary or multiclass task:
ROC curves, calibration curves with their table, and decision curves."""

from __future__ import annotations

from prom.bundle import ClassifierTaskEntry
from prom.report import figures as figs
from prom.report.html import Markup, cell, ci, el, figure, num, table
from prom.report.sections_cohort import NO_RECORD, note, section, unavailable

__all__ = ["curve_title", "roc_section", "calibration_section", "decision_section"]


def curve_title(entry: ClassifierTaskEntry, what: str) -> str:
    """A figure title naming the CV the curves' out-of-fold predictions come from."""
    return f"{what}, out-of-fold ({entry.settings.n_splits}-fold CV)"


def _roc_curves(curves: dict, entry: ClassifierTaskEntry) -> dict:
    aucs = {r["model"]: r["auc"] for r in entry.comparison}
    return {m: (c["roc"]["fpr"], c["roc"]["tpr"], aucs[m]) for m, c in curves.items()}


def roc_section(tid: str, entry: ClassifierTaskEntry, record: dict | None) -> Markup:
    title = "Discrimination: ROC curves"
    if record is None:
        return section(tid, "roc", title, unavailable("ROC curves", NO_RECORD))
    if record["kind"] == "binary":
        ax = figs.roc_plot(_roc_curves(record["curves"], entry), title=curve_title(entry, "ROC"))
        return section(
            tid,
            "roc",
            title,
            figure(
                ax.figure,
                id=f"{tid}-roc-figure",
                caption="ROC curves of the out-of-fold "
                "predictions (stored on a grid of 201 false-positive rates); AUCs as in the "
                "comparison table.",
            ),
        )
    from matplotlib.figure import Figure

    classes = list(next(iter(record["curves"].values())))
    fig = Figure(figsize=(4.2 * len(classes), 4.2), layout="constrained")
    axes = fig.subplots(1, len(classes))
    for ax, c in zip(axes, classes, strict=True):
        figs.roc_plot(
            {
                m: (v[c]["roc"]["fpr"], v[c]["roc"]["tpr"], v[c]["auc_ovr"])
                for m, v in record["curves"].items()
            },
            title=f"{c} vs rest",
            ax=ax,
        )
    return section(
        tid,
        "roc",
        title,
        figure(
            fig,
            id=f"{tid}-roc-figure",
            caption="One-vs-rest ROC curves per class, out-of-fold; "
            "legend: one-vs-rest AUC of each class (the macro AUC is their mean).",
        ),
    )


def _cal_table(tid: str, entry: ClassifierTaskEntry, record: dict) -> Markup:
    comp = {r["model"]: r for r in entry.comparison}
    rows = []
    for m, c in record["curves"].items():
        e = c["calibration_errors"]
        r = comp[m]
        rows.append(
            [
                el("th", m, scope="row"),
                cell(ci(r["citl"], None, None, 3), r["citl"], task=tid, model=m, metric="citl"),
                cell(
                    ci(r["calibration_slope"], r["slope_low"], r["slope_high"], 2),
                    r["calibration_slope"],
                    task=tid,
                    model=m,
                    metric="calibration_slope",
                ),
                cell(num(e["eavg"], 4), e["eavg"], task=tid, model=m, metric="ici"),
                cell(num(e["e50"], 4), e["e50"], task=tid, model=m, metric="e50"),
                cell(num(e["e90"], 4), e["e90"], task=tid, model=m, metric="e90"),
                cell(num(e["emax"], 4), e["emax"], task=tid, model=m, metric="emax"),
            ]
        )
    return table(
        [
            "model",
            "calibration-in-the-large",
            "calibration slope (95% CI)",
            "ICI (Eavg)",
            "E50",
            "E90",
            "Emax",
        ],
        rows,
        id=f"{tid}-calibration-table",
        caption="Calibration of the out-of-fold predictions: logistic recalibration "
        "(intercept with slope fixed at 1, and slope), and absolute differences "
        "between predicted and lowess-smoothed observed risk (rms val.prob's "
        "smoother; Austin & Steyerberg 2019).",
    )


def calibration_section(tid: str, entry: ClassifierTaskEntry, record: dict | None) -> Markup:
    title = "Calibration"
    if record is None:
        return section(tid, "calibration", title, unavailable("Calibration curves", NO_RECORD))
    primary = entry.primary
    if record["kind"] == "binary":
        shown = {
            m: c["calibration"]
            for m, c in record["curves"].items()
            if "error" not in c["calibration"]
        }
        ax = figs.calibration_plot(
            shown,
            histogram=record["curves"][primary]["histogram"],
            bands=[m for m in (primary, entry.baseline) if m is not None],
            title=curve_title(entry, "Calibration"),
        )
        errors = [
            el("li", f"{m}: {c['calibration']['error']}")
            for m, c in record["curves"].items()
            if "error" in c["calibration"]
        ]
        fig = figure(
            ax.figure,
            id=f"{tid}-calibration-figure",
            caption=(
                f"Flexible calibration curves (logistic regression on a restricted cubic spline "
                f"of logit(p), 4 knots; Van Calster et al. 2016) of every model's out-of-fold "
                f"predictions, with 95% pointwise bands for the primary model ({primary}) and "
                f"logistic regression. Bars: distribution of the primary model's predictions "
                f"(events above the axis, non-events below)."
            ),
        )
        return section(
            tid,
            "calibration",
            title,
            fig,
            _cal_table(tid, entry, record),
            el("ul", errors) if errors else None,
        )
    from matplotlib.figure import Figure

    classes = list(record["curves"][primary])
    per_class = Figure(figsize=(4.2 * len(classes), 4.4), layout="constrained")
    for ax, c in zip(per_class.subplots(1, len(classes)), classes, strict=True):
        shown = {
            m: v[c]["calibration"]
            for m, v in record["curves"].items()
            if m in (primary, entry.baseline) and "error" not in v[c]["calibration"]
        }
        figs.calibration_plot(
            shown, histogram=record["curves"][primary][c]["histogram"], title=f"{c} vs rest", ax=ax
        )
    rows = [
        [el("th", m, scope="row")]
        + [
            cell(
                num(v[c]["calibration_errors"]["eavg"], 4),
                v[c]["calibration_errors"]["eavg"],
                task=tid,
                model=m,
                metric=f"ici_{c}",
            )
            for c in classes
        ]
        for m, v in record["curves"].items()
    ]
    return section(
        tid,
        "calibration",
        title,
        figure(
            per_class,
            id=f"{tid}-calibration-figure",
            caption="One-vs-rest flexible calibration curves "
            "per class (primary model and multinomial logistic regression), out-of-fold.",
        ),
        table(
            ["model"] + [f"ICI, {c}" for c in classes],
            rows,
            id=f"{tid}-calibration-table",
            caption="Integrated calibration index per class (lowess, one-vs-rest).",
        ),
    )


def decision_section(tid: str, entry: ClassifierTaskEntry, record: dict | None) -> Markup:
    title = "Clinical utility: decision curves"
    if entry.kind != "binary":
        return section(
            tid,
            "decision",
            title,
            note("Decision curves are for a binary decision; not drawn for a multiclass outcome."),
        )
    if record is None:
        return section(tid, "decision", title, unavailable("Decision curves", NO_RECORD))
    d = record["decision"]
    prevalence = (entry.n_events or 0) / entry.n
    ax = figs.decision_plot(
        d["thresholds"],
        d["models"],
        d["treat_all"],
        prevalence=prevalence,
        title=curve_title(entry, "Decision curves"),
    )
    rows = []
    for r in entry.net_benefit:
        m, t = r["model"], r["threshold"]
        rows.append(
            [
                m,
                num(t, 2),
                cell(
                    num(r["net_benefit"], 4),
                    r["net_benefit"],
                    task=tid,
                    model=m,
                    metric=f"net_benefit_{t:g}",
                ),
                num(r["treat_all"], 4),
                "reference"
                if m == entry.baseline
                else ci(r["delta_net_benefit"], r["delta_low"], r["delta_high"], 4, signed=True),
            ]
        )
    return section(
        tid,
        "decision",
        title,
        figure(
            ax.figure,
            id=f"{tid}-decision-figure",
            caption=(
                "Net benefit of treating when the predicted probability is at least the threshold "
                "(Vickers & Elkin 2006), out-of-fold predictions of every model, against treating "
                "all and treating none."
            ),
        ),
        table(
            ["model", "threshold", "net benefit", "treat all", "Δ vs logistic (95% CI)"],
            rows,
            id=f"{tid}-decision-table",
            caption="Net benefit at pre-specified thresholds "
            "with bootstrap percentile intervals of the difference from logistic regression.",
        ),
    )
