"""spine-prom: clinical outcome prediction for spine care.

Sub-packages, lowest layer first (each imports only from those above it in this list):

prom.instruments  PROM scoring (ODI, NRS, COMI, mJOA) and MCID rules
prom.cohort       the cohort data contract, validation, readers, column mapping, simulator
prom.outcomes     the prediction tasks: labels, eligible rows, predictors, definitions
prom.validation   metrics, resampling, comparison with logistic regression, sample size
prom.models       preprocessing, model families, calibration, Cox, training ranges
prom.explain      SHAP contributions and their summaries
prom.bundle       model bundles: typed manifest, safe formats, verification
prom.report, prom.score, prom.calculator
                  what reads a bundle: HTML reports, bulk scoring, the one-patient calculator
prom.workflows    the application layer: fitting, evaluation, the demo
prom.cli          the ``prom`` command

Shared by all: prom.errors, prom.options, prom.parallel, prom.jsonable, prom.splines,
prom.naming, prom.number_forms.
"""

__version__ = "0.1.0"
