"""Benchmark: the random forest's out-of-bag race against the full out-of-bag search.

For each outer fold of a stratified 5-fold split (one split per seed), the forest's
candidates (``n_iter`` 10, the defaults) are searched on the training rows twice: the
full search, every candidate grown whole (``KEEP_FRACTION = 1.0``), and the successive-
halving race :func:`prom.models.out_of_bag.tune_out_of_bag` runs (the better half goes
on). Printed per fold: the winner, its AUC and log loss on the held-out rows (before
calibration) and the CPU seconds of each search; then the share of folds where both
chose the same candidate. The measurements quoted in :mod:`prom.models.out_of_bag` came
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


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("data", help="vertebral or cohort_N")
    ap.add_argument("--seeds", default="0")
    args = ap.parse_args()

    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import StratifiedKFold

    from prom.models import out_of_bag
    from prom.models.calibration import log_loss
    from prom.models.inputs import infer_kinds
    from prom.models.specs import MODEL_SPECS
    from prom.models.tuning import candidate_params

    warnings.simplefilter("ignore")
    spec = MODEL_SPECS["random_forest"]
    X, y = load(args.data)
    numeric, categorical = infer_kinds(X)
    pre = {"numeric": numeric, "categorical": categorical, "handle_unknown": "warn"}
    race_keep = out_of_bag.KEEP_FRACTION
    same, cpu = [], {"full": 0.0, "race": 0.0}
    for seed in (int(s) for s in args.seeds.split(",")):
        split = StratifiedKFold(5, shuffle=True, random_state=seed).split(X, y)
        for k, (train, test) in enumerate(split):
            state = seed * 10 + k
            cands = candidate_params(spec, 10, state)
            line, best = [f"{args.data} seed {seed} fold {k}"], {}
            for label, keep in (("full", 1.0), ("race", race_keep)):
                out_of_bag.KEEP_FRACTION = keep
                t0 = time.process_time()
                res = out_of_bag.tune_out_of_bag(
                    spec,
                    X.iloc[train].reset_index(drop=True),
                    y[train],
                    pre_params=pre,
                    candidates=cands,
                    random_state=state,
                )
                cpu[label] += time.process_time() - t0
                if res is None:
                    raise SystemExit("a row had no out-of-bag tree")
                p = res.estimator.predict_proba(res.preprocessor.transform(X.iloc[test]))
                best[label] = res.best_index
                line.append(
                    f"{label}: #{res.best_index} AUC {roc_auc_score(y[test], p[:, 1]):.4f} "
                    f"log loss {log_loss(y[test], p):.4f}"
                )
            out_of_bag.KEEP_FRACTION = race_keep
            same.append(best["full"] == best["race"])
            print(" | ".join(line), flush=True)
    print(
        f"same winner in {sum(same)} of {len(same)} folds; CPU full {cpu['full']:.1f} s, "
        f"race {cpu['race']:.1f} s"
    )


if __name__ == "__main__":
    main()
