"""Disc grades as cohort columns: ``img_<level>_pfirrmann_grade`` and its probability.

``grade_cases`` grades the mid-sagittal slice of each case's volume (the slice where
the bundled backbone finds the most spinal canal) and returns one row per patient,
joinable on ``patient_id``. Volumes are read with ``radiomics_features.io`` and are
therefore already canonical (rows superior->inferior, columns anterior->posterior), so
no orientation search is made. A case that fails gets a row with ``grade_error`` set
and no grade columns; nothing is dropped silently.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd

from radiomics_features.levels import DISC_LEVELS
from radiomics_features.pipeline.cases import Case

__all__ = ["grade_cases", "grade_columns", "mid_sagittal_index"]


def grade_columns() -> list[str]:
    cols = []
    for lv in DISC_LEVELS:
        cols += [f"img_{lv}_pfirrmann_grade", f"img_{lv}_pfirrmann_prob"]
    return cols


def mid_sagittal_index(
    volume: np.ndarray, spacing: tuple[float, float, float], backbone=None
) -> int:
    """Index of the slice with the most spinal canal in the backbone's segmentation."""
    from radiomics_features.backbone import segment_volume

    labels = segment_volume(volume, spacing, backbone=backbone)
    canal = (labels == 3).sum(axis=(1, 2))
    return int(np.argmax(canal)) if canal.max() > 0 else volume.shape[0] // 2


def grade_cases(cases: Iterable[Case], *, grader=None, backbone=None) -> pd.DataFrame:
    """One row per case: ``patient_id``, grade and probability per lumbar disc level,
    ``pfirrmann_numbering_trusted`` and ``grade_error`` (empty when it worked)."""
    from radiomics_features.grader.inference import grade_slice
    from radiomics_features.io import read_image

    rows = []
    for case in cases:
        row: dict = {"patient_id": case.patient_id, "grade_error": ""}
        try:
            vol = read_image(case.image, series=case.series)
            k = mid_sagittal_index(vol.array, vol.spacing, backbone=backbone)
            res = grade_slice(
                vol.array[k],
                (vol.spacing[1], vol.spacing[2]),
                orientation=(False, False),
                grader=grader,
                backbone=backbone,
            )
            for lv, d in res.by_level().items():
                row[f"img_{lv}_pfirrmann_grade"] = d.grade
                row[f"img_{lv}_pfirrmann_prob"] = round(d.probability, 4)
            row["pfirrmann_numbering_trusted"] = bool(res.localisation.sacrum_found)
        except Exception as exc:  # noqa: BLE001 - reported per case, the batch goes on
            row["grade_error"] = f"{type(exc).__name__}: {exc}"[:300]
        rows.append(row)
    df = pd.DataFrame(rows)
    for c in grade_columns():
        if c not in df:
            df[c] = np.nan
    return df[
        [
            "patient_id",
            *grade_columns(),
            *(c for c in df.columns if c not in grade_columns() and c != "patient_id"),
        ]
    ]


def _grade_row(case: Case) -> dict:
    """:func:`grade_cases` of one case with the bundled grader, as a row (a worker's job)."""
    return grade_cases([case]).iloc[0].to_dict()


def _grade_isolated(cases: list[Case], workers: int) -> pd.DataFrame:
    """:func:`grade_cases` with each case read and graded in a worker process
    (:func:`~radiomics_features.pipeline.isolation.run_isolated_jobs`): a case that
    crashes the image reader gets ``grade_error`` and the others go on."""
    from radiomics_features.pipeline.isolation import run_isolated_jobs

    rows: list[dict | None] = [None] * len(cases)
    jobs = [(c,) for c in cases]
    answers = run_isolated_jobs(
        _grade_row, jobs, workers, describe=lambda i: f"image {str(cases[i].image)!r}"
    )
    for i, row, exc in answers:
        if exc is not None:
            row = {
                "patient_id": cases[i].patient_id,
                "grade_error": f"{type(exc).__name__}: {exc}"[:300],
            }
        rows[i] = row
    df = pd.DataFrame(rows)
    for c in [*grade_columns(), "grade_error"]:
        if c not in df:
            df[c] = np.nan if c != "grade_error" else ""
    return df


def merge_grades(
    wide: pd.DataFrame,
    cases: Iterable[Case],
    *,
    grader=None,
    backbone=None,
    workers: int | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``wide`` with the grade columns joined on ``patient_id`` (only for patients
    already in ``wide``), and the cases whose grading failed (``patient_id``, ``grade_error``).
    ``workers``: grade in that many worker processes with the bundled grader (as ``prom
    features --grade`` does, so a file that crashes a native library fails alone); None
    grades in this process with ``grader`` and ``backbone``."""
    ids = set(wide["patient_id"].astype(str)) if "patient_id" in wide else set()
    todo = [c for c in cases if str(c.patient_id) in ids]
    if workers is None:
        g = grade_cases(todo, grader=grader, backbone=backbone)
    else:
        g = _grade_isolated(todo, workers)
    failed = g.loc[g["grade_error"] != "", ["patient_id", "grade_error"]]
    cols = ["patient_id", *grade_columns()]
    out = wide.drop(columns=[c for c in grade_columns() if c in wide]).merge(
        g[cols].astype({"patient_id": wide["patient_id"].dtype}), on="patient_id", how="left"
    )
    return out, failed
