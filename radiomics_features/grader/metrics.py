"""Agreement figures for the disc grader, over repeated patient-grouped CV.

For each repeat the out-of-fold predictions of all discs are scored; figures are the
mean over repeats. The confidence interval of the quadratic-weighted kappa resamples
*patients* (all discs of a drawn patient enter together, in every repeat), 1,000 times,
and takes the 2.5th/97.5th percentiles of the repeat-mean kappa.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from radiomics_features.pfirrmann.evaluation import grade_metrics

__all__ = ["binary_aucs", "grade_summary", "kappa_ci_by_patient", "qw_kappa"]

GRADES = (1, 2, 3, 4, 5)


def qw_kappa(t: np.ndarray, p: np.ndarray) -> float:
    """Quadratic-weighted kappa on the 1-5 scale (fast closed form, same as sklearn's)."""
    k = len(GRADES)
    o = np.zeros((k, k))
    np.add.at(o, (t - 1, p - 1), 1)
    w = (np.subtract.outer(np.arange(k), np.arange(k)) ** 2) / (k - 1) ** 2
    e = np.outer(o.sum(1), o.sum(0)) / o.sum()
    den = (w * e).sum()
    return float(1 - (w * o).sum() / den) if den > 0 else float("nan")


def grade_summary(y: np.ndarray, preds: np.ndarray) -> dict:
    """``preds``: ``(repeats, n)`` predicted grades. Mean (min, max) over repeats of
    accuracy, kappa, within-one and per-grade recall."""
    rows = []
    for p in preds:
        g = grade_metrics(y, p)
        rec = {
            f"recall_{k}": float(np.mean(p[y == k] == k)) if np.any(y == k) else np.nan
            for k in GRADES
        }
        rows.append(
            {"accuracy": g.accuracy, "qw_kappa": g.qw_kappa, "within_one": g.within_one, **rec}
        )
    df = pd.DataFrame(rows)
    return {
        c: {"mean": float(df[c].mean()), "min": float(df[c].min()), "max": float(df[c].max())}
        for c in df
    }


def kappa_ci_by_patient(
    y: np.ndarray, preds: np.ndarray, patients: np.ndarray, *, n_boot: int = 1000, seed: int = 0
) -> tuple[float, float]:
    """95% bootstrap-by-patient interval of the repeat-mean quadratic-weighted kappa."""
    rng = np.random.default_rng(seed)
    ids = np.unique(patients)
    rows_of = {pid: np.flatnonzero(patients == pid) for pid in ids}
    stats = []
    for _ in range(n_boot):
        draw = rng.choice(ids, size=len(ids), replace=True)
        idx = np.concatenate([rows_of[pid] for pid in draw])
        stats.append(np.mean([qw_kappa(y[idx], p[idx]) for p in preds]))
    lo, hi = np.nanpercentile(stats, [2.5, 97.5])
    return float(lo), float(hi)


def binary_aucs(truth: pd.DataFrame, probs: np.ndarray, names: list[str]) -> dict:
    """``probs``: ``(repeats, n, len(names))``; mean (min, max) ROC AUC per finding."""
    from sklearn.metrics import roc_auc_score

    out = {}
    for j, name in enumerate(names):
        t = truth[name].to_numpy()
        if t.min() == t.max():
            out[name] = {"mean": float("nan"), "positives": int(t.sum())}
            continue
        a = [float(roc_auc_score(t, pr[:, j])) for pr in probs]
        out[name] = {
            "mean": float(np.mean(a)),
            "min": float(np.min(a)),
            "max": float(np.max(a)),
            "positives": int(t.sum()),
        }
    return out
