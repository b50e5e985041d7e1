"""Evaluation says what its figures are: development rows are recognised, apparent
performance is labelled, the output reads whole at any width, and --json holds it all.

A table the test makes (300 rows, the user's own column names, an id column of their
own); the bundle is fitted on rows 0–199 with two families at tiny settings through
``prom fit`` run as a subprocess with ``COLUMNS=60`` and piped output (so its comparison
table is checked as a log would hold it). Evaluation on the development rows, on 100
other rows and on a mix of 50 + 50 is counted by construction.
"""

from __future__ import annotations

import html
import json
import os
import re
import subprocess
import sys
import warnings
from io import StringIO
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from rich.console import Console
from typer.testing import CliRunner

from prom.bundle import BundleError, load_bundle
from prom.bundle.development_rows import DevelopmentRows, record_development_rows
from prom.bundle.manifest import task_entry_from_dict
from prom.calculator import DEMO_BUNDLE_PATH
from prom.cli import app
from prom.outcomes import TaskRows
from prom.workflows import FitSettings, evaluate_bundle, fit_task
from prom.workflows.evaluate_output import evaluation_view
from prom.workflows.tables import comparison_table

runner = CliRunner()
pytestmark = pytest.mark.filterwarnings("ignore::prom.errors.StatisticalWarning")
ROOT = Path(__file__).resolve().parents[1]

FAST = ["--models", "logistic,elastic_net", "--folds", "2", "--n-iter", "1", "--boot", "10"]
FAST += ["--optimism-boot", "0", "--jobs", "1", "--site-column", "none"]
#: A number cut short by a too-narrow layout: ``0.…``, ``0.9…`` (a key id's ``8054…`` is not).
CUT = re.compile(r"\b\d+\.\d*…")


def own_table(n: int = 300, seed: int = 0) -> pd.DataFrame:
    """Rows with an id of the user's own, two numeric predictors, a category and a 0/1
    outcome drawn from a logistic model of them."""
    rng = np.random.default_rng(seed)
    age = rng.normal(55, 12, n).round(0)
    score = rng.normal(40, 15, n).round(1)
    grp = rng.choice(["a", "b", "c"], n)
    lp = -0.5 + 0.04 * (age - 55) - 0.03 * (score - 40) + (grp == "b") * 0.6
    good = (rng.random(n) < 1 / (1 + np.exp(-lp))).astype(int)
    rec = [f"R{i:04d}" for i in range(n)]
    return pd.DataFrame({"record_no": rec, "age": age, "score": score, "grp": grp, "good": good})


