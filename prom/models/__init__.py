"""The model layer: preprocessing, model families, tuning, calibration, survival.

=========================  ===============================================================
preprocess                 :class:`Preprocessor` — imputation, indicators, one-hot,
                           splines, scaling; JSON state for bundles
specs                      the five families (:data:`MODEL_SPECS`)
tuning                     random search in an inner stratified CV
calibration                cross-fitted Platt/isotonic, :func:`recalibrate` for a new site
estimator                  :class:`PromClassifier` — preprocess → tune → fit → calibrate
logistic                   :func:`odds_ratios` of the logistic baseline (statsmodels)
survival                   :class:`PromCoxModel` (lifelines), :func:`kaplan_meier_curves`
=========================  ===============================================================

Heavy dependencies (xgboost, lightgbm, statsmodels, lifelines) are imported when used.
"""

from prom.models.calibration import LogisticRecalibration, recalibrate
from prom.models.estimator import PromClassifier
from prom.models.logistic import LogisticFitError, odds_ratios
from prom.models.preprocess import Preprocessor, UnknownCategoryError, UnknownCategoryWarning
from prom.models.specs import FAMILIES, MODEL_SPECS, ModelSpec, get_spec
from prom.models.survival import CoxFitError, PromCoxModel, kaplan_meier_curves

__all__ = [
    "Preprocessor",
    "UnknownCategoryWarning",
    "UnknownCategoryError",
    "ModelSpec",
    "MODEL_SPECS",
    "FAMILIES",
    "get_spec",
    "PromClassifier",
    "LogisticRecalibration",
    "recalibrate",
    "odds_ratios",
    "LogisticFitError",
    "PromCoxModel",
    "kaplan_meier_curves",
    "CoxFitError",
]
