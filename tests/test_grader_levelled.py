"""A disc's grade is given under the level name its measurements carry: the grader's discs
take the levelling's numbers (:mod:`radiomics_features.grader.levelled`), not the grader's
own count from the lowest disc it happens to see on the slice."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("SimpleITK", reason="reading volumes needs SimpleITK (imaging extra)")
pytest.importorskip("onnxruntime", reason="the grader runs with onnxruntime (imaging extra)")

from radiomics_features.grader.levelled import SEARCH_MM, disc_number_at, grade_levelled_slice
from radiomics_features.io import read_image
from radiomics_features.levelling import label_levels
from radiomics_features.levels import DISC_LEVELS
from radiomics_features.pipeline.case import grading_slice

VOLUMES = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "spider-t2-lumbar"
needs_spider = pytest.mark.skipif(
    not (VOLUMES / "spider_005_t2.nii.gz").is_file(), reason="SPIDER volumes not present"
)


def test_a_disc_is_found_on_its_pixel_or_within_the_search_distance():
    inst = np.zeros((40, 40), dtype=np.int16)
    inst[10:14, 5:30] = 202  # L4/L5
    inst[30:33, 5:30] = 201  # L5/S1
    inst[20:22, 5:30] = 7  # a vertebra's id is not a disc
    sp = (0.5, 0.5)
    assert disc_number_at(inst, 11.2, 12.0, sp) == 2  # on it
    assert disc_number_at(inst, 16.0, 12.0, sp) == 2  # 1 mm below its lowest row
    rows_away = SEARCH_MM / sp[0] + 1
    assert disc_number_at(inst, 13 + rows_away, 12.0, sp) is None  # beyond the search
    assert disc_number_at(inst, 21.0, 12.0, sp) is None  # on a vertebra, no disc near
    assert disc_number_at(inst, 100.0, 100.0, sp) is None  # off the slice


@pytest.fixture(scope="module")
def spider_slice():
    """Patient 5's T2 volume with its expert mask levelled: the grader's slice of the image
    and of the instance ids."""
    image = read_image(VOLUMES / "spider_005_t2.nii.gz")
    mask = read_image(VOLUMES / "spider_005_mask.nii.gz").array
    inst = np.asarray(label_levels(mask, image.spacing).instances)
    k = grading_slice(mask, image.array.shape[0] // 2)
    return image.array[k], (image.spacing[1], image.spacing[2]), inst[k]


@needs_spider
def test_every_lumbar_disc_is_graded_under_its_levelled_name(spider_slice):
    img, sp, inst = spider_slice
    res = grade_levelled_slice(img, sp, inst)
    assert set(DISC_LEVELS) <= set(res.by_level)
    assert res.notes == []  # the grader's count and the levels agree on this spine
    for d in res.by_level.values():
        assert disc_number_at(inst, d.row, d.col, sp) == d.label
        assert d.numbering_trusted and 1 <= d.grade <= 5


@needs_spider
def test_grades_follow_the_levels_names_when_the_two_counts_differ(spider_slice):
    """Levels that name every disc one higher (as when the levelling infers a disc below)
    move each grade with them; the note says the grader's own count differed."""
    img, sp, inst = spider_slice
    plain = grade_levelled_slice(img, sp, inst)
    shifted = np.where((inst > 200) & (inst < 225), inst + 1, inst)
    res = grade_levelled_slice(img, sp, shifted)
    assert "l5_s1" not in res.by_level  # no disc of the slice is named L5/S1 now
    for below, above in zip(DISC_LEVELS[::-1], DISC_LEVELS[-2::-1], strict=False):
        # the disc graded as `below` before is the one graded as `above` now
        assert (res.by_level[above].row, res.by_level[above].col) == (
            plain.by_level[below].row,
            plain.by_level[below].col,
        )
    assert any("own numbering on the slice differed from the levels for" in n for n in res.notes)


