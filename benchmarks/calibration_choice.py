"""Benchmark: which calibration the held-out rows favour, against what ``"auto"`` chose.

For each outer fold of a stratified 5-fold split (one split per seed), every family is
fitted as ``prom fit`` fits it (``PromClassifier`` with ``n_iter`` 10 and
``calibration="auto"``) on the training rows. The inner out-of-fold probabilities the fit calibrates on are kept, and
each calibrator (none, Platt, isotonic) is fitted on them, as the fit does for the one it
chooses, and applied to the fitted model's own probabilities on the held-out rows. Printed
per family: the mean held-out log loss and the summed |calibration slope − 1| of each
method and of the method ``"auto"`` chose, and how often each method had the lowest
held-out log loss. The comparison that decided how ``"auto"`` chooses
(:mod:`prom.models.calibration`) came from this script and from the key check
(``tests/test_models_key_check.py``).

Data: ``vertebral`` (the 310-row table of ``fit_small.py``) or ``cohort_N`` (N labelled
rows of the simulated cohort's ``mcid_odi_12m``), as in ``oob_race.py``.

Run: .venv/bin/python benchmarks/calibration_choice.py vertebral --seeds 0,1,2,3
     .venv/bin/python benchmarks/calibration_choice.py cohort_2000 --seeds 0,1
"""

from __future__ import annotations

import argparse
import warnings
from collections import Counter, defaultdict

import numpy as np
from oob_race import load

METHODS = ("none", "platt", "isotonic")


def _one(family, X, y, train, test, seed):
    """Held-out log loss and slope of each calibrator, and the method "auto" chose."""
    import prom.models.estimator as estimator
    from prom.models.calibration import log_loss, make_calibrator
    from prom.validation.metrics import calibration_intercept_slope

    kept = {}
    choose = estimator.choose_calibration

    def keep(oof, codes, *args):  # the fit's own out-of-fold probabilities
        kept.update(oof=oof, codes=codes)
        return choose(oof, codes, *args)

    estimator.choose_calibration = keep
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model = estimator.PromClassifier(family, n_iter=10, random_state=seed).fit(
                X.iloc[train], y[train]
            )
    finally:
        estimator.choose_calibration = choose
    raw = model.predict_proba(X.iloc[test], calibrated=False)
    out = {"auto": model.calibration_method_}
    for method in METHODS:
        cal = make_calibrator(method).fit(kept["oof"], kept["codes"]) if method != "none" else None
        p = raw if cal is None else cal.transform(raw)
        out[method] = (
            log_loss(y[test], p),
            calibration_intercept_slope(y[test], p[:, 1]).slope,
        )
    return family, out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("data", help="vertebral or cohort_N")
    ap.add_argument("--seeds", default="0")
    ap.add_argument("--families", default="logistic,elastic_net,random_forest,xgboost,lightgbm")
    args = ap.parse_args()
    from joblib import Parallel, delayed
    from sklearn.model_selection import StratifiedKFold

    X, y = load(args.data)
    families = args.families.split(",")
    jobs = [
        (family, train, test, seed)
        for seed in (int(s) for s in args.seeds.split(","))
        for train, test in StratifiedKFold(5, shuffle=True, random_state=seed).split(X, y)
        for family in families
    ]
    results = Parallel(n_jobs=2)(delayed(_one)(f, X, y, tr, te, s) for f, tr, te, s in jobs)
    by_family = defaultdict(list)
    for family, out in results:
        by_family[family].append(out)
    print(f"{args.data}: {len(X)} rows, {len(jobs) // len(families)} training sets per family")
    print("family          method    mean held-out log loss  sum |slope-1|  lowest log loss")
    for family, outs in by_family.items():
        best = Counter(min(METHODS, key=lambda m, o=o: o[m][0]) for o in outs)
        for method in (*METHODS, "auto"):
            rows = [o[o["auto"] if method == "auto" else method] for o in outs]
            ll = np.mean([r[0] for r in rows])
            slope = np.sum([abs(r[1] - 1) for r in rows])
            note = (
                ", ".join(f"{m} {n}" for m, n in sorted(Counter(o["auto"] for o in outs).items()))
                if method == "auto"
                else f"{best.get(method, 0)}/{len(outs)}"
            )
            print(f"{family:15s} {method:9s} {ll:22.5f}  {slope:13.3f}  {note}")


if __name__ == "__main__":
    main()
