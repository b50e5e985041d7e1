"""Terminal tables of a fit, shared by ``prom fit`` and ``prom demo``.

:func:`comparison_table` is the table both print after fitting a binary or multiclass
task: every model against logistic regression on the same out-of-fold predictions
(AUC with its interval, ΔAUC with DeLong's p, Brier, ΔBrier with its bootstrap interval,
calibration slope, verdict); the primary model is starred. It is a
:class:`~prom.workflows.layout.MetricView`: a table on a terminal wide enough for it, one
line per metric in a narrower one or in a pipe, so no figure is ever cut.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
from rich.text import Text

from prom.validation.pvalue import format_p_value
from prom.workflows.fit import TaskFit
from prom.workflows.layout import MetricView

__all__ = ["comparison_table"]


def _missing(x: Any) -> bool:
    return x is None or bool(pd.isna(x))


def comparison_table(fit: TaskFit) -> MetricView:
    """The comparison of ``fit``'s model families with logistic regression, printable with
    rich (a table, or one line per metric where the table would not fit)."""
    tab = fit.comparison.table
    t = MetricView(
        title=f"{fit.task_name}: every model against logistic regression "
        f"(out-of-fold, {fit.settings.n_splits}-fold CV; n = {fit.n:,})",
        columns=("AUC (95% CI)", "ΔAUC (p)", "Brier", "ΔBrier (95% CI)", "cal. slope", "verdict"),
    )
    for name, r in tab.iterrows():
        d_auc = (
            ""
            if name == fit.baseline or _missing(r.get("delta_auc"))
            else (
                f"{r['delta_auc']:+.3f}"
                + (
                    ""
                    if _missing(r.get("delta_auc_p"))
                    else f" ({format_p_value(r['delta_auc_p'], label=True)})"
                )
            )
        )
        d_b = (
            ""
            if name == fit.baseline
            else (
                f"{r['delta_brier']:+.4f} ({r['delta_brier_low']:+.4f}, {r['delta_brier_high']:+.4f})"
            )
        )
        slope = (
            ""
            if _missing(r.get("calibration_slope", float("nan")))
            else f"{r['calibration_slope']:.2f}"
        )
        style = {"better": "green", "worse": "red"}.get(r["verdict"], "")
        t.add_row(
            ("* " if name == fit.primary else "  ") + str(name),
            [
                f"{r['auc']:.3f} ({r['auc_low']:.3f}–{r['auc_high']:.3f})",
                d_auc,
                f"{r['brier']:.4f}",
                d_b,
                slope,
                Text(str(r["verdict"]), style=style),
            ],
        )
    return t
