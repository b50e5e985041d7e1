"""MCID rules on hand-computable cases, per rule and per direction, and the task registry.

Thresholds: Ostelo et al. Spine 2008 (ODI 10 points or 30%; NRS 2 points or 30%),
Berg et al. JAMA Netw Open 2024 (ODI 22, leg NRS 4), Mannion et al. Eur Spine J 2009
(COMI 2.2), Tetreault et al. Spine 2015 (mJOA 2; 1/2/3 by severity), van Hooff et al.
Spine J 2016 (PASS ODI ≤ 22), Kim & Chang Bioengineering 2026 (TFESI ≥ 50%).
"""

from __future__ import annotations

import copy
import dataclasses

import numpy as np
import pandas as pd
import pytest

from prom.errors import MissingColumnError
from prom.instruments.mcid import (
    MCID_THRESHOLDS,
    MCIDThreshold,
    get_threshold,
    improvement,
    list_thresholds,
    mcid_attained,
    mcid_eligible,
    with_rule,
)
from prom.outcomes import TASKS, derive_label, derive_labels, get_task


def lab(b, f, t):
    return mcid_attained(np.array(b, float), np.array(f, float), t).tolist()


def test_direction_lower_and_higher_is_better():
    assert improvement([40], [30], "odi").tolist() == [10]
    assert improvement([12], [15], "mjoa").tolist() == [3]


def test_ostelo_either_rule_odi():
    # 40->30: 10 pts (25%) yes; 40->31: 9 pts, 22.5% no; 20->14: 6 pts but 30% yes;
    # 20->14.2: 5.8 pts, 29% no; 35.6->25.6 = 10.0 in floating point: yes (inclusive)
    assert lab(
        [40, 40, 20, 20, 100 * 16 / 45], [30, 31, 14, 14.2, 100 * 16 / 45 - 10], "odi_ostelo2008"
    ) == [1, 0, 1, 0, 1]


def test_absolute_relative_both_variants():
    b, f = [40, 20, 60], [30, 14, 45]  # changes 10 (25%), 6 (30%), 15 (25%)
    assert lab(b, f, with_rule("odi_ostelo2008", rule="absolute")) == [1, 0, 1]
    assert lab(b, f, with_rule("odi_ostelo2008", rule="relative")) == [0, 1, 0]
    assert lab(b, f, with_rule("odi_ostelo2008", rule="both")) == [0, 0, 0]
    assert lab([50], [35], with_rule("odi_ostelo2008", rule="both")) == [1]  # 15 pts, 30%


def test_published_absolute_thresholds():
    assert lab([60, 60], [38, 39], "odi_norspine_ldh") == [1, 0]
    assert lab([50, 50], [35, 35.1], "odi_fuse_ml") == [1, 0]
    assert lab([50, 50], [37.3, 37.4], "odi_spinereg") == [1, 0]
    assert lab([8, 8], [4, 5], "nrs_leg_norspine_ldh") == [1, 0]
    assert lab([6.0, 6.0], [3.8, 3.9], "comi_mannion2009") == [1, 0]


def test_nrs_either_rule_and_tfesi_relative():
    # 3->1: 2 pts yes; 9->7: 2 pts yes; 9->8: 1 pt, 11% no; 3->2: 33% yes
    assert lab([3, 9, 9, 3], [1, 7, 8, 2], "nrs_leg_ostelo2008") == [1, 1, 0, 1]
    # TFESI: at least 50% reduction
    assert lab([8, 8, 7], [4, 5, 3.5], "nrs_leg_tfesi_50pct") == [1, 0, 1]


def test_higher_is_better_mjoa_and_severity_variant():
    out = lab([12, 12, 17], [14, 13, 18], "mjoa_tetreault2015")
    assert out[:2] == [1, 0] and np.isnan(out[2])  # 17 cannot gain 2 points: ineligible
    # by severity: mild (15-17) needs 1, moderate (12-14) 2, severe (0-11) 3
    out = lab([16, 13, 13, 10, 10, 18], [17, 15, 14, 13, 12, 18], "mjoa_tetreault2015_severity")
    assert out[:5] == [1, 1, 0, 1, 0] and np.isnan(out[5])


def test_relative_for_higher_is_better_is_recovery_rate():
    t = MCIDThreshold(
        id="mjoa_rr50", instrument="mjoa", rule="relative", relative=0.5, source="test"
    )
    # baseline 10: room 8, needs +4; baseline 16: room 2, needs +1
    assert lab([10, 10, 16], [14, 13, 17], t) == [1, 0, 1]


