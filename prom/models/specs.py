"""The registry of model families: each one a small declaration.

A :class:`ModelSpec` says how to build the family's estimator from a parameter dict, its
default parameters, its tuning search space (declared as data, so a report can print it
and a bundle can store it), and what design it needs from the
:class:`~prom.models.preprocess.Preprocessor` (scaling, reference coding, whether spline
terms make sense). :class:`~prom.models.estimator.PromClassifier` does the rest.

================ ======================================= ========================== =======
family           estimator                               tuned                      design
================ ======================================= ========================== =======
logistic         LogisticRegression, unpenalised         nothing (the baseline)     ref.
                 (``C=inf``, Newton–Cholesky; multino-                              coding,
                 mial for 3+ classes)                                               splines
elastic_net      LogisticRegression, saga, elastic net   C, l1_ratio                scaled,
                                                                                    splines
random_forest    RandomForestClassifier, 200 trees       max_features,              one-hot
                                                         min_samples_leaf,
                                                         max_depth, max_samples
xgboost          XGBClassifier, ``tree_method="hist"``   max_depth, learning_rate,  one-hot
                                                         n_estimators,
                                                         min_child_weight,
                                                         subsample, colsample_bytree,
                                                         reg_lambda
lightgbm         LGBMClassifier, ``verbose=-1``          num_leaves, learning_rate, one-hot
                                                         n_estimators,
                                                         min_child_samples,
                                                         subsample, colsample_bytree,
                                                         reg_lambda
================ ======================================= ========================== =======

Boosting uses no early stopping: the number of trees is tuned with the other parameters
in the same inner cross-validation, which keeps every stopping decision inside the
training rows of each resample (early stopping on the rows being scored would leak).

Search-space entries are ``(kind, ...)`` tuples: ``("uniform", low, high)``,
``("loguniform", low, high)``, ``("int", low, high)`` (inclusive), ``("logint", low,
high)`` (log-uniform, rounded) and ``("choice", [values])``. :meth:`ModelSpec.sample`
draws them with ``numpy.random.default_rng(seed)`` in sorted parameter order, so a seed
fixes the candidates.

Threads: ``n_jobs`` goes to the estimator (XGBoost/LightGBM threads, forest jobs);
inside resampling keep it at 1 and parallelise over resamples instead (2 cores here).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import numpy as np

__all__ = ["ModelSpec", "MODEL_SPECS", "get_spec", "FAMILIES"]


@dataclass(frozen=True)
class ModelSpec:
    """Declaration of one model family (see the module docstring)."""

    name: str
    description: str
    build: Callable[[dict, int, int, int], Any] = field(repr=False)
    default_params: Mapping[str, Any] = field(default_factory=dict)
    search_space: Mapping[str, tuple] = field(default_factory=dict)
    scale: bool = False
    drop_reference: bool = False
    splines: bool = False  # spline terms are meaningful (linear predictor families)
    #: tuned and calibrated on out-of-bag predictions instead of an inner CV
    #: (bagged families; prom.models.out_of_bag)
    out_of_bag: bool = False
    #: hold the OpenMP runtime to the estimator's ``n_jobs`` while fitting
    #: (prom.models.threads; XGBoost's data set-up otherwise uses every core)
    limit_openmp: bool = False

    def make_estimator(
        self,
        params: Mapping | None = None,
        n_classes: int = 2,
        random_state: int = 0,
        n_jobs: int = 1,
    ):
        """An unfitted estimator: the defaults updated with ``params``."""
        unknown = set(params or {}) - set(self.default_params) - set(self.search_space)
        if unknown:
            raise ValueError(
                f"{self.name} has no parameter(s) {', '.join(sorted(unknown))}; it takes "
                f"{', '.join(sorted(set(self.default_params) | set(self.search_space)))}"
            )
        merged = {**self.default_params, **(params or {})}
        return self.build(merged, int(n_classes), int(random_state), int(n_jobs))

    def sample(self, n: int, random_state: int) -> list[dict]:
        """``n`` parameter dicts drawn from the search space (plain Python values)."""
        rng = np.random.default_rng(random_state)
        out = []
        for _ in range(n):
            draw = {}
            for name in sorted(self.search_space):
                draw[name] = _draw(rng, self.search_space[name])
            out.append(draw)
        return out


def _draw(rng: np.random.Generator, dist: tuple):
    kind = dist[0]
    if kind == "uniform":
        return float(rng.uniform(dist[1], dist[2]))
    if kind == "loguniform":
        return float(np.exp(rng.uniform(np.log(dist[1]), np.log(dist[2]))))
    if kind == "int":
        return int(rng.integers(dist[1], dist[2] + 1))
    if kind == "logint":
        return int(np.round(np.exp(rng.uniform(np.log(dist[1]), np.log(dist[2])))))
    if kind == "choice":
        values = list(dist[1])
        return values[int(rng.integers(len(values)))]
    raise ValueError(f"unknown search-space kind {kind!r}")


# --- builders ---------------------------------------------------------------------------


def _logistic(p, n_classes, random_state, n_jobs):
    from sklearn.linear_model import LogisticRegression

    # Newton-Cholesky: exact second-order steps, insensitive to the scale of the inputs,
    # so the baseline runs on the unscaled design (its odds ratios are per unit).
    return LogisticRegression(
        C=np.inf, solver="newton-cholesky", max_iter=p["max_iter"], tol=p["tol"]
    )


def _elastic_net(p, n_classes, random_state, n_jobs):
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression(
        C=p["C"],
        l1_ratio=p["l1_ratio"],
        solver="saga",
        max_iter=p["max_iter"],
        tol=p["tol"],
        random_state=random_state,
    )


def _random_forest(p, n_classes, random_state, n_jobs):
    from sklearn.ensemble import RandomForestClassifier

    return RandomForestClassifier(
        n_estimators=p["n_estimators"],
        max_features=p["max_features"],
        min_samples_leaf=p["min_samples_leaf"],
        max_depth=p["max_depth"],
        max_samples=p["max_samples"],
        n_jobs=n_jobs,
        random_state=random_state,
    )


def _xgboost(p, n_classes, random_state, n_jobs):
    from xgboost import XGBClassifier

    objective = "binary:logistic" if n_classes == 2 else "multi:softprob"
    return XGBClassifier(
        tree_method="hist",
        objective=objective,
        n_estimators=p["n_estimators"],
        max_depth=p["max_depth"],
        learning_rate=p["learning_rate"],
        min_child_weight=p["min_child_weight"],
        subsample=p["subsample"],
        colsample_bytree=p["colsample_bytree"],
        reg_lambda=p["reg_lambda"],
        n_jobs=n_jobs,
        random_state=random_state,
        verbosity=0,
    )


def _lightgbm(p, n_classes, random_state, n_jobs):
    from lightgbm import LGBMClassifier

    return LGBMClassifier(
        n_estimators=p["n_estimators"],
        num_leaves=p["num_leaves"],
        learning_rate=p["learning_rate"],
        min_child_samples=p["min_child_samples"],
        subsample=p["subsample"],
        subsample_freq=1,
        colsample_bytree=p["colsample_bytree"],
        reg_lambda=p["reg_lambda"],
        n_jobs=n_jobs,
        random_state=random_state,
        verbose=-1,
        deterministic=True,
        force_col_wise=True,
    )


_SPECS = (
    ModelSpec(
        "logistic",
        "unpenalised logistic regression (the baseline)",
        _logistic,
        default_params={"max_iter": 200, "tol": 1e-8},
        drop_reference=True,
        splines=True,
    ),
    ModelSpec(
        "elastic_net",
        "elastic-net penalised logistic regression (saga)",
        _elastic_net,
        default_params={"C": 0.1, "l1_ratio": 0.5, "max_iter": 2000, "tol": 1e-3},
        search_space={"C": ("loguniform", 1e-3, 1.0), "l1_ratio": ("uniform", 0.0, 1.0)},
        scale=True,
        splines=True,
    ),
    ModelSpec(
        "random_forest",
        "random forest",
        _random_forest,
        # Each tree sees a bootstrap sample of max_samples × n rows: half the rows by
        # default, which halves the cost of a tree and decorrelates the trees; leaves of
        # fewer than 5 rows give near-0/1 vote shares that calibrate badly, so the search
        # starts at 5.
        default_params={
            "n_estimators": 200,
            "max_features": 0.2,
            "min_samples_leaf": 10,
            "max_depth": None,
            "max_samples": 0.5,
        },
        search_space={
            "max_features": ("uniform", 0.05, 0.35),
            "min_samples_leaf": ("choice", [5, 10, 20, 40, 80]),
            "max_depth": ("choice", [None, 4, 8, 16]),
            "max_samples": ("choice", [0.3, 0.5, 0.7]),
        },
        out_of_bag=True,
    ),
    ModelSpec(
        "xgboost",
        "gradient boosting (XGBoost, hist)",
        _xgboost,
        default_params={
            "n_estimators": 400,
            "max_depth": 2,
            "learning_rate": 0.03,
            "min_child_weight": 5.0,
            "subsample": 0.8,
            "colsample_bytree": 0.5,
            "reg_lambda": 5.0,
        },
        search_space={
            "max_depth": ("int", 1, 6),
            "learning_rate": ("loguniform", 0.01, 0.3),
            "n_estimators": ("logint", 50, 1000),
            "min_child_weight": ("loguniform", 0.5, 50.0),
            "subsample": ("uniform", 0.5, 1.0),
            "colsample_bytree": ("uniform", 0.3, 1.0),
            "reg_lambda": ("loguniform", 0.1, 30.0),
        },
        limit_openmp=True,
    ),
    ModelSpec(
        "lightgbm",
        "gradient boosting (LightGBM)",
        _lightgbm,
        default_params={
            "n_estimators": 400,
            "num_leaves": 4,
            "learning_rate": 0.03,
            "min_child_samples": 30,
            "subsample": 0.8,
            "colsample_bytree": 0.5,
            "reg_lambda": 5.0,
        },
        search_space={
            "num_leaves": ("int", 2, 32),
            "learning_rate": ("loguniform", 0.01, 0.3),
            "n_estimators": ("logint", 50, 1000),
            "min_child_samples": ("logint", 5, 200),
            "subsample": ("uniform", 0.5, 1.0),
            "colsample_bytree": ("uniform", 0.3, 1.0),
            "reg_lambda": ("loguniform", 1e-3, 30.0),
        },
    ),
)

MODEL_SPECS: Mapping[str, ModelSpec] = MappingProxyType({s.name: s for s in _SPECS})
FAMILIES: tuple[str, ...] = tuple(MODEL_SPECS)


def get_spec(family: str | ModelSpec) -> ModelSpec:
    """The spec of a family by name (or the spec itself)."""
    if isinstance(family, ModelSpec):
        return family
    if not isinstance(family, str):
        raise TypeError(f"family must be a name such as 'logistic', got {type(family).__name__}")
    try:
        return MODEL_SPECS[family]
    except KeyError:
        raise ValueError(
            f"unknown model family {family!r}; families are {', '.join(FAMILIES)}"
        ) from None
