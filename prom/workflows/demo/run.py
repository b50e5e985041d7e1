"""``prom demo``: the whole foundation flow on a simulated cohort, end to end.

simulate → write the registry-style export → score PROM items → derive every task's
labels → validate against the data contract → summarise prevalences and oracle
discrimination (true probability vs. label: the ceiling any model can reach).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from rich.console import Console
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

__all__ = ["run_demo", "task_summary"]


def _harrell_c(time_: np.ndarray, event: np.ndarray, risk: np.ndarray) -> float:
    """Harrell's C for right-censored data (pairs comparable when the earlier time is an event)."""
    t = time_[:, None]
    comparable = (t < time_[None, :]) & (event[:, None] == 1)
    conc = (risk[:, None] > risk[None, :]) & comparable
    ties = (risk[:, None] == risk[None, :]) & comparable
    return float((conc.sum() + 0.5 * ties.sum()) / comparable.sum())


#: Above this many labelled rows, the oracle Harrell's C is computed on a random sample of
#: this size (the pairwise computation holds n² comparisons in memory).
HARRELL_SAMPLE = 5000


def task_summary(
    scored: pd.DataFrame,
    labels: pd.DataFrame | None = None,
    seed: int = 0,
    *,
    oracle_rows: int | None = None,
) -> pd.DataFrame:
    """Per task: population, labelled rows, prevalence, mean true probability, oracle AUC/C.

    The oracle (true probability, or the true linear predictor, against the label) is the
    ceiling a model can reach *on the rows it is evaluated on*, so with ``oracle_rows`` it
    is computed on the labelled rows among the first ``oracle_rows`` rows of ``scored`` —
    the rows the demo fits and cross-validates its models on — and ``oracle_n`` says how
    many rows that was; the other columns describe the whole table. ``labels`` is unused
    (kept for callers that pass it); each task's label is derived here.
    """
    from sklearn.metrics import roc_auc_score

    from prom.outcomes import TASKS, derive_label

    rows = []
    for task in TASKS.values():
        res = derive_label(scored, task)
        take = len(scored) if oracle_rows is None else min(oracle_rows, len(scored))
        head = np.arange(len(scored)) < take  # the rows the oracle is computed on
        in_pop = (
            int(res["eligible"].sum())
            if task.kind != "binary"
            else int(
                res["reason"].fillna("").str.startswith("not in population").__invert__().sum()
            )
        )
        row = {"task": task.name, "kind": task.kind, "population": in_pop}
        if task.kind == "binary":
            y = res["label"]
            ok = y.notna().to_numpy()
            p = scored[f"true_p_{task.name}"].to_numpy()
            yy = y.to_numpy()
            on = ok & head
            row |= {
                "labelled": int(ok.sum()),
                "prevalence": yy[ok].mean(),
                "mean_true_p": p[ok].mean(),
                "oracle": roc_auc_score(yy[on].astype(int), p[on]),
                "oracle_n": int(on.sum()),
                "metric": "AUC",
            }
        elif task.kind == "multiclass":
            y = res["label"]
            ok = y.notna().to_numpy()
            on = ok & head
            classes = sorted(task.classes)  # scikit-learn wants the labels sorted
            probs = scored[[f"true_p_triage_{k}" for k in classes]].to_numpy()
            yy = y.astype(object).to_numpy()
            counts = pd.Series(yy[ok]).value_counts(normalize=True)
            row |= {
                "labelled": int(ok.sum()),
                "prevalence": " / ".join(f"{counts.get(k, 0):.1%}" for k in task.classes),
                "oracle": roc_auc_score(yy[on], probs[on], multi_class="ovr", labels=classes),
                "oracle_n": int(on.sum()),
                "metric": "OvR AUC",
            }
        else:
            ok = res["time"].notna().to_numpy()
            on = ok & head
            tt, ee = res["time"].to_numpy()[on], res["event"].to_numpy()[on]
            lp = scored["true_lp_surgery_conversion"].to_numpy()[on]
            pick = np.arange(len(tt))
            if len(tt) > HARRELL_SAMPLE:
                pick = np.random.default_rng(seed).choice(len(tt), HARRELL_SAMPLE, replace=False)
            row |= {
                "labelled": int(ok.sum()),
                "prevalence": res["event"].to_numpy()[ok].mean(),
                "oracle": _harrell_c(tt[pick], ee[pick], lp[pick]),
                "oracle_n": len(pick),
                "metric": "Harrell C",
            }
        rows.append(row)
    return pd.DataFrame(rows)


