"""Performance of a survival model's predictions at a horizon: discrimination and calibration.

:func:`survival_performance` scores one set of predictions, given as the log cumulative
hazard at the horizon, ``lh = log(-log S(horizon | x))``: for one Cox fit it is the linear
predictor plus a constant, and unlike the linear predictor it is comparable between fits
(each fold's model centres its linear predictor differently), so out-of-fold predictions
of different folds can be pooled (:func:`prom.validation.cross_validated_survival`).

- Harrell's C of ``lh`` (:func:`~prom.validation.concordance`) with survival's
  infinitesimal-jackknife standard error;
- calibration slope: the coefficient of a Cox model of the outcome on ``lh``
  (:func:`~prom.validation.survival_calibration_slope`, Efron ties);
- calibration at the horizon: mean predicted risk ``1 - S(horizon | x)`` against the
  Kaplan–Meier risk of all rows (``o_e`` = observed / expected), and per risk decile
  (:func:`~prom.validation.survival_calibration_at`) predicted against Kaplan–Meier risk;
  ``mean_abs_group_error`` is the row-weighted mean absolute difference over the deciles.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from prom.validation import _checks
from prom.validation.survival_metrics import (
    concordance,
    kaplan_meier,
    survival_calibration_at,
    survival_calibration_slope,
)

__all__ = ["SurvivalPerformance", "survival_performance"]


@dataclass(frozen=True)
class SurvivalPerformance:
    """Discrimination and calibration at a horizon (see the module docstring).

    ``calibration``: one row per risk group with ``group``, ``n``, ``n_events`` (by the
    horizon), ``predicted_risk``, ``observed_risk`` (Kaplan–Meier) and its interval
    ``observed_low``/``observed_high``.
    """

    horizon: float
    n: int
    n_events: int
    events_by_horizon: int
    c: float
    c_se: float
    c_low: float
    c_high: float
    calibration_slope: float
    slope_low: float
    slope_high: float
    expected_risk: float
    observed_risk: float
    observed_low: float
    observed_high: float
    o_e: float
    mean_abs_group_error: float
    calibration: pd.DataFrame

    def metrics(self) -> dict:
        """The numbers, without the decile table."""
        return {k: v for k, v in self.__dict__.items() if k != "calibration"}


def _risk_table(cal: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "group": cal["group"],
            "n": cal["n"],
            "n_events": cal["n_events"],
            "predicted_risk": 1.0 - cal["predicted"],
            "observed_risk": 1.0 - cal["observed"],
            "observed_low": 1.0 - cal["high"],
            "observed_high": 1.0 - cal["low"],
        }
    )


def survival_performance(
    time, event, log_cumulative_hazard, horizon: float, *, n_groups: int = 10, level: float = 0.95
) -> SurvivalPerformance:
    """C, calibration slope and calibration at ``horizon`` of predictions given as the log
    cumulative hazard at the horizon (``log(-log S(horizon | x))``)."""
    from scipy.special import ndtri

    a = _checks.survival_inputs(time, event, lh=(log_cumulative_hazard, "num"))
    t, e, lh = a["time"], a["event"], a["lh"]
    level = _checks.level_arg(level)
    z = float(ndtri(1 - (1 - level) / 2))
    con = concordance(t, e, lh)
    slope = survival_calibration_slope(t, e, lh, level=level)
    surv = np.exp(-np.exp(lh))
    km = kaplan_meier(t, e, [float(horizon)], level=level).iloc[0]
    cal = _risk_table(
        survival_calibration_at(t, e, surv, float(horizon), n_groups=n_groups, level=level)
    )
    ok = cal["observed_risk"].notna().to_numpy()
    w = cal["n"].to_numpy(dtype=float)[ok]
    gap = np.abs(cal["predicted_risk"] - cal["observed_risk"]).to_numpy()[ok]
    expected = float(np.mean(1.0 - surv))
    observed = float(1.0 - km["survival"])
    return SurvivalPerformance(
        horizon=float(horizon),
        n=int(t.size),
        n_events=int(e.sum()),
        events_by_horizon=int(((t <= horizon) & (e == 1)).sum()),
        c=con.c,
        c_se=con.se,
        c_low=max(0.0, con.c - z * con.se),
        c_high=min(1.0, con.c + z * con.se),
        calibration_slope=slope.slope,
        slope_low=slope.low,
        slope_high=slope.high,
        expected_risk=expected,
        observed_risk=observed,
        observed_low=float(1.0 - km["high"]),
        observed_high=float(1.0 - km["low"]),
        o_e=observed / expected,
        mean_abs_group_error=float(np.sum(w * gap) / w.sum()) if ok.any() else float("nan"),
        calibration=cal,
    )
