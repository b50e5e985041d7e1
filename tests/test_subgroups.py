"""Subgroup performance and calibration: the per-group tables, the groupings, and the
tables in ``prom fit``, ``prom evaluate``, the bundle's validation record and the report.

R references: tests/reference/metrics/ (make_reference.R; R 4.2.2, pROC, stats::glm,
survival): each reference dataset (``main``, ``ties``) is one group of a stacked table, so
a group's figures must be R's figures for that dataset.
"""

from __future__ import annotations

import html as html_lib
import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy.special import ndtri
from typer.testing import CliRunner

from prom.validation import auc_ci, calibration_intercept_slope, concordance
from prom.validation.subgroups import (
    MIN_EVENTS,
    MIN_PUBLISHED_ROWS,
    MIN_ROWS,
    MISSING,
    SUBGROUP_COLUMNS,
    multiclass_subgroup_performance,
    subgroup_performance,
    survival_subgroup_performance,
)
from prom.workflows.subgroups import (
    AGE_BANDS,
    MAX_GROUPS,
    parse_subgroup_columns,
    subgroup_variables,
)

REF = Path(__file__).parent / "reference" / "metrics"
runner = CliRunner()


@pytest.fixture(scope="module")
def binary():
    return pd.read_csv(REF / "binary_inputs.csv")


# ---- per-group metrics against R and against the overall functions ---------------------


def test_group_auc_and_calibration_match_r_per_dataset(binary):
    """pROC ci.auc(method = "delong") and glm(binomial) recalibration of each dataset."""
    auc_ref = pd.read_csv(REF / "auc_ref.csv").query("level == 0.95")
    recal_ref = pd.read_csv(REF / "recal_ref.csv")
    for predictor in ("p1", "p2"):
        t = subgroup_performance(
            binary.y, binary[predictor], binary.dataset, variable="dataset"
        ).set_index("group")
        assert list(t.index) == ["main", "ties"]
        for r in auc_ref[auc_ref.predictor == predictor].itertuples():
            g = t.loc[r.dataset]
            assert (g.n, g.events) == (r.n, r.n_events)
            # rtol=1e-12: the same mid-rank DeLong computation (as test_metrics_discrimination)
            np.testing.assert_allclose(
                [g.auc, g.auc_low, g.auc_high], [r.auc, r.low, r.high], rtol=1e-12
            )
        for r in recal_ref[recal_ref.predictor == predictor].itertuples():
            g = t.loc[r.dataset]
            # rtol=1e-10: both the MLE to machine precision (as test_metrics_calibration)
            np.testing.assert_allclose(
                [g.citl, g.intercept, g.slope], [r.citl, r.intercept, r.slope], rtol=1e-10
            )
            z = ndtri(0.975)
            # rtol=1e-7: glm's SEs use the weights of the iteration before the last
            np.testing.assert_allclose(
                [g.slope_low, g.slope_high],
                [r.slope - z * r.slope_se, r.slope + z * r.slope_se],
                rtol=1e-7,
            )


def _data(n=600, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n)
    p = 1 / (1 + np.exp(-(0.3 + 1.2 * x)))
    y = (rng.random(n) < 1 / (1 + np.exp(-(0.1 + x)))).astype(int)
    g = rng.choice(["a", "b", "c"], size=n, p=[0.5, 0.3, 0.2])
    return y, p, g


def test_each_group_equals_the_overall_functions_on_its_rows():
    y, p, g = _data()
    t = subgroup_performance(y, p, g, variable="arm")
    assert list(t.columns) == list(SUBGROUP_COLUMNS)
    assert (t["variable"] == "arm").all()
    for r in t.itertuples():
        m = g == r.group
        a = auc_ci(y[m], p[m])
        c = calibration_intercept_slope(y[m], p[m])
        assert (r.n, r.events) == (m.sum(), y[m].sum())
        assert (r.auc, r.auc_low, r.auc_high) == (a.auc, a.low, a.high)
        assert (r.citl, r.intercept, r.slope) == (c.citl, c.intercept, c.slope)
        assert (r.slope_low, r.slope_high) == (c.slope_low, c.slope_high)
        assert r.o_e == pytest.approx(y[m].sum() / p[m].sum(), rel=1e-12)
        assert r.note is None


