"""Model validation: metrics, resampling, sample size, and comparison against logistic regression.

- :mod:`prom.validation.metrics` — discrimination, calibration, decision curves, survival
  metrics (each checked against R).
- :mod:`prom.validation.resampling` — repeated stratified CV, Harrell's bootstrap optimism,
  internal–external validation by site (one module each), with random-effects pooling
  (:mod:`prom.validation.meta_analysis`).
- :mod:`prom.validation.survival_resampling` — the same (CV, bootstrap optimism) for a
  survival model, scored by :mod:`prom.validation.survival_performance`: C, calibration
  slope and calibration at a horizon.
- :mod:`prom.validation.sample_size` — Riley et al. minimum sample size for binary models.
- :mod:`prom.validation.subgroups` — the same metrics within subgroups (sex, age band, site,
  a user's column), with a rule for groups too small to judge or to publish.
- :mod:`prom.validation.compare` — every model against the logistic baseline, with a verdict
  (:mod:`prom.validation.verdict`) and paired bootstrap intervals
  (:mod:`prom.validation.paired_bootstrap`).

Shared pieces: :mod:`prom.validation.outcome_encoding` reads an outcome as binary or
multiclass; the package-private ``_checks`` holds the input checks of every function and
``_smoothers`` the lowess and logistic fits behind the calibration metrics.
"""

from prom.validation.compare import ComparisonTable, compare_models
from prom.validation.meta_analysis import MetaAnalysis, random_effects_meta
from prom.validation.metrics import (
    AUCResult,
    CalibrationCurve,
    CalibrationErrors,
    CalibrationFit,
    Concordance,
    DeLongTest,
    MulticlassAUC,
    SurvivalSlope,
    auc_ci,
    auc_score,
    brier_loss,
    calibration_curve,
    calibration_errors,
    calibration_intercept_slope,
    concordance,
    delong_test,
    harrell_c,
    kaplan_meier,
    multiclass_auc_ovr,
    net_benefit,
    scaled_brier_score,
    survival_calibration_at,
    survival_calibration_slope,
)
from prom.validation.resampling import (
    CVResult,
    IECVResult,
    OptimismResult,
    bootstrap_optimism,
    cross_validate_each,
    cross_validated_predictions,
    internal_external_cv,
)
from prom.validation.sample_size import check_sample_size, minimum_sample_size
from prom.validation.survival_performance import SurvivalPerformance, survival_performance
from prom.validation.survival_resampling import (
    SurvivalCVResult,
    cross_validated_survival,
    survival_bootstrap_optimism,
)

__all__ = [
    # metrics (prom.validation.metrics.__all__, in its order)
    "AUCResult",
    "DeLongTest",
    "MulticlassAUC",
    "auc_score",
    "auc_ci",
    "delong_test",
    "multiclass_auc_ovr",
    "CalibrationFit",
    "CalibrationErrors",
    "CalibrationCurve",
    "brier_loss",
    "scaled_brier_score",
    "calibration_intercept_slope",
    "calibration_errors",
    "calibration_curve",
    "net_benefit",
    "Concordance",
    "concordance",
    "harrell_c",
    "kaplan_meier",
    "survival_calibration_at",
    "SurvivalSlope",
    "survival_calibration_slope",
    # comparison, resampling, sample size, survival resampling
    "ComparisonTable",
    "compare_models",
    "CVResult",
    "IECVResult",
    "OptimismResult",
    "MetaAnalysis",
    "bootstrap_optimism",
    "cross_validated_predictions",
    "cross_validate_each",
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
