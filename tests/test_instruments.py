"""PROM instruments: hand-worked cases from the published forms, rules, errors, properties.

References
----------
ODI v2.1a: Fairbank & Pynsent, Spine 2000 — score = 100 × sum / (5 × answered sections);
  worked example from the scoring notes: 16 points over 9 answered sections = 35.6.
COMI: Mannion et al., Eur Spine J 2005 — mean of five 0–10 domains.
mJOA: Benzel 1991 (0–18); severity bands Tetreault et al. 2017.
"""

from __future__ import annotations

import copy

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from prom.errors import InsufficientItemsError, InvalidItemError, MissingColumnError
from prom.instruments import COMI, INSTRUMENTS, MJOA, ODI, NRSBack, NRSLeg, add_scores, score_table

ODI_ITEMS = ODI().item_names


def odi_form(rows: list[list[float]], tp: str = "0m") -> pd.DataFrame:
    return pd.DataFrame(rows, columns=[f"odi_{i}_{tp}" for i in ODI_ITEMS], dtype=float)


# --- ODI --------------------------------------------------------------------------------
def test_odi_worked_example_16_points_over_9_sections():
    # sex_life unanswered; the other nine sections sum to 16
    row = [2, 1, 3, 2, 2, 2, 1, np.nan, 2, 1]
    assert np.nansum(row) == 16
    res = ODI().score(odi_form([row]), timepoint="0m")
    assert res.loc[0, "score"] == pytest.approx(100 * 16 / 45, rel=1e-12)
    assert round(res.loc[0, "score"], 1) == 35.6
    assert res.loc[0, "n_answered"] == 9
    assert pd.isna(res.loc[0, "reason"])
    assert res.loc[0, "band"] == "moderate"
    assert res.loc[0, "version"] == "2.1a"


@pytest.mark.parametrize(
    ("value", "score", "band"),
    [
        (0, 0.0, "minimal"),
        (1, 20.0, "minimal"),
        (2, 40.0, "moderate"),
        (3, 60.0, "severe"),
        (4, 80.0, "crippled"),
        (5, 100.0, "bed-bound"),
    ],
)
def test_odi_floor_ceiling_and_band_edges(value, score, band):
    res = ODI().score(odi_form([[value] * 10]), timepoint="0m")
    assert res.loc[0, "score"] == score
    assert res.loc[0, "band"] == band


def test_odi_score_between_bands_goes_to_higher_band():
    # 21 points over 10 sections = 42 -> severe; 11 over 10 = 22 -> moderate
    r1 = [3, 3, 3, 2, 2, 2, 2, 2, 1, 1]
    r2 = [2, 2, 1, 1, 1, 1, 1, 1, 1, 0]
    res = ODI().score(odi_form([r1, r2]), timepoint="0m")
    assert res["score"].tolist() == [42.0, 22.0]
    assert res["band"].astype(str).tolist() == ["severe", "moderate"]


def test_odi_missing_limit_default_one_section():
    one_missing = [2] * 9 + [np.nan]
    two_missing = [2] * 8 + [np.nan, np.nan]
    res = ODI().score(odi_form([one_missing, two_missing]), timepoint="0m")
    assert res.loc[0, "score"] == 40.0
    assert np.isnan(res.loc[1, "score"])
    assert "2 of 10 ODI items missing (social_life, travelling)" in res.loc[1, "reason"]
    assert "at most 1 of 10" in res.loc[1, "reason"]
    assert pd.isna(res.loc[1, "band"])


def test_odi_missing_limit_is_a_parameter():
    two_missing = [2] * 8 + [np.nan, np.nan]
    res = ODI(max_missing=2).score(odi_form([two_missing]), timepoint="0m")
    assert res.loc[0, "score"] == 40.0
    res0 = ODI(max_missing=0).score(odi_form([[2] * 9 + [np.nan]]), timepoint="0m")
    assert np.isnan(res0.loc[0, "score"])
    assert "at most 0 of 10" in res0.loc[0, "reason"]


def test_odi_all_items_missing_gets_reason():
    res = ODI().score(odi_form([[np.nan] * 10]), timepoint="0m")
    assert np.isnan(res.loc[0, "score"])
    assert res.loc[0, "n_answered"] == 0
    assert res.loc[0, "reason"].startswith("10 of 10 ODI items missing")