def test_pass_state_threshold():
    assert lab([50, 50, 10], [22, 22.5, 30], "odi_pass_vanhooff2016") == [1, 0, 0]
    assert mcid_eligible([0, 50], "odi_pass_vanhooff2016").tolist() == [True, True]


def test_missing_scores_and_no_room_give_nan_not_zero():
    out = lab([np.nan, 40, 0, 1.0], [10, np.nan, 0, 0], "odi_ostelo2008")
    assert np.isnan(out[:3]).all() and out[3] == 1  # baseline 0: no room; 1 -> 0 is 100%
    assert mcid_eligible([0, 5, 2.1, 2.2], "comi_mannion2009").tolist() == [
        False,
        True,
        False,
        True,
    ]


def test_worsening_is_never_mcid_even_with_relative_rule():
    assert lab([20, 20], [30, 20], "odi_ostelo2008") == [0, 0]


def test_registry_has_sources_and_describes_itself():
    table = list_thresholds()
    assert len(table) == len(MCID_THRESHOLDS) >= 14
    assert table["source"].str.len().min() > 10
    assert (
        get_threshold("odi_ostelo2008").describe()
        == "ODI improvement ≥ 10 points or ≥ 30% (Ostelo 2008)"
    )
    assert get_threshold("odi_pass_vanhooff2016").describe().endswith("(van Hooff 2016)")
    assert set(list_thresholds("mjoa")["id"]) == {
        "mjoa_tetreault2015",
        "mjoa_tetreault2015_severity",
    }


def test_threshold_errors():
    with pytest.raises(ValueError, match="unknown MCID threshold 'odi_foo'"):
        get_threshold("odi_foo")
    with pytest.raises(TypeError, match="threshold must be an id or an MCIDThreshold, got int"):
        get_threshold(3)
    with pytest.raises(ValueError, match="unknown instrument 'ndi'"):
        MCIDThreshold(id="x", instrument="ndi", rule="absolute", absolute=1, source="s")
    with pytest.raises(ValueError, match="rule 'either' needs relative="):
        MCIDThreshold(id="x", instrument="odi", rule="either", absolute=10, source="s")
    with pytest.raises(ValueError, match=r"relative=30 must be a fraction in \(0, 1\]"):
        MCIDThreshold(id="x", instrument="odi", rule="relative", relative=30, source="s")
    with pytest.raises(ValueError, match="absolute=-2 must be > 0"):
        MCIDThreshold(id="x", instrument="odi", rule="absolute", absolute=-2, source="s")
    with pytest.raises(ValueError, match=r"by_severity bands \['grave'\] are not mJOA bands"):
        MCIDThreshold(
            id="x", instrument="mjoa", rule="by_severity", by_severity={"grave": 3}, source="s"
        )
    with pytest.raises(ValueError, match="rule 'sometimes' is not one of"):
        MCIDThreshold(id="x", instrument="odi", rule="sometimes", source="s")
    with pytest.raises(ValueError, match="baseline has 2 values but follow_up has 1"):
        mcid_attained([1, 2], [1], "odi_ostelo2008")
    with pytest.raises(
        ValueError, match=r"follow_up has 1 ODI score\(s\) outside 0–100 \(positions \[1\]\)"
    ):
        mcid_attained([40, 40], [30, 130], "odi_ostelo2008")


def test_with_rule_keeps_source_and_names_variant():
    t = with_rule("odi_ostelo2008", rule="relative")
    assert t.source == get_threshold("odi_ostelo2008").source
    assert t.id == "odi_ostelo2008_rulerelative"
    assert dataclasses.replace(t, id="mine").id == "mine"


# --- task registry ---------------------------------------------------------------------------
def cohort() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "patient_id": ["a", "b", "c", "d", "e", "f"],
            "region": ["lumbar", "lumbar", "lumbar", "cervical", "lumbar", None],
            "diagnosis": [
                "disc_herniation",
                "spinal_stenosis",
                "disc_herniation",
                "cervical_myelopathy",
                "disc_herniation",
                None,
            ],
            "treatment": ["tfesi", "surgery", "conservative", "surgery", "tfesi", "conservative"],
            "odi_0m": [40, 50, 0, np.nan, 30, 40],
            "odi_12m": [25, np.nan, 0, np.nan, 28, 10],
            "nrs_leg_0m": [8, 6, 5, np.nan, 6, 7],
            "nrs_leg_1m": [4, 5, 5, np.nan, 4, 2],
            "mjoa_0m": [np.nan, np.nan, np.nan, 12, np.nan, np.nan],
            "mjoa_12m": [np.nan, np.nan, np.nan, 15, np.nan, np.nan],
            "time_to_surgery_months": [6.0, np.nan, 24.0, np.nan, np.nan, 12.0],
            "surgery_event": [1.0, np.nan, 0.0, np.nan, np.nan, 0.0],
        }
    )


