"""Progress of a fit, the cautions of its families once each with a count, and the random
forest's out-of-bag tuning.

The tables are made here: a small vertebral-column-like table (six measures, of which
``pelvic_incidence`` is ``pelvic_tilt + sacral_slope`` up to noise of 0.001 degrees, and a
three-class outcome with a class of 20 rows). The sum is not exact, so the diagnostics keep
the column (an exactly aliased one is left out before fitting, tests/test_diagnostics.py),
and the unpenalised multinomial baseline meets a near-singular Hessian in nearly every fit
and warns each time.
"""

from __future__ import annotations

import io
import warnings

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from prom.cli import app
from prom.errors import StatisticalWarning
from prom.workflows import FitSettings, fit_task
from prom.workflows.cautions import Cautions
from prom.workflows.progress import FitStep

runner = CliRunner()
COLUMNS = ["pelvic_incidence", "pelvic_tilt", "lumbar_lordosis_angle", "sacral_slope"]
COLUMNS += ["pelvic_radius", "degree_spondylolisthesis"]


def vertebral(n: int = 150, seed: int = 7) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    tilt = rng.normal(17.5, 10.0, n).round(2)
    slope = rng.normal(43.0, 13.0, n).round(2)
    radius = rng.normal(118.0, 13.0, n)
    spondy = np.exp(rng.normal(2.6, 0.9, n)) - 8
    eta = 0.7 + 0.06 * (tilt - 17.5) - 0.05 * (radius - 118) + 0.04 * spondy
    return pd.DataFrame(
        {
            "pelvic_incidence": (tilt + slope).round(2),
            "pelvic_tilt": tilt,
            "lumbar_lordosis_angle": 10 + 0.7 * (tilt + slope) + rng.normal(0, 12, n),
            "sacral_slope": slope,
            "pelvic_radius": radius,
            "degree_spondylolisthesis": spondy,
            "abnormal": rng.binomial(1, 1 / (1 + np.exp(-eta))),
        }
    )


def near_collinear(n: int = 150, seed: int = 7) -> pd.DataFrame:
    """:func:`vertebral` with ``pelvic_incidence`` off the exact sum by noise of 0.001 and
    a three-class ``group`` (spondylolisthesis above 30, else by ``abnormal``)."""
    df = vertebral(n, seed)
    noise = np.random.default_rng(seed + 1).normal(0, 1e-3, n)
    df["pelvic_incidence"] = df["pelvic_tilt"] + df["sacral_slope"] + noise
    spondy = df["degree_spondylolisthesis"] > 30
    df["group"] = np.where(
        spondy, "spondylolisthesis", np.where(df["abnormal"] == 1, "hernia", "normal")
    )
    return df


FAST = FitSettings(
    n_splits=3,
    n_iter=1,
    n_boot=10,
    optimism_boot=12,
    site_column=None,
    n_jobs=1,
    allow_small_sample=True,
)


@pytest.fixture(scope="module")
def fitted():
    """One fast fit of the near-collinear table, every progress report and warning kept."""
    steps: list[FitStep] = []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fit = fit_task(
            near_collinear(),
            target="group",
            predictors=COLUMNS,
            families=["logistic", "elastic_net"],
            settings=FAST,
            progress=steps.append,
        )
    return fit, steps, caught