def test_shuffled_rows_give_the_same_table():
    y, p, g = _data(seed=3)
    t = subgroup_performance(y, p, g)
    perm = np.random.default_rng(1).permutation(y.size)
    u = subgroup_performance(y[perm], p[perm], g[perm])
    pd.testing.assert_frame_equal(t, u, rtol=1e-12)


def test_small_groups_are_listed_with_a_note_and_tiny_ones_suppressed():
    rng = np.random.default_rng(2)
    n_big, n_small, n_tiny, n_few = 200, MIN_ROWS - 1, MIN_PUBLISHED_ROWS - 1, 120
    g = np.array(["big"] * n_big + ["small"] * n_small + ["tiny"] * n_tiny + ["few"] * n_few)
    y = (rng.random(g.size) < 0.5).astype(int)
    y[g == "few"] = 0
    y[np.flatnonzero(g == "few")[: MIN_EVENTS - 1]] = 1  # 9 events in 120 rows
    p = np.clip(rng.random(g.size), 0.05, 0.95)
    t = subgroup_performance(y, p, g).set_index("group")
    assert t.loc["big", "note"] is None and np.isfinite(t.loc["big", "auc"])
    small = t.loc["small"]  # the smallest published group: its counts are withheld too,
    # else the tiny group's would follow from the total by subtraction
    assert pd.isna(small.n) and pd.isna(small.events) and np.isnan(small.auc)
    assert small.note == (
        f"too few to judge (< {MIN_ROWS} rows); counts withheld so that those of a "
        "suppressed group cannot be derived by subtraction"
    )
    few = t.loc["few"]
    assert few.n == n_few and few.events == MIN_EVENTS - 1 and np.isnan(few.auc)
    assert few.note == f"too few to judge (< {MIN_EVENTS} events)"
    tiny = t.loc["tiny"]  # no counts at all: a single patient could be read from them
    assert pd.isna(tiny.n) and pd.isna(tiny.events) and np.isnan(tiny.o_e)
    assert tiny.note.startswith("suppressed")
    # a published group whose events or non-events number fewer than 5: its event count
    # is withheld (the non-events follow from n), its n stays
    y3 = y.copy()
    y3[g == "few"] = 1
    y3[np.flatnonzero(g == "few")[:3]] = 0  # 117 events, 3 non-events
    w = subgroup_performance(y3, p, g).set_index("group").loc["few"]
    assert w.n == n_few and pd.isna(w.events)
    assert w.note == (
        f"too few to judge (< {MIN_EVENTS} non-events); event count withheld (fewer than "
        f"{MIN_PUBLISHED_ROWS} events or non-events)"
    )
    # two suppressed groups holding 5 rows together: nothing else is withheld
    g2 = np.where(np.arange(g.size) < 2, "two", np.where(g == "tiny", "three", g))
    g2[np.flatnonzero(g == "tiny")[-1]] = "small"
    u = subgroup_performance(y, p, g2).set_index("group")
    assert pd.isna(u.loc["two", "n"]) and pd.isna(u.loc["three", "n"])
    assert u.loc["small", "n"] == n_small + 1 and u.loc["big", "n"] == n_big - 2


def test_missing_labels_form_their_own_group_listed_last():
    y, p, g = _data(n=400, seed=4)
    labels = pd.Series(g, dtype=object)
    labels[:60] = None
    t = subgroup_performance(y, p, labels, order=["c", "b"])
    assert list(t["group"]) == ["c", "b", "a", MISSING]
    assert t.set_index("group").loc[MISSING, "n"] == 60


