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
import warnings

from oob_race import load, race_against_full


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("data", help="vertebral or cohort_N")
    ap.add_argument("--seeds", default="0")
    ap.add_argument("--families", default="elastic_net,xgboost,lightgbm")
    ap.add_argument("--keep", type=float, default=None, help="the race's keep fraction")
    args = ap.parse_args()

    from prom.models import tuning
    from prom.models.inputs import infer_kinds
    from prom.models.preprocess import Preprocessor
    from prom.models.specs import MODEL_SPECS

    warnings.simplefilter("ignore")
    X, y = load(args.data)
    numeric, categorical = infer_kinds(X)
    if args.keep is not None:
        tuning.KEEP_FRACTION = args.keep
    seeds = [int(s) for s in args.seeds.split(",")]
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

        def search(Xt, yt, state, spec=spec, pre=pre):
            res = tuning.tune(
                spec,
                Xt,
                yt,
                pre_params=pre,
                n_iter=10,
                folds=tuning.inner_folds(yt, 3, state),
                random_state=state,
            )

            def predict(Xs):  # the winner refitted on all the training rows
                p = Preprocessor(**pre)
                est = spec.make_estimator(res.best_params, 2, state, 1)
                est.fit(p.fit_transform(Xt), yt)
                return est.predict_proba(p.transform(Xs))

            return res.best_index, predict

        race_against_full(f"{family} {args.data}", tuning, X, y, seeds, search)


if __name__ == "__main__":
    main()
