"""Any outcome the researcher has: a binary (two named values), a multiclass and a
time-to-event outcome of the user's own columns, each through ``prom fit`` → ``evaluate``
→ ``report`` → ``score`` and the bundle.

The table is made here (:func:`own_table`) with the user's own column names, an exactly
collinear set (``pelvic_incidence = pelvic_tilt + sacral_slope``), a category of three rows
(``clinic = 'east'``) and one missing class label. Tests that need a damaged cell (an
unparseable number, say) change one cell of :func:`own_table`'s frame before writing it.
Small settings throughout (2 folds, one tuning draw, 10 bootstrap replicates, no
optimism refits): these tests check what is stored, shown and scored, not model quality.
"""

from __future__ import annotations

import json
import re

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from prom.bundle import load_bundle
from prom.bundle.manifest import task_entry_from_dict
from prom.cli import app
from prom.errors import MissingColumnError
from prom.outcomes import (
    ClassDefinition,
    ColumnDefinition,
    SurvivalDefinition,
    definition_from_dict,
    get_task,
    is_custom_task,
    prepare_task_data,
    rows_for_definition,
    task_for_definition,
)
from prom.outcomes.custom import MAX_CLASSES, TargetError, target_definition
from prom.workflows import FitSettings, fit_task
from prom.workflows.fit_checks import SampleSizeError

runner = CliRunner()
pytestmark = [
    pytest.mark.filterwarnings("ignore::prom.errors.StatisticalWarning"),
    # the three-row clinic is absent from some training folds: the CLI says so as a caution
    pytest.mark.filterwarnings("ignore::prom.models.preprocess.UnknownCategoryWarning"),
]

FAST = ["--folds", "2", "--n-iter", "1", "--boot", "10", "--optimism-boot", "0", "--jobs", "1"]
CLASSIFIERS = ["--models", "logistic,elastic_net"]
PREDICTORS = "pelvic_tilt,sacral_slope,pelvic_incidence,lordosis,clinic"  # a collinear set
CLASSES = ["Hernia", "Normal", "Spondylolisthesis"]


def flat(text: str) -> str:
    """Terminal output with line wrapping undone (rich wraps at the console width)."""
    return " ".join(text.split())


def own_table(n: int = 240, seed: int = 0) -> pd.DataFrame:
    """A researcher's own table: biomechanical measures under their own names, three
    outcomes (a two-valued ``abnormal``, a three-class ``diagnosis_group`` with one label
    missing, and days to reoperation with a 0/1 event), a collinear set and a rare clinic."""
    rng = np.random.default_rng(seed)
    tilt = rng.normal(15, 6, n).round(2)
    slope = rng.normal(40, 8, n).round(2)
    lordosis = rng.normal(50, 10, n).round(1)
    df = pd.DataFrame(
        {
            "patient_id": [f"P{i:04d}" for i in range(n)],
            "pelvic_tilt": tilt,
            "sacral_slope": slope,
            "pelvic_incidence": tilt + slope,  # exactly collinear
            "lordosis": lordosis,
            "clinic": rng.choice(["north", "south"], n),
        }
    )
    df.loc[:2, "clinic"] = "east"  # a category of three rows
    lp = np.c_[np.zeros(n), 0.2 * (tilt - 15), -0.12 * (slope - 40) + 0.05 * (lordosis - 50)]
    p = np.exp(lp) / np.exp(lp).sum(axis=1, keepdims=True)
    u = rng.random(n)[:, None]
    cls = np.asarray(["Normal", "Hernia", "Spondylolisthesis"])[(u > p.cumsum(axis=1)).sum(1)]
    df["diagnosis_group"] = cls
    df["abnormal"] = np.where(cls == "Normal", "Normal", "Abnormal")
    hazard = np.exp(0.1 * (tilt - 15) - 0.03 * (lordosis - 50)) / 400
    t, c = rng.exponential(1 / hazard), rng.uniform(100, 900, n)
    df["days_to_reop"] = np.minimum(t, c).round(0)
    df["reoperated"] = (t <= c).astype(int)
    df.loc[5, "diagnosis_group"] = np.nan
    return df