def test_separation_within_a_group_becomes_its_note():
    y = np.r_[np.zeros(30), np.ones(30), np.zeros(30), np.ones(30)].astype(int)
    p = np.r_[np.full(30, 0.2), np.full(30, 0.8), np.linspace(0.1, 0.9, 60)]
    g = np.array(["sep"] * 60 + ["ok"] * 60)
    t = subgroup_performance(y, p, g).set_index("group")
    assert t.loc["sep", "auc"] == 1.0 and np.isnan(t.loc["sep", "slope"])
    assert "separate" in t.loc["sep", "note"]


def test_bad_groups_are_refused():
    y, p, g = _data(n=100)
    with pytest.raises(ValueError, match="groups has 99 labels for 100 rows"):
        subgroup_performance(y, p, g[:99])
    with pytest.raises(TypeError, match="one label per row"):
        subgroup_performance(y, p, "sex")
    with pytest.raises(ValueError, match="1 missing"):
        subgroup_performance(y, np.r_[np.nan, p[1:]], g)


def test_multiclass_is_one_vs_rest_per_class():
    rng = np.random.default_rng(5)
    n = 600
    P = rng.dirichlet([2, 2, 2], size=n)
    lab = np.array([rng.choice(["x", "y", "z"], p=row) for row in P], dtype=object)
    g = rng.choice(["m", "f"], size=n)
    t = multiclass_subgroup_performance(lab, P, ["x", "y", "z"], g, variable="sex")
    assert list(t["group"]) == ["f"] * 3 + ["m"] * 3
    assert list(t["class"]) == ["x", "y", "z"] * 2
    for r in t.itertuples():
        k = "xyz".index(r._3)  # the "class" column
        m = g == r.group
        yk = (lab[m] == r._3).astype(int)
        a = auc_ci(yk, P[m, k])
        assert (r.events, r.auc) == (yk.sum(), a.auc)
        assert r.slope == calibration_intercept_slope(yk, P[m, k]).slope


def test_survival_c_per_group_matches_survival_concordance():
    """survival::concordance(Surv(time, event) ~ risk, reverse = TRUE) on all 400 rows."""
    s = pd.read_csv(REF / "survival_inputs.csv")
    ref = pd.read_csv(REF / "concordance_ref.csv").set_index("score").loc["risk"]
    one = survival_subgroup_performance(s.time, s.event, s.risk, np.full(len(s), "all"))
    z = ndtri(0.975)
    # rtol=1e-12: the same pair counts as survival (test_metrics_survival)
    np.testing.assert_allclose(
        one.loc[0, ["c", "c_low", "c_high"]].to_numpy(float),
        [ref.c, ref.c - z * ref.se, ref.c + z * ref.se],
        rtol=1e-12,
    )
    half = np.where(s.group <= 5, "g1-5", "g6-10")
    t = survival_subgroup_performance(s.time, s.event, s.risk, half)
    for r in t.itertuples():
        m = half == r.group
        assert r.c == concordance(s.time[m], s.event[m], s.risk[m]).c
    per10 = survival_subgroup_performance(s.time, s.event, s.risk, s.group)
    assert (
        per10["c"].isna().all() and (per10["note"] == f"too few to judge (< {MIN_ROWS} rows)").all()
    )


# ---- which groupings ---------------------------------------------------------------------


def _table(n=400, seed=0):
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "age_years": rng.uniform(20, 90, n).round(1),
            "sex": rng.choice(["female", "male"], n),
            "site": rng.choice(["north", "south", "west"], n),
            "grip_kg": rng.normal(30, 8, n),
            "clinic": rng.choice(["public", "private"], n),
            "score3": rng.integers(0, 3, n).astype(float),
            "visit_id": np.arange(n).astype(str),
        }
    )


def test_standard_groupings_and_age_band_edges():
    d = _table()
    d.loc[:3, "age_years"] = [39.9, 40.0, 74.99, 75.0]
    d.loc[4, "sex"] = None
    vs = subgroup_variables(d, d.index, site_column="site")
    assert [v.name for v in vs] == ["sex", "age band", "site"]
    age = vs[1]
    assert list(age.labels[:4]) == ["<40", "40–59", "60–74", "≥75"]
    assert age.order == tuple(b[0] for b in AGE_BANDS)
    assert "<40, 40–59, 60–74, ≥75 years" in age.how
    assert vs[0].labels[4] is None  # tabulated as "missing"


