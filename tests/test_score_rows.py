"""Bulk scoring (`prom score`): every input row is scored or quarantined with its reason.

The bundle is the shared small fit (ODI MCID with XGBoost as primary, triage with
LightGBM); inputs are simulated rows written as a registry would hand them over, with
problems put into known rows so every count can be checked by hand.
"""

from __future__ import annotations

import json
import re

import numpy as np
import pandas as pd
import pytest

from prom.bundle import load_bundle
from prom.cohort import simulate_cohort
from prom.cohort.readers import TableReadError
from prom.errors import MissingColumnError
from prom.instruments import add_scores
from prom.score import ScoreError, score_file
from prom.score.summary_text import summary_lines

pytestmark = pytest.mark.filterwarnings("ignore::prom.errors.StatisticalWarning")

STAMP = "2026-11-24T09:00:00Z"
N = 300

#: 0-based position → the (column, check) problems put there; the quarantine file names
#: rows counting from 1.
BAD = {
    3: [("age_years", "type")],  # malformed: 'abc'
    10: [("sex", "category")],  # unknown category: 'M'
    20: [("age_years", "missing_value")],  # required value missing
    21: [("region", "missing_value")],
    25: [("patient_id", "missing_value")],  # no id: nothing to key the output on
    30: [("patient_id", "duplicate_id")],  # same id as row position 200
    200: [("patient_id", "duplicate_id")],
    40: [("bmi_kg_m2", "out_of_range")],  # wrong unit: 250
    41: [("nrs_back_0m", "out_of_range")],  # wrong unit: 0-100 mm VAS, 65
    42: [("age_years", "out_of_range")],  # wrong unit: months, 720
    50: [("sex", "category"), ("asa_grade", "not_integer")],  # two problems, one row
    60: [("odi_lifting_0m", "out_of_range")],  # item form coded 1-6: 6
}


@pytest.fixture(scope="module")
def clean(tmp_path_factory):
    """Simulated rows as a registry exports them (items, not scores), as CSV."""
    df = simulate_cohort(N, seed=7)
    path = tmp_path_factory.mktemp("score_in") / "clean.csv"
    df.to_csv(path, index=False)
    return df, path


@pytest.fixture(scope="module")
def messy(clean, tmp_path_factory):
    df = clean[0].astype(object).copy()
    df.loc[3, "age_years"] = "abc"
    df.loc[10, "sex"] = "M"
    df.loc[20, "age_years"] = np.nan
    df.loc[21, "region"] = np.nan
    df.loc[25, "patient_id"] = np.nan
    df.loc[200, "patient_id"] = df.loc[30, "patient_id"]
    df.loc[40, "bmi_kg_m2"] = 250.0
    df.loc[41, "nrs_back_0m"] = 65
    df.loc[42, "age_years"] = 720.0
    df.loc[50, "sex"] = "Male"
    df.loc[50, "asa_grade"] = 2.5
    df.loc[60, "odi_lifting_0m"] = 6
    old = next(i for i in range(70, N) if df.loc[i, "region"] == "lumbar" and i not in BAD)
    df.loc[old, "age_years"] = 109.0  # allowed by the contract; flagged
    df.loc[80, "odi_walking_12m"] = 9  # a bad outcome value: ignored
    path = tmp_path_factory.mktemp("score_messy") / "messy.csv"
    df.to_csv(path, index=False)
    return df, path, old


def _run(score_bundle, source, out, **kw):
    kw.setdefault("scored_at", STAMP)
    kw.setdefault("batch_rows", 64)
    return score_file(score_bundle, source, out, **kw)


@pytest.fixture(scope="module")
def messy_run(score_bundle, messy, tmp_path_factory):
    out = tmp_path_factory.mktemp("score_out") / "scored.parquet"
    summary = _run(score_bundle, messy[1], out)
    return summary, pd.read_parquet(out), pd.read_csv(out.with_name("scored.quarantine.csv"))


