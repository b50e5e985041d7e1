"""The model layer: preprocessing, model families, tuning, calibration, survival.

=========================  ===============================================================
inputs                     tables in, typed columns out; columns that are never predictors
preprocess                 :class:`Preprocessor` — imputation, indicators, one-hot,
                           splines, scaling
design                     the Preprocessor's design plan and the matrix it builds
preprocess_state           the Preprocessor's JSON state for bundles
ranges                     training summaries (typed) and the out-of-range checks
columns                    :class:`ColumnCache`: a table's columns converted once
specs                      the five families (:data:`MODEL_SPECS`)
tuning                     random search in an inner stratified CV
calibration                cross-fitted Platt/isotonic, :func:`recalibrate` for a new site
estimator                  :class:`PromClassifier` — preprocess → tune → fit → calibrate
logistic                   :func:`odds_ratios` of the logistic baseline (statsmodels)
survival                   :class:`PromCoxModel` (lifelines)
cox_likelihood             Cox partial likelihood and Breslow baseline hazard
cox_state                  the Cox model's JSON state for bundles
survival_target            ``(time, event)`` from what users pass as ``y``
kaplan_meier               :func:`kaplan_meier_curves` per group (lifelines)
collinearity               exact aliasing, VIFs, condition number, near dependencies
separation                 outcomes separated by a level, a threshold or a combination
diagnostics                the predictors' diagnostics before fitting (the three above,
                           rare levels, events per parameter, explanation groups)
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