@needs_spider
def test_a_disc_the_levels_do_not_name_is_not_graded(spider_slice):
    img, sp, inst = spider_slice
    res = grade_levelled_slice(img, sp, np.where(inst == 203, 0, inst))
    assert "l3_l4" not in res.by_level
    assert {"l5_s1", "l4_l5", "l2_l3", "l1_l2"} <= set(res.by_level)
    assert res.notes == [
        (
            "disc grades: 1 disc(s) the grader found on the mid-sagittal slice lie on no named "
            "level and were not graded"
        )
    ]


@needs_spider
def test_extraction_grades_are_the_levelled_slices(tmp_path):
    """``extract_case(grade=True)``: the grade columns are the levelled grader's on the
    slice with the most canal, every lumbar disc graded, and its time is counted."""
    from radiomics_features.pipeline import extract_case

    image = VOLUMES / "spider_005_t2.nii.gz"
    res = extract_case(image, VOLUMES / "spider_005_mask.nii.gz", radiomics=False, grade=True)
    wide = res.wide.iloc[0]
    grades = [wide[f"img_{lv}_pfirrmann_grade"] for lv in DISC_LEVELS]
    assert all(g in (1, 2, 3, 4, 5) for g in grades)
    assert res.timings["grade"] > 0
    discs = res.long[res.long["kind"] == "disc"].set_index("level")
    assert discs.loc["l4_l5", "pfirrmann_grade"] == wide["img_l4_l5_pfirrmann_grade"]


def test_a_named_disc_the_grader_misses_is_said():
    """The levels name L1/L2 but the grader finds nothing there on the slice: no grade,
    and the case notes name the level (a synthetic slice: a blank image, in which the
    grader finds no disc at all)."""
    import pandas as pd

    from radiomics_features.pipeline.case import _grade

    geo = pd.DataFrame({"level": ["l1", "l1_l2", "l2"], "kind": ["vertebra", "disc", "vertebra"]})
    inst = np.zeros((200, 120), dtype=np.int16)
    inst[90:100, 20:80] = 205
    out, notes = _grade(np.zeros((200, 120)), (3.0, 0.5, 0.5), inst, geo, None)
    assert out.isna().all(axis=None)
    assert notes == ["disc grades: the grader found no disc on the slice at l1_l2: not graded"]


def test_a_scan_that_looks_t1_weighted_is_not_graded():
    """The grader reads T2: discs as bright as the CSF (T1) give a note, not grades."""
    import pandas as pd

    from radiomics_features.pipeline.case import _grade

    geo = pd.DataFrame(
        {
            "level": ["l4", "l4_l5", "l5", "l5_s1"],
            "kind": ["vertebra", "disc", "vertebra", "disc"],
            "disc_csf_signal_ratio": [np.nan, 1.3, np.nan, 1.1],
        }
    )
    out, notes = _grade(np.zeros((200, 120)), (3.0, 0.5, 0.5), np.zeros((200, 120)), geo, None)
    assert out.isna().all(axis=None)
    assert notes == [
        "disc grades: not graded, the grader reads sagittal T2 and this scan looks T1-weighted"
    ]


@needs_spider
def test_grade_cases_gives_one_row_per_case_and_names_a_failure(tmp_path):
    from radiomics_features.grader.columns import grade_cases, grade_columns
    from radiomics_features.pipeline.cases import Case

    good = Case("p5", VOLUMES / "spider_005_t2.nii.gz", VOLUMES / "spider_005_mask.nii.gz")
    missing = Case("gone", tmp_path / "nothing_t2.nii.gz")
    rows = grade_cases([good, missing]).set_index("patient_id")
    assert list(rows.index) == ["p5", "gone"]
    assert rows.loc["p5", "grade_error"] == ""
    grades = rows.loc["p5", [c for c in grade_columns() if c.endswith("_grade")]]
    assert set(grades) <= {1, 2, 3, 4, 5} and grades.notna().all()
    assert "nothing_t2.nii.gz" in rows.loc["gone", "grade_error"]
    assert rows.loc["gone", grade_columns()].isna().all()