def test_user_columns_quartiles_as_is_and_too_many_groups():
    d = _table()
    vs = {
        v.name: v
        for v in subgroup_variables(
            d, d.index, site_column=None, columns=["grip_kg", "clinic", "score3", "visit_id"]
        )
    }
    q = vs["grip_kg"]
    cuts = np.quantile(d["grip_kg"], [0.25, 0.5, 0.75])
    assert "quartiles" in q.how and f"{cuts[0]:.4g}" in q.how
    counts = q.labels.value_counts()
    assert sorted(counts.index) == list(q.order) and len(q.order) == 4
    assert counts.min() >= 99 and counts.max() <= 101
    assert (q.labels[d["grip_kg"] < cuts[0]] == q.order[0]).all()
    assert set(vs["clinic"].labels) == {"public", "private"}
    assert set(vs["score3"].labels) == {"0", "1", "2"}  # few distinct numbers: as recorded
    assert "each value a group" in vs["score3"].how
    ids = vs["visit_id"]
    assert ids.labels is None and f"more than {MAX_GROUPS} groups" in ids.how


def test_unknown_subgroup_column_is_named():
    d = _table()
    with pytest.raises(ValueError, match=r"subgroup column\(s\) 'wieght' not in the table"):
        subgroup_variables(d, d.index, columns=["sex", "wieght"])
    assert parse_subgroup_columns(" a, b,,a ") == ("a", "b")
    # a header exported with a trailing space is kept as typed when the table has it
    assert parse_subgroup_columns("Clinic ,b", ["Clinic ", "b"]) == ("Clinic ", "b")
    assert parse_subgroup_columns("Clinic ,b", ["Clinic", "b"]) == ("Clinic", "b")


# ---- fit, record, evaluate and report through the CLI ------------------------------------


def _own_csv(path: Path, n=420, seed=11) -> Path:
    """A researcher's own table: their own column names, a binary outcome."""
    rng = np.random.default_rng(seed)
    d = _table(n, seed)
    d["x1"] = rng.normal(size=n)
    d["x2"] = rng.normal(size=n)
    lp = 0.2 + 1.0 * d["x1"] - 0.6 * d["x2"] + 0.01 * (d["age_years"] - 55)
    d["good"] = (rng.random(n) < 1 / (1 + np.exp(-lp))).astype(int)
    d.loc[:2, "clinic"] = "mobile"  # a group of 3 rows: suppressed
    d = d.drop(columns="visit_id")
    d.to_csv(path, index=False)
    return path


