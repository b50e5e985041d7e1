"""The grader's feature model and the rule that combines it with the network.

The feature model is a multinomial logistic regression on ``features.FEATURE_NAMES``
(median imputation with missing-value indicators, standardisation), fitted with
scikit-learn by ``cv export`` and stored as plain numbers in ``feature_model.json``: no
pickle, and inference here needs numpy only.

The rule (``combine``): the Pfirrmann probabilities of the network and of the feature
model are averaged (weight ``cnn_weight`` on the network); the grade is the expected
grade under those probabilities cut at four thresholds. The thresholds were tuned to
maximise quadratic-weighted kappa on out-of-fold predictions (see ``cv``); the plain
most-probable grade under-calls the extreme grades, because averaged probabilities
shrink towards the middle of the scale.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

__all__ = [
    "FEATURE_MODEL_FORMAT",
    "GRADES",
    "FeatureModel",
    "GraderIntegrityError",
    "average_probabilities",
    "combine",
    "export_logistic",
    "grade_from_expected",
    "load_feature_model",
]

FEATURE_MODEL_FORMAT = 1


class GraderIntegrityError(ValueError):
    """The grader's files do not match their sidecar (hash, format or contents); also
    importable from ``inference``, where the weights are checked."""


GRADES = np.arange(1, 6, dtype=float)


@dataclass(frozen=True)
class FeatureModel:
    features: tuple[str, ...]
    impute: np.ndarray  # per feature: the training median
    indicators: np.ndarray  # indices of the features that carry a missing-value indicator
    mean: np.ndarray  # scaler, over features then indicators
    scale: np.ndarray
    coef: np.ndarray  # (5, p)
    intercept: np.ndarray  # (5,)
    cnn_weight: float
    thresholds: np.ndarray  # (4,), increasing, on the expected-grade scale
    sha256: str

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        """``(n, 5)`` grade probabilities for ``(n, len(features))`` raw features."""
        x = np.asarray(X, dtype=float)
        if x.ndim != 2 or x.shape[1] != len(self.features):
            raise ValueError(
                f"expected (n, {len(self.features)}) features {list(self.features)}, got {x.shape}"
            )
        miss = np.isnan(x)
        filled = np.where(miss, self.impute[None, :], x)
        z = np.hstack([filled, miss[:, self.indicators].astype(float)])
        z = (z - self.mean) / self.scale
        logits = z @ self.coef.T + self.intercept
        logits -= logits.max(axis=1, keepdims=True)
        e = np.exp(logits)
        return e / e.sum(axis=1, keepdims=True)

    def combine(self, cnn_prob: np.ndarray, feature_prob: np.ndarray):
        return combine(cnn_prob, feature_prob, self.cnn_weight, self.thresholds)


def average_probabilities(
    cnn_prob: np.ndarray, feature_prob: np.ndarray, cnn_weight: float
) -> np.ndarray:
    """``(n, 5)``: the two models' grade probabilities, ``cnn_weight`` on the network's."""
    return cnn_weight * np.asarray(cnn_prob, dtype=float) + (1.0 - cnn_weight) * np.asarray(
        feature_prob, dtype=float
    )


def combine(
    cnn_prob: np.ndarray, feature_prob: np.ndarray, cnn_weight: float, thresholds
) -> tuple[np.ndarray, np.ndarray]:
    """``(probabilities (n, 5), grades (n,))`` of the combined rule (module docstring)."""
    p = average_probabilities(cnn_prob, feature_prob, cnn_weight)
    return p, grade_from_expected(p @ GRADES, thresholds)


def grade_from_expected(expected: np.ndarray, thresholds) -> np.ndarray:
    """Grades 1-5: 1 + the number of thresholds at or below each expected grade."""
    th = np.asarray(thresholds, dtype=float)
    if th.shape != (4,) or np.any(np.diff(th) < 0):
        raise ValueError(f"thresholds must be 4 increasing numbers, got {thresholds!r}")
    return 1 + np.searchsorted(th, np.asarray(expected, dtype=float), side="right")


def export_logistic(model, features, *, cnn_weight: float, thresholds, extra: dict) -> dict:
    """The JSON document of a fitted ``SimpleImputer -> StandardScaler -> LogisticRegression``
    pipeline (or a ``GridSearchCV`` of one)."""
    pipe = getattr(model, "best_estimator_", model)
    imp, sc, lr = (pipe.steps[i][1] for i in range(3))
    if list(lr.classes_) != [1, 2, 3, 4, 5]:
        raise ValueError(f"the feature model must be fitted on grades 1-5, got {lr.classes_}")
    ind = imp.indicator_.features_ if imp.indicator_ is not None else np.array([], dtype=int)
    return {
        "format_version": FEATURE_MODEL_FORMAT,
        "name": "disc_grader_features",
        "features": list(features),
        "impute_median": [float(v) for v in imp.statistics_],
        "indicator_features": [int(i) for i in ind],
        "scaler_mean": [float(v) for v in sc.mean_],
        "scaler_scale": [float(v) for v in sc.scale_],
        "coef": [[float(v) for v in row] for row in lr.coef_],
        "intercept": [float(v) for v in lr.intercept_],
        "C": float(lr.C),
        "rule": {"cnn_weight": float(cnn_weight), "thresholds": [float(t) for t in thresholds]},
        **extra,
    }


def load_feature_model(path: str | Path, expected_sha256: str | None) -> FeatureModel:
    """Read ``feature_model.json``; refuse it when its sha256 is not ``expected_sha256``."""
    p = Path(path)
    blob = p.read_bytes()
    digest = hashlib.sha256(blob).hexdigest()
    if digest != expected_sha256:
        raise GraderIntegrityError(
            f"refusing to load {p}: its sha256 is {digest}, the grader's sidecar expects "
            f"{expected_sha256}; the feature model was modified or belongs to another grader"
        )
    d = json.loads(blob.decode("utf-8"))
    if d.get("format_version") != FEATURE_MODEL_FORMAT:
        raise GraderIntegrityError(
            f"{p.name} has format_version {d.get('format_version')!r}, this code reads "
            f"{FEATURE_MODEL_FORMAT}"
        )
    coef = np.asarray(d["coef"], dtype=float)
    m = FeatureModel(
        features=tuple(d["features"]),
        impute=np.asarray(d["impute_median"], dtype=float),
        indicators=np.asarray(d["indicator_features"], dtype=int),
        mean=np.asarray(d["scaler_mean"], dtype=float),
        scale=np.asarray(d["scaler_scale"], dtype=float),
        coef=coef,
        intercept=np.asarray(d["intercept"], dtype=float),
        cnn_weight=float(d["rule"]["cnn_weight"]),
        thresholds=np.asarray(d["rule"]["thresholds"], dtype=float),
        sha256=digest,
    )
    p_all = len(m.features) + len(m.indicators)
    if coef.shape != (5, p_all) or m.mean.shape != (p_all,) or m.impute.shape != (len(m.features),):
        raise GraderIntegrityError(f"{p.name}: array shapes do not fit {len(m.features)} features")
    return m
