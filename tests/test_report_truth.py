"""The report states only what the fit did: provenance recorded at fit time, read back
from the bundle, and the TRIPOD+AI checklist and model card written from it.

Two small fits through ``prom fit`` (logistic and elastic net, 2 folds, 1 tuning draw, 10
bootstrap replicates, no optimism): a user's own 0/1 outcome with named predictors on a
table with the user's own column names, and two built-in MCID tasks on a simulated
cohort whose PROM items ``prom fit`` scores. The HTML is read back and searched for the
statements that must not appear and those that must.
"""

from __future__ import annotations

import dataclasses
import json
import re
import warnings
from html import unescape

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from prom.bundle import BundleError, ContractCheck, FitProvenance, load_bundle
from prom.bundle.manifest import task_entry_from_dict
from prom.calculator import DEMO_BUNDLE_PATH
from prom.cli import app
from prom.cohort import load_cohort, read_cohort, simulate_cohort
from prom.cohort.provenance import loading_facts, mark_table
from prom.errors import StatisticalWarning
from prom.instruments import add_scores
from prom.report import build_report
from prom.report.provenance import prediction_time, preparation_sentences
from prom.workflows import FitSettings, fit_task

runner = CliRunner()
pytestmark = pytest.mark.filterwarnings("ignore::prom.errors.StatisticalWarning")

FAST = ["--models", "logistic,elastic_net", "--folds", "2", "--n-iter", "1", "--boot", "10"]
FAST += ["--optimism-boot", "0", "--jobs", "1", "--site-column", "none"]

#: Statements a report of a user's own outcome fitted from a CSV must not make: the table
#: was not validated, no PROM was scored, the task and predictors are not the registry's,
#: and the prediction time is not known to be a baseline visit.
FALSE_FOR_CUSTOM = ("data contract", "item answers", "task registry", "baseline visit", "PROM")


def flat(text: str) -> str:
    return " ".join(text.split())


def visible(html: str) -> str:
    """The report's text without tags, styles or embedded images."""
    html = re.sub(r"<style>.*?</style>", " ", html, flags=re.S)
    html = re.sub(r'src="data:[^"]*"', " ", html)
    return flat(unescape(re.sub(r"<[^>]+>", " ", html)))


def own_table(n: int = 400, seed: int = 5) -> pd.DataFrame:
    """A researcher's own table: their column names, none of the contract's; 9 rows
    without the outcome; a category with 3 rows."""
    rng = np.random.default_rng(seed)
    tilt = rng.normal(17, 10, n)
    slope = rng.normal(43, 13, n)
    grade = rng.choice(["low", "mid", "high"], n, p=[0.5, 0.49, 0.01])
    grade[:3] = "rare"
    lp = 0.08 * (tilt - 17) - 0.05 * (slope - 43) + (grade == "high") * 0.5
    y = (rng.random(n) < 1 / (1 + np.exp(-lp))).astype(float)
    y[rng.choice(n, 9, replace=False)] = np.nan
    return pd.DataFrame(
        {
            "pelvic_tilt": tilt.round(2),
            "sacral_slope": slope.round(2),
            "grade_x": grade,
            "abnormal": y,
        }
    )


@pytest.fixture(scope="module")
def custom(tmp_path_factory):
    d = tmp_path_factory.mktemp("truth_custom")
    own_table().to_csv(d / "mine.csv", index=False)
    bundle, html = d / "bundle", d / "report.html"
    res = runner.invoke(
        app,
        [
            *("fit", "--data", str(d / "mine.csv"), "--target", "abnormal"),
            *("--predictors", "pelvic_tilt,sacral_slope,grade_x", *FAST, "--out", str(bundle)),
        ],
    )
    assert res.exit_code == 0, res.output
    res = runner.invoke(app, ["report", "--bundle", str(bundle), "--out", str(html)])
    assert res.exit_code == 0, res.output
    return {"bundle": bundle, "html": html.read_text(encoding="utf-8")}


