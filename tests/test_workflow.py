"""fit_task and the `prom fit` / `prom evaluate` commands, end to end on small data."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

from prom.bundle import load_bundle
from prom.cli import app
from prom.cohort import simulate_cohort
from prom.errors import MissingColumnError
from prom.instruments import add_scores
from prom.workflows import FitSettings, fit_task, prepare_task_data

runner = CliRunner()
pytestmark = pytest.mark.filterwarnings("ignore::prom.errors.StatisticalWarning")


def test_fit_task_compares_every_family_with_logistic(small_fits):
    fit = small_fits["fits"][0]
    table = fit.comparison.table
    assert next(iter(table.index)) == "logistic" and table.loc["logistic", "verdict"] == "baseline"
    assert set(table.index) == {"logistic", "elastic_net", "random_forest", "xgboost", "lightgbm"}
    assert set(table["verdict"]) <= {"baseline", "better", "no clear difference", "worse"}
    assert fit.primary == "logistic" or table.loc[fit.primary, "verdict"] == "better"
    acc = fit.row_accounting
    assert acc["used"] == fit.n and sum(v for k, v in acc.items() if k != "read") == acc["read"]
    json.dumps(fit.manifest_entry().to_dict(), allow_nan=True)  # the manifest entry is plain JSON


def test_multiclass_triage_is_fitted_and_compared(small_fits):
    tri = small_fits["fits"][1]
    assert tri.kind == "multiclass" and tri.classes == ["conservative", "surgery", "tfesi"]
    assert {"auc", "brier", "verdict"} <= set(tri.comparison.table.columns)
    p = tri.models["lightgbm"].predict_proba(small_fits["data"].loc[lambda d: d.region == "lumbar"])
    np.testing.assert_allclose(p.sum(axis=1), 1.0, rtol=1e-12)


def test_internal_external_and_optimism_run_through_fit_task():
    df = add_scores(simulate_cohort(2500, seed=8))
    fit = fit_task(
        df,
        "mcid_nrs_leg_12m",
        families=["elastic_net"],
        settings=FitSettings(n_splits=3, n_boot=30, optimism_boot=8, random_state=2),
    )
    per_site = fit.iecv["logistic"].per_site
    assert len(per_site) == df["site"].nunique()
    assert per_site["auc"].between(0.5, 1).all()
    opt = fit.optimism["logistic"].table
    assert opt.loc["auc", "corrected"] <= opt.loc["auc", "apparent"]


def test_prepare_task_data_errors():
    df = add_scores(simulate_cohort(300, seed=1))
    with pytest.raises(ValueError, match="give either a built-in task or target="):
        prepare_task_data(df)
    with pytest.raises(MissingColumnError, match="target column 'nope' is not in the table"):
        prepare_task_data(df, target="nope")
    bad = df.assign(y=np.where(np.arange(len(df)) % 2, 1, 2))  # 1/2: which is the event?
    with pytest.raises(
        ValueError, match=r"target column 'y' has two values \('1', '2'\), not 0/1; say which"
    ):
        prepare_task_data(bad, target="y")
    _, _, y, definition, _ = prepare_task_data(df, "surgery_conversion")  # survival: time/event
    assert list(y.columns) == ["time", "event"] and definition.type == "survival"
    with pytest.raises(ValueError, match="takes no MCID threshold"):
        prepare_task_data(df, "surgery_conversion", threshold="odi_ostelo2008")
    with pytest.raises(ValueError, match="name at least one family besides 'logistic'"):
        fit_task(df, "mcid_odi_12m", families=["logistic"])


def own_names_csv(tmp_path):
    """A researcher's CSV with their own names and a binary outcome of their own."""
    df = add_scores(simulate_cohort(1500, seed=12))
    lum = df[df["region"] == "lumbar"].copy()
    own = pd.DataFrame(
        {
            "ID": lum["patient_id"].astype(str),
            "Hospital": lum["site"].astype(str),
            "Region": "L",
            "AgeYears": lum["age_years"],
            "Gender": lum["sex"].map({"male": "M", "female": "F"}),
            "BMI": lum["bmi_kg_m2"],
            "Smoker": lum["smoking"].astype(object),
            "ODI_pre": lum["odi_0m"],
            "LegPainVAS": lum["nrs_leg_0m"] * 10,
            "good_outcome": lum["true_p_mcid_nrs_leg_12m"]
            .gt(np.random.default_rng(0).random(len(lum)))
            .astype(int),
        }
    )
    csv = tmp_path / "mine.csv"
    own.to_csv(csv, index=False)
    mapping = {
        "version": 1,
        "columns": {
            "ID": "patient_id",
            "Hospital": "site",
            "Region": {"to": "region", "values": {"L": "lumbar"}},
            "AgeYears": "age_years",
            "Gender": {"to": "sex", "values": {"M": "male", "F": "female"}},
            "BMI": "bmi_kg_m2",
            "Smoker": "smoking",
            "ODI_pre": "odi_0m",
            "LegPainVAS": {"to": "nrs_leg_0m", "unit": "vas_0_100"},
        },
        "keep_unmapped": True,
    }
    m = tmp_path / "mine.yaml"
    m.write_text(yaml.safe_dump(mapping))
    return csv, m


