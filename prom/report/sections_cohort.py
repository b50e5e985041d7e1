"""Report sections about the data: overview and flow, Table 1, missingness, sample size."""

from __future__ import annotations

from typing import Any

from prom.bundle import ClassifierTaskEntry, TaskEntry
from prom.outcomes import (
    ClassDefinition,
    ColumnDefinition,
    McidDefinition,
    SurvivalDefinition,
)
from prom.report.html import Markup, el, join, num, table
from prom.validation.subgroups import WITHHELD, published_counts

__all__ = [
    "NO_RECORD",
    "section",
    "note",
    "unavailable",
    "outcome_text",
    "population_text",
    "overview",
    "table_one_section",
    "missingness_section",
    "sample_size_section",
    "excluded_predictors_text",
    "sample_size_override",
]


#: Why a section that needs the validation record is empty when the bundle has none.
NO_RECORD = (
    "the bundle holds no validation record (it was written before records existed); "
    "refit with prom fit to get one"
)


def section(task_id: str, key: str, title: str, *body) -> Markup:
    """``<section id="<task>-<key>">`` with a heading; ids are the report's stable anchors."""
    return el("section", el("h3", title), *body, id=f"{task_id}-{key}", class_="part")


def note(*text) -> Markup:
    return el("p", *text, class_="note")


def unavailable(what: str, why: str) -> Markup:
    return el("p", el("strong", f"{what}: not available. "), why, class_="unavailable")


def outcome_text(entry: TaskEntry) -> str:
    """One sentence defining the outcome (MCID rule and its source, class, survival)."""
    d = entry.definition
    if isinstance(d, McidDefinition):
        return (
            f"{entry.description}: {d.rule} on {d.instrument}"
            f" between baseline and {d.timepoint} (threshold '{d.threshold}'"
            f"; source: {d.source or 'not recorded'})."
        )
    if isinstance(d, ClassDefinition):
        return (
            f"{entry.description}: the class in column '{d.column}' "
            f"({', '.join(map(str, d.classes))})."
        )
    if isinstance(d, SurvivalDefinition):
        return (
            f"{entry.description}: {d.event}; time from "
            f"{d.time_origin}, in {d.time_unit}. Censoring: "
            f"{d.censoring}."
        )
    return f"user-defined binary outcome: {d.describe_event()}."


def event_text(entry: TaskEntry) -> str | None:
    """What a binary task's predicted probability is the chance of, for a figure's title:
    ``'status' = 'Abnormal'`` or ``'abnormal' = 1`` for a user's column, the task's
    description for a built-in MCID task; ``None`` for multiclass and survival tasks."""
    d = entry.definition
    if isinstance(d, McidDefinition):
        return entry.description
    if isinstance(d, ColumnDefinition):
        value = "1" if d.event_value is None else f"'{d.event_value}'"
        return f"'{d.column}' = {value}"
    return None


def population_text(entry: TaskEntry) -> str:
    """Who the task is for: the built-in task's population, else every labelled row."""
    d = entry.definition
    pop = d.population if isinstance(d, SurvivalDefinition) else None
    if not pop:
        pop = entry.population()
    if not pop:
        return "all rows with a label"
    return "; ".join(f"{k} ∈ {{{', '.join(map(str, v))}}}" for k, v in pop.items())


def excluded_predictors_text(entry: TaskEntry) -> str:
    """``"2 excluded: 'bmi_kg_m2' (missing in all 812 labelled rows); …"``, or ``""``."""
    ex = entry.excluded_predictors
    if not ex:
        return ""
    return f"{len(ex)} excluded: " + "; ".join(e.describe() for e in ex)


def sample_size_override(entry: TaskEntry) -> str | None:
    """Why a user's outcome below the minimum sample size was fitted anyway, or None."""
    if isinstance(entry, ClassifierTaskEntry) and entry.sample_size is not None:
        return entry.sample_size.override
    return None


