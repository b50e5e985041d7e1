"""KEY CHECK: models developed on 5,000 simulated patients approach the oracle.

Protocol
--------
For each binary task, the development data are the first 5,000 patients who carry the
task's label in ``simulate_cohort(70_000, seed=SEED)`` (scored with ``add_scores``,
labelled with ``derive_labels``): n = 5,000 is the size of the sample a model is developed
on, for the cervical mJOA task and the TFESI-treated population as for the lumbar MCID
tasks. Each of the five families is fitted with the toolkit's defaults (``n_iter=20``
random search in a 3-fold inner CV, ``calibration="auto"``, splines for the two linear
families) on the task's built-in predictors, imaging read at the index level. All are
validated on every labelled row of an *independent* cohort from the same population,
``simulate_cohort(100_000, seed=SEED + 1000)`` (8,400–70,000 rows per task, so the
standard error of the model–oracle AUC difference is ≤ 0.004 and the check measures the
models, not the luck of a split); the oracle AUC is ``AUC(true_p, label)`` on exactly
those rows.

Criterion (issue): the best family (by held-out AUC) is within 0.02 of the oracle AUC, and
its calibrated predictions have a calibration slope in [0.85, 1.15].

Measured on 2026-11-24, before the simulator's imaging change (best family, gap = oracle
− best AUC, calibration slope); every cell met the criterion then. Other seeds run with
``PROM_KEY_CHECK_SEED=2 pytest -m slow tests/test_models_key_check.py``, about 7 minutes
each on 2 cores then, and 2–3 minutes with the tuning race.

    task               seed 1                    seed 2                    seed 3
    mcid_odi_12m       lightgbm     0.0118 1.076 lightgbm     0.0138 0.979 lightgbm     0.0109 1.101
    mcid_nrs_back_12m  xgboost      0.0086 1.030 xgboost      0.0104 1.000 lightgbm     0.0119 1.062
    mcid_nrs_leg_12m   lightgbm     0.0076 1.065 xgboost      0.0085 0.993 elastic_net  0.0086 1.020
    mcid_comi_12m      lightgbm     0.0111 1.062 lightgbm     0.0107 1.098 xgboost      0.0095 1.114
    mcid_mjoa_12m      elastic_net  0.0066 0.968 xgboost      0.0055 1.052 lightgbm     0.0052 1.059
    tfesi_response     lightgbm     0.0061 1.032 xgboost      0.0093 1.004 xgboost      0.0071 1.053

Since the simulator draws its imaging features from the measured reference (2026-12-05)
and ``calibration="auto"`` chooses between Platt and isotonic for two classes
(2026-12-07), the three seeds give (each about 2.5 minutes on 2 cores):

    task               seed 1                    seed 2                    seed 3
    mcid_odi_12m       lightgbm     0.0115 1.018 lightgbm     0.0133 0.987 xgboost      0.0107 1.035
    mcid_nrs_back_12m  xgboost      0.0085 1.017 lightgbm     0.0110 1.004 lightgbm     0.0103 1.026
    mcid_nrs_leg_12m   lightgbm     0.0075 1.008 lightgbm     0.0086 0.996 elastic_net  0.0087 1.009
    mcid_comi_12m      xgboost      0.0101 1.054 lightgbm     0.0115 1.049 lightgbm     0.0103 0.996
    mcid_mjoa_12m      elastic_net  0.0066 0.993 xgboost      0.0055 1.027 lightgbm     0.0052 1.059
    tfesi_response     lightgbm     0.0064 1.053 xgboost      0.0117 1.055 xgboost      0.0086 1.120

All 18 cells meet the criterion. Before that change, with the measured imaging, "auto"
chose among none, Platt and isotonic by cross-fitted log loss, and kept most boosters'
own probabilities: their slopes were 1.04–1.16, and NRS back pain at seed 1 failed
(XGBoost, stumps of 182 trees, slope 1.160; Platt's cross-fitted log loss 0.60600
against none's 0.60574). That comparison fits a map on two folds' models and scores it
on a third whose scale differs (the three inner models' slopes on their held-out folds
were 1.36, 1.00 and 1.11), which understates Platt for the one final model. On these
cohorts Platt's held-out log loss was lower than none's in 75 of the 90 fits (six tasks,
five families, three seeds) and lower on average for every family; the figures, with
the 310-row and 1,742-row comparisons, are in ``benchmarks/RESULTS.md`` ("Calibration
'auto'") and :mod:`prom.models.calibration`.

Tried, and not adopted: (1) choosing between none and Platt by a likelihood-ratio test of
Platt recalibration on the pooled out-of-fold predictions (2 df, 5%; the recalibration
step of Vergouwe et al.'s closed testing, Stat Med 2017;36:4529): all 18 cells passed,
but the summed |slope − 1| moved only from 1.17 to 1.13 (COMI at seeds 2 and 3 moved
away from 1). (2) Refitting the boosters with the tuned number of rounds × 1.25 or × 1.5
(they were tuned on two thirds of the rows): slopes moved towards 1, but held-out log
loss and AUC got worse on average.

What it took, and what is left: the simulator's outcomes depend on the imaging at the
symptomatic level. Given the 40 per-level imaging columns instead of the 8 index-level
ones, a booster has to find an ``index_level`` × feature interaction itself (ODI, seed 1,
whole cohort of 5,000: XGBoost gap 0.0210 with per-level columns, 0.0171 with index-level
ones). The earlier protocol — per-level columns and a whole cohort of 5,000, i.e. about
3,500 labelled rows for the lumbar MCID tasks, 450 for mJOA and 530 for TFESI — gave gaps
of 0.012–0.021 for the lumbar tasks and 0.024–0.037 for TFESI at seeds 1–3; at 530 rows
even a correctly specified logistic model falls about 0.024 short of the oracle.

The boosters' own probabilities are a little too moderate (held-out slopes mostly
1.03–1.16 before calibration); more rounds in the refit would sharpen them at a cost in
log loss (above), Platt on the inner out-of-fold predictions corrects most of it.

The two slow tests share one fit per task (families in parallel): a regression guard that
holds at any seed, and the issue's criterion. ``test_fast_guard_nrs_leg_elastic_net``
runs in the regular suite.
"""

