"""``prom report``: one self-contained HTML file per bundle, one part per task and one
TRIPOD+AI checklist for them all.

Inputs (see :mod:`prom.workflows.record` for why): the bundle's manifest and each task's
validation record — both verified against the bundle's hashes — and, only for the SHAP
summaries, rows given with ``data`` (the primary model is explained on a random sample of
at most ``shap_rows`` of the task's labelled rows).

Patient-level content: none from the bundle (the record holds aggregates). With
``data``, the SHAP beeswarm shows one dot per explained row; it is embedded as a raster
image, from which neither a row's values nor its identity can be read back — the same
figure journals publish. The SHAP table holds mean |SHAP| per variable only.

Provenance: the header says how the bundle's origin was established
(:attr:`prom.bundle.Bundle.trust`) — who signed it and that the key is trusted, or, for a
bundle loaded with the opt-out (``--allow-unsigned``), a visible banner that it is
unverified (element id ``bundle-trust``).

The HTML has no external resource: figures are base64 PNGs, the stylesheet is inline,
fonts are the reader's system fonts. Every piece of text is escaped
(:mod:`prom.report.html`). Stable element ids: ``task-<task>`` for each task's part and
``task-<task>-<section>`` for its sections (:data:`SECTIONS`); ``tripod`` for the report's
one TRIPOD+AI checklist, which covers every task (:mod:`prom.report.tripod`).
"""

from __future__ import annotations

import datetime as dt
import os
import warnings
from importlib import resources
from pathlib import Path
from typing import Any

import pandas as pd

from prom.bundle import Bundle, BundleTask, SurvivalTaskEntry
from prom.report.context import TaskContext
from prom.report.html import Markup, el
from prom.report.model_card import model_card_section
from prom.report.tripod import CITATION, tripod_section

__all__ = ["SECTIONS", "build_report", "write_report", "shap_summary"]

#: The sections of a task's part, by task kind, in order (ids ``task-<task>-<key>``).
#: The sections of a binary or multiclass task's part, in order.
_CLASSIFIER_SECTIONS = (
    "overview",
    "table1",
    "missingness",
    "sample-size",
    "diagnostics",
    "comparison",
    "roc",
    "calibration",
    "decision",
    "iecv",
    "subgroups",
    "odds-ratios",
    "shap",
    "model-card",
)

SECTIONS: dict[str, tuple[str, ...]] = {
    "binary": _CLASSIFIER_SECTIONS,
    "multiclass": _CLASSIFIER_SECTIONS,
    "survival": (
        "overview",
        "table1",
        "missingness",
        "sample-size",
        "diagnostics",
        "performance",
        "calibration",
        "km",
        "subgroups",
        "hazard-ratios",
        "shap",
        "model-card",
    ),
}

_TITLES = {
    "overview": "Task and flow",
    "table1": "Table 1",
    "missingness": "Missing data",
    "sample-size": "Sample size",
    "diagnostics": "Diagnostics",
    "comparison": "Model comparison",
    "roc": "ROC",
    "calibration": "Calibration",
    "decision": "Decision curves",
    "iecv": "Internal–external validation",
    "subgroups": "Subgroups",
    "odds-ratios": "Odds ratios",
    "shap": "SHAP",
    "model-card": "Model card",
    "performance": "Performance",
    "km": "Kaplan–Meier",
    "hazard-ratios": "Hazard ratios",
}

REFERENCES = (
    CITATION,
    (
        "Riley RD, Ensor J, Snell KIE, et al. Calculating the sample size required for developing "
        "a clinical prediction model. BMJ 2020; 368:m441."
    ),
    (
        "DeLong ER, DeLong DM, Clarke-Pearson DL. Comparing the areas under two or more correlated "
        "receiver operating characteristic curves. Biometrics 1988; 44:837-845."
    ),
    (
        "Van Calster B, Nieboer D, Vergouwe Y, et al. A calibration hierarchy for risk models was "
        "defined: from utopia to empirical data. J Clin Epidemiol 2016; 74:167-176."
    ),
    (
        "Austin PC, Steyerberg EW. The Integrated Calibration Index (ICI) and related metrics for "
        "quantifying the calibration of logistic regression models. Stat Med 2019; 38:4051-4065."
    ),
    (
        "Vickers AJ, Elkin EB. Decision curve analysis: a novel method for evaluating prediction "
        "models. Med Decis Making 2006; 26:565-574."
    ),
    (
        "Debray TPA, Damen JAAG, Snell KIE, et al. A guide to systematic review and meta-analysis "
        "of prediction model performance. BMJ 2017; 356:i6460."
    ),
    "Lundberg SM, Lee S-I. A unified approach to interpreting model predictions. NeurIPS 2017.",
    "Mitchell M, Wu S, Zaldivar A, et al. Model cards for model reporting. FAT* 2019.",
)