def overview(tid: str, entry: TaskEntry, record: dict | None) -> Markup:
    from prom.report.provenance import predictor_choice_text, preparation_sentences

    acc = entry.row_accounting
    flow = table(
        ["rows", "count"],
        [[k.replace("_", " "), f"{v:,}"] for k, v in acc.items()],
        id=f"{tid}-flow",
        caption="Participant flow: every row read, used or dropped with its reason",
    )
    events = entry.n_events
    facts = [
        el("li", el("strong", "Outcome: "), outcome_text(entry)),
        el("li", el("strong", "Population: "), population_text(entry)),
        el(
            "li",
            el("strong", "Rows used: "),
            f"{entry.n:,}",
            f"; events: {events:,}" if isinstance(events, int) else "",
        ),
        el("li", el("strong", "Candidate predictors: "), predictor_choice_text(entry)),
        el(
            "li",
            el("strong", "Predictors left out of the fit: "),
            excluded_predictors_text(entry),
            id=f"{tid}-excluded-predictors",
        )
        if entry.excluded_predictors
        else None,
        el("li", el("strong", "Primary model: "), entry.primary),
    ]
    if record and record.get("sites"):
        s = record["sites"]
        facts.append(
            el(
                "li",
                el("strong", "Sites: "),
                f"{s['n_sites']} (column '{s['column']}'; "
                + ", ".join(
                    f"{k}: {v or WITHHELD}" for k, v in published_counts(s["per_site"]).items()
                )
                + ")",
            )
        )
    warn = [el("li", w) for w in entry.warnings]
    return section(
        tid,
        "overview",
        "Task, outcome and participant flow",
        el("ul", facts),
        el("h4", "How the data were prepared (as recorded by the fit)"),
        el("ul", [el("li", t) for t in preparation_sentences(entry)], id=f"{tid}-provenance"),
        flow,
        el("div", el("h4", "Cautions raised by the fit"), el("ul", warn)) if warn else None,
    )


def _digits(values) -> int:
    """Decimals for a median and quartiles: none when all are whole numbers (e.g. grades),
    one at magnitudes of 10 and above, two below (ratios such as 0.31)."""
    if all(float(v).is_integer() for v in values):
        return 0
    return 1 if max(abs(v) for v in values) >= 10 else 2


def _t1_cell(stats: dict, kind: str, tid: str, row: dict, group: str) -> Markup:
    data = {"task": tid, "variable": row["variable"], "level": row["level"] or "", "group": group}
    if kind == "continuous":
        if not stats.get("n"):
            return el("td", "–", **{f"data_{k}": v for k, v in data.items()})
        q = (stats["q1"], stats["median"], stats["q3"])
        d = _digits(q)
        text = f"{num(q[1], d)} [{num(q[0], d)}, {num(q[2], d)}]"
        return el(
            "td",
            text,
            data_metric="median",
            data_value=repr(stats["median"]),
            **{f"data_{k}": v for k, v in data.items()},
        )
    text = f"{stats['count']:,} ({num(stats['pct'], 1)}%)"
    return el(
        "td",
        text,
        data_metric="count",
        data_value=repr(float(stats["count"])),
        **{f"data_{k}": v for k, v in data.items()},
    )


