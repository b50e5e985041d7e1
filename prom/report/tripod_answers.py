# Longer than 500 lines: one short answer function per TRIPOD+AI item the run can fill; split them by checklist section when it grows further
"""Answers to the TRIPOD+AI items that a run can give, from a task's manifest entry,
validation record and models (the items themselves are declared in
:mod:`prom.report.tripod`). Each returns ``(status, text)``: ``run`` (filled in from this
run) or ``partly`` (with something only the authors can add), or ``authors``."""

from __future__ import annotations

from prom.bundle import ClassifierSettings, ClassifierTaskEntry, SurvivalSettings, SurvivalTaskEntry
from prom.models.calibration import auto_rule
from prom.models.out_of_bag import inner_validation_phrase
from prom.report import provenance as prov
from prom.report.context import TaskContext
from prom.report.sections_cohort import (
    excluded_predictors_text,
    is_count,
    outcome_text,
    patients_text,
    population_text,
    sample_size_override,
)
from prom.validation.meta_analysis import prediction_interval_text
from prom.validation.subgroups import published_counts

Answer = tuple[str, str]  # (status, text)

__all__ = [
    "Answer",
    "model_families",
    "models_text",
    "objectives",
    "data_source",
    "setting",
    "eligibility",
    "treatments",
    "preparation",
    "outcome",
    "predictor_choice",
    "predictor_definition",
    "sample_size",
    "missing",
    "data_use",
    "predictor_handling",
    "model_building",
    "heterogeneity",
    "measures",
    "updating",
    "prediction_calc",
    "imbalance",
    "output",
    "dev_vs_eval",
    "code",
    "flow",
    "characteristics",
    "counts",
    "specification",
    "performance",
    "cluster_results",
    "limitations",
    "inputs",
]


def model_families(c: TaskContext) -> list[str]:
    return list(c.entry.settings.families or c.models)


def models_text(c: TaskContext) -> str:
    from prom.models.specs import MODEL_SPECS

    parts = []
    searched = getattr(c.entry.settings, "n_iter", 1) > 1  # one candidate: the defaults
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
            + (f" ({'tuned' if searched else 'defaults'}: {tuned_txt})" if tuned_txt else "")
            + f"; calibration: {getattr(m, 'calibration_method_', 'none')}"
        )
    return "; ".join(parts)


def objectives(c: TaskContext) -> Answer:
    val = "internal validation by cross-validation"
    if c.iecv:
        val += " and internal–external validation leaving one site out at a time"
    comp = (
        ""
        if c.kind == "survival"
        else ", comparing each model family with logistic regression on the same predictions"
    )
    return "partly", (
        f"Development of models for {c.entry.description} "
        f"({', '.join(model_families(c))}) with {val}{comp}. Authors: state the "
        "clinical objective."
    )


def data_source(c: TaskContext) -> Answer:
    desc = c.manifest.description or "not recorded"
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


def setting(c: TaskContext) -> Answer:
    s = (c.record or {}).get("sites")
    if not s:
        return "authors", "No site column in the development data."
    return "partly", (
        f"{s['n_sites']} sites (column '{s['column']}'): "
        + ", ".join(f"{k} ({patients_text(v)})" for k, v in published_counts(s["per_site"]).items())
        + ". Authors: describe the care setting and the sites' locations."
    )


def eligibility(c: TaskContext) -> Answer:
    return "run", f"Population: {population_text(c.entry)}. {prov.rows_text(c.entry)}"


def treatments(c: TaskContext) -> Answer:
    if prov.is_custom(c.entry):  # the user's own columns: no assumption about what they hold
        return "authors", "Authors: describe the treatments received and how they were handled."
    if "treatment" in c.entry.predictors:
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


def preparation(c: TaskContext) -> Answer:
    """From the fit's provenance record only (:mod:`prom.report.provenance`)."""
    sentences = prov.preparation_sentences(c.entry)
    status = "run" if c.entry.provenance is not None else "partly"
    tail = "" if status == "run" else " Authors: describe the data preparation."
    return status, " ".join(sentences) + tail


def outcome(c: TaskContext) -> Answer:
    return "partly", outcome_text(c.entry) + " " + prov.outcome_assessment(c.entry)