from __future__ import annotations

import os
import time
import warnings

import pytest

from prom.errors import StatisticalWarning
from prom.models import FAMILIES, PromClassifier
from prom.outcomes import TASKS
from prom.validation.metrics import auc_score, calibration_intercept_slope

SEED = int(os.environ.get("PROM_KEY_CHECK_SEED", "1"))  # other seeds: see the docstring
N_DEV = 5000  # development rows per task
N_POOL = 70_000  # simulated patients to draw them from (mJOA, the rarest, needs ~60,000)
N_VAL = 100_000  # independent validation cohort
BINARY = [t.name for t in TASKS.values() if t.kind == "binary"]


@pytest.fixture(scope="module")
def cohorts():
    """Development pool and independent validation cohort, scored and labelled."""
    from prom.cohort.simulate import simulate_cohort
    from prom.instruments import add_scores
    from prom.outcomes import derive_labels

    out = {}
    for name, n, seed in (("dev", N_POOL, SEED), ("val", N_VAL, SEED + 1000)):
        df = add_scores(simulate_cohort(n, seed=seed))
        out[name] = (df, derive_labels(df))
    return out


def _development_rows(dlab, task):
    """The first N_DEV patients of the pool who carry the task's label."""
    rows = dlab[task].notna()
    rows &= rows.cumsum() <= N_DEV
    assert rows.sum() == N_DEV, f"pool too small for {task}: {int(rows.sum())} labelled rows"
    return rows


def _fit_and_score(family, task, X, y, Xv):
    t0 = time.time()
    with warnings.catch_warnings():
        # The unpenalised baseline on the small populations (≈ 160 design columns with
        # splines, 450–530 rows) is ill-posed and says so with a StatisticalWarning; that
        # is expected here and does not affect the best-of-five criterion.
        warnings.simplefilter("ignore", StatisticalWarning)
        model = PromClassifier(
            family, predictors=TASKS[task].predictors, splines=True, random_state=SEED
        ).fit(X, y)
    return family, model.predict_proba(Xv)[:, 1], model.calibration_method_, time.time() - t0


