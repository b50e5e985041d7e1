"""No silent drops in fitting: named predictors are checked, every exclusion is recorded,
and a user's outcome below the minimum sample size is refused unless overridden.

Small tables counted by hand for the checks themselves; two small fits through
``prom fit`` for the bundle and the report (logistic and elastic net, 3 folds, no
bootstrap optimism).
"""

from __future__ import annotations

import copy
import json
import re

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from prom.bundle import BundleError, ClassifierTaskEntry, load_bundle
from prom.bundle.manifest import task_entry_from_dict
from prom.calculator import DEMO_BUNDLE_PATH
from prom.cli import app
from prom.cohort import simulate_cohort
from prom.errors import MissingColumnError
from prom.instruments import add_scores
from prom.outcomes import ExcludedPredictor, PredictorError, prepare_task_data, screen_predictors
from prom.workflows import FitSettings, fit_task
from prom.workflows.fit_checks import SampleSizeError, minimum_sample_size

runner = CliRunner()
pytestmark = pytest.mark.filterwarnings("ignore::prom.errors.StatisticalWarning")

FAST = ["--models", "logistic,elastic_net", "--folds", "3", "--n-iter", "1", "--boot", "20"]
FAST += ["--optimism-boot", "0", "--jobs", "1"]
FAST += ["--site-column", "none"]  # no such column: no leave-one-site-out validation (faster)


def flat(text: str) -> str:
    """Terminal output with line wrapping undone (rich wraps at the console width)."""
    return " ".join(text.split())


def table() -> pd.DataFrame:
    """Six labelled rows and two without a label, with one predictor of every kind."""
    return pd.DataFrame(
        {
            "y": [1, 0, 1, 0, 1, 0, np.nan, np.nan],
            "age": [50, 61, 42, 70, 55, 38, 44, 90],
            "age_again": [50, 61, 42, 70, 55, 38, 1, 2],  # = age in the labelled rows
            "bmi": [np.nan] * 6 + [25.0, 30.0],  # missing in every labelled row
            "sex": ["f", "f", "f", "f", np.nan, "f", "m", "m"],  # one value where recorded
            "region": ["lumbar"] * 8,  # constant
            "smoking": ["no", "yes", "no", "no", "yes", "no", "no", "no"],
        }
    )


LABELLED = table()["y"].notna().to_numpy()


def test_usable_named_predictors_pass_in_their_order():
    usable, excluded = screen_predictors(table(), LABELLED, ["smoking", "age"], named=True)
    assert usable == ["smoking", "age"] and excluded == ()


@pytest.mark.parametrize(
    ("names", "message"),
    [
        (["age", "bmi"], r"predictor 'bmi' is missing in all 6 labelled rows; remove it from "),
        (["age", "region"], r"predictor 'region' is constant: one value \('lumbar'\) in all 6 "),
        (
            ["age", "sex"],
            (
                r"predictor 'sex' is constant: one value \('f'\) in the 5 labelled rows where "
                r"it is recorded \(1 missing\)"
            ),
        ),
        (["age", "age"], r"predictor 'age' is named more than once; remove it"),
        (["age", "age_again"], r"predictor 'age_again' is identical to 'age' in all 6 labelled"),
    ],
)
def test_an_unusable_named_predictor_is_an_error_naming_it_and_why(names, message):
    with pytest.raises(PredictorError, match=message) as err:
        screen_predictors(table(), LABELLED, names, named=True, task_name="y")
    assert str(err.value).startswith("task y: ")
    assert str(err.value).endswith(
        "or pass --drop-unusable (drop_unusable=True) to record its exclusion"
    )


def test_every_unusable_named_predictor_is_reported_at_once():
    with pytest.raises(PredictorError) as err:
        screen_predictors(table(), LABELLED, ["bmi", "age", "region", "age_again"], named=True)
    msg = str(err.value)
    assert all(f"predictor '{c}' is" in msg for c in ("bmi", "region", "age_again"))
    assert msg.endswith(
        "remove them from --predictors (predictors=) or pass --drop-unusable "
        "(drop_unusable=True) to record their exclusion"
    )