def test_every_bad_row_is_quarantined_with_its_reasons_and_the_counts_add_up(messy_run):
    summary, _scored, quarantine = messy_run
    rows = summary["rows"]
    assert rows == {
        "read": N,
        "scored": N - len(BAD),
        "quarantined": len(BAD),
        "problems": sum(len(v) for v in BAD.values()),
    }
    assert rows["scored"] + rows["quarantined"] == rows["read"]
    expected = {(pos + 1, col, check) for pos, probs in BAD.items() for col, check in probs}
    assert (
        set(zip(quarantine["row"], quarantine["column"], quarantine["check"], strict=True))
        == expected
    )
    assert len(quarantine) == len(expected)
    assert quarantine["row"].is_monotonic_increasing
    assert (quarantine["expected"].str.len() > 0).all()
    dup = quarantine[quarantine["check"] == "duplicate_id"]
    assert dup["expected"].str.contains("on 2 rows of the input").all()
    assert quarantine.loc[quarantine["row"] == 4, "value"].tolist() == ["abc"]
    assert quarantine.loc[quarantine["row"] == 43, "value"].tolist() == ["720"]
    sexes = quarantine[quarantine["column"] == "sex"].set_index("value")["expected"]
    assert sexes["Male"] == "one of female, male (did you mean 'male' for 'Male'?)"
    assert "'Male'" not in sexes["M"]  # each row's own suggestion only
    assert summary["quarantine_by_check"] == {
        "category": 2,
        "duplicate_id": 2,
        "missing_value": 3,
        "not_integer": 1,
        "out_of_range": 4,
        "type": 1,
    }


def test_every_good_row_is_scored_once_in_input_order(messy_run, messy):
    summary, scored, _ = messy_run
    good = [i for i in range(N) if i not in BAD]
    assert scored["row"].tolist() == [i + 1 for i in good]
    assert scored["patient_id"].tolist() == messy[0]["patient_id"].iloc[good].astype(str).tolist()
    lumbar = messy[0]["region"].iloc[good].eq("lumbar").to_numpy()
    for col in ("p_mcid_odi_12m", "p_triage_conservative", "p_triage_surgery", "p_triage_tfesi"):
        assert scored[col].notna().to_numpy().tolist() == lumbar.tolist(), col
    for t in ("mcid_odi_12m", "triage"):
        assert summary["tasks"][t]["scored"] == int(lumbar.sum())
        assert summary["tasks"][t]["not_in_population"] == int((~lumbar).sum())
    p = scored[["p_triage_conservative", "p_triage_surgery", "p_triage_tfesi"]].dropna()
    np.testing.assert_allclose(p.sum(axis=1), 1.0, rtol=1e-12)
    assert set(scored["scored_at"]) == {STAMP}
    assert set(scored["bundle_id"]) == {summary["bundle"]["bundle_id"]}
    assert set(scored["bundle_sha256"]) == {summary["bundle"]["manifest_sha256"]}


def test_probabilities_are_the_bundle_models_own(messy_run, messy, clean, score_bundle):
    """The scorer adds no arithmetic of its own: the same rows through the loaded bundle's
    predict_proba give the same numbers (items scored with prom.instruments first)."""
    _, scored, _ = messy_run
    df = add_scores(pd.read_csv(clean[1], dtype={"patient_id": str}))
    b = load_bundle(score_bundle)
    rows = df.iloc[scored["row"].to_numpy() - 1]
    rows = rows[rows["region"].eq("lumbar") & (rows.index != messy[2])]  # its age was edited
    got = scored.set_index("row").loc[rows.index + 1]
    np.testing.assert_array_equal(
        got["p_mcid_odi_12m"].to_numpy(), b.tasks["mcid_odi_12m"].predict_proba(rows)[:, 1]
    )
    tri = b.tasks["triage"]
    cols = [f"p_triage_{c}" for c in tri.entry.classes]
    np.testing.assert_array_equal(got[cols].to_numpy(), tri.predict_proba(rows))


