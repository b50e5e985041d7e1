"""What a simulated cohort holds: prevalences from its truth columns and oracle AUCs.

:func:`describe_simulation` checks a cohort made by
:func:`prom.cohort.simulate.simulate_cohort` against the truth it was drawn from (the
figures of section 12 of the data-generating process documented there), for the demo and
the simulator's tests.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from prom.cohort import _sim_outcomes as out_
from prom.cohort.contract import CATEGORIES, TASK_TRUTH_COLUMNS
from prom.naming import FOLLOW_UPS

__all__ = ["describe_simulation"]

_THRESHOLDS = {
    "mcid_odi_12m": ("odi", "12m", "odi_ostelo2008"),
    "mcid_nrs_back_12m": ("nrs_back", "12m", "nrs_back_ostelo2008"),
    "mcid_nrs_leg_12m": ("nrs_leg", "12m", "nrs_leg_ostelo2008"),
    "mcid_comi_12m": ("comi", "12m", "comi_mannion2009"),
    "mcid_mjoa_12m": ("mjoa", "12m", "mjoa_tetreault2015"),
    "tfesi_response": ("nrs_leg", "1m", "nrs_leg_tfesi_50pct"),
}


def describe_simulation(df: pd.DataFrame) -> dict:
    """Prevalences from the truth columns and oracle AUCs against re-scored labels.

    Items are scored with :func:`prom.instruments.score_table` and labelled with the
    default MCID definitions (:mod:`prom.instruments.mcid`); the oracle AUC of a task is
    ``roc_auc_score(label, true_p)`` over the rows with a label. Returns a plain dict.
    """
    from sklearn.metrics import roc_auc_score

    from prom.instruments import score_table
    from prom.instruments.mcid import mcid_attained

    if not isinstance(df, pd.DataFrame):
        raise TypeError(f"expected a pandas DataFrame, got {type(df).__name__}")
    need = [f"true_p_{t}" for t in TASK_TRUTH_COLUMNS] + ["region", "treatment"]
    absent = [c for c in need if c not in df.columns]
    if absent:
        raise ValueError(f"not a simulated cohort: no column(s) {', '.join(absent)}")
    scores = score_table(df)
    region = df["region"].astype(object).to_numpy()
    treatment = df["treatment"].astype(object).to_numpy()
    lumbar = region == "lumbar"
    result: dict = {
        "n": len(df),
        "n_lumbar": int(lumbar.sum()),
        "n_cervical": int((region == "cervical").sum()),
        "tasks": {},
    }
    for task, (inst, tp, thr) in _THRESHOLDS.items():
        pop = (region == "cervical") if inst == "mjoa" else lumbar.copy()
        if task == "tfesi_response":
            pop &= treatment == "tfesi"
        y = mcid_attained(scores[f"{inst}_0m"], scores[f"{inst}_{tp}"], thr).to_numpy()
        p = df[f"true_p_{task}"].to_numpy(dtype=float, na_value=np.nan)
        has = pop & ~np.isnan(y)
        two = has.any() and 0 < y[has].sum() < has.sum()
        result["tasks"][task] = {
            "population": int(pop.sum()),
            "labelled": int(has.sum()),
            "true_prevalence": float(np.mean(p[pop])) if pop.any() else float("nan"),
            "labelled_true_prevalence": float(np.mean(p[has])) if has.any() else float("nan"),
            "observed_prevalence": float(np.mean(y[has])) if has.any() else float("nan"),
            "oracle_auc": float(roc_auc_score(y[has], p[has])) if two else float("nan"),
        }
    classes = sorted(CATEGORIES["treatment"])  # roc_auc_score wants sorted labels
    probs = df[[f"true_p_triage_{c}" for c in classes]].to_numpy(dtype=float)[lumbar]
    y = treatment[lumbar]
    result["triage"] = {
        "proportions": {c: float(np.mean(y == c)) for c in classes},
        "true_proportions": dict(zip(classes, map(float, probs.mean(0)), strict=True)),
        "oracle_auc_ovr": float(roc_auc_score(y, probs, multi_class="ovr", labels=classes))
        if len(set(y)) == 3
        else float("nan"),
    }
    lp = df["true_lp_surgery_conversion"].to_numpy(dtype=float)
    conv = ~np.isnan(lp)
    event = df["surgery_event"].to_numpy(dtype=float, na_value=np.nan)[conv]
    cum24 = 1.0 - np.exp(-np.exp(out_.WEIBULL_LOG_SCALE + lp[conv]) * 24.0**out_.WEIBULL_SHAPE)
    result["surgery_conversion"] = {
        "population": int(conv.sum()),
        "true_incidence_24m": float(np.mean(cum24)) if conv.any() else float("nan"),
        "observed_event_fraction": float(np.mean(event)) if conv.any() else float("nan"),
    }
    from prom.cohort.contract import COHORT_CONTRACT

    item_cols = [c.name for c in COHORT_CONTRACT.by_role("item") if c.name in df.columns]
    result["all_items_missing"] = {
        tp: float(df[[c for c in item_cols if c.endswith(f"_{tp}")]].isna().all(axis=1).mean())
        for tp in FOLLOW_UPS
    }
    return result
