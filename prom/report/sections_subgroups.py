"""The report's subgroup section: performance and calibration by sex, age band, site and the
user's own columns, from the ``subgroups`` part of a task's validation record
(:mod:`prom.workflows.subgroups`, computed on the out-of-fold predictions when the
models were fitted).

One table per model (the primary model and the baseline), then how the groups were
formed, the small-group rule and any note. Every figure cell carries ``data-task``,
``data-model``, ``data-variable``, ``data-group`` (and ``data-class`` for a multiclass
task) and ``data-stat`` (not ``data-metric``: these are per-group figures, kept apart
from the overall ones) with its full value in ``data-value``, so tests can read the
numbers back. The element id is ``task-<task>-subgroups``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from prom.report.html import Markup, cell, ci, el, num, table
from prom.report.sections_cohort import NO_RECORD, note, section, unavailable

__all__ = ["subgroups_section"]

TITLE = "Subgroups"


def _rows(rows: Sequence[Mapping[str, Any]], tid: str, model: str, kind: str) -> list[list]:
    out = []
    for r in rows:
        keys = {
            "task": tid,
            "model": model,
            "variable": r["variable"],
            "group": r["group"],
        }
        if kind == "multiclass":
            keys["class"] = r["class"]
        n = r.get("n")
        line: list[Any] = [r["variable"], r["group"]]
        if kind == "multiclass":
            line.append(r["class"])
        line += [
            cell("–" if n is None else f"{int(n):,}", n, stat="n", **keys),
            cell(
                "–" if r.get("events") is None else f"{int(r['events']):,}",
                r.get("events"),
                stat="events",
                **keys,
            ),
        ]
        if kind == "survival":
            line.append(
                cell(ci(r.get("c"), r.get("c_low"), r.get("c_high")), r.get("c"), stat="c", **keys)
            )
        else:
            line += [
                cell(
                    ci(r.get("auc"), r.get("auc_low"), r.get("auc_high")),
                    r.get("auc"),
                    stat="auc",
                    **keys,
                ),
                cell(num(r.get("citl"), 2, signed=True), r.get("citl"), stat="citl", **keys),
                cell(
                    num(r.get("intercept"), 2, signed=True),
                    r.get("intercept"),
                    stat="intercept",
                    **keys,
                ),
                cell(
                    ci(r.get("slope"), r.get("slope_low"), r.get("slope_high"), 2),
                    r.get("slope"),
                    stat="slope",
                    **keys,
                ),
                cell(num(r.get("o_e"), 2), r.get("o_e"), stat="o_e", **keys),
            ]
        line.append(r.get("note") or "")
        out.append(line)
    return out


def _header(kind: str) -> list[str]:
    head = ["variable", "group"] + (["class"] if kind == "multiclass" else []) + ["n", "events"]
    if kind == "survival":
        head.append("Harrell's C (95% CI)")
    else:
        head += [
            "AUC (95% CI, DeLong)",
            "calibration-in-the-large",
            "calibration intercept",
            "calibration slope (95% CI)",
            "O/E",
        ]
    return [*head, "note"]


def subgroups_section(tid: str, primary: str, record: Mapping[str, Any] | None) -> Markup:
    """The section ``<tid>-subgroups``: one table per model of the record's subgroup part."""
    if record is None:
        return section(tid, "subgroups", TITLE, unavailable("Subgroup tables", NO_RECORD))
    sg = record.get("subgroups")
    if not sg:
        return section(
            tid,
            "subgroups",
            TITLE,
            unavailable(
                "Subgroup tables",
                "the bundle's validation record holds none (it was written by a version of "
                "prom without subgroup tables); refit with prom fit to get them",
            ),
        )
    kind = str(sg.get("kind", "binary"))
    models = list(sg.get("models", {}))
    models = [m for m in models if m == primary] + [m for m in models if m != primary]
    if kind == "survival":
        intro = f"Computed on {sg['rows']}."
    else:
        intro = (
            f"Computed on {sg['rows']}. "
            + ("Multiclass outcome: each class against the rest. " if kind == "multiclass" else "")
            + "Calibration-in-the-large is the intercept with the slope fixed at 1; the "
            "calibration intercept and slope are those of the logistic recalibration "
            "logit P(y = 1) = a + b·logit(p); O/E is observed over expected events."
        )
    parts: list[Any] = [note(intro)]
    for m in models:
        rows = sg["models"][m]
        star = " (primary)" if m == primary else ""
        if not rows:
            parts.append(note(f"{m}{star}: no subgroup to tabulate."))
            continue
        parts += [  # a heading above each table: a caption sits below it (the CSS)
            el("h4", f"{m}{star}"),
            table(_header(kind), _rows(rows, tid, m, kind), id=f"{tid}-subgroups-{m}"),
        ]
    how = [el("li", f"{v['name']} ({v['column']}): {v['how']}") for v in sg.get("variables", [])]
    if how:
        parts.append(el("ul", how))
    parts.append(note(sg["rule"]))
    parts += [note(n) for n in sg.get("notes", [])]
    return section(tid, "subgroups", TITLE, *parts)
