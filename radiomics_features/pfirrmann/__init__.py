"""Pfirrmann grade of each lumbar disc from its image features, on SPIDER, by patient.

The disc-level dataset: every SPIDER patient's five lumbar discs (``l1_l2 … l5_s1``),
measured by the shipped pipeline (:func:`~radiomics_features.pipeline.extract_batch`:
geometry, plus the pyradiomics features of each disc and of the canal beside it with
``radiomics=True``) on either the expert masks (``masks="truth"``) or the bundled
backbone's segmentation (``masks="backbone"``, the path a user's own scan takes), joined
to SPIDER's ``gradings.csv`` by level (``IVD label`` 1 = lowest disc = L5/S1). Nothing
is cached: the features are measured afresh from the shared data folder.

Two classifiers of the grade (1–5), compared under the same folds:

* ``logistic`` — multinomial logistic regression on standardised features (median
  imputation with missing indicators), L2 penalty; C picked from a small grid by an
  inner patient-grouped CV on quadratic-weighted kappa, the outcome metric (a fixed C
  would be a guess: the features range from 15 geometry columns to ~200 with the
  radiomic ones, and the right amount of shrinkage differs).
* ``boosting`` — scikit-learn's histogram gradient boosting, small and regularised
  a priori (depth-2 trees, ≥ 10 discs per leaf, learning rate 0.05, 150 rounds,
  L2 1.0): ~125 training discs and 5 classes leave nothing to tune on.

Evaluation: stratified patient-grouped k-fold CV (a patient's discs are never split
between train and test), repeated with several seeds. Each repeat pools its out-of-fold
predictions (every disc predicted once) into accuracy, quadratic-weighted Cohen's kappa
and within-one-grade accuracy; the spread is over repeats. The majority-class rule
(the training folds' most frequent grade) is scored the same way for context. All five
grades are kept as they are; the grade counts are reported (grade 1 is the rarest).

    python -m radiomics_features.pfirrmann [--data DIR] [--masks truth|backbone]
        [--radiomics] [--repeats 5] [--folds 5] [--workers 2] [--out DIR]

Modules: :mod:`~radiomics_features.pfirrmann.dataset` (the discs and their grades),
:mod:`~radiomics_features.pfirrmann.evaluation` (models, folds, metrics),
:mod:`~radiomics_features.pfirrmann.report`; ``__main__`` is the command line.
"""

from radiomics_features.pfirrmann.dataset import (
    DEFAULT_DATA,
    GRADES,
    MASK_SOURCES,
    disc_dataset,
    join_gradings,
    measure_discs,
    model_features,
    read_gradings,
    spider_ids,
)
from radiomics_features.pfirrmann.evaluation import (
    SPEARMAN_FEATURES,
    GradeMetrics,
    PfirrmannResult,
    cross_validate_grades,
    grade_metrics,
    grouped_splits,
    make_models,
    spearman_table,
)
from radiomics_features.pfirrmann.report import format_report

__all__ = [
    "DEFAULT_DATA",
    "GRADES",
    "MASK_SOURCES",
    "SPEARMAN_FEATURES",
    "GradeMetrics",
    "PfirrmannResult",
    "spider_ids",
    "read_gradings",
    "join_gradings",
    "measure_discs",
    "disc_dataset",
    "model_features",
    "grouped_splits",
    "grade_metrics",
    "make_models",
    "cross_validate_grades",
    "spearman_table",
    "format_report",
]