@pytest.fixture(scope="module")
def own(tmp_path_factory):
    d = tmp_path_factory.mktemp("own_targets")
    df = own_table()
    csv = d / "spine.csv"
    raw = df.astype({"lordosis": object})
    raw.loc[7, "lordosis"] = "n/a"  # an unparseable value: refused unless declared missing
    raw.to_csv(csv, index=False)
    df.loc[7, "lordosis"] = np.nan  # the table as read with --missing-values n/a
    return {"df": df, "csv": csv, "dir": d}


#: how the tests' CSV marks its one missing lordosis value
MISSING = ["--missing-values", "n/a"]


def _assert_diagnosed(output: str, entry) -> None:
    """The fit named the aliased column, the rare clinic and the imputed value, and left
    the aliased column out of every model (no coefficient of it exists to misread)."""
    text = flat(output)
    assert "pelvic_incidence" in text and "sacral_slope" in text and "pelvic_tilt" in text
    assert "east" in text  # the three-row clinic
    assert "1 value imputed" in text and "lordosis" in text
    assert "pelvic_incidence" not in entry.predictors
    assert any(e.name == "pelvic_incidence" for e in entry.excluded_predictors)
    assert entry.imputed == {"lordosis": 1}


def _invoke(args: list[str]):
    res = runner.invoke(app, [str(a) for a in args])
    assert res.exit_code == 0, res.output
    return res


def _html_text(path) -> str:
    """The visible text of a report (figures and tags removed)."""
    import html

    t = path.read_text(encoding="utf-8")
    t = re.sub(r"<(img|svg|style|script)\b.*?(</\1>|/?>)", " ", t, flags=re.S)
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", t)).split())


# --- what kind of outcome a column is ----------------------------------------------------


def test_a_zero_one_column_is_binary_and_stored_as_it_always_was():
    df = pd.DataFrame({"y": [0, 1, 1, np.nan, 0]})
    d = target_definition(df, "y")
    assert d == ColumnDefinition("y") and d.to_dict() == {"type": "user column", "column": "y"}


def test_two_values_that_are_not_zero_one_need_the_event_named():
    df = pd.DataFrame({"status": ["Abnormal", "Normal", "Abnormal", None]})
    with pytest.raises(
        TargetError,
        match=r"target column 'status' has two values \('Abnormal', 'Normal'\), not 0/1; say "
        r"which one is the event: --event-value 'Abnormal' or --event-value 'Normal'",
    ):
        target_definition(df, "status")
    d = target_definition(df, "status", event_value="Normal")
    assert (d.event_value, d.other_value) == ("Normal", "Abnormal")
    with pytest.raises(TargetError, match=r"--event-value 'Sick' is not a value of column"):
        target_definition(df, "status", event_value="Sick")
    three = pd.DataFrame({"g": ["a", "b", "c"]})
    with pytest.raises(TargetError, match=r"column 'g' has 3 distinct value\(s\)"):
        target_definition(three, "g", event_value="a")


def test_one_two_coded_outcome_is_not_guessed():
    df = pd.DataFrame({"y": [1, 2, 2, 1]})
    with pytest.raises(TargetError, match=r"--event-value '1' or --event-value '2'"):
        prepare_task_data(df.assign(x=[1.0, 2.0, 3.0, 4.0]), target="y", predictors=["x"])


def test_a_true_false_column_is_binary_with_true_the_event():
    df = pd.DataFrame({"y": [True, False, True, None]}, dtype=object)
    assert target_definition(df, "y") == ColumnDefinition("y")


@pytest.mark.parametrize(
    ("extra", "match"),
    [
        (["--target", "abnormal", "--horizon", "3"], "--horizon is for a time-to-event outcome"),
        (["--target", "abnormal", "--time", "days_to_reop"], "--target COLUMN or --time/--event"),
        (["--time", "days_to_reop", "--event-value", "1", "--horizon", "9"], "needs both --time"),
        (["--task", "mcid_odi_12m", "--target", "abnormal"], "or your own outcome (--target"),
        (["--target", "abnormall"], "target column 'abnormall' is not in the table (did you mean"),
    ],
)
def test_prom_fit_refuses_mixed_outcome_options(own, extra, match):
    res = runner.invoke(
        app, ["fit", "--data", str(own["csv"]), *extra, "--out", str(own["dir"] / "never")]
    )
    assert res.exit_code == 2 and match in flat(res.output), res.output
    assert not (own["dir"] / "never").exists()


