"""Two classifiers of the Pfirrmann grade, compared by repeated patient-grouped CV.

The models, the folds and the metrics are described in the package docstring
(:mod:`radiomics_features.pfirrmann`).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from radiomics_features.geometry import DISC_FEATURES
from radiomics_features.pfirrmann.dataset import GRADES, is_radiomic_feature, model_features

__all__ = [
    "SPEARMAN_FEATURES",
    "LOGISTIC_C_GRID",
    "GradeMetrics",
    "PfirrmannResult",
    "grouped_splits",
    "grade_metrics",
    "fit_model",
    "fit_predict",
    "make_models",
    "cross_validate_grades",
    "spearman_table",
]

SPEARMAN_FEATURES: tuple[str, ...] = (
    "disc_csf_signal_ratio",
    "disc_height_index",
    "disc_height_mm",
)
LOGISTIC_C_GRID: tuple[float, ...] = (0.01, 0.1, 1.0, 10.0)


# ----------------------------------------------------------------- splits and metrics
def grouped_splits(
    y, groups, *, n_splits: int = 5, seeds: Sequence[int] = (0, 1, 2, 3, 4)
) -> Iterator[tuple[int, int, np.ndarray, np.ndarray]]:
    """Yield ``(repeat, fold, train_idx, test_idx)``: stratified patient-grouped k-fold,
    one partition per seed. A group (patient) is never in both train and test."""
    from sklearn.model_selection import StratifiedGroupKFold

    y, groups = np.asarray(y), np.asarray(groups)
    if len(y) != len(groups):
        raise ValueError(f"y has {len(y)} rows but groups has {len(groups)}")
    n_groups = len(np.unique(groups))
    if n_groups < n_splits:
        raise ValueError(
            f"{n_groups} patient(s) cannot fill {n_splits} folds; "
            f"use at most {n_groups} folds or more patients"
        )
    for r, seed in enumerate(seeds):
        cv = StratifiedGroupKFold(n_splits=n_splits, shuffle=True, random_state=int(seed))
        for f, (tr, te) in enumerate(cv.split(np.zeros(len(y)), y, groups)):
            yield r, f, tr, te


@dataclass(frozen=True)
class GradeMetrics:
    """Agreement of predicted with reference grades (all higher-is-better)."""

    n: int
    accuracy: float
    qw_kappa: float
    within_one: float


def grade_metrics(y_true, y_pred, grades: Sequence[int] = GRADES) -> GradeMetrics:
    """Accuracy, quadratic-weighted Cohen's kappa and within-one-grade accuracy.

    ``grades`` fixes the ordinal scale, so the kappa weight of a disagreement is its
    distance in grades even when a grade occurs in neither vector. Kappa is NaN when
    both vectors hold one and the same grade (it is 0/0 then).
    """
    from sklearn.metrics import cohen_kappa_score

    t, p = np.asarray(y_true), np.asarray(y_pred)
    if t.shape != p.shape or t.ndim != 1 or t.size == 0:
        raise ValueError(f"need two 1D vectors of equal, non-zero length; got {t.shape}, {p.shape}")
    unknown = sorted({v.item() for v in np.unique(np.r_[t, p])} - set(grades))
    if unknown:
        raise ValueError(f"grade(s) {unknown} are not on the scale {tuple(grades)}")
    if len(np.unique(np.r_[t, p])) == 1:
        kappa = float("nan")  # one grade only: chance agreement is perfect, kappa is 0/0
    else:
        kappa = float(cohen_kappa_score(t, p, labels=list(grades), weights="quadratic"))
    return GradeMetrics(
        int(t.size),
        float(np.mean(t == p)),
        kappa,
        float(np.mean(np.abs(t.astype(int) - p.astype(int)) <= 1)),
    )


# ------------------------------------------------------------------------- models
def _kappa_scorer():
    from sklearn.metrics import make_scorer

    return make_scorer(lambda t, p: grade_metrics(t, p).qw_kappa)


def make_models(seed: int = 0, *, inner_splits: int = 4) -> dict:
    """The two unfitted classifiers (see the package docstring), by name."""
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import GridSearchCV, StratifiedGroupKFold
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    logistic = GridSearchCV(
        make_pipeline(
            SimpleImputer(strategy="median", add_indicator=True, keep_empty_features=True),
            StandardScaler(),
            LogisticRegression(max_iter=5000),
        ),
        {"logisticregression__C": list(LOGISTIC_C_GRID)},
        scoring=_kappa_scorer(),
        cv=StratifiedGroupKFold(n_splits=inner_splits),
        n_jobs=1,
    )
    boosting = HistGradientBoostingClassifier(
        learning_rate=0.05,
        max_iter=150,
        max_depth=2,
        min_samples_leaf=10,
        l2_regularization=1.0,
        early_stopping=False,
        random_state=seed,
    )
    return {"logistic": logistic, "boosting": boosting}


@dataclass(frozen=True)
class PfirrmannResult:
    """Cross-validated grade prediction: per-repeat metrics, their summary, the mean
    confusion matrix per model (rows reference grade, columns predicted; mean counts
    per repeat), the grade counts, Spearman's rho and the settings used."""

    per_repeat: pd.DataFrame
    summary: pd.DataFrame
    confusion: dict[str, pd.DataFrame]
    grade_counts: pd.DataFrame
    spearman: pd.DataFrame
    settings: dict = field(default_factory=dict)

    def to_json(self) -> dict:
        return {
            "settings": self.settings,
            "summary": self.summary.to_dict(orient="records"),
            "per_repeat": self.per_repeat.to_dict(orient="records"),
            "confusion": {
                m: {
                    "grades": [int(g) for g in c.index],
                    "mean_counts": c.to_numpy().round(3).tolist(),
                }
                for m, c in self.confusion.items()
            },
            "grade_counts": self.grade_counts.to_dict(orient="records"),
            "spearman": self.spearman.to_dict(orient="records"),
        }


