"""The TRIPOD+AI checklist, filled in where the run can answer.

TRIPOD+AI (Collins GS, Moons KGM, Dhiman P, et al. BMJ 2024; 385:e078378) has 27 items
with 52 sub-items. Each is declared here once — number, section, topic, a short
paraphrase of what it asks (the published wording is in the paper) — with, where the
toolkit knows the answer, a function that writes it from the task's manifest entry and
validation record. Every answer has a status:

``run``      filled in from this run;
``partly``   filled in from this run, with something only the authors can add;
``not done``  a step the item asks about that this run did not take (heterogeneity
             across sites without a site column, …);
``not applicable``  the item does not arise for this run (no separate evaluation data);
``authors``  for the authors to complete (ethics, funding, setting, interpretation, …).

Items 2 (abstract) and 1 (title) are left to the authors: they summarise the manuscript.

A report has ONE checklist, whatever the number of its tasks (a manuscript reports one
study): :func:`checklist` and :func:`tripod_section` take every task's context, give an
item the tasks answer alike once, and list each task's answer inside an item where they
differ. What an answer says about data preparation, predictor choice and the prediction
time comes from the fit's recorded provenance (:mod:`prom.report.provenance`), never from
what a built-in task would usually have done.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from prom.report import tripod_answers as ans
from prom.report.context import TaskContext
from prom.report.html import Markup, el, table
from prom.report.sections_cohort import population_text
from prom.report.tripod_answers import Answer

__all__ = ["TRIPOD_AI", "TripodItem", "checklist", "tripod_section"]

CITATION = (
    "Collins GS, Moons KGM, Dhiman P, et al. TRIPOD+AI statement: updated guidance "
    "for reporting clinical prediction models that use regression or machine learning "
    "methods. BMJ 2024; 385:e078378."
)


@dataclass(frozen=True)
class TripodItem:
    number: str
    section: str
    topic: str
    asks: str
    answer: Callable[[TaskContext], Answer] | None = None


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
            (
                f"Population: {population_text(c.entry)}; "
                "intended use: see the model card. Authors: the care "
                "pathway and users."
            ),
        ),
    ),
    TripodItem("3c", "Introduction", "Background", "known health inequalities between groups"),
    TripodItem(
        "4",
        "Introduction",
        "Objectives",
        "objectives; development and/or validation",
        ans.objectives,
    ),
    TripodItem(
        "5a", "Methods", "Data", "data sources, rationale, representativeness", ans.data_source
    ),
    TripodItem("5b", "Methods", "Data", "dates of data collection and follow-up"),
    TripodItem(
        "6a", "Methods", "Participants", "setting; number and location of centres", ans.setting
    ),
    TripodItem("6b", "Methods", "Participants", "eligibility criteria", ans.eligibility),
    TripodItem(
        "6c", "Methods", "Participants", "treatments received and their handling", ans.treatments
    ),
    TripodItem(
        "7", "Methods", "Data preparation", "pre-processing and quality checking", ans.preparation
    ),
    TripodItem(
        "8a",
        "Methods",
        "Outcome",
        "outcome definition, horizon, how and when assessed",
        ans.outcome,
    ),
    TripodItem("8b", "Methods", "Outcome", "qualifications of outcome assessors (if subjective)"),
    TripodItem("8c", "Methods", "Outcome", "blinding of outcome assessment"),
    TripodItem(
        "9a",
        "Methods",
        "Predictors",
        "choice and pre-selection of candidate predictors",
        ans.predictor_choice,
    ),
    TripodItem(
        "9b",
        "Methods",
        "Predictors",
        "definition and measurement of predictors",
        ans.predictor_definition,
    ),
    TripodItem("9c", "Methods", "Predictors", "qualifications of predictor assessors"),
    TripodItem(
        "10", "Methods", "Sample size", "how the study size was arrived at", ans.sample_size
    ),
    TripodItem("11", "Methods", "Missing data", "handling of missing data", ans.missing),
    TripodItem(
        "12a",
        "Methods",
        "Analytical methods",
        "how the data were used (partitioning)",
        ans.data_use,
    ),
    TripodItem(
        "12b",
        "Methods",
        "Analytical methods",
        "handling of predictors (form, scaling)",
        ans.predictor_handling,
    ),
    TripodItem(
        "12c",
        "Methods",
        "Analytical methods",
        "model type, building steps, tuning, internal validation",
        ans.model_building,
    ),
    TripodItem(
        "12d", "Methods", "Analytical methods", "heterogeneity across clusters", ans.heterogeneity
    ),
    TripodItem(
        "12e", "Methods", "Analytical methods", "performance measures and plots", ans.measures
    ),
    TripodItem(
        "12f", "Methods", "Analytical methods", "model updating (e.g. recalibration)", ans.updating
    ),
    TripodItem(
        "12g",
        "Methods",
        "Analytical methods",
        "how predictions were calculated",
        ans.prediction_calc,
    ),
    TripodItem(
        "13",
        "Methods",
        "Class imbalance",
        "class-imbalance methods and recalibration",
        ans.imbalance,
    ),
    TripodItem("14", "Methods", "Fairness", "approaches to model fairness"),
    TripodItem(
        "15",
        "Methods",
        "Model output",
        "output (probabilities, classes) and any thresholds",
        ans.output,
    ),
    TripodItem(
        "16",
        "Methods",
        "Training versus evaluation",
        "differences between development and evaluation data",
        ans.dev_vs_eval,
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
                (
                    "Simulated data: regenerate with prom simulate (seed in the "
                    "bundle's description or run log)."
                ),
            )
            if c.simulated
            else (_A, "")
        ),
    ),
    TripodItem(
        "18f", "Open science", "Code sharing", "availability of the analytical code", ans.code
    ),
    TripodItem(
        "19",
        "Patient and public involvement",
        "Patient and public involvement",
        "patient and public involvement",
    ),
    TripodItem(
        "20a", "Results", "Participants", "participant flow, outcome counts, follow-up", ans.flow
    ),
    TripodItem(
        "20b",
        "Results",
        "Participants",
        "characteristics, predictors, missing data",
        ans.characteristics,
    ),
    TripodItem(
        "20c",
        "Results",
        "Participants",
        "evaluation data compared with development data",
        lambda c: (
            ("not applicable", "No separate evaluation data set.")
            if not c.iecv
            else (
                "partly",
                (
                    "Per-site patients and events in the "
                    "internal–external table. Authors: compare the "
                    "sites' case mix."
                ),
            )
        ),
    ),
    TripodItem(
        "21", "Results", "Model development", "participants and events in each analysis", ans.counts
    ),
    TripodItem(
        "22",
        "Results",
        "Model specification",
        "full model for predictions in new individuals",
        ans.specification,
    ),
    TripodItem(
        "23a",
        "Results",
        "Model performance",
        "performance with confidence intervals, key subgroups",
        ans.performance,
    ),
    TripodItem(
        "23b",
        "Results",
        "Model performance",
        "heterogeneity of performance across clusters",
        ans.cluster_results,
    ),
    TripodItem("24", "Results", "Model updating", "results of model updating", ans.updating),
    TripodItem("25", "Discussion", "Interpretation", "overall interpretation, fairness"),
    TripodItem(
        "26", "Discussion", "Limitations", "limitations, biases, generalisability", ans.limitations
    ),
    TripodItem(
        "27a", "Discussion", "Usability", "handling poor-quality or unavailable inputs", ans.inputs
    ),
    TripodItem("27b", "Discussion", "Usability", "user interaction and expertise needed"),
    TripodItem("27c", "Discussion", "Usability", "next steps for future research"),
)

_STATUS_TEXT = {
    "run": "from this run",
    "partly": "partly from this run",
    "not done": "not done in this run",
    "not applicable": "not applicable to this run",
    "authors": "for the authors to complete",
}


def _answers(ctx: TaskContext) -> list[Answer]:
    out = []
    for item in TRIPOD_AI:
        status, text = item.answer(ctx) if item.answer else (_A, "")
        if status not in _STATUS_TEXT:
            raise ValueError(f"TRIPOD+AI item {item.number}: unknown status {status!r}")
        out.append((status, text))
    return out


_AUTHORS = " Authors: "


def _combine(names: Sequence[str], answers: Sequence[Answer]) -> dict[str, Any]:
    """One item's answer over every task: the shared answer when all tasks give the same,
    else one answer per task (``per_task``), with a shared "Authors: …" request said once.
    The status is the tasks' common status, or ``partly`` when they differ."""
    statuses = {s for s, _ in answers}
    status = statuses.pop() if len(statuses) == 1 else "partly"
    texts = [t for _, t in answers]
    if len(set(texts)) == 1:
        return {"status": status, "text": texts[0], "per_task": None, "authors": ""}
    heads, tails = zip(*(t.partition(_AUTHORS)[::2] for t in texts), strict=True)
    authors = ""
    if len(set(tails)) == 1 and tails[0]:
        authors, texts = f"Authors: {tails[0]}", [h.rstrip() for h in heads]
    per_task = [(n, t) for n, t in zip(names, texts, strict=True)]
    return {"status": status, "text": "", "per_task": per_task, "authors": authors}