def fit_demo_models(
    scored: pd.DataFrame,
    out: Path,
    console: Console,
    *,
    n_fit: int,
    seed: int,
    plan: Any = None,
    jobs: int = 2,
    signing_key: Any = None,
) -> list[Any]:
    """Fit every built-in task as ``plan`` says (default: the quick plan, see
    :mod:`prom.workflows.demo.plan`) on the first ``n_fit`` rows — binary and multiclass
    tasks: each family against logistic regression, validated site by site for logistic
    regression and the primary model; survival: Cox models —, print the results, and
    write one bundle (signed with ``signing_key`` when given)."""
    import warnings

    from prom.bundle import write_bundle
    from prom.errors import StatisticalWarning
    from prom.outcomes import TASKS
    from prom.workflows.demo.plan import quick_plan
    from prom.workflows.fit import TaskFit, fit_classifier_task
    from prom.workflows.fit_survival import SurvivalTaskFit, fit_survival_task
    from prom.workflows.subgroup_tables import print_subgroups
    from prom.workflows.tables import comparison_table

    plan = quick_plan(seed, jobs) if plan is None else plan
    data = scored.iloc[:n_fit]
    fits: list[TaskFit | SurvivalTaskFit] = []
    shown_subgroups = False
    for task in TASKS.values():
        if plan.tasks is not None and task.name not in plan.tasks:
            continue
        families = plan.families_for(task.name, task.kind)
        if task.kind == "survival":  # Cox and ridge Cox; no comparison with logistic
            with console.status(f"fitting {task.name}") as status, warnings.catch_warnings():
                warnings.simplefilter("ignore", StatisticalWarning)  # listed in its summary
                survival = fit_survival_task(
                    data,
                    task,
                    families=families,
                    progress=lambda m: status.update(m),
                    settings=plan.survival_settings,
                )
            fits.append(survival)
            console.print(survival.summary(), markup=False, highlight=False)
            continue
        with (
            console.status(f"fitting {task.name}") as status,
            warnings.catch_warnings(record=True) as caught,
        ):
            warnings.simplefilter("always", StatisticalWarning)
            fit = fit_classifier_task(
                data,
                task,
                families=families,
                progress=lambda m: status.update(m),
                settings=plan.settings,
            )
        fits.append(fit)
        console.print(comparison_table(fit))
        for line in site_lines(fit):
            console.print(line, highlight=False)
        for msg in collapse_similar(str(c.message) for c in caught):
            console.print(f"  [yellow]caution ({task.name}):[/] {msg}", highlight=False)
        console.print(f"  primary model: [bold]{fit.primary}[/]")
        if not shown_subgroups and fit.record.get("subgroups"):
            # one task's table here: every task's are in the report the demo writes
            print_subgroups(fit.record["subgroups"], task.name, [fit.primary], out=console)
            console.print("  (every task's subgroup tables: in the report)", highlight=False)
            shown_subgroups = True
    path = write_bundle(
        out / "bundle",
        fits,
        overwrite=True,
        description="DEMONSTRATION models trained on a simulated cohort; not for clinical use",
        signing_key=signing_key,
    )
    console.print(f"demonstration bundle ({len(fits)} tasks) written to {path}")
    return fits


def collapse_similar(messages: Any) -> list[str]:
    """Messages that differ only in their numbers (the same caution from several CV folds,
    say) shown once, with how many more there were; first-seen order."""
    import re

    groups: dict[str, list[str]] = {}
    for m in messages:
        groups.setdefault(re.sub(r"\d[\d,.]*", "#", m), []).append(m)
    out = []
    for same in groups.values():
        distinct = list(dict.fromkeys(same))
        more = len(distinct) - 1
        out.append(
            distinct[0] + (f" (and {more} similar message(s) with other numbers)" if more else "")
        )
    return out