def table_one_section(tid: str, record: dict | None) -> Markup:
    title = "Table 1. Characteristics by outcome"
    if record is None:
        return section(
            tid,
            "table1",
            title,
            unavailable(
                "Table 1",
                "the bundle holds no validation record (written before records existed, "
                "or a recalibrated bundle); refit with prom fit to get one",
            ),
        )
    t1 = record["cohort"]
    cols = t1["groups"] + ["overall"]
    header = ["characteristic"] + [f"{g} (n = {t1['group_n'][g]:,})" for g in cols] + ["missing"]
    rows, seen = [], set()
    for r in t1["rows"]:
        label = r["variable"]
        if r["description"] and r["description"].replace(" ", "_") != r["variable"]:
            label += f" — {r['description']}" + (f" ({r['unit']})" if r["unit"] else "")
        if r["kind"] == "categorical":
            if r["variable"] not in seen:
                seen.add(r["variable"])
                rows.append(
                    [
                        el("th", label + ", n (%)", colspan=len(cols) + 1, scope="row"),
                        el("td", f"{r['cells']['overall']['missing']:,}"),
                    ]
                )
            first: list[Any] = [el("td", join("\u2003", r["level"]), class_="level")]
            missing = ""
        else:
            suffix = ", median [IQR]" if r["kind"] == "continuous" else ", n (%)"
            first = [el("td", label + suffix)]
            missing = f"{r['cells']['overall']['missing']:,}"
        rows.append(
            first + [_t1_cell(r["cells"][g], r["kind"], tid, r, g) for g in cols] + [missing]
        )
    return section(
        tid,
        "table1",
        title,
        table(
            header,
            rows,
            id=f"{tid}-table1-table",
            class_="t1",
            caption="Rows used for model development, by outcome. Percentages are of the rows "
            "where the variable is observed; 'missing' counts rows without a value "
            "(overall). Statistics computed when the models were fitted.",
        ),
    )


def missingness_section(tid: str, record: dict | None, entry: TaskEntry | None = None) -> Markup:
    title = "Missing data"
    imputed = imputed_paragraph(tid, entry)
    if record is None:
        return section(
            tid,
            "missingness",
            title,
            unavailable("Missingness", "the bundle holds no validation record"),
            *([imputed] if imputed is not None else []),
        )
    groups = record["outcome_groups"]
    rows = [
        [
            r["variable"],
            r["description"],
            el(
                "td",
                f"{r['missing']:,}",
                data_task=tid,
                data_variable=r["variable"],
                data_metric="missing",
                data_value=repr(float(r["missing"])),
            ),
            f"{num(r['pct'], 1)}%",
        ]
        + [f"{num(r['by_group'][g]['pct'], 1)}%" for g in groups]
        for r in record["missingness"]
    ]
    n_complete = sum(1 for r in record["missingness"] if r["missing"] == 0)
    return section(
        tid,
        "missingness",
        title,
        table(
            ["predictor", "description", "missing (n)", "missing (%)"]
            + [f"% missing, {g}" for g in groups],
            rows,
            id=f"{tid}-missingness-table",
            caption=f"{n_complete} of {len(record['missingness'])} predictors complete. Missing "
            "values were imputed inside every model's pipeline (numeric: training median "
            "with a missing-value indicator where 10 or more training rows were missing; "
            "categorical: a 'missing' level), refitted in "
            "every cross-validation fold; rows without a label were excluded (see the "
            "participant flow).",
        ),
        *([imputed] if imputed is not None else []),
    )


def imputed_paragraph(tid: str, entry: TaskEntry | None) -> Markup | None:
    """What the fit imputed, per column, from the manifest (``TaskEntry.imputed``); None
    for a bundle that did not record it."""
    counts = None if entry is None else getattr(entry, "imputed", None)
    if counts is None:
        return None
    n = sum(counts.values())
    if not n:
        text = (
            "No value of a numeric predictor was missing in the labelled rows the models "
            "were fitted on: nothing was imputed."
        )
    else:
        text = (
            f"{n:,} value{'s' if n != 1 else ''} of numeric predictors "
            f"{'were' if n != 1 else 'was'} missing in the labelled rows the models were "
            "fitted on and imputed with the training median: "
            + ", ".join(f"{c} {k:,}" for c, k in counts.items())
            + ". Only empty cells, and the markers declared with --missing-values, count "
            "as missing; any other text in a numeric column stops the fit."
        )
    return el("p", text, id=f"{tid}-imputed")