def checklist(contexts: TaskContext | Sequence[TaskContext]) -> list[dict]:
    """Every item with its status and answer, over every task of the report.

    Each item carries ``status`` and ``text`` (the answer shared by every task) or, when
    the tasks' answers differ, ``per_task`` (task name, answer) pairs and a shared
    ``authors`` request."""
    ctxs = [contexts] if isinstance(contexts, TaskContext) else list(contexts)
    if not ctxs:
        raise ValueError("a TRIPOD+AI checklist needs at least one task")
    per_ctx = [_answers(c) for c in ctxs]
    names = [c.name for c in ctxs]
    out = []
    for i, item in enumerate(TRIPOD_AI):
        combined = _combine(names, [a[i] for a in per_ctx])
        out.append(
            {
                "number": item.number,
                "section": item.section,
                "topic": item.topic,
                "asks": item.asks,
                **combined,
            }
        )
    return out


def _answer_cell(it: dict) -> Any:
    if it["per_task"] is None:
        return it["text"] or "For the authors to complete."
    rows = [
        el("li", el("strong", f"{name}: "), text or "for the authors")
        for name, text in it["per_task"]
    ]
    return el("td", el("ul", rows), it["authors"] or None, data_answer="per-task")


def tripod_section(contexts: TaskContext | Sequence[TaskContext]) -> Markup:
    """The report's one TRIPOD+AI checklist (element id ``tripod``), covering every task:
    an item whose answer differs between tasks lists each task's answer inside it."""
    ctxs = [contexts] if isinstance(contexts, TaskContext) else list(contexts)
    items = checklist(ctxs)
    rows = [
        [
            el("th", it["number"], scope="row"),
            it["section"],
            it["topic"],
            it["asks"],
            el(
                "td",
                _STATUS_TEXT[it["status"]],
                class_=f"s-{it['status'].replace(' ', '-')}",
                data_item=it["number"],
                data_status=it["status"],
            ),
            _answer_cell(it),
        ]
        for it in items
    ]
    done = sum(it["status"] == "run" for it in items)
    part = sum(it["status"] == "partly" for it in items)
    skipped = sum(it["status"] == "not done" for it in items)
    na = sum(it["status"] == "not applicable" for it in items)
    tasks = ", ".join(c.name for c in ctxs)
    return el(
        "section",
        el("h2", "TRIPOD+AI checklist"),
        el(
            "p",
            f"One checklist for the whole report (task{'s' if len(ctxs) > 1 else ''}: {tasks}); "
            "an answer that differs between tasks is given for each task. "
            f"{done} of {len(items)} items filled in from this run, {part} partly, "
            f"{skipped} about steps not done in this run, {na} not applicable; the rest "
            "are for the authors. Item wording is paraphrased; see ",
            el("cite", CITATION),
        ),
        table(
            ["item", "section", "topic", "asks for", "status", "answer"],
            rows,
            id="tripod-table",
            class_="tripod",
        ),
        id="tripod",
        class_="part",
    )