def site_lines(fit: Any) -> list[str]:
    """The leave-one-site-out lines of a fit: logistic regression and the primary model
    (the ones :func:`prom.workflows.fit.fit_classifier_task` validates site by site),
    each named as such."""
    lines = []
    for name, res in fit.iecv.items():
        if "auc" not in res.meta.index:
            continue
        m = res.meta.loc["auc"]
        role = (
            "baseline and primary"
            if name == fit.primary == fit.baseline
            else "primary"
            if name == fit.primary
            else "baseline"
            if name == fit.baseline
            else "other"
        )
        lines.append(
            f"  {name} ({role}), leave-one-site-out pooled AUC {m['estimate']:.3f} "
            f"({m['low']:.3f}–{m['high']:.3f})"
        )
    return lines


def run_demo(
    out: Path,
    n: int = 20000,
    seed: int = 2026,
    console: Console | None = None,
    fit_models: bool = True,
    n_fit: int = 4000,
    signing_key: Any = None,
    full: bool = False,
    plan: Any = None,
) -> int:
    """Run the demo into ``out`` and print its summary; 0 when done, 1 when the simulated
    cohort breaks the data contract.

    The quick plan by default, the complete one with ``full=True`` (or any
    :class:`~prom.workflows.demo.plan.DemoPlan` as ``plan``); ``fit_models=False`` stops
    after the cohort summary.
    """
    from prom.cohort.provenance import contract_facts, mark_table
    from prom.cohort.simulate import simulate_cohort
    from prom.cohort.validate import validate_cohort
    from prom.cohort.writers import write_table
    from prom.instruments import score_names, score_table
    from prom.outcomes import derive_labels

    console = console or Console()
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    timings: dict[str, float] = {}
    progress = Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=False,
    )
    with progress:
        step = progress.add_task("demo", total=5)

        def run(name, fn):
            progress.update(step, description=name)
            t0 = time.perf_counter()
            value = fn()
            timings[name] = time.perf_counter() - t0
            progress.advance(step)
            return value

        cohort = run(f"simulate {n:,} patients", lambda: simulate_cohort(n, seed=seed))
        run("write cohort.parquet", lambda: write_table(cohort, out / "cohort.parquet"))
        scores = run("score PROM items", lambda: score_table(cohort))
        scored = cohort.join(
            scores.drop(columns=[c for c in scores.columns if c in cohort.columns])
        )
        labels = run("derive task labels", lambda: derive_labels(scored))
        report = run(
            "validate against the contract", lambda: validate_cohort(scored, mode="strict")
        )
    # what the fits' provenance reads: this table was scored from items and validated
    mark_table(scored, contract=contract_facts(report), scored_from_items=score_names(scores))
    write_table(scored.join(labels), out / "cohort_scored.parquet")

    console.rule("[bold]Simulated cohort")
    lumbar = scored["region"].eq("lumbar")
    console.print(
        f"{len(scored):,} patients at {scored['site'].nunique()} sites; "
        f"{lumbar.mean():.1%} lumbar, {(~lumbar).mean():.1%} cervical myelopathy; "
        f"{scored['sex'].eq('male').mean():.1%} male; age median {scored['age_years'].median():.0f}"
    )
    tr = scored.loc[lumbar, "treatment"].value_counts(normalize=True)
    console.print(
        "lumbar treatment: "
        + ", ".join(f"{k} {tr.get(k, 0):.1%}" for k in ("conservative", "tfesi", "surgery"))
    )
    console.print(
        f"baseline ODI mean {scored['odi_0m'].mean():.1f} (SD {scored['odi_0m'].std():.1f}); "
        f"12-month ODI scored for {scored.loc[lumbar, 'odi_12m'].notna().mean():.1%} of lumbar patients"
    )

    from prom.workflows.demo.plan import full_plan, quick_plan

    if plan is None:
        plan = full_plan(seed) if full else quick_plan(seed)
    n_models = min(n_fit, len(scored))
    # the oracle is the ceiling on the rows the models are evaluated on: with models,
    # the first n_fit rows (their labelled ones); without, the whole cohort
    summary = task_summary(scored, labels, seed=seed, oracle_rows=n_models if fit_models else None)
    where = f"first {n_models:,} patients, the models' rows" if fit_models else "whole cohort"
    t = Table(
        title=f"Tasks: labels, and oracle discrimination (true probability vs label) on the {where}"
    )
    t.add_column("task", no_wrap=True)
    for c in ("in pop.", "labelled", "prevalence", "true p", "oracle", "on rows", "metric"):
        t.add_column(c, justify="right" if c != "metric" else "left", no_wrap=True)
    for _, r in summary.iterrows():
        prev = "3 classes" if isinstance(r["prevalence"], str) else f"{r['prevalence']:.1%}"
        mtp = "" if pd.isna(r.get("mean_true_p", np.nan)) else f"{r['mean_true_p']:.1%}"
        t.add_row(
            r["task"],
            f"{r['population']:,}",
            f"{r['labelled']:,}",
            prev,
            mtp,
            f"{r['oracle']:.3f}",
            f"{r['oracle_n']:,}",
            r["metric"],
        )
    console.print(t)
    console.print(
        "[dim]3 classes: conservative / tfesi / surgery, split as in 'lumbar treatment' "
        "above; in pop., labelled, prevalence and true p (mean true probability among "
        "labelled) describe the whole cohort; the oracle is computed on the labelled rows "
        f"among the {where} ('on rows'; Harrell C on a random {HARRELL_SAMPLE:,} of them "
        "when there are more)[/]"
    )

    n_err = int((report.problems["severity"] == "error").sum()) if len(report.problems) else 0
    colour = "green" if report.ok else "red"
    console.print(
        f"[{colour}]data contract: {n_err} error(s), "
        f"{len(report.problems) - n_err} warning(s) over {len(scored):,} rows[/]"
    )
    console.print("timings: " + ", ".join(f"{k} {v:.1f}s" for k, v in timings.items()))
    console.print(f"files: {out / 'cohort.parquet'}, {out / 'cohort_scored.parquet'}")
    if not report.ok:
        return 1
    if fit_models:
        console.rule(
            f"[bold]Models against logistic regression (first {n_models:,} patients, "
            f"{plan.name} run)"
        )
        console.print(plan.describe(), highlight=False)
        t0 = time.perf_counter()
        fit_demo_models(
            scored, out, console, n_fit=n_fit, seed=seed, plan=plan, signing_key=signing_key
        )
        console.print(f"model fitting took {time.perf_counter() - t0:.0f} s")
        from prom.bundle import load_bundle
        from prom.report import write_report

        t0 = time.perf_counter()
        # the bundle this run has just written: the report is made even when it is not
        # signed by a trusted key, and then says so in a banner
        bundle = load_bundle(out / "bundle", allow_unsigned=True)
        if not bundle.trust.verified:
            console.print(
                f"[yellow]notice:[/] {out / 'bundle'}: {bundle.trust.describe()} (the "
                "demo's own report is written regardless and says so); prom score, evaluate "
                "and report refuse the bundle until it is signed by a key in your trust store "
                "(prom demo --sign-key, or prom keys sign; see docs/bundles.md)",
                highlight=False,
            )
        path = write_report(
            bundle, out / "report.html", data=scored.iloc[:n_fit], shap_rows=plan.report_shap_rows
        )
        console.print(f"report (prom report) written to {path} in {time.perf_counter() - t0:.0f} s")
    console.rule("[bold]Imaging: SPIDER lumbar MRI through the shipped feature pipeline")
    if fit_models:
        from prom.workflows.demo.imaging import imaging_summary

        if plan.imaging_scans == 0:
            console.print("[dim]imaging summary skipped: this run measures no scans[/]")
        else:
            imaging_summary(console=console, max_patients=plan.imaging_scans)
    else:
        console.print("[dim]imaging summary skipped (--no-fit)[/]")
    if fit_models and plan.name == "quick":
        console.print(
            "[bold]This was the quick demo[/] (see 'quick run' above); the complete run: "
            "prom demo --full (make demo-full).",
            highlight=False,
        )
    return 0
