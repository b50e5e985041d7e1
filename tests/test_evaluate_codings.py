"""A new site's table coded its own way, through ``prom evaluate`` on the embedded
demonstration bundle: a column with none of the models' categories (``F``/``M`` for
``female``/``male``, ``0``/``1``/``2`` for the smoking status) is refused by name with
what was found and what was expected, never read as an unseen category in every row;
a few unseen values are said once per task, with the models they concern; and an
independent simulated sample is never taken for the bundle's development rows.
"""

from __future__ import annotations

import warnings

import pytest
from typer.testing import CliRunner

from prom.calculator import DEMO_BUNDLE_PATH
from prom.cli import app
from prom.cohort import simulate_cohort

runner = CliRunner()


@pytest.fixture(scope="module")
def cohort():
    return simulate_cohort(400, seed=3)


def _evaluate(path):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        res = runner.invoke(app, ["evaluate", "--bundle", str(DEMO_BUNDLE_PATH), "--data", path])
    return res, [str(w.category.__name__) for w in caught]


def test_a_column_coded_otherwise_is_refused_naming_found_and_expected(cohort, tmp_path):
    coded = cohort.assign(
        sex=cohort["sex"].map({"female": "F", "male": "M"}),
        smoking=cohort["smoking"].map({"never": 0, "former": 1, "current": 2}),
    )
    coded.to_csv(tmp_path / "coded.csv", index=False)
    res, leaked = _evaluate(tmp_path / "coded.csv")
    text = " ".join(res.output.split())
    assert res.exit_code == 2, text
    n_sex, n_smoking = coded["sex"].notna().sum(), coded["smoking"].notna().sum()
    assert (
        f"'sex' holds none of the categories the models were trained on: found 'F', 'M' "
        f"in all {n_sex} row(s) with a value; expected 'female', 'male'"
    ) in text.replace("'M', 'F'", "'F', 'M'")
    assert f"in all {n_smoking} row(s) with a value; expected 'never', 'former', 'current'" in text
    assert "These columns are coded differently" in text and "'values:'" in text
    assert "Traceback" not in text and "UnknownCategoryWarning" not in leaked


def test_a_few_values_outside_the_contract_are_refused_by_row_as_before_a_fit(cohort, tmp_path):
    """A built-in task's predictors mean the contract's values: 'M' in five rows (the rest
    coded as the contract says) is refused naming the rows, as ``prom fit`` refuses it —
    the figures would otherwise rest on rows the models read as an unknown sex."""
    partial = cohort.astype({"sex": object})
    partial.loc[:4, "sex"] = "M"
    partial.to_csv(tmp_path / "partial.csv", index=False)
    res, leaked = _evaluate(tmp_path / "partial.csv")
    assert res.exit_code == 2, res.output
    text = " ".join(res.output.split())
    assert (
        "values the cohort contract does not allow in this task's predictors: 'sex': 'M' at "
        "lines 2, 3, 4, 5, 6 (expected one of female, male"
    ) in text
    assert "--target" not in text  # fitting advice, not for a bundle's evaluation
    assert "UnknownCategoryWarning" not in leaked and "Traceback" not in text


def test_an_independent_simulated_sample_is_not_the_bundles_development_rows(cohort, tmp_path):
    other = simulate_cohort(400, seed=4)
    assert not set(other["patient_id"]) & set(cohort["patient_id"])  # ids carry the seed
    cohort.to_csv(tmp_path / "new_site.csv", index=False)
    res, _ = _evaluate(tmp_path / "new_site.csv")
    assert res.exit_code == 0, res.output
    text = " ".join(res.output.split())
    assert "APPARENT" not in text
    assert "development rows: 0 of the" in text


def test_a_builtin_task_is_not_fitted_on_categories_the_contract_does_not_declare(cohort):
    """The registry's predictors mean the contract's values: 'Male' in two rows is refused
    with the rows, the value and a close match; a user's own outcome keeps its coding."""
    from prom.workflows import FitSettings, fit_task
    from prom.workflows.missing import CategoryCodingError

    few = cohort.astype({"sex": object, "asa_grade": float})
    few.loc[[3, 10], "sex"] = "Male"
    few.loc[5, "age_years"] = 250.0  # out of the contract's range
    few.loc[6, "asa_grade"] = 2.5  # a fraction where it declares whole numbers
    quick = FitSettings(n_splits=2, n_iter=1, n_boot=10, optimism_boot=0, site_column=None)
    with pytest.raises(CategoryCodingError) as e:
        fit_task(few, "mcid_odi_12m", families=["logistic", "elastic_net"], settings=quick)
    msg = str(e.value)
    assert "'sex': 'Male' at rows 3, 10 (expected one of female, male (did you mean 'male'" in msg
    assert "'age_years': 250 at row 5 (expected a number in 0–110 (years))" in msg
    assert "'asa_grade': 2.5 at row 6 (expected an integer in 1–5 (grade))" in msg
    own = few.assign(good=(few["age_years"] > 45).astype(int))[["sex", "bmi_kg_m2", "good"]]
    fit = fit_task(
        own,
        target="good",
        predictors=["sex", "bmi_kg_m2"],
        families=["logistic", "elastic_net"],
        settings=quick,
    )
    assert fit.task_name == "good"