def test_odi_insufficient_can_raise():
    with pytest.raises(InsufficientItemsError, match=r"1 row\(s\) cannot be scored \(row 1\)"):
        ODI().score(odi_form([[1] * 10, [np.nan] * 10]), timepoint="0m", on_insufficient="raise")


def test_odi_form_coded_one_to_six_is_named_with_rows_values_and_hint():
    rows = [[1] * 10 for _ in range(80)]
    for r in (12, 40, 77):
        rows[r][2] = 6  # lifting
    with pytest.raises(
        InvalidItemError,
        match=r"ODI item 'lifting' \(column 'odi_lifting_0m'\) has 3 value\(s\) outside 0–5 "
        r"\(rows 12, 40, 77; values 6\); is the form coded 1–6\? Subtract 1",
    ):
        ODI().score(odi_form(rows), timepoint="0m")


def test_odi_reports_all_bad_items_at_once():
    row = [7, 1, -1, 1, 1, 1, 1, 1, 1, 1]
    with pytest.raises(InvalidItemError) as err:
        ODI().score(odi_form([row]), timepoint="0m")
    msg = str(err.value)
    assert "'pain_intensity'" in msg and "'lifting'" in msg
    assert msg.count("\n") == 1


def test_odi_fractional_answer_is_an_error():
    with pytest.raises(
        InvalidItemError, match=r"'walking'.*1 non-whole value\(s\) \(row 0; values 2.5\)"
    ):
        ODI().score(odi_form([[1, 1, 1, 2.5, 1, 1, 1, 1, 1, 1]]), timepoint="0m")


def test_odi_text_answers_are_row_problems_naming_rows_and_values():
    df = odi_form([[1] * 10] * 4)
    df["odi_sitting_0m"] = ["2", "moderate", " 3.0 ", "severe"]  # as a CSV column is read
    with pytest.raises(
        InvalidItemError,
        match=r"item 'sitting' \(column 'odi_sitting_0m'\) has 2 value\(s\) that are not "
        r"numbers \(rows 1, 3; values 'moderate', 'severe'\); expected whole numbers 0–5 or "
        r"blank",
    ):
        ODI().score(df, timepoint="0m")


def test_odi_numeric_text_and_blanks_in_a_text_column_are_read_as_numbers():
    df = odi_form([[1] * 10] * 3)
    df["odi_sitting_0m"] = pd.Series(["2", " 3.0 ", "  "], dtype=object)
    res = ODI().score(df, timepoint="0m")
    expected = ODI().score(df.assign(odi_sitting_0m=[2.0, 3.0, np.nan]), timepoint="0m")
    pd.testing.assert_frame_equal(res, expected)
    assert res["n_answered"].tolist() == [10, 10, 9]


def test_odi_text_is_reported_with_range_problems_of_other_items():
    df = odi_form([[7, 1, 1, 1, 1, 1, 1, 1, 1, 1]])
    df["odi_sitting_0m"] = pd.Series([True], dtype=object)
    with pytest.raises(InvalidItemError) as err:
        ODI().score(df, timepoint="0m")
    msg = str(err.value)
    assert "'pain_intensity'" in msg and "outside 0–5" in msg
    assert "'sitting'" in msg and "not numbers (row 0; values True)" in msg


def test_odi_items_written_with_decimal_commas_say_how_to_read_them():
    """'2,0' in an item column is a number written with a decimal comma: the message says
    to read the file with --decimal ',', not to recode text answers; other text still
    gets the recoding advice."""
    df = odi_form([[1] * 10] * 2)
    df["odi_sitting_0m"] = pd.Series(["2,0", "3,0"], dtype=object)
    with pytest.raises(InvalidItemError) as err:
        ODI().score(df, timepoint="0m")
    msg = str(err.value)
    assert "values '2,0', '3,0'); expected whole numbers 0–5 or blank; the table was read " in msg
    assert "with '.' as its decimal mark: '2,0' is not the number 2.0 there" in msg
    assert "recode text answers" not in msg
    df["odi_sitting_0m"] = pd.Series(["2,0", "severe"], dtype=object)
    with pytest.raises(InvalidItemError, match="or blank; recode text answers to their numeric"):
        ODI().score(df, timepoint="0m")


