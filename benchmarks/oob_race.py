"""Benchmark: the random forest's out-of-bag race against the full out-of-bag search.

For each outer fold of a stratified 5-fold split (one split per seed), the forest's
candidates (``n_iter`` 10, the defaults) are searched on the training rows twice: the
full search, every candidate grown whole (``KEEP_FRACTION = 1.0``), and the successive-
halving race :func:`prom.models.out_of_bag.tune_out_of_bag` runs (the better half goes
on). Printed per fold: the winner, its AUC and log loss on the held-out rows (before
calibration); then the share of folds where both chose the same candidate, the mean
held-out AUC and the CPU seconds of each search (:func:`race_against_full`, which
``fold_race.py`` shares). The measurements quoted in :mod:`prom.models.out_of_bag` came
from this script.

Data: ``vertebral`` (the 310-row table of ``fit_small.py``) or ``cohort_N`` (N labelled
rows of the simulated cohort's ``mcid_odi_12m``).

Run: .venv/bin/python benchmarks/oob_race.py vertebral --seeds 0,1,2,3
     .venv/bin/python benchmarks/oob_race.py cohort_2000 --seeds 0,1
"""

from __future__ import annotations

import argparse
import time
import warnings


def load(name: str):
    """``(X, y)`` of the named data set (see the module docstring)."""
    if name == "vertebral":
        from fit_small import COLUMNS, simulate_vertebral

        df = simulate_vertebral()
        return df[list(COLUMNS)], df["abnormal"].to_numpy()
    from prom.cohort import simulate_cohort
    from prom.instruments import add_scores
    from prom.outcomes import resolve_task
    from prom.workflows import FitSettings
    from prom.workflows.fit_checks import task_data_for_fit

    n = int(name.split("_")[1])
    df = add_scores(simulate_cohort(int(n / 0.8), seed=2026))
    td = task_data_for_fit(df, resolve_task(df, "mcid_odi_12m"), None, FitSettings())
    return td.X.iloc[:n].reset_index(drop=True), td.y.astype(int).to_numpy()[:n]


def race_against_full(title: str, module, X, y, seeds, search) -> None:
    """For each outer fold of a stratified 5-fold split per seed, run ``search`` on the
    training rows with ``module.KEEP_FRACTION`` at 1.0 (the full search) and at its own
    value (the race), and print each winner's held-out AUC and log loss, then the share
    of folds with the same winner, the mean held-out AUCs and the CPU seconds of each.

    ``search(X_train, y_train, state)`` returns ``(winner's index, predict)``, ``predict``
    giving the winner's class probabilities for held-out rows (work outside the timing).
    """
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import StratifiedKFold

    from prom.models.calibration import log_loss

    race_keep = module.KEEP_FRACTION
    same, cpu, auc = [], {"full": 0.0, "race": 0.0}, {"full": [], "race": []}
    try:
        for seed in seeds:
            split = StratifiedKFold(5, shuffle=True, random_state=seed).split(X, y)
            for k, (train, test) in enumerate(split):
                state = seed * 10 + k
                Xt, yt = X.iloc[train].reset_index(drop=True), y[train]
                line, best = [f"{title} seed {seed} fold {k}"], {}
                for label, keep in (("full", 1.0), ("race", race_keep)):
                    module.KEEP_FRACTION = keep
                    t0 = time.process_time()
                    best[label], predict = search(Xt, yt, state)
                    cpu[label] += time.process_time() - t0
                    p = predict(X.iloc[test])
                    auc[label].append(roc_auc_score(y[test], p[:, 1]))
                    line.append(
                        f"{label}: #{best[label]} AUC {auc[label][-1]:.4f} "
                        f"log loss {log_loss(y[test], p):.4f}"
                    )
                same.append(best["full"] == best["race"])
                print(" | ".join(line), flush=True)
    finally:
        module.KEEP_FRACTION = race_keep
    print(
        f"{title}: same winner in {sum(same)} of {len(same)} folds; mean held-out AUC full "
        f"{sum(auc['full']) / len(same):.4f}, race {sum(auc['race']) / len(same):.4f}; CPU "
        f"full {cpu['full']:.1f} s, race {cpu['race']:.1f} s",
        flush=True,
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("data", help="vertebral or cohort_N")
    ap.add_argument("--seeds", default="0")
    args = ap.parse_args()

    from prom.models import out_of_bag
    from prom.models.inputs import infer_kinds
    from prom.models.specs import MODEL_SPECS
    from prom.models.tuning import candidate_params

    warnings.simplefilter("ignore")
    spec = MODEL_SPECS["random_forest"]
    X, y = load(args.data)
    numeric, categorical = infer_kinds(X)
    pre = {"numeric": numeric, "categorical": categorical, "handle_unknown": "warn"}

    def search(Xt, yt, state):
        res = out_of_bag.tune_out_of_bag(
            spec,
            Xt,
            yt,
            pre_params=pre,
            candidates=candidate_params(spec, 10, state),
            random_state=state,
        )
        if res is None:
            raise SystemExit("a row had no out-of-bag tree")
        return res.best_index, lambda Xs: res.estimator.predict_proba(
            res.preprocessor.transform(Xs)
        )

    seeds = [int(s) for s in args.seeds.split(",")]
    race_against_full(args.data, out_of_bag, X, y, seeds, search)


if __name__ == "__main__":
    main()