def test_progress_receives_the_folds_and_bootstrap_samples_with_counts(fitted):
    _, steps, _ = fitted
    assert all(isinstance(s, FitStep) and isinstance(s, str) for s in steps)
    for fam in ("logistic", "elastic_net"):
        cv = [s for s in steps if s.stage == "cv" and s.family == fam]
        assert [(s.done, s.total, s.unit) for s in cv] == [(k, 3, "folds") for k in range(4)]
        assert cv[-1].remaining == 0.0 and cv[0].remaining is None and cv[1].remaining is None
        assert cv[2].remaining is not None and cv[2].remaining >= 0
        assert "3-fold CV of " + fam in cv[0]
    boot = [s for s in steps if s.stage == "optimism"]
    assert boot[0].done == 0 and boot[-1].done == 12
    assert {s.total for s in boot} == {12} and {s.unit for s in boot} == {"bootstrap samples"}
    assert len(boot) > 2  # counted as batches finish, not only at the end
    assert [s.done for s in boot] == sorted(s.done for s in boot)
    final = [s for s in steps if s.stage == "final"]
    assert [s.done for s in final] == [0, 1, 2] and final[-1].total == 2
    elapsed = [s.elapsed for s in steps]
    assert elapsed == sorted(elapsed) and elapsed[-1] > 0
    assert str(boot[-1]).startswith("group: bootstrap optimism of logistic (12/12 bootstrap")


def test_repeated_cautions_collapse_with_a_count_and_the_family(fitted):
    fit, _, caught = fitted
    solver = [w for w in fit.warnings if "did not converge cleanly" in w]
    # the baseline's near-singular design warns in nearly every fit: one line, naming it, counted
    assert len(solver) == 1, fit.warnings
    line = solver[0]
    assert line.startswith("logistic: the solver did not converge cleanly on ")
    k = int(line.rsplit(" (", 1)[1].split(" fits")[0])
    # 3 folds × (3 inner + 1 final) + 12 bootstrap samples × 4 + 1 + 4 final: at least 40
    assert k >= 40, line
    assert "cross-validation" in line and "the final fit" in line
    assert "bootstrap samples" in line and "figures from the first" in line
    issued = [str(w.message) for w in caught if issubclass(w.category, StatisticalWarning)]
    assert issued.count(line) == 1
    assert sum("did not converge cleanly" in m for m in issued) == 1
    assert set(fit.manifest_entry().warnings) == set(fit.warnings)


def test_cautions_unit():
    c = Cautions()
    msg = "elastic_net: the solver did not converge cleanly on {} rows"
    c.add(
        "elastic_net",
        StatisticalWarning,
        msg.format(200) + " [while fitting in cross-validation: 5 time(s)]",
    )
    c.add(
        "elastic_net", StatisticalWarning, msg.format(201) + " [while fitting in cross-validation]"
    )
    c.add("elastic_net", StatisticalWarning, msg.format(300), "the final fit")
    c.add("xgboost", StatisticalWarning, "predictions are exactly 0 or 1")
    c.add(None, StatisticalWarning, "n = 310 is below the 336 needed")
    # the same words from several families: one line naming each with its count and place
    unseen = "categorical value(s) not seen in the training rows: 'smoker': 2 row(s)"
    for fam in ("random_forest", "lightgbm"):
        c.add(fam, UserWarning, unseen + " [while fitting in cross-validation]")
    c.add("logistic", UserWarning, unseen + " [while fitting in cross-validation: 3 time(s)]")
    c.add("logistic", UserWarning, unseen + " [while fitting in bootstrap samples: 9 time(s)]")
    c.add("xgboost", UserWarning, unseen.replace("2 row", "3 row"), "cross-validation")
    assert c.messages() == [
        (
            "elastic_net: the solver did not converge cleanly on 200 rows (7 fits, in "
            "cross-validation and the final fit; figures from the first)"
        ),
        "xgboost: predictions are exactly 0 or 1",
        "n = 310 is below the 336 needed",
        (
            f"{unseen} (random_forest, lightgbm: 1 fit each, in cross-validation; logistic: "
            "12 fits, in cross-validation and bootstrap samples)"
        ),
        "xgboost: " + unseen.replace("2 row", "3 row") + " (1 fit, in cross-validation)",
    ]
    with warnings.catch_warnings(record=True) as issued:
        warnings.simplefilter("always")
        c.reissue()
    kinds = [StatisticalWarning] * 3 + [UserWarning] * 2
    assert [(w.category, str(w.message)) for w in issued] == list(
        zip(kinds, c.messages(), strict=True)
    )


