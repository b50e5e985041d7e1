"""Resampling validation of a whole modelling pipeline.

Three answers to "how well will this model do for new patients?", one module each:

:func:`cross_validated_predictions` (:mod:`~prom.validation.resampling.cv`)
    (repeated) stratified k-fold cross-validation: out-of-fold predictions, fold ids and,
    per repeat, the AUC, Brier score and calibration of the pooled out-of-fold predictions.
:func:`bootstrap_optimism` (:mod:`~prom.validation.resampling.bootstrap`)
    Harrell's bootstrap optimism correction (Harrell, Lee & Mark, Stat Med 1996; 15:361;
    Steyerberg, *Clinical Prediction Models*, 2nd ed. 2019, ch. 17; ``rms::validate``).
:func:`internal_external_cv` (:mod:`~prom.validation.resampling.internal_external`)
    leave one site out at a time (Royston, Parmar & Sylvester, Stat Med 2004; 23:907;
    Steyerberg & Harrell, J Clin Epidemiol 2016; 69:245): per-site performance, pooled
    out-of-site performance and a random-effects meta-analysis across sites
    (:func:`random_effects_meta`, :mod:`prom.validation.meta_analysis`; Debray et al.,
    BMJ 2017; 356:i6460; Riley et al., BMJ 2016; 353:i3140).

The pieces they share: :mod:`~prom.validation.resampling.inputs` (the estimator, ``X`` and
``groups`` checks), :mod:`~prom.validation.resampling.fitting` (fit a clone, read its
probabilities), :mod:`~prom.validation.resampling.scores` (warning-free scores of one
resample, and the warnings about all of them); the outcome is read by
:func:`prom.validation.outcome_encoding.encode_outcome` and the fits are spread over
processes by :func:`prom.parallel.parallel_map`.

The estimator is anything with ``fit`` and ``predict_proba`` that
:func:`sklearn.base.clone` copies: a bare classifier, a Pipeline with its preprocessing, a
``GridSearchCV`` (tuning is then redone inside every fold and every bootstrap sample, as
it must be). The estimator passed in is never fitted; every fit is on a clone. Results
are deterministic for a given ``random_state`` as long as the estimator itself is (fix
its own ``random_state`` if it has one), and do not depend on ``n_jobs``.

Binary outcomes are 0/1 (or boolean; 1 = event) and a model's probability of class 1 is
used. Outcomes with three or more classes (labels of any type) are multiclass: the
probabilities are kept per class, the AUC is the macro one-vs-rest AUC and the Brier score
the multiclass one, ``mean(sum_k (p_k - [y = k])^2)`` (Brier 1950; range 0 to 2).

Calibration intercept and slope need ``logit(p)``: predictions of exactly 0 or 1 (deep
trees, nearest neighbours) are clipped to ``[1e-8, 1 - 1e-8]`` for them, with a
:class:`~prom.errors.StatisticalWarning` giving the count, because the slope then depends
on the clip (it is close to 0 either way, which is the message such a model deserves).
"""

from prom.validation.meta_analysis import MetaAnalysis, random_effects_meta
from prom.validation.resampling.bootstrap import (
    OptimismResult,
    PendingOptimism,
    bootstrap_optimism,
)
from prom.validation.resampling.cv import (
    CVResult,
    PendingCV,
    cross_validate_each,
    cross_validated_predictions,
)
from prom.validation.resampling.internal_external import IECVResult, internal_external_cv

__all__ = [
    "CVResult",
    "OptimismResult",
    "IECVResult",
    "MetaAnalysis",
    "cross_validated_predictions",
    "cross_validate_each",
    "bootstrap_optimism",
    "internal_external_cv",
    "random_effects_meta",
    "PendingCV",
    "PendingOptimism",
]
