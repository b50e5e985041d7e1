"""The TRIPOD+AI checklist, filled in where the run can answer.

TRIPOD+AI (Collins GS, Moons KGM, Dhiman P, et al. BMJ 2024; 385:e078378) has 27 items
with 52 sub-items. Each is declared here once — number, section, topic, a short
paraphrase of what it asks (the published wording is in the paper) — with, where the
toolkit knows the answer, a function that writes it from the task's manifest entry and
validation record. Every answer has a status:

``run``      filled in from this run;
``partly``   filled in from this run, with something only the authors can add;
``authors``  for the authors to complete (ethics, funding, setting, interpretation, …).

Items 2 (abstract) and 1 (title) are left to the authors: they summarise the manuscript.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from prom.report.context import TaskContext
from prom.report.html import Markup, el, table
from prom.report.sections_cohort import outcome_text, population_text, section

__all__ = ["TRIPOD_AI", "TripodItem", "checklist", "tripod_section"]

CITATION = (
    "Collins GS, Moons KGM, Dhiman P, et al. TRIPOD+AI statement: updated guidance "
    "for reporting clinical prediction models that use regression or machine learning "
    "methods. BMJ 2024; 385:e078378."
)

Answer = tuple[str, str]  # (status, text)


@dataclass(frozen=True)
class TripodItem:
    number: str
    section: str
    topic: str
    asks: str
    answer: Callable[[TaskContext], Answer] | None = None


# --- answers ---------------------------------------------------------------------------


def _families(c: TaskContext) -> list[str]:
    return list(c.meta["settings"].get("families", c.models))


def _models_text(c: TaskContext) -> str:
    from prom.models.specs import MODEL_SPECS

    parts = []
    for name, m in c.models.items():
        if c.kind == "survival":
            pen = getattr(m, "penalizer_", 0) or 0
            parts.append(
                f"{name}: Cox proportional hazards"
                + (
                    f" with ridge penalty {pen:g} chosen by cross-validated partial likelihood"
                    if pen
                    else ", unpenalised"
                )
            )
            continue
        spec = MODEL_SPECS.get(m.family)
        tuned = getattr(m, "chosen_params_", None) or {}
        tuned_txt = ", ".join(
            f"{k}={v:.3g}" if isinstance(v, float) else f"{k}={v}"
            for k, v in tuned.items()
            if spec and k in spec.search_space
        )
        parts.append(
            f"{name}: {spec.description if spec else m.family}"
            + (f" (tuned: {tuned_txt})" if tuned_txt else "")
            + f"; calibration: {getattr(m, 'calibration_method_', 'none')}"
        )
    return "; ".join(parts)


def _objectives(c: TaskContext) -> Answer:
    val = "internal validation by cross-validation"
    if c.iecv:
        val += " and internal–external validation leaving one site out at a time"
    comp = (
        ""
        if c.kind == "survival"
        else ", comparing each model family with logistic regression on the same predictions"
    )
    return "partly", (
        f"Development of models for {c.meta['description']} "
        f"({', '.join(_families(c))}) with {val}{comp}. Authors: state the "
        "clinical objective."
    )


def _data_source(c: TaskContext) -> Answer:
    desc = c.manifest.get("description") or "not recorded"
    if c.simulated:
        return "run", (
            f"Simulated cohort (prom.cohort.simulate, a documented data-generating "
            f"process with known truth); bundle description: {desc}. Not real "
            "patients."
        )
    return "partly", (
        f"Bundle description: {desc}. Authors: name the data source "
        "(registry, cohort, trial), its rationale and representativeness."
    )


def _setting(c: TaskContext) -> Answer:
    s = (c.record or {}).get("sites")
    if not s:
        return "authors", "No site column in the development data."
    return "partly", (
        f"{s['n_sites']} sites (column '{s['column']}'): "
        + ", ".join(f"{k} ({v:,} patients)" for k, v in s["per_site"].items())
        + ". Authors: describe the care setting and the sites' locations."
    )


def _eligibility(c: TaskContext) -> Answer:
    acc = c.meta.get("row_accounting", {})
    dropped = "; ".join(
        f"{k.replace('_', ' ')}: {v:,}" for k, v in acc.items() if k not in ("read", "used")
    )
    return "run", (
        f"Population: {population_text(c.name, c.meta)}. Of {acc.get('read', 0):,} "
        f"rows read, {acc.get('used', 0):,} were used"
        + (f"; excluded: {dropped}" if dropped else "")
        + "."
    )


def _treatments(c: TaskContext) -> Answer:
    if "treatment" in c.meta.get("predictors", []):
        return "partly", (
            "The treatment received after baseline (conservative / TFESI / "
            "surgery) is a candidate predictor, so predictions are conditional "
            "on the treatment chosen. Authors: describe the treatments."
        )
    return "partly", (
        "Treatment is not a predictor of this task"
        + (
            "; the population is defined by its treatment"
            if c.name in ("tfesi_response", "surgery_conversion")
            else ""
        )
        + ". Authors: describe treatments."
    )


def _preparation(c: TaskContext) -> Answer:
    return "run", (
        "Every table was checked against the cohort data contract (types, units, "
        "ranges, allowed missingness; all problems reported at once); PROM scores "
        "were computed from item answers with each instrument's missing-item rule "
        "(prom.instruments); imaging features at the index level were derived from "
        "the per-level columns. Preprocessing was fitted inside every training "
        "fold."
    )


def _outcome(c: TaskContext) -> Answer:
    return "partly", (
        outcome_text(c.meta) + " Authors: give the rationale and how and when "
        "the PROMs were collected."
    )


def _predictor_choice(c: TaskContext) -> Answer:
    return "run", (
        f"{len(c.meta.get('predictors', []))} candidate predictors: every baseline "
        "variable of the task registry (demographics, history, baseline PROM "
        "scores, imaging at the index level; nothing measured after baseline), no "
        "selection on the outcome before modelling. They are listed in Table 1."
    )


def _predictor_definition(c: TaskContext) -> Answer:
    return "partly", (
        "Definitions and units from the cohort data contract are given in "
        "Table 1. Authors: say when and how each was measured, and whether "
        "assessors were blind to the outcome."
    )


def _sample_size(c: TaskContext) -> Answer:
    r = c.record or {}
    if c.kind == "survival" and r.get("events_per_parameter"):
        e = r["events_per_parameter"]
        return "run", (
            f"{e['events']:,} events for {e['parameters']} candidate parameters "
            f"({e['epp']:.1f} events per parameter). No formal sample-size "
            "calculation for the time-to-event model."
        )
    ss = r.get("sample_size")
    if ss:
        return "run", ss["statement"]
    stored = c.meta.get("sample_size", {}).get("statement")
    if stored:
        return "run", stored
    return "authors", "Riley et al.'s criteria are for binary outcomes; not computed here."


def _missing(c: TaskContext) -> Answer:
    r = c.record or {}
    miss = [m for m in r.get("missingness", []) if m["missing"]]
    summary = (
        f"{len(miss)} of {len(r.get('missingness', []))} predictors had missing values "
        f"(most: {miss[0]['variable']}, {miss[0]['pct']:.1f}%). "
        if miss
        else ""
    )
    return "run", (
        summary + "Rows without a label were excluded (see participant flow). "
        "Missing predictor values were imputed inside every model's pipeline, "
        "refitted in every fold: numeric by the training median with a "
        "missing-value indicator, categorical as a 'missing' level. No multiple "
        "imputation."
    )


def _data_use(c: TaskContext) -> Answer:
    s = c.meta["settings"]
    txt = (
        f"All {c.meta['n']:,} eligible rows were used to develop the final models. "
        f"Performance was estimated on out-of-fold predictions of {s.get('n_splits')}-fold "
        "stratified cross-validation"
        + (f" × {s.get('n_repeats')} repeat(s)" if c.kind == "survival" else "")
        + " in which the whole pipeline was refitted in every fold"
    )
    if c.iecv:
        txt += ", and by internal–external validation leaving one site out at a time"
    return "run", txt + ". No separate test split."


def _predictor_handling(c: TaskContext) -> Answer:
    return "run", (
        "Numeric predictors entered as continuous (linear for logistic regression "
        "and Cox, untransformed; standardised for the elastic net), categorical "
        "predictors by reference coding (linear models) or one-hot coding (trees), "
        "each with missing-value indicators."
    )


def _model_building(c: TaskContext) -> Answer:
    s = c.meta["settings"]
    tuning = (
        ""
        if c.kind == "survival"
        else f" Hyperparameters were tuned by random search ({s.get('n_iter')} candidates, "
        f"{s.get('inner_cv')}-fold inner CV, log loss) and probabilities calibrated "
        f"(method '{s.get('calibration')}', chosen on inner out-of-fold predictions), "
        "both inside every outer fold."
    )
    return "run", f"{_models_text(c)}.{tuning} Internal validation: see 12a."


def _heterogeneity(c: TaskContext) -> Answer:
    if not c.iecv:
        return "authors", "Heterogeneity across sites was not assessed in this run."
    return "run", (
        "Internal–external cross-validation: each site predicted by models fitted "
        "on the others; AUC (logit scale), O/E (log scale) and calibration slope "
        "pooled by random-effects meta-analysis with τ², I² and 95% prediction "
        "intervals (Debray et al. 2017)."
    )


def _measures(c: TaskContext) -> Answer:
    if c.kind == "survival":
        return "run", (
            "Harrell's C with bootstrap interval; calibration slope; predicted "
            "against Kaplan–Meier risk at the horizon by risk group; Kaplan–Meier "
            "curves by predicted-risk tertile."
        )
    if c.kind == "multiclass":
        return "run", (
            "Macro one-vs-rest AUC and multiclass Brier score with bootstrap "
            "intervals, differences from multinomial logistic regression; "
            "one-vs-rest ROC and calibration curves per class."
        )
    return "run", (
        "AUC (DeLong interval) and its paired difference from logistic regression "
        "(DeLong test); Brier score; calibration-in-the-large, intercept and slope; "
        "ICI/E50/E90/Emax; flexible calibration curves; decision curves (net "
        "benefit) with bootstrap intervals of the difference at pre-set thresholds."
    )


def _updating(c: TaskContext) -> Answer:
    note = c.meta.get("recalibration")
    if note:
        return "run", f"The models were recalibrated: {note}."
    return "run", "No model updating."


def _prediction_calc(c: TaskContext) -> Answer:
    return "run", (
        f"Predictions by the models in bundle {c.manifest.get('bundle_id', '')[:12]}"
        " (prom model bundle: safe formats, SHA-256 of every file) through the "
        "prom Python API (prom.bundle.load_bundle(...).task(...).predict_proba) "
        "or the prom command line."
    )


def _imbalance(c: TaskContext) -> Answer:
    return "run", "No class-imbalance methods (no resampling or class weights)."


def _output(c: TaskContext) -> Answer:
    if c.kind == "survival":
        return "run", (
            f"Risk of surgery by {c.meta['horizon']:g} {c.meta['time_unit']} "
            "(and the survival curve); no classification threshold."
        )
    if c.kind == "multiclass":
        return "run", "Calibrated probability of each class; no classification rule."
    return "run", (
        "A calibrated probability of the outcome; no classification threshold is "
        "set (decision curves show the net benefit over thresholds)."
    )


def _dev_vs_eval(c: TaskContext) -> Answer:
    if c.iecv:
        return "partly", (
            "Evaluation data are the development population (cross-validation) "
            "and each left-out site in turn. Authors: describe how sites differ."
        )
    return "run", (
        "No separate evaluation data: performance is from cross-validation within "
        "the development population."
    )


def _code(c: TaskContext) -> Answer:
    p = c.manifest.get("packages", {})
    return "partly", (
        f"Analysis with spine-prom {p.get('spine-prom', '?')} (Python "
        f"{p.get('python', '?')}; "
        + ", ".join(f"{k} {v}" for k, v in p.items() if k not in ("spine-prom", "python"))
        + "). Authors: give the repository and licence."
    )


def _flow(c: TaskContext) -> Answer:
    acc = c.meta.get("row_accounting", {})
    ev = c.meta.get("n_events")
    txt = f"{acc.get('read', 0):,} rows read, {c.meta['n']:,} used" + (
        f", {ev:,} with the outcome" if ev is not None else ""
    )
    fu = (c.record or {}).get("follow_up")
    if fu:
        txt += (
            f"; follow-up median {fu['median']:.1f} {fu['unit']} (IQR {fu['q1']:.1f} to "
            f"{fu['q3']:.1f})"
        )
    return "run", txt + "; see the participant-flow table."


def _characteristics(c: TaskContext) -> Answer:
    if c.record is None:
        return "authors", "No validation record in this bundle."
    return "partly", (
        "Table 1 (by outcome, with missing counts) and the missingness table. "
        "Authors: add dates and differences across key demographic groups."
    )


def _counts(c: TaskContext) -> Answer:
    s = c.meta["settings"]
    k = s.get("n_splits") or 1
    txt = (
        f"Development: {c.meta['n']:,} patients"
        + (f", {c.meta['n_events']:,} events" if c.meta.get("n_events") is not None else "")
        + f"; each CV fold trains on about {c.meta['n'] * (k - 1) // k:,}"
    )
    for fam, res in c.iecv.items():
        txt += f"; internal–external ({fam}): " + ", ".join(
            f"{r[next(iter(r))]} {r['n']:,}/{r['events']:,}" for r in res["per_site"]
        )
        break
    return "run", txt + "."


def _specification(c: TaskContext) -> Answer:
    return "partly", (
        f"The full models are in bundle {c.manifest.get('bundle_id', '')[:12]}; "
        "the logistic model's coefficients are in the odds-ratio table. Authors: "
        "state how the bundle can be obtained and any restrictions."
    )


def _performance(c: TaskContext) -> Answer:
    return "partly", (
        f"Primary model {c.primary}: {c.headline()} (out-of-fold); all models in "
        "the comparison table. Authors: add key subgroups."
    )


def _cluster_results(c: TaskContext) -> Answer:
    if not c.iecv:
        return "authors", "Not examined in this run."
    parts = []
    for fam, res in c.iecv.items():
        auc = next((r for r in res["meta"] if r["metric"] == "auc"), None)
        if auc:
            parts.append(
                f"{fam}: pooled AUC {auc['estimate']:.3f} ({auc['low']:.3f} to "
                f"{auc['high']:.3f}), prediction interval {auc['pi_low']:.3f} to "
                f"{auc['pi_high']:.3f}, I² {100 * auc['i2']:.0f}%"
            )
    return "run", "; ".join(parts) + "."


def _limitations(c: TaskContext) -> Answer:
    items = list(c.meta.get("warnings", []))
    if c.simulated:
        items.insert(0, "trained on simulated data")
    if not c.iecv and c.kind != "survival":
        items.append("no validation across sites or in external data")
    return "partly", (
        "From the run: " + "; ".join(items) + ". Authors: discuss."
        if items
        else "Authors: discuss."
    )


def _inputs(c: TaskContext) -> Answer:
    return "run", (
        "The bundle records each predictor's training range and category levels; "
        "missing predictor values are imputed as in training, categories unseen in "
        "training raise a warning, and the data contract rejects values outside the "
        "allowed ranges, naming the column, rows and values."
    )


_A = "authors"

TRIPOD_AI: tuple[TripodItem, ...] = (
    TripodItem("1", "Title", "Title", "development/evaluation, target population, outcome"),
    TripodItem("2", "Abstract", "Abstract", "see the TRIPOD+AI for Abstracts checklist"),
    TripodItem(
        "3a", "Introduction", "Background", "healthcare context and rationale, existing models"
    ),
    TripodItem(
        "3b",
        "Introduction",
        "Background",
        "target population, intended purpose and users",
        lambda c: (
            "partly",
            f"Population: {population_text(c.name, c.meta)}; "
            "intended use: see the model card. Authors: the care "
            "pathway and users.",
        ),
    ),
    TripodItem("3c", "Introduction", "Background", "known health inequalities between groups"),
    TripodItem(
        "4", "Introduction", "Objectives", "objectives; development and/or validation", _objectives
    ),
    TripodItem(
        "5a", "Methods", "Data", "data sources, rationale, representativeness", _data_source
    ),
    TripodItem("5b", "Methods", "Data", "dates of data collection and follow-up"),
    TripodItem(
        "6a", "Methods", "Participants", "setting; number and location of centres", _setting
    ),
    TripodItem("6b", "Methods", "Participants", "eligibility criteria", _eligibility),
    TripodItem(
        "6c", "Methods", "Participants", "treatments received and their handling", _treatments
    ),
    TripodItem(
        "7", "Methods", "Data preparation", "pre-processing and quality checking", _preparation
    ),
    TripodItem(
        "8a", "Methods", "Outcome", "outcome definition, horizon, how and when assessed", _outcome
    ),
    TripodItem("8b", "Methods", "Outcome", "qualifications of outcome assessors (if subjective)"),
    TripodItem("8c", "Methods", "Outcome", "blinding of outcome assessment"),
    TripodItem(
        "9a",
        "Methods",
        "Predictors",
        "choice and pre-selection of candidate predictors",
        _predictor_choice,
    ),
    TripodItem(
        "9b",
        "Methods",
        "Predictors",
        "definition and measurement of predictors",
        _predictor_definition,
    ),
    TripodItem("9c", "Methods", "Predictors", "qualifications of predictor assessors"),
    TripodItem("10", "Methods", "Sample size", "how the study size was arrived at", _sample_size),
    TripodItem("11", "Methods", "Missing data", "handling of missing data", _missing),
    TripodItem(
        "12a", "Methods", "Analytical methods", "how the data were used (partitioning)", _data_use
    ),
    TripodItem(
        "12b",
        "Methods",
        "Analytical methods",
        "handling of predictors (form, scaling)",
        _predictor_handling,
    ),
    TripodItem(
        "12c",
        "Methods",
        "Analytical methods",
        "model type, building steps, tuning, internal validation",
        _model_building,
    ),
    TripodItem(
        "12d", "Methods", "Analytical methods", "heterogeneity across clusters", _heterogeneity
    ),
    TripodItem("12e", "Methods", "Analytical methods", "performance measures and plots", _measures),
    TripodItem(
        "12f", "Methods", "Analytical methods", "model updating (e.g. recalibration)", _updating
    ),
    TripodItem(
        "12g", "Methods", "Analytical methods", "how predictions were calculated", _prediction_calc
    ),
    TripodItem(
        "13", "Methods", "Class imbalance", "class-imbalance methods and recalibration", _imbalance
    ),
    TripodItem("14", "Methods", "Fairness", "approaches to model fairness"),
    TripodItem(
        "15",
        "Methods",
        "Model output",
        "output (probabilities, classes) and any thresholds",
        _output,
    ),
    TripodItem(
        "16",
        "Methods",
        "Training versus evaluation",
        "differences between development and evaluation data",
        _dev_vs_eval,
    ),
    TripodItem("17", "Methods", "Ethical approval", "ethics committee and consent"),
    TripodItem("18a", "Open science", "Funding", "funding and role of funders"),
    TripodItem("18b", "Open science", "Conflicts of interest", "conflicts of interest"),
    TripodItem("18c", "Open science", "Protocol", "where the protocol can be accessed"),
    TripodItem("18d", "Open science", "Registration", "study registration"),
    TripodItem(
        "18e",
        "Open science",
        "Data sharing",
        "availability of the data",
        lambda c: (
            (
                "run",
                "Simulated data: regenerate with prom simulate (seed in the "
                "bundle's description or run log).",
            )
            if c.simulated
            else (_A, "")
        ),
    ),
    TripodItem("18f", "Open science", "Code sharing", "availability of the analytical code", _code),
    TripodItem(
        "19",
        "Patient and public involvement",
        "Patient and public involvement",
        "patient and public involvement",
    ),
    TripodItem(
        "20a", "Results", "Participants", "participant flow, outcome counts, follow-up", _flow
    ),
    TripodItem(
        "20b",
        "Results",
        "Participants",
        "characteristics, predictors, missing data",
        _characteristics,
    ),
    TripodItem(
        "20c",
        "Results",
        "Participants",
        "evaluation data compared with development data",
        lambda c: (
            ("run", "Not applicable: no separate evaluation data set.")
            if not c.iecv
            else (
                "partly",
                "Per-site patients and events in the "
                "internal–external table. Authors: compare the "
                "sites' case mix.",
            )
        ),
    ),
    TripodItem(
        "21", "Results", "Model development", "participants and events in each analysis", _counts
    ),
    TripodItem(
        "22",
        "Results",
        "Model specification",
        "full model for predictions in new individuals",
        _specification,
    ),
    TripodItem(
        "23a",
        "Results",
        "Model performance",
        "performance with confidence intervals, key subgroups",
        _performance,
    ),
    TripodItem(
        "23b",
        "Results",
        "Model performance",
        "heterogeneity of performance across clusters",
        _cluster_results,
    ),
    TripodItem("24", "Results", "Model updating", "results of model updating", _updating),
    TripodItem("25", "Discussion", "Interpretation", "overall interpretation, fairness"),
    TripodItem(
        "26", "Discussion", "Limitations", "limitations, biases, generalisability", _limitations
    ),
    TripodItem(
        "27a", "Discussion", "Usability", "handling poor-quality or unavailable inputs", _inputs
    ),
    TripodItem("27b", "Discussion", "Usability", "user interaction and expertise needed"),
    TripodItem("27c", "Discussion", "Usability", "next steps for future research"),
)

_STATUS_TEXT = {
    "run": "from this run",
    "partly": "partly from this run",
    "authors": "for the authors to complete",
}


def checklist(ctx: TaskContext) -> list[dict]:
    """Every item with its status and answer."""
    out = []
    for item in TRIPOD_AI:
        status, text = item.answer(ctx) if item.answer else (_A, "")
        if status not in _STATUS_TEXT:
            raise ValueError(f"TRIPOD+AI item {item.number}: unknown status {status!r}")
        out.append(
            {
                "number": item.number,
                "section": item.section,
                "topic": item.topic,
                "asks": item.asks,
                "status": status,
                "text": text,
            }
        )
    return out


def tripod_section(ctx: TaskContext) -> Markup:
    items = checklist(ctx)
    rows = []
    for it in items:
        answer = it["text"] or "For the authors to complete."
        rows.append(
            [
                el("th", it["number"], scope="row"),
                it["section"],
                it["topic"],
                it["asks"],
                el(
                    "td",
                    _STATUS_TEXT[it["status"]],
                    class_=f"s-{it['status']}",
                    data_item=it["number"],
                    data_status=it["status"],
                ),
                answer,
            ]
        )
    done = sum(it["status"] == "run" for it in items)
    part = sum(it["status"] == "partly" for it in items)
    return section(
        ctx.tid,
        "tripod",
        "TRIPOD+AI checklist",
        el(
            "p",
            f"{done} of {len(items)} items filled in from this run, {part} partly; the rest "
            "are for the authors. Item wording is paraphrased; see ",
            el("cite", CITATION),
        ),
        table(
            ["item", "section", "topic", "asks for", "status", "answer"],
            rows,
            id=f"{ctx.tid}-tripod-table",
            class_="tripod",
        ),
    )
