"""Disc grades for the discs a case's levelling has named: one name per disc for its
measurements and its grade.

The grader finds discs on one slice and, left to itself, numbers them from the lowest
one it sees there; the pipeline names levels in 3D, with checks
(:mod:`radiomics_features.levelling`, ``qc_<level>_*``). The two can disagree. On
SPIDER's 31 expert-masked T2 volumes, on the slice with the most canal, the grader's own
numbering differed from the expert masks' count from the bottom for 10 of 155 lumbar
discs in 4 patients (a disc missed on the slice, or no sacrum in view), so each of those
grades was written under the name of a neighbouring disc's measurements. Named by the
levels, 147 of the 151 discs graded carry the expert count's name; the other 4 are in 2
patients whose levelling itself is off (``benchmarks/grade_naming.py``, recorded in
``benchmarks/RESULTS.md``). Here each disc the grader finds takes the
number of the named disc it lies on; a disc the levelling does not name is not graded;
the case notes say when the grader's own numbering disagreed.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from radiomics_features.grader.inference import DiscGrade, Grader, grade_slice
from radiomics_features.grader.localise import Disc
from radiomics_features.levels import DISC_LEVELS

__all__ = ["LevelledGrades", "disc_number_at", "grade_levelled_slice"]

#: How far from a grader disc's centre (mm, on the slice) a named disc is looked for when
#: the centre itself lies outside every named disc (a thin or wedge-shaped disc).
SEARCH_MM = 3.0

#: Instance ids of discs (:data:`radiomics_features.labels.INSTANCE_ID_RULE`): 200 + n.
_DISC_IDS = range(201, 226)


@dataclass(frozen=True)
class LevelledGrades:
    """Grades by level name (``l5_s1`` …; lumbar discs only) and what to tell the user."""

    by_level: dict[str, DiscGrade]
    notes: list[str] = field(default_factory=list)


def disc_number_at(
    instances: np.ndarray, row: float, col: float, spacing: tuple[float, float]
) -> int | None:
    """The named disc (number from the bottom, 1 = L5/S1) at ``(row, col)`` of a slice of
    instance ids, or the one most of whose pixels lie within :data:`SEARCH_MM` of it;
    None when no named disc is there."""
    inst = np.asarray(instances)
    r, c = round(float(row)), round(float(col))
    if 0 <= r < inst.shape[0] and 0 <= c < inst.shape[1] and int(inst[r, c]) in _DISC_IDS:
        return int(inst[r, c]) - 200
    dr = int(np.ceil(SEARCH_MM / spacing[0]))
    dc = int(np.ceil(SEARCH_MM / spacing[1]))
    r0, c0 = max(r - dr, 0), max(c - dc, 0)
    window = inst[r0 : r + dr + 1, c0 : c + dc + 1]
    rr, cc = np.nonzero((window >= _DISC_IDS.start) & (window < _DISC_IDS.stop))
    near = ((rr + r0 - row) * spacing[0]) ** 2 + ((cc + c0 - col) * spacing[1]) ** 2
    ids = window[rr, cc][near <= SEARCH_MM**2]
    if ids.size == 0:
        return None
    values, counts = np.unique(ids, return_counts=True)
    return int(values[np.argmax(counts)]) - 200


def grade_levelled_slice(
    image: np.ndarray,
    spacing: tuple[float, float],
    instances: np.ndarray,
    *,
    grader: Grader | None = None,
    backbone=None,
) -> LevelledGrades:
    """Grade the discs of a canonical sagittal slice (rows superior→inferior, columns
    anterior→posterior) that ``instances`` (the same slice of the levelling's instance
    ids) names. ``spacing``: the slice's ``(row_mm, col_mm)``."""
    own: list[tuple[int, int | None]] = []

    def numbering(d: Disc) -> int | None:
        n = disc_number_at(instances, d.row, d.col, spacing)
        own.append((d.label, n))
        return n

    res = grade_slice(
        image,
        spacing,
        orientation=(False, False),
        grader=grader,
        backbone=backbone,
        numbering=numbering,
    )
    notes = []
    unnamed = sum(n is None for _, n in own)
    if unnamed:
        notes.append(
            f"disc grades: {unnamed} disc(s) the grader found on the mid-sagittal slice lie on "
            "no named level and were not graded"
        )
    lumbar = len(DISC_LEVELS)  # only lumbar discs are graded: a difference above them is moot
    moved = sum(n is not None and n != label and min(n, label) <= lumbar for label, n in own)
    if moved:
        notes.append(
            f"disc grades: the grader's own numbering on the slice differed from the levels "
            f"for {moved} lumbar disc(s); each grade is given under the level its disc is "
            "named in the measurements"
        )
    return LevelledGrades({d.level: d for d in res.discs if d.level is not None}, notes)