@pytest.fixture(scope="module")
def builtin(tmp_path_factory):
    """Two built-in tasks from a table of PROM item answers (``prom fit`` scores them)."""
    d = tmp_path_factory.mktemp("truth_builtin")
    simulate_cohort(700, seed=3).to_parquet(d / "cohort.parquet")
    bundle, html = d / "bundle", d / "report.html"
    res = runner.invoke(
        app,
        [
            *("fit", "--data", str(d / "cohort.parquet"), "--task", "mcid_odi_12m"),
            *("--task", "mcid_nrs_leg_12m", *FAST, "--out", str(bundle)),
        ],
    )
    assert res.exit_code == 0, res.output
    res = runner.invoke(app, ["report", "--bundle", str(bundle), "--out", str(html)])
    assert res.exit_code == 0, res.output
    return {"bundle": bundle, "html": html.read_text(encoding="utf-8")}


def test_custom_target_provenance_is_recorded_in_the_manifest(custom):
    meta = json.loads((custom["bundle"] / "manifest.json").read_text(encoding="utf-8"))
    assert meta["tasks"]["abnormal"]["provenance"] == {
        "task_source": "user",
        "predictors": "named",
        "contract": {"checked": False},  # prom fit reads without validating
        "mapping": "",
        "scored_from_items": [],  # the scoring step ran and found no item columns
    }
    entry = load_bundle(custom["bundle"]).task("abnormal").entry
    assert entry.provenance == FitProvenance(
        task_source="user",
        predictors="named",
        contract=ContractCheck(checked=False),
        mapping="",
        scored_from_items=(),
    )


def test_custom_target_report_makes_no_false_statement(custom):
    text = visible(custom["html"])
    for phrase in FALSE_FOR_CUSTOM:
        assert phrase not in text, f"{phrase!r} in the report of a user's own outcome"


def test_custom_target_report_says_what_did_happen(custom):
    text = visible(custom["html"])
    named = (
        "3 candidate predictors named by the authors (--predictors): "
        "pelvic_tilt, sacral_slope, grade_x"
    )
    assert named in text
    assert "Of 400 rows read, 391 were used; excluded: 9 (abnormal missing)." in text
    assert "user-defined binary outcome: column 'abnormal' (1 = event)" in text
    assert "when the predictors listed under Inputs are known" in text  # model card
    assert "The table's values were used as read; no range or type checks were run" in text
    # --n-iter 1: the defaults, nothing searched; "auto" calibration named as what it does
    assert "Hyperparameters were not tuned (each family's defaults, n_iter = 1)" in text
    assert "random search" not in text and "random-search" not in text
    assert "each family's default hyperparameters (no tuning, n_iter = 1)" in text  # caption
    assert "Calibration intercept: the intercept with the slope estimated (slope-free)" in text
    assert (
        "setting 'auto': Platt scaling or isotonic regression, whichever had the lower "
        "cross-fitted log loss (a difference below 0.0001 nats per row is a tie, broken by "
        "the Brier score)"
    ) in text
    # the one checklist, item 9a and 6b written from the record
    item = re.search(r'data-item="9a"[^>]*>[^<]*</td><td>([^<]*)', custom["html"]).group(1)
    assert item.startswith(named)
    assert len(re.findall(r'id="tripod"', custom["html"])) == 1


def test_custom_target_shap_figures_name_the_users_event(custom, tmp_path):
    """The beeswarm of a user's binary outcome says what its log-odds are of: the
    user's column and event, not "class 1"."""
    data, html = tmp_path / "mine.csv", tmp_path / "report.html"
    own_table().to_csv(data, index=False)
    res = runner.invoke(
        app,
        ["report", "--bundle", str(custom["bundle"]), "--data", str(data), "--out", str(html)],
    )
    assert res.exit_code == 0, res.output
    text = visible(html.read_text(encoding="utf-8"))
    assert "contribution to the log-odds of 'abnormal' = 1 per variable" in text
    assert "class 1" not in text