def test_classes_are_kept_exactly_as_the_table_writes_them():
    df = pd.DataFrame({"grade": [1.0, 2.0, 3.0, np.nan, 2.0]})  # read as floats (a gap)
    d = target_definition(df, "grade")
    assert d == ClassDefinition("grade", ("1", "2", "3"), user_column=True)
    names = pd.DataFrame({"dx": ["Hernia", "Normal", "Spondylolisthesis", "Normal"]})
    assert target_definition(names, "dx").classes == tuple(CLASSES)


def test_a_column_with_too_many_values_is_refused_naming_the_count():
    df = pd.DataFrame({"odi": np.arange(40) * 1.5})
    with pytest.raises(
        TargetError, match=rf"'odi' has 40 distinct values .* at most {MAX_CLASSES}"
    ):
        target_definition(df, "odi")
    with pytest.raises(TargetError, match=r"holds one value only \('x'\)"):
        target_definition(pd.DataFrame({"c": ["x", "x"]}), "c")


def test_missing_labels_are_counted_and_unknown_classes_in_new_data_refused(own):
    df = own["df"]
    td = prepare_task_data(df, target="diagnosis_group", predictors=["pelvic_tilt", "lordosis"])
    assert td.row_accounting == {"read": 240, "used": 239, "diagnosis_group missing": 1}
    assert sorted(pd.unique(td.y)) == CLASSES
    new = df.assign(diagnosis_group=df["diagnosis_group"].replace({"Hernia": "Herniation"}))
    with pytest.raises(TargetError, match=r"column 'diagnosis_group': \d+ row\(s\) hold a value"):
        rows_for_definition(new, "diagnosis_group", td.definition, ["pelvic_tilt"])


def test_a_users_outcome_without_candidates_is_pointed_at_predictors(own):
    df = own["df"]
    with pytest.raises(MissingColumnError) as e:
        prepare_task_data(df, target="abnormal", event_value="Abnormal")
    msg = str(e.value)
    assert "--predictors" in msg and "pelvic_tilt" in msg and "clinic" in msg
    listed, left_out = msg.split("besides the outcome: ")[1].split("; left out as row identifiers")
    assert "abnormal" not in listed and "patient_id" not in listed  # outcome, identifier
    assert left_out.endswith("): patient_id), or map your columns onto the contract (--mapping)")
    # a text column with a different value in every row is left out, and said to be
    records = df.assign(record=[f"R{i:04d}" for i in range(len(df))])
    with pytest.raises(MissingColumnError) as e:
        prepare_task_data(records, target="abnormal", event_value="Abnormal")
    listed, left_out = str(e.value).split("besides the outcome: ")[1].split("; left out as")
    assert "record" not in listed and "patient_id, record)" in left_out
    with pytest.raises(MissingColumnError, match=r"e\.g\. --predictors pelvic_tilt,"):
        prepare_task_data(df, time="days_to_reop", event="reoperated")
    # names with spaces or brackets are quoted so that the example can be pasted into a shell
    spaced = df.rename(columns={"pelvic_tilt": "Pelvic tilt (deg)"})
    with pytest.raises(MissingColumnError, match=r"e\.g\. --predictors 'Pelvic tilt \(deg\),"):
        prepare_task_data(spaced, target="abnormal", event_value="Abnormal")


# --- definitions in the manifest ---------------------------------------------------------


def test_user_definitions_round_trip_and_old_definitions_read_unchanged():
    for d in (
        ColumnDefinition("abnormal", event_value="Abnormal", other_value="Normal"),
        ClassDefinition("diagnosis_group", tuple(CLASSES), user_column=True),
        SurvivalDefinition("days", "reop", "units of days", user_column=True),
    ):
        assert definition_from_dict(json.loads(json.dumps(d.to_dict()))) == d
        assert is_custom_task(task_for_definition("x", d, ["a"]))
    old_class = {"type": "class", "column": "treatment", "classes": ["conservative", "tfesi"]}
    assert definition_from_dict(old_class).to_dict() == old_class  # no new key written
    for builtin in ("triage", "surgery_conversion"):
        assert not is_custom_task(get_task(builtin))
    with pytest.raises(ValueError, match="'user_column' must be true or false"):
        definition_from_dict({**old_class, "user_column": "yes"})


