"""Report sections about the models of a binary or multiclass task: comparison with
logistic regression, internal–external validation, odds ratios and SHAP summaries (the
curves are in :mod:`prom.report.sections_curves`)."""

from __future__ import annotations

from typing import Any

import numpy as np

from prom.bundle import ClassifierTaskEntry
from prom.models.out_of_bag import inner_validation_phrase
from prom.report import figures as figs
from prom.report.html import Markup, cell, ci, el, figure, num, slug, table
from prom.report.optimism import OPTIMISM_NOTE, optimism_table
from prom.report.sections_cohort import (
    NO_RECORD,
    note,
    section,
    unavailable,
)
from prom.validation.pvalue import format_p_value
from prom.validation.subgroups import published_counts

__all__ = [
    "comparison_section",
    "iecv_section",
    "odds_ratio_section",
    "shap_section",
]


def comparison_section(tid: str, entry: ClassifierTaskEntry) -> Markup:
    multi = entry.kind == "multiclass"
    auc = "macro one-vs-rest AUC" if multi else "AUC"
    header = [
        "model",
        f"{auc} (95% CI)",
        "ΔAUC vs logistic (95% CI)",
        "Brier (95% CI)",
        "ΔBrier (95% CI)",
    ]
    if not multi:
        header += ["calibration slope (95% CI)", "calibration intercept", "p (DeLong)"]
    header += ["verdict"]
    rows = []
    for r in entry.comparison:
        m = r["model"]
        star = " (primary)" if m == entry.primary else ""
        row: list[Any] = [
            el("th", m + star, scope="row"),
            cell(
                ci(r["auc"], r["auc_low"], r["auc_high"]), r["auc"], task=tid, model=m, metric="auc"
            ),
            cell(
                ci(r["delta_auc"], r.get("delta_auc_low"), r.get("delta_auc_high"), signed=True)
                if m != entry.baseline
                else "reference",
                r["delta_auc"],
                task=tid,
                model=m,
                metric="delta_auc",
            ),
            cell(
                ci(r["brier"], r["brier_low"], r["brier_high"], 4),
                r["brier"],
                task=tid,
                model=m,
                metric="brier",
            ),
            cell(
                ci(
                    r["delta_brier"],
                    r.get("delta_brier_low"),
                    r.get("delta_brier_high"),
                    4,
                    signed=True,
                )
                if m != entry.baseline
                else "reference",
                r["delta_brier"],
                task=tid,
                model=m,
                metric="delta_brier",
            ),
        ]
        if not multi:
            p = r.get("delta_auc_p")
            row += [
                cell(
                    ci(r["calibration_slope"], r["slope_low"], r["slope_high"], 2),
                    r["calibration_slope"],
                    task=tid,
                    model=m,
                    metric="calibration_slope",
                ),
                cell(
                    num(r["calibration_intercept"], 2),
                    r["calibration_intercept"],
                    task=tid,
                    model=m,
                    metric="calibration_intercept",
                ),
                format_p_value(p),
            ]
        row.append(
            el(
                "td",
                r["verdict"],
                title=r["explanation"],
                class_=f"v-{r['verdict']}".replace(" ", "-"),
                data_task=tid,
                data_model=m,
                data_metric="verdict",
            )
        )
        rows.append(row)
    why = el(
        "ul",
        [
            el("li", el("strong", r["model"] + ": "), r["explanation"])
            for r in entry.comparison
            if r["model"] != entry.baseline
        ],
    )
    s = entry.settings
    tuning = (
        f"tuning ({s.n_iter} random-search candidates, {inner_validation_phrase(s)}) and "
        if s.n_iter > 1
        else "each family's default hyperparameters (no tuning, n_iter = 1); "
    )
    caption = (
        f"Every model against logistic regression on the same out-of-fold predictions "
        f"({s.n_splits}-fold stratified CV; {tuning}calibration "
        f"('{s.calibration}') refitted inside every fold). "
        "Calibration intercept: the intercept with the slope estimated (slope-free); "
        "calibration-in-the-large (CITL) is the intercept with the slope fixed at 1. "
        "AUC intervals: " + ("bootstrap percentile" if multi else "DeLong") + "; Brier intervals: "
        f"bootstrap percentile ({s.n_boot} paired replicates); calibration "
        "slope: Wald. Verdict 'better' needs the ΔAUC interval above 0, a calibration "
        "slope within 0.8–1.2 and a Brier score not worse."
    )
    parts = [
        table(header, rows, id=f"{tid}-comparison-table", caption=caption),
        el("h4", "Verdicts"),
        why,
    ]
    if entry.optimism:
        parts.append(el("h4", "Bootstrap optimism correction"))
        parts.append(note(OPTIMISM_NOTE))
    parts += [
        optimism_table(
            rows_, f"{fam}: Harrell's bootstrap optimism correction ({s.optimism_boot} refits)"
        )
        for fam, rows_ in entry.optimism.items()
    ]
    return section(tid, "comparison", "Model comparison against logistic regression", *parts)


