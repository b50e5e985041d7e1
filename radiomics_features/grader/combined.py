"""Cross-validation of the combined grading rule, with its thresholds tuned honestly.

The shipped rule (``feature_model.combine``) averages the network's and the feature
model's grade probabilities and cuts the expected grade at four tuned thresholds. In
repeated patient-grouped CV the thresholds of outer fold ``f`` are tuned on the
training discs only, scored by models that saw neither those discs nor fold ``f``:
for a training disc in fold ``j`` the network and the feature model trained on the
folds outside ``{f, j}`` (``train_cnn._cv_pairs``). The test fold is then graded by the
outer models (trained on every fold but ``f``) with those thresholds. Nothing about the
test fold reaches the thresholds.

``evaluate_rules`` runs this for three weights of the network (1: network alone, 0:
feature model alone, and the shipped weight), so the table shows what each part adds
on the same discs and folds.
"""

from __future__ import annotations

import numpy as np

from radiomics_features.grader.feature_model import (
    GRADES,
    average_probabilities,
    combine,
    grade_from_expected,
)
from radiomics_features.grader.metrics import qw_kappa

__all__ = [
    "CNN_WEIGHT",
    "evaluate_rules",
    "feature_model_probs",
    "fit_feature_model",
    "tune_thresholds",
]

#: weight of the network in the shipped rule: the plain average of the two models'
#: probabilities, not tuned (only 1, 0 and this weight are ever evaluated)
CNN_WEIGHT = 0.5


def fit_feature_model(Xa, y, groups, tr):
    """The feature model (``pfirrmann.evaluation``'s tuned logistic regression) fitted on
    rows ``tr``, single-threaded."""
    from threadpoolctl import threadpool_limits

    from radiomics_features.pfirrmann.evaluation import fit_model, make_models

    with threadpool_limits(limits=1):
        return fit_model(make_models(0)["logistic"], Xa, y, groups, tr)


def feature_model_probs(Xa, y, groups, folds: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Out-of-fold and pair probabilities of the feature model for one repeat's folds.

    Returns ``oof`` ``(n, 5)`` (model trained on every fold but the disc's) and ``pairs``
    ``(k, n, 5)``: ``pairs[f, i]`` from the model trained outside ``{f, fold(i)}``
    (NaN for ``i`` in ``f``), the same layout as ``train_cnn``'s ``pairs_r<k>.npz``.
    """
    ids = [int(v) for v in np.unique(folds)]
    oof = np.full((len(y), 5), np.nan)
    pairs = np.full((len(ids), len(y), 5), np.nan)
    for f in ids:
        te = np.flatnonzero(folds == f)
        oof[te] = fit_feature_model(Xa, y, groups, np.flatnonzero(folds != f)).predict_proba(Xa[te])
    for a_i, fa in enumerate(ids):
        for fb in ids[a_i + 1 :]:
            m = fit_feature_model(Xa, y, groups, np.flatnonzero((folds != fa) & (folds != fb)))
            for excluded, scored in ((fa, fb), (fb, fa)):
                te = np.flatnonzero(folds == scored)
                pairs[ids.index(excluded), te] = m.predict_proba(Xa[te])
    return oof, pairs


def _rule_cv(y, folds, cnn_oof, cnn_pairs, feat_oof, feat_pairs, weight) -> tuple:
    ids = [int(v) for v in np.unique(folds)]
    pred = np.zeros(len(y), dtype=int)
    prob = np.zeros((len(y), 5))
    ths = []
    for k, f in enumerate(ids):
        tr, te = folds != f, folds == f
        p_tr = average_probabilities(cnn_pairs[k, tr], feat_pairs[k, tr], weight)
        th = tune_thresholds(p_tr @ GRADES, y[tr])
        prob[te], pred[te] = combine(cnn_oof[te], feat_oof[te], weight, th)
        ths.append([round(float(t), 4) for t in th])
    return pred, prob, ths


def evaluate_rules(
    y, folds, cnn_oof, cnn_pairs, feat_oof, feat_pairs, weights=(1.0, 0.0, CNN_WEIGHT)
) -> dict:
    """Per weight: predicted grades ``(n,)``, probabilities ``(n, 5)``, thresholds per fold."""
    if np.isnan(cnn_oof).any() or np.isnan(cnn_pairs[~np.isnan(feat_pairs)]).any():
        raise ValueError("the network's out-of-fold or pair predictions are incomplete")
    out = {}
    for w in weights:
        pred, prob, ths = _rule_cv(y, folds, cnn_oof, cnn_pairs, feat_oof, feat_pairs, w)
        out[float(w)] = {"pred": pred, "prob": prob, "thresholds": ths}
    return out


def tune_thresholds(expected: np.ndarray, truth: np.ndarray, *, rounds: int = 3) -> np.ndarray:
    """Four cut points on the expected grade maximising quadratic-weighted kappa.

    Coordinate search from the midpoints (1.5, 2.5, 3.5, 4.5): each cut in turn is
    moved over a grid of +-0.6 around its current value (49 points) and kept where kappa
    is highest; ``rounds`` passes. Deterministic; ties keep the earlier value.
    """
    e = np.asarray(expected, dtype=float)
    y = np.asarray(truth, dtype=int)
    th = np.array([1.5, 2.5, 3.5, 4.5])
    best = qw_kappa(y, grade_from_expected(e, th))
    for _ in range(rounds):
        for i in range(4):
            for v in np.linspace(th[i] - 0.6, th[i] + 0.6, 49):
                cand = th.copy()
                cand[i] = v
                cand = np.sort(cand)
                k = qw_kappa(y, grade_from_expected(e, cand))
                if k > best:
                    best, th = k, cand
    return th