def predictor_choice(c: TaskContext) -> Answer:
    excluded = excluded_predictors_text(c.entry)
    return "run", (
        prov.predictor_choice_text(c.entry)
        + "; no selection on the outcome before modelling. They are listed in Table 1."
        + (f" Left out of the fit, without looking at the outcome: {excluded}." if excluded else "")
    )


def predictor_definition(c: TaskContext) -> Answer:
    from prom.report.cohort import describe_variable

    e = c.entry
    declared = [p for p in e.predictors if describe_variable(p)["description"]]
    if prov.is_custom(e) and (e.provenance is None or e.provenance.predictors == "named"):
        text = "The predictors are the table's own columns, as the authors defined them."
    elif len(declared) == len(e.predictors):
        text = "Definitions and units of the cohort contract's columns: model card, Inputs."
    else:
        text = (
            f"{len(declared)} of {len(e.predictors)} predictors are columns the cohort "
            "contract defines (definitions and units in the model card, Inputs); the "
            "others are the table's own."
        )
    return "partly", (
        text + " Authors: say when and how each was measured, and whether assessors were "
        "blind to the outcome."
    )


def sample_size(c: TaskContext) -> Answer:
    status, text = _sample_size(c)
    override = sample_size_override(c.entry)
    return (status, text) if override is None else ("run", f"{override} {text}")


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
    e = c.entry
    statement = (
        ss["statement"]
        if ss
        else e.sample_size.statement
        if isinstance(e, ClassifierTaskEntry) and e.sample_size is not None
        else None
    )
    if statement:  # a check of the data at hand, not how its size was decided
        c_ant = getattr(e.settings, "anticipated_c", None)
        return "partly", (
            "Checked after the data were collected, not a design calculation: "
            + statement
            + (
                f" The anticipated C-statistic ({c_ant:g}) is an assumption of the check "
                "(FitSettings.anticipated_c), not an estimate from these data."
                if c_ant is not None
                else ""
            )
            + " Authors: say how the study size was arrived at."
        )
    return "authors", "Riley et al.'s criteria are for binary outcomes; not computed here."


def missing(c: TaskContext) -> Answer:
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
        "missing-value indicator where 10 or more training rows were missing, "
        "categorical as a 'missing' level. No multiple "
        "imputation."
    )


def data_use(c: TaskContext) -> Answer:
    s = c.entry.settings
    txt = (
        f"All {c.entry.n:,} eligible rows were used to develop the final models. "
        f"Performance was estimated on out-of-fold predictions of {s.n_splits}-fold "
        "stratified cross-validation"
        + (f" × {s.n_repeats} repeat(s)" if isinstance(s, SurvivalSettings) else "")
        + " in which the whole pipeline was refitted in every fold"
    )
    if c.iecv:
        txt += ", and by internal–external validation leaving one site out at a time"
    if c.entry.optimism:
        txt += (
            f"; {', '.join(c.entry.optimism)} also by Harrell's bootstrap optimism correction "
            f"({s.optimism_boot} refits; the table beside the comparison)"
        )
    return "run", txt + ". No separate test split."


def predictor_handling(c: TaskContext) -> Answer:
    """How the predictors entered the families this bundle holds (and no others)."""
    fams = set(c.models)
    linear = [n for f, n in (("logistic", "logistic regression"), ("cox", "Cox")) if f in fams]
    trees = fams & {"random_forest", "xgboost", "lightgbm"}
    numeric = "Numeric predictors entered as continuous"
    if linear:
        numeric += f" (linear for {' and '.join(linear)}, untransformed"
        numeric += "; standardised for the elastic net)" if "elastic_net" in fams else ")"
    elif "elastic_net" in fams:
        numeric += " (standardised for the elastic net)"
    if trees and (linear or "elastic_net" in fams):
        coding = "by reference coding (linear models) or one-hot coding (trees)"
    elif trees:
        coding = "by one-hot coding"
    else:
        coding = "by reference coding"
    return "run", (
        f"{numeric}, categorical predictors {coding}, with missing-value indicators where "
        "10 or more training rows were missing."
    )


def calibration_phrase(method: str, kind: str) -> str:
    """How the fit's ``calibration`` setting calibrates (for ``"auto"``, its rule as
    :func:`~prom.models.calibration.auto_rule` words it)."""
    if method == "auto":
        rule = auto_rule(2 if kind == "binary" else 3)
        return f"setting 'auto': {rule}; fitted on inner out-of-fold predictions"
    return f"method '{method}', fitted on inner out-of-fold predictions"