def test_a_rows_probabilities_do_not_depend_on_the_rows_scored_with_it(
    score_bundle, clean, tmp_path
):
    """Batches of 7 rows, of 64, and every row alone through the bundle: the same bytes
    (a linear model's matrix product changed the last bit with the number of rows)."""
    runs = {k: _run(score_bundle, clean[1], tmp_path / f"b{k}.csv", batch_rows=k) for k in (7, 64)}
    a, b = (pd.read_csv(tmp_path / f"b{k}.csv") for k in runs)
    prob = [c for c in a.columns if c.startswith("p_")]
    assert (a[prob].fillna(-1).to_numpy() == b[prob].fillna(-1).to_numpy()).all()
    bundle = load_bundle(score_bundle)
    df = add_scores(pd.read_csv(clean[1], dtype={"patient_id": str}))
    rows = df[df["region"].eq("lumbar")].head(40)
    linear = [(n, t.models["logistic"]) for n, t in bundle.tasks.items() if "logistic" in t.models]
    assert linear
    for name, model in linear:
        one = np.vstack([model.predict_proba(rows.iloc[[i]]) for i in range(len(rows))])
        assert (one == model.predict_proba(rows)).all(), name


def test_values_outside_the_training_range_are_flagged_not_dropped(messy_run, messy, score_bundle):
    summary, scored, _ = messy_run
    b = load_bundle(score_bundle)
    top = b.tasks["mcid_odi_12m"].models["xgboost"].preprocessor_.training_ranges_["age_years"]
    assert top["max"] < 109  # precondition: 109 years is beyond the training rows
    flags = scored.set_index("row").loc[messy[2] + 1, "out_of_range"].split(";")
    assert "age_years>max" in flags
    assert summary["out_of_range"]["by_flag"]["age_years>max"] >= 1
    assert summary["out_of_range"]["rows_flagged"] == int((scored["out_of_range"] != "").sum())


def test_values_in_a_training_tail_are_flagged_apart_from_out_of_range(
    messy_run, messy, clean, score_bundle
):
    """A tail flag is a number inside a model's training range but below its 1st or above
    its 99th percentile, recomputed here from the primary models' stored summaries."""
    summary, scored, _ = messy_run
    b = load_bundle(score_bundle)
    rows = [r - 1 for r in scored["row"] if r - 1 != messy[2]]  # that row's age was edited
    df = add_scores(clean[0]).iloc[rows]
    df = df[df["region"] == "lumbar"]  # both tasks' population
    expected = set()
    for name in ("mcid_odi_12m", "triage"):
        task = b.tasks[name]
        pre = task.models[task.primary].preprocessor_
        for col, r in pre.training_ranges_.items():
            if r["kind"] != "numeric" or r["min"] is None or col not in df:
                continue
            v = pd.to_numeric(df[col], errors="coerce").to_numpy(float)
            if ((v >= r["min"]) & (v < r["p01"])).any():
                expected.add(f"{col}<p01")
            if ((v <= r["max"]) & (v > r["p99"])).any():
                expected.add(f"{col}>p99")
    got = summary["in_training_tail"]["by_flag"]
    assert expected and expected <= set(got), (expected, got)
    assert all(k.endswith(("<p01", ">p99")) for k in got)
    text = scored["in_training_tail"]
    assert summary["in_training_tail"]["rows_flagged"] == int((text != "").sum())
    # a row 109 years old is outside the age range, never in its tail
    assert "age_years" not in scored.set_index("row").loc[messy[2] + 1, "in_training_tail"]


def test_a_bad_outcome_value_is_ignored_not_quarantined(messy_run):
    summary, scored, _ = messy_run
    assert 81 in set(scored["row"])
    assert summary["outcome_values_ignored"] == {"odi_walking_12m": 1}
    cal = summary["calibration"]["mcid_odi_12m"]
    assert 0 < cal["n_with_outcome"] <= summary["tasks"]["mcid_odi_12m"]["scored"]
    assert cal["o_e_ratio"] == pytest.approx(cal["observed"] / cal["expected"], rel=1e-5)