def test_mcid_task_labels_and_reasons():
    res = derive_label(cohort(), "mcid_odi_12m")
    assert res["label"].tolist()[0] == 1.0 and res["label"].tolist()[4] == 0.0
    r = res["reason"].tolist()
    assert pd.isna(r[0]) and pd.isna(r[4])
    assert r[1] == "odi_12m missing (no 12m ODI score)"
    assert r[2].startswith("baseline ODI 0 leaves no room to reach ODI improvement")
    assert r[3] == "not in population: region is 'cervical', task needs lumbar"
    assert r[5] == "not in population: region is missing, task needs lumbar"
    assert res["label"].isna().tolist() == [False, True, True, True, False, True]


def test_tfesi_population_and_cervical_mjoa():
    res = derive_label(cohort(), "tfesi_response")
    assert res["label"].tolist()[0] == 1.0 and res["label"].tolist()[4] == 0.0  # 6->4 is 33%
    assert "treatment is 'surgery', task needs tfesi" in res["reason"][1]
    mj = derive_label(cohort(), "mcid_mjoa_12m")
    assert mj["label"].tolist()[3] == 1.0 and mj["label"].notna().sum() == 1


def test_threshold_override_and_mismatch():
    res = derive_label(cohort(), "mcid_odi_12m", threshold="odi_norspine_ldh")
    assert res["label"].tolist()[0] == 0.0  # 15 points < 22
    with pytest.raises(
        ValueError, match="task mcid_odi_12m scores odi; threshold 'comi_mannion2009' is for comi"
    ):
        derive_label(cohort(), "mcid_odi_12m", threshold="comi_mannion2009")
    with pytest.raises(ValueError, match="task triage is multiclass; it takes no MCID threshold"):
        derive_label(cohort(), "triage", threshold="odi_ostelo2008")


def test_triage_and_survival_tasks():
    tri = derive_label(cohort(), "triage")
    assert tri["label"].astype(object).tolist()[:3] == ["tfesi", "surgery", "conservative"]
    assert pd.isna(tri["label"].tolist()[3])
    surv = derive_label(cohort(), "surgery_conversion")
    assert surv["time"].tolist()[0] == 6.0 and surv["event"].tolist()[2] == 0.0
    assert "treatment is 'surgery'" in surv["reason"][1]
    assert surv["reason"][4] == "time_to_surgery_months or surgery_event missing"


def test_derive_labels_picks_tasks_whose_columns_exist_and_does_not_mutate():
    df = cohort()
    before = copy.deepcopy(df)
    out = derive_labels(df)
    pd.testing.assert_frame_equal(df, before)
    assert {
        "mcid_odi_12m",
        "tfesi_response",
        "mcid_mjoa_12m",
        "triage",
        "surgery_conversion_time",
        "surgery_conversion_event",
    } <= set(out.columns)
    assert "mcid_comi_12m" not in out  # no COMI scores in this table
    with pytest.raises(
        MissingColumnError,
        match=r"needs column\(s\) comi_0m, comi_12m; the table has the items of comi_0m, "
        r"unscored: score them first .*; comi_12m: the table has neither the score nor its items",
    ):
        derive_labels(df, tasks=["mcid_comi_12m"])
    with pytest.raises(
        ValueError,
        match=r"thresholds= \(--threshold\) names unknown task\(s\) mcid_ndi_12m; the tasks with an MCID threshold are mcid_odi_12m, ",
    ):
        derive_labels(df, thresholds={"mcid_ndi_12m": "odi_ostelo2008"})
    with pytest.raises(ValueError, match="unknown task 'foo'"):
        get_task("foo")


def test_task_predictors_are_baseline_only():
    for task in TASKS.values():
        for p in task.predictors:
            assert not p.endswith(("_1m", "_3m", "_12m")), (task.name, p)
            assert not p.startswith("true_"), (task.name, p)
            assert p not in (
                "site",
                "patient_id",
                "grc_12m",
                "time_to_surgery_months",
                "surgery_event",
            )


def test_a_follow_up_at_another_time_is_named_when_the_tasks_time_is_missing():
    """A site whose follow-up is at 24 months is told so, not told to score its items."""
    df = cohort()
    at24 = df.rename(columns={c: c.replace("_12m", "_24m") for c in df.columns})
    with pytest.raises(
        MissingColumnError,
        match=r"needs column\(s\) odi_12m; odi_12m: the table has ODI at 0(, \d+)* and 24 months "
        r"but not at 12, the time this task's outcome is defined at$",
    ):
        derive_labels(at24, tasks=["mcid_odi_12m"])