def _text(v) -> str:
    """A note of a site row as text: a missing one (None, or NaN once read back from a
    table) is no note."""
    return v if isinstance(v, str) else ""


def iecv_section(tid: str, entry: ClassifierTaskEntry) -> Markup:
    title = "Internal–external validation by site"
    ie = entry.internal_external
    if not ie:
        why = (
            "it is run for binary outcomes only"
            if entry.kind != "binary"
            else f"the fit had no site column with two or more sites (site column: "
            f"{entry.settings.site_column!r})"
        )
        return section(tid, "iecv", title, note(f"Not run: {why}."))
    parts = []
    for fam, res in ie.items():
        key = next(iter(res.per_site[0])) if res.per_site else "site"  # the site column
        sites = sorted(res.per_site, key=lambda r: str(r.get(key)))  # in the sites' order
        rows = []
        shown = published_counts({str(r.get(key)): r["n"] for r in sites})
        for r in sites:
            s = str(r.get(key))
            n = shown[s]
            rows.append(
                [
                    s,
                    n or "withheld",
                    f"{r['events']:,}" if n and n[0].isdigit() else "–",
                    cell(
                        ci(r.get("auc"), r.get("auc_low"), r.get("auc_high")),
                        r.get("auc"),
                        task=tid,
                        model=fam,
                        site=s,
                        metric="auc",
                    ),
                    cell(
                        ci(r.get("calibration_slope"), r.get("slope_low"), r.get("slope_high"), 2),
                        r.get("calibration_slope"),
                        task=tid,
                        model=fam,
                        site=s,
                        metric="calibration_slope",
                    ),
                    ci(r.get("o_e"), r.get("o_e_low"), r.get("o_e_high"), 2),
                    _text(r.get("reason")) or _text(r.get("note")),
                ]
            )
        meta_rows = [
            [
                r["metric"],
                ci(r["estimate"], r["low"], r["high"]),
                f"{num(r['pi_low'])} to {num(r['pi_high'])}",
                num(r["tau2"], 4),
                f"{num(r['i2'], 0, pct=True)}%",
                r["k"],
            ]
            for r in res.meta
        ]
        ok = [r for r in sites if r.get("auc") is not None and np.isfinite(r["auc"])]
        pooled_auc = res.meta_row("auc")
        ax = figs.forest_plot(
            [str(r.get(key)) for r in ok],
            [r["auc"] for r in ok],
            [r["auc_low"] for r in ok],
            [r["auc_high"] for r in ok],
            weights=[r["n"] for r in ok],
            summary=(pooled_auc["estimate"], pooled_auc["low"], pooled_auc["high"])
            if pooled_auc
            else None,
            prediction=(pooled_auc["pi_low"], pooled_auc["pi_high"]) if pooled_auc else None,
            reference=0.5,
            xlabel="AUC (95% CI)",
            title=f"{fam}: AUC in each left-out site",
        )
        parts += [
            el("h4", fam),
            table(
                [
                    "site",
                    "n",
                    "events",
                    "AUC (95% CI)",
                    "calibration slope (95% CI)",
                    "O/E (95% CI)",
                    "note",
                ],
                rows,
                id=f"{tid}-iecv-{slug(fam)}-table",
                caption=f"{fam}: each site predicted by the model fitted on all other "
                "sites (whole pipeline refitted).",
            ),
            figure(
                ax.figure,
                id=f"{tid}-iecv-{slug(fam)}-figure",
                caption="AUC per left-out site (square size: patients) and the "
                "random-effects pooled AUC (diamond, logit scale) with its 95% "
                "prediction interval (dashed).",
            ),
            table(
                ["metric", "pooled (95% CI)", "95% prediction interval", "τ²", "I²", "sites"],
                meta_rows,
                caption="Random-effects meta-analysis of the site estimates (Debray et al. 2017).",
            ),
        ]
    return section(tid, "iecv", title, *parts)