# --- fit-time checks ---------------------------------------------------------------------


def test_a_users_survival_outcome_needs_a_horizon(own):
    args = {"time": "days_to_reop", "event": "reoperated", "predictors": ["pelvic_tilt"]}
    with pytest.raises(
        ValueError,
        match=r"give the horizon .* with --horizon \(horizon=\), in "
        r"units of days_to_reop; the follow-up in this table runs from",
    ):
        fit_task(own["df"], families=["cox"], settings=FitSettings(n_splits=2), **args)
    with pytest.raises(ValueError, match="needs both --time and --event"):
        fit_task(own["df"], time="days_to_reop", predictors=["pelvic_tilt"])


def test_a_class_too_small_to_cross_validate_is_refused(own):
    df = own["df"].copy()
    df.loc[10:13, "diagnosis_group"] = "Scoliosis"
    df.loc[df.index > 13, "diagnosis_group"] = df["diagnosis_group"].replace("Scoliosis", "Normal")
    with pytest.raises(
        SampleSizeError,
        match=r"'Scoliosis': 4 row\(s\)\); with --folds 2 and "
        r"3-fold tuning inside each fold every class needs at least 6 rows",
    ):
        fit_task(
            df,
            target="diagnosis_group",
            predictors=["pelvic_tilt", "lordosis"],
            families=["logistic", "elastic_net"],
            settings=FitSettings(n_splits=2, n_iter=1, n_boot=10, optimism_boot=0),
        )


def test_outcome_values_that_would_become_classes_by_accident_are_refused(own):
    """'NA' written for a missing outcome, 'Yes' beside 'yes', a stray 0.5 in a 0/1 column:
    each would be fitted as a class of its own; refused naming the rows and the way out."""
    df = own["df"].assign(good=(own["df"]["lordosis"] > 50).astype(int)).astype({"good": object})
    marked = df.copy()
    marked.loc[[0, 20, 40], "good"] = "NA"
    with pytest.raises(TargetError) as e:
        target_definition(marked, "good")
    said = str(e.value)
    assert "target column 'good': 3 row(s) hold 'NA', text that usually marks a missing value" in (
        said
    )
    assert "--missing-values 'NA'" in said and "counted as rows without an outcome" in said
    words = df.assign(good=np.where(df["good"] == 1, "yes", "no"))
    words.loc[:2, "good"] = "Yes"
    with pytest.raises(TargetError, match=r"differ only in capitals or spaces: 'Yes', 'yes'"):
        target_definition(words, "good")
    half = df.copy()
    half.loc[5, "good"] = 0.5
    with pytest.raises(
        TargetError,
        match=r"1 row\(s\) hold '0.5' \(row 5\) among whole-number "
        r"classes '0', '1': a fraction is not an outcome class",
    ):
        target_definition(half, "good")
    # a stored definition meeting 'NA' in new data says how to declare it missing
    with pytest.raises(TargetError, match=r"--missing-values 'NA'"):
        rows_for_definition(marked, "good", ColumnDefinition("good"), ["lordosis"])


def test_a_time_of_dates_or_durations_is_refused_before_any_fit(own):
    df = own["df"].copy()
    df["days"] = pd.to_timedelta(df["days_to_reop"], unit="D")
    df["on"] = pd.Timestamp("2024-01-01") + df["days"]
    common = {"event": "reoperated", "predictors": ["pelvic_tilt"], "families": ["cox"]}
    with pytest.raises(TargetError, match=r"time column 'days' holds durations \(timedelta64"):
        fit_task(df, time="days", settings=FitSettings(n_splits=2, horizon=200), **common)
    with pytest.raises(
        TargetError,
        match=r"time column 'on' holds dates \(datetime64.*minus "
        r"the patient's index date",
    ):
        fit_task(df, time="on", settings=FitSettings(n_splits=2, horizon=200), **common)


