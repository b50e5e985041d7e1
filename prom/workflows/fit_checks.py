"""What a fit checks before any model is fitted: labelled rows, predictors, sample size.

- :func:`task_data_for_fit` — the task's labelled rows and usable predictors
  (:func:`prom.outcomes.prepare_task_data` with ``FitSettings.drop_unusable``); a task
  with no labelled row, or with no usable predictor left, is refused with what was read
  and what was excluded.
- :func:`minimum_sample_size` — a user's own binary or multiclass outcome (``prom fit
  --target``) is refused below the minimum sample size unless
  ``FitSettings.allow_small_sample``; then the fit goes ahead and says so (the manifest's
  ``sample_size.override``, the task's warnings, the report).

The minimum for a user's outcome
--------------------------------
Both must hold:

1. at least :data:`MIN_EVENTS_PER_PARAMETER` events per candidate predictor parameter
   (Peduzzi et al. 1996), where *events* is the count of the smaller class and
   *parameters* the columns of the logistic design before spline terms — one per numeric
   predictor, one per categorical level beyond the reference, one per missing-value
   indicator, constant columns not counted — the count the Riley check of every binary
   fit uses (:func:`prom.validation.check_sample_size`);
2. Riley et al.'s three criteria (BMJ 2020; 368:m441) at the anticipated C-statistic
   ``FitSettings.anticipated_c``: n at least the largest of the three (binary outcomes).

For three or more classes the first holds with the smallest class as the events and the
parameters of one class's equation (each of the multinomial model's equations is
estimated with as few rows of that class as the class has; de Jong et al., Stat Med 2019;
38:1601); Riley et al.'s criteria are for binary outcomes and are not applied.

Built-in tasks are not refused: their candidate predictors are pre-specified by the
registry, and ``prom demo`` fits the cervical myelopathy and TFESI tasks on a few hundred
rows on purpose (7 and 5 events per parameter at its defaults). Their Riley check stays a
:class:`~prom.errors.StatisticalWarning` recorded in the bundle and shown by the report.
"""

from __future__ import annotations

import pandas as pd

from prom.errors import PromError, format_rows, format_values
from prom.outcomes import PredictorError, Task, TaskData, prepare_task_data
from prom.workflows.settings import FitSettings

__all__ = [
    "DuplicateIdError",
    "candidate_parameters",
    "fit_frame",
    "MIN_EVENTS_PER_PARAMETER",
    "minimum_class_size",
    "SampleSizeError",
    "task_data_for_fit",
    "minimum_sample_size",
]

#: Fewest events (smaller class) per candidate predictor parameter for a user's outcome.
MIN_EVENTS_PER_PARAMETER = 10


class DuplicateIdError(PromError, ValueError):
    """Labelled rows of a fit share an id."""


class SampleSizeError(PromError, ValueError):
    """A user's outcome has too few rows or events for the predictors asked of it."""


def fit_frame(data: pd.DataFrame) -> pd.DataFrame:
    """The table a fit reads: column labels must be text (a bundle names its predictors);
    an index with repeated labels (two exports concatenated) is replaced by row positions,
    which then name the rows in messages."""
    if not isinstance(data, pd.DataFrame):
        raise TypeError(f"data must be a pandas DataFrame, got {type(data).__name__}")
    odd = [c for c in data.columns if not isinstance(c, str)]
    if odd:
        shown = ", ".join(repr(c) for c in odd[:6]) + (" …" if len(odd) > 6 else "")
        raise ValueError(
            f"column labels must be text; the table has {len(odd)} that are not ({shown}): "
            "name them, e.g. data.columns = data.columns.astype(str)"
        )
    return data if data.index.is_unique else data.reset_index(drop=True)


def task_data_for_fit(
    data: pd.DataFrame, task: Task, threshold: str | None, settings: FitSettings
) -> TaskData:
    """The labelled rows and usable predictors a fit runs on (see the module docstring)."""
    td = prepare_task_data(data, task, threshold=threshold, drop_unusable=settings.drop_unusable)
    acc = ", ".join(f"{k} {v:,}" for k, v in td.row_accounting.items())
    if len(td.y) == 0:
        raise ValueError(f"task {task.name}: no labelled rows to fit on (rows: {acc})")
    if td.X.shape[1] == 0:
        raise PredictorError(
            f"task {task.name}: no usable predictor left; excluded: "
            + "; ".join(e.describe() for e in td.excluded)
        )
    _distinct_ids(data, td, task, settings)
    _sites_given(data, td, task, settings)
    return td


def _sites_given(data: pd.DataFrame, td: TaskData, task: Task, settings: FitSettings) -> None:
    """Refuse labelled rows without a site when the fit validates site by site (found
    before any fitting rather than after the cross-validation)."""
    column = settings.site_column
    if not column or column not in data.columns:
        return
    sites = data.loc[td.X.index, column]  # the index is unique (fit_frame)
    blank = sites.isna() | sites.astype(str).str.strip().eq("")
    if blank.any():
        raise ValueError(
            f"task {task.name}: site column {column!r} has no value on {int(blank.sum()):,} "
            f"labelled row(s) ({format_rows(sites.index[blank])}); the site-by-site "
            "validation needs every row's site: fill them in, or pass --site-column none "
            "(site_column=None) to fit without that validation"
        )