def test_cli_output_has_no_progress_lines_when_not_a_terminal(tmp_path, lab_keys):
    csv = tmp_path / "vertebral.csv"
    near_collinear().to_csv(csv, index=False)
    args = ["fit", "--data", str(csv), "--target", "group", "--predictors", ",".join(COLUMNS)]
    args += ["--models", "logistic,elastic_net", "--folds", "3", "--n-iter", "1", "--boot", "10"]
    args += ["--optimism-boot", "5", "--jobs", "1", "--allow-small-sample"]
    res = runner.invoke(app, [*args, "--out", str(tmp_path / "b")])
    assert res.exit_code == 0, res.output
    out = " ".join(res.output.split())
    for progress_text in ("-fold CV of", "folds,", "elapsed", "left in this step", "final fits"):
        assert progress_text not in out, progress_text
    cautions = [
        ln for ln in res.output.splitlines() if ln.startswith("caution: logistic: the solver")
    ]
    assert len(cautions) == 1  # once, with its family and count
    assert out.count("did not converge cleanly") == 1


@pytest.mark.filterwarnings("ignore::prom.errors.StatisticalWarning")
def test_the_progress_display_on_a_terminal_shows_every_step():
    from rich.console import Console

    from prom.cli import common
    from prom.cli.fit_progress import fit_progress

    saved = common.err_console
    common.err_console = Console(file=io.StringIO(), force_terminal=True, width=150)
    try:
        with fit_progress() as show:
            assert show is not None
            fit_task(
                vertebral(),
                target="abnormal",
                predictors=COLUMNS[1:],
                families=["logistic", "elastic_net"],
                settings=FitSettings(**{**FAST.__dict__, "optimism_boot": 0}),
                progress=show,
            )
        text = common.err_console.file.getvalue()
    finally:
        common.err_console = saved
    for part in ("3-fold CV of logistic", "3-fold CV of elastic_net", "final fits", "3/3"):
        assert part in text, part
    with fit_progress(force=False) as none:
        assert none is None


def test_random_forest_out_of_bag_probabilities_match_scikit_learn():
    """Reference: scikit-learn's own ``oob_decision_function_`` of the same forest."""
    from sklearn.ensemble import RandomForestClassifier

    from prom.models.out_of_bag import out_of_bag_proba

    df = vertebral(200)
    Z, y = df[COLUMNS].to_numpy(), df["abnormal"].to_numpy()
    forest = RandomForestClassifier(
        60, max_samples=0.5, min_samples_leaf=5, oob_score=True, random_state=3
    ).fit(Z, y)
    ours = out_of_bag_proba(forest, Z, 2)
    np.testing.assert_allclose(ours, forest.oob_decision_function_, rtol=1e-12, atol=1e-12)
    tiny = RandomForestClassifier(1, max_samples=1.0, random_state=0).fit(Z, y)
    assert out_of_bag_proba(tiny, Z, 2) is None  # rows no tree left out: no OOB prediction


def test_random_forest_is_tuned_out_of_bag_and_the_winner_is_the_final_model():
    from prom.models import PromClassifier
    from prom.models.specs import MODEL_SPECS

    df = vertebral(200)
    X, y = df[COLUMNS], df["abnormal"].to_numpy()
    m = PromClassifier("random_forest", predictors=COLUMNS, n_iter=3, random_state=1).fit(X, y)
    assert len(m.cv_results_) == 3
    # successive halving: the winner is the best of the candidates scored at full size
    whole = [i for i in range(3) if m.cv_results_[i]["trees_scored"] == 200]
    best = min(whole, key=lambda i: m.cv_results_[i]["log_loss"])
    spec = MODEL_SPECS["random_forest"]
    assert {k: m.chosen_params_[k] for k in spec.search_space} == m.cv_results_[best]["params"]
    assert m.estimator_.get_params()["max_samples"] == m.chosen_params_["max_samples"]
    assert len(m.estimator_.estimators_) == spec.default_params["n_estimators"]
    # the same forest as a refit with the chosen parameters on all rows, seed included
    Z = m.preprocessor_.transform(X)
    refit = spec.make_estimator(m.cv_results_[best]["params"], 2, 1, 1).fit(Z, y)
    np.testing.assert_array_equal(refit.predict_proba(Z), m.estimator_.predict_proba(Z))