def test_custom_target_without_predictors_says_they_are_the_contract_columns(tmp_path):
    """Without --predictors a user's outcome is fitted on the table's contract columns."""
    t = own_table().drop(columns="grade_x")
    t = t.rename(columns={"pelvic_tilt": "age_years", "sacral_slope": "bmi_kg_m2"})
    t["age_years"] += 40
    t["bmi_kg_m2"] = (t["bmi_kg_m2"] / 2).clip(16, 60)
    t.to_csv(tmp_path / "mine.csv", index=False)
    bundle = tmp_path / "bundle"
    res = runner.invoke(
        app,
        [
            *("fit", "--data", str(tmp_path / "mine.csv"), "--target", "abnormal"),
            *(*FAST, "--out", str(bundle)),
        ],
    )
    assert res.exit_code == 0, res.output
    entry = load_bundle(bundle).task("abnormal").entry
    assert entry.provenance.predictors == "contract"
    text = visible(build_report(load_bundle(bundle)))
    assert (
        "2 candidate predictors: the table's columns that the cohort contract declares as "
        "predictors, as prom fit chooses for a user's outcome without --predictors: "
        "age_years, bmi_kg_m2"
    ) in text
    for phrase in FALSE_FOR_CUSTOM:
        assert phrase not in text


def test_builtin_report_says_what_did_happen(builtin):
    b = load_bundle(builtin["bundle"])
    prov = b.task("mcid_odi_12m").entry.provenance
    assert prov.task_source == "registry" and prov.predictors == "registry"
    assert prov.contract == ContractCheck(checked=False)
    assert {"odi_0m", "odi_12m"} <= set(prov.scored_from_items)
    assert "nrs_leg_12m" not in prov.scored_from_items  # another task's outcome
    assert prov.derived and all(c.startswith("img_index_") for c in prov.derived)
    text = visible(builtin["html"])
    assert "the task registry's candidates present in the table" in text
    assert "The table was not checked against the cohort data contract in this run" in text
    assert re.search(
        r"PROM scores used by this task \([^)]*odi_0m, odi_12m[^)]*\) were computed from "
        r"item answers in this run",
        text,
    )
    assert "Derived in this run: img_index_" in text
    assert "at the baseline visit, once the treatment is chosen" in text  # model card
    assert "Every table was checked against the cohort data contract" not in text
    # item 10: a check of the data at hand, with its assumed C, not a design calculation
    assert "Checked after the data were collected, not a design calculation: n = " in text
    assert "The anticipated C-statistic (0.75) is an assumption of the check" in text
    # each subgroup table under a heading of its own (a caption sits below its table)
    assert re.search(
        r"<h4>logistic</h4>\s*<table[^>]*id=\"task-[\w-]+-subgroups-logistic\"", builtin["html"]
    )


def test_scores_given_in_the_table_are_said_to_be_given(builtin):
    """The simulated table carries the one-item NRS scores as they are (nothing to
    score); they are named as taken from the table, the scored ones as computed."""
    entry = load_bundle(builtin["bundle"]).task("mcid_odi_12m").entry
    said = preparation_sentences(entry)[1]
    assert said.startswith("PROM scores used by this task (comi_0m, odi_0m, odi_12m) were")
    assert said.endswith("; taken from the table as given: nrs_back_0m, nrs_leg_0m.")
    none = dataclasses.replace(entry.provenance, scored_from_items=())
    said = preparation_sentences(dataclasses.replace(entry, provenance=none))[1]
    assert said == (
        "No PROM score was computed from item answers in this run; taken from the table "
        "as given: odi_0m, odi_12m, nrs_back_0m, nrs_leg_0m, comi_0m."
    )