def _distinct_ids(data: pd.DataFrame, td: TaskData, task: Task, settings: FitSettings) -> None:
    """Refuse labelled rows that share an id (``settings.id_column``, else the contract's
    ``patient_id`` when the table has it): a patient on two rows can land in a training
    and a test fold at once, and which row is right cannot be known. ``prom validate``
    reports the same rows as ``duplicate_id``."""
    column = settings.id_column or "patient_id"
    if column not in data.columns:
        return  # an --id-column the table lacks is refused with the development rows
    ids = data.loc[td.X.index, column]  # the index is unique (fit_frame)
    ids = ids[ids.notna()]
    if ids.dtype == object:
        ids = ids.map(lambda v: v.strip() if isinstance(v, str) else v)
    repeated = ids[ids.duplicated(keep=False)]
    if repeated.empty:
        return
    n = repeated.nunique()
    raise DuplicateIdError(
        f"task {task.name}: {n:,} {column} value(s) on more than one labelled row "
        f"({format_values(repeated.tolist())} at {format_rows(repeated.index)}); a patient "
        "counted twice can be in a training and a test fold at once, and which row is "
        f"right cannot be known: keep one row per {column} (prom validate lists them as "
        "duplicate_id)"
    )


def minimum_class_size(outcome: str, y: pd.Series, settings: FitSettings) -> None:
    """Refuse a user's outcome with a class too small to be cross-validated: every class
    needs a row in every outer fold and in every inner tuning fold, i.e. at least
    ``n_splits`` × ``inner_cv`` rows (so that each outer training part keeps at least
    ``inner_cv`` of them). Says which classes are short, their counts, and the options."""
    need = settings.n_splits * settings.inner_cv
    counts = y.astype(object).value_counts()
    short = counts[counts < need]
    if len(short):
        shown = ", ".join(f"{k!r}: {int(v):,} row(s)" for k, v in short.items())
        raise SampleSizeError(
            f"the outcome {outcome!r} has class(es) too small to cross-validate ({shown}); "
            f"with --folds {settings.n_splits} and {settings.inner_cv}-fold tuning inside "
            f"each fold every class needs at least {need} rows: merge the rare class(es) "
            "with another in your table, or lower --folds"
        )


def candidate_parameters(X: pd.DataFrame) -> int:
    """The candidate predictor parameters of ``X``: the columns of its logistic design
    before spline terms (one per numeric predictor, one per categorical level beyond the
    reference, one per missing-value indicator; constant columns not counted)."""
    from prom.models.preprocess import Preprocessor, infer_kinds

    numeric, categorical = infer_kinds(X)
    pre = Preprocessor(numeric=numeric, categorical=categorical, drop_reference=True).fit(X)
    return int(pre.feature_names_out_.size)


def minimum_sample_size(
    outcome: str,
    y: pd.Series,
    n_parameters: int,
    n_required: int,
    settings: FitSettings,
) -> str | None:
    """Check a user's binary or multiclass outcome against the minimum (see the module
    docstring).

    ``y``: the labels of the labelled rows (0/1, or the classes: the smallest class's rows
    are the events); ``n_parameters``: the candidate predictor parameters (of one class's
    equation, for several classes); ``n_required``: Riley et al.'s minimum n at the
    anticipated C-statistic (0 for several classes, which their criteria do not cover).
    Returns None when the minimum is met, else (with ``settings.allow_small_sample``) the
    sentence the manifest and the report record.

    Raises
    ------
    SampleSizeError  below the minimum and ``settings.allow_small_sample`` is False
    """
    n = len(y)
    counts = pd.Series(y).value_counts()
    events = int(counts.min()) if len(counts) > 1 else 0
    smallest = "smaller class" if len(counts) <= 2 else "smallest class"
    epp = events / n_parameters if n_parameters else float("inf")
    short = []
    if epp < MIN_EVENTS_PER_PARAMETER:
        short.append(
            f"below {MIN_EVENTS_PER_PARAMETER} events per parameter ({epp:.1f}; needs ≥ "
            f"{MIN_EVENTS_PER_PARAMETER * n_parameters:,} events)"
        )
    if n_required and n < n_required:
        short.append(
            f"Riley et al.'s criteria need n ≥ {n_required:,} at an anticipated C of "
            f"{settings.anticipated_c:g} (n = {n:,})"
        )
    if not short:
        return None
    facts = (
        f"the outcome {outcome!r} has {events:,} events ({smallest}) for {n_parameters} "
        f"predictor parameters in {n:,} labelled rows: " + " and ".join(short)
    )
    if not settings.allow_small_sample:
        raise SampleSizeError(
            f"{facts}; pass --allow-small-sample (allow_small_sample=True) to fit anyway; "
            "the report will say so"
        )
    return (
        "Fitted below the minimum sample size for a user's outcome, because "
        f"--allow-small-sample (allow_small_sample=True) was given: {facts}; expect "
        "overfitting and unstable estimates."
    )
