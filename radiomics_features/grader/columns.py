"""Disc grades as cohort columns: ``img_<level>_pfirrmann_grade`` and its probability.

The grades are made by the feature pipeline (``extract_case(..., grade=True)``, ``prom
features --grade``), so that each grade is given under the level name its disc has in the
measurements (:mod:`radiomics_features.grader.levelled`). ``grade_cases`` is that, for
grades alone: one row per patient, joinable on ``patient_id``. A case that fails gets a
row with ``grade_error`` set and no grades; nothing is dropped silently.
"""

from __future__ import annotations

from collections.abc import Iterable

import pandas as pd

from radiomics_features.levels import DISC_LEVELS
from radiomics_features.pipeline.cases import Case

__all__ = ["grade_cases", "grade_columns"]


def grade_columns() -> list[str]:
    cols = []
    for lv in DISC_LEVELS:
        cols += [f"img_{lv}_pfirrmann_grade", f"img_{lv}_pfirrmann_prob"]
    return cols


def grade_cases(cases: Iterable[Case], *, backbone=None) -> pd.DataFrame:
    """One row per case: ``patient_id``, grade and probability per lumbar disc level,
    ``qc_case_notes`` (which say when a disc was not graded, and why) and ``grade_error``
    (empty when the case was read). Runs in this process; ``prom features --grade`` runs
    each case in a worker process of its own."""
    from radiomics_features.pipeline.case import extract_case

    rows = []
    for case in cases:
        row: dict = {"patient_id": case.patient_id, "grade_error": ""}
        try:
            res = extract_case(
                case.image,
                case.mask,
                patient_id=case.patient_id,
                radiomics=False,
                backbone=backbone,
                series=case.series,
                grade=True,
            )
            wide = res.wide.iloc[0]
            row.update({c: wide[c] for c in grade_columns()}, qc_case_notes=wide["qc_case_notes"])
        except Exception as exc:  # noqa: BLE001 - reported per case, the batch goes on
            row["grade_error"] = f"{type(exc).__name__}: {exc}"[:300]
        rows.append(row)
    return pd.DataFrame(
        rows, columns=["patient_id", *grade_columns(), "qc_case_notes", "grade_error"]
    )