def test_odi_true_false_column_is_a_type_error():
    df = odi_form([[1] * 10])
    df["odi_sitting_0m"] = [True]
    with pytest.raises(TypeError, match=r"item 'sitting' \(column 'odi_sitting_0m'\) holds True"):
        ODI().score(df, timepoint="0m")


def test_odi_missing_column_names_it():
    df = odi_form([[1] * 10]).drop(columns=["odi_sleeping_0m"])
    with pytest.raises(
        MissingColumnError, match=r"no column 'odi_sleeping_0m' \(item 'sleeping'\)"
    ):
        ODI().score(df, timepoint="0m")


def test_odi_explicit_columns_mapping():
    df = pd.DataFrame({f"Q{k + 1}": [2] for k in range(10)})
    res = ODI().score(df, columns={item: f"Q{k + 1}" for k, item in enumerate(ODI_ITEMS)})
    assert res.loc[0, "score"] == 40.0
    with pytest.raises(ValueError, match=r"unknown item\(s\) bogus"):
        ODI().score(df, columns={"bogus": "Q1"})
    with pytest.raises(ValueError, match=r"gives no column for item\(s\)"):
        ODI().score(df, columns={"lifting": "Q1"})
    with pytest.raises(TypeError, match="give either timepoint= or columns="):
        ODI().score(df)


@pytest.mark.parametrize("bad", [-1, 10, 1.5, True])
def test_odi_bad_max_missing(bad):
    df = odi_form([[1] * 10])
    with pytest.raises((ValueError, TypeError), match="max_missing"):
        ODI(max_missing=bad).score(df, timepoint="0m")


def test_bad_on_insufficient_and_non_dataframe():
    with pytest.raises(ValueError, match="on_insufficient='drop'"):
        ODI().score(odi_form([[1] * 10]), timepoint="0m", on_insufficient="drop")
    with pytest.raises(TypeError, match="expected a pandas DataFrame, got list"):
        ODI().score([[1] * 10], timepoint="0m")


def test_index_labels_are_kept_and_named_in_errors():
    df = odi_form([[1] * 10, [1] * 10])
    df.index = ["p7", "p9"]
    df.loc["p9", "odi_walking_0m"] = 9
    with pytest.raises(InvalidItemError, match=r"row p9; values 9"):
        ODI().score(df, timepoint="0m")
    df.loc["p9", "odi_walking_0m"] = 1
    assert list(ODI().score(df, timepoint="0m").index) == ["p7", "p9"]


def test_scoring_does_not_mutate_input_and_is_row_order_invariant():
    rng = np.random.default_rng(1)
    items = rng.integers(0, 6, size=(50, 10)).astype(float)
    items[rng.random((50, 10)) < 0.1] = np.nan
    df = odi_form(items.tolist())
    before = copy.deepcopy(df)
    res = ODI().score(df, timepoint="0m")
    pd.testing.assert_frame_equal(df, before)
    shuffled = df.sample(frac=1.0, random_state=3)
    res2 = ODI().score(shuffled, timepoint="0m").loc[df.index]
    pd.testing.assert_frame_equal(res, res2)


# --- NRS ----------------------------------------------------------------------------------
def test_nrs_passes_value_through_and_accepts_mapped_vas_fractions():
    df = pd.DataFrame({"nrs_back_0m": [0, 7, 10, 4.5, np.nan], "nrs_leg_0m": [3, 3, 3, 3, 3]})
    res = NRSBack().score(df, timepoint="0m")
    assert res["score"].tolist()[:4] == [0, 7, 10, 4.5]
    assert np.isnan(res.loc[4, "score"])
    assert "1 of 1 NRS back pain items missing (back)" in res.loc[4, "reason"]
    assert NRSLeg().score(df, timepoint="0m")["score"].tolist() == [3.0] * 5


def test_nrs_out_of_range_suggests_vas_scale():
    df = pd.DataFrame({"nrs_leg_0m": [35, 80, 5]})
    with pytest.raises(
        InvalidItemError, match=r"outside 0–10 \(rows 0, 1; values 35, 80\); is this a 0–100 scale"
    ):
        NRSLeg().score(df, timepoint="0m")


