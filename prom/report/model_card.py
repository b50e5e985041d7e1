"""A model card for a task's primary model (after Mitchell et al., FAT* 2019): what it is
for, whom it was trained on, what goes in and comes out, how well it did, and its limits."""

from __future__ import annotations

from collections.abc import Mapping

from prom.bundle import SurvivalTaskEntry
from prom.models.ranges import CategoricalRange, NumericRange
from prom.report.context import TaskContext
from prom.report.html import Markup, el, num, table
from prom.report.provenance import prediction_time, predictor_choice_text
from prom.report.sections_cohort import outcome_text, population_text, section

__all__ = ["model_card_section"]


def _inputs_table(ctx: TaskContext) -> Markup:
    import pandas as pd

    from prom.report.cohort import describe_variable, variable_kind

    # the primary model's own training ranges: the manifest's feature_schema is the union
    # over every task of the bundle, so its ranges may come from another population
    pre = getattr(ctx.models.get(ctx.primary), "preprocessor_", None)
    schema: Mapping[str, NumericRange | CategoricalRange] = (
        pre.training_summaries()
        if pre is not None and getattr(pre, "training_ranges_", None)
        else ctx.manifest.feature_schema
    )
    rows = []
    for name in ctx.entry.predictors:
        info = schema.get(name)
        d = describe_variable(name)
        if variable_kind(name, pd.Series(dtype=float)) == "binary":
            rng = "0 or 1 (no / yes)"
        elif isinstance(info, NumericRange):
            rng = f"{num(info.p01, 1)} to {num(info.p99, 1)}"
        elif isinstance(info, CategoricalRange):
            rng = ", ".join(map(str, info.categories))
        else:
            rng = ""
        rows.append(
            [
                name,
                d["description"],
                d["unit"],
                rng,
                f"{num(None if info is None else info.missing_fraction, 1, pct=True)}%",
            ]
        )
    return table(
        [
            "predictor",
            "description",
            "unit",
            "training range (1st–99th percentile) or levels",
            "missing in training",
        ],
        rows,
        id=f"{ctx.tid}-model-card-inputs",
    )


def model_card_section(ctx: TaskContext) -> Markup:
    m = ctx.manifest
    e = ctx.entry
    when = prediction_time(e)
    if isinstance(e, SurvivalTaskEntry):
        event = getattr(e.definition, "event", "")
        output = (
            f"probability of the event{f' ({event})' if event else ''} by {e.horizon:g} "
            f"{e.time_unit} (and the survival curve over time)"
        )
    elif ctx.kind == "multiclass":
        output = "calibrated probability of each class: " + ", ".join(map(str, e.classes))
    else:
        output = "calibrated probability of the outcome"
    limits = []
    if ctx.simulated:
        limits.append(
            el(
                "li",
                el("strong", "Trained on simulated data. "),
                "These models demonstrate the toolkit; they say nothing about real "
                "patients and must not be used for clinical decisions.",
            )
        )
    ss = (ctx.record or {}).get("sample_size")
    said = " ".join(e.warnings)
    if ss and not ss["adequate"] and ss["shortfalls"][0] not in said:
        limits.append(
            el(
                "li",
                "Sample size below Riley et al.'s minimum: " + "; ".join(ss["shortfalls"]) + ".",
            )
        )
    if not ctx.iecv:
        limits.append(
            el(
                "li",
                "Not validated across sites or in external data: performance "
                "in another population is unknown (validate with prom evaluate).",
            )
        )
    limits += [el("li", w) for w in e.warnings]
    limits.append(
        el(
            "li",
            f"Predictions are for patients like the development population, made {when}; "
            "inputs outside the training ranges are extrapolation. Associations are not "
            "causal effects.",
        )
    )
    fields = [
        (
            "Model",
            f"{ctx.primary} (primary model of task {ctx.name}); models in the bundle: "
            + ", ".join(ctx.models),
        ),
        (
            "Bundle",
            f"{m.bundle_id} (written {m.created}; spine-prom {m.spine_prom_version})",
        ),
        (
            "Intended use",
            (
                f"to estimate, {when}, {e.description} for "
                "shared decision-making and research; an aid to, not a replacement "
                "for, clinical judgement."
                + (
                    " It predicts the treatment patients like this one received in the "
                    "development data — current practice, not the treatment that would "
                    "serve them best."
                    if ctx.name == "triage"
                    else ""
                )
            ),
        ),
        (
            "Out of scope",
            (
                "patients outside the population below; automated decisions without "
                "a clinician; use before local validation."
            ),
        ),
        (
            "Population",
            f"{population_text(e)}; {e.n:,} patients"
            + (f", {e.n_events:,} events" if e.n_events is not None else "")
            + (
                f", {ctx.record['sites']['n_sites']} sites"
                if ctx.record and ctx.record.get("sites")
                else ""
            ),
        ),
        ("Outcome", outcome_text(e)),
        ("Predictors", predictor_choice_text(e)),
        ("Output", output),
        (
            "Performance",
            f"{ctx.headline()} (out-of-fold cross-validation"
            + (", of the models before they were recalibrated)" if e.recalibration else ")"),
        ),
    ]
    if ctx.kind == "survival":
        chosen = "largest cross-validated C"
    elif ctx.primary == e.baseline:
        chosen = "no family was better than logistic regression, so logistic regression"
    else:
        chosen = "the best family with verdict 'better' than logistic regression"
    fields.append(("Why this model", chosen))
    dl = el("dl", [(el("dt", k), el("dd", v)) for k, v in fields])
    return section(
        ctx.tid,
        "model-card",
        "Model card",
        dl,
        el("h4", "Limitations and caveats"),
        el("ul", limits),
        el("h4", "Inputs"),
        _inputs_table(ctx),
    )
