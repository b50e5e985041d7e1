"""Validation of cohort tables against the data contract (prom.cohort.validate).

Every frame here is built by hand from the contract, small enough to count problems by
eye; none depends on the simulator.
"""

from __future__ import annotations

import copy

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from prom.cohort.column_checks import NUMBERS_AS_TEXT
from prom.cohort.contract import COHORT_CONTRACT, ColumnSpec, Contract
from prom.cohort.validate import (
    PROBLEM_COLUMNS,
    ROW_LIMIT,
    VALUE_LIMIT,
    ValidationReport,
    coerce_to_contract,
    scoring_columns,
    validate_cohort,
)
from prom.errors import ContractError


def make_valid_cohort(n: int = 6) -> pd.DataFrame:
    """A small table that meets the contract: required columns and some optional ones."""
    rng = np.random.default_rng(7)
    sexes = ["female", "male"]
    diagnoses = ["disc_herniation", "spinal_stenosis", "spondylolisthesis"]
    return pd.DataFrame(
        {
            "patient_id": [f"{i:03d}" for i in range(1, n + 1)],  # '001', with leading zeros
            "site": [["north", "south"][i % 2] for i in range(n)],
            "region": ["lumbar"] * n,
            "diagnosis": [diagnoses[i % 3] for i in range(n)],
            "age_years": np.round(rng.uniform(20, 85, n), 1),
            "sex": [sexes[i % 2] for i in range(n)],
            "bmi_kg_m2": [24.5, np.nan] + [27.0] * (n - 2),
            "smoking": ["never", "current"] + [np.nan] * (n - 2),
            "diabetes": [True, False] * (n // 2) + [False] * (n % 2),
            "asa_grade": [1 + i % 3 for i in range(n)],
            "symptom_duration_months": np.linspace(1, 30, n),
            "odi_lifting_0m": [i % 6 for i in range(n)],
            "nrs_back_0m": np.linspace(0, 10, n),
            "odi_0m": np.linspace(10, 60, n),
            "treatment": ["conservative", "tfesi", "surgery"] * (n // 3) + ["surgery"] * (n % 3),
            "img_l4_l5_canal_ap_mm": np.linspace(8, 16, n),
        }
    )


def problem_keys(report: ValidationReport) -> set[tuple[str, str, str]]:
    return set(
        zip(
            report.problems["column"],
            report.problems["check"],
            report.problems["severity"],
            strict=True,
        )
    )


def one(report: ValidationReport, column: str, check: str) -> dict:
    hit = report.problems[
        (report.problems["column"] == column) & (report.problems["check"] == check)
    ]
    assert len(hit) == 1, f"expected one {check} problem on {column}, got\n{report.summary()}"
    return hit.iloc[0].to_dict()


# --- a valid table ------------------------------------------------------------------------


def test_valid_cohort_has_no_problems():
    report = validate_cohort(make_valid_cohort())
    assert report.ok
    assert report.problems.empty
    assert list(report.problems.columns) == list(PROBLEM_COLUMNS)
    assert report.n_rows == 6
    assert "0 error(s), 0 warning(s)" in report.summary()
    assert report.raise_for_errors() is report


def test_contract_dtypes_from_coercion_are_valid_too():
    typed = coerce_to_contract(make_valid_cohort())
    assert validate_cohort(typed).ok


def test_pandas_extension_dtypes_are_accepted():
    df = make_valid_cohort()
    df["patient_id"] = df["patient_id"].astype("string")
    df["sex"] = pd.Categorical(df["sex"], categories=["female", "male"])
    df["asa_grade"] = pd.array([1, None, 2, 3, None, 1], dtype="Int64")
    df["diabetes"] = pd.array([True, None, False, True, False, None], dtype="boolean")
    assert validate_cohort(df).ok


def test_empty_table_with_required_columns_is_ok():
    df = make_valid_cohort().iloc[:0]
    report = validate_cohort(df)
    assert report.ok and report.n_rows == 0


# --- each check ---------------------------------------------------------------------------


def test_missing_required_columns_are_all_named():
    df = make_valid_cohort().drop(columns=["sex", "site"])
    report = validate_cohort(df)
    assert not report.ok
    assert problem_keys(report) == {
        ("site", "missing_column", "error"),
        ("sex", "missing_column", "error"),
    }
    p = one(report, "sex", "missing_column")
    assert p["rows"] == [] and p["n_rows"] == 6


def test_missing_and_blank_patient_id():
    df = make_valid_cohort()
    df["patient_id"] = df["patient_id"].astype(object)
    df.loc[1, "patient_id"] = np.nan
    df.loc[4, "patient_id"] = "   "
    p = one(validate_cohort(df), "patient_id", "missing_value")
    assert p["rows"] == [1, 4] and p["n_rows"] == 2 and p["severity"] == "error"


def test_duplicated_ids_name_every_row():
    df = make_valid_cohort()
    df.loc[[2, 5], "patient_id"] = "001"
    p = one(validate_cohort(df), "patient_id", "duplicate_id")
    assert p["rows"] == [0, 2, 5]
    assert p["values"] == ["001"]


def test_non_numeric_text_in_numeric_column_is_an_error_in_both_modes():
    df = make_valid_cohort()
    df["age_years"] = df["age_years"].astype(object)
    df.loc[3, "age_years"] = "forty"
    for mode in ("strict", "lenient"):
        p = one(validate_cohort(df, mode=mode), "age_years", "type")
        assert (p["rows"], p["values"], p["severity"]) == ([3], ["forty"], "error")
        assert p["expected"] == COHORT_CONTRACT["age_years"].expected()


def test_numeric_text_is_an_error_when_strict_and_a_warning_when_lenient():
    df = make_valid_cohort()
    df["age_years"] = df["age_years"].astype(object)
    df.loc[2, "age_years"] = "42"
    strict = validate_cohort(df, mode="strict")
    lenient = validate_cohort(df, mode="lenient")
    assert one(strict, "age_years", "coercible_type")["severity"] == "error"
    assert one(lenient, "age_years", "coercible_type")["severity"] == "warning"
    assert one(lenient, "age_years", "coercible_type")["values"] == ["42"]
    assert not strict.ok and lenient.ok


def test_numbers_beside_a_word_say_the_word_makes_them_text():
    """A CSV column with one word (``abc``) is read as text; its numbers are coercible, and
    the problem says they are text only because of the word (the ``type`` problem)."""
    df = make_valid_cohort()
    df["age_years"] = df["age_years"].astype(str).astype(object)
    alone = one(validate_cohort(df), "age_years", "coercible_type")["expected"]
    assert alone == COHORT_CONTRACT["age_years"].expected()
    df.loc[3, "age_years"] = "abc"
    p = one(validate_cohort(df), "age_years", "coercible_type")
    assert p["expected"] == COHORT_CONTRACT["age_years"].expected() + NUMBERS_AS_TEXT
    assert len(p["rows"]) == len(df) - 1
    assert "'type' problem" in NUMBERS_AS_TEXT


def test_a_trailing_delimiter_column_is_named_for_what_it_is(tmp_path):
    """Exports that end every line with a delimiter give a last column without a name or
    a value (``Unnamed: N``): the problem says where it comes from."""
    from prom.cohort.readers import read_table

    df = make_valid_cohort()
    lines = df.to_csv(index=False).splitlines()
    (tmp_path / "t.csv").write_text("\n".join(line + "," for line in lines) + "\n")
    table = read_table(tmp_path / "t.csv")
    name = f"Unnamed: {df.shape[1]}"
    p = one(validate_cohort(table), name, "unknown_column")
    assert p["expected"].endswith(
        "this column has no name in the header and no value in any row: the lines end "
        "with a delimiter (an export setting); remove the trailing delimiters"
    )
    table[name] = 1.0  # a column without a name that holds values is only unknown
    assert "trailing" not in one(validate_cohort(table), name, "unknown_column")["expected"]


def test_fraction_in_integer_column():
    df = make_valid_cohort()
    df["asa_grade"] = [1, 2.5, 3, 1, 2, 4.5]
    p = one(validate_cohort(df), "asa_grade", "not_integer")
    assert p["rows"] == [1, 5] and p["values"] == [2.5, 4.5]


def test_fraction_outside_range_is_reported_as_range_only():
    df = make_valid_cohort()
    df["asa_grade"] = [1, 7.5, 3, 1, 2, 4]
    report = validate_cohort(df)
    assert one(report, "asa_grade", "out_of_range")["rows"] == [1]
    assert "not_integer" not in set(report.problems["check"])


@pytest.mark.parametrize(
    "values",
    [
        [True, False, True, False, True, False],
        [1, 0, 1, 0, 1, 0],
        [1.0, 0.0, np.nan, 0.0, 1.0, 0.0],
        [True, np.nan, False, None, True, False],
    ],
)
def test_bool_column_accepts_0_1_true_false(values):
    df = make_valid_cohort()
    df["diabetes"] = pd.Series(values, dtype=object if None in values else None)
    assert validate_cohort(df).ok


def test_bool_column_rejects_other_numbers_and_text():
    df = make_valid_cohort()
    df["diabetes"] = pd.Series([1, 2, "maybe", 0, -1, 1], dtype=object)
    p = one(validate_cohort(df, mode="lenient"), "diabetes", "type")
    assert p["rows"] == [1, 2, 4] and p["severity"] == "error"
    assert set(p["values"]) == {2, -1, "maybe"}


@pytest.mark.parametrize("text", ["yes", "No", "TRUE", "false", "y", " 1 "])
def test_bool_text_is_coercible(text):
    df = make_valid_cohort()
    df["diabetes"] = df["diabetes"].astype(object)
    df.loc[0, "diabetes"] = text
    assert one(validate_cohort(df), "diabetes", "coercible_type")["severity"] == "error"
    assert (
        one(validate_cohort(df, mode="lenient"), "diabetes", "coercible_type")["severity"]
        == "warning"
    )


def test_true_false_in_numeric_column_is_a_type_error():
    df = make_valid_cohort()
    df["bmi_kg_m2"] = [True, False] * 3
    p = one(validate_cohort(df), "bmi_kg_m2", "type")
    assert p["n_rows"] == 6


def test_dates_in_numeric_column_are_a_type_error():
    df = make_valid_cohort()
    df["age_years"] = pd.to_datetime(["2020-01-01"] * 6)
    assert one(validate_cohort(df), "age_years", "type")["n_rows"] == 6


def test_values_out_of_range_low_and_high():
    df = make_valid_cohort()
    df["age_years"] = [-1.0, 50, 110, 0, 110.5, 30]  # the bounds themselves are allowed
    p = one(validate_cohort(df), "age_years", "out_of_range")
    assert p["rows"] == [0, 4] and p["values"] == [-1.0, 110.5]
    assert p["expected"] == "a number in 0–110 (years)"


def test_category_values_not_declared_with_suggestion():
    df = make_valid_cohort()
    df.loc[[0, 3], "sex"] = ["Male", "F"]
    p = one(validate_cohort(df), "sex", "category")
    assert p["rows"] == [0, 3]
    assert p["values"] == ["F", "Male"]
    assert p["expected"].startswith("one of female, male")
    assert "'male' for 'Male'" in p["expected"]


def test_category_close_spelling_is_suggested():
    df = make_valid_cohort()
    df.loc[1, "diagnosis"] = "disc herniation"
    df.loc[2, "diagnosis"] = "spinal_stenosys"
    p = one(validate_cohort(df), "diagnosis", "category")
    assert "'disc_herniation' for 'disc herniation'" in p["expected"]
    assert "'spinal_stenosis' for 'spinal_stenosys'" in p["expected"]


def test_numbers_in_a_category_column_are_category_errors():
    df = make_valid_cohort()
    df["smoking"] = [0, 1, 2, np.nan, 1, 0]
    p = one(validate_cohort(df), "smoking", "category")
    assert p["n_rows"] == 5 and p["values"] == [0.0, 1.0, 2.0]


def test_missing_values_in_non_nullable_columns():
    df = make_valid_cohort()
    df.loc[2, "sex"] = None
    df.loc[3, "age_years"] = np.nan
    df.loc[4, "site"] = ""
    report = validate_cohort(df)
    assert one(report, "sex", "missing_value")["rows"] == [2]
    assert one(report, "age_years", "missing_value")["rows"] == [3]
    assert one(report, "site", "missing_value")["rows"] == [4]
    # missing values in nullable columns are fine
    assert "bmi_kg_m2" not in set(report.problems["column"])


def test_numbers_in_text_column_are_coercible():
    df = make_valid_cohort()
    df["patient_id"] = [1, 2, 3, 4, 5, 6]
    assert one(validate_cohort(df), "patient_id", "coercible_type")["severity"] == "error"
    lenient = validate_cohort(df, mode="lenient")
    assert one(lenient, "patient_id", "coercible_type")["severity"] == "warning"
    assert lenient.ok


def test_objects_that_are_neither_text_nor_numbers():
    df = make_valid_cohort()
    df["patient_id"] = pd.Series([["a"], "b", True, "d", "e", "f"], dtype=object)
    df["age_years"] = pd.Series([[1], 30.0, 1 + 2j, 40.0, 50.0, 60.0], dtype=object)
    df["sex"] = pd.Series([["male"], "male", "female", "male", "female", "male"], dtype=object)
    report = validate_cohort(df, mode="lenient")
    assert one(report, "patient_id", "type")["rows"] == [0, 2]
    assert one(report, "age_years", "type")["rows"] == [0, 2]
    assert one(report, "sex", "category")["rows"] == [0]


def test_unknown_columns_strict_error_lenient_warning_with_suggestion():
    df = make_valid_cohort().assign(age_year=1, comment="x")
    strict = validate_cohort(df)
    assert {
        ("age_year", "unknown_column", "error"),
        ("comment", "unknown_column", "error"),
    } <= problem_keys(strict)
    assert "did you mean 'age_years'" in one(strict, "age_year", "unknown_column")["expected"]
    lenient = validate_cohort(df, mode="lenient")
    assert one(lenient, "comment", "unknown_column")["severity"] == "warning"
    assert lenient.ok


def test_extra_imaging_columns_are_accepted_when_numeric():
    df = make_valid_cohort().assign(img_l3_l4_glszm_zone_entropy=np.linspace(1, 2, 6))
    assert validate_cohort(df).ok
    df["img_l3_l4_note"] = ["a", "b", "c", "d", "e", "f"]
    p = one(validate_cohort(df, mode="lenient"), "img_l3_l4_note", "type")
    assert p["n_rows"] == 6 and p["severity"] == "error"


def test_prom_scoring_columns_are_accepted():
    df = make_valid_cohort().assign(
        odi_0m_reason=None,
        odi_0m_band="moderate",
        odi_version="2.1a",
        nrs_back_version="0-10",
    )
    assert validate_cohort(df).ok
    assert {"odi_0m_reason", "odi_0m_band", "odi_version", "mjoa_version"} <= scoring_columns(
        COHORT_CONTRACT
    )
    typo = validate_cohort(df.assign(odi_0m_reasons="x", odi_versions="1"))
    assert set(problem_keys(typo)) == {
        ("odi_0m_reasons", "unknown_column", "error"),
        ("odi_versions", "unknown_column", "error"),
    }


def test_duplicate_column_names():
    df = make_valid_cohort()
    df = pd.concat([df, df[["age_years"]]], axis=1)
    p = one(validate_cohort(df), "age_years", "duplicate_column")
    assert "2 columns named 'age_years'" in p["expected"]


def test_non_string_column_names_are_unknown_columns():
    df = make_valid_cohort()
    df[0] = 1.0
    assert one(validate_cohort(df), "0", "unknown_column")["severity"] == "error"


# --- all at once, and the report ----------------------------------------------------------


def messy_cohort() -> pd.DataFrame:
    df = make_valid_cohort().drop(columns=["region"]).astype({"age_years": object})
    df.loc[0, "patient_id"] = "002"  # duplicate of row 1
    df.loc[2, "age_years"] = "abc"  # type
    df.loc[3, "age_years"] = "42"  # coercible
    df.loc[4, "age_years"] = 130.0  # range
    df.loc[5, "sex"] = "Female"  # category
    df["asa_grade"] = [1, 2, 3.5, 1, 2, 3]  # not_integer
    df["odi_lifting_0m"] = [0, 1, 2, 6, 4, 5]  # range (form coded 1–6?)
    df["extra"] = 1  # unknown
    return df


MESSY_PROBLEMS = {
    ("patient_id", "duplicate_id"),
    ("region", "missing_column"),
    ("age_years", "type"),
    ("age_years", "coercible_type"),
    ("age_years", "out_of_range"),
    ("sex", "category"),
    ("asa_grade", "not_integer"),
    ("odi_lifting_0m", "out_of_range"),
    ("extra", "unknown_column"),
}


def test_every_problem_is_collected_at_once():
    report = validate_cohort(messy_cohort())
    assert (
        set(zip(report.problems["column"], report.problems["check"], strict=True)) == MESSY_PROBLEMS
    )
    assert len(report.errors) == len(MESSY_PROBLEMS) and report.warnings.empty
    lenient = validate_cohort(messy_cohort(), mode="lenient")
    assert set(zip(lenient.warnings["column"], lenient.warnings["check"], strict=True)) == {
        ("age_years", "coercible_type"),
        ("extra", "unknown_column"),
    }


def test_problems_are_in_contract_order():
    cols = validate_cohort(messy_cohort()).problems["column"].tolist()
    assert (
        cols.index("patient_id")
        < cols.index("region")
        < cols.index("age_years")
        < cols.index("extra")
    )


def test_raise_for_errors_lists_every_error_in_one_message():
    report = validate_cohort(messy_cohort())
    with pytest.raises(ContractError, match=r"9 error\(s\) in 6 row\(s\)") as info:
        report.raise_for_errors()
    msg = str(info.value)
    for column, _ in MESSY_PROBLEMS:
        assert f"column {column!r}" in msg
    assert "2 row(s) (rows 0, 1); values '002'" in msg
    assert "values 'abc'; expected a number in 0–110 (years)" in msg
    assert "'female' for 'Female'" in msg
    assert "(row 3); values 6; expected an integer in 0–5" in msg
    pd.testing.assert_frame_equal(info.value.problems, report.problems)


def test_raise_on_error_raises_and_warnings_do_not():
    with pytest.raises(ContractError, match="column 'region': required column is missing"):
        validate_cohort(messy_cohort(), raise_on_error=True)
    df = make_valid_cohort().assign(extra=1)
    report = validate_cohort(df, mode="lenient", raise_on_error=True)
    assert report.ok and len(report.warnings) == 1


def test_rows_and_values_are_truncated_but_counted():
    n = 60
    df = pd.concat([make_valid_cohort()] * 10, ignore_index=True)
    df["patient_id"] = [f"p{i}" for i in range(n)]
    df["age_years"] = np.arange(200.0, 200.0 + n)
    p = one(validate_cohort(df), "age_years", "out_of_range")
    assert p["n_rows"] == n
    assert p["rows"] == list(range(ROW_LIMIT))
    assert p["values"] == [200.0 + i for i in range(VALUE_LIMIT)]
    with pytest.raises(ContractError, match=r"rows 0, 1, 2, 3, 4, 5, 6, 7, … \(60 in all\)"):
        validate_cohort(df).raise_for_errors()


def test_rows_are_index_labels_not_positions():
    df = make_valid_cohort()
    df.index = [f"r{i}" for i in range(6)]
    df.loc["r2", "age_years"] = 500.0
    assert one(validate_cohort(df), "age_years", "out_of_range")["rows"] == ["r2"]


def test_summary_and_repr():
    report = validate_cohort(messy_cohort(), mode="lenient")
    text = report.summary()
    assert (
        text.splitlines()[0]
        == "cohort v1 contract, lenient mode: 6 row(s); 7 error(s), 2 warning(s)"
    )
    assert len(text.splitlines()) == 1 + 9
    assert "warning column 'extra'" in text
    assert (
        repr(report) == "ValidationReport(ok=False, n_rows=6, errors=7, warnings=2, mode='lenient')"
    )


# --- invariances --------------------------------------------------------------------------


def comparable(report: ValidationReport) -> list[tuple]:
    """Problems with row lists as sets (row order follows the table)."""
    return [
        (
            p["column"],
            p["check"],
            p["severity"],
            p["n_rows"],
            frozenset(p["rows"]),
            tuple(p["values"]),
            p["expected"],
        )
        for p in report.problems.to_dict("records")
    ]


def test_shuffled_rows_and_columns_give_the_same_problems():
    df = messy_cohort()
    rng = np.random.default_rng(3)
    shuffled = df.iloc[rng.permutation(len(df)), rng.permutation(df.shape[1])]
    assert comparable(validate_cohort(shuffled)) == comparable(validate_cohort(df))


@pytest.mark.parametrize("mode", ["strict", "lenient"])
def test_validation_does_not_mutate_the_input(mode):
    df = messy_cohort()
    df["site"] = [" north", "south ", "north", "", "south", "north"]
    before = copy.deepcopy(df)
    validate_cohort(df, mode=mode)
    pd.testing.assert_frame_equal(df, before)


def test_coercion_does_not_mutate_the_input():
    df = make_valid_cohort().astype({"age_years": object, "diabetes": object})
    df.loc[0, "age_years"] = "42"
    df.loc[1, "diabetes"] = "yes"
    before = copy.deepcopy(df)
    coerce_to_contract(df, mode="lenient")
    pd.testing.assert_frame_equal(df, before)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.one_of(st.floats(allow_nan=True, allow_infinity=True, width=64), st.none()),
        min_size=1,
        max_size=30,
    )
)
def test_range_check_counts_exactly_the_values_outside_the_bounds(ages):
    df = pd.DataFrame({"age_years": pd.Series(ages, dtype=float)})
    v = df["age_years"].to_numpy()
    with np.errstate(invalid="ignore"):
        expected = int(np.sum((v < 0) | (v > 110)))
    contract = Contract("mini", "1", (COHORT_CONTRACT["age_years"],))
    report = validate_cohort(df, contract)
    got = report.problems.loc[report.problems["check"] == "out_of_range", "n_rows"].sum()
    assert got == expected
    assert (
        report.problems.loc[report.problems["check"] == "missing_value", "n_rows"].sum()
        == np.isnan(v).sum()
    )


