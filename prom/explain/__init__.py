"""Explanations of fitted models: per-row contributions, importance, figures.

>>> from prom.explain import explain_rows, global_importance, waterfall_figure
>>> ex = explain_rows(model, patients)                      # doctest: +SKIP
>>> ex.to_probability_points().values                       # doctest: +SKIP
>>> waterfall_figure(ex, 0, points=True)                    # doctest: +SKIP

:func:`explain_rows` (module :mod:`prom.explain.rows`) gives an :class:`Explanation`
(:mod:`prom.explain.explanation`); :mod:`prom.explain.summaries` ranks variables and rows'
reasons; :mod:`prom.explain.figures` draws ``matplotlib.figure.Figure`` objects without
pyplot. shap and matplotlib are imported only inside the functions that use them.
"""

from prom.explain.explanation import Explanation
from prom.explain.figures import (
    beeswarm_figure,
    dependence_figure,
    importance_figure,
    waterfall_figure,
)
from prom.explain.rows import (
    ADDITIVITY_RTOL,
    AdditivityError,
    AdditivityWarning,
    explain_rows,
    explained_columns,
    plain_label,
)
from prom.explain.summaries import Reason, global_importance, row_reasons, top_reasons

__all__ = [
    "Explanation",
    "explain_rows",
    "explained_columns",
    "global_importance",
    "top_reasons",
    "row_reasons",
    "Reason",
    "waterfall_figure",
    "beeswarm_figure",
    "dependence_figure",
    "importance_figure",
    "AdditivityError",
    "AdditivityWarning",
    "ADDITIVITY_RTOL",
    "plain_label",
]