def test_a_stray_value_above_10_among_0_to_10_answers_is_not_called_a_0_to_100_scale():
    df = pd.DataFrame({"nrs_leg_0m": [11] + [5, 7, 3, 8, 2, 6, 4, 9, 1] * 3})
    with pytest.raises(InvalidItemError, match=r"values 11\)$"):
        NRSLeg().score(df, timepoint="0m")


# --- COMI ---------------------------------------------------------------------------------
def comi_form(back, leg, function, wellbeing, qol, social, work, tp="12m"):
    return pd.DataFrame(
        {
            f"nrs_back_{tp}": back,
            f"nrs_leg_{tp}": leg,
            f"comi_function_{tp}": function,
            f"comi_wellbeing_{tp}": wellbeing,
            f"comi_qol_{tp}": qol,
            f"comi_social_disability_{tp}": social,
            f"comi_work_disability_{tp}": work,
        },
        dtype=float,
    )


def test_comi_hand_worked():
    # pain max(6, 8) = 8; function 2*2.5 = 5; wellbeing 3*2.5 = 7.5; qol 1*2.5 = 2.5;
    # disability 2.5 * mean(0, 4) = 5  ->  (8 + 5 + 7.5 + 2.5 + 5) / 5 = 5.6
    res = COMI().score(comi_form([6], [8], [2], [3], [1], [0], [4]), timepoint="12m")
    assert res.loc[0, "score"] == pytest.approx(5.6, abs=1e-12)


def test_comi_floor_and_ceiling():
    df = comi_form([0, 10], [0, 10], [0, 4], [0, 4], [0, 4], [0, 4], [0, 4])
    assert COMI().score(df, timepoint="12m")["score"].tolist() == [0.0, 10.0]


def test_comi_missing_item_rule():
    df = comi_form([6], [8], [2], [3], [1], [np.nan], [4])
    res = COMI().score(df, timepoint="12m")
    assert np.isnan(res.loc[0, "score"])
    assert "social_disability" in res.loc[0, "reason"]
    # allowing one missing: disability from the work item alone (2.5 * 4 = 10)
    res1 = COMI(max_missing=1).score(df, timepoint="12m")
    assert res1.loc[0, "score"] == pytest.approx((8 + 5 + 7.5 + 2.5 + 10) / 5)
    # pain from the single rating answered
    df2 = comi_form([6], [np.nan], [2], [3], [1], [0], [4])
    assert COMI(max_missing=1).score(df2, timepoint="12m").loc[0, "score"] == pytest.approx(
        (6 + 5 + 7.5 + 2.5 + 5) / 5
    )


def test_comi_coded_one_to_five_hint():
    df = comi_form([1, 1], [1, 1], [5, 2], [1, 1], [1, 1], [1, 1], [1, 1])
    with pytest.raises(InvalidItemError, match=r"'function'.*outside 0–4.*is the form coded 1–5"):
        COMI().score(df, timepoint="12m")


# --- mJOA ---------------------------------------------------------------------------------
def mjoa_form(rows, tp="0m"):
    return pd.DataFrame(rows, columns=[f"mjoa_{i}_{tp}" for i in MJOA().item_names], dtype=float)


@pytest.mark.parametrize(
    ("items", "score", "band"),
    [
        ([5, 7, 3, 3], 18, "none"),
        ([5, 6, 3, 3], 17, "mild"),
        ([4, 5, 3, 3], 15, "mild"),
        ([4, 5, 3, 2], 14, "moderate"),
        ([3, 5, 2, 2], 12, "moderate"),
        ([3, 4, 2, 2], 11, "severe"),
        ([0, 0, 0, 0], 0, "severe"),
    ],
)
def test_mjoa_sum_and_severity_edges(items, score, band):
    res = MJOA().score(mjoa_form([items]), timepoint="0m")
    assert res.loc[0, "score"] == score
    assert res.loc[0, "band"] == band


def test_mjoa_item_ranges_differ_per_item():
    with pytest.raises(InvalidItemError, match=r"'motor_upper'.*outside 0–5.*values 6"):
        MJOA().score(mjoa_form([[6, 7, 3, 3]]), timepoint="0m")
    with pytest.raises(InvalidItemError, match=r"'sphincter'.*outside 0–3"):
        MJOA().score(mjoa_form([[5, 7, 3, 4]]), timepoint="0m")


