"""Prediction tasks: which label, which rows, which predictors.

- :mod:`prom.outcomes.registry` — the built-in tasks (:data:`TASKS`) and label derivation
  (:func:`derive_label`, :func:`derive_labels`), every row without a label with a reason;
- :mod:`prom.outcomes.definitions` — what a label means, as the data a bundle stores;
- :mod:`prom.outcomes.data` — from a table and a task (or a stored definition) to the
  rows, predictors and label a model is fitted or evaluated on;
- :mod:`prom.outcomes.custom` — the user's own outcome columns: which kind of outcome
  they hold (binary, multiclass, time to event) and their labels;
- :mod:`prom.outcomes.predictors` — which predictors a fit can use, every one left out
  recorded with its reason.
"""

from prom.outcomes.data import (
    TaskData,
    TaskRows,
    custom_task,
    is_custom_task,
    prepare_task_data,
    resolve_task,
    rows_for_definition,
    task_for_definition,
)
from prom.outcomes.definitions import (
    TIME_UNIT,
    ClassDefinition,
    ColumnDefinition,
    McidDefinition,
    SurvivalDefinition,
    TaskDefinition,
    definition_from_dict,
    mcid_definition,
    survival_definition,
    user_survival_definition,
)
from prom.outcomes.predictors import ExcludedPredictor, PredictorError, screen_predictors
from prom.outcomes.registry import (
    DEMOGRAPHICS,
    IMAGING,
    IMAGING_INDEX,
    LUMBAR_BASELINE,
    TASKS,
    Task,
    derive_label,
    derive_labels,
    get_task,
)

__all__ = [
    "Task",
    "TASKS",
    "get_task",
    "derive_label",
    "derive_labels",
    "DEMOGRAPHICS",
    "LUMBAR_BASELINE",
    "IMAGING",
    "IMAGING_INDEX",
    "TIME_UNIT",
    "TaskDefinition",
    "McidDefinition",
    "ColumnDefinition",
    "ClassDefinition",
    "SurvivalDefinition",
    "definition_from_dict",
    "mcid_definition",
    "survival_definition",
    "user_survival_definition",
    "TaskData",
    "TaskRows",
    "custom_task",
    "is_custom_task",
    "resolve_task",
    "prepare_task_data",
    "task_for_definition",
    "rows_for_definition",
    "ExcludedPredictor",
    "PredictorError",
    "screen_predictors",
]
