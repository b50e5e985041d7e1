"""The report's sentence on what the imaging predictors are and are not.

``prom features`` writes, beside the numeric ``img_*`` features, a canal stenosis category
per disc level (``cat_<disc>_canal_stenosis``) and level-confidence checks (``qc_*``). The
category is a measurement-based category from the canal's AP diameter, not a radiologist's
grade, and no task uses it as a predictor; a report whose model uses imaging features says
so, so that a reader does not take a measured canal for a graded stenosis.
"""

from __future__ import annotations

from collections.abc import Iterable

__all__ = ["imaging_sentence"]


def imaging_sentence(predictors: Iterable[str]) -> str | None:
    """The sentence for a task whose candidate predictors include ``img_*`` columns; None
    otherwise (or when a canal stenosis column is itself a predictor: then it is named
    among the predictors and nothing is claimed)."""
    names = list(predictors)
    if not any(p.startswith("img_") for p in names):
        return None
    if any("stenosis" in p for p in names):
        return None
    return (
        "Imaging predictors are measurements from the MRI (prom features); no canal "
        "stenosis category was a predictor. prom features reports one beside the features "
        "as a measurement-based category from the canal's AP diameter (Verbiest cut-offs), "
        "not a radiologist's grade."
    )