def test_strict_stops_at_the_first_bad_row_and_writes_nothing(score_bundle, messy, tmp_path):
    out = tmp_path / "s.parquet"
    with pytest.raises(
        ScoreError,
        match=r"--strict: input row 4 \(line 5\), column 'age_years': value of "
        r"the wrong kind; value 'abc'; expected a number",
    ):
        _run(score_bundle, messy[1], out, strict=True)
    assert list(tmp_path.iterdir()) == []


def test_a_missing_required_column_stops_the_run_before_scoring(score_bundle, clean, tmp_path):
    src = tmp_path / "no_age.csv"
    clean[0].drop(columns=["age_years"]).to_csv(src, index=False)
    with pytest.raises(
        MissingColumnError,
        match=r"lacks column\(s\) the bundle needs: age_years \(tasks "
        r"mcid_odi_12m, triage\)",
    ):
        _run(score_bundle, src, tmp_path / "o.parquet")
    assert not (tmp_path / "o.parquet").exists()


def test_a_part_of_a_parquet_dataset_lacking_a_needed_column_stops_the_run(
    score_bundle, clean, tmp_path
):
    """Another part having the column does not give this part's rows a value: read as
    they were, its rows would all be imputed (or quarantined) there without a word."""
    folder = tmp_path / "parts"
    folder.mkdir()
    df = clean[0]
    df.iloc[:150].to_parquet(folder / "a.parquet")
    df.iloc[150:].drop(columns=["bmi_kg_m2"]).to_parquet(folder / "b.parquet")
    with pytest.raises(
        MissingColumnError,
        match=rf"'parts' lack column\(s\) the bundle needs that other parts have: b\.parquet "
        rf"\({len(df) - 150:,} rows\) lacks bmi_kg_m2\..* Nothing was scored",
    ):
        _run(score_bundle, folder, tmp_path / "o.parquet")
    assert not (tmp_path / "o.parquet").exists()
    # the same parts with the same columns are scored; a sidecar of the writer is passed
    df.iloc[150:].to_parquet(folder / "b.parquet")
    (folder / "_SUCCESS").write_text("")
    assert _run(score_bundle, folder, tmp_path / "o.parquet")["rows"]["read"] == len(df)
    # a file that is not Parquet would be left out of every count: refused
    df.iloc[:10].to_csv(folder / "late.csv", index=False)
    with pytest.raises(TableReadError, match=r"holds files that are not Parquet \(late\.csv\)"):
        _run(score_bundle, folder, tmp_path / "o2.parquet")


def test_the_inputs_own_scores_fill_in_where_its_items_give_none_and_differences_count(
    score_bundle, clean, tmp_path
):
    """The rule of prom.instruments.given, in bulk: the items' ODI where they give one
    (8 rows where the input's is 30 points off are counted), the input's where they give
    none (not imputed), an input score out of range not used; the terminal says so."""
    from prom.instruments import INSTRUMENTS, score_table

    df = clean[0].copy()
    items = list(INSTRUMENTS["odi"].item_columns("0m").values())
    odi = score_table(df)["odi_0m"]
    lumbar = df.index[(df["region"] == "lumbar") & (odi <= 60)]
    df["odi_0m"] = odi.round(1)
    off, blank = lumbar[:8], lumbar[8:14]
    df.loc[off, "odi_0m"] += 30
    df.loc[blank, items] = np.nan
    df.loc[blank[-1], "odi_0m"] = 140.0
    src = tmp_path / "given.csv"
    df.to_csv(src, index=False)
    summary = _run(score_bundle, src, tmp_path / "o.parquet")
    c = summary["proms_scored_from_items"]["odi_0m"]
    assert (c["input_differs"], c["as_given"]) == (8, 5)
    assert summary["outcome_values_ignored"]["odi_0m"] == 1  # 140: outside the contract
    lines = "\n".join(summary_lines(summary))
    assert "differs from its items' score by more than 0.5 points on 8 row(s)" in lines
    assert "used as given on 5 row(s)" in lines
    assert "the input's odi_0m: 1 value(s) outside the data contract (not used)" in lines
    out = pd.read_parquet(tmp_path / "o.parquet").set_index("row")
    flags = out["out_of_range"].fillna("")
    kept = blank[:-1] + 1  # output rows count from 1: the input's score read, none missing
    assert not flags.loc[kept].str.contains("odi_0m:missing").any()
    assert "odi_0m:missing" in flags.loc[blank[-1] + 1]


