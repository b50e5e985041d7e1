"""Decision-curve analysis: net benefit over threshold probabilities.

Vickers & Elkin, Med Decis Making 2006; 26:565. At a threshold probability ``pt`` a
patient is treated when ``p >= pt`` (the convention of the R package dcurves), and

    net benefit = TP/n - FP/n * pt / (1 - pt)

with TP and FP the true and false positives among the n rows. "Treat all" is the net
benefit of treating everyone, ``prevalence - (1 - prevalence) * pt / (1 - pt)``; "treat
none" is 0. The numbers are computed here; plotting is done elsewhere.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from prom.errors import StatisticalWarning, format_values
from prom.validation import _checks

__all__ = ["net_benefit"]


def net_benefit(y, p, thresholds) -> pd.DataFrame:
    """Net benefit of treating when ``p >= threshold``, for each threshold.

    Parameters
    ----------
    y : 0/1 outcomes (1 = event, the condition treatment is for).
    p : predicted probabilities in [0, 1].
    thresholds : threshold probabilities in [0, 1), e.g. ``np.arange(0.01, 0.51, 0.01)``.

    Returns
    -------
    DataFrame with one row per threshold, in the order given: ``threshold``,
    ``net_benefit`` (the model), ``treat_all``, ``treat_none`` (always 0).

    A single outcome class is allowed (net benefit is still defined); fewer than 10
    events or non-events give a :class:`~prom.errors.StatisticalWarning`.
    """
    ya, pa, n_events = _checks.binary_and_probs(y, p, what="net benefit", need_both=False)
    t = _checks.as_numeric_1d(thresholds, "thresholds", allow_bool=False)
    bad = np.flatnonzero((t < 0) | (t >= 1))
    if bad.size:
        raise ValueError(
            f"thresholds must be probabilities in [0, 1); {bad.size} are not (values "
            f"{format_values(t[bad].tolist())}). At 1 the harm weight pt/(1-pt) "
            "is infinite; percentages? divide by 100."
        )
    few = min(n_events, ya.size - n_events)
    if few < _checks.MIN_EVENTS:
        warnings.warn(
            f"only {few} {'events' if n_events <= ya.size - n_events else 'non-events'} "
            f"among {ya.size} rows; net benefit is unstable with fewer than "
            f"{_checks.MIN_EVENTS}.",
            StatisticalWarning,
            stacklevel=2,
        )
    n = ya.size
    ev = np.sort(pa[ya == 1])
    ne = np.sort(pa[ya == 0])
    tp = ev.size - np.searchsorted(ev, t, side="left")  # events with p >= t
    fp = ne.size - np.searchsorted(ne, t, side="left")
    odds = t / (1 - t)
    prev = n_events / n
    return pd.DataFrame(
        {
            "threshold": t,
            "net_benefit": tp / n - fp / n * odds,
            "treat_all": prev - (1 - prev) * odds,
            "treat_none": np.zeros(t.size),
        }
    )
