"""Readers (CSV, Parquet, DuckDB) and column mappings (prom.cohort.readers, .mapping).

Tables are small and made by hand; databases and files live in pytest's tmp_path.
"""

from __future__ import annotations

import copy
import textwrap
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest

from prom.cohort.contract import COHORT_CONTRACT
from prom.cohort.mapping import UNITS, ColumnMapping, ColumnRule, MappingLog
from prom.cohort.readers import SUPPORTED_SUFFIXES, TableReadError, read_cohort, read_table
from prom.cohort.validate import ValidationReport, validate_cohort
from prom.errors import MappingError, MissingColumnError

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "mappings" / "registry_example.yaml"


def make_cohort(n: int = 6) -> pd.DataFrame:
    """A valid cohort whose dtypes survive CSV, Parquet and DuckDB unchanged."""
    return pd.DataFrame(
        {
            "patient_id": [f"{i:03d}" for i in range(n)],  # '000', '001', …: leading zeros
            "site": ["007", "012"] * (n // 2),  # site codes that look numeric
            "region": ["lumbar"] * n,
            "age_years": np.linspace(30.5, 80.0, n),
            "sex": ["female", "male"] * (n // 2),
            "bmi_kg_m2": [22.0, np.nan, 31.5, 27.25, np.nan, 24.0][:n],
            "smoking": ["never", np.nan, "current", "former", "never", np.nan][:n],
            "diabetes": [True, False] * (n // 2),
            "asa_grade": [1, 2, 3, 1, 2, 3][:n],
            "odi_lifting_0m": [0, 1, 2, 3, 4, 5][:n],
            "img_l4_l5_canal_ap_mm": np.linspace(9.0, 14.0, n),
        }
    )


def registry_export(cohort: pd.DataFrame) -> pd.DataFrame:
    """The same patients as a registry would export them (see the example mapping)."""
    return pd.DataFrame(
        {
            "PatID": cohort["patient_id"],
            "Centre": cohort["site"],
            "Age": cohort["age_years"],
            "Gender": cohort["sex"].map({"male": "M", "female": "F"}),
            "Region": "L",
            "VAS_back_pre": [0, 25, 50, 75, 100, np.nan][: len(cohort)],
            "symptom_weeks": [52.1775, 4, 0, np.nan, 26.08875, 8][: len(cohort)],
            "ODI_Q3_pre": [1, 2, 3, 4, 5, 6][: len(cohort)],
            "BMI": cohort["bmi_kg_m2"],
            "ASA": cohort["asa_grade"],
            "Smoker": cohort["smoking"].map({"never": "0", "former": "1", "current": "2"}),
            "Diabetes": cohort["diabetes"].map({True: "yes", False: "no"}),
            "VAS_leg_pre": 50.0,
            "ODI_total_raw_12m": [10.0, 20.0, np.nan, 5.0, 0.0, 50.0][: len(cohort)],
            "InternalNote": "do not export",
            "Weight": 80.0,
        }
    )


def sort_frame(df: pd.DataFrame, like: pd.DataFrame) -> pd.DataFrame:
    return df[like.columns].sort_values("patient_id").reset_index(drop=True)


# --- readers: round trips -----------------------------------------------------------------


@pytest.mark.parametrize("name", ["cohort.csv", "cohort.csv.gz", "COHORT.CSV"])
def test_csv_round_trip(tmp_path, name):
    df = make_cohort()
    df.to_csv(tmp_path / name, index=False)
    got = read_table(tmp_path / name)
    # the rows are labelled by their lines in the file (the header is line 1)
    assert got.index.name == "line" and got.index.tolist() == list(range(2, len(df) + 2))
    pd.testing.assert_frame_equal(got.reset_index(drop=True), df)


def test_csv_keeps_leading_zeros_of_ids_and_missing_as_nan(tmp_path):
    path = tmp_path / "ids.csv"
    path.write_text(
        "patient_id,site,region,sex,age_years,smoking\n"
        "007,01,lumbar,male,40,\n010,02,lumbar,female,50,never\n"
    )
    df = read_table(path)
    assert df["patient_id"].tolist() == ["007", "010"]
    assert df["site"].tolist() == ["01", "02"]
    assert df["age_years"].dtype == "int64"
    assert np.isnan(df.loc[2, "smoking"])  # line 2
    assert validate_cohort(df).ok


def test_csv_text_columns_can_be_named(tmp_path):
    path = tmp_path / "reg.csv"
    path.write_text("PatID,Age\n007,40\n")
    assert read_table(path)["PatID"].tolist() == [7]
    assert read_table(path, text_columns=["PatID"])["PatID"].tolist() == ["007"]


def test_parquet_file_round_trip(tmp_path):
    df = make_cohort()
    df.to_parquet(tmp_path / "cohort.parquet")
    pd.testing.assert_frame_equal(read_table(tmp_path / "cohort.parquet"), df)


def test_parquet_folder_of_parts_round_trip(tmp_path):
    df = make_cohort()
    folder = tmp_path / "parts"
    folder.mkdir()
    df.iloc[:4].to_parquet(folder / "part-0.parquet", index=False)
    df.iloc[4:].to_parquet(folder / "part-1.parquet", index=False)
    pd.testing.assert_frame_equal(read_table(folder), df)


def test_hive_partitioned_parquet_round_trip_keeps_partition_values_as_text(tmp_path):
    df = make_cohort()
    df.to_parquet(tmp_path / "by_site", partition_cols=["site"], index=False)
    assert sorted(p.name for p in (tmp_path / "by_site").iterdir()) == ["site=007", "site=012"]
    back = read_table(tmp_path / "by_site")
    assert back["site"].dtype == object
    pd.testing.assert_frame_equal(sort_frame(back, df), df)


def write_duckdb(path: Path, tables: dict[str, pd.DataFrame]) -> None:
    con = duckdb.connect(str(path))
    try:
        for i, (name, frame) in enumerate(tables.items()):
            con.register(f"frame_{i}", frame)
            quoted = '"' + name.replace('"', '""') + '"'
            con.execute(f"CREATE TABLE {quoted} AS SELECT * FROM frame_{i}")
            con.unregister(f"frame_{i}")
    finally:
        con.close()


@pytest.mark.parametrize("suffix", [".duckdb", ".db"])
def test_duckdb_round_trip(tmp_path, suffix):
    df = make_cohort()
    path = tmp_path / f"registry{suffix}"
    write_duckdb(path, {"cohort": df, "other": df.head(2)})
    pd.testing.assert_frame_equal(read_table(path, table="cohort"), df)


def test_duckdb_reads_read_only_and_quotes_identifiers(tmp_path):
    df = make_cohort()
    path = tmp_path / "odd.duckdb"
    write_duckdb(path, {'my "odd" table': df.rename(columns={"age_years": "age years"})})
    before = path.read_bytes()
    back = read_table(path, table='my "odd" table', columns=["patient_id", "age years"])
    assert back.columns.tolist() == ["patient_id", "age years"]
    assert back["patient_id"].tolist() == df["patient_id"].tolist()
    assert path.read_bytes() == before
    # a single table may be read without naming it
    assert len(read_table(path)) == len(df)


def test_duckdb_refuses_a_table_that_does_not_exist(tmp_path):
    path = tmp_path / "registry.duckdb"
    write_duckdb(path, {"cohort": make_cohort(), "visits": make_cohort(2)})
    with pytest.raises(
        TableReadError,
        match=r"has no table 'cohort; DROP TABLE cohort'; its tables are 'cohort', 'visits'",
    ):
        read_table(path, table="cohort; DROP TABLE cohort")
    with pytest.raises(
        TableReadError, match="holds 2 tables; choose one with table=: 'cohort', 'visits'"
    ):
        read_table(path)
    assert len(read_table(path, table="cohort")) == 6  # still there


def test_duckdb_without_tables_and_corrupt_files(tmp_path):
    empty_db = tmp_path / "empty.duckdb"
    duckdb.connect(str(empty_db)).close()
    with pytest.raises(TableReadError, match="holds no tables"):
        read_table(empty_db)
    junk = tmp_path / "junk.db"
    junk.write_text("not a database")
    with pytest.raises(TableReadError, match=r"cannot open 'junk\.db' as a DuckDB database"):
        read_table(junk, table="x")


@pytest.mark.parametrize("fmt", ["csv", "parquet", "duckdb"])
def test_columns_selects_and_orders_and_names_missing_ones(tmp_path, fmt):
    df = make_cohort()
    path = tmp_path / f"t.{fmt}"
    if fmt == "csv":
        df.to_csv(path, index=False)
    elif fmt == "parquet":
        df.to_parquet(path, index=False)
    else:
        write_duckdb(path, {"cohort": df})
    got = read_table(path, columns=["sex", "patient_id"])
    if fmt == "csv":  # labelled by its lines
        got = got.reset_index(drop=True)
    pd.testing.assert_frame_equal(got, df[["sex", "patient_id"]])
    with pytest.raises(
        MissingColumnError, match="no column\\(s\\) 'weight_kg'; its columns are 'patient_id'"
    ):
        read_table(path, columns=["patient_id", "weight_kg"])


# --- readers: errors ----------------------------------------------------------------------


def test_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"no file or folder at .*nowhere\.csv"):
        read_table(tmp_path / "nowhere.csv")


def test_unknown_extension_lists_the_supported_ones(tmp_path):
    path = tmp_path / "cohort.xlsx"
    path.write_bytes(b"PK")
    with pytest.raises(
        TableReadError,
        match=r"unsupported file type; supported are \.csv, \.csv\.gz, \.tsv, \.tsv\.gz, \.parquet",
    ):
        read_table(path)
    assert ".duckdb" in SUPPORTED_SUFFIXES


@pytest.mark.parametrize("name", ["empty.csv", "empty.parquet", "empty.duckdb"])
def test_empty_files(tmp_path, name):
    (tmp_path / name).write_bytes(b"")
    with pytest.raises(TableReadError, match=r"is empty \(0 bytes\)"):
        read_table(tmp_path / name)


def test_empty_gzip_csv_and_folder_without_parquet(tmp_path):
    import gzip

    with gzip.open(tmp_path / "empty.csv.gz", "wb"):
        pass
    with pytest.raises(TableReadError, match="is empty: no header line"):
        read_table(tmp_path / "empty.csv.gz")
    (tmp_path / "folder").mkdir()
    (tmp_path / "folder" / "notes.txt").write_text("x")
    with pytest.raises(TableReadError, match=r"holds no \.parquet files"):
        read_table(tmp_path / "folder")


def test_corrupt_parquet(tmp_path):
    (tmp_path / "bad.parquet").write_text("this is not parquet")
    with pytest.raises(TableReadError, match=r"cannot read 'bad\.parquet' as Parquet"):
        read_table(tmp_path / "bad.parquet")


def test_table_argument_only_for_databases(tmp_path):
    make_cohort().to_csv(tmp_path / "c.csv", index=False)
    with pytest.raises(TableReadError, match="table='cohort' applies to DuckDB databases only"):
        read_table(tmp_path / "c.csv", table="cohort")
    with pytest.raises(TypeError, match="columns must be a list of column names"):
        read_table(tmp_path / "c.csv", columns="patient_id")


# --- read_cohort --------------------------------------------------------------------------


def test_read_cohort_validates_and_returns_the_report(tmp_path):
    df = make_cohort()
    df.loc[2, "age_years"] = 150.0
    df.to_csv(tmp_path / "c.csv", index=False)
    got, report = read_cohort(tmp_path / "c.csv")
    assert isinstance(report, ValidationReport) and not report.ok  # returned, not raised
    assert report.problems[["column", "check"]].values.tolist() == [["age_years", "out_of_range"]]
    assert report.problems["rows"].tolist() == [[4]] and report.row_noun == "line"
    pd.testing.assert_frame_equal(got.reset_index(drop=True), df)


def test_read_cohort_with_the_example_mapping_keeps_leading_zeros(tmp_path):
    cohort = make_cohort()
    registry_export(cohort).to_csv(tmp_path / "export.csv", index=False)
    df, report = read_cohort(tmp_path / "export.csv", mapping=EXAMPLE)
    assert report.ok, report.summary()
    assert df["patient_id"].tolist() == cohort["patient_id"].tolist()
    assert df["site"].tolist() == cohort["site"].tolist()
    assert isinstance(report.mapping_log, MappingLog)
    assert "registry_example.yaml:" in report.summary()


def test_read_cohort_from_duckdb_with_a_dict_mapping(tmp_path):
    cohort = make_cohort()
    path = tmp_path / "r.duckdb"
    write_duckdb(path, {"export": cohort.rename(columns={"age_years": "Age"})})
    df, report = read_cohort(
        path, table="export", mapping={"version": 1, "columns": {"Age": "age_years"}}
    )
    assert report.ok
    pd.testing.assert_frame_equal(df, cohort)
    with pytest.raises(TypeError, match="mapping must be a ColumnMapping"):
        read_cohort(path, table="export", mapping=42)


# --- mapping: the example file and its operations -----------------------------------------


def test_example_mapping_applies_as_documented():
    mapping = ColumnMapping.from_yaml(EXAMPLE)
    cohort = make_cohort()
    export = registry_export(cohort).assign(
        Smoker=["0", "1", "2", np.nan, "0", "9"], Diabetes=["yes", "no", "no", np.nan, "yes", "no"]
    )
    out, log = mapping.apply(export)
    assert out["nrs_back_0m"].tolist()[:5] == pytest.approx([0.0, 2.5, 5.0, 7.5, 10.0])
    assert np.isnan(out["nrs_back_0m"].iloc[5])
    assert out["symptom_duration_months"].tolist()[:3] == pytest.approx(
        [12.0, 4 * 12 / 52.1775, 0.0]
    )
    assert out["symptom_duration_months"].iloc[4] == pytest.approx(6.0)
    assert out["odi_lifting_0m"].tolist() == [0, 1, 2, 3, 4, 5]
    assert out["odi_lifting_0m"].dtype == "int64"  # a whole offset on whole numbers stays whole
    assert out["odi_12m"].tolist()[:2] == [20.0, 40.0] and out["odi_12m"].tolist()[3:] == [
        10.0,
        0.0,
        100.0,
    ]
    assert out["sex"].tolist() == cohort["sex"].tolist()
    assert out["smoking"].tolist()[:3] == ["never", "former", "current"]
    assert out["smoking"].iloc[5] == "9"  # not in the values map: left as it is
    assert out["diabetes"].tolist()[:3] == [True, False, False]
    assert "InternalNote" not in out and "Weight" not in out
    steps = log.to_frame()
    assert set(steps["action"]) == {"rename", "recode", "convert", "offset", "drop"}
    convert = steps[(steps["action"] == "convert") & (steps["source"] == "VAS_back_pre")].iloc[0]
    assert "multiplied by 0.1" in convert["detail"] and convert["n_values"] == 5
    recode = steps[(steps["source"] == "Gender") & (steps["action"] == "recode")]
    assert recode["n_values"].tolist() == [3, 3]
    left = steps[(steps["source"] == "Smoker") & steps["detail"].str.contains("left as they are")]
    assert left["n_values"].tolist() == [1]
    assert steps.loc[steps["action"] == "drop", "source"].tolist() == ["InternalNote", "Weight"]
    report = validate_cohort(out)
    assert report.problems[["column", "check"]].values.tolist() == [["smoking", "category"]]


@pytest.mark.parametrize(
    "unit,target,value,expected",
    [
        ("vas_0_100", "nrs_leg_0m", 73.0, 7.3),
        ("weeks", "symptom_duration_months", 52.1775, 12.0),
        ("years", "symptom_duration_months", 2.5, 30.0),
        ("days", "time_to_surgery_months", 365.25, 12.0),
    ],
)
def test_unit_conversions(unit, target, value, expected):
    mapping = ColumnMapping.from_dict(
        {"version": 1, "columns": {"x": {"to": target, "unit": unit}}}
    )
    out, log = mapping.apply(pd.DataFrame({"x": [value, np.nan]}))
    assert out[target].iloc[0] == pytest.approx(expected, rel=1e-12)
    assert np.isnan(out[target].iloc[1])
    step = log.to_frame().query("action == 'convert'").iloc[0]
    assert step["n_values"] == 1 and f"{UNITS[unit].factor:.6g}" in step["detail"]


def test_scale_then_offset_and_values_first():
    mapping = ColumnMapping.from_dict(
        {
            "version": 1,
            "columns": {
                "score": {"to": "odi_0m", "values": {-9: None}, "scale": 2, "offset": 1},
            },
        }
    )
    out, log = mapping.apply(pd.DataFrame({"score": [0, 10, -9, 49]}))
    assert out["odi_0m"].tolist()[:2] == [1.0, 21.0]
    assert np.isnan(out["odi_0m"].iloc[2]) and out["odi_0m"].iloc[3] == 99.0
    steps = log.to_frame()
    assert steps["action"].tolist() == ["rename", "recode", "recode", "convert", "offset"]
    assert steps["n_values"].tolist()[1:] == [1, 3, 3, 3]  # -9 recoded; 3 left; 3 converted


def test_numeric_codes_match_their_text():
    mapping = ColumnMapping.from_dict(
        {"version": 1, "columns": {"sx": {"to": "sex", "values": {1: "male", 2: "female"}}}}
    )
    for values in ([1, 2, 1], ["1", "2", "1"]):
        out, _ = mapping.apply(pd.DataFrame({"sx": values}))
        assert out["sex"].tolist() == ["male", "female", "male"]


def test_columns_with_contract_names_pass_through_and_unmapped_can_be_kept():
    df = pd.DataFrame({"patient_id": ["a"], "Age": [50], "note": ["x"]})
    mapping = ColumnMapping.from_dict(
        {"version": 1, "columns": {"Age": "age_years"}, "keep_unmapped": True}
    )
    out, log = mapping.apply(df)
    assert out.columns.tolist() == ["patient_id", "age_years", "note"]
    keep = log.to_frame().query("action == 'keep'")
    assert keep["detail"].tolist() == [
        "kept unchanged (its name is a contract column)",
        "kept unchanged (keep_unmapped is true)",
    ]


def test_mapping_keeps_the_index_even_with_repeated_labels():
    df = pd.DataFrame({"Age": [40, 50]}, index=["r1", "r1"])
    out, _ = ColumnMapping.from_dict({"version": 1, "columns": {"Age": "age_years"}}).apply(df)
    pd.testing.assert_index_equal(out.index, df.index)
    assert out["age_years"].tolist() == [40, 50]


# --- mapping: invariances -----------------------------------------------------------------


def test_apply_does_not_mutate_the_input():
    export = registry_export(make_cohort())
    before = copy.deepcopy(export)
    out, _ = ColumnMapping.from_yaml(EXAMPLE).apply(export)
    pd.testing.assert_frame_equal(export, before)
    out.iloc[0, 0] = "changed"  # the result shares no memory with the input
    pd.testing.assert_frame_equal(export, before)


def test_renamed_columns_validate_the_same_as_the_original():
    df = make_cohort().astype({"age_years": object})
    df.loc[1, "age_years"] = "old"
    df.loc[2, "sex"] = "Male"
    df.loc[3, "odi_lifting_0m"] = 9
    df.loc[4, "patient_id"] = "000"
    renamed = df.rename(columns=lambda c: f"REG_{c.upper()}")
    mapping = ColumnMapping.from_dict(
        {"version": 1, "columns": {f"REG_{c.upper()}": c for c in df.columns}}
    )
    mapped, _ = mapping.apply(renamed)
    original, via_mapping = validate_cohort(df), validate_cohort(mapped)
    assert not original.ok
    pd.testing.assert_frame_equal(via_mapping.problems, original.problems)


# --- mapping: errors ----------------------------------------------------------------------


def base(**columns) -> dict:
    return {"version": 1, "columns": columns}


@pytest.mark.parametrize(
    "spec,match",
    [
        (
            base(a="patient_id", b="patient_id"),
            "columns 'a' and 'b' are both mapped to 'patient_id'",
        ),
        (
            base(a="age"),
            r"target 'age' is not a column of the cohort contract \(did you mean 'age_years'\?\)",
        ),
        (
            base(a="ward"),  # a model's own predictor: read by its name, not mapped
            r"target 'ward' is not a column .* rename 'a' to 'ward' in the export",
        ),
        (
            base(a={"to": "age_years", "unit": "decades"}),
            "unknown unit 'decades'; known units are vas_0_100, weeks, years, days",
        ),
        (
            base(a={"to": "age_years", "unit": "weeks"}),
            "unit 'weeks' converts to months, but 'age_years' is in years",
        ),
        (
            base(a={"to": "odi_0m", "unit": "vas_0_100"}),
            "unit 'vas_0_100' converts onto a 0–10 scale, but 'odi_0m' expects",
        ),
        (
            base(a={"to": "img_l4_l5_x", "unit": "days"}),
            "unit 'days' needs a declared target; use 'scale:'",
        ),
        (
            base(a={"to": "nrs_back_0m", "unit": "vas_0_100", "scale": 0.1}),
            "give either 'unit' or 'scale', not both",
        ),
        (
            base(a={"to": "sex", "offset": 1}),
            "unit/scale/offset need a numeric target, but 'sex' is category",
        ),
        (
            base(a={"to": "age_years", "sclae": 2}),
            r"columns.a: unknown key\(s\) 'sclae'; expected to, values, unit, scale, offset \(did you mean 'scale'\?\)",
        ),
        (base(a={"unit": "weeks"}), "columns.a: 'to' \\(the target column\\) is required"),
        (base(a={"to": "age_years", "scale": "2"}), "'scale' must be a finite number, got '2'"),
        (base(a={"to": "age_years", "offset": True}), "'offset' must be a finite number, got True"),
        (base(a={"to": "age_years", "scale": 0}), "'scale' is 0"),
        (
            base(a={"to": "sex", "values": ["M", "F"]}),
            "'values' must be a non-empty mapping of old: new",
        ),
        (
            base(a={"to": "sex", "values": {"M": "Male"}}),
            "values maps 'M' to 'Male', which 'sex' does not allow; expected one of female, male or null",
        ),
        (
            base(a={"to": "diabetes", "values": {"Y": "yes"}}),
            "values maps 'Y' to 'yes', which 'diabetes' does not allow",
        ),
        (
            base(a={"to": "age_years", "values": {"unknown": "n/a"}}),
            "values maps 'unknown' to 'n/a'",
        ),
        (base(a={"to": "sex", "values": {None: "male"}}), "'values' has a null key"),
        (
            base(a=["patient_id"]),
            "columns.a: expected a target name or a mapping with keys to, values",
        ),
        ({"version": 1, "columns": {1: "patient_id"}}, "column name 1 is not text; quote it"),
        (
            {"version": 1, "columns": ["a"]},
            "'columns' must be a mapping of source column to target, got list",
        ),
        ({"columns": {}}, "missing key 'version'; add 'version: 1'"),
        ({"version": 2, "columns": {}}, "version 2 is not supported; expected 1"),
        ({"version": 1}, "missing key 'columns'"),
        (
            {"version": 1, "columns": {}, "colums": {}},
            r"unknown top-level key\(s\) 'colums'.*\(did you mean 'columns'\?\)",
        ),
        (
            {"version": 1, "columns": {}, "drop": "Note"},
            "'drop' must be a list of column names, got 'Note'",
        ),
        ({"version": 1, "columns": {}, "drop": ["a", "a"]}, "'drop' lists 'a' more than once"),
        (
            {"version": 1, "columns": {}, "keep_unmapped": "yes"},
            "'keep_unmapped' must be true or false, got 'yes'",
        ),
        (
            {"version": 1, "columns": {"a": "age_years"}, "drop": ["a"]},
            "'a' are both mapped and listed under drop",
        ),
        ({"version": 1, "columns": {}, "description": 3}, "'description' must be text"),
        (None, "the mapping is empty"),
        (["a"], "must be a YAML mapping"),
    ],
)
def test_malformed_mappings_are_refused(spec, match):
    with pytest.raises(MappingError, match=match):
        ColumnMapping.from_dict(spec, origin="m.yaml")


def test_mapping_onto_a_new_imaging_feature_is_allowed():
    m = ColumnMapping.from_dict(base(a={"to": "img_l4_l5_glszm_entropy", "scale": 1.0}))
    assert m.targets == {"a": "img_l4_l5_glszm_entropy"}


def test_direct_construction_is_checked_too():
    with pytest.raises(MappingError, match="column 'a' is mapped twice"):
        ColumnMapping((ColumnRule("a", "age_years"), ColumnRule("a", "site")))


def write_yaml(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "m.yaml"
    path.write_text(textwrap.dedent(text))
    return path


def test_yaml_errors_name_the_line(tmp_path):
    with pytest.raises(MappingError, match=r"m\.yaml: not valid YAML at line 3"):
        ColumnMapping.from_yaml(write_yaml(tmp_path, "version: 1\ncolumns:\n  a: b: c\n"))
    with pytest.raises(MappingError, match=r"key 'Age' appears twice \(lines 3 and 4\)"):
        ColumnMapping.from_yaml(
            write_yaml(tmp_path, "version: 1\ncolumns:\n  Age: age_years\n  Age: bmi_kg_m2\n")
        )
    with pytest.raises(MappingError, match=r"m\.yaml: the mapping is empty"):
        ColumnMapping.from_yaml(write_yaml(tmp_path, "# nothing\n"))
    with pytest.raises(FileNotFoundError, match=r"mapping file .*none\.yaml' does not exist"):
        ColumnMapping.from_yaml(tmp_path / "none.yaml")
    with pytest.raises(
        MappingError,
        match=r"line 2, column 1: .*'\\t'.* \(YAML indents with spaces: replace the tab\)",
    ):
        ColumnMapping.from_yaml(write_yaml(tmp_path, "columns:\n\tage: age_years\n"))
    (tmp_path / "w.yaml").write_bytes(
        "version: 1\ncolumns:\n  \u00e2ge: age_years\n".encode("cp1252")
    )
    with pytest.raises(
        MappingError,
        match=r"^w\.yaml line 3: byte 0xe2 is not valid UTF-8; save the mapping file as UTF-8$",
    ):
        ColumnMapping.from_yaml(tmp_path / "w.yaml")


def test_yaml_is_loaded_safely(tmp_path):
    text = "version: 1\ncolumns: !!python/object/apply:os.system ['echo unsafe']\n"
    with pytest.raises(MappingError, match="not valid YAML"):
        ColumnMapping.from_yaml(write_yaml(tmp_path, text))


def test_yaml_bool_keys_are_documented_pitfall(tmp_path):
    # unquoted yes/no become True/False keys, which then do not match the text 'yes'
    path = write_yaml(
        tmp_path, "version: 1\ncolumns:\n  d: {to: diabetes, values: {yes: true, no: false}}\n"
    )
    out, log = ColumnMapping.from_yaml(path).apply(pd.DataFrame({"d": ["yes", "no"]}))
    assert out["diabetes"].tolist() == ["yes", "no"]
    assert log.to_frame().query("action == 'recode'")["n_values"].tolist() == [0, 0, 2]


def test_apply_errors():
    mapping = ColumnMapping.from_dict(
        {"version": 1, "columns": {"Age": "age_years", "Gender": "sex"}, "drop": ["Note"]},
        origin="m.yaml",
    )
    with pytest.raises(
        MappingError,
        match=r"mapped column\(s\) not in the table: 'Age' \(did you mean 'age'\?\); 'Gender'",
    ):
        mapping.apply(pd.DataFrame({"age": [1], "Note": ["x"]}))
    with pytest.raises(MappingError, match=r"under drop not in the table: 'Note'"):
        mapping.apply(pd.DataFrame({"Age": [1], "Gender": ["male"]}))
    with pytest.raises(
        MappingError,
        match=r"1 column\(s\) are neither mapped nor dropped: 'Weight'; .*keep_unmapped: true",
    ):
        mapping.apply(pd.DataFrame({"Age": [1], "Gender": ["male"], "Note": ["x"], "Weight": [70]}))
    with pytest.raises(
        MappingError, match="'Gender' is mapped to 'sex', but the table already has a column 'sex'"
    ):
        mapping.apply(pd.DataFrame({"Age": [1], "Gender": ["m"], "Note": ["x"], "sex": ["male"]}))
    with pytest.raises(MappingError, match=r"duplicate column name\(s\) 'Age'"):
        mapping.apply(pd.DataFrame([[1, 2, "m", "x"]], columns=["Age", "Age", "Gender", "Note"]))
    with pytest.raises(TypeError, match="expects a pandas DataFrame, got list"):
        mapping.apply([1, 2])


def test_text_that_cannot_be_converted_is_named():
    mapping = ColumnMapping.from_dict(
        base(VAS={"to": "nrs_back_0m", "unit": "vas_0_100"}), origin="m.yaml"
    )
    df = pd.DataFrame({"VAS": ["50", "n/a", None, "70", "unknown"]})
    with pytest.raises(
        MappingError,
        match=r"columns.VAS -> nrs_back_0m: 2 value\(s\) are not numbers \(rows 1, 4; values 'n/a', 'unknown'\)",
    ):
        mapping.apply(df)
    ok = ColumnMapping.from_dict(
        base(
            VAS={"to": "nrs_back_0m", "unit": "vas_0_100", "values": {"n/a": None, "unknown": None}}
        )
    )
    out, _ = ok.apply(df)
    assert out["nrs_back_0m"].tolist()[0] == 5.0 and out["nrs_back_0m"].isna().sum() == 3


def test_text_sources_are_read_as_text():
    m = ColumnMapping.from_yaml(EXAMPLE)
    assert {"PatID", "Centre", "Gender", "Region", "Smoker"} == set(m.text_sources())
    assert all(r.target in COHORT_CONTRACT for r in m.rules)