# --- a contract of one's own --------------------------------------------------------------


def test_custom_contract():
    contract = Contract(
        "mini",
        "2",
        (
            ColumnSpec("key", "string", "id", "key", nullable=False, required=True),
            ColumnSpec("score", "int", "score", "a score", low=0, high=3),
        ),
    )
    df = pd.DataFrame({"key": ["a", "b"], "score": [0, 4]})
    report = validate_cohort(df, contract)
    assert problem_keys(report) == {("score", "out_of_range", "error")}
    assert report.summary().startswith("mini v2 contract")


# --- coercion -----------------------------------------------------------------------------


def test_coerce_applies_contract_dtypes():
    df = make_valid_cohort().assign(extra_note="kept")
    out = coerce_to_contract(df, mode="lenient")
    assert out["asa_grade"].dtype == "Int64"
    assert out["odi_lifting_0m"].dtype == "Int64"
    assert out["diabetes"].dtype == "boolean"
    assert out["age_years"].dtype == "float64"
    assert isinstance(out["sex"].dtype, pd.CategoricalDtype)
    assert list(out["sex"].cat.categories) == ["female", "male"]
    assert list(out["smoking"].cat.categories) == ["never", "former", "current"]
    assert out["patient_id"].dtype == object and out["patient_id"].tolist()[0] == "001"
    assert out["img_l4_l5_canal_ap_mm"].dtype == "float64"
    assert out["extra_note"].tolist() == ["kept"] * 6
    assert list(out.columns) == list(df.columns)
    pd.testing.assert_index_equal(out.index, df.index)