def test_values_in_messages_read_as_the_table_writes_them():
    import numpy as np

    from prom.errors import format_values

    got = format_values([np.float64(2.5), 6.0, np.float64(7.0), 28.123456, 1234567.0, "x"])
    assert got == "2.5, 6, 7, 28.123456, 1234567, 'x'"  # never np.float64(…), 6.0 or 1.23457e+06


def test_categories_are_matched_as_the_models_code_them(cohort):
    """' female' is not 'female' to the models (they read it as unseen), so a column of
    such values is refused like any other coding of its own."""
    from prom.bundle import load_bundle
    from prom.instruments import add_scores
    from prom.workflows.missing import CategoryCodingError, check_bundle_inputs

    spaced = add_scores(cohort).astype({"sex": object})
    spaced["sex"] = " " + spaced["sex"].astype(str)
    with pytest.raises(CategoryCodingError, match=r"'sex' holds none of the categories"):
        check_bundle_inputs(load_bundle(DEMO_BUNDLE_PATH), spaced)


def test_a_predictor_column_the_table_lacks_is_refused_naming_it_and_what_is_there(cohort):
    """Read without a column, every row would get the training median: the figures would
    be another model's. Refused as ``prom score`` refuses it, naming the tasks and what the
    table has instead (a close name; a score's unscored items); a column present but empty
    is imputed and said instead."""
    from prom.bundle import load_bundle
    from prom.errors import MissingColumnError
    from prom.instruments import add_scores
    from prom.workflows import evaluate_bundle

    bundle = load_bundle(DEMO_BUNDLE_PATH)
    scored = add_scores(cohort)
    renamed = scored.rename(columns={"bmi_kg_m2": "BMI_kg_m2"})
    with pytest.raises(MissingColumnError) as e:
        evaluate_bundle(bundle, renamed)
    said = str(e.value)
    assert said.startswith("the table lacks 1 predictor column(s) the bundle's models read: ")
    assert "'bmi_kg_m2' (tasks mcid_odi_12m, " in said and "the table has 'BMI_kg_m2')" in said
    assert "--mapping" in said
    with pytest.raises(
        MissingColumnError,
        match=r"'odi_0m' \(tasks .*; the table has the "
        r"items of odi_0m, unscored: score them first",
    ):
        evaluate_bundle(bundle, cohort)  # items, not scores
    empty = scored.assign(bmi_kg_m2=float("nan"))
    res = evaluate_bundle(bundle, empty, tasks=["mcid_odi_12m"])
    n = int(res.tables["mcid_odi_12m"]["n"].iloc[0])
    assert (
        f"mcid_odi_12m: predictor(s) empty in all {n:,} labelled row(s), imputed with the "
        "training median in every one: bmi_kg_m2"
    ) in res.warnings


def test_a_shifted_case_mix_is_named_with_the_figures(cohort):
    """Ages 20 years higher than the development rows' (inside the contract): the
    evaluation says the case mix differs, naming the predictor, as ``prom score`` does."""
    from prom.bundle import load_bundle
    from prom.instruments import add_scores
    from prom.workflows import evaluate_bundle

    older = add_scores(cohort).assign(age_years=lambda d: (d["age_years"] + 20).clip(upper=100))
    res = evaluate_bundle(load_bundle(DEMO_BUNDLE_PATH), older, tasks=["mcid_odi_12m"])
    said = [w for w in res.warnings if "case mix differs" in w]
    assert len(said) == 1 and said[0].startswith("mcid_odi_12m: the case mix differs")
    assert "age_years (major: PSI " in said[0]
    same = evaluate_bundle(
        load_bundle(DEMO_BUNDLE_PATH), add_scores(cohort), tasks=["mcid_odi_12m"]
    )
    assert not any("age_years (" in w for w in same.warnings if "case mix" in w)
