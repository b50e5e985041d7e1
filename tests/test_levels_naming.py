"""Level names and column-naming conventions shared by imaging and modelling."""

import pytest

from prom.naming import imaging_column, item_column, score_column, truth_column
from radiomics_features.levels import DISC_LEVELS, adjacent_vertebrae, disc_level_from_bottom


def test_disc_numbering_from_bottom_matches_spider_gradings():
    assert [disc_level_from_bottom(k) for k in range(1, 6)] == list(reversed(DISC_LEVELS))


@pytest.mark.parametrize("bad", [0, 6, -1])
def test_disc_numbering_out_of_range(bad):
    with pytest.raises(ValueError, match=rf"disc number {bad} is outside 1–5 \(1 = L5/S1\)"):
        disc_level_from_bottom(bad)


def test_disc_numbering_type():
    with pytest.raises(TypeError, match="disc number must be an int, got str"):
        disc_level_from_bottom("1")
    with pytest.raises(TypeError, match="got bool"):
        disc_level_from_bottom(True)


def test_adjacent_vertebrae():
    assert adjacent_vertebrae("l1_l2") == ("l1", "l2")
    assert adjacent_vertebrae("l5_s1") == ("l5", None)
    with pytest.raises(ValueError, match="disc level 'l5_l6' is not one of"):
        adjacent_vertebrae("l5_l6")


def test_column_names():
    assert item_column("odi", "lifting", "12m") == "odi_lifting_12m"
    assert score_column("nrs_leg", "1m") == "nrs_leg_1m"
    assert imaging_column("l4_l5", "canal_ap_mm") == "img_l4_l5_canal_ap_mm"
    assert truth_column("mcid_odi_12m") == "true_p_mcid_odi_12m"
    with pytest.raises(ValueError, match="time point '6m' is not one of 0m, 1m, 3m, 12m"):
        score_column("odi", "6m")
    with pytest.raises(ValueError, match="level 'c5_c6' is not a lumbar level"):
        imaging_column("c5_c6", "x")
