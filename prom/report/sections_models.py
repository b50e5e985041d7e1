"""Report sections about the models of a binary or multiclass task: comparison with
logistic regression, ROC, calibration, decision curves, internal–external validation,
odds ratios and SHAP summaries."""

from __future__ import annotations

import numpy as np

from prom.report import figures as figs
from prom.report.html import Markup, cell, ci, el, figure, num, slug, table
from prom.report.sections_cohort import note, section, unavailable

__all__ = [
    "comparison_section",
    "roc_section",
    "calibration_section",
    "decision_section",
    "iecv_section",
    "odds_ratio_section",
    "shap_section",
]

_NO_RECORD = (
    "the bundle holds no validation record (written before records existed, or a "
    "recalibrated bundle); refit with prom fit to get one"
)


def _title(meta: dict, what: str) -> str:
    return f"{what}, out-of-fold ({meta['settings'].get('n_splits', '?')}-fold CV)"


def comparison_section(tid: str, meta: dict) -> Markup:
    multi = meta["kind"] == "multiclass"
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
    for r in meta["comparison"]:
        m = r["model"]
        star = " (primary)" if m == meta["primary"] else ""
        row = [
            el("th", m + star, scope="row"),
            cell(
                ci(r["auc"], r["auc_low"], r["auc_high"]), r["auc"], task=tid, model=m, metric="auc"
            ),
            cell(
                ci(r["delta_auc"], r.get("delta_auc_low"), r.get("delta_auc_high"), signed=True)
                if m != meta["baseline"]
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
                if m != meta["baseline"]
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
                "" if p is None or not np.isfinite(p) else ("< 0.001" if p < 0.001 else num(p, 3)),
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
            for r in meta["comparison"]
            if r["model"] != meta["baseline"]
        ],
    )
    s = meta["settings"]
    caption = (
        f"Every model against logistic regression on the same out-of-fold predictions "
        f"({s.get('n_splits')}-fold stratified CV; tuning ({s.get('n_iter')} random-"
        f"search candidates, {s.get('inner_cv')}-fold inner CV) and calibration "
        f"('{s.get('calibration')}') refitted inside every fold). AUC intervals: "
        + ("bootstrap percentile" if multi else "DeLong")
        + f"; Brier intervals: "
        f"bootstrap percentile ({s.get('n_boot')} paired replicates); calibration "
        "slope: Wald. Verdict 'better' needs the ΔAUC interval above 0, a calibration "
        "slope within 0.8–1.2 and a Brier score not worse."
    )
    parts = [
        table(header, rows, id=f"{tid}-comparison-table", caption=caption),
        el("h4", "Verdicts"),
        why,
    ]
    if meta.get("optimism"):
        for fam, rows_ in meta["optimism"].items():
            parts.append(
                table(
                    ["metric", "apparent", "optimism", "corrected"],
                    [
                        [
                            r["metric"],
                            num(r.get("apparent")),
                            num(r.get("optimism"), signed=True),
                            num(r.get("corrected")),
                        ]
                        for r in rows_
                    ],
                    caption=f"{fam}: Harrell's bootstrap optimism correction "
                    f"({s.get('optimism_boot')} refits)",
                )
            )
    return section(tid, "comparison", "Model comparison against logistic regression", *parts)


def _roc_curves(curves: dict, meta: dict) -> dict:
    aucs = {r["model"]: r["auc"] for r in meta["comparison"]}
    return {m: (c["roc"]["fpr"], c["roc"]["tpr"], aucs[m]) for m, c in curves.items()}


def roc_section(tid: str, meta: dict, record: dict | None) -> Markup:
    title = "Discrimination: ROC curves"
    if record is None:
        return section(tid, "roc", title, unavailable("ROC curves", _NO_RECORD))
    if record["kind"] == "binary":
        ax = figs.roc_plot(_roc_curves(record["curves"], meta), title=_title(meta, "ROC"))
        return section(
            tid,
            "roc",
            title,
            figure(
                ax.figure,
                id=f"{tid}-roc-figure",
                caption="ROC curves of the out-of-fold "
                "predictions (stored on a grid of 201 false-positive rates); AUCs as in the "
                "comparison table.",
            ),
        )
    from matplotlib.figure import Figure

    classes = list(next(iter(record["curves"].values())))
    fig = Figure(figsize=(4.2 * len(classes), 4.2), layout="constrained")
    axes = fig.subplots(1, len(classes))
    for ax, c in zip(axes, classes, strict=True):
        figs.roc_plot(
            {
                m: (v[c]["roc"]["fpr"], v[c]["roc"]["tpr"], v[c]["auc_ovr"])
                for m, v in record["curves"].items()
            },
            title=f"{c} vs rest",
            ax=ax,
        )
    return section(
        tid,
        "roc",
        title,
        figure(
            fig,
            id=f"{tid}-roc-figure",
            caption="One-vs-rest ROC curves per class, out-of-fold; "
            "legend: one-vs-rest AUC of each class (the macro AUC is their mean).",
        ),
    )


