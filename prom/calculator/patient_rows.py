"""One patient's rows for a prediction, converted once and shared by the tasks.

The calculator predicts every task of a bundle for one patient: each task's primary
model (explained) and logistic regression read the same entries, once per treatment
for the tasks that compare treatments. :class:`PatientRows` makes those rows once per
treatment list — as a frame, as a :class:`~prom.models.columns.ColumnCache` every model's
preprocessing reads (each entry converted once per prediction, as bulk scoring does per
batch), and as the column selections the explained models read. :class:`OneThread`
keeps the boosters to one OpenMP thread while they do.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

__all__ = ["OneThread", "PatientRows"]


class PatientRows:
    """The patient's one-row frame ``base`` (:meth:`prom.calculator.inputs.Patient.frame`),
    repeated per treatment list at first use (one row for ``(None,)``)."""

    def __init__(self, base: pd.DataFrame):
        self.base = base
        self._made: dict[tuple, tuple[pd.DataFrame, Any]] = {}
        self._selected: dict[tuple, pd.DataFrame] = {}

    def get(self, treatments: tuple) -> tuple[pd.DataFrame, Any]:
        """``(frame, columns)``: one row per treatment (``treatment`` set unless the list is
        ``(None,)``) and its :class:`~prom.models.columns.ColumnCache`."""
        from prom.models.columns import ColumnCache

        made = self._made.get(treatments)
        if made is None:
            if treatments == (None,):
                X = self.base
            else:
                # the row repeated, the treatment set, then one copy that consolidates
                # the columns by type: every later selection and copy of a frame of
                # three blocks costs a fraction of one of a dozen
                X = self.base.take(np.zeros(len(treatments), dtype=np.intp))
                X.index = pd.RangeIndex(len(treatments))
                X["treatment"] = list(treatments)
                X = X.copy()
            made = self._made[treatments] = (X, ColumnCache(X).preload())
        return made

    def select(self, treatments: tuple, columns: tuple[str, ...]) -> pd.DataFrame:
        """The rows of :meth:`get` with only ``columns``, in that order (made once: tasks
        with the same predictors share it, and a model reading exactly these columns
        takes a copy instead of a selection)."""
        key = (treatments, columns)
        made = self._selected.get(key)
        if made is None:
            X = self.get(treatments)[0]
            at = X.columns.get_indexer(list(columns))
            # by position: the same selection without pandas' checks of the labels (a name
            # the frame lacks takes the label path, which names it in a KeyError)
            made = self._selected[key] = X.iloc[:, at] if (at >= 0).all() else X[list(columns)]
        return made


class OneThread:
    """One OpenMP thread while one patient is predicted.

    XGBoost and LightGBM default to every core; for a few rows the thread start-up
    dominates — on a shared 2-core machine ~16–20 ms per call against ~0.05 ms on one
    thread. :mod:`threadpoolctl` (a scikit-learn dependency) lowers the limit of the OpenMP
    runtimes loaded at construction and restores it afterwards; the predictions are
    unchanged. Process-wide while active (a few milliseconds)."""

    def __init__(self):
        from threadpoolctl import ThreadpoolController

        self._controller = ThreadpoolController()

    def __call__(self):
        return self._controller.limit(limits=1, user_api="openmp")