def test_no_events_and_events_at_time_zero_are_said_as_such(own):
    args = {"time": "days_to_reop", "event": "reoperated", "predictors": ["pelvic_tilt"]}
    fast = FitSettings(n_splits=2, n_boot=10, optimism_boot=0, horizon=200, n_jobs=1)
    censored = own["df"].assign(reoperated=0)
    with pytest.raises(
        ValueError,
        match=r"no events among the 240 labelled rows \(every row is "
        r"censored\): there is nothing to model",
    ):
        fit_task(censored, families=["cox"], settings=fast, **args)
    zero = own["df"].copy()
    zero.loc[:9, ["days_to_reop", "reoperated"]] = [0, 1]
    fit = fit_task(zero, families=["cox"], settings=fast, **args)
    assert any("10 row(s) have time 0 (10 of them events" in w for w in fit.warnings)
    with pytest.raises(ValueError, match=r"recode 'reoperated' to 0/1 in the table"):
        fit_task(own["df"], families=["cox"], settings=fast, event_value="1", **args)


def test_a_multiclass_target_below_the_minimum_is_refused_like_a_binary_one(own):
    small = own["df"].head(60)
    with pytest.raises(
        SampleSizeError,
        match=r"\(smallest class\) for \d+ predictor "
        r"parameters in \d+ labelled rows: below 10 events per parameter",
    ):
        fit_task(
            small,
            target="diagnosis_group",
            predictors=["pelvic_tilt", "lordosis", "sacral_slope"],
            families=["logistic", "elastic_net"],
            settings=FitSettings(n_splits=2, n_iter=1, n_boot=10, optimism_boot=0),
        )


def test_a_predictor_that_decides_the_outcome_is_called_leakage_not_a_model(own):
    """A column written after the outcome (its status at follow-up) separates it: the
    diagnostics name it and say leakage, and the fit cautions against the AUC of 1."""
    df = own["df"].assign(good=(own["df"]["lordosis"] > 50).astype(int))
    df["status_12m"] = np.where(df["good"] == 1, "working", "not working")
    fit = fit_task(
        df,
        target="good",
        predictors=["pelvic_tilt", "status_12m"],
        families=["logistic", "elastic_net"],
        settings=FitSettings(
            n_splits=2, n_iter=1, n_boot=10, optimism_boot=0, n_jobs=1, allow_small_sample=True
        ),
    )
    found = [f["detail"] for f in fit.diagnostics.separation if f["column"] == "status_12m"]
    assert (
        found and "complete separation: status_12m=working alone decides the outcome" in (found[0])
    )
    assert "usually recorded with or after it (leakage)" in found[0]
    assert "elastic_net" not in found[0]  # no advice to fit it with a penalty instead
    assert any(
        "cross-validated AUC is 1.000: its predictions separate the outcome" in w
        for w in fit.warnings
    )


def test_a_predictor_missing_in_most_rows_is_named_by_the_diagnostics(own):
    df = own["df"].copy()
    df["mm"] = np.where(np.arange(len(df)) % 20 == 0, 1.0, np.nan)  # 95% missing
    df.loc[df["mm"].notna(), "mm"] = np.linspace(0, 1, int(df["mm"].notna().sum()))
    fit = fit_task(
        df,
        target="abnormal",
        event_value="Abnormal",
        predictors=["pelvic_tilt", "mm"],
        families=["logistic", "elastic_net"],
        settings=FitSettings(
            n_splits=2, n_iter=1, n_boot=10, optimism_boot=0, n_jobs=1, allow_small_sample=True
        ),
    )
    assert (
        "mostly missing: mm in 95.0% of the labelled rows (228 of 240), imputed there with its "
        "median; its effect rests on the 12 row(s) that have it"
    ) in " ".join(fit.diagnostics.lines())


# --- prom fit → evaluate → report → score, one per kind ----------------------------------


