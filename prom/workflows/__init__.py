"""The application layer: what the ``prom`` command, the demo and a researcher's script run.

Above the domain packages (instruments, cohort, outcomes, validation, models, explain,
bundle, report, score, calculator) and below the front ends (``prom.cli``,
``apps/calculator.py``), it puts them together:

- :mod:`prom.workflows.fit` — fit a binary or multiclass task end to end
  (:func:`fit_task`, :class:`TaskFit`), and :mod:`prom.workflows.fit_survival` the
  survival task (:func:`fit_survival_task`, :class:`SurvivalTaskFit`), with one
  :class:`FitSettings`; :mod:`prom.workflows.fit_checks` what a fit checks before any
  model is fitted (labelled rows, usable predictors, the minimum sample size of a user's
  outcome);
- :mod:`prom.workflows.record` — the validation record a fit writes into its bundle for
  reports;
- :mod:`prom.workflows.provenance` — the provenance record a fit writes into its bundle's
  manifest (task source, predictor choice, what loading did to the table), from which
  reports state what the run did;
- :mod:`prom.workflows.evaluate` — validate (and recalibrate) a bundle on new data;
- :mod:`prom.workflows.tables` — the terminal tables ``prom fit`` and ``prom demo`` print;
- :mod:`prom.workflows.demo` — ``prom demo`` and the embedded demonstration bundle.
"""

from prom.outcomes import prepare_task_data
from prom.workflows.evaluate import EvaluationResult, evaluate_bundle, recalibrated_fits
from prom.workflows.fit import TaskFit, fit_classifier_task, fit_task
from prom.workflows.fit_survival import SurvivalTaskFit, fit_survival_task
from prom.workflows.settings import (
    DEFAULT_ANTICIPATED_C,
    DEFAULT_HORIZON,
    FAMILIES,
    SURVIVAL_FAMILIES,
    FitSettings,
)

__all__ = [
    "FAMILIES",
    "SURVIVAL_FAMILIES",
    "DEFAULT_ANTICIPATED_C",
    "DEFAULT_HORIZON",
    "FitSettings",
    "TaskFit",
    "SurvivalTaskFit",
    "fit_task",
    "fit_classifier_task",
    "fit_survival_task",
    "prepare_task_data",
    "EvaluationResult",
    "evaluate_bundle",
    "recalibrated_fits",
]