def test_an_existing_output_is_kept_unless_overwrite(score_bundle, clean, tmp_path):
    out = tmp_path / "o.csv"
    out.write_text("keep me")
    with pytest.raises(ScoreError, match="exists; choose another output or pass overwrite"):
        _run(score_bundle, clean[1], out)
    assert out.read_text(encoding="utf-8") == "keep me"


@pytest.fixture(scope="module")
def clean_scored(score_bundle, clean, tmp_path_factory):
    out = tmp_path_factory.mktemp("score_clean") / "clean.parquet"
    summary = _run(score_bundle, clean[1], out)
    return summary, pd.read_parquet(out)


def test_parquet_and_duckdb_inputs_give_the_same_rows_as_csv(
    score_bundle, clean, clean_scored, tmp_path
):
    import duckdb

    df = pd.read_csv(clean[1], dtype={"patient_id": str})
    df.to_parquet(tmp_path / "in.parquet", row_group_size=100)
    con = duckdb.connect(str(tmp_path / "in.duckdb"))
    con.execute("CREATE TABLE registry AS SELECT * FROM df")
    con.close()
    want = clean_scored[1]
    for src, kw in ((tmp_path / "in.parquet", {}), (tmp_path / "in.duckdb", {"table": "registry"})):
        out = tmp_path / f"{src.suffix[1:]}.parquet"
        _run(score_bundle, src, out, **kw)
        pd.testing.assert_frame_equal(pd.read_parquet(out), want, check_exact=True)


def test_a_column_mapping_gives_the_same_scores(score_bundle, clean, clean_scored, tmp_path):
    """Invariance: the registry's own names, codes and units, mapped onto the contract."""
    df = pd.read_csv(clean[1], dtype={"patient_id": str})
    own = df.rename(
        columns={
            "patient_id": "PatID",
            "age_years": "Age",
            "sex": "Gender",
            "nrs_back_0m": "VAS_back_pre",
        }
    )
    own["Gender"] = own["Gender"].map({"male": "M", "female": "F"})
    own["VAS_back_pre"] = own["VAS_back_pre"] * 10
    own.to_csv(tmp_path / "own.csv", index=False)
    (tmp_path / "own.yaml").write_text(
        "version: 1\nkeep_unmapped: true\ncolumns:\n"
        "  PatID: patient_id\n  Age: age_years\n"
        "  Gender: {to: sex, values: {M: male, F: female}}\n"
        "  VAS_back_pre: {to: nrs_back_0m, unit: vas_0_100}\n"
    )
    summary = _run(
        score_bundle, tmp_path / "own.csv", tmp_path / "own.parquet", mapping=tmp_path / "own.yaml"
    )
    got = pd.read_parquet(tmp_path / "own.parquet")
    want = clean_scored[1]
    prob = [c for c in want.columns if c.startswith("p_")]
    np.testing.assert_allclose(got[prob].to_numpy(), want[prob].to_numpy(), rtol=1e-12)
    assert got["patient_id"].tolist() == want["patient_id"].tolist()
    recoded = {
        m["source"]: m["n_values"] for m in summary["mapping_values"] if m["action"] == "recode"
    }
    assert recoded == {"Gender": N}
    assert summary["options"]["mapping"] == "own.yaml"