def test_drop_unusable_records_every_exclusion_with_its_reason():
    names = ["age", "bmi", "sex", "region", "age_again", "age", "smoking"]
    usable, excluded = screen_predictors(table(), LABELLED, names, named=True, drop_unusable=True)
    assert usable == ["age", "smoking"]
    assert excluded == (
        ExcludedPredictor("age", "named more than once; used once"),
        ExcludedPredictor("bmi", "missing in all 6 labelled rows"),
        ExcludedPredictor(
            "sex",
            "constant: one value ('f') in the 5 labelled rows where it is recorded (1 missing)",
        ),
        ExcludedPredictor("region", "constant: one value ('lumbar') in all 6 labelled rows"),
        ExcludedPredictor("age_again", "identical to 'age' in all 6 labelled rows"),
    )


def test_dates_and_identifiers_are_not_categories():
    """A visit date or a record number named as a predictor used to become one dummy
    column per value (198 design columns and 150 separation lines for 310 rows)."""
    n = 60
    rng = np.random.default_rng(0)
    df = pd.DataFrame(
        {
            "y": rng.integers(0, 2, n),
            "visit": [
                f"2024-{m:02d}-{d:02d}"
                for m, d in zip(rng.integers(1, 13, n), rng.integers(1, 29, n), strict=True)
            ],
            "visit_eu": [
                f"{d:02d}.{m:02d}.2024"
                for m, d in zip(rng.integers(1, 13, n), rng.integers(1, 29, n), strict=True)
            ],
            "record": [f"R{i:04d}" for i in range(n)],
            "surgeon": rng.choice([f"S{i}" for i in range(25)], n),  # a category: 25 values
            "code": [str(i) for i in range(n)],  # numbers kept as text: not judged here
        }
    )
    rows = np.ones(n, dtype=bool)
    cols = ["visit", "visit_eu", "record", "surgeon", "code"]
    usable, excluded = screen_predictors(df, rows, cols, named=True, drop_unusable=True)
    assert usable == ["surgeon", "code"]
    reasons = {e.name: e.reason for e in excluded}
    assert reasons["visit"].startswith("a date (")
    assert "derive a number from it (days from an index date, a year)" in reasons["visit"]
    assert reasons["visit_eu"].startswith("a date (")
    assert reasons["record"] == (
        "text with 60 distinct values in 60 recorded rows ('R0000', 'R0001', 'R0002', …): "
        "an identifier or free text, not a category; recode it into a few categories"
    )
    with pytest.raises(PredictorError, match=r"predictor 'record' is text with 60 distinct"):
        screen_predictors(df, rows, ["surgeon", "record"], named=True)


def test_a_named_predictor_not_in_the_table_is_an_error_with_a_close_match():
    with pytest.raises(MissingColumnError, match=r"'smokng' \(did you mean 'smoking'\?\)"):
        screen_predictors(table(), LABELLED, ["age", "smokng"], named=True, drop_unusable=True)


def test_default_candidates_all_missing_or_absent_are_excluded_and_recorded():
    """Not named by the user: never an error, never silent. A constant default candidate
    is kept (the preprocessing records its constant design column in the model state)."""
    usable, excluded = screen_predictors(
        table(), LABELLED, ["age", "bmi", "region", "img_index_height"], named=False
    )
    assert usable == ["age", "region"]
    assert excluded == (
        ExcludedPredictor("img_index_height", "not in the table"),
        ExcludedPredictor("bmi", "missing in all 6 labelled rows"),
    )


def test_prepare_task_data_checks_named_predictors_of_a_target():
    df = table().drop(columns=["y"]).assign(good=table()["y"])
    with pytest.raises(PredictorError, match=r"task good: predictor 'bmi' is missing in all 6"):
        prepare_task_data(df, target="good", predictors=["age", "bmi"])
    td = prepare_task_data(df, target="good", predictors=["age", "bmi"], drop_unusable=True)
    assert list(td.X.columns) == ["age"] and len(td.X) == 6
    assert td.excluded == (ExcludedPredictor("bmi", "missing in all 6 labelled rows"),)


