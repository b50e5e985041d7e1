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


def task_summary(scored: pd.DataFrame, labels: pd.DataFrame, seed: int = 0) -> pd.DataFrame:
    """Per task: population, labelled rows, prevalence, mean true probability, oracle AUC/C."""
    from sklearn.metrics import roc_auc_score

    from prom.outcomes import TASKS, derive_label

    rows = []
    for task in TASKS.values():
        res = derive_label(scored, task)
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
            p = scored[f"true_p_{task.name}"].to_numpy()[ok]
            yy = y.to_numpy()[ok]
            row |= {
                "labelled": int(ok.sum()),
                "prevalence": yy.mean(),
                "mean_true_p": p.mean(),
                "oracle": roc_auc_score(yy, p),
                "metric": "AUC",
            }
        elif task.kind == "multiclass":
            y = res["label"]
            ok = y.notna().to_numpy()
            classes = sorted(task.classes)  # scikit-learn wants the labels sorted
            probs = scored[[f"true_p_triage_{k}" for k in classes]].to_numpy()[ok]
            yy = y.astype(object).to_numpy()[ok]
            counts = pd.Series(yy).value_counts(normalize=True)
            row |= {
                "labelled": int(ok.sum()),
                "prevalence": " / ".join(f"{counts.get(k, 0):.1%}" for k in task.classes),
                "oracle": roc_auc_score(yy, probs, multi_class="ovr", labels=classes),
                "metric": "OvR AUC",
            }
        else:
            ok = res["time"].notna().to_numpy()
            tt, ee = res["time"].to_numpy()[ok], res["event"].to_numpy()[ok]
            lp = scored["true_lp_surgery_conversion"].to_numpy()[ok]
            rng = np.random.default_rng(seed)
            take = rng.choice(len(tt), size=min(3000, len(tt)), replace=False)
            row |= {
                "labelled": int(ok.sum()),
                "prevalence": ee.mean(),
                "oracle": _harrell_c(tt[take], ee[take], lp[take]),
                "metric": "Harrell C*",
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
    n_iter: int = 3,
    jobs: int = 2,
    signing_key: Any = None,
) -> list[Any]:
    """Fit every built-in task (binary and multiclass: every family against logistic
    regression; survival: Cox models); print the results; write one bundle (signed with
    ``signing_key`` when given)."""
    import warnings

    from prom.bundle import write_bundle
    from prom.errors import StatisticalWarning
    from prom.outcomes import TASKS
    from prom.workflows.fit import TaskFit, fit_classifier_task
    from prom.workflows.fit_survival import SurvivalTaskFit, fit_survival_task
    from prom.workflows.settings import FAMILIES, FitSettings
    from prom.workflows.tables import comparison_table

    data = scored.iloc[:n_fit]
    fits: list[TaskFit | SurvivalTaskFit] = []
    for task in TASKS.values():
        if task.kind == "survival":  # Cox and ridge Cox; no comparison with logistic
            with console.status(f"fitting {task.name}") as status, warnings.catch_warnings():
                warnings.simplefilter("ignore", StatisticalWarning)  # listed in its summary
                survival = fit_survival_task(
                    data,
                    task,
                    progress=lambda m: status.update(m),
                    settings=FitSettings(
                        n_splits=5,
                        n_repeats=1,
                        n_boot=200,
                        optimism_boot=0,
                        random_state=seed,
                        n_jobs=jobs,
                    ),
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
                families=FAMILIES,
                progress=lambda m: status.update(m),
                settings=FitSettings(
                    n_splits=5,
                    n_iter=n_iter,
                    n_boot=200,
                    optimism_boot=0,
                    random_state=seed,
                    n_jobs=jobs,
                ),
            )
        fits.append(fit)
        console.print(comparison_table(fit))
        for name, res in fit.iecv.items():
            if "auc" in res.meta.index:
                m = res.meta.loc["auc"]
                console.print(
                    f"  {name}, leave-one-site-out pooled AUC {m['estimate']:.3f} "
                    f"({m['low']:.3f}–{m['high']:.3f})"
                )
        for msg in sorted({str(c.message) for c in caught}):
            console.print(f"  [yellow]caution:[/] {msg}")
        console.print(f"  primary model: [bold]{fit.primary}[/]")
    path = write_bundle(
        out / "bundle",
        fits,
        overwrite=True,
        description="DEMONSTRATION models trained on a simulated cohort; not for clinical use",
        signing_key=signing_key,
    )
    console.print(f"demonstration bundle ({len(fits)} tasks) written to {path}")
    return fits


def run_demo(
    out: Path,
    n: int = 20000,
    seed: int = 2026,
    console: Console | None = None,
    fit_models: bool = True,
    n_fit: int = 4000,
    signing_key: Any = None,
) -> int:
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

    summary = task_summary(scored, labels, seed=seed)
    t = Table(title="Tasks: labels and oracle discrimination (true probability vs label)")
    t.add_column("task", no_wrap=True)
    for c in ("in pop.", "labelled", "prevalence", "true p", "oracle", "metric"):
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
            r["metric"],
        )
    console.print(t)
    console.print(
        "[dim]3 classes: conservative / tfesi / surgery, split as in 'lumbar treatment' "
        "above; true p: mean true probability among labelled; *Harrell C on a "
        "3,000-patient sample[/]"
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
            f"[bold]Models: every family against logistic regression "
            f"(first {min(n_fit, len(scored)):,} patients)"
        )
        t0 = time.perf_counter()
        fit_demo_models(scored, out, console, n_fit=n_fit, seed=seed, signing_key=signing_key)
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
        path = write_report(bundle, out / "report.html", data=scored.iloc[:n_fit])
        console.print(f"report (prom report) written to {path} in {time.perf_counter() - t0:.0f} s")
    console.rule("[bold]Imaging: SPIDER lumbar MRI through the shipped feature pipeline")
    if fit_models:  # the full demo; --no-fit is the quick one (~1 min less)
        from prom.workflows.demo.imaging import imaging_summary

        imaging_summary(console=console)
    else:
        console.print("[dim]imaging summary skipped in the quick demo (--no-fit)[/]")
    return 0
