"""``prom demo``: the oracle on the models' rows, the primary model validated site by site,
the quick and complete plans, and p-values printed as the report prints them."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
from rich.console import Console
from sklearn.metrics import roc_auc_score

from prom.cohort.simulate import simulate_cohort
from prom.instruments import add_scores
from prom.outcomes import derive_label
from prom.validation.pvalue import format_p_value
from prom.workflows.demo import run_demo, task_summary
from prom.workflows.demo.plan import DemoPlan, full_plan, quick_plan
from prom.workflows.demo.run import collapse_similar, site_lines
from prom.workflows.settings import FAMILIES, FitSettings

TASK = "mcid_odi_12m"


@pytest.fixture(scope="module")
def scored():
    return add_scores(simulate_cohort(1500, seed=5))


def test_oracle_is_computed_on_the_given_rows_only(scored):
    """The oracle AUC of a binary task, on the labelled rows among the first 600, equals
    scikit-learn's AUC of the true probability on exactly those rows (an independent
    computation), and differs from the whole-cohort one."""
    head = task_summary(scored, seed=0, oracle_rows=600).set_index("task")
    whole = task_summary(scored, seed=0).set_index("task")
    y = derive_label(scored.iloc[:600], TASK)["label"]
    ok = y.notna().to_numpy()
    expected = roc_auc_score(y[ok].astype(int), scored[f"true_p_{TASK}"].iloc[:600][ok])
    assert head.loc[TASK, "oracle_n"] == ok.sum() < whole.loc[TASK, "oracle_n"]
    assert head.loc[TASK, "oracle"] == pytest.approx(expected, rel=1e-12)
    assert head.loc[TASK, "oracle"] != whole.loc[TASK, "oracle"]
    # the cohort columns still describe the whole table
    assert head.loc[TASK, "labelled"] == whole.loc[TASK, "labelled"] == whole.loc[TASK, "oracle_n"]
    assert (head["oracle_n"] <= 600).all()


def _tiny(name="tiny", families=("logistic", "elastic_net")) -> DemoPlan:
    return DemoPlan(
        name=name,
        families={TASK: families},
        default_families=("logistic", "elastic_net"),
        survival_families=("cox",),
        settings=FitSettings(n_splits=2, n_iter=1, n_boot=10, optimism_boot=0, random_state=1),
        survival_settings=FitSettings(n_splits=2, n_repeats=1, n_boot=10, optimism_boot=0),
        imaging_scans=0,
        tasks=(TASK,),
        report_shap_rows=20,
    )


def test_demo_validates_its_primary_model_site_by_site_on_the_oracle_rows(tmp_path):
    """End to end (one task, tiny settings): the bundle's site-by-site validation holds
    logistic regression and the primary model, and no other; the demo's lines name the
    primary; the oracle is on exactly the rows the model was evaluated on."""
    from prom.bundle import load_bundle

    console = Console(record=True, width=250)
    code = run_demo(tmp_path, n=1500, n_fit=900, seed=3, console=console, plan=_tiny())
    text = console.export_text()
    assert code == 0, text
    entry = load_bundle(tmp_path / "bundle", allow_unsigned=True).task(TASK).entry
    assert set(entry.internal_external) == {"logistic", entry.primary}
    role = "baseline and primary" if entry.primary == "logistic" else "primary"
    assert f"{entry.primary} ({role}), leave-one-site-out" in text
    row = next(line for line in text.splitlines() if line.startswith(f"│ {TASK}"))
    cells = [c.strip() for c in row.strip("│").split("│")]
    assert int(cells[6].replace(",", "")) == entry.n  # 'on rows' = the models' rows
    assert "first 900 patients, the models' rows" in " ".join(text.split())
    # ΔAUC's p-value printed as the report prints it (never "p=0.000")
    assert re.search(r"\(p (< 0\.001|= [01]\.\d{3})\)", text) and "(p=" not in text
    assert (tmp_path / "report.html").exists()
    # the primary model's subgroup table of the first task, and where the others are
    flat = " ".join(text.split())
    assert f"{TASK}: {entry.primary} by subgroup" in flat and "sex = female: n " in flat
    assert "every task's subgroup tables: in the report" in flat


def test_site_lines_name_primary_and_baseline():
    from types import SimpleNamespace

    meta = pd.DataFrame({"estimate": [0.7], "low": [0.6], "high": [0.8]}, index=["auc"])
    res = SimpleNamespace(meta=meta)
    fit = SimpleNamespace(
        primary="xgboost", baseline="logistic", iecv={"logistic": res, "xgboost": res}
    )
    lines = site_lines(fit)
    assert lines[0].startswith("  logistic (baseline), leave-one-site-out pooled AUC 0.700")
    assert lines[1].startswith("  xgboost (primary), leave-one-site-out")


def test_plans_say_what_they_fit():
    quick, full = quick_plan(), full_plan()
    assert quick.families_for(TASK, "binary") == FAMILIES
    assert quick.families_for("tfesi_response", "binary") == ("logistic", "elastic_net")
    assert quick.families_for("surgery_conversion", "survival") == ("cox",)
    assert all(full.families_for(t, "binary") == FAMILIES for t in (TASK, "triage"))
    text = quick.describe()
    assert "prom demo --full" in text and "make demo-full" in text
    assert re.search(r"3-fold CV, tuning 1 candidate", text)
    assert "prom demo --full" not in full.describe()
    with pytest.raises(ValueError, match=r"unknown task.*nope"):
        DemoPlan(name="x", tasks=("nope",))
    with pytest.raises(ValueError, match="imaging_scans=-1"):
        DemoPlan(name="x", imaging_scans=-1)


@pytest.mark.parametrize(
    ("p", "bare", "labelled"),
    [
        (0.0, "< 0.001", "p < 0.001"),
        (0.000999, "< 0.001", "p < 0.001"),
        (0.001, "0.001", "p = 0.001"),
        (0.0424, "0.042", "p = 0.042"),
        (1.0, "1.000", "p = 1.000"),
        (np.nan, "", ""),
        (None, "", ""),
    ],
)
def test_p_values_never_print_as_zero(p, bare, labelled):
    assert format_p_value(p) == bare
    assert format_p_value(p, label=True) == labelled


def test_p_value_errors():
    with pytest.raises(ValueError, match="outside 0–1"):
        format_p_value(1.5)
    with pytest.raises(TypeError, match="not a number"):
        format_p_value("small")


def test_cautions_differing_only_in_numbers_are_shown_once():
    msgs = [
        "logistic: did not converge on 79 rows (38 in the smallest class)",
        "logistic: did not converge on 80 rows (39 in the smallest class)",
        "logistic: did not converge on 79 rows (38 in the smallest class)",
        "n = 178 is below the 1,825 needed",
    ]
    assert collapse_similar(msgs) == [
        (
            "logistic: did not converge on 79 rows (38 in the smallest class) (and 1 similar "
            "message(s) with other numbers)"
        ),
        "n = 178 is below the 1,825 needed",
    ]
