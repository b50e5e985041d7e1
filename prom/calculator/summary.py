"""Text the app and the printable summary share, and the one-page HTML summary itself.

:func:`summary_html` returns a self-contained HTML page (inline CSS, no scripts, no
external resources, A4 print layout) that the app offers as a download; it is built in
memory and never written to disk by the toolkit.
"""

from __future__ import annotations

import datetime as dt
import html
import math
from importlib import metadata

import numpy as np

from prom.calculator.fields import instrument_name
from prom.calculator.inputs import ITEM_INSTRUMENTS, item_fields, option_label, patient_fields
from prom.calculator.intervals import RANGE_METHOD

__all__ = [
    "percent",
    "answer_text",
    "reasons",
    "summary_html",
    "treatment_label",
    "DEMO_BANNER",
    "ASSOCIATION_NOTE",
]

DEMO_BANNER = (
    "DEMONSTRATION models trained on a SIMULATED cohort — not trained on "
    "patients, not for clinical use."
)
ASSOCIATION_NOTE = (
    "Probabilities by treatment are associations in the development cohort, where the "
    "treatment was chosen by clinicians, not randomised: the difference between columns "
    "is not the effect of the treatment."
)


def percent(p: float | None) -> str:
    return "—" if p is None or (isinstance(p, float) and math.isnan(p)) else f"{100 * p:.0f}%"


def answer_text(a) -> str:
    """``'62% (55–69%)'`` for a :class:`~prom.calculator.predict.ModelAnswer`, with its
    calibration range (:data:`~prom.calculator.intervals.RANGE_LABEL`) in brackets;
    ``'52% (range < 1 pt)'`` where the range rounds to one percentage (near the
    development event rate it can be zero-width)."""
    if a is None:
        return "—"
    if a.low is None or a.high is None:
        return percent(a.probability)
    low, high = f"{100 * a.low:.0f}", f"{100 * a.high:.0f}"
    if low == high:
        return f"{percent(a.probability)} (range < 1 pt)"
    return f"{percent(a.probability)} ({low}–{high}%)"


def treatment_label(t: str | None) -> str:
    return "if injected" if t is None else option_label("treatment", t)


def _value_text(feature: str, value) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "not recorded"
    if isinstance(value, (bool, np.bool_)):
        return "yes" if value else "no"
    if isinstance(value, (float, np.floating)):
        if feature in ("diabetes", "depression_anxiety", "prior_spine_surgery", "opioid_use"):
            return "yes" if value == 1 else "no"
        return f"{value:.3g}"
    return option_label(feature, value)


def _not_entered(feature: str) -> str:
    """What the model put in place of an entry left empty: no category for a category,
    the training median otherwise (:mod:`prom.models.preprocess`)."""
    from prom.cohort.contract import COHORT_CONTRACT

    spec = COHORT_CONTRACT.get(feature)
    if spec is not None and spec.dtype == "category":
        return "not recorded: the model used no category, which"
    return "not recorded: the model assumed the training median, which"


def reasons(explanation, row: int, k: int = 3, class_=None) -> list[str]:
    """The ``k`` largest contributions of one explained row, in probability points:
    ``'Leg pain, NRS = 7 raises it by 6.1 points'``; an entry left empty says what the
    model assumed instead (``'Body-mass index = not recorded: the model assumed the
    training median, which raises it by 2.2 points'``). Empty without an explanation."""
    if explanation is None:
        return []
    from prom.explain import row_reasons

    pts = (
        explanation
        if explanation.converted_from is not None
        else explanation.to_probability_points(calibrated=True)
    )
    if class_ is not None and pts.is_multiclass:
        pts = pts.for_class(class_)
    out = []
    for variable, label, value, c in row_reasons(pts, row, k=k):
        verb = "raises" if c > 0 else "lowers" if c < 0 else "does not change"
        shown = _value_text(variable, value)
        if shown == "not recorded":
            shown = _not_entered(variable)
        out.append(f"{label} = {shown} {verb} it by {abs(100 * c):.1f} points")
    return out


# --- the page -------------------------------------------------------------------------------