def test_a_mapped_value_that_cannot_be_converted_quarantines_its_row_naming_the_file(
    score_bundle, clean, tmp_path
):
    """A unit conversion of 'n/a' fails that row, not the run; the quarantine names the
    file's column and value beside the contract's."""
    df = pd.read_csv(clean[1], dtype={"patient_id": str}).rename(
        columns={"nrs_back_0m": "VAS_back_pre"}
    )
    df["VAS_back_pre"] = (df["VAS_back_pre"] * 10).astype(object)
    df.loc[4, "VAS_back_pre"] = "n/a"
    df.loc[7, "VAS_back_pre"] = 105
    df.to_csv(tmp_path / "own.csv", index=False)
    (tmp_path / "own.yaml").write_text(
        "version: 1\nkeep_unmapped: true\ncolumns:\n"
        "  VAS_back_pre: {to: nrs_back_0m, unit: vas_0_100}\n"
    )
    summary = _run(
        score_bundle, tmp_path / "own.csv", tmp_path / "o.csv", mapping=tmp_path / "own.yaml"
    )
    assert summary["rows"]["read"] == N and summary["rows"]["quarantined"] == 2
    q = pd.read_csv(tmp_path / "o.quarantine.csv", keep_default_na=False).set_index("line")
    assert q.loc[6, "check"] == "type" and q.loc[6, "value"] == "n/a"
    assert q.loc[6, "expected"].endswith("(the file's VAS_back_pre: 'n/a')")
    assert q.loc[9, "check"] == "out_of_range" and float(q.loc[9, "value"]) == 10.5
    assert q.loc[9, "expected"].endswith("(the file's VAS_back_pre: '105', converted)")


def test_the_cli_scores_and_prints_the_accounting(score_bundle, messy, tmp_path):
    from typer.testing import CliRunner

    from prom.cli import app

    res = CliRunner().invoke(
        app,
        [
            "score",
            "-b",
            str(score_bundle),
            "-i",
            str(messy[1]),
            "-o",
            str(tmp_path / "s.csv"),
            "--scored-at",
            STAMP,
            "--reasons-above",
            "0.9",
        ],
    )
    assert res.exit_code == 0, res.output
    assert f"read {N:,} row(s): scored {N - len(BAD):,}, quarantined {len(BAD)}" in res.output
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "s.csv",
        "s.quarantine.csv",
        "s.summary.json",
    ]


def test_reasons_for_all_rows_or_only_above_a_risk(score_bundle, clean, clean_scored, tmp_path):
    from prom.explain import explain_rows, top_reasons

    out = tmp_path / "r.parquet"
    summary = _run(score_bundle, clean[1], out, reasons=True, top_k=2)
    got = pd.read_parquet(out)
    inside = got["p_mcid_odi_12m"].notna()
    assert got["mcid_odi_12m_reason_1"].notna().tolist() == inside.tolist()
    assert summary["tasks"]["mcid_odi_12m"]["reasons"] == int(inside.sum())
    # the same reasons as prom.explain gives for those rows
    df = add_scores(pd.read_csv(clean[1], dtype={"patient_id": str}))
    rows = df.iloc[got.loc[inside, "row"].to_numpy()[:25] - 1]
    bt = load_bundle(score_bundle).tasks["mcid_odi_12m"]
    groups = bt.entry.explain_groups  # predictors explained together, decided at fit time
    want = top_reasons(
        explain_rows(bt.models["xgboost"], rows, output="probability", groups=groups), 2
    )
    first = want[want["rank"] == 1]
    assert got.loc[inside, "mcid_odi_12m_reason_1"].iloc[:25].tolist() == first["variable"].tolist()
    np.testing.assert_allclose(
        got.loc[inside, "mcid_odi_12m_reason_1_points"].iloc[:25], first["contribution"], rtol=1e-12
    )
    assert got.loc[inside, "triage_reasons_for"].notna().all()

    out2 = tmp_path / "r2.parquet"
    _run(score_bundle, clean[1], out2, reasons_above=0.6)
    got2 = pd.read_parquet(out2)
    want_rows = got2["p_mcid_odi_12m"].fillna(-1) >= 0.6
    assert got2["mcid_odi_12m_reason_1"].notna().tolist() == want_rows.tolist()
    assert 0 < want_rows.sum() < inside.sum()
    tri = got2[["p_triage_conservative", "p_triage_surgery", "p_triage_tfesi"]].max(axis=1)
    assert got2["triage_reason_1"].notna().tolist() == (tri.fillna(-1) >= 0.6).tolist()