def test_mjoa_no_item_may_be_missing():
    res = MJOA().score(mjoa_form([[5, 7, np.nan, 3]]), timepoint="0m")
    assert np.isnan(res.loc[0, "score"])
    assert "sensory_upper" in res.loc[0, "reason"] and "cannot be pro-rated" in res.loc[0, "reason"]


# --- score_table --------------------------------------------------------------------------
def test_score_table_scores_what_is_present_and_records_versions():
    df = pd.concat(
        [
            odi_form([[2] * 10]),
            odi_form([[1] * 10], tp="12m"),
            pd.DataFrame({"nrs_back_0m": [5.0], "nrs_leg_0m": [7.0]}),
        ],
        axis=1,
    )
    out = score_table(df)
    assert out.loc[0, "odi_0m"] == 40.0 and out.loc[0, "odi_12m"] == 20.0
    assert out.loc[0, "odi_version"] == "2.1a"
    assert out.loc[0, "nrs_leg_0m"] == 7.0
    assert "comi_0m" not in out and "mjoa_0m" not in out  # no item columns: skipped
    added = add_scores(df)
    assert set(out.columns) <= set(added.columns) and "odi_lifting_0m" in added


def test_score_table_half_mapped_form_is_an_error():
    df = odi_form([[2] * 10]).drop(columns=["odi_lifting_0m", "odi_walking_0m"])
    with pytest.raises(
        MissingColumnError,
        match=r"ODI at 0m: the table has 8 of 10 item columns; "
        r"missing odi_lifting_0m, odi_walking_0m",
    ):
        score_table(df)


# --- properties ---------------------------------------------------------------------------
def _answers(inst):
    return st.tuples(
        *[
            st.one_of(
                st.none(),
                st.integers(int(it.low), int(it.high))
                if it.integer
                else st.floats(it.low, it.high, allow_nan=False),
            )
            for it in inst.items
        ]
    )


@pytest.mark.parametrize("key", list(INSTRUMENTS))
@given(data=st.data())
def test_scores_stay_in_range_and_are_monotone_in_each_item(key, data):
    inst = type(INSTRUMENTS[key])(max_missing=len(INSTRUMENTS[key].items) - 1)
    row = list(data.draw(_answers(inst)))
    cols = {it.name: f"c{j}" for j, it in enumerate(inst.items)}
    df = pd.DataFrame(
        [[np.nan if v is None else float(v) for v in row]], columns=list(cols.values())
    )
    res = inst.score(df, columns=cols)
    s = res.loc[0, "score"]
    lo, hi = inst.score_range
    if not np.isnan(s):
        assert lo <= s <= hi
    # raise one answered item by one step (capped): the score moves in one direction only
    answered = [j for j, v in enumerate(row) if v is not None]
    if answered and not np.isnan(s):
        j = data.draw(st.sampled_from(answered))
        it = inst.items[j]
        bumped = df.copy()
        bumped.iloc[0, j] = min(it.high, bumped.iloc[0, j] + 1)
        s2 = inst.score(bumped, columns=cols).loc[0, "score"]
        # every item is coded so that a higher answer moves the score the same way
        # (ODI/NRS/COMI: more disability; mJOA: better function); COMI's pain domain is a
        # max, so it may not move at all
        assert s2 >= s - 1e-12
        moved = bumped.iloc[0, j] != df.iloc[0, j]
        if moved and not (key == "comi" and j < 2):
            assert s2 > s
        if key == "odi" and moved:
            assert s2 - s == pytest.approx(100 / (5 * len(answered)))


def test_one_scores_band_is_the_band_of_the_series():
    """``band_of`` (one patient, no Series) gives :meth:`band`'s label on a fine grid and
    on every band edge, where the earlier band wins."""
    from prom.instruments import INSTRUMENTS

    for key, top in (("odi", 100.0), ("mjoa", 18.0)):
        inst = INSTRUMENTS[key]
        edges = [b.low for b in inst.bands] + [b.high for b in inst.bands]
        xs = np.r_[np.linspace(0.0, top, 20_001), edges, [-1.0, top + 1.0]]
        ref = inst.band(xs).astype(object).tolist()
        got = [inst.band_of(float(x)) for x in xs]
        assert [None if r is None or r != r else r for r in ref] == got
