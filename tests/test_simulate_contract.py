"""The simulator's output meets the data contract, and corrupted copies fail it loudly.

Every corruption below is one a registry export really shows: an impossible value, a
category spelled differently, a duplicated id, a required column missing, text in a
numeric column, a PROM item coded on the wrong scale. Validation must find each one,
name the column, the rows and the values, and raise one error listing all of them.
"""

from __future__ import annotations

import copy

import numpy as np
import pandas as pd
import pytest

from prom.cohort import simulate_cohort, validate_cohort
from prom.errors import ContractError
from prom.instruments import score_table


@pytest.fixture(scope="module")
def cohort() -> pd.DataFrame:
    return simulate_cohort(2000, seed=3)


def test_simulated_output_passes_strict_validation_raw_and_scored(cohort):
    assert validate_cohort(cohort, mode="strict").ok
    scores = score_table(cohort)
    scored = cohort.join(scores.drop(columns=[c for c in scores if c in cohort]))
    report = validate_cohort(scored, mode="strict")
    assert report.ok, report.summary()
    assert len(report.problems) == 0


def corrupt(df: pd.DataFrame) -> pd.DataFrame:
    bad = df.astype({"sex": object, "smoking": object}).copy()
    bad.loc[[4, 9], "age_years"] = [250.0, -3.0]  # impossible ages
    bad.loc[17, "sex"] = "Male"  # case differs from the contract
    bad.loc[21, "smoking"] = "sometimes"  # not a category
    bad.loc[30, "patient_id"] = bad.loc[31, "patient_id"]  # duplicated id
    bad["bmi_kg_m2"] = bad["bmi_kg_m2"].astype(object)
    bad.loc[44, "bmi_kg_m2"] = "obese"  # text in a numeric column
    lumbar = bad.index[bad["region"].eq("lumbar") & bad["odi_lifting_0m"].notna()][:3]
    bad.loc[lumbar, "odi_lifting_0m"] = 6  # form coded 1-6
    return bad.drop(columns=["site"])  # a required column missing


def test_corrupted_copy_fails_with_a_problem_table(cohort):
    bad = corrupt(cohort)
    before = copy.deepcopy(bad)
    report = validate_cohort(bad, mode="strict")
    pd.testing.assert_frame_equal(bad, before)  # validation never mutates its input
    assert not report.ok
    p = report.problems.set_index(["column", "check"])
    assert {"column", "check", "severity", "n_rows", "rows", "values", "expected"} <= set(
        report.problems.columns
    )
    assert p.loc[("age_years", "out_of_range"), "rows"] == [4, 9]
    assert p.loc[("sex", "category"), "rows"] == [17]
    assert "did you mean 'male'" in p.loc[("sex", "category"), "expected"]
    assert p.loc[("smoking", "category"), "values"] == ["sometimes"]
    assert p.loc[("patient_id", "duplicate_id"), "n_rows"] == 2
    assert p.loc[("bmi_kg_m2", "type"), "rows"] == [44]
    assert p.loc[("odi_lifting_0m", "out_of_range"), "n_rows"] == 3
    assert ("site", "missing_column") in p.index
    with pytest.raises(ContractError, match=r"error\(s\)") as info:
        report.raise_for_errors()
    msg = str(info.value)
    for col in ("age_years", "sex", "smoking", "patient_id", "bmi_kg_m2", "odi_lifting_0m", "site"):
        assert f"'{col}'" in msg
    assert info.value.problems is not None and len(info.value.problems) == len(report.errors)


def test_each_corruption_alone_is_caught(cohort):
    """Corrupting one thing at a time: exactly that column is reported."""
    cases = {
        "age_years": lambda d: d.assign(age_years=d["age_years"].where(d.index != 5, 999.0)),
        "asa_grade": lambda d: d.assign(
            asa_grade=d["asa_grade"].astype("Float64").where(d.index != 6, 2.5)
        ),
        "true_p_mcid_odi_12m": lambda d: d.assign(
            true_p_mcid_odi_12m=d["true_p_mcid_odi_12m"].where(d.index != 7, 1.2)
        ),
        "nrs_leg_0m": lambda d: d.assign(nrs_leg_0m=d["nrs_leg_0m"].where(d.index != 8, 55.0)),
    }
    for col, fn in cases.items():
        report = validate_cohort(fn(cohort), mode="strict")
        assert not report.ok, col
        assert set(report.errors["column"]) == {col}, (col, report.errors)


def test_shuffled_rows_give_the_same_problems(cohort):
    bad = corrupt(cohort)
    a = validate_cohort(bad).problems[["column", "check", "n_rows"]]
    shuffled = bad.sample(frac=1.0, random_state=1)
    b = validate_cohort(shuffled).problems[["column", "check", "n_rows"]]
    pd.testing.assert_frame_equal(a.reset_index(drop=True), b.reset_index(drop=True))


def test_lenient_mode_keeps_real_errors(cohort):
    bad = corrupt(cohort).assign(registry_note="x")
    strict = validate_cohort(bad, mode="strict")
    lenient = validate_cohort(bad, mode="lenient")
    assert "registry_note" in set(strict.errors["column"])
    assert "registry_note" in set(lenient.warnings["column"])
    assert set(lenient.errors["column"]) == set(strict.errors["column"]) - {"registry_note"}
    assert np.isin(["age_years", "sex"], lenient.errors["column"]).all()