def test_approximate_reasons_for_xgboost_exact_for_the_others(score_bundle, clean, tmp_path):
    """--reasons-method approx: XGBoost's Saabas attribution for the ODI task (additive:
    the points of all variables sum to p − p0, like TreeSHAP's), exact TreeSHAP for the
    LightGBM triage task, and the summary says which."""
    from prom.explain import explain_rows

    exact, approx = tmp_path / "e.parquet", tmp_path / "a.parquet"
    _run(score_bundle, clean[1], exact, reasons=True, top_k=3)
    summary = _run(score_bundle, clean[1], approx, reasons=True, top_k=3, reasons_method="approx")
    assert summary["options"]["reasons_method"] == "approx"
    assert summary["tasks"]["mcid_odi_12m"]["reasons_method"] == "approx"
    assert summary["tasks"]["triage"]["reasons_method"] == "exact"
    e, a = pd.read_parquet(exact), pd.read_parquet(approx)
    tri = [c for c in e.columns if c.startswith("triage_reason")]
    pd.testing.assert_frame_equal(e[tri], a[tri])
    inside = a["p_mcid_odi_12m"].notna()
    assert a.loc[inside, "mcid_odi_12m_reason_1"].notna().all()

    def top(f):
        return [
            frozenset(r)
            for r in f.loc[
                inside,
                [f"mcid_odi_12m_reason_{i}" for i in (1, 2, 3)],
            ].to_numpy()
        ]

    agree = np.mean([x == y for x, y in zip(top(e), top(a), strict=True)])
    assert 0.5 < agree <= 1.0  # close to TreeSHAP, not the same thing
    df = add_scores(pd.read_csv(clean[1], dtype={"patient_id": str}))
    rows = df.iloc[a.loc[inside, "row"].to_numpy()[:40] - 1]
    model = load_bundle(score_bundle).tasks["mcid_odi_12m"].models["xgboost"]
    ex = explain_rows(model, rows, output="probability", method="approx")
    assert ex.method == "approx"
    p = model.predict_proba(rows)[:, 1]
    np.testing.assert_allclose(ex.values.sum(axis=1).to_numpy() + ex.base_value, p, atol=1e-6)
    with pytest.raises(ValueError, match="XGBoost"):
        explain_rows(
            load_bundle(score_bundle).tasks["triage"].models["lightgbm"], rows, method="approx"
        )
    with pytest.raises(ScoreError, match="reasons_method"):
        _run(score_bundle, clean[1], tmp_path / "x.parquet", reasons=True, reasons_method="fast")


def test_drift_section_compares_with_the_training_data(score_bundle, clean, clean_scored, tmp_path):
    drift = clean_scored[0]["drift"]["tasks"]["mcid_odi_12m"]
    age = drift["age_years"]
    assert age["kind"] == "numeric" and age["psi"] is not None
    assert abs(age["std_diff"]) < 0.3  # same simulator, another sample
    assert drift["sex"]["kind"] == "categorical" and drift["sex"]["unseen_fraction"] == 0
    older = pd.read_csv(clean[1], dtype={"patient_id": str})
    older["age_years"] = np.minimum(older["age_years"] + 25, 110)
    older.to_csv(tmp_path / "older.csv", index=False)
    shifted = _run(score_bundle, tmp_path / "older.csv", tmp_path / "older.parquet")
    age2 = shifted["drift"]["tasks"]["mcid_odi_12m"]["age_years"]
    assert age2["std_diff"] > 1.0 and age2["psi"] > 0.25 and age2["shift"] == "major"
    assert json.dumps(shifted)  # the summary is plain JSON