def test_prom_fit_on_own_csv_through_a_mapping_then_evaluate_and_recalibrate(tmp_path):
    csv, mapping = own_names_csv(tmp_path)
    out = tmp_path / "bundle"
    res = runner.invoke(
        app,
        [
            "fit",
            "--data",
            str(csv),
            "--mapping",
            str(mapping),
            "--target",
            "good_outcome",
            "--models",
            "logistic,lightgbm",
            "--folds",
            "3",
            "--n-iter",
            "2",
            "--boot",
            "30",
            "--optimism-boot",
            "0",
            "--jobs",
            "1",
            "--out",
            str(out),
        ],
    )
    assert res.exit_code == 0, res.output
    assert "every model against logistic regression" in res.output
    assert "bundle written to" in res.output
    b = load_bundle(out)
    task = b.task("good_outcome")
    assert task.entry.definition.to_dict() == {"type": "user column", "column": "good_outcome"}
    assert set(task.predictors) >= {"age_years", "sex", "odi_0m", "nrs_leg_0m"}
    # the same people at a "new site" whose outcomes run higher: recalibrate the intercept
    new = pd.read_csv(csv)
    rng = np.random.default_rng(5)
    new["good_outcome"] = np.maximum(new["good_outcome"], (rng.random(len(new)) < 0.3).astype(int))
    new_csv = tmp_path / "site_new.csv"
    new.to_csv(new_csv, index=False)
    out2 = tmp_path / "bundle_recal"
    res = runner.invoke(
        app,
        [
            "evaluate",
            "--bundle",
            str(out),
            "--data",
            str(new_csv),
            "--mapping",
            str(mapping),
            "--recalibrate",
            "intercept",
            "--out",
            str(out2),
        ],
    )
    assert res.exit_code == 0, res.output
    assert "citl" in res.output and "recalibrated bundle written" in res.output
    b2 = load_bundle(out2)
    from prom.cohort import load_cohort
    from prom.validation import calibration_intercept_slope

    data, _ = load_cohort(new_csv, mapping=mapping)
    X = data[b2.task("good_outcome").predictors]
    p = b2.task("good_outcome").models["logistic"].predict_proba(X)[:, 1]
    citl = calibration_intercept_slope(data["good_outcome"].to_numpy(), p).citl
    assert abs(citl) < 1e-6  # intercept recalibration makes calibration-in-the-large exact


def test_prom_fit_refuses_bad_arguments(tmp_path):
    res = runner.invoke(app, ["fit", "--data", "x.csv", "--out", str(tmp_path / "b")])
    assert res.exit_code == 2 and "give --task TASK" in res.output
    res = runner.invoke(
        app,
        [
            "fit",
            "--data",
            "x.csv",
            "--task",
            "mcid_odi_12m",
            "--models",
            "logistic,svm",
            "--out",
            str(tmp_path / "b"),
        ],
    )
    assert res.exit_code == 2 and "unknown model family svm" in res.output


def test_prom_evaluate_refuses_a_tampered_bundle(tmp_path, small_fits, lab_keys):
    from prom.bundle import write_bundle

    out = write_bundle(tmp_path / "b", small_fits["fits"][:1], signing_key=lab_keys.key)
    f = out / "mcid_odi_12m" / "logistic" / "model.json"
    f.write_text(f.read_text(encoding="utf-8").replace("[", "[ ", 1))
    res = runner.invoke(app, ["evaluate", "--bundle", str(out), "--data", "whatever.csv"])
    assert res.exit_code == 2 and "SHA-256 does not match" in res.output
