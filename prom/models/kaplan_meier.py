"""Kaplan–Meier survival curves per group, as a tidy table (lifelines).

:func:`kaplan_meier_curves` gives Kaplan–Meier survival with pointwise intervals per group
(``lifelines.KaplanMeierFitter``; its intervals are the exponential Greenwood
("log-log") ones; :func:`prom.validation.kaplan_meier` gives R's default "log" intervals
at chosen times).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from prom.models.survival_target import survival_target

__all__ = ["kaplan_meier_curves"]


def kaplan_meier_curves(time, event, groups=None, level: float = 0.95) -> pd.DataFrame:
    """Kaplan–Meier survival per group as a tidy table (lifelines ``KaplanMeierFitter``).

    Columns: ``group`` (``"all"`` without groups), ``time`` (0 and every event or censoring
    time), ``survival``, ``ci_low``, ``ci_high``, ``at_risk``, ``events``, ``censored``.
    Rows with a missing time, event or group are refused (counted in the message).
    """
    from lifelines import KaplanMeierFitter

    if not 0 < level < 1:
        raise ValueError(f"level={level!r}; expected a number between 0 and 1")
    t, e = survival_target(
        np.column_stack([np.asarray(time, dtype=float), np.asarray(event, dtype=float)])
    )
    g = (
        np.full(t.size, "all", dtype=object)
        if groups is None
        else pd.Series(groups).astype(object).to_numpy()
    )
    if g.size != t.size:
        raise ValueError(f"{g.size} group labels for {t.size} rows")
    if pd.isna(g).any():
        raise ValueError(f"{int(pd.isna(g).sum())} row(s) have no group; drop or label them")
    frames = []
    for name in pd.unique(g):
        m = g == name
        km = KaplanMeierFitter(alpha=1 - level).fit(t[m], e[m], label=str(name))
        sf = km.survival_function_.iloc[:, 0]
        ci = km.confidence_interval_
        table = km.event_table
        frames.append(
            pd.DataFrame(
                {
                    "group": name,
                    "time": sf.index.to_numpy(dtype=float),
                    "survival": sf.to_numpy(),
                    "ci_low": ci.iloc[:, 0].to_numpy(),
                    "ci_high": ci.iloc[:, 1].to_numpy(),
                    "at_risk": table["at_risk"].reindex(sf.index).to_numpy(),
                    "events": table["observed"].reindex(sf.index).to_numpy(),
                    "censored": table["censored"].reindex(sf.index).to_numpy(),
                }
            )
        )
    return pd.concat(frames, ignore_index=True)