def shap_summary(
    bt: BundleTask, data: pd.DataFrame, *, n_rows: int = 500, random_state: int = 0
) -> dict[str, Any]:
    """SHAP summaries of a task's primary model on a sample of its rows in ``data``.

    Returns ``{"importance", "figures": {key: (Figure, caption)}, "output", "text"}``, or
    ``{"error": reason}`` when the rows cannot be explained (no labelled rows, additivity
    check failed, …).
    """
    from prom.errors import PromError
    from prom.explain import (
        AdditivityError,
        beeswarm_figure,
        explain_rows,
        global_importance,
        importance_figure,
    )
    from prom.report.sections_cohort import event_text

    try:
        rows = bt.entry.rows(data)
    except (PromError, ValueError) as e:
        return {"error": f"the rows given with --data could not be used for this task: {e}"}
    if rows.absent:
        return {
            "error": "the rows given with --data lack the predictor column(s) "
            + ", ".join(rows.absent)
            + ": their SHAP values would explain the training median put in every row"
        }
    X = rows.X
    if len(X) == 0:
        return {"error": "the rows given with --data hold no labelled row of this task"}
    sample = X.sample(n=min(n_rows, len(X)), random_state=random_state)
    model = bt.models[bt.primary]
    from prom.models import UnknownCategoryWarning

    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", UnknownCategoryWarning)
            ex = explain_rows(model, sample, output="log_odds", groups=bt.entry.explain_groups)
    except (AdditivityError, ValueError) as e:  # e.g. a model saved without design means
        return {"error": f"{bt.primary} could not be explained: {e}"}
    unseen = []  # said in the section, not as a Python warning on the terminal
    for w in caught:
        if issubclass(w.category, UnknownCategoryWarning):
            unseen.append(str(w.message))
        else:
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    imp = global_importance(ex)
    figures = {
        "importance": (
            importance_figure(imp),
            (
                "Mean |SHAP value| per clinical "
                "variable (design columns summed back to their variable; predictors "
                "explained together, see Diagnostics, summed into one group)."
            ),
        )
    }
    if ex.is_multiclass:
        for c in ex.classes or ():
            figures[f"beeswarm-{c}"] = (
                beeswarm_figure(ex, class_=c, model=bt.primary),
                (
                    f"Class '{c}': every "
                    "explained row's contribution per variable, coloured "
                    "by the variable's value."
                ),
            )
    else:
        event = event_text(bt.entry)
        towards = f" to the log-odds of {event}" if event and ex.output == "log_odds" else ""
        figures["beeswarm"] = (
            beeswarm_figure(ex, event=event, model=bt.primary),
            (
                f"Every explained row's contribution{towards} per "
                "variable, coloured by the variable's value (grey: missing)."
            ),
        )
    text = (
        f"{bt.primary}: {len(sample):,} of the {len(X):,} labelled rows given with --data "
        f"(random sample, seed {random_state}), explained on the model's {ex.output} scale "
        + ("before its calibration map " if ex.output == "log_odds" else "")
        + f"(method: {ex.method}; largest additivity residual {ex.additivity_residual:.2g}). "
        "SHAP values describe the model, not causal effects."
        + "".join(f" Among the explained rows, {u[0].lower()}{u[1:]}." for u in unseen)
    )
    return {"importance": imp, "figures": figures, "output": ex.output, "text": text}


def _task_part(ctx: TaskContext) -> Markup:
    from prom.report import sections_cohort as sc
    from prom.report import sections_curves as scv
    from prom.report import sections_diagnostics as sd
    from prom.report import sections_models as sm
    from prom.report import sections_subgroups as sg
    from prom.report import sections_survival as ss

    t, entry, rec = ctx.tid, ctx.entry, ctx.record
    common = [
        sc.overview(t, entry, rec),
        sc.table_one_section(t, rec),
        sc.missingness_section(t, rec, entry),
        sc.sample_size_section(t, entry, rec),
        sd.diagnostics_section(t, entry),
    ]
    if isinstance(entry, SurvivalTaskEntry):
        body = [
            ss.performance_section(t, entry),
            ss.horizon_calibration_section(t, entry),
            ss.km_section(t, entry, rec),
            sg.subgroups_section(t, entry.primary, rec),
            ss.hazard_ratio_section(t, entry),
        ]
    else:
        body = [
            sm.comparison_section(t, entry),
            scv.roc_section(t, entry, rec),
            scv.calibration_section(t, entry, rec),
            scv.decision_section(t, entry, rec),
            sm.iecv_section(t, entry),
            sg.subgroups_section(t, entry.primary, rec),
            sm.odds_ratio_section(t, entry, rec),
        ]
    tail = [sm.shap_section(t, ctx.shap), model_card_section(ctx)]
    links = [el("a", _TITLES[k], href=f"#{t}-{k}") for k in SECTIONS[ctx.kind]]
    nav = el("p", [(" · " if i else None, a) for i, a in enumerate(links)], class_="meta")
    updated = (
        el(
            "p",
            el("strong", "Recalibrated models. "),
            f"The models were recalibrated after development ({entry.recalibration}). "
            "The figures below are those of the development: out-of-fold predictions of "
            "the models before recalibration; the recalibrated models have not been "
            "validated on other data in this bundle (prom evaluate does that).",
            class_="note",
        )
        if entry.recalibration
        else None
    )
    return el(
        "article",
        el("h2", f"{ctx.name} — {entry.description}"),
        nav,
        updated,
        *common,
        *body,
        *tail,
        id=t,
    )