def model_building(c: TaskContext) -> Answer:
    s = c.entry.settings
    if not isinstance(s, ClassifierSettings):
        tuning = ""
    elif s.n_iter > 1:
        tuning = (
            f" Hyperparameters were tuned by random search ({s.n_iter} candidates, "
            f"{inner_validation_phrase(s)}, log loss) and probabilities calibrated "
            f"({calibration_phrase(s.calibration, c.kind)}), both inside every outer fold."
        )
    else:  # one candidate: each family's defaults, nothing searched
        tuning = (
            " Hyperparameters were not tuned (each family's defaults, n_iter = 1);"
            f" probabilities were calibrated ({calibration_phrase(s.calibration, c.kind)};"
            f" {inner_validation_phrase(s)}) inside every outer fold."
        )
    return "run", f"{models_text(c)}.{tuning} Internal validation: see 12a."


def heterogeneity(c: TaskContext) -> Answer:
    if not c.iecv:
        return "not done", "Heterogeneity across sites was not assessed in this run."
    return "run", (
        "Internal–external cross-validation: each site predicted by models fitted "
        "on the others; AUC (logit scale), O/E (log scale) and calibration slope "
        "pooled by random-effects meta-analysis with τ², I² and 95% prediction "
        "intervals (Debray et al. 2017)."
    )


def measures(c: TaskContext) -> Answer:
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


def updating(c: TaskContext) -> Answer:
    note = c.entry.recalibration
    if note:
        return "run", f"The models were recalibrated: {note}."
    return "run", "No model updating."


def prediction_calc(c: TaskContext) -> Answer:
    call = "predict_risk" if isinstance(c.entry, SurvivalTaskEntry) else "predict_proba"
    return "run", (
        f"Predictions by the models in bundle {c.manifest.bundle_id[:12]}"
        " (prom model bundle: safe formats, SHA-256 of every file) through the "
        f"prom Python API (prom.bundle.load_bundle(...).task(...).{call}) "
        "or the prom command line."
    )


def imbalance(c: TaskContext) -> Answer:
    return "run", "No class-imbalance methods (no resampling or class weights)."


def output(c: TaskContext) -> Answer:
    if isinstance(c.entry, SurvivalTaskEntry):
        return "run", (
            f"Risk of the event{_event(c.entry)} by {c.entry.horizon:g} {c.entry.time_unit} "
            "(and the survival curve); no classification threshold."
        )
    if c.kind == "multiclass":
        return "run", "Calibrated probability of each class; no classification rule."
    return "run", (
        "A calibrated probability of the outcome; no classification threshold is "
        "set (decision curves show the net benefit over thresholds)."
    )


def dev_vs_eval(c: TaskContext) -> Answer:
    if c.iecv:
        return "partly", (
            "Evaluation data are the development population (cross-validation) "
            "and each left-out site in turn. Authors: describe how sites differ."
        )
    return "run", (
        "No separate evaluation data: performance is from cross-validation within "
        "the development population."
    )


def code(c: TaskContext) -> Answer:
    p = c.manifest.packages
    return "partly", (
        f"Analysis with spine-prom {p.get('spine-prom', '?')} (Python "
        f"{p.get('python', '?')}; "
        + ", ".join(f"{k} {v}" for k, v in p.items() if k not in ("spine-prom", "python"))
        + "). Authors: give the repository and licence."
    )


def flow(c: TaskContext) -> Answer:
    acc = c.entry.row_accounting
    ev = c.entry.n_events
    txt = f"{acc.get('read', 0):,} rows read, {c.entry.n:,} used" + (
        f", {ev:,} with the outcome" if ev is not None else ""
    )
    fu = (c.record or {}).get("follow_up")
    if fu:
        txt += (
            f"; follow-up median {fu['median']:.1f} {fu['unit']} (IQR {fu['q1']:.1f} to "
            f"{fu['q3']:.1f})"
        )
    return "run", txt + "; see the participant-flow table."


def characteristics(c: TaskContext) -> Answer:
    if c.record is None:
        return "authors", "No validation record in this bundle."
    return "partly", (
        "Table 1 (by outcome, with missing counts) and the missingness table. "
        "Authors: add dates and differences across key demographic groups."
    )


