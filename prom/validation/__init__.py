"""Model validation: metrics, resampling, sample size, and comparison against logistic regression.

- :mod:`prom.validation.metrics` — discrimination, calibration, decision curves, survival
  metrics (each checked against R).
- :mod:`prom.validation.resampling` — repeated stratified CV, Harrell's bootstrap optimism,
  internal–external validation by site with random-effects pooling.
- :mod:`prom.validation.survival_resampling` — the same (CV, bootstrap optimism) for a
  survival model, scored by :mod:`prom.validation.survival_performance`: C, calibration
  slope and calibration at a horizon.
- :mod:`prom.validation.sample_size` — Riley et al. minimum sample size for binary models.
- :mod:`prom.validation.compare` — every model against the logistic baseline, with a verdict.
"""

from prom.validation.compare import ComparisonTable, compare_models
from prom.validation.metrics import *  # noqa: F403
from prom.validation.metrics import __all__ as _metric_names
from prom.validation.resampling import (
    CVResult,
    IECVResult,
    OptimismResult,
    bootstrap_optimism,
    cross_validated_predictions,
    internal_external_cv,
    random_effects_meta,
)
from prom.validation.sample_size import check_sample_size, minimum_sample_size
from prom.validation.survival_performance import SurvivalPerformance, survival_performance
from prom.validation.survival_resampling import (
    SurvivalCVResult,
    cross_validated_survival,
    survival_bootstrap_optimism,
)

__all__ = [
    *_metric_names,
    "ComparisonTable",
    "compare_models",
    "CVResult",
    "IECVResult",
    "OptimismResult",
    "bootstrap_optimism",
    "cross_validated_predictions",
    "internal_external_cv",
    "random_effects_meta",
    "check_sample_size",
    "minimum_sample_size",
    "SurvivalCVResult",
    "SurvivalPerformance",
    "cross_validated_survival",
    "survival_bootstrap_optimism",
    "survival_performance",
]