_CSS = """
@page { size: A4; margin: 9mm; }
body { font-family: system-ui, -apple-system, 'Segoe UI', sans-serif; font-size: 9.5pt;
       color: #111; max-width: 190mm; margin: 0 auto; }
h1 { font-size: 14pt; margin: 0 0 3pt 0; } h2 { font-size: 10.5pt; margin: 4pt 0 1pt 0;
     border-bottom: 1px solid #999; }
table { border-collapse: collapse; width: 100%; margin: 2pt 0; }
th, td { border: 1px solid #bbb; padding: 1pt 3pt; text-align: left; vertical-align: top; }
th { background: #eee; font-weight: 600; }
.demo { border: 2px solid #b00; color: #b00; padding: 3pt; font-weight: bold; margin: 4pt 0; }
.small { font-size: 7.5pt; color: #333; }
ul { margin: 2pt 0; padding-left: 14pt; } p { margin: 2pt 0; }
.cols { display: flex; gap: 8pt; } .cols > div { flex: 1; }
.patient { columns: 3; column-gap: 10pt; font-size: 8pt; } .patient div { break-inside: avoid; }
td.p { white-space: nowrap; }
.reasons { font-size: 8pt; } tr, li { page-break-inside: avoid; }
"""


def _e(x) -> str:
    return html.escape(str(x))


def _patient_rows(patient) -> list[tuple[str, str]]:
    region = patient.region
    rows = []
    for f in patient_fields():
        if region not in f.regions:
            continue
        v = patient.values.get(f.name)
        if v is None and f.section == "imaging":
            continue
        rows.append((f.label_with_unit, _value_text(f.name, v)))
    for key in ITEM_INSTRUMENTS:
        if key in patient.scored_from_items:
            items = "; ".join(
                f"{f.label} {_value_text(f.name, patient.values.get(f.name))}"
                for f in item_fields(key)
            )
            rows.append((f"{instrument_name(key)} items", items))
    return rows