def build_report(
    bundle: Bundle,
    *,
    data: pd.DataFrame | None = None,
    tasks=None,
    shap_rows: int = 500,
    random_state: int = 0,
    title: str | None = None,
) -> str:
    """The report of a loaded bundle (:func:`prom.bundle.load_bundle`) as an HTML string.

    ``data``: a cohort table with PROM scores (:func:`prom.instruments.add_scores`) whose
    rows the SHAP summaries explain; without it the SHAP sections say how to get them.
    ``tasks``: task names (default every task of the bundle).
    """
    names = list(bundle.tasks) if tasks is None else list(tasks)
    for n in names:
        bundle.task(n)  # a BundleError naming the tasks when one is unknown
    contexts = []
    for n in names:
        bt = bundle.tasks[n]
        shap = None
        if data is not None:
            shap = shap_summary(bt, data, n_rows=shap_rows, random_state=random_state)
        contexts.append(
            TaskContext(
                name=n,
                entry=bt.entry,
                record=bt.read_record(),
                manifest=bundle.manifest,
                models=bt.models,
                shap=shap,
            )
        )
    m = bundle.manifest
    title = title or f"Prediction model report — bundle {m.bundle_id[:12]}"
    css = resources.files("prom.report").joinpath("templates/report.css").read_text("utf-8")
    simulated = any(c.simulated for c in contexts)
    banner = (
        el(
            "div",
            "Trained on SIMULATED data: a demonstration of the toolkit, not a model "
            "of real patients; not for clinical use.",
            class_="banner",
            id="simulated-banner",
        )
        if simulated
        else None
    )
    trust = bundle.trust
    trust_line = el(
        "p" if trust.verified else "div",
        ("Signature: " if trust.verified else "UNVERIFIED BUNDLE — ") + trust.describe(),
        class_="meta" if trust.verified else "banner",
        id="bundle-trust",
    )
    toc = el(
        "nav",
        el("h4", "Tasks"),
        el(
            "ul",
            [
                el(
                    "li",
                    el("a", f"{c.name}", href=f"#{c.tid}"),
                    f" — {c.entry.description} ({c.kind}; primary model {c.primary})",
                )
                for c in contexts
            ]
            + [el("li", el("a", "TRIPOD+AI checklist", href="#tripod"), " — every task")],
        ),
        id="contents",
    )
    header = el(
        "header",
        el("h1", title),
        el(
            "p",
            f"Bundle {m.bundle_id} · written {m.created} · "
            f"{m.description or 'no description'} · spine-prom "
            f"{m.spine_prom_version} · report generated "
            f"{dt.date.today().isoformat()}",
            class_="meta",
        ),
        trust_line,
        banner,
        toc,
    )
    footer = el(
        "footer",
        el("h4", "References"),
        el("ol", [el("li", el("cite", r)) for r in REFERENCES]),
        el(
            "p",
            "Every number in this report comes from the bundle's manifest and "
            "validation record (computed when the models were fitted, verified by "
            "SHA-256 when loaded); SHAP summaries, when present, from the rows given "
            "with --data.",
        ),
        id="references",
    )
    doc = el(
        "html",
        el(
            "head",
            Markup('<meta charset="utf-8">'),
            Markup('<meta name="viewport" content="width=device-width, initial-scale=1">'),
            el("title", title),
            el("style", Markup(css)),
        ),
        el("body", header, *[_task_part(c) for c in contexts], tripod_section(contexts), footer),
        lang="en",
    )
    return "<!DOCTYPE html>\n" + doc + "\n"


def write_report(
    bundle: Bundle | str | os.PathLike,
    out: str | os.PathLike,
    *,
    data: pd.DataFrame | None = None,
    tasks=None,
    shap_rows: int = 500,
    random_state: int = 0,
    overwrite: bool = True,
    trust_store: str | os.PathLike | None = None,
    allow_unsigned: bool = False,
) -> Path:
    """Build a bundle's report and write it to ``out`` (an ``.html`` file). ``bundle`` is
    a loaded bundle or a bundle's path, loaded and verified here (``trust_store`` and
    ``allow_unsigned`` as for :func:`prom.bundle.load_bundle`)."""
    from prom.bundle import load_bundle

    out = Path(out)
    if out.suffix.lower() not in (".html", ".htm"):
        raise ValueError(f"--out {str(out)!r}: expected a file name ending in .html")
    if out.exists() and not overwrite:
        raise FileExistsError(f"{out} exists; choose another name or allow overwriting")
    if not isinstance(bundle, Bundle):
        bundle = load_bundle(bundle, trust_store=trust_store, allow_unsigned=allow_unsigned)
    html_text = build_report(
        bundle,
        data=data,
        tasks=tasks,
        shap_rows=shap_rows,
        random_state=random_state,
    )
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.tmp")
    tmp.write_text(html_text, encoding="utf-8")
    os.replace(tmp, out)
    return out
