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


def test_a_few_unseen_values_are_said_once_per_task_with_their_models(cohort, tmp_path):
    partial = cohort.astype({"sex": object})
    partial.loc[:4, "sex"] = "M"
    partial.to_csv(tmp_path / "partial.csv", index=False)
    res, leaked = _evaluate(tmp_path / "partial.csv")
    assert res.exit_code == 0, res.output
    text = " ".join(res.output.split())
    cautions = [c for c in text.split("caution: ")[1:] if "not seen in the training rows" in c]
    assert cautions and all(c.startswith(("mcid_", "tfesi_", "triage")) for c in cautions)
    assert "mcid_odi_12m (logistic, lightgbm): categorical value(s) not seen" in text
    assert len([c for c in cautions if c.startswith("mcid_odi_12m ")]) == 1
    assert "UnknownCategoryWarning" not in leaked and "UnknownCategoryWarning" not in text


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
    from prom.workflows.missing import CategoryCodingError, check_bundle_inputs

    spaced = cohort.astype({"sex": object})
    spaced["sex"] = " " + spaced["sex"].astype(str)
    with pytest.raises(CategoryCodingError, match=r"'sex' holds none of the categories"):
        check_bundle_inputs(load_bundle(DEMO_BUNDLE_PATH), spaced)