def test_the_outcome_itself_named_as_a_predictor_is_refused_even_with_drop_unusable():
    df = table().drop(columns=["y"]).assign(good=table()["y"])
    for drop in (False, True):
        with pytest.raises(PredictorError, match=r"predictor\(s\) 'good' are the outcome"):
            prepare_task_data(df, target="good", predictors=["age", "good"], drop_unusable=drop)
    scored = add_scores(simulate_cohort(300, seed=4))
    with pytest.raises(PredictorError, match=r"outcome column\(s\): odi_12m"):
        prepare_task_data(scored, "mcid_odi_12m", predictors=["age_years", "odi_12m"])
    with pytest.raises(PredictorError, match=r"time_to_surgery_months, surgery_event"):
        prepare_task_data(scored, "surgery_conversion", predictors=["age_years", "surgery_event"])
    # the baseline score of an MCID task is a predictor like any other
    td = prepare_task_data(scored, "mcid_odi_12m", predictors=["age_years", "odi_0m"])
    assert list(td.X.columns) == ["age_years", "odi_0m"]


def test_a_built_in_tasks_default_candidates_missing_everywhere_are_recorded():
    df = add_scores(simulate_cohort(300, seed=4)).assign(bmi_kg_m2=np.nan)
    td = prepare_task_data(df, "mcid_odi_12m")
    assert "bmi_kg_m2" not in td.X.columns
    assert td.excluded == (
        ExcludedPredictor("bmi_kg_m2", f"missing in all {len(td.y)} labelled rows"),
    )
    with pytest.raises(PredictorError, match="predictor 'bmi_kg_m2' is missing in all"):
        prepare_task_data(df, "mcid_odi_12m", predictors=["age_years", "bmi_kg_m2"])


# --- the minimum sample size of a user's outcome -----------------------------------------


def test_minimum_events_counts_the_smaller_class_and_names_the_numbers():
    y = pd.Series([0] * 4 + [1] * 36)  # 36 "events" but 4 in the smaller class
    with pytest.raises(SampleSizeError) as err:
        minimum_sample_size("abnormal", y, 6, 412, FitSettings())
    assert flat(str(err.value)) == (
        "the outcome 'abnormal' has 4 events (smaller class) for 6 predictor parameters in "
        "40 labelled rows: below 10 events per parameter (0.7; needs ≥ 60 events) and Riley "
        "et al.'s criteria need n ≥ 412 at an anticipated C of 0.75 (n = 40); pass "
        "--allow-small-sample (allow_small_sample=True) to fit anyway; the report will say so"
    )


def test_minimum_is_met_at_exactly_ten_events_per_parameter_and_riley_n():
    y = pd.Series([1] * 60 + [0] * 140)
    assert minimum_sample_size("good", y, 6, 200, FitSettings()) is None
    with pytest.raises(SampleSizeError, match=r"need n ≥ 201 .* \(n = 200\)"):
        minimum_sample_size("good", y, 6, 201, FitSettings())
    with pytest.raises(
        SampleSizeError, match=r"59 events .* parameter \(9.8; needs ≥ 60 events\);"
    ):
        minimum_sample_size("good", y[1:], 6, 100, FitSettings())  # one event fewer


def test_an_allowed_small_sample_returns_what_the_bundle_records():
    y = pd.Series([0, 1] * 10)
    note = minimum_sample_size("good", y, 3, 300, FitSettings(allow_small_sample=True))
    assert note.startswith("Fitted below the minimum sample size for a user's outcome")
    assert "10 events (smaller class) for 3 predictor parameters in 20 labelled rows" in note


def test_fit_settings_flags_must_be_booleans():
    with pytest.raises(TypeError, match=r"drop_unusable='yes'; expected True or False"):
        FitSettings(drop_unusable="yes")


def test_a_built_in_task_below_rileys_minimum_is_fitted_with_a_caution():
    """Built-in tasks keep their Riley check as a caution (prom demo fits small ones)."""
    df = add_scores(simulate_cohort(700, seed=5))
    fit = fit_task(
        df,
        "mcid_mjoa_12m",
        families=["elastic_net"],
        settings=FitSettings(n_splits=2, n_iter=1, n_boot=10, optimism_boot=0, site_column=None),
    )
    assert fit.sample_size.adequate is False and fit.sample_size_override is None
    assert fit.manifest_entry().sample_size.override is None


# --- the manifest ---------------------------------------------------------------------------


def _odi_raw() -> dict:
    raw = json.loads((DEMO_BUNDLE_PATH / "manifest.json").read_text(encoding="utf-8"))
    return copy.deepcopy(raw["tasks"]["mcid_odi_12m"])