def test_multiclass_target_through_fit_evaluate_report_score(own):
    d, csv = own["dir"], own["csv"]
    out = d / "multiclass"
    args = ["fit", "--data", csv, "--target", "diagnosis_group", "--predictors", PREDICTORS]
    refused = runner.invoke(app, [str(a) for a in [*args, *FAST, *CLASSIFIERS, "--out", out]])
    assert refused.exit_code == 2 and "lordosis" in refused.output and "n/a" in refused.output
    res = _invoke([*args, *MISSING, *FAST, *CLASSIFIERS, "--out", out])
    assert "every model against logistic regression" in res.output
    assert "rows: read 240, used 239, diagnosis_group missing 1" in flat(res.output)
    entry = load_bundle(out).task("diagnosis_group").entry
    _assert_diagnosed(res.output, entry)
    assert entry.kind == "multiclass" and list(entry.classes) == CLASSES
    assert entry.definition == ClassDefinition("diagnosis_group", tuple(CLASSES), user_column=True)
    assert not entry.is_builtin and entry.population() == {}
    raw = json.loads((out / "manifest.json").read_text(encoding="utf-8"))["tasks"][
        "diagnosis_group"
    ]
    assert task_entry_from_dict("diagnosis_group", raw).definition == entry.definition

    res = _invoke(["evaluate", "--bundle", out, "--data", csv, *MISSING])
    assert "rows: read 240, used 239, diagnosis_group missing 1" in flat(res.output)

    html = d / "multiclass.html"
    _invoke(["report", "--bundle", out, "--out", html])
    text = _html_text(html)
    assert "the class in column 'diagnosis_group' (Hernia, Normal, Spondylolisthesis)" in text
    assert "calibrated probability of each class: Hernia, Normal, Spondylolisthesis" in text
    for word in ("conservative", "TFESI", "surgery", "months"):
        assert word not in text, word

    scored = d / "multiclass_scored.csv"
    said = flat(_invoke(["score", "-b", out, "-i", csv, "-o", scored, *MISSING]).output)
    assert "calibration, diagnosis_group, observed/expected by class: Hernia " in said
    s = pd.read_csv(scored)
    cols = [f"p_diagnosis_group_{c}" for c in CLASSES]
    assert list(s.columns[2:5]) == cols and len(s) == 240
    np.testing.assert_allclose(s[cols].sum(axis=1), 1.0, atol=1e-9)
    bundle = load_bundle(out)
    X = own["df"][list(bundle.task("diagnosis_group").predictors)]
    expected = bundle.task("diagnosis_group").predict_proba(X)
    np.testing.assert_allclose(s[cols].to_numpy(), expected, rtol=1e-9)


def test_two_valued_binary_target_through_fit_evaluate_report_score(own):
    d, csv, df = own["dir"], own["csv"], own["df"]
    out = d / "binary"
    args = ["fit", "--data", csv, "--target", "abnormal", "--predictors", PREDICTORS, *FAST]
    res = runner.invoke(app, [str(a) for a in [*args, *CLASSIFIERS, "--out", out]])
    assert res.exit_code == 2 and "--event-value 'Abnormal' or --event-value 'Normal'" in flat(
        res.output
    )
    res = _invoke(
        [*args, *CLASSIFIERS, *MISSING, "--event-value", "Abnormal", "--allow-small-sample",
         "--out", out]
    )  # fmt: skip
    entry = load_bundle(out).task("abnormal").entry
    _assert_diagnosed(res.output, entry)
    assert entry.definition.to_dict() == {
        "type": "user column",
        "column": "abnormal",
        "event_value": "Abnormal",
        "other_value": "Normal",
    }
    n_abnormal = int((df["abnormal"] == "Abnormal").sum())
    assert entry.n_events == n_abnormal

    res = _invoke(["evaluate", "--bundle", out, "--data", csv, *MISSING])
    assert "rows: read 240, used 240, abnormal missing 0" in flat(res.output)

    html = d / "binary.html"
    _invoke(["report", "--bundle", out, "--out", html])
    text = _html_text(html)
    assert "column 'abnormal' = 'Abnormal' (event) against 'Normal'" in text
    assert "abnormal = Abnormal" in text and "abnormal = Normal" in text  # Table 1 groups
    assert "abnormal = 1" not in text

    quarantined = d / "binary_undeclared.csv"  # without the marker: row 7 is quarantined
    _invoke(["score", "-b", out, "-i", csv, "-o", quarantined])
    q = json.loads((d / "binary_undeclared.summary.json").read_text(encoding="utf-8"))
    assert q["rows"]["quarantined"] == 1 and q["rows"]["scored"] == 239, q["rows"]
    scored = d / "binary_scored.csv"
    _invoke(["score", "-b", out, "-i", csv, "-o", scored, *MISSING])
    summary = json.loads((d / "binary_scored.summary.json").read_text(encoding="utf-8"))
    cal = summary["calibration"]["abnormal"]
    assert cal["n_with_outcome"] == 240
    assert cal["observed"] == pytest.approx(n_abnormal / 240, abs=1e-6)