def _inner_cv(y, groups, n_splits: int):
    """Patient-grouped inner folds: stratified when every grade can fill every fold,
    else plain grouped folds (a rare grade then misses some inner training sets)."""
    from sklearn.model_selection import GroupKFold, StratifiedGroupKFold

    n = min(n_splits, len(np.unique(groups)))
    if np.unique(y, return_counts=True)[1].min() >= n:
        return StratifiedGroupKFold(n_splits=n)
    return GroupKFold(n_splits=n)


def fit_model(model, X, y, groups, tr):
    """A clone of ``model`` fitted on rows ``tr`` (a grid search tunes on patient-grouped
    inner folds of those rows)."""
    from sklearn.base import clone
    from sklearn.model_selection import GridSearchCV

    m = clone(model)
    if isinstance(m, GridSearchCV):
        m.set_params(cv=_inner_cv(y[tr], groups[tr], m.cv.get_n_splits()))
        m.fit(X[tr], y[tr], groups=groups[tr])
    else:
        m.fit(X[tr], y[tr])
    return m


def fit_predict(model, X, y, groups, tr, te) -> np.ndarray:
    return fit_model(model, X, y, groups, tr).predict(X[te])


def cross_validate_grades(
    df: pd.DataFrame,
    *,
    features: Sequence[str] | None = None,
    n_splits: int = 5,
    seeds: Sequence[int] = (0, 1, 2, 3, 4),
    models: dict | None = None,
) -> PfirrmannResult:
    """Repeated patient-grouped CV of every model and the majority-class rule."""
    missing = [c for c in ("patient", "pfirrmann") if c not in df]
    if missing:
        raise KeyError(f"column(s) {missing} missing; expected the disc_dataset table")
    features = list(model_features(df) if features is None else features)
    absent = [c for c in features if c not in df]
    if absent:
        raise KeyError(f"feature column(s) {absent} not in the table")
    X = df[features].to_numpy(dtype=float)
    y = df["pfirrmann"].to_numpy(dtype=int)
    groups = df["patient"].to_numpy()
    models = make_models(int(seeds[0])) if models is None else models
    names = [*models, "majority"]
    oof = {(m, r): np.zeros(len(y), dtype=int) for m in names for r in range(len(seeds))}
    # threadpoolctl ships no type information
    from threadpoolctl import threadpool_limits

    for r, _f, tr, te in grouped_splits(y, groups, n_splits=n_splits, seeds=seeds):
        # ~150 rows: one thread is faster than OpenMP's start-up, and does not spin
        # against other work on a busy machine
        with threadpool_limits(limits=1):
            for name, model in models.items():
                oof[name, r][te] = fit_predict(model, X, y, groups, tr, te)
        values, counts = np.unique(y[tr], return_counts=True)
        oof["majority", r][te] = values[np.argmax(counts)]

    from sklearn.metrics import confusion_matrix

    rows, confusion = [], {}
    for name in names:
        cms = []
        for r, seed in enumerate(seeds):
            g = grade_metrics(y, oof[name, r])
            rows.append(
                {
                    "model": name,
                    "repeat": r,
                    "seed": int(seed),
                    "n_discs": g.n,
                    "accuracy": g.accuracy,
                    "qw_kappa": g.qw_kappa,
                    "within_one": g.within_one,
                }
            )
            cms.append(confusion_matrix(y, oof[name, r], labels=list(GRADES)))
        confusion[name] = pd.DataFrame(
            np.mean(cms, axis=0),
            index=pd.Index(GRADES, name="grade"),
            columns=pd.Index(GRADES, name="predicted"),
        )
    per_repeat = pd.DataFrame(rows)
    summary = (
        per_repeat.melt(
            id_vars=["model", "repeat"],
            value_vars=["accuracy", "qw_kappa", "within_one"],
            var_name="metric",
        )
        .groupby(["model", "metric"], sort=False)["value"]
        .agg(
            mean="mean",
            sd=lambda v: v.std(ddof=1) if len(v) > 1 else np.nan,
            min="min",
            max="max",
            n_repeats="size",
        )
        .reset_index()
    )
    counts = (
        df.groupby("pfirrmann")
        .agg(n_discs=("patient", "size"), n_patients=("patient", "nunique"))
        .reindex(GRADES, fill_value=0)
        .rename_axis("grade")
        .reset_index()
    )
    settings = {
        "n_discs": len(y),
        "n_patients": len(np.unique(groups)),
        "n_splits": int(n_splits),
        "seeds": [int(s) for s in seeds],
        "features": features,
        "grades": list(GRADES),
        "left_out_all_missing": [
            c
            for c in df.columns
            if c not in features
            and (c in DISC_FEATURES or is_radiomic_feature(c))
            and df[c].isna().all()
        ],
        "logistic_C_grid": list(LOGISTIC_C_GRID),
        "mask_source": sorted(df["mask_source"].unique()) if "mask_source" in df else None,
        "discs_with_missing_features": int(np.isnan(X).any(axis=1).sum()),
    }
    return PfirrmannResult(per_repeat, summary, confusion, counts, spearman_table(df), settings)


def spearman_table(df: pd.DataFrame, features: Sequence[str] = SPEARMAN_FEATURES) -> pd.DataFrame:
    """Spearman's rho (and p) of each feature against the Pfirrmann grade."""
    from scipy.stats import spearmanr

    rows = []
    for f in features:
        ok = df[[f, "pfirrmann"]].dropna()
        res = spearmanr(ok[f], ok["pfirrmann"])
        rows.append(
            {
                "feature": f,
                "n_discs": len(ok),
                "n_patients": df.loc[ok.index, "patient"].nunique(),
                "rho": float(res.statistic),
                "p": float(res.pvalue),
            }
        )
    return pd.DataFrame(rows)