def test_one_checklist_for_a_two_task_report(builtin):
    html = builtin["html"]
    assert len(re.findall(r'<table[^>]*class="tripod"', html)) == 1
    assert len(re.findall(r'id="tripod"', html)) == 1
    assert "task-mcid-odi-12m-tripod" not in html and "task-mcid-nrs-leg-12m-tripod" not in html
    # an item whose answer differs by task lists each task inside it
    row = re.search(r'data-item="8a".*?</tr>', html, flags=re.S).group(0)
    assert "<strong>mcid_odi_12m: </strong>" in row
    assert "<strong>mcid_nrs_leg_12m: </strong>" in row
    assert row.count("Authors: give the rationale") == 1  # the shared request, once
    # an item with one answer for the report is not repeated per task
    row = re.search(r'data-item="18f".*?</tr>', html, flags=re.S).group(0)
    assert "<strong>mcid_odi_12m: </strong>" not in row


def test_bundle_without_provenance_says_not_recorded(builtin):
    b = load_bundle(builtin["bundle"])
    for bt in b.tasks.values():
        bt.entry = dataclasses.replace(bt.entry, provenance=None)
    text = visible(build_report(b))
    assert "Whether the table was checked against the cohort data contract is not recorded" in text
    assert "Whether PROM scores were computed from item answers is not recorded" in text
    assert "how they were chosen is not recorded" in text
    assert "were computed from item answers in this run" not in text
    assert "baseline visit" not in text


def test_a_bundle_without_provenance_still_loads(tmp_path, lab_keys):
    """A bundle written before the manifest recorded provenance (the embedded demonstration
    bundle with its ``provenance`` entries removed, re-signed) loads and says so."""
    import shutil

    from prom.bundle import sign_bundle
    from prom.bundle.manifest.document import manifest_id

    old = tmp_path / "old_bundle"
    shutil.copytree(DEMO_BUNDLE_PATH, old)
    manifest = json.loads((old / "manifest.json").read_text(encoding="utf-8"))
    tasks = manifest["tasks"]
    for entry in tasks.values() if isinstance(tasks, dict) else tasks:
        entry.pop("provenance", None)
    manifest["bundle_id"] = manifest_id(manifest)
    (old / "manifest.json").write_text(json.dumps(manifest, indent=1), encoding="utf-8")
    sign_bundle(old, lab_keys.key)
    entries = load_bundle(old).manifest.tasks
    assert entries and all(e.provenance is None for e in entries.values())
    e = next(iter(entries.values()))
    assert any("is not recorded in this bundle" in s for s in preparation_sentences(e))
    assert prediction_time(e) == "when the predictors listed under Inputs are known"


def test_python_fit_records_only_what_the_table_carries():
    data = add_scores(simulate_cohort(500, seed=8))  # scored in Python: recorded
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", StatisticalWarning)
        fit = fit_task(
            data,
            "mcid_odi_12m",
            predictors=["age_years", "sex", "odi_0m"],
            families=("logistic", "elastic_net"),
            settings=FitSettings(n_splits=2, n_iter=1, n_boot=10, optimism_boot=0),
        )
    prov = fit.manifest_entry().provenance
    assert prov.predictors == "named" and prov.task_source == "registry"
    assert prov.contract is None and prov.mapping is None  # nothing recorded them
    assert prov.scored_from_items == ("odi_0m", "odi_12m")  # this task's columns only
    assert prov.derived == ()


def test_readers_and_scoring_record_what_they_did(tmp_path):
    path = tmp_path / "t.csv"
    simulate_cohort(30, seed=1).to_csv(path, index=False)
    df, rep = read_cohort(path)
    facts = loading_facts(df)
    assert facts["contract"] == {
        "checked": True,
        "errors": len(rep.errors),
        "warnings": len(rep.warnings),
        "mode": "strict",
        "contract": rep.contract,
    }
    assert facts["mapping"] == ""
    loaded, _ = load_cohort(path)
    assert loading_facts(loaded) == {"contract": {"checked": False}, "mapping": ""}
    scored = add_scores(loaded)
    assert "odi_12m" in loading_facts(scored)["scored_from_items"]
    assert "scored_from_items" not in loading_facts(loaded)  # the caller's table untouched
    assert loading_facts(pd.DataFrame({"a": [1]})) == {}
    with pytest.raises(TypeError, match="unknown loading fact"):
        mark_table(pd.DataFrame(), checked=True)