def sample_size_section(tid: str, entry: TaskEntry, record: dict | None) -> Markup:
    title = "Sample size"
    override = sample_size_override(entry)
    first = (  # a fit below the minimum says so before anything else
        None
        if override is None
        else el(
            "p",
            el("strong", "Minimum sample size overridden. "),
            override,
            id=f"{tid}-sample-size-override",
            class_="unavailable",
        )
    )
    if record is None:
        return section(
            tid,
            "sample-size",
            title,
            first,
            unavailable("Sample-size check", "the bundle holds no validation record"),
            note(
                entry.sample_size.statement
                if isinstance(entry, ClassifierTaskEntry) and entry.sample_size is not None
                else ""
            ),
        )
    if record["kind"] == "survival":
        e = record["events_per_parameter"]
        return section(
            tid,
            "sample-size",
            title,
            first,
            el(
                "p",
                f"{e['events']:,} events for {e['parameters']} candidate design columns: ",
                el(
                    "span",
                    num(e["epp"], 1),
                    data_task=tid,
                    data_metric="events_per_parameter",
                    data_value=repr(e["epp"]),
                ),
                " events per parameter (Riley et al.'s criteria for time-to-event outcomes need "
                "the anticipated R² and are not computed here; below 10 events per parameter "
                "hazard ratios are imprecise).",
            ),
        )
    ss = record.get("sample_size")
    if ss is None:
        return section(
            tid,
            "sample-size",
            title,
            first,
            note(
                "Riley et al.'s criteria (BMJ 2020; 368:m441) are for binary outcomes; not computed "
                "for this multiclass outcome."
            ),
        )
    rows = [
        [
            c["criterion"],
            el(
                "td",
                f"{c['n']:,}",
                data_task=tid,
                data_metric=f"n_{i}",
                data_value=repr(float(c["n"])),
            ),
            f"{c['events']:,}",
            num(c["events_per_parameter"], 1),
            "binding" if c["binding"] else "",
        ]
        for i, c in enumerate(ss["criteria"])
    ]
    verdict = "adequate" if ss["adequate"] else "below the minimum"
    label = ss.get("events_label", "events")  # records before 2026-12-07 counted events
    summary = el("p", el("strong", f"Sample size {verdict}. "), ss["statement"])
    facts = el(
        "ul",
        el(
            "li",
            f"Rows used: {ss['n']:,}; {label}: {ss['n_events']:,}; candidate "
            f"predictor parameters: {ss['n_parameters']}",
        ),
        el(
            "li",
            "Anticipated C-statistic ",
            num(ss["anticipated_c"], 2),
            " → Cox–Snell R² ",
            num(ss["r2_cs"], 3),
        ),
        el(
            "li",
            "Minimum n required: ",
            el(
                "span",
                f"{ss['n_required']:,}",
                data_task=tid,
                data_metric="n_required",
                data_value=repr(float(ss["n_required"])),
            ),
            f" (binding criterion: {ss['binding']})",
        ),
        el(
            "li",
            "Expected shrinkage at this n: ",
            el(
                "span",
                num(ss["expected_shrinkage"], 2),
                data_task=tid,
                data_metric="expected_shrinkage",
                data_value=repr(ss["expected_shrinkage"]),
            ),
            f"; {label} per parameter ",
            num(ss["events_per_parameter"], 1),
        ),
    )
    return section(
        tid,
        "sample-size",
        title,
        first,
        summary,
        facts,
        table(
            ["criterion (Riley et al. 2020)", "n required", label, f"{label} per parameter", ""],
            rows,
            id=f"{tid}-sample-size-table",
        ),
    )


def is_count(v: str | None) -> bool:
    """Whether a published count (:func:`prom.validation.subgroups.published_counts`) is
    a number, not ``fewer than 5`` or withheld (``None``)."""
    return bool(v) and str(v)[0].isdigit()


def patients_text(v: str | None) -> str:
    """A published site count: ``306 patients``, ``fewer than 5``, or withheld."""
    return f"{v} patients" if is_count(v) else (v or WITHHELD)
