"""Benchmark: the inner-fold race of the tuned families against the full random search.

For each outer fold of a stratified 5-fold split (one split per seed), a family's
candidates (``n_iter`` 10, the defaults) are searched on the training rows in the inner
3-fold CV twice: the full search, every candidate scored on every fold
(``KEEP_FRACTION = 1.0``), and the race :func:`prom.models.tuning.tune` runs (the better
half goes on after each fold). Each winner is refitted on all the training rows, as the
estimator's final fit is. Printed per fold: the winner, its AUC and log loss on the
held-out rows (before calibration) and the CPU seconds of each search; then the share of
folds where both chose the same candidate and the mean held-out AUC of each. The
measurements quoted in :mod:`prom.models.tuning` came from this script.

Data: ``vertebral`` (the 310-row table of ``fit_small.py``) or ``cohort_N`` (N labelled
rows of the simulated cohort's ``mcid_odi_12m``), as in ``oob_race.py``.

Run: .venv/bin/python benchmarks/fold_race.py vertebral --seeds 0,1,2,3
     .venv/bin/python benchmarks/fold_race.py cohort_10000 --families lightgbm,xgboost
"""

from __future__ import annotations

import argparse
import time
import warnings

from oob_race import load


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("data", help="vertebral or cohort_N")
    ap.add_argument("--seeds", default="0")
    ap.add_argument("--families", default="elastic_net,xgboost,lightgbm")
    ap.add_argument("--keep", type=float, default=None, help="the race's keep fraction")
    args = ap.parse_args()

    import numpy as np
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import StratifiedKFold

    from prom.models import tuning
    from prom.models.calibration import log_loss
    from prom.models.inputs import infer_kinds
    from prom.models.preprocess import Preprocessor
    from prom.models.specs import MODEL_SPECS

    warnings.simplefilter("ignore")
    X, y = load(args.data)
    numeric, categorical = infer_kinds(X)
    race_keep = tuning.KEEP_FRACTION if args.keep is None else args.keep
    for family in args.families.split(","):
        spec = MODEL_SPECS[family]
        pre = {
            "numeric": numeric,
            "categorical": categorical,
            "scale": spec.scale,
            "splines": spec.splines,
            "drop_reference": spec.drop_reference,
            "handle_unknown": "ignore",
        }
        same, cpu, auc = [], {"full": 0.0, "race": 0.0}, {"full": [], "race": []}
        for seed in (int(s) for s in args.seeds.split(",")):
            split = StratifiedKFold(5, shuffle=True, random_state=seed).split(X, y)
            for k, (train, test) in enumerate(split):
                state = seed * 10 + k
                Xt, yt = X.iloc[train].reset_index(drop=True), y[train]
                folds = tuning.inner_folds(yt, 3, state)
                line, best = [f"{family} {args.data} seed {seed} fold {k}"], {}
                for label, keep in (("full", 1.0), ("race", race_keep)):
                    tuning.KEEP_FRACTION = keep
                    t0 = time.process_time()
                    res = tuning.tune(
                        spec,
                        Xt,
                        yt,
                        pre_params=pre,
                        n_iter=10,
                        folds=folds,
                        random_state=state,
                    )
                    cpu[label] += time.process_time() - t0
                    best[label] = res.best_index
                    p = Preprocessor(**pre)
                    est = spec.make_estimator(res.best_params, 2, state, 1)
                    est.fit(p.fit_transform(Xt), yt)
                    proba = est.predict_proba(p.transform(X.iloc[test]))
                    auc[label].append(roc_auc_score(y[test], proba[:, 1]))
                    line.append(
                        f"{label}: #{res.best_index} AUC {auc[label][-1]:.4f} "
                        f"log loss {log_loss(y[test], proba):.4f}"
                    )
                tuning.KEEP_FRACTION = race_keep
                same.append(best["full"] == best["race"])
                print(" | ".join(line), flush=True)
        print(
            f"{family}: same winner in {sum(same)} of {len(same)} folds; mean held-out AUC "
            f"full {np.mean(auc['full']):.4f}, race {np.mean(auc['race']):.4f}; CPU full "
            f"{cpu['full']:.1f} s, race {cpu['race']:.1f} s",
            flush=True,
        )


if __name__ == "__main__":
    main()