def test_time_to_event_target_through_fit_evaluate_report_score(own):
    d, csv, df = own["dir"], own["csv"], own["df"]
    out = d / "survival"
    base = ["fit", "--data", csv, "--time", "days_to_reop", "--event", "reoperated", *FAST]
    base += ["--predictors", PREDICTORS, *MISSING, "--out", out]
    res = runner.invoke(app, [str(a) for a in base])
    assert res.exit_code == 2 and "with --horizon" in flat(res.output)
    res = _invoke([*base, "--horizon", "365"])
    assert "by 365 units of days_to_reop" in flat(res.output)
    bundle = load_bundle(out)
    entry = bundle.task("reoperated").entry
    _assert_diagnosed(res.output, entry)
    assert entry.kind == "survival" and entry.horizon == 365.0
    assert (
        entry.time_unit == "units of days_to_reop" and entry.settings.time_unit == entry.time_unit
    )
    assert entry.definition.user_column and not entry.is_builtin
    assert set(entry.models) == {"cox", "cox_ridge"}
    assert max(r["time"] for r in entry.km_by_risk_tertile) <= 2 * 365

    res = _invoke(["evaluate", "--bundle", out, "--data", csv, *MISSING])
    assert "pred@365" in res.output and "km@365" in res.output

    html = d / "survival.html"
    _invoke(["report", "--bundle", out, "--out", html])
    text = _html_text(html)
    assert "by 365 units of days_to_reop" in text
    assert "the event ('reoperated' = 1)" in text
    for word in ("surgery", "months"):
        assert word not in text, word
    # TRIPOD 22 and 23a point at the Cox tables, not at a logistic model's
    assert "the Cox models' coefficients are in the hazard-ratio table" in text
    assert "odds-ratio table" not in text and "the comparison table" not in text
    assert "all models in the Discrimination and calibration table" in text

    scored = d / "survival_scored.csv"
    said = flat(_invoke(["score", "-b", out, "-i", csv, "-o", scored, *MISSING]).output)
    assert "calibration, reoperated: not computed for survival tasks" in said
    s = pd.read_csv(scored)
    X = df[list(entry.predictors)]
    expected = bundle.task("reoperated").predict_risk(X)  # risk by the horizon, 365
    np.testing.assert_allclose(s["p_reoperated"].to_numpy(), expected, rtol=1e-9)
    task = json.loads((d / "survival_scored.summary.json").read_text(encoding="utf-8"))["tasks"][
        "reoperated"
    ]
    assert task["horizon"] == 365.0 and task["time_unit"] == "units of days_to_reop"
    assert "horizon_months" not in task


def test_a_predictor_name_holding_a_comma_is_given_in_double_quotes(own, tmp_path):
    """``pain, baseline`` cannot be split on commas: quoted it is one name, and the
    suggestion for the unquoted form says how to quote it."""
    from prom.naming import split_column_names

    have = ["age", "pain, baseline", "a "]
    assert split_column_names('age,"pain, baseline"', have) == ["age", "pain, baseline"]
    assert split_column_names("age ,a ", have) == ["age", "a "]  # unquoted as before
    df = own["df"].rename(columns={"lordosis": "lordosis, standing"})
    with pytest.raises(MissingColumnError, match=r"goes in double quotes"):
        fit_task(
            df,
            target="abnormal",
            event_value="Abnormal",
            predictors=["pelvic_tilt", "lordosis", "standing"],
        )