def test_exclusions_and_the_override_round_trip_through_the_manifest():
    raw, out = _odi_raw(), {}
    for k, v in raw.items():  # the writer's key order: excluded_predictors after predictors
        out[k] = v
        if k == "predictors":
            out["excluded_predictors"] = [{"name": "bmi_kg_m2", "reason": "not in the table"}]
    out["sample_size"] = {**raw["sample_size"], "override": "Fitted below the minimum …"}
    entry = task_entry_from_dict("mcid_odi_12m", out)
    assert isinstance(entry, ClassifierTaskEntry)
    assert entry.excluded_predictors == (ExcludedPredictor("bmi_kg_m2", "not in the table"),)
    assert entry.sample_size.override == "Fitted below the minimum …"
    assert json.dumps(entry.to_dict()) == json.dumps(out)


def test_a_manifest_without_the_new_fields_reads_with_none_recorded():
    entry = task_entry_from_dict("mcid_odi_12m", _odi_raw())
    assert entry.excluded_predictors == () and entry.sample_size.override is None
    assert "excluded_predictors" not in entry.to_dict()


@pytest.mark.parametrize(
    ("value", "match"),
    [
        ("bmi", r"field 'excluded_predictors' must be a list"),
        ([{"name": "bmi"}], r"excluded_predictors\[0\]: field 'reason' is missing"),
        ([{"name": "bmi", "reason": "x", "why": 1}], r"unknown field\(s\) 'why'"),
    ],
)
def test_a_malformed_exclusion_is_refused(value, match):
    raw = _odi_raw()
    raw["excluded_predictors"] = value
    with pytest.raises(BundleError, match=match):
        task_entry_from_dict("mcid_odi_12m", raw)


# --- prom fit end to end ------------------------------------------------------------------


@pytest.fixture(scope="module")
def own_csv(tmp_path_factory):
    """A lumbar cohort with a 0/1 outcome of the user's own, a BMI column left empty, a
    copy of the age column, and a 60-row excerpt."""
    d = tmp_path_factory.mktemp("own")
    df = add_scores(simulate_cohort(900, seed=3))
    df = df[df["region"] == "lumbar"].reset_index(drop=True)
    rng = np.random.default_rng(0)
    df["good"] = (rng.random(len(df)) < df["true_p_mcid_odi_12m"]).astype(int)
    df["bmi_kg_m2"] = np.nan
    df["age_copy"] = df["age_years"]
    big, small = d / "own.csv", d / "sixty.csv"
    df.to_csv(big, index=False)
    df.head(60).to_csv(small, index=False)
    return {"big": big, "small": small, "n": len(df), "dir": d}


def test_prom_fit_refuses_an_all_missing_named_predictor(own_csv):
    out = own_csv["dir"] / "refused"
    res = runner.invoke(
        app,
        [
            *("fit", "--data", str(own_csv["big"]), "--target", "good", *FAST),
            *("--out", str(out), "--predictors", "age_years,bmi_kg_m2,sex,odi_0m"),
        ],
    )
    assert res.exit_code == 2, res.output
    assert flat(res.output) == (
        f"error: task good: predictor 'bmi_kg_m2' is missing in all {own_csv['n']:,} "
        "labelled rows; remove it from --predictors (predictors=) or pass --drop-unusable "
        "(drop_unusable=True) to record its exclusion"
    )
    assert not out.exists()