def counts(c: TaskContext) -> Answer:
    e = c.entry
    k = e.settings.n_splits or 1
    txt = (
        f"Development: {e.n:,} patients"
        + (f", {e.n_events:,} events" if e.n_events is not None else "")
        + f"; each CV fold trains on about {e.n * (k - 1) // k:,}"
    )
    for fam, res in list(c.iecv.items())[:1]:  # a site too small to publish: no counts
        sites = {str(r[next(iter(r))]): r for r in res.per_site}
        shown = published_counts({s: r["n"] for s, r in sites.items()})
        txt += f"; internal–external ({fam}): " + ", ".join(
            f"{s} {r['n']:,}/{r['events']:,}"
            if is_count(shown[s])
            else f"{s} {patients_text(shown[s])}"
            for s, r in sites.items()
        )
    return "run", txt + "."


def specification(c: TaskContext) -> Answer:
    if isinstance(c.entry, SurvivalTaskEntry):
        where = (
            "the Cox models' coefficients are in the hazard-ratio table (Cox models: hazard "
            "ratios) and their baseline hazards in the bundle"
        )
    else:
        where = "the logistic model's coefficients are in the odds-ratio table"
        method = getattr(c.models.get("logistic"), "calibration_method_", None)
        if method not in (None, "none"):
            where += (
                f"; its predictions pass through the calibration map fitted after it ({method}"
                "; its parameters are in the bundle), so the coefficients alone do not "
                "reproduce them"
            )
    return "partly", (
        f"The full models are in bundle {c.manifest.bundle_id[:12]}; {where}. Authors: "
        "state how the bundle can be obtained and any restrictions."
    )


def performance(c: TaskContext) -> Answer:
    table = (
        "the Discrimination and calibration table"
        if isinstance(c.entry, SurvivalTaskEntry)
        else "the comparison table"
    )
    text = f"Primary model {c.primary}: {c.headline()} (out-of-fold); all models in {table}."
    sg = (c.record or {}).get("subgroups") or {}
    names = [v["name"] for v in sg.get("variables", []) if not v["how"].startswith("not ")]
    if not names:
        return "partly", text + " Authors: add key subgroups."
    return "run", text + (
        f" By subgroup ({', '.join(names)}): the Subgroups section, on the same "
        "out-of-fold predictions."
    )


def cluster_results(c: TaskContext) -> Answer:
    if not c.iecv:
        return "not done", "Not examined in this run."
    aucs = [(fam, a) for fam, res in c.iecv.items() if (a := res.meta_row("auc"))]
    return "run", "; ".join(
        f"{fam}: pooled AUC {a['estimate']:.3f} ({a['low']:.3f} to {a['high']:.3f}), "
        f"{prediction_interval_text(a['pi_low'], a['pi_high'], int(a['k']))}, "
        f"I² {100 * a['i2']:.0f}%"
        for fam, a in aucs
    ) + "."


def limitations(c: TaskContext) -> Answer:
    items = list(c.entry.warnings)
    if c.simulated:
        items.insert(0, "trained on simulated data")
    if not c.iecv and c.kind != "survival":
        items.append("no validation across sites or in external data")
    return "partly", (
        "From the run: " + "; ".join(i.rstrip(". ") for i in items) + ". Authors: discuss."
        if items
        else "Authors: discuss."
    )


def inputs(c: TaskContext) -> Answer:
    from prom.report.cohort import describe_variable

    e = c.entry
    declared = [p for p in e.predictors if describe_variable(p)["description"]]
    text = (
        "The bundle records each predictor's training range and category levels; "
        "missing predictor values are imputed as in training and categories unseen in "
        "training raise a warning."
    )
    if declared:
        text += (
            f" For the {len(declared)} of {len(e.predictors)} predictors the cohort "
            "contract declares, prom score rejects a value outside the allowed range, "
            "naming the column, rows and values"
            + ("; the others are taken as given." if len(declared) < len(e.predictors) else ".")
        )
    return "run", text


def _event(e: SurvivalTaskEntry) -> str:
    """`` (surgery (…))``: the stored event definition, when there is one."""
    event = getattr(e.definition, "event", "")
    return f" ({event})" if event else ""