_RESULTS: dict = {}


def _evaluate(task, cohorts):
    """Fit the five families once per task (cached for both tests below)."""
    if task in _RESULTS:
        return _RESULTS[task]
    from joblib import Parallel, delayed

    dev, dlab = cohorts["dev"]
    val, vlab = cohorts["val"]
    rows, vrows = _development_rows(dlab, task), vlab[task].notna()
    X, y = dev[rows], dlab.loc[rows, task].astype(int)
    Xv, yv = val[vrows], vlab.loc[vrows, task].astype(int)
    oracle = auc_score(yv, Xv[f"true_p_{task}"])
    fits = Parallel(n_jobs=2)(delayed(_fit_and_score)(f, task, X, y, Xv) for f in FAMILIES)
    results = {
        f: {"auc": auc_score(yv, p), "p": p, "calibration": c, "seconds": s} for f, p, c, s in fits
    }
    best = max(results, key=lambda f: results[f]["auc"])
    slope = calibration_intercept_slope(yv, results[best]["p"]).slope
    lines = [f"{task}: dev {len(X)} rows, held-out {len(Xv)} rows, oracle AUC {oracle:.4f}"]
    for f, r in results.items():
        lines.append(
            f"  {f:14s} AUC {r['auc']:.4f} (gap {oracle - r['auc']:+.4f}) "
            f"calibration={r['calibration']} {r['seconds']:.0f}s"
        )
    lines.append(f"  best {best}: gap {oracle - results[best]['auc']:+.4f}, slope {slope:.3f}")
    print("\n".join(lines))
    _RESULTS[task] = (oracle, best, results[best]["auc"], slope)
    return _RESULTS[task]


@pytest.mark.slow
@pytest.mark.parametrize("task", BINARY)
def test_models_are_near_the_oracle(task, cohorts):
    """A regression guard that holds at any seed: within 0.05 AUC, slope 0.75–1.35."""
    oracle, best, auc, slope = _evaluate(task, cohorts)
    assert oracle - auc <= 0.05, f"{task}: best family {best} AUC {auc:.4f}, oracle {oracle:.4f}"
    assert 0.75 <= slope <= 1.35, f"{task}: {best} calibration slope {slope:.3f}"


@pytest.mark.slow
@pytest.mark.parametrize("task", BINARY)
def test_key_check_criterion(task, cohorts):
    """The issue's criterion: best family within 0.02 AUC of the oracle, slope 0.85–1.15."""
    oracle, best, auc, slope = _evaluate(task, cohorts)
    assert oracle - auc <= 0.02, f"{task}: best family {best} AUC {auc:.4f}, oracle {oracle:.4f}"
    assert 0.85 <= slope <= 1.15, f"{task}: {best} calibration slope {slope:.3f}"


def test_fast_guard_nrs_leg_elastic_net(cohorts):
    """Not slow (~20 s): one family on a task where the criterion holds with room to
    spare (elastic net, NRS leg pain), so the regular suite notices if preprocessing,
    tuning or calibration regress."""
    task = "mcid_nrs_leg_12m"
    dev, dlab = cohorts["dev"]
    val, vlab = cohorts["val"]
    rows, vrows = _development_rows(dlab, task), vlab[task].notna()
    model = PromClassifier(
        "elastic_net", predictors=TASKS[task].predictors, splines=True, random_state=SEED
    ).fit(dev[rows], dlab.loc[rows, task].astype(int))
    yv = vlab.loc[vrows, task].astype(int)
    p = model.predict_proba(val[vrows])[:, 1]
    oracle = auc_score(yv, val.loc[vrows, f"true_p_{task}"])
    assert oracle - auc_score(yv, p) <= 0.02
    assert 0.85 <= calibration_intercept_slope(yv, p).slope <= 1.15