def test_prom_fit_drop_unusable_records_the_exclusions_in_manifest_and_report(own_csv):
    out, html = own_csv["dir"] / "dropped", own_csv["dir"] / "dropped.html"
    named = "age_years,bmi_kg_m2,sex,odi_0m,age_copy,region,sex"
    res = runner.invoke(
        app,
        [
            *("fit", "--data", str(own_csv["big"]), "--target", "good", *FAST),
            *("--out", str(out), "--predictors", named, "--drop-unusable"),
        ],
    )
    assert res.exit_code == 0, res.output
    n = f"{own_csv['n']:,}"
    expected = [
        ExcludedPredictor("sex", "named more than once; used once"),
        ExcludedPredictor("bmi_kg_m2", f"missing in all {n} labelled rows"),
        ExcludedPredictor("age_copy", f"identical to 'age_years' in all {n} labelled rows"),
        ExcludedPredictor("region", f"constant: one value ('lumbar') in all {n} labelled rows"),
    ]
    for e in expected:
        assert f"excluded predictor: {e.describe()}" in flat(res.output)
    entry = load_bundle(out).task("good").entry
    assert entry.predictors == ("age_years", "sex", "odi_0m")
    assert entry.excluded_predictors == tuple(expected)
    res = runner.invoke(app, ["report", "--bundle", str(out), "--out", str(html)])
    assert res.exit_code == 0, res.output
    text = html.read_text(encoding="utf-8")
    line = re.search(r'<li id="task-good-excluded-predictors">(.*?)</li>', text).group(1)
    assert "4 excluded: " in line and "&#x27;bmi_kg_m2&#x27; (missing in all" in line
    assert "Left out of the fit, without looking at the outcome: 4 excluded" in text  # TRIPOD


def test_prom_fit_refuses_a_target_below_the_minimum_then_fits_it_when_told(own_csv):
    out, html = own_csv["dir"] / "small", own_csv["dir"] / "small.html"
    args = ["fit", "--data", str(own_csv["small"]), "--target", "good", *FAST, "--out", str(out)]
    args += ["--predictors", "age_years,sex,odi_0m,nrs_leg_0m"]
    res = runner.invoke(app, args)
    assert res.exit_code == 2, res.output
    msg = flat(res.output)
    assert re.fullmatch(
        r"error: the outcome 'good' has \d+ events \(smaller class\) for \d+ predictor "
        r"parameters in 60 labelled rows: below 10 events per parameter \(\d\.\d; needs ≥ \d+ "
        r"events\) and Riley et al.'s criteria need n ≥ [\d,]+ at an anticipated C of 0.75 "
        r"\(n = 60\); pass --allow-small-sample \(allow_small_sample=True\) to fit anyway; "
        r"the report will say so",
        msg,
    ), msg
    assert not out.exists()
    res = runner.invoke(app, [*args, "--allow-small-sample"])
    assert res.exit_code == 0, res.output
    assert "caution: Fitted below the minimum sample size" in flat(res.output)
    entry = load_bundle(out).task("good").entry
    override = entry.sample_size.override
    assert override.startswith("Fitted below the minimum sample size for a user's outcome")
    assert override in entry.warnings
    res = runner.invoke(app, ["report", "--bundle", str(out), "--out", str(html)])
    assert res.exit_code == 0, res.output
    text = html.read_text(encoding="utf-8")
    assert re.search(
        r'id="task-good-sample-size-override"[^>]*><strong>Minimum sample size '
        r"overridden. </strong>Fitted below the minimum",
        text,
    )
    tripod_10 = re.search(r'data-item="10"[^>]*>[^<]*</td><td>([^<]*)', text).group(1)
    assert tripod_10.startswith("Fitted below the minimum sample size")


def test_predictor_names_keep_a_headers_trailing_space_and_drop_spaces_after_commas():
    """A header exported as 'Age ' is named as typed (as the error suggests it);
    'a, b' is 'a' and 'b'."""
    from prom.cli.common import column_names

    columns = ["Age ", "Smoker", "BMI"]
    assert column_names("Age ,Smoker, BMI", columns) == ["Age ", "Smoker", "BMI"]
    assert column_names(" Smoker ,BMI,", columns) == ["Smoker", "BMI"]
    assert column_names("Age,BMI", columns) == ["Age", "BMI"]  # refused later, with a hint
    assert column_names(None, columns) is None and column_names("", columns) is None


def test_a_fit_of_logistic_regression_alone_is_refused_with_the_option_to_use():
    df = pd.DataFrame({"x": [1.0, 2.0, 3.0, 4.0], "y": [0, 1, 0, 1]})
    with pytest.raises(ValueError, match=r"besides 'logistic' \(--models logistic,elastic_net"):
        fit_task(df, target="y", families=["logistic"])