def _cal_table(tid: str, meta: dict, record: dict) -> Markup:
    comp = {r["model"]: r for r in meta["comparison"]}
    rows = []
    for m, c in record["curves"].items():
        e = c["calibration_errors"]
        r = comp[m]
        rows.append(
            [
                el("th", m, scope="row"),
                cell(ci(r["citl"], None, None, 3), r["citl"], task=tid, model=m, metric="citl"),
                cell(
                    ci(r["calibration_slope"], r["slope_low"], r["slope_high"], 2),
                    r["calibration_slope"],
                    task=tid,
                    model=m,
                    metric="calibration_slope",
                ),
                cell(num(e["eavg"], 4), e["eavg"], task=tid, model=m, metric="ici"),
                cell(num(e["e50"], 4), e["e50"], task=tid, model=m, metric="e50"),
                cell(num(e["e90"], 4), e["e90"], task=tid, model=m, metric="e90"),
                cell(num(e["emax"], 4), e["emax"], task=tid, model=m, metric="emax"),
            ]
        )
    return table(
        [
            "model",
            "calibration-in-the-large",
            "calibration slope (95% CI)",
            "ICI (Eavg)",
            "E50",
            "E90",
            "Emax",
        ],
        rows,
        id=f"{tid}-calibration-table",
        caption="Calibration of the out-of-fold predictions: logistic recalibration "
        "(intercept with slope fixed at 1, and slope), and absolute differences "
        "between predicted and lowess-smoothed observed risk (rms val.prob's "
        "smoother; Austin & Steyerberg 2019).",
    )


def calibration_section(tid: str, meta: dict, record: dict | None) -> Markup:
    title = "Calibration"
    if record is None:
        return section(tid, "calibration", title, unavailable("Calibration curves", _NO_RECORD))
    primary = meta["primary"]
    if record["kind"] == "binary":
        shown = {
            m: c["calibration"]
            for m, c in record["curves"].items()
            if "error" not in c["calibration"]
        }
        ax = figs.calibration_plot(
            shown,
            histogram=record["curves"][primary]["histogram"],
            bands=(primary, meta["baseline"]),
            title=_title(meta, "Calibration"),
        )
        errors = [
            el("li", f"{m}: {c['calibration']['error']}")
            for m, c in record["curves"].items()
            if "error" in c["calibration"]
        ]
        fig = figure(
            ax.figure,
            id=f"{tid}-calibration-figure",
            caption=(
                f"Flexible calibration curves (logistic regression on a restricted cubic spline "
                f"of logit(p), 4 knots; Van Calster et al. 2016) of every model's out-of-fold "
                f"predictions, with 95% pointwise bands for the primary model ({primary}) and "
                f"logistic regression. Bars: distribution of the primary model's predictions "
                f"(events above the axis, non-events below)."
            ),
        )
        return section(
            tid,
            "calibration",
            title,
            fig,
            _cal_table(tid, meta, record),
            el("ul", errors) if errors else None,
        )
    from matplotlib.figure import Figure

    classes = list(record["curves"][primary])
    fig = Figure(figsize=(4.2 * len(classes), 4.4), layout="constrained")
    for ax, c in zip(fig.subplots(1, len(classes)), classes, strict=True):
        shown = {
            m: v[c]["calibration"]
            for m, v in record["curves"].items()
            if m in (primary, meta["baseline"]) and "error" not in v[c]["calibration"]
        }
        figs.calibration_plot(
            shown, histogram=record["curves"][primary][c]["histogram"], title=f"{c} vs rest", ax=ax
        )
    rows = [
        [el("th", m, scope="row")]
        + [
            cell(
                num(v[c]["calibration_errors"]["eavg"], 4),
                v[c]["calibration_errors"]["eavg"],
                task=tid,
                model=m,
                metric=f"ici_{c}",
            )
            for c in classes
        ]
        for m, v in record["curves"].items()
    ]
    return section(
        tid,
        "calibration",
        title,
        figure(
            fig,
            id=f"{tid}-calibration-figure",
            caption="One-vs-rest flexible calibration curves "
            "per class (primary model and multinomial logistic regression), out-of-fold.",
        ),
        table(
            ["model"] + [f"ICI, {c}" for c in classes],
            rows,
            id=f"{tid}-calibration-table",
            caption="Integrated calibration index per class (lowess, one-vs-rest).",
        ),
    )


