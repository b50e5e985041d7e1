"""KEY CHECK: models developed on a simulated cohort of 5,000 approach the oracle.

Protocol
--------
``simulate_cohort(5000, seed=SEED)`` is scored (``add_scores``) and labelled
(``derive_labels``); a binary task's labelled rows are its development data. Each of the
five families is fitted with the toolkit's defaults (``n_iter=20`` random search in a
3-fold inner CV, ``calibration="auto"``, splines for the two linear families). All are
validated on the labelled rows of an *independent* cohort from the same population,
``simulate_cohort(20000, seed=SEED + 1000)`` (same sites and DGP): a held-out set, and the
oracle AUC is ``AUC(true_p, label)`` on exactly those rows. With ~14,000 held-out rows for
the lumbar MCID tasks the standard error of the model–oracle AUC difference is ≈ 0.003 and
of the calibration slope ≈ 0.025, so the check measures the models rather than the luck of
a 30 % split of the 5,000 (SEs ≈ 0.01 and ≈ 0.09 there).

Criterion (issue): the best family (by held-out AUC) is within 0.02 of the oracle AUC, and
its calibrated predictions have a calibration slope in [0.85, 1.15].

What limits it (measured; see the report in the model-layer PR): a correctly specified
logistic model — the DGP's own terms, thresholds and interactions — is within 0.003–0.004
of the oracle for ODI at n = 5,000, but it knows the answer. The generic families see 58
candidate predictors (40 of them MRI features with little or no signal) and must find the
DGP's steps (``[ODI0 ≥ 30]``, ``[back0 ≥ 4]``) and hinges themselves; with 2,900–3,500
labelled rows they land 0.01–0.02 below the oracle. For the two small populations (mJOA,
cervical, ≈ 450 labelled rows; TFESI, ≈ 530) even the correctly specified model trained on
80 % of the rows falls 0.02 short on average (5 seeds, 5-fold CV: mJOA 0.019, TFESI 0.024).
"""

from __future__ import annotations

import time
import warnings

import numpy as np
import pytest

from prom.errors import StatisticalWarning
from prom.models import FAMILIES, PromClassifier
from prom.outcomes import TASKS
from prom.validation.metrics import auc_score, calibration_intercept_slope

pytestmark = pytest.mark.slow

SEED = 1
N_DEV, N_VAL = 5000, 20000
BINARY = [t.name for t in TASKS.values() if t.kind == "binary"]


@pytest.fixture(scope="module")
def cohorts():
    from prom.cohort.simulate import simulate_cohort
    from prom.instruments import add_scores
    from prom.outcomes import derive_labels

    out = {}
    for name, n, seed in (("dev", N_DEV, SEED), ("val", N_VAL, SEED + 1000)):
        df = add_scores(simulate_cohort(n, seed=seed))
        out[name] = (df, derive_labels(df))
    return out


def _fit_and_score(family, task, X, y, Xv):
    t0 = time.time()
    with warnings.catch_warnings():
        # The unpenalised baseline on the small populations (≈ 160 design columns with
        # splines, 450–530 rows) is ill-posed and says so with a StatisticalWarning; that
        # is expected here and does not affect the best-of-five criterion.
        warnings.simplefilter("ignore", StatisticalWarning)
        model = PromClassifier(family, predictors=TASKS[task].predictors, splines=True,
                               random_state=SEED).fit(X, y)
    return family, model.predict_proba(Xv)[:, 1], model.calibration_method_, time.time() - t0


_RESULTS: dict = {}


def _evaluate(task, cohorts):
    """Fit the five families once per task (cached for both tests below)."""
    if task in _RESULTS:
        return _RESULTS[task]
    from joblib import Parallel, delayed

    dev, dlab = cohorts["dev"]
    val, vlab = cohorts["val"]
    rows, vrows = dlab[task].notna(), vlab[task].notna()
    X, y = dev[rows], dlab.loc[rows, task].astype(int)
    Xv, yv = val[vrows], vlab.loc[vrows, task].astype(int)
    oracle = auc_score(yv, Xv[f"true_p_{task}"])
    fits = Parallel(n_jobs=2)(delayed(_fit_and_score)(f, task, X, y, Xv) for f in FAMILIES)
    results = {f: {"auc": auc_score(yv, p), "p": p, "calibration": c, "seconds": s}
               for f, p, c, s in fits}
    best = max(results, key=lambda f: results[f]["auc"])
    slope = calibration_intercept_slope(yv, results[best]["p"]).slope
    lines = [f"{task}: dev {len(X)} rows, held-out {len(Xv)} rows, oracle AUC {oracle:.4f}"]
    for f, r in results.items():
        lines.append(f"  {f:14s} AUC {r['auc']:.4f} (gap {oracle - r['auc']:+.4f}) "
                     f"calibration={r['calibration']} {r['seconds']:.0f}s")
    lines.append(f"  best {best}: gap {oracle - results[best]['auc']:+.4f}, slope {slope:.3f}")
    print("\n".join(lines))
    _RESULTS[task] = (oracle, best, results[best]["auc"], slope)
    return _RESULTS[task]


@pytest.mark.parametrize("task", BINARY)
def test_models_are_near_the_oracle(task, cohorts):
    """A regression guard that holds at any seed: within 0.05 AUC, slope 0.75–1.35."""
    oracle, best, auc, slope = _evaluate(task, cohorts)
    assert oracle - auc <= 0.05, f"{task}: best family {best} AUC {auc:.4f}, oracle {oracle:.4f}"
    assert 0.75 <= slope <= 1.35, f"{task}: {best} calibration slope {slope:.3f}"


# Measured at SEED = 1 (this file's protocol); the criterion is on the edge of what a
# development cohort of 5,000 allows — see the module docstring and the numbers below.
_SHORT = {
}


@pytest.mark.parametrize("task", [
    pytest.param(t, marks=pytest.mark.xfail(reason=_SHORT[t], strict=False)) if t in _SHORT
    else t for t in BINARY])
def test_key_check_criterion(task, cohorts):
    """The issue's criterion: best family within 0.02 AUC of the oracle, slope 0.85–1.15."""
    oracle, best, auc, slope = _evaluate(task, cohorts)
    assert oracle - auc <= 0.02, f"{task}: best family {best} AUC {auc:.4f}, oracle {oracle:.4f}"
    assert 0.85 <= slope <= 1.15, f"{task}: {best} calibration slope {slope:.3f}"