def odds_ratio_section(tid: str, entry: ClassifierTaskEntry, record: dict | None) -> Markup:
    title = "Logistic regression: odds ratios"
    if record is None:
        return section(tid, "odds-ratios", title, unavailable("Odds ratios", NO_RECORD))
    o = record["odds_ratios"]
    if "error" in o:
        return section(tid, "odds-ratios", title, unavailable("Odds ratios", o["error"]))
    multi = entry.kind == "multiclass"
    rows = []
    for r in o["rows"]:
        p = r["p_value"]
        if r.get("not_identifiable"):  # near-aliased: no odds ratio shown as if it were one
            rows.append(
                ([str(r["outcome"])] if multi else [])
                + [
                    r["feature"],
                    "—",
                    el(
                        "td",
                        "not shown: " + r["not_identifiable"],
                        class_="not-identifiable",
                        data_task=tid,
                        data_feature=r["feature"],
                        data_metric="odds_ratio",
                    ),
                    "—",
                ]
            )
            continue
        rows.append(
            ([str(r["outcome"])] if multi else [])
            + [
                r["feature"] + (f" († {r['collinear']})" if r.get("collinear") else ""),
                num(r["coef"], 3),
                cell(
                    ci(r["odds_ratio"], r["ci_low"], r["ci_high"], 3),
                    r["odds_ratio"],
                    task=tid,
                    feature=r["feature"],
                    outcome=str(r["outcome"]),
                    metric="odds_ratio",
                ),
                format_p_value(p),
            ]
        )
    return section(
        tid,
        "odds-ratios",
        title,
        table(
            (["outcome vs reference"] if multi else [])
            + ["design column", "coefficient", "odds ratio (95% CI)", "p"],
            rows,
            id=f"{tid}-odds-ratios-table",
            caption="Maximum-likelihood logistic regression on the logistic model's design, all "
            "development rows: per unit of a numeric predictor, per level against the most "
            "frequent level, per 'missing' indicator against observed. Wald intervals "
            "(as R's confint.default). Not adjusted for optimism. † a column whose variance "
            "inflation factor is above 10 (collinear: imprecise). Above 100 (near-aliased) "
            "the odds ratio is not shown: it is not identifiable apart from the columns it "
            "moves with. A column exactly aliased with others was left out of the fit (see "
            "Diagnostics).",
        ),
    )


def shap_section(tid: str, shap: dict | None) -> Markup:
    title = "Explanations: SHAP summaries of the primary model"
    if shap is None:
        return section(
            tid,
            "shap",
            title,
            note(
                "Not computed: SHAP values need rows to explain. Run prom report with --data "
                "<cohort table> (the development data, or a sample of the target population)."
            ),
        )
    if "error" in shap:
        return section(tid, "shap", title, unavailable("SHAP summaries", shap["error"]))
    imp = shap["importance"]
    rows = [
        [
            str(i),
            r["label"],
            cell(
                num(r["mean_abs"], 4),
                r["mean_abs"],
                task=tid,
                variable=r["variable"],
                metric="mean_abs_shap",
            ),
            f"{num(r['share'], 0, pct=True)}%",
        ]
        for i, r in imp.head(20).iterrows()
    ]
    return section(
        tid,
        "shap",
        title,
        el("p", shap["text"]),
        *[figure(f, id=f"{tid}-shap-{k}", caption=c) for k, (f, c) in shap["figures"].items()],
        table(
            ["rank", "variable", f"mean |SHAP| ({shap['output']})", "share"],
            rows,
            id=f"{tid}-shap-table",
        ),
    )
