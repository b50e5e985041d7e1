"""Sentences about how a task was fitted, written only from what its bundle recorded.

The TRIPOD+AI answers (:mod:`prom.report.tripod_answers`), the model card and the task
overview say how the data were prepared, how the predictors were chosen and when a
prediction is made. Each sentence here is written from the task's manifest entry: its
provenance (:class:`prom.bundle.FitProvenance`), row accounting, excluded predictors and
label definition. The rules:

- a step is stated as done only when the record says it was done; as not done when the
  record says so; and as "not recorded" when the bundle does not say (a bundle written
  before provenance was recorded, or a table fitted from Python without the readers);
- a user's own outcome (``task_source == "user"``) gets no sentence about the task
  registry, PROM scoring or the cohort data contract unless the record shows that it
  happened in this run — silence, not a denial, because those steps are not part of
  such a task at all;
- "the baseline visit" is the prediction time only of a registry task fitted on the
  registry's own candidate predictors (all recorded at baseline by the registry's design).
"""

from __future__ import annotations

from prom.bundle import FitProvenance, TaskEntry
from prom.outcomes import McidDefinition

__all__ = [
    "NOT_RECORDED",
    "is_custom",
    "predictor_choice_text",
    "preparation_sentences",
    "rows_text",
    "prediction_time",
    "outcome_assessment",
]

#: What the report says of a fact its bundle did not record.
NOT_RECORDED = "not recorded in this bundle"


def is_custom(entry: TaskEntry) -> bool:
    """The task's outcome is the user's own: by the recorded provenance, else (a bundle
    from before provenance) by its stored label definition."""
    prov = entry.provenance
    return prov.is_custom if prov is not None else not entry.is_builtin


def _names(cols, limit: int = 12) -> str:
    cols = list(cols)
    shown = ", ".join(cols[:limit])
    return shown + (f" and {len(cols) - limit} more" if len(cols) > limit else "")


def predictor_choice_text(entry: TaskEntry) -> str:
    """How the candidate predictors were chosen, with their number."""
    n = len(entry.predictors)
    prov: FitProvenance | None = entry.provenance
    if prov is None:
        return f"{n} candidate predictors; how they were chosen is {NOT_RECORDED}"
    if prov.predictors == "named":
        return f"{n} candidate predictors named by the authors (--predictors): " + _names(
            entry.predictors
        )
    if prov.predictors == "contract":
        scores = " and baseline PROM scores" if _score_columns(entry, outcome=False) else ""
        return (
            f"{n} candidate predictors: the table's columns that the cohort contract "
            f"declares as predictors{scores}, as prom fit chooses for a user's outcome "
            "without --predictors: " + _names(entry.predictors)
        )
    return (
        f"{n} candidate predictors: the task registry's candidates present in the table "
        "(demographics, history, baseline PROM scores, imaging at the index level and, "
        "where the task lists it, the treatment chosen)"
    )


def _contract_sentence(entry: TaskEntry, prov: FitProvenance | None) -> str | None:
    c = None if prov is None else prov.contract
    if c is not None and c.checked:
        counts = f": {c.errors} error(s), {c.warnings} warning(s)" if c.errors is not None else ""
        how = ", ".join(x for x in (c.contract, f"{c.mode} mode" if c.mode else None) if x)
        return f"The table was checked against the cohort data contract ({how}){counts}."
    if is_custom(entry):  # not a step of a user's own outcome: no claim about the contract
        if c is not None:  # but what was (not) checked is said
            return "The table's values were used as read; no range or type checks were run on them."
        return None
    if c is not None:
        return (
            "The table was not checked against the cohort data contract in this run "
            "(prom validate checks it)."
        )
    return f"Whether the table was checked against the cohort data contract is {NOT_RECORDED}."


def _score_columns(entry: TaskEntry, *, outcome: bool = True) -> list[str]:
    """The task's columns (outcome, then predictors) that are PROM score columns."""
    from prom.instruments import INSTRUMENTS
    from prom.naming import TIMEPOINTS, score_column

    names = {score_column(k, tp) for k in INSTRUMENTS for tp in TIMEPOINTS}
    cols = dict.fromkeys([*(entry.outcome_columns if outcome else ()), *entry.predictors])
    return [c for c in cols if c in names]


def _scoring_sentence(entry: TaskEntry, prov: FitProvenance | None) -> str | None:
    scored = None if prov is None else prov.scored_from_items
    given = [c for c in _score_columns(entry) if scored is not None and c not in scored]
    as_given = f"taken from the table as given: {', '.join(given)}"
    if scored:
        return (
            f"PROM scores used by this task ({', '.join(scored)}) were computed from item "
            "answers in this run, with each instrument's missing-item rule "
            "(prom.instruments)" + (f"; {as_given}." if given else ".")
        )
    if is_custom(entry):
        return None
    if scored is not None:
        return (
            f"No PROM score was computed from item answers in this run; {as_given}."
            if given
            else None
        )
    return f"Whether PROM scores were computed from item answers is {NOT_RECORDED}."


def preparation_sentences(entry: TaskEntry) -> list[str]:
    """What was done to the table before fitting (TRIPOD+AI item 7), sentence by sentence."""
    prov = entry.provenance
    out = []
    if prov is not None and prov.mapping:
        out.append(f"Columns were renamed and converted with the mapping file {prov.mapping}.")
    out += [s for s in (_contract_sentence(entry, prov), _scoring_sentence(entry, prov)) if s]
    if prov is not None and prov.derived:
        index = all(c.startswith("img_index_") for c in prov.derived)
        out.append(
            f"Derived in this run: {_names(prov.derived)}"
            + (
                " (imaging at the index level, from index_level and the per-level columns)."
                if index
                else "."
            )
        )
    out.append(rows_text(entry))
    out.append("Preprocessing was fitted inside every training fold.")
    from prom.report.imaging_note import imaging_sentence

    out += [s for s in (imaging_sentence(entry.predictors),) if s]
    return out


def rows_text(entry: TaskEntry) -> str:
    """Rows read, used, and every exclusion with its reason (the participant flow)."""
    acc = entry.row_accounting
    # a reason code (not_in_population) reads with spaces; a reason naming a column
    # ("rtw_12m missing") keeps the column's name as written
    dropped = "; ".join(
        f"{v:,} ({k if ' ' in k else k.replace('_', ' ')})"
        for k, v in acc.items()
        if k not in ("read", "used") and v
    )
    return (
        f"Of {acc.get('read', 0):,} rows read, {acc.get('used', 0):,} were used"
        + (f"; excluded: {dropped}" if dropped else "; none excluded")
        + "."
    )


def prediction_time(entry: TaskEntry) -> str:
    """When a prediction is made, as far as the record says (see the module docstring)."""
    prov = entry.provenance
    if prov is not None and prov.task_source == "registry" and prov.predictors == "registry":
        if "treatment" in entry.predictors:
            return "at the baseline visit, once the treatment is chosen"
        return "at the baseline visit"
    return "when the predictors listed under Inputs are known"


def outcome_assessment(entry: TaskEntry) -> str:
    """What the authors should add about how the outcome was assessed (item 8a)."""
    if isinstance(entry.definition, McidDefinition):
        return "Authors: give the rationale and how and when the PROMs were collected."
    return "Authors: give the rationale and how and when the outcome was assessed."
