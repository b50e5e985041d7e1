"""Observed outcomes of a scoring batch, for the run's observed-against-expected check.

A bundle's task records the outcome it was fitted on (an MCID definition, a 0/1 column, a
two-valued column with its event value, or classes); where the input carries that
outcome, each scored row with an observed value is added to the task's
:class:`~prom.score.drift.Calibration`. A filled cell that is none of the values the
outcome takes is left out and counted (``outcome_values_ignored`` in the summary).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from prom.score.drift import Calibration
from prom.score.plan import TaskPlan

__all__ = ["add_observed"]


def add_observed(task: TaskPlan, o: dict, rows: Any, p: np.ndarray, acc: Calibration) -> int:
    """Adds the rows with an observed outcome (``o``: the task's outcome) to ``acc``
    (``rows``: the task's rows of a batch, with their ``frame``, ``shared`` columns,
    positions ``at`` and whether they are ``whole``; ``p``: their probabilities);
    returns how many filled outcome cells of a user's column were none of the values the
    outcome takes (``'improvd'`` for ``improved``/``not improved``, ``2`` for 0/1, a class
    the bundle does not have) and so were left out — counted, never silently."""
    if o["type"] == "mcid":
        from prom.outcomes import derive_label

        y = derive_label(rows.frame, task.name, threshold=o["threshold"])["label"].to_numpy(
            dtype=float, na_value=np.nan
        )
        unknown = 0  # the contract's checks counted unreadable PROM cells already
    elif o["type"] == "column" and o.get("event_value") is not None:  # two named values
        from prom.outcomes.custom import as_class_text

        text = as_class_text(rows.frame[o["columns"][0]])
        y = np.where(text == o["event_value"], 1.0, np.where(text == o["other_value"], 0.0, np.nan))
        unknown = int((text.notna().to_numpy() & np.isnan(y)).sum())
    elif o["type"] == "column":
        raw = rows.frame[o["columns"][0]]
        # a copy: a float column's array is the batch's own (marking 2.0 missing in place
        # hid it from the count below and from every later reader of the batch)
        y = pd.to_numeric(raw, errors="coerce").to_numpy(dtype=float, copy=True)
        y[(y != 0) & (y != 1)] = np.nan
        unknown = int((raw.notna().to_numpy() & np.isnan(y)).sum())
    elif o.get("as_text"):  # a user's classes: compared as text (1, 1.0 and "1" alike)
        from prom.outcomes.custom import as_class_text

        text = as_class_text(rows.frame[o["columns"][0]])
        index = {str(c): i for i, c in enumerate(task.classes)}
        codes = np.asarray([index.get(v, -1) for v in text.to_numpy(dtype=object)], np.int64)
        keep = codes >= 0
        acc.add(p[keep], codes[keep])
        return int((text.notna().to_numpy() & ~keep).sum())
    else:
        codes = rows.shared.codes(o["columns"][0], tuple(task.classes))
        codes = codes if rows.whole else codes[rows.at]
        keep = codes >= 0
        acc.add(p[keep], codes[keep].astype(np.int64))
        return int((codes == -1).sum())  # -2: missing
    keep = ~np.isnan(y)
    acc.add(p[keep, 0], y[keep])
    return unknown
