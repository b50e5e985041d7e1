"""How a task is fitted and validated: one settings object, checked once.

:class:`FitSettings` holds every choice a fit makes besides the task and the model
families — folds, tuning budget, calibration, bootstrap replicates, sites, seed, workers,
and for a survival task the horizon and CV repeats. It is checked when it is made
(:mod:`prom.options` declares what each option allows), so a wrong value is refused before
any model is fitted. What the results depend on is recorded in the bundle manifest
(:class:`~prom.bundle.ClassifierSettings`, :class:`~prom.bundle.SurvivalSettings`);
``n_jobs`` is not: the results do not depend on it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from prom.options import CALIBRATION, N_JOBS, SEED, Count, Probability, check_option

__all__ = [
    "FAMILIES",
    "SURVIVAL_FAMILIES",
    "DEFAULT_ANTICIPATED_C",
    "DEFAULT_HORIZON",
    "FitSettings",
]

#: Model families of binary and multiclass tasks; logistic regression is the baseline.
FAMILIES: tuple[str, ...] = ("logistic", "elastic_net", "random_forest", "xgboost", "lightgbm")
#: Model families of the survival task (Cox, and Cox with a ridge penalty chosen by CV).
SURVIVAL_FAMILIES: tuple[str, ...] = ("cox", "cox_ridge")

#: Anticipated C-statistic used for the Riley sample-size check when the user gives none
#: (a typical value for published spine PROM models; Berg 2024 report 0.74–0.84).
DEFAULT_ANTICIPATED_C = 0.75
#: Default horizon for risks and calibration (months): one year after the baseline visit.
DEFAULT_HORIZON = 12.0


@dataclass(frozen=True)
class FitSettings:
    """Validation and fitting settings of :func:`prom.workflows.fit_task`.

    Binary and multiclass tasks use ``n_splits`` (outer CV folds), ``n_iter`` and
    ``inner_cv`` (random-search tuning inside every fit), ``calibration``, ``n_boot``
    (bootstrap replicates of the comparison with logistic regression), ``optimism_boot``
    (Harrell's optimism refits, for ``optimism_families``, default logistic regression),
    ``site_column`` (internal–external validation) and ``anticipated_c`` (the Riley
    sample-size check). A survival task uses ``n_splits`` × ``n_repeats`` CV, ``n_boot``
    (the interval of C), ``optimism_boot`` (default family ``cox``) and ``horizon`` (in
    the task's time unit; None: the built-in task's :data:`DEFAULT_HORIZON` months — a
    user's own time-to-event outcome has no default and needs one). ``random_state`` makes every random choice; ``n_jobs`` worker processes.

    ``drop_unusable`` turns a predictor the user named that cannot be used (missing in
    every labelled row, constant, named twice, identical to another) from an error into a
    recorded exclusion (:mod:`prom.outcomes.predictors`). ``allow_small_sample`` fits a
    user's own outcome (``target=``) below the minimum sample size
    (:mod:`prom.workflows.fit_checks`) instead of refusing; the manifest and the report
    say so.

    ``id_column`` names the column that identifies a row (``prom fit --id-column``): the
    bundle records keyed digests of the development rows' ids, so that evaluation can say
    which rows it was developed on (:mod:`prom.bundle.development_rows`; default: the
    contract's ``patient_id`` when present, else the rows' values).

    ``subgroups``: the user's own columns to tabulate performance by, besides sex, age
    band and site (:mod:`prom.workflows.subgroups`); each must be a column of the table.
    """

    n_splits: int = 5
    n_iter: int = 10
    inner_cv: int = 3
    calibration: str = "auto"
    n_boot: int = 200
    optimism_boot: int = 100
    optimism_families: tuple[str, ...] | None = None
    site_column: str | None = "site"
    anticipated_c: float = DEFAULT_ANTICIPATED_C
    random_state: int = 0
    n_jobs: int = 1
    horizon: float | None = None
    n_repeats: int = 2
    drop_unusable: bool = False
    allow_small_sample: bool = False
    id_column: str | None = None
    subgroups: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        check_option("n_splits", self.n_splits, Count(2))
        check_option("n_iter", self.n_iter, Count(1))
        check_option("inner_cv", self.inner_cv, Count(2))
        check_option("calibration", self.calibration, CALIBRATION)
        check_option("n_boot", self.n_boot, Count(1))
        check_option("optimism_boot", self.optimism_boot, Count(0))
        check_option("n_repeats", self.n_repeats, Count(1))
        check_option("anticipated_c", self.anticipated_c, Probability())
        check_option("random_state", self.random_state, SEED)
        check_option("n_jobs", self.n_jobs, N_JOBS)
        for flag in ("drop_unusable", "allow_small_sample"):
            if not isinstance(getattr(self, flag), bool):
                raise TypeError(f"{flag}={getattr(self, flag)!r}; expected True or False")
        if self.id_column is not None and (
            not isinstance(self.id_column, str) or not self.id_column.strip()
        ):
            raise TypeError(f"id_column={self.id_column!r}; expected a column name or None")
        h = self.horizon
        if h is not None and (
            isinstance(h, bool) or not isinstance(h, (int, float)) or not math.isfinite(h) or h <= 0
        ):
            raise ValueError(
                f"horizon={h!r}; expected a positive number (in the time unit of the task)"
            )
        if isinstance(self.subgroups, str) or not all(isinstance(c, str) for c in self.subgroups):
            raise TypeError(f"subgroups={self.subgroups!r}; expected a sequence of column names")
        object.__setattr__(self, "subgroups", tuple(dict.fromkeys(self.subgroups)))
        if self.optimism_families is not None:
            object.__setattr__(self, "optimism_families", tuple(self.optimism_families))
