"""Report sections of a survival task (the built-in time to surgery, or the user's own time
to an event): C-index and calibration slope, calibration at the horizon, Kaplan–Meier
curves by predicted-risk group, hazard ratios. The event is named as the task defines it
(:func:`event_words`), never assumed to be surgery."""

from __future__ import annotations

from prom.bundle import SurvivalTaskEntry
from prom.report import figures as figs
from prom.report.html import Markup, cell, ci, el, figure, num, slug, table
from prom.report.optimism import OPTIMISM_NOTE, optimism_table
from prom.report.sections_cohort import (
    note,
    section,
    unavailable,
)
from prom.report.sections_diagnostics import near_aliased
from prom.validation.pvalue import format_p_value

__all__ = [
    "event_words",
    "performance_section",
    "horizon_calibration_section",
    "km_section",
    "hazard_ratio_section",
]


def event_words(entry: SurvivalTaskEntry) -> str:
    """The event of a survival task in words: "surgery" for the built-in task, else the
    user's event column (``the event ('reoperated' = 1)``)."""
    if entry.is_builtin:
        return "surgery"
    return f"the event ('{entry.event_column}' = 1)"


def performance_section(tid: str, entry: SurvivalTaskEntry) -> Markup:
    h = f"{entry.horizon:g} {entry.time_unit}"
    rows = []
    for fam, m in entry.cv_metrics.items():
        star = " (primary)" if fam == entry.primary else ""
        rows.append(
            [
                el("th", fam + star, scope="row"),
                cell(ci(m["c"], m["c_low"], m["c_high"]), m["c"], task=tid, model=fam, metric="c"),
                cell(
                    ci(m["calibration_slope"], m["slope_low"], m["slope_high"], 2),
                    m["calibration_slope"],
                    task=tid,
                    model=fam,
                    metric="calibration_slope",
                ),
                f"{num(m['expected_risk'], 1, pct=True)}%",
                f"{num(m['observed_risk'], 1, pct=True)}%",
                cell(num(m["o_e"], 2), m["o_e"], task=tid, model=fam, metric="o_e"),
                num(m["mean_abs_group_error"], 3),
            ]
        )
    s = entry.settings
    parts = [
        table(
            [
                "model",
                "Harrell's C (95% CI)",
                "calibration slope (95% CI)",
                f"mean predicted risk by {h}",
                f"Kaplan–Meier risk by {h}",
                "O/E",
                "mean |pred − obs| over risk deciles",
            ],
            rows,
            id=f"{tid}-performance-table",
            caption=f"Out-of-fold predictions of {s.n_splits}-fold CV × "
            f"{s.n_repeats} repeat(s); intervals: {s.ci}. "
            "Survival tasks are not compared with logistic regression: the "
            "outcome is a censored time.",
        )
    ]
    if entry.optimism:
        parts += [el("h4", "Bootstrap optimism correction"), note(OPTIMISM_NOTE)]
    parts += [
        optimism_table(
            rows_, f"{fam}: Harrell's bootstrap optimism correction ({s.optimism_boot} refits)"
        )
        for fam, rows_ in entry.optimism.items()
    ]
    return section(tid, "performance", "Discrimination and calibration", *parts)


def horizon_calibration_section(tid: str, entry: SurvivalTaskEntry) -> Markup:
    title = "Calibration at the horizon"
    cal = entry.calibration_at_horizon.get(entry.primary)
    if not cal:
        return section(
            tid,
            "calibration",
            title,
            unavailable("Calibration at the horizon", "not in this bundle's manifest"),
        )
    h = f"{entry.horizon:g} {entry.time_unit}"
    ax = figs.risk_calibration_plot(
        [r["predicted_risk"] for r in cal],
        [r["observed_risk"] for r in cal],
        [r["observed_low"] for r in cal],
        [r["observed_high"] for r in cal],
        horizon_label=h,
        title=f"{entry.primary}: risk by {h}, out-of-fold",
    )
    rows = [
        [
            str(r["group"]),
            f"{r['n']:,}",
            f"{r['n_events']:,}",
            num(r["predicted_risk"]),
            ci(r["observed_risk"], r["observed_low"], r["observed_high"]),
        ]
        for r in cal
    ]
    return section(
        tid,
        "calibration",
        title,
        figure(
            ax.figure,
            id=f"{tid}-calibration-figure",
            caption="Mean predicted risk against the "
            "Kaplan–Meier risk (95% CI) in groups of predicted risk.",
        ),
        table(
            ["risk group", "n", "events", "mean predicted risk", "Kaplan–Meier risk (95% CI)"],
            rows,
            id=f"{tid}-calibration-table",
        ),
    )


def km_section(tid: str, entry: SurvivalTaskEntry, record: dict | None) -> Markup:
    title = "Kaplan–Meier curves by predicted-risk group"
    if record is None:
        return section(
            tid,
            "km",
            title,
            unavailable("Kaplan–Meier curves", "the bundle holds no validation record"),
        )
    km = record["km_by_risk"]
    event = event_words(entry)
    free = "free of surgery" if entry.is_builtin else "event-free"
    ax = figs.km_plot(
        km["time"],
        km["groups"],
        unit=entry.time_unit,
        ylabel=free,
        title=f"by tertile of {entry.primary}'s out-of-fold risk",
    )
    rows = [
        [
            r["group"],
            num(r["time"], 0),
            f"{r['n_risk']:,}",
            f"{r['n_event']:,}",
            ci(r["survival"], r["low"], r["high"]),
        ]
        for r in entry.km_by_risk_tertile
    ]
    return section(
        tid,
        "km",
        title,
        figure(
            ax.figure,
            id=f"{tid}-km-figure",
            caption=(
                f"Kaplan–Meier curves (95% bands) of the time to {event} in each tertile of the "
                f"primary model's out-of-fold predicted risk; each curve stops where fewer than "
                f"{km['min_at_risk']} patients remain at risk."
            ),
        ),
        table(
            [
                "risk tertile",
                f"time ({entry.time_unit})",
                "at risk",
                "events",
                f"{free} (95% CI)",
            ],
            rows,
            id=f"{tid}-km-table",
        ),
    )


def hazard_ratio_section(tid: str, entry: SurvivalTaskEntry) -> Markup:
    title = "Cox models: hazard ratios"
    hr = entry.hazard_ratios
    if not hr:
        return section(tid, "hazard-ratios", title, note("No hazard ratios in the manifest."))
    parts = []
    diag = entry.diagnostics
    for fam, rows_ in hr.items():
        rows = []
        for r in rows_:
            why = near_aliased(diag, r["feature"])
            shown = (
                el("td", "not shown: " + why, class_="not-identifiable")
                if why
                else cell(
                    ci(r["hazard_ratio"], r["ci_low"], r["ci_high"]),
                    r["hazard_ratio"],
                    task=tid,
                    model=fam,
                    feature=r["feature"],
                    metric="hazard_ratio",
                )
            )
            p = r["p_value"]
            rows.append([r["feature"], shown, format_p_value(p)])
        parts.append(
            table(
                ["design column", "hazard ratio (95% CI)", "p"],
                rows,
                id=f"{tid}-hazard-ratios-{slug(fam)}-table",
                caption=f"{fam}: per unit of a numeric predictor, per level against "
                "the reference level"
                + (", shrunk towards 1 by the ridge penalty" if fam == "cox_ridge" else "")
                + ".",
            )
        )
    return section(tid, "hazard-ratios", title, *parts)