@pytest.mark.filterwarnings("ignore::prom.errors.StatisticalWarning")
def test_cross_validating_families_in_one_pool_gives_the_same_predictions():
    """Reference: cross_validated_predictions of each family on its own."""
    from prom.models import PromClassifier
    from prom.validation import cross_validate_each, cross_validated_predictions

    df = vertebral(120)
    X, y = df[COLUMNS[1:]], df["abnormal"].to_numpy()
    models = {
        f: PromClassifier(f, predictors=COLUMNS[1:], n_iter=2, calibration="none")
        for f in ("elastic_net", "logistic")
    }
    seen = []
    both = cross_validate_each(
        models, X, y, n_splits=3, n_jobs=2, progress=lambda *a: seen.append(a)
    )
    assert list(both) == ["elastic_net", "logistic"]
    for f, m in models.items():
        alone = cross_validated_predictions(m, X, y, n_splits=3, n_jobs=1)
        np.testing.assert_array_equal(both[f].probabilities, alone.probabilities)
        np.testing.assert_array_equal(both[f].folds, alone.folds)
        assert [(k, n) for g, k, n in seen if g == f] == [(1, 3), (2, 3), (3, 3)]


@pytest.mark.filterwarnings("ignore::prom.errors.StatisticalWarning")
def test_one_shared_pool_gives_the_fit_a_single_worker_gives():
    """CV folds, optimism refits and final fits share one pool; the numbers do not depend
    on how the pool hands them out."""
    from dataclasses import replace

    df = vertebral()
    fam = ["logistic", "random_forest", "xgboost"]
    one, two = (
        fit_task(
            df,
            target="abnormal",
            predictors=COLUMNS[1:],
            families=fam,
            settings=replace(FAST, n_jobs=jobs, optimism_families=("logistic", "xgboost")),
        )
        for jobs in (1, 2)
    )
    X = df[COLUMNS[1:]]
    for f in fam:
        np.testing.assert_array_equal(one.cv[f].probabilities, two.cv[f].probabilities)
        np.testing.assert_array_equal(
            one.models[f].predict_proba(X), two.models[f].predict_proba(X)
        )
    for f in ("logistic", "xgboost"):
        pd.testing.assert_series_equal(one.optimism[f].optimism, two.optimism[f].optimism)


def test_steps_that_share_the_pool_do_not_mark_each_other_done():
    from prom.cli.fit_progress import ends

    # the folds, optimism refits and final fits run side by side in one pool
    assert not ends("optimism", "cv") and not ends("final", "cv")
    assert not ends("final", "optimism") and not ends("cv", "final")
    # what follows the pool, or precedes it, is sequential
    assert ends("comparison", "cv") and ends("comparison", "final")
    assert ends("cv", "diagnostics") and ends("iecv", "comparison")
    assert not ends("cv", "cv")


def test_a_primary_model_no_better_than_chance_is_cautioned():
    from prom.workflows.cautions import chance_caution

    line = chance_caution("reop", "cox", "Harrell's C", 0.483, 0.442, 0.516)
    assert line == (
        "reop: the primary model's (cox) cross-validated Harrell's C is 0.483 (95% CI "
        "0.442–0.516), an interval that reaches 0.5: these rows do not show that it ranks "
        "patients better than chance; do not use its predictions without a better model or "
        "more data"
    )
    assert chance_caution("t", "logistic", "AUC", 0.713, 0.655, 0.771) is None
    assert chance_caution("t", "logistic", "AUC", 0.55, 0.5, 0.6) is not None  # reaches 0.5
    assert chance_caution("t", "logistic", "AUC", float("nan"), 0.4, 0.6) is None
