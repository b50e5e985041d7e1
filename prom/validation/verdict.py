"""The verdict of :func:`prom.validation.compare_models`: is a model better than the baseline?

The rules (stated for users in :mod:`prom.validation.compare`), from the intervals of the
differences from the logistic baseline:

* ``"worse"`` — the AUC difference interval lies entirely below 0, or the Brier
  difference interval entirely above 0;
* ``"better"`` — the AUC difference interval lies entirely above 0, the calibration slope
  is within ``slope_range`` (when there is one: binary outcomes), and it is not worse by
  the Brier score;
* ``"no clear difference"`` — anything else, with the reason.

The explanation is a sentence a reader can act on, with the differences and their
intervals.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from prom.validation.pvalue import format_p_value

__all__ = ["verdict", "format_difference"]


def format_difference(est: float, lo: float, hi: float, pct: str, digits: int = 3) -> str:
    """``"+0.012 (95% CI -0.003 to +0.027)"``."""
    return f"{est:+.{digits}f} ({pct} CI {lo:+.{digits}f} to {hi:+.{digits}f})"


def verdict(
    r: Mapping, slope_range: tuple[float, float], pct: str, has_slope: bool
) -> tuple[str, str]:
    """``(verdict, explanation)`` of one model's row ``r`` of the comparison table (its
    ``delta_auc``, ``delta_brier`` with their intervals, ``delta_auc_p`` and
    ``calibration_slope`` when present); ``pct`` names the interval level (``"95%"``),
    ``has_slope`` says whether the calibration slope is part of the rule (binary)."""
    d_auc = format_difference(r["delta_auc"], r["delta_auc_low"], r["delta_auc_high"], pct)
    p = r.get("delta_auc_p", np.nan)
    if np.isfinite(p):
        d_auc = d_auc[:-1] + f", DeLong {format_p_value(p, label=True)})"
    d_brier = format_difference(
        r["delta_brier"], r["delta_brier_low"], r["delta_brier_high"], pct, 4
    )
    auc_up, auc_down = r["delta_auc_low"] > 0, r["delta_auc_high"] < 0
    brier_worse = r["delta_brier_low"] > 0
    slope = r.get("calibration_slope", np.nan)
    slope_ok = (not has_slope) or (np.isfinite(slope) and slope_range[0] <= slope <= slope_range[1])
    if auc_down or brier_worse:
        why = []
        if auc_down:
            why.append(f"lower AUC, difference {d_auc}")
        if brier_worse:
            why.append(f"higher Brier score, difference {d_brier}")
        return "worse", "worse than logistic regression: " + "; ".join(why) + "."
    if auc_up and slope_ok:
        cal = f"; calibration slope {slope:.2f}" if has_slope else ""
        return "better", (
            f"better than logistic regression: AUC difference {d_auc}{cal}; "
            f"Brier difference {d_brier}."
        )
    if auc_up:
        what = "not estimable" if not np.isfinite(slope) else f"{slope:.2f}"
        return "no clear difference", (
            f"no better than logistic regression as it stands: higher AUC, difference {d_auc}, "
            f"but calibration slope {what} is outside {slope_range[0]:g}-{slope_range[1]:g}; "
            f"recalibrate and compare again. Brier difference {d_brier}."
        )
    return "no clear difference", (
        f"no better than logistic regression: AUC difference {d_auc}; Brier difference {d_brier}."
    )