def test_coerce_converts_coercible_values_in_lenient_mode():
    df = make_valid_cohort().astype({"age_years": object, "diabetes": object, "smoking": object})
    df.loc[0, "age_years"] = " 42 "
    df.loc[1, "diabetes"] = "yes"
    df.loc[2, "diabetes"] = "No"
    df.loc[3, "smoking"] = "  "  # blank text is missing
    df["patient_id"] = [7.0, 8.0, 9.0, 10.0, 11.0, 12.5]
    out = coerce_to_contract(df, mode="lenient")
    assert out.loc[0, "age_years"] == 42.0
    assert out["diabetes"].tolist()[:3] == [True, True, False]
    assert pd.isna(out.loc[3, "smoking"])
    assert out["patient_id"].tolist() == ["7", "8", "9", "10", "11", "12.5"]


def test_coerce_keeps_missing_values_missing():
    df = make_valid_cohort()
    df["asa_grade"] = [1, np.nan, 2, 3, np.nan, 1]
    df["diabetes"] = [True, np.nan, False, True, False, np.nan]
    out = coerce_to_contract(df)
    assert out["asa_grade"].isna().tolist() == [False, True, False, False, True, False]
    assert out["diabetes"].isna().tolist() == [False, True, False, False, False, True]


def test_coerce_raises_when_validation_fails():
    with pytest.raises(
        ContractError, match="column 'age_years': value\\(s\\) stored with the wrong type"
    ):
        coerce_to_contract(messy_cohort())
    df = make_valid_cohort().astype({"age_years": object})
    df.loc[0, "age_years"] = "42"
    with pytest.raises(ContractError, match="strict mode"):
        coerce_to_contract(df)


# --- wrong arguments ----------------------------------------------------------------------


def test_wrong_arguments():
    with pytest.raises(TypeError, match="expects a pandas DataFrame, got dict"):
        validate_cohort({"patient_id": ["a"]})
    with pytest.raises(ValueError, match="mode='loose'; expected 'strict' or 'lenient'"):
        validate_cohort(make_valid_cohort(), mode="loose")
    with pytest.raises(TypeError, match=r"contract must be a prom\.cohort\.contract\.Contract"):
        validate_cohort(make_valid_cohort(), contract={"patient_id": "string"})