@pytest.fixture(scope="module")
def fitted(tmp_path_factory, lab_keys):
    from prom.cli import app

    root = tmp_path_factory.mktemp("subgroups")
    csv = _own_csv(root / "own.csv")
    out = root / "bundle"
    res = runner.invoke(
        app,
        [
            "fit", "--data", str(csv), "--target", "good",
            "--predictors", "x1,x2,age_years",
            "--models", "logistic,elastic_net",
            "--folds", "2", "--n-iter", "1", "--boot", "10", "--optimism-boot", "0",
            "--jobs", "1", "--subgroups", "clinic,grip_kg", "--out", str(out),
        ],
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    return {"root": root, "csv": csv, "bundle": out, "output": res.output}


def test_prom_fit_prints_the_subgroup_table_and_records_aggregates_only(fitted):
    from prom.bundle import load_bundle

    text = re.sub(r"\s+", " ", fitted["output"])
    assert "by subgroup (out-of-fold predictions" in text
    for v in ("sex", "age band", "site", "clinic", "grip_kg"):
        assert f"subgroups by {v}:" in text
    assert "grip_kg = Q1: <" in text and "clinic = mobile: suppressed: fewer than 5 rows" in text
    bt = load_bundle(fitted["bundle"]).task("good")
    sg = bt.read_record()["subgroups"]
    assert set(sg["models"]) == {bt.primary, "logistic"}
    rows = sg["models"]["logistic"]
    assert {r["variable"] for r in rows} == {"sex", "age band", "site", "clinic", "grip_kg"}
    mobile = next(r for r in rows if r["group"] == "mobile")
    assert mobile["n"] is None and mobile["auc"] is None  # not even the count
    # the record's figures are the metrics of the out-of-fold predictions' groups, and
    # it holds no row-level value: every list is one row per group
    data = pd.read_csv(fitted["csv"])
    female = next(r for r in rows if r["variable"] == "sex" and r["group"] == "female")
    assert female["n"] == int((data["sex"] == "female").sum())
    assert len(json.dumps(sg)) < 40_000


def test_prom_evaluate_prints_subgroups_and_names_a_missing_column(fitted):
    from prom.cli import app

    b, csv = str(fitted["bundle"]), str(fitted["csv"])
    res = runner.invoke(app, ["evaluate", "--bundle", b, "--data", csv, "--subgroups", "clinic"])
    assert res.exit_code == 0, res.output
    text = re.sub(r"\s+", " ", res.output)
    assert "by subgroup (the evaluation rows" in text and "subgroups by clinic:" in text
    res = runner.invoke(app, ["evaluate", "--bundle", b, "--data", csv, "--json"])
    assert res.exit_code == 0, res.output
    sg = json.loads(res.stdout)["tasks"]["good"]["subgroups"]  # tables on stderr, not stdout
    assert {v["name"] for v in sg["variables"]} == {"sex", "age band", "site"}
    assert all(r["note"] or r["auc"] is not None for r in sg["models"]["logistic"])
    res = runner.invoke(app, ["evaluate", "--bundle", b, "--data", csv, "--subgroups", "clnic"])
    assert res.exit_code == 2
    assert "'clnic' not in the table" in res.output


def test_prom_fit_refuses_a_missing_subgroup_column_before_fitting(fitted, tmp_path):
    from prom.cli import app

    res = runner.invoke(
        app,
        ["fit", "--data", str(fitted["csv"]), "--target", "good", "--predictors", "x1,x2",
         "--subgroups", "clinic,wieght", "--out", str(tmp_path / "b")],
    )  # fmt: skip
    assert res.exit_code == 2
    assert "--subgroups: subgroup column(s) 'wieght' not in the table" in res.output
    assert not (tmp_path / "b").exists()


def test_report_has_the_subgroup_section_with_the_records_numbers(fitted):
    from prom.bundle import load_bundle
    from prom.cli import app

    out = fitted["root"] / "report.html"
    res = runner.invoke(app, ["report", "--bundle", str(fitted["bundle"]), "--out", str(out)])
    assert res.exit_code == 0, res.output
    html = out.read_text(encoding="utf-8")
    start = html.index('id="task-good-subgroups"')
    part = html[start : html.index("</section>", start)]
    rec = load_bundle(fitted["bundle"]).task("good").read_record()["subgroups"]
    cells = {}
    for attrs in re.findall(r"<td ([^>]*data-value[^>]*)>", part):
        a = {k: html_lib.unescape(v) for k, v in re.findall(r'data-([a-z]+)="([^"]*)"', attrs)}
        cells[(a["model"], a["variable"], a["group"], a["stat"])] = float(a["value"])
    shown = 0
    for model, rows in rec["models"].items():
        assert f'id="task-good-subgroups-{model}"' in part
        for r in rows:
            for metric in ("n", "auc", "citl", "slope", "o_e"):
                key = (model, r["variable"], r["group"], metric)
                if r[metric] is None:
                    assert key not in cells
                else:
                    assert cells[key] == r[metric]
                    shown += 1
    assert shown >= 40
    assert "Groups of fewer than 5 rows are suppressed" in part
    assert "≥75 years" in part
    tripod = html[html.index('id="tripod"') :]
    assert "By subgroup (sex, age band, site, clinic, grip_kg): the Subgroups section" in tripod


def test_multiclass_section_is_one_vs_rest_and_says_so():
    from prom.workflows.subgroups import subgroup_section

    d = _table(600, seed=8)
    rng = np.random.default_rng(8)
    P = rng.dirichlet([3, 2, 1], size=len(d))
    lab = np.array([rng.choice(["a", "b", "c"], p=row) for row in P], dtype=object)
    vs = subgroup_variables(d, d.index, columns=["clinic"])
    sg = subgroup_section(
        "multiclass", lab, {"m": P}, vs, rows="test rows", classes=["a", "b", "c"]
    )
    assert "one-vs-rest" in " ".join(sg["notes"])
    rows = [r for r in sg["models"]["m"] if r["variable"] == "clinic"]
    assert [(r["group"], r["class"]) for r in rows] == [
        (g, c) for g in ("private", "public") for c in ("a", "b", "c")
    ]
    r = rows[0]
    m = (d["clinic"] == "private").to_numpy()
    assert r["auc"] == auc_ci((lab[m] == "a").astype(int), P[m, 0]).auc


def test_survival_fit_and_evaluate_tabulate_harrells_c_by_group(tmp_path, lab_keys):
    """The survival task through fit_task (out-of-fold risk) and evaluate_bundle."""
    import warnings

    from prom.bundle import load_bundle, write_bundle
    from prom.cohort import simulate_cohort
    from prom.errors import StatisticalWarning
    from prom.instruments import add_scores
    from prom.workflows import FitSettings, evaluate_bundle, fit_task

    df = add_scores(simulate_cohort(600, seed=2))
    settings = FitSettings(n_splits=3, n_repeats=1, n_boot=10, optimism_boot=0, random_state=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", StatisticalWarning)
        fit = fit_task(df, "surgery_conversion", families=("cox",), settings=settings)
    path = write_bundle(tmp_path / "b", [fit], signing_key=lab_keys.key)
    b = load_bundle(path)
    X, yy, _, _ = b.task("surgery_conversion").entry.rows(df)  # the fit's labelled rows
    assert len(X) == fit.n
    t, e = yy["time"].to_numpy(), yy["event"].to_numpy()
    female = (df.loc[X.index, "sex"] == "female").to_numpy()
    sg = fit.record["subgroups"]
    assert sg["kind"] == "survival" and "out-of-fold predicted risk by 12" in sg["rows"]
    got = next(r for r in sg["models"]["cox"] if r["group"] == "female")
    oof = fit.cv["cox"].risk()
    assert got["n"] == female.sum() and got["events"] == e[female].sum()
    assert got["c"] == pytest.approx(concordance(t[female], e[female], oof[female]).c, rel=1e-12)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", StatisticalWarning)
        res = evaluate_bundle(b, df, subgroups=["smoking"])
    ev = res.subgroups["surgery_conversion"]
    assert ev["kind"] == "survival" and {v["name"] for v in ev["variables"]} >= {"sex", "smoking"}
    surv = b.task("surgery_conversion").models["cox"].predict_survival(X, [12.0])
    p = 1 - surv.to_numpy(dtype=float)[:, 0]
    c = concordance(t[female], e[female], p[female]).c
    got = next(r for r in ev["models"]["cox"] if r["group"] == "female")
    assert got["c"] == pytest.approx(c, rel=1e-12)


def test_subgroup_view_is_a_table_on_a_wide_terminal_and_lines_elsewhere():
    """A pipe or a narrow terminal gets one line per group: no figure is ever cut."""
    from io import StringIO

    from rich.console import Console

    from prom.cli.subgroup_output import SubgroupView

    y, p, g = _data(n=600, seed=9)
    rows = subgroup_performance(y, p, g, variable="arm").astype(object)
    rows = rows.where(rows.notna(), None).to_dict(orient="records")
    view = SubgroupView(rows, "task: logistic by subgroup", "binary")
    auc = f"{rows[0]['auc']:.3f} ({rows[0]['auc_low']:.3f}–{rows[0]['auc_high']:.3f})"
    for width, terminal, table in ((160, True, True), (60, True, False), (160, False, False)):
        buf = StringIO()
        Console(file=buf, width=width, force_terminal=terminal, color_system=None).print(view)
        out = buf.getvalue()
        assert ("┃ variable" in out) is table
        assert "…" not in out and auc in " ".join(out.split())  # wrapped at most, never cut
        if not table:
            assert f"  arm = a: n {rows[0]['n']}, events {rows[0]['events']}, AUC" in out


def test_a_subgroup_column_named_with_a_trailing_space_is_fitted_by_that_name(fitted, tmp_path):
    """A header exported as 'Clinic ' (trailing space) is named as typed in --subgroups
    and fitted by that name, as --predictors names are."""
    from prom.cli import app

    data = pd.read_csv(fitted["csv"]).rename(columns={"clinic": "Clinic "})
    data.to_csv(tmp_path / "spaced.csv", index=False)
    res = runner.invoke(
        app,
        [
            "fit", "--data", str(tmp_path / "spaced.csv"), "--target", "good",
            "--predictors", "x1,x2", "--models", "logistic,elastic_net",
            "--folds", "2", "--n-iter", "1", "--boot", "10", "--optimism-boot", "0",
            "--jobs", "1", "--subgroups", "Clinic ", "--out", str(tmp_path / "b"),
        ],
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    assert "subgroups by Clinic :" in re.sub(r"\s+", " ", res.output)


def test_a_site_too_small_to_publish_has_no_counts_anywhere_in_the_report(tmp_path, lab_keys):
    """The subgroup tables' rule holds for sites wherever the report counts them (the
    site list, the internal–external table, TRIPOD 6a and 21): a site of fewer than 5 rows
    is 'fewer than 5', and the smallest other site's count is withheld, since the total
    would give the tiny one back by subtraction."""
    from prom.cli import app
    from prom.validation.subgroups import WITHHELD, published_counts

    csv = _own_csv(tmp_path / "own.csv", n=420, seed=5)
    d = pd.read_csv(csv)
    d.loc[:3, "site"] = "kiosk"  # 4 rows
    d.to_csv(csv, index=False)
    out = tmp_path / "bundle"
    res = runner.invoke(
        app,
        [
            "fit", "--data", str(csv), "--target", "good", "--predictors", "x1,x2",
            "--models", "logistic,elastic_net", "--folds", "2", "--n-iter", "1",
            "--boot", "10", "--optimism-boot", "0", "--jobs", "1", "--out", str(out),
        ],
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    assert "'kiosk': fewer than 5 rows; site-level metrics" in " ".join(res.output.split())
    report = tmp_path / "report.html"
    res = runner.invoke(app, ["report", "--bundle", str(out), "--out", str(report)])
    assert res.exit_code == 0, res.output
    text = " ".join(
        re.sub(r"<[^>]+>", " ", html_lib.unescape(report.read_text(encoding="utf-8"))).split()
    )
    sizes = d.loc[d["good"].notna(), "site"].value_counts().to_dict()
    smallest = min((s for s in sizes if s != "kiosk"), key=sizes.get)
    assert published_counts(sizes) == {
        **{s: f"{n:,}" for s, n in sizes.items() if s not in ("kiosk", smallest)},
        "kiosk": "fewer than 5",
        smallest: None,
    }
    assert "kiosk: fewer than 5, " in text and f"{smallest}: {WITHHELD}" in text
    assert "kiosk (fewer than 5)" in text and f"{smallest} ({WITHHELD})" in text  # 6a
    assert "kiosk fewer than 5" in text  # 21 and the internal–external table
    for site in ("kiosk", smallest):  # its count and its events appear nowhere
        assert not re.search(rf"{site}:? \(?{sizes[site]}\b", text), site
    assert "nan" not in text.split()