def test_provenance_field_is_read_back_and_checked(custom):
    meta = json.loads((custom["bundle"] / "manifest.json").read_text(encoding="utf-8"))
    d = meta["tasks"]["abnormal"]
    assert task_entry_from_dict("abnormal", d).provenance.predictors == "named"
    for bad, match in (
        ({"task_source": "elsewhere", "predictors": "named"}, r"task_source 'elsewhere'"),
        ({"task_source": "user", "predictors": "named", "extra": 1}, r"unknown field"),
        ({"task_source": "user", "predictors": "named", "contract": {"checked": "no"}}, "true"),
        ({"task_source": "user", "predictors": "named", "derived": "img"}, "list of column"),
    ):
        with pytest.raises(BundleError, match=rf"manifest task 'abnormal'.*provenance.*{match}"):
            task_entry_from_dict("abnormal", {**d, "provenance": bad})
    old = {k: v for k, v in d.items() if k != "provenance"}
    assert task_entry_from_dict("abnormal", old).provenance is None


def test_the_optimism_correction_is_headed_explained_and_in_the_checklist(tmp_path):
    """Run with bootstrap optimism: its table has a heading and says what it estimates
    beside the cross-validated figures; item 12a names it with its refits."""
    d = tmp_path
    own_table().to_csv(d / "mine.csv", index=False)
    fast = [a if a != "0" or FAST[i - 1] != "--optimism-boot" else "5" for i, a in enumerate(FAST)]
    res = runner.invoke(
        app,
        [
            *("fit", "--data", str(d / "mine.csv"), "--target", "abnormal"),
            *("--predictors", "pelvic_tilt,sacral_slope", *fast, "--out", str(d / "b")),
        ],
    )
    assert res.exit_code == 0, res.output
    res = runner.invoke(app, ["report", "--bundle", str(d / "b"), "--out", str(d / "r.html")])
    assert res.exit_code == 0, res.output
    text = visible((d / "r.html").read_text(encoding="utf-8"))
    assert "Bootstrap optimism correction A second internal validation" in text
    assert "logistic: Harrell's bootstrap optimism correction (5 refits)" in text
    assert "logistic also by Harrell's bootstrap optimism correction (5 refits;" in text


def test_a_beeswarm_names_the_model_explained_not_its_family():
    """A bundle's 'cox_ridge' is of family 'cox': the figure is titled with the name."""
    import numpy as np

    from prom.explain import beeswarm_figure, explain_rows
    from prom.models import PromClassifier

    df = own_table(200).dropna(subset=["abnormal"])
    X = df[["pelvic_tilt", "sacral_slope"]]
    model = PromClassifier(family="logistic", n_iter=1).fit(X, df["abnormal"].to_numpy())
    ex = explain_rows(model, X.head(30))
    assert (
        beeswarm_figure(ex, model="my_logistic")
        .axes[0]
        .get_title()
        .startswith("my_logistic, 30 rows")
    )
    assert beeswarm_figure(ex).axes[0].get_title().startswith("logistic, 30 rows")
    assert np.isfinite(ex.base_value)


def test_steps_not_done_and_items_not_applicable_have_their_own_status(custom):
    """No site column: heterogeneity (12d) was not assessed — 'not done in this run', not
    'for the authors'; no separate evaluation data (20c) — 'not applicable', not 'from
    this run'; the summary counts them apart."""
    html = custom["html"]

    def status(item: str) -> str:
        return re.search(rf'data-item="{item}"[^>]*>([^<]*)</td>', html).group(1)

    assert status("12d") == "not done in this run"
    assert status("20c") == "not applicable to this run"
    assert re.search(
        r"items filled in from this run, \d+ partly, \d+ about steps not done in "
        r"this run, \d+ not applicable; the rest are for the authors",
        visible(html),
    )