def test_drift_is_not_judged_on_too_few_rows(score_bundle, clean, tmp_path):
    """On 17 rows sampling alone gives PSI readings far above 0.1: reported, not judged;
    one printed line says so per task. The full table is judged as before."""
    from prom.score.drift import ROWS_PER_BIN
    from prom.score.summary_text import summary_lines

    few = clean[0].head(17)
    few.to_csv(tmp_path / "few.csv", index=False)
    report = _run(score_bundle, tmp_path / "few.csv", tmp_path / "few.parquet")
    age = report["drift"]["tasks"]["mcid_odi_12m"]["age_years"]
    assert age["shift"] == "not judged" and age["psi"] is not None
    n = report["tasks"]["mcid_odi_12m"]["scored"]  # the lumbar rows among the 17
    assert age["n"] == n and 0 < n <= 17
    assert age["note"].startswith(f"{n} row(s): a shift is judged on {ROWS_PER_BIN * 10} or more")
    line = next(x for x in summary_lines(report) if x.startswith("  drift not judged"))
    assert re.search(rf"mcid_odi_12m (\d+) of \1 \({n} row\(s\)\)", line), line
    assert not any(x.startswith("  drift, ") for x in summary_lines(report))


def test_options_are_checked_before_anything_is_read(score_bundle, clean, tmp_path):
    for kw, msg in (
        ({"reasons_above": 1.5}, "expected a probability in 0–1"),
        ({"top_k": 0}, "top_k=0; expected a whole number ≥ 1"),
        ({"batch_rows": 0}, "batch_rows=0"),
        ({"engine": "spark"}, "engine='spark'; expected 'local' or 'dask'"),
        ({"scored_at": "yesterday"}, "not an ISO-8601 time"),
        ({"scored_at": "2026-11-24T09:00:00"}, "has no time zone"),
    ):
        with pytest.raises(ScoreError, match=msg):
            _run(score_bundle, clean[1], tmp_path / "o.parquet", **kw)
    with pytest.raises(ScoreError, match="unsupported extension"):
        _run(score_bundle, clean[1], tmp_path / "o.xlsx")
    with pytest.raises(TableReadError, match=r"Parquet inputs .* for the Dask engine"):
        _run(score_bundle, clean[1], tmp_path / "o.parquet", engine="dask")
    assert list(tmp_path.iterdir()) == []


def test_text_deep_in_a_numeric_column_gives_no_pandas_warning(score_bundle, clean, tmp_path):
    """A large batch whose numeric column holds text far down: pandas' DtypeWarning (its
    own line on the terminal) is not shown; the row is quarantined by name as ever."""
    import warnings

    df = pd.concat([clean[0]] * 40, ignore_index=True).astype({"bmi_kg_m2": object})
    df["patient_id"] = [f"P{i:06d}" for i in range(len(df))]
    df.loc[len(df) - 10, "bmi_kg_m2"] = "abc"
    src = tmp_path / "deep.csv"
    df.to_csv(src, index=False)
    with warnings.catch_warnings():
        warnings.simplefilter("error", pd.errors.DtypeWarning)
        summary = _run(score_bundle, src, tmp_path / "deep.parquet", batch_rows=len(df))
    assert summary["rows"]["quarantined"] == 1


def test_progress_is_told_the_rows_read_out_of_the_input(score_bundle, clean, tmp_path):
    """The callback behind the terminal's progress bar: rows read so far, of the rows the
    id pass counted, after every batch; the last call is the whole input."""
    from prom.cli.scoring import score_progress

    calls: list[tuple[int, int]] = []
    _run(
        score_bundle,
        clean[1],
        tmp_path / "p.parquet",
        batch_rows=64,
        progress=lambda d, t: calls.append((d, t)),
    )
    assert calls[-1] == (N, N) and len(calls) == -(-N // 64)
    assert [d for d, _ in calls] == sorted(d for d, _ in calls)
    with score_progress(force=False) as none:
        assert none is None  # a pipe or a log: no bar
    with score_progress(force=True) as shown:
        shown(10, N)  # draws on stderr's console without failing


def test_an_input_of_no_data_rows_is_said(score_bundle, clean, tmp_path):
    from prom.score import summary_lines

    src = tmp_path / "header_only.csv"
    src.write_text(clean[1].read_text(encoding="utf-8").splitlines()[0] + "\n", encoding="utf-8")
    summary = _run(score_bundle, src, tmp_path / "none.parquet")
    assert summary["rows"]["read"] == 0
    assert (
        "  caution: the input holds no data rows (a header only, or an empty table): nothing "
        "was scored"
    ) in summary_lines(summary)