def decision_section(tid: str, meta: dict, record: dict | None) -> Markup:
    title = "Clinical utility: decision curves"
    if meta["kind"] != "binary":
        return section(
            tid,
            "decision",
            title,
            note("Decision curves are for a binary decision; not drawn for a multiclass outcome."),
        )
    if record is None:
        return section(tid, "decision", title, unavailable("Decision curves", _NO_RECORD))
    d = record["decision"]
    prevalence = meta["n_events"] / meta["n"]
    ax = figs.decision_plot(
        d["thresholds"],
        d["models"],
        d["treat_all"],
        prevalence=prevalence,
        title=_title(meta, "Decision curves"),
    )
    rows = []
    for r in meta.get("net_benefit", []):
        m, t = r["model"], r["threshold"]
        rows.append(
            [
                m,
                num(t, 2),
                cell(
                    num(r["net_benefit"], 4),
                    r["net_benefit"],
                    task=tid,
                    model=m,
                    metric=f"net_benefit_{t:g}",
                ),
                num(r["treat_all"], 4),
                "reference"
                if m == meta["baseline"]
                else ci(r["delta_net_benefit"], r["delta_low"], r["delta_high"], 4, signed=True),
            ]
        )
    return section(
        tid,
        "decision",
        title,
        figure(
            ax.figure,
            id=f"{tid}-decision-figure",
            caption=(
                "Net benefit of treating when the predicted probability is at least the threshold "
                "(Vickers & Elkin 2006), out-of-fold predictions of every model, against treating "
                "all and treating none."
            ),
        ),
        table(
            ["model", "threshold", "net benefit", "treat all", "Δ vs logistic (95% CI)"],
            rows,
            id=f"{tid}-decision-table",
            caption="Net benefit at pre-specified thresholds "
            "with bootstrap percentile intervals of the difference from logistic regression.",
        ),
    )


def iecv_section(tid: str, meta: dict) -> Markup:
    title = "Internal–external validation by site"
    ie = meta.get("internal_external")
    if not ie:
        why = (
            "it is run for binary outcomes only"
            if meta["kind"] != "binary"
            else f"the fit had no site column with two or more sites (site column: "
            f"{meta['settings'].get('site_column')!r})"
        )
        return section(tid, "iecv", title, note(f"Not run: {why}."))
    parts = []
    for fam, res in ie.items():
        sites = res["per_site"]
        key = next(iter(sites[0])) if sites else "site"  # the site column (the index)
        rows = []
        for r in sites:
            s = str(r.get(key))
            rows.append(
                [
                    s,
                    f"{r['n']:,}",
                    f"{r['events']:,}",
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
                    r.get("reason") or r.get("note") or "",
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
            for r in res["meta"]
        ]
        ok = [r for r in sites if r.get("auc") is not None and np.isfinite(r["auc"])]
        auc_meta = next((r for r in res["meta"] if r["metric"] == "auc"), None)
        ax = figs.forest_plot(
            [str(r.get(key)) for r in ok],
            [r["auc"] for r in ok],
            [r["auc_low"] for r in ok],
            [r["auc_high"] for r in ok],
            weights=[r["n"] for r in ok],
            summary=(auc_meta["estimate"], auc_meta["low"], auc_meta["high"]) if auc_meta else None,
            prediction=(auc_meta["pi_low"], auc_meta["pi_high"]) if auc_meta else None,
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


def odds_ratio_section(tid: str, meta: dict, record: dict | None) -> Markup:
    title = "Logistic regression: odds ratios"
    if record is None:
        return section(tid, "odds-ratios", title, unavailable("Odds ratios", _NO_RECORD))
    o = record["odds_ratios"]
    if "error" in o:
        return section(tid, "odds-ratios", title, unavailable("Odds ratios", o["error"]))
    multi = meta["kind"] == "multiclass"
    rows = []
    for r in o["rows"]:
        p = r["p_value"]
        rows.append(
            ([str(r["outcome"])] if multi else [])
            + [
                r["feature"],
                num(r["coef"], 3),
                cell(
                    ci(r["odds_ratio"], r["ci_low"], r["ci_high"], 3),
                    r["odds_ratio"],
                    task=tid,
                    feature=r["feature"],
                    outcome=str(r["outcome"]),
                    metric="odds_ratio",
                ),
                "< 0.001" if p < 0.001 else num(p, 3),
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
            "(as R's confint.default). Not adjusted for optimism.",
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