def summary_html(result, *, treatment: str | None = None) -> str:
    """One printable page for ``result`` (:class:`~prom.calculator.predict.CalculatorResult`).

    ``treatment``: the treatment whose reasons are listed (default: the first shown).
    """
    parts = [
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>",
        "<title>Spine outcome calculator — summary</title>",
        f"<style>{_CSS}</style></head><body>",
        "<h1>Spine outcome calculator — patient summary</h1>",
    ]
    if result.is_demo:
        parts.append(f"<div class='demo'>{_e(DEMO_BANNER)}</div>")
    try:
        version = metadata.version("spine-prom")
    except metadata.PackageNotFoundError:
        version = "unknown"
    parts.append(
        f"<p class='small'>Model bundle {_e(result.bundle_id[:12])} — "
        f"{_e(result.bundle_description)}<br>spine-prom {_e(version)}; printed "
        f"{dt.date.today().isoformat()}. Nothing entered was stored by the "
        "calculator.</p>"
    )

    parts.append("<h2>Patient</h2><div class='patient'>")
    parts += [f"<div><b>{_e(k)}:</b> {_e(v)}</div>" for k, v in _patient_rows(result.patient)]
    parts.append("</div>")

    parts.append("<h2>Probability of a minimal clinically important difference at 12 months</h2>")
    if result.mcid:
        treatments = list(dict.fromkeys(r.treatment for r in result.mcid))
        head = "".join(f"<th>{_e(treatment_label(t))}</th>" for t in treatments)
        parts.append(f"<table><tr><th>PROM (MCID definition)</th>{head}</tr>")
        for outcome in dict.fromkeys(r.outcome for r in result.mcid):
            rows = {r.treatment: r for r in result.mcid if r.outcome == outcome}
            first = next(iter(rows.values()))
            cells = []
            for t in treatments:
                r = rows.get(t)
                if r is None:
                    cells.append("<td>—</td>")
                elif r.withheld:
                    cells.append(f"<td class='small'>no prediction: {_e(r.withheld)}</td>")
                else:
                    cells.append(
                        f"<td class='p'><b>{_e(answer_text(r.best))}</b><br>"
                        f"<span class='small'>logistic {_e(answer_text(r.logistic))}"
                        "</span></td>"
                    )
            parts.append(
                f"<tr><td>{_e(outcome)} <span class='small'>"
                f"({_e(first.definition.rule)})</span></td>"
                f"{''.join(cells)}</tr>"
            )
        best = sorted({r.primary for r in result.mcid if not r.withheld})
        parts.append(
            f"</table><p class='small'>Bold: the best model by the bundle's "
            f"validation ({_e(', '.join(best))}); below it, logistic regression. "
            f"{_e(ASSOCIATION_NOTE)} {_e(RANGE_METHOD)}</p>"
        )
    else:
        parts.append("<p>No MCID model in this bundle applies to this patient.</p>")

    if result.tfesi is not None:
        t = result.tfesi
        if t.withheld:
            text = f"no prediction: {t.withheld}"
        else:
            other = t.alternative if t.alternative is not None else t.logistic
            other_name = (
                f"{other.model} (did not beat logistic regression)"
                if t.alternative is not None
                else "logistic regression"
            )
            text = (
                f"{answer_text(t.best)} (best model, {t.primary}); {other_name} "
                f"{answer_text(other)}"
            )
        parts.append(
            f"<h2>TFESI response</h2><p>≥ 50% leg-pain reduction at 1 month if "
            f"injected: {_e(text)}</p>"
        )

    parts.append("<h2>Triage</h2><div class='cols'>")
    tri = result.triage
    if tri is not None and not tri.withheld:
        probs = tri.probabilities[tri.primary]
        items = ", ".join(
            f"{option_label('treatment', c)} {percent(probs[c])}" for c in tri.classes
        )
        parts.append(
            f"<div><b>Model ({_e(tri.primary)}):</b> "
            f"{_e(option_label('treatment', tri.suggestion))}"
            f"<br><span class='small'>what patients like this received at the "
            f"development sites: {_e(items)}</span></div>"
        )
    else:
        parts.append("<div><b>Model:</b> no triage model for this patient</div>")
    rule = result.rule
    if rule is not None:
        parts.append(
            f"<div><b>Rule:</b> {_e(option_label('treatment', rule.suggestion))}<br>"
            f"<span class='small'>{_e(rule.reason)}. {_e(rule.source)}</span></div>"
        )
    else:
        parts.append("<div><b>Rule:</b> not enough entries for the rule</div>")
    parts.append("</div>")

    shown = [r for r in result.mcid if not r.withheld and r.explanation is not None]
    if treatment is not None:
        shown = [r for r in shown if r.treatment == treatment]
    elif shown:
        shown = [r for r in shown if r.treatment == shown[0].treatment]
    t = result.tfesi
    if t is not None and not t.withheld and t.explanation is not None:
        shown.append(t)
    if shown:
        parts.append("<h2>Main reasons (best model, probability points)</h2><ul class='reasons'>")
        for r in shown:
            why = "; ".join(reasons(r.explanation, r.explanation_row))
            parts.append(
                f"<li><b>{_e(r.outcome)}, {_e(treatment_label(r.treatment))}:</b> {_e(why)}</li>"
            )
        parts.append("</ul>")

    if result.warnings or result.notes:
        parts.append("<h2>Warnings and notes</h2><ul class='small'>")
        tails = [w for w in result.warnings if w.kind == "tail"]
        for w in result.warnings:
            if w.kind != "tail":
                parts.append(f"<li>{_e(w.message)} ({_e(', '.join(w.tasks))})</li>")
        if tails:  # one line: inside the training range, but rare
            parts.append(
                "<li>In the training tail (below the 1st or above the 99th percentile of "
                "training patients): "
                + "; ".join(
                    f"{_e(w.message.split(' is in the training tail')[0])} "
                    f"({_e(', '.join(w.tasks))})"
                    for w in tails
                )
                + "</li>"
            )
        for n in result.notes:
            parts.append(f"<li>{_e(n)}</li>")
        parts.append("</ul>")

    sources = list(
        dict.fromkeys(
            r.definition.source
            for r in list(result.mcid) + ([result.tfesi] if result.tfesi else [])
            if r.definition.source
        )
    )
    if sources:
        parts.append(
            "<p class='small'><b>MCID definitions:</b> " + " ".join(_e(x) for x in sources) + "</p>"
        )
    parts.append("</body></html>")
    return "\n".join(parts)
