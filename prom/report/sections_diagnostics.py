"""Report section of a task's diagnostics before fitting (``task-<task>-diagnostics``).

What the fit found about its predictors before any model was fitted
(:mod:`prom.models.diagnostics`, stored in the manifest as the task's ``diagnostics``):
exactly aliased predictors and the one left out, variance inflation factors, the condition
number and near dependencies, separation, rare categories, events per candidate
parameter, and the predictors explained together. :func:`near_aliased` tells the odds- and
hazard-ratio tables which coefficients to mark instead of print.
"""

from __future__ import annotations

from prom.bundle import ClassifierTaskEntry, SurvivalTaskEntry
from prom.models.collinearity import CONDITION_HIGH, VIF_HIGH, VIF_NEAR_ALIASED
from prom.models.diagnostics import (
    MIN_EPP,
    RARE_FRACTION,
    RARE_ROWS,
    FitDiagnostics,
    describe_extremes,
    group_label,
)
from prom.report.html import Markup, cell, el, num, table
from prom.report.sections_cohort import note, section

__all__ = ["diagnostics_section", "near_aliased"]

_TITLE = "Diagnostics before fitting"


def near_aliased(diagnostics: FitDiagnostics | None, feature: str) -> str | None:
    """Why a design column's coefficient is not shown (VIF above 100), else None."""
    if diagnostics is None:
        return None
    v = diagnostics.vif_of(feature)
    if v is None or v <= VIF_NEAR_ALIASED:
        return None
    return (
        f"near-aliased (VIF {v:.3g} > {VIF_NEAR_ALIASED:g}): not identifiable on its own; "
        "drop one of the columns or combine them"
    )


def _vif_table(tid: str, d: FitDiagnostics) -> Markup:
    rows = [
        [
            r["column"],
            r["variable"],
            cell(
                "∞" if r["vif"] is None else num(r["vif"], 2),
                r["vif"],
                task=tid,
                feature=r["column"],
                metric="vif",
            ),
            "near-aliased (above 100)"
            if r["vif"] is None or r["vif"] > VIF_NEAR_ALIASED
            else ("collinear (above 10)" if r["vif"] > VIF_HIGH else ""),
        ]
        for r in d.vif
    ]
    return table(
        ["design column", "predictor", "VIF", ""],
        rows,
        id=f"{tid}-diagnostics-vif-table",
        caption="Variance inflation factor 1/(1 − R²) of each design column regressed on all "
        "others, on all labelled rows; above 10 a column is called collinear (Kutner et al., "
        "Applied Linear Statistical Models, 2005).",
    )


def diagnostics_section(tid: str, entry: ClassifierTaskEntry | SurvivalTaskEntry) -> Markup:
    """The task's diagnostics, or a note that the bundle has none recorded."""
    d = entry.diagnostics
    if d is None:
        return section(
            tid,
            "diagnostics",
            _TITLE,
            note("Not recorded: this bundle was written before prom recorded diagnostics."),
        )
    items = []
    if d.aliased:
        items += [
            el(
                "li",
                el("strong", "Exactly aliased: "),
                f"{a['relation']} in all {d.n:,} labelled rows; {a['left_out']!r} was left out "
                "of every model (no coefficient of the set is identifiable with all of them "
                "in). Drop one of them or combine them.",
                class_="aliased",
                data_columns=" ".join(a["columns"]),
            )
            for a in d.aliased
        ]
    else:
        items.append(el("li", "Exact linear dependence: none among the predictors."))
    high = d.high_vif()
    items.append(
        el(
            "li",
            el("strong", "Near dependence: "),
            (
                f"VIF above {VIF_HIGH:g} for "
                + ", ".join(
                    f"{r['column']} ({'∞' if r['vif'] is None else format(r['vif'], '.3g')})"
                    for r in high
                )
                + "; their odds ratios are marked (above 100: not shown)."
            )
            if high
            else f"no VIF above {VIF_HIGH:g}.",
            (
                f" Condition number of the standardised design {num(d.condition_number, 1)}"
                + (
                    f" (above {CONDITION_HIGH:g}, Belsley et al. 1980)"
                    if d.condition_number > CONDITION_HIGH
                    else f" (at most {CONDITION_HIGH:g})"
                )
                + "".join(
                    f"; near dependency (condition index {num(n['condition_index'], 0)}): "
                    + ", ".join(n["columns"])
                    for n in d.near_dependencies
                )
                + "."
            )
            if d.condition_number is not None
            else "",
        )
    )
    items.append(
        el(
            "li",
            el("strong", "Separation: "),
            "; ".join(s["detail"] for s in d.separation) + "." if d.separation else "none found.",
            id=f"{tid}-diagnostics-separation",
        )
    )
    items.append(
        el(
            "li",
            el("strong", f"Rare categories (fewer than {RARE_ROWS} rows or {RARE_FRACTION:.0%}): "),
            ", ".join(
                f"{r['column']} = {r['level']} ({r['count']} rows)" for r in d.rare_categories
            )
            + "; consider merging them with a similar level."
            if d.rare_categories
            else "none.",
            id=f"{tid}-diagnostics-rare",
        )
    )
    items.append(
        el(
            "li",
            el("strong", "Isolated extreme values (beyond 3 IQR from the quartiles): "),
            describe_extremes(d.extreme_values) + "."
            if d.extreme_values
            else "none."
            if d.extreme_values is not None
            else "not checked (the bundle was written before this check).",
            id=f"{tid}-diagnostics-extremes",
        )
    )
    epp = d.events_per_parameter
    if epp is not None:
        items.append(
            el(
                "li",
                el("strong", "Events per candidate parameter: "),
                f"{epp:.1f} ({d.events:,} {d.events_label} / {d.parameters} design columns; "
                "dummy columns, missing indicators and spline terms counted)"
                + (f"; below {MIN_EPP:g}, expect overfitting." if epp < MIN_EPP else "."),
                id=f"{tid}-diagnostics-epp",
            )
        )
    items.append(
        el(
            "li",
            el("strong", "Explained together: "),
            "; ".join(group_label(g) for g in d.explain_groups)
            + " — their SHAP values and reasons are summed, because one by one they are not "
            "identifiable."
            if d.explain_groups
            else "none (no pair of predictors with |r| ≥ 0.9 and no near dependency).",
            id=f"{tid}-diagnostics-groups",
        )
    )
    items += [el("li", n) for n in d.notes]
    parts = [
        el(
            "p",
            f"Checked on the {d.n:,} labelled rows before any model was fitted, on the design "
            "the unpenalised baseline sees (numeric columns, missing indicators, "
            "reference-coded categories).",
        ),
        el("ul", items, id=f"{tid}-diagnostics-list"),
    ]
    if d.vif:
        parts.append(_vif_table(tid, d))
    return section(tid, "diagnostics", _TITLE, *parts)