@pytest.fixture(scope="module")
def fitted(tmp_path_factory, lab_keys):
    d = tmp_path_factory.mktemp("honest")
    df = own_table()
    paths = {
        "dev": df.iloc[:200],
        "new": df.iloc[200:],
        "mix": df.iloc[150:250],
    }
    files = {}
    gaps = df.iloc[200:].copy()
    gaps.loc[gaps.index[[3, 8]], "age"] = np.nan
    gaps.loc[gaps.index[5], "score"] = np.nan
    paths["gaps"] = gaps
    for k, part in paths.items():
        files[k] = d / f"{k}.csv"
        part.to_csv(files[k], index=False)
    bundle = d / "bundle"
    args = ["fit", "--data", str(files["dev"]), "--target", "good", *FAST]
    args += ["--predictors", "age,score,grp", "--id-column", "record_no", "--allow-small-sample"]
    args += ["--out", str(bundle)]
    env = {**os.environ, "COLUMNS": "60", "PYTHONPATH": str(ROOT)}
    proc = subprocess.run(
        [sys.executable, "-m", "prom.cli", *args],
        capture_output=True,
        text=True,
        encoding="utf-8",
        env=env,
        cwd=d,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return {"bundle": bundle, "files": files, "fit_stdout": proc.stdout, "dir": d}


def evaluate(fitted, which: str | Path, *extra: str, code: int = 0):
    """``prom evaluate`` of the fitted bundle on a table of the fixture (by its key) or a
    file of the test's own, expecting exit ``code``."""
    data = fitted["files"][which] if isinstance(which, str) else which
    res = runner.invoke(
        app, ["evaluate", "--bundle", str(fitted["bundle"]), "--data", str(data), *extra]
    )
    assert res.exit_code == code, res.output
    return res


def flat(text: str) -> str:
    return " ".join(text.split())


def test_fit_records_the_development_rows_by_the_users_id_column_without_the_ids(fitted):
    entry = load_bundle(fitted["bundle"]).task("good").entry
    d = entry.development_rows
    assert (d.basis, d.columns, d.n_rows, d.n_distinct) == ("id column", ("record_no",), 200, 200)
    assert "development rows: 200 recorded as keyed digests, matched by id column 'record_no'" in (
        flat(fitted["fit_stdout"])
    )
    manifest = (fitted["bundle"] / "manifest.json").read_text(encoding="utf-8")
    assert "R0001" not in manifest and "R0199" not in manifest


def test_fit_comparison_piped_at_60_columns_has_every_number_whole(fitted):
    out = fitted["fit_stdout"]
    assert "every model against logistic regression" in out
    assert re.search(r"^ {2}AUC \(95% CI\) +0\.\d{3} \(0\.\d{3}–0\.\d{3}\)$", out, re.M), out
    assert not CUT.search(out), out


def test_evaluate_on_the_development_rows_says_so_and_labels_the_figures_apparent(fitted):
    res = evaluate(fitted, "dev")
    out = flat(res.stdout)
    assert "good on dev.csv — APPARENT performance: all 200 rows were development rows" in out
    assert "development rows: 200 of the 200 evaluation rows (matched by id column" in out
    assert "the figures are apparent performance, not validation" in out


def test_evaluate_on_other_rows_says_none_were_development_rows(fitted):
    res = evaluate(fitted, "new")
    out = flat(res.stdout)
    assert "development rows: 0 of the 100 evaluation rows" in out
    assert "APPARENT" not in out and "apparent performance" not in out
    assert "good on new.csv — 100 rows that were not development rows" in out


def test_evaluate_on_a_mix_counts_them_and_can_leave_them_out(fitted):
    res = evaluate(fitted, "mix")
    out = flat(res.stdout)
    assert "partly APPARENT: 50 of 100 rows were development rows" in out
    assert "to evaluate the 50 new rows only, pass --exclude-development-rows" in out
    res = evaluate(fitted, "mix", "--exclude-development-rows", "--json")
    doc = json.loads(res.stdout)
    task = doc["tasks"]["good"]
    assert task["performance"] == "new rows"
    assert task["development_rows"]["n_development"] == 50
    assert task["development_rows"]["n_evaluated"] == 50
    assert task["row_accounting"]["used"] == 50
    assert task["row_accounting"]["development rows left out"] == 50
    assert {m["n"] for m in task["models"]} == {50}
    # the same figures as evaluating the new rows of the mix directly (rows 200–249)
    b = load_bundle(fitted["bundle"])
    direct = evaluate_bundle(b, own_table().iloc[200:250]).tables["good"]
    assert [m["auc"] for m in task["models"]] == pytest.approx(direct["auc"].tolist(), rel=1e-12)


def test_another_sites_rows_under_the_same_ids_are_new_rows_and_said(fitted, tmp_path):
    """A second site numbering its patients as the first did: the ids match development
    rows, the values do not. The rows are new rows (not apparent performance) and the
    sharing is said; a development row whose value was corrected since is counted so."""
    other = own_table(seed=7).iloc[:100]  # ids R0000–R0099, other patients
    (tmp_path / "site2.csv").write_text(other.to_csv(index=False), encoding="utf-8")
    fitted["files"]["site2"] = tmp_path / "site2.csv"
    out = flat(evaluate(fitted, "site2").stdout)
    assert "good on site2.csv — 100 rows that were not development rows" in out
    assert (
        "development rows: 0 of the 100 evaluation rows (matched by id column 'record_no' "
        "and the row's values); 100 row(s) share an id with a development row but not its "
        "values: counted as new rows"
    ) in out
    assert (
        "caution: good: 100 row(s) share an id with a development row but not its values, "
        "and are counted as new rows: other patients under the same ids"
    ) in out
    assert "APPARENT" not in out and "apparent performance" not in out
    corrected = own_table().iloc[:200].copy()
    corrected.loc[corrected.index[17], "score"] += 1.0
    (tmp_path / "corrected.csv").write_text(corrected.to_csv(index=False), encoding="utf-8")
    fitted["files"]["corrected"] = tmp_path / "corrected.csv"
    res = evaluate(fitted, "corrected", "--json")
    rows = json.loads(res.stdout)["tasks"]["good"]["development_rows"]
    assert (rows["n_development"], rows["n_id_only"], rows["n_rows"]) == (199, 1, 200)
    assert rows["performance"] == "partly apparent" and rows["values_reason"] is None


def test_a_record_without_value_digests_matches_ids_alone(fitted):
    """Bundles written before the id-and-values digests match by id alone, as they did."""
    rec = load_bundle(fitted["bundle"]).task("good").entry.development_rows
    assert rec.value_columns == ("age", "score", "grp", "good") and rec.value_digests
    old = DevelopmentRows.from_dict(
        {k: v for k, v in rec.to_dict().items() if not k.startswith("value_")}, "t"
    )
    other = own_table(seed=7).iloc[:100]
    X = other[["age", "score", "grp"]]
    match = old.match(other, X)
    assert match.development.all() and match.id_only is None
    match = rec.match(other, X)
    assert not match.development.any() and match.id_only.all()
    lacking = rec.match(other.drop(columns="score"), X.drop(columns="score"))
    assert lacking.development.all() and "values not compared: the table has no 'score'" in (
        lacking.values_reason
    )
    bad = {**rec.to_dict(), "basis": "row values"}
    with pytest.raises(BundleError, match="come together, with basis 'id column' only"):
        DevelopmentRows.from_dict(bad, "t")


def test_leaving_out_every_row_is_refused_with_the_reason(fitted):
    args = ["evaluate", "--bundle", str(fitted["bundle"]), "--data", str(fitted["files"]["dev"])]
    res = runner.invoke(app, [*args, "--exclude-development-rows"])
    assert res.exit_code == 2
    assert "development rows left out 200); every labelled row was a development row" in flat(
        res.output
    )


def test_evaluate_json_parses_and_holds_the_numbers_of_the_table(fitted, tmp_path):
    res = evaluate(fitted, "new", "--json")
    doc = json.loads(res.stdout)  # nothing else on stdout
    assert "bundle" in res.stderr and "development rows: 0 of the 100" in flat(res.stderr)
    task = doc["tasks"]["good"]
    assert task["performance"] == "new rows" and task["row_accounting"]["used"] == 100
    table = evaluate(fitted, "new").stdout  # piped: one line per metric
    for m in task["models"]:
        block = table.split(f"\n{m['model']}\n", 1)[1]
        auc = re.search(r"auc \(95% CI\) +(\S+) \((\S+)–(\S+)\)", block).groups()
        assert auc == tuple(f"{m[k]:.3f}" for k in ("auc", "auc_low", "auc_high"))
        assert re.search(r"brier +(\S+)", block).group(1) == f"{m['brier']:.3f}"
        assert re.search(r"citl +(\S+)", block).group(1) == f"{m['citl']:.3f}"
    out = tmp_path / "result.json"
    res = evaluate(fitted, "new", "--json-file", str(out))
    assert json.loads(out.read_text(encoding="utf-8"))["tasks"]["good"]["models"] == task["models"]
    assert "JSON result written to" in res.stdout


def test_evaluate_json_counts_the_imputed_values_per_predictor(fitted):
    doc = json.loads(evaluate(fitted, "gaps", "--json").stdout)
    assert doc["tasks"]["good"]["imputed"] == {"age": 2, "score": 1}
    assert json.loads(evaluate(fitted, "new", "--json").stdout)["tasks"]["good"]["imputed"] == {}


def test_evaluate_piped_at_60_columns_has_every_number_whole(fitted):
    env = {**os.environ, "COLUMNS": "60", "PYTHONPATH": str(ROOT)}
    args = ["evaluate", "--bundle", str(fitted["bundle"]), "--data", str(fitted["files"]["mix"])]
    proc = subprocess.run(
        [sys.executable, "-m", "prom.cli", *args],
        capture_output=True,
        text=True,
        encoding="utf-8",
        env=env,
    )
    assert proc.returncode == 0, proc.stderr
    assert re.search(r"^ {2}auc \(95% CI\) +0\.\d{3} \(0\.\d{3}–0\.\d{3}\)$", proc.stdout, re.M)
    assert not CUT.search(proc.stdout), proc.stdout


def test_narrow_terminal_gets_one_line_per_metric_and_a_wide_one_the_table():
    small = own_table(120, seed=1)
    settings = FitSettings(
        n_splits=2, n_iter=1, n_boot=10, optimism_boot=0, site_column=None, allow_small_sample=True
    )
    fit = fit_task(
        small,
        target="good",
        predictors=["age", "score", "grp"],
        families=["logistic", "elastic_net"],
        settings=settings,
    )
    tab = pd.DataFrame(
        [
            {
                "model": m,
                "recalibration": "none",
                "n": 120,
                "auc": 0.71234,
                "auc_low": 0.61,
                "auc_high": 0.81,
                "brier": 0.2,
                "citl": 0.01,
                "calibration_slope": 0.93,
                "slope_low": 0.7,
                "slope_high": 1.2,
            }
            for m in ("logistic", "elastic_net")
        ]
    )
    for view in (comparison_table(fit), evaluation_view("good", tab, "some_file.csv")):
        narrow, wide = StringIO(), StringIO()
        Console(file=narrow, width=60, force_terminal=True, color_system=None).print(view)
        Console(file=wide, width=200, force_terminal=True, color_system=None).print(view)
        assert not CUT.search(narrow.getvalue()), narrow.getvalue()
        assert "┃" not in narrow.getvalue() and "┃" in wide.getvalue()
        assert max(len(line) for line in narrow.getvalue().splitlines()) <= 60


def test_row_values_key_when_there_is_no_id_and_canonical_values():
    df = own_table(40)
    X = df[["age", "score", "grp"]].iloc[:30]
    rec = record_development_rows(df.drop(columns="record_no"), X, ["good"])
    assert rec.basis == "row values" and rec.columns == ("age", "score", "grp", "good")
    assert "no 'patient_id' column and no --id-column" in rec.note
    assert "looks like an id" not in rec.note  # 'record_no' is not an id by its name
    named = df.rename(columns={"record_no": "Patient ID"})
    hint = record_development_rows(named, X, ["good"]).note
    assert hint.endswith("'Patient ID' looks like an id: --id-column 'Patient ID'")
    again = df.drop(columns="record_no").sample(frac=1.0, random_state=1)  # shuffled
    again["age"] = again["age"].astype(int)  # 55 and 55.0 are one value
    m = rec.match(again)
    assert m.development.sum() == 30 and m.reason is None
    assert set(again.index[m.development]) == set(range(30))
    changed = again.copy()
    changed.loc[0, "score"] += 0.1  # a corrected value no longer matches
    assert rec.match(changed).development.sum() == 29


def test_contract_patient_id_is_the_default_key_and_a_missing_id_is_unknown():
    df = own_table(20).rename(columns={"record_no": "patient_id"})
    X = df[["age", "score"]].iloc[:10]
    rec = record_development_rows(df, X, ["good"])
    assert (rec.basis, rec.columns) == ("id column", ("patient_id",))
    new = df.copy()
    new.loc[3, "patient_id"] = None
    m = rec.match(new)
    assert (m.development.sum(), m.unknown.sum()) == (9, 1)
    other = record_development_rows(df, X, ["good"])
    assert other.salt != rec.salt and other.digests != rec.digests  # per-bundle key
    # patient_id missing in a development row: the values are the key, and the note says why
    df.loc[2, "patient_id"] = None
    rec = record_development_rows(df, X, ["good"])
    assert rec.basis == "row values" and "'patient_id' is missing in 1 labelled row" in rec.note


@pytest.mark.parametrize(
    ("column", "message"),
    [
        ("nope", r"--id-column 'nope' is not a column of the table"),
        ("age", r"--id-column 'age' is also a predictor of the fit"),
        ("gappy", r"--id-column 'gappy' is missing in 2 labelled row\(s\) \(rows 1, 4\)"),
    ],
)
def test_a_bad_id_column_is_refused_by_name(column, message):
    df = own_table(10)
    df["gappy"] = ["a", None, "c", "d", None, "f", "g", "h", "i", "j"]
    with pytest.raises(ValueError, match=message):
        record_development_rows(df, df[["age", "score"]], ["good"], id_column=column)


@pytest.mark.parametrize("bad", ["", 3])
def test_fit_settings_refuse_an_id_column_that_is_not_a_name(bad):
    with pytest.raises(TypeError, match=r"id_column=.*; expected a column name or None"):
        FitSettings(id_column=bad)


def test_manifest_field_round_trips_and_old_bundles_say_not_checked(fitted):
    rec = load_bundle(fitted["bundle"]).task("good").entry.development_rows
    assert DevelopmentRows.from_dict(rec.to_dict(), "t") == rec
    bad = {**rec.to_dict(), "digests": rec.digests[:-4]}
    with pytest.raises(BundleError, match=r"'digests' is not a whole number of digests"):
        DevelopmentRows.from_dict(bad, "t")
    # a manifest written before the record existed still loads, and says so
    manifest = json.loads((DEMO_BUNDLE_PATH / "manifest.json").read_text(encoding="utf-8"))
    name, d = next(iter(manifest["tasks"].items()))
    entry = task_entry_from_dict(name, {k: v for k, v in d.items() if k != "development_rows"})
    assert entry.development_rows is None
    from prom.workflows.development_overlap import check_development_rows

    rows = TaskRows(pd.DataFrame(), pd.Series(dtype=float), {"read": 0, "used": 0}, ())
    overlap, _ = check_development_rows(entry, pd.DataFrame(), rows)
    assert overlap.performance == "not checked" and "written before" in overlap.sentence()
    with pytest.raises(ValueError, match="cannot leave out the development rows"):
        check_development_rows(entry, pd.DataFrame(), rows, exclude=True)


def test_a_recalibrated_bundle_records_the_rows_it_was_recalibrated_on(fitted):
    """Its calibration on those rows is fitted there: evaluating it on them again is
    apparent, and says so."""
    out = fitted["dir"] / "recalibrated"
    res = evaluate(fitted, "new", "--recalibrate", "intercept", "--out", str(out))
    said = flat(res.output)
    assert "good: recorded as development rows: 100 rows the models were recalibrated on" in said
    entry = load_bundle(out).task("good").entry
    d = entry.development_rows
    assert (d.basis, d.columns, d.n_rows, d.n_distinct) == ("id column", ("record_no",), 300, 300)
    assert d.note.endswith("plus 100 rows the models were recalibrated on")
    again = flat(
        runner.invoke(
            app, ["evaluate", "--bundle", str(out), "--data", str(fitted["files"]["new"])]
        ).output
    )
    assert "all 100 evaluation rows were development rows" in again
    assert "apparent performance, not validation — the models were fitted or recalibrated" in again
    # the original bundle's record is untouched
    assert load_bundle(fitted["bundle"]).task("good").entry.development_rows.n_rows == 200
    # what it was recalibrated on, with its figures there, and a report that says which
    # of its figures are of the models before recalibration
    b = load_bundle(out)
    # where it came from, whoever signs it next (the parent was trusted: its signer)
    parent = f"from bundle {load_bundle(fitted['bundle']).bundle_id[:12]}, signed by key "
    assert re.search(
        r", recalibrated \(intercept on new\.csv; " + re.escape(parent) + r"[0-9a-f]{16}… "
        r"named 'test-lab'\)$",
        b.manifest.description,
    ), b.manifest.description
    note = b.task("good").entry.recalibration
    assert re.fullmatch(
        r"intercept on new\.csv; " + re.escape(parent) + r"[0-9a-f]{16}… named 'test-lab'; "
        r"primary \w+ on 100 rows \(\d+ events\): O/E \d\.\d\d → "
        r"\d\.\d\d, calibration slope -?\d+\.\d\d → -?\d+\.\d\d \(after: apparent, "
        r"fitted on these rows\); AUC 0\.\d{3} \(unchanged\)",
        note,
    ), note
    report = fitted["dir"] / "recalibrated.html"
    res = runner.invoke(app, ["report", "--bundle", str(out), "--out", str(report)])
    assert res.exit_code == 0, res.output
    text = flat(re.sub(r"<[^>]+>", " ", html.unescape(report.read_text(encoding="utf-8"))))
    assert f"Recalibrated models. The models were recalibrated after development ({note})" in text
    assert "(out-of-fold cross-validation, of the models before they were recalibrated)" in text
    assert f"results of model updating from this run The models were recalibrated: {note}." in (
        text
    )


def test_recalibration_rows_without_the_key_column_are_not_recorded_and_say_why(fitted):
    from prom.workflows import evaluate_bundle

    b = load_bundle(fitted["bundle"])
    new = pd.read_csv(fitted["files"]["new"])
    res = evaluate_bundle(b, new.drop(columns=["record_no"]), recalibrate="intercept")
    record, said = res.recalibration_rows["good"]
    assert record is None
    assert said == (
        "the 100 rows the models were recalibrated on are not recorded: the table has no "
        "'record_no', by which the bundle records its rows"
    )
    half = new.copy()
    half.loc[half.index[:10], "record_no"] = np.nan
    record, said = evaluate_bundle(b, half, recalibrate="intercept").recalibration_rows["good"]
    assert record.n_rows == 290 and "(10 more without an id, not recorded)" in said


def _few_events(fitted, tmp_path, events: int) -> Path:
    """New rows (not development rows) with ``events`` events and 40 non-events."""
    new = pd.read_csv(fitted["files"]["new"])
    part = pd.concat([new[new["good"] == 1].head(events), new[new["good"] == 0].head(40)])
    path = tmp_path / f"few{events}.csv"
    part.to_csv(path, index=False)
    return path


def test_a_recalibration_on_few_events_writes_no_bundle_unless_asked_and_then_says_so(
    fitted, tmp_path
):
    few = _few_events(fitted, tmp_path, 4)
    base = ["evaluate", "--bundle", str(fitted["bundle"]), "--data", str(few)]
    base += ["--recalibrate", "intercept", "--out"]
    res = runner.invoke(app, [*base, str(tmp_path / "r1")])
    said = flat(res.output)
    assert res.exit_code == 2, said
    assert "good: recalibrated on 4 events (44 rows): fewer than 10, an unstable estimate" in said
    assert "--allow-small-sample" in said and not (tmp_path / "r1").exists()
    res = runner.invoke(app, [*base, str(tmp_path / "r2"), "--allow-small-sample"])
    assert res.exit_code == 0, res.output
    entry = load_bundle(tmp_path / "r2").task("good").entry
    caution = "recalibrated on 4 events (44 rows): fewer than 10, an unstable estimate"
    assert caution.capitalize() in entry.warnings and entry.recalibration.endswith(caution)
    report = tmp_path / "r2.html"
    res = runner.invoke(app, ["report", "--bundle", str(tmp_path / "r2"), "--out", str(report)])
    assert res.exit_code == 0, res.output
    assert caution.capitalize() in flat(
        html.unescape(re.sub(r"<[^>]+>", " ", report.read_text(encoding="utf-8")))
    )


def test_few_events_are_said_with_the_figures_and_none_is_refused_by_name(fitted, tmp_path):
    said = flat(evaluate(fitted, _few_events(fitted, tmp_path, 12)).output)
    assert (
        "good: 12 events among 52 rows — external validation wants about 100 events and 100 "
        "non-events for precise figures (Collins, Ogundimu & Altman 2016; Vergouwe et al. "
        "2005): read each figure with its interval"
    ) in said
    none = pd.read_csv(fitted["files"]["new"]).query("good == 0")
    none.to_csv(tmp_path / "none.csv", index=False)
    res = evaluate(fitted, tmp_path / "none.csv", code=2)
    assert (
        f"task good: no events among the {len(none)} labelled rows (the outcome is 0 in every "
        "one): AUC, calibration and recalibration need both events and non-events"
    ) in flat(res.output)


def test_recalibrated_figures_are_labelled_apparent_in_the_terminal_and_the_json(fitted):
    res = evaluate(fitted, "new", "--recalibrate", "intercept_slope", "--json")
    doc = json.loads(res.stdout)
    rows = doc["tasks"]["good"]["models"]
    assert {r["recalibration"]: r["recalibrated_on_these_rows"] for r in rows} == {
        "none": False,
        "intercept_slope": True,
    }
    shown = evaluate(fitted, "new", "--recalibrate", "intercept_slope").stdout
    assert "(recalibrated: intercept_slope; calibration apparent: fitted on these rows)" in flat(
        shown
    )
    # the models' own cautions belong to the task in the JSON as well
    assert all(w in doc["warnings"] for w in doc["tasks"]["good"]["warnings"])
    assert any(w.startswith("good (") for w in doc["tasks"]["good"]["warnings"]) == any(
        w.startswith("good (") for w in doc["warnings"]
    )


def test_a_category_the_training_rows_never_had_names_those_they_had(fitted, tmp_path):
    new = pd.read_csv(fitted["files"]["new"])
    new.loc[:2, "grp"] = "d"
    new.to_csv(tmp_path / "d.csv", index=False)
    said = flat(evaluate(fitted, tmp_path / "d.csv").output)
    assert "'grp': 3 row(s) ('d'; " in said and "the training rows had 'a', 'b', 'c')" in said
    assert "training_ranges_" not in said and "unknown_categories" not in said


def test_an_interval_with_a_negative_bound_reads_as_a_range():
    from prom.workflows.evaluate_output import cells

    tab = pd.DataFrame(
        [
            {
                "model": "m",
                "recalibration": "none",
                "calibration_slope": 1.18,
                "slope_low": -0.188,
                "slope_high": 2.555,
            }
        ]
    )
    assert cells(tab)[1][0][1] == ["1.180 (-0.188 to 2.555)"]


def test_report_data_with_unseen_categories_says_so_in_the_section_and_lacking_is_refused(
    fitted, tmp_path
):
    new = pd.read_csv(fitted["files"]["new"])
    new.loc[:2, "grp"] = "d"
    new.to_csv(tmp_path / "d.csv", index=False)
    out = tmp_path / "d.html"
    args = ["report", "--bundle", str(fitted["bundle"]), "--out", str(out)]
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # nothing reaches the terminal as a Python warning
        res = runner.invoke(app, [*args, "--data", str(tmp_path / "d.csv")])
    assert res.exit_code == 0, res.output
    text = flat(html.unescape(re.sub(r"<[^>]+>", " ", out.read_text(encoding="utf-8"))))
    assert (
        "Among the explained rows, categorical value(s) not seen in the training rows, coded "
        "as all zeros for their variable: 'grp': 3 row(s) ('d'; "
    ) in text
    new.rename(columns={"score": "Score"}).to_csv(tmp_path / "renamed.csv", index=False)
    res = runner.invoke(app, [*args, "--data", str(tmp_path / "renamed.csv")])
    assert res.exit_code == 2, res.output
    assert "'score' (task good; the table has 'Score')" in flat(res.output)