def test_the_sample_size_statement_counts_the_smaller_class_as_the_diagnostics_do():
    """Events are the larger class here (about 70%): the Riley statement, its criteria
    table and the diagnostics all count the 120 non-events, and say so."""
    rng = np.random.default_rng(3)
    x = rng.normal(size=400)
    df = pd.DataFrame({"x": x, "z": rng.normal(size=400), "y": [1] * 280 + [0] * 120})
    fit = fit_task(
        df,
        target="y",
        predictors=["x", "z"],
        families=["elastic_net"],
        settings=FitSettings(n_splits=2, n_iter=1, n_boot=10, optimism_boot=0, site_column=None),
    )
    ss = fit.sample_size
    assert ss.n_events == 120 and ss.events_label == "events of the smaller class"
    assert ss.statement.startswith(
        "n = 400 with 120 events of the smaller class (60.0 per candidate predictor "
        "parameter, 2 parameters"
    ), ss.statement
    assert ss.events_per_parameter == pytest.approx(fit.diagnostics.events_per_parameter)
    # the criteria are the same for either class
    from prom.validation import check_sample_size

    other = check_sample_size(400, 280, 2, c_statistic=0.75)
    assert other.required.n_required == ss.required.n_required
    assert other.statement.startswith("n = 400 with 280 events (140.0 per candidate")


def _cohort_csv(tmp_path, edit) -> str:
    df = add_scores(simulate_cohort(n=300, seed=4))
    edit(df)
    path = tmp_path / "cohort.csv"
    df.to_csv(path, index=False)
    return str(path)


def test_fit_refuses_labelled_rows_that_share_a_patient_id(tmp_path):
    rows = []

    def twice(df):
        a, b = df.index[df["odi_0m"].notna() & df["odi_12m"].notna()][[3, 7]]
        df.loc[b, "patient_id"] = df.loc[a, "patient_id"]
        rows.extend([a, b])

    data = _cohort_csv(tmp_path, twice)
    out_dir = tmp_path / "b"
    r = runner.invoke(
        app, ["fit", "--data", data, "--task", "mcid_odi_12m", "--out", str(out_dir), *FAST]
    )
    assert r.exit_code == 2, r.output
    out = flat(r.output)
    assert "1 patient_id value(s) on more than one labelled row" in out
    assert f"lines {rows[0] + 2}, {rows[1] + 2}" in out and "duplicate_id" in out
    assert not out_dir.exists()


def test_yes_no_words_in_a_yes_no_column_are_read_as_the_contract_reads_them(tmp_path):
    """'yes'/'no' are read as 1/0 (as prom score reads them), said; any other text in a
    yes/no column is bad input (exit 2, not an internal error) saying how to write it."""

    def words(df):
        df["diabetes"] = df["diabetes"].map({True: "Yes", False: "no"})

    data = _cohort_csv(tmp_path, words)
    args = ["fit", "--data", data, "--task", "mcid_odi_12m", *FAST]
    r = runner.invoke(app, [*args, "--out", str(tmp_path / "b")])
    assert r.exit_code == 0, r.output
    n = int(pd.read_csv(data)["diabetes"].notna().sum())
    assert f"diabetes: {n:,} yes/no value(s) written as words read as 1/0" in flat(r.output)

    def odd(df):
        df["diabetes"] = df["diabetes"].map({True: "yes", False: "nope"})

    data = _cohort_csv(tmp_path, odd)
    r = runner.invoke(app, [*args, "--out", str(tmp_path / "c")])
    assert r.exit_code == 2, r.output  # bad input, not an internal error (3)
    out = flat(r.output)
    assert "column 'diabetes'" in out and "'nope'" in out


def test_labelled_rows_without_a_site_are_refused_before_fitting_naming_the_lines(tmp_path):
    def blank(df):
        df.loc[[0, 1, 2], "site"] = np.nan

    data = _cohort_csv(tmp_path, blank)
    fast = [a for a in FAST if a not in ("--site-column", "none")]
    args = ["fit", "--data", data, "--task", "mcid_odi_12m", "--out", str(tmp_path / "b")]
    r = runner.invoke(app, [*args, *fast])
    assert r.exit_code == 2, r.output
    out = flat(r.output)
    assert "site column 'site' has no value on" in out and "--site-column none" in out
    assert "labelled row(s) (line" in out and " 2" in out.split("labelled row(s) (line")[1][:8]
    r = runner.invoke(app, [*args, *fast, "--site-column", "clinic"])
    assert r.exit_code == 2 and "--site-column 'clinic' is not a column" in flat(r.output)
