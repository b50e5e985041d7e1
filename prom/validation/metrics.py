"""All validation metrics in one namespace.

Each function takes outcomes and predictions (array-likes, pandas Series included),
checks them (``TypeError`` for wrong types, ``ValueError`` naming counts and rows for bad
values, :class:`~prom.errors.StatisticalWarning` for fewer than 10 events), and returns a
number, a small frozen dataclass or a DataFrame. Nothing here draws.

==========================  ======================================================
discrimination              auc_score, auc_ci, delong_test, multiclass_auc_ovr
calibration / accuracy      brier_loss, scaled_brier_score,
                            calibration_intercept_slope, calibration_errors,
                            calibration_curve
decision curves             net_benefit
survival                    harrell_c, concordance, kaplan_meier,
                            survival_calibration_at, survival_calibration_slope
==========================  ======================================================

References computed with R (pROC, rms, survival) live in tests/reference/metrics/.
"""

from prom.validation.calibration import (
    CalibrationCurve,
    CalibrationErrors,
    CalibrationFit,
    brier_loss,
    calibration_curve,
    calibration_errors,
    calibration_intercept_slope,
    scaled_brier_score,
)
from prom.validation.decision import net_benefit
from prom.validation.discrimination import (
    AUCResult,
    DeLongTest,
    MulticlassAUC,
    auc_ci,
    auc_score,
    delong_test,
    multiclass_auc_ovr,
)
from prom.validation.survival_metrics import (
    Concordance,
    SurvivalSlope,
    concordance,
    harrell_c,
    kaplan_meier,
    survival_calibration_at,
    survival_calibration_slope,
)

__all__ = [
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
]
