"""The demo's per-level imaging summary: counts, medians and backbone-vs-expert agreement."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from prom.workflows.demo.imaging import imaging_summary, level_summary


def _long(values: dict[str, list[float]], *, missing_level=None) -> pd.DataFrame:
    rows = []
    for i, (pid, heights) in enumerate(values.items()):
        for lev, h in zip(("l1_l2", "l2_l3", "l3_l4", "l4_l5", "l5_s1"), heights, strict=True):
            found = not (missing_level and pid == missing_level[0] and lev == missing_level[1])
            rows.append(
                {
                    "patient_id": pid,
                    "level": lev,
                    "kind": "disc",
                    "confidence": "high" if found else "none",
                    "disc_height_mm": h if found else np.nan,
                    "disc_height_index": h / 25.0 if found else np.nan,
                    "disc_csf_signal_ratio": 0.1 * (i + 1),
                    "canal_ap_mm": 12.0 + i,
                }
            )
        rows.append(
            {
                "patient_id": pid,
                "level": "l1",
                "kind": "vertebra",
                "confidence": "high",
                "disc_height_mm": np.nan,
                "disc_height_index": np.nan,
                "disc_csf_signal_ratio": np.nan,
                "canal_ap_mm": 14.0,
            }
        )
    return pd.DataFrame(rows)


def test_counts_medians_and_agreement_per_level():
    bb = _long(
        {"a": [6, 7, 8, 9, 10], "b": [8, 9, 10, 11, 12], "c": [7, 8, 9, 10, 11]},
        missing_level=("c", "l5_s1"),
    )
    truth = _long({"a": [6.5, 7, 8, 9, 10], "b": [7, 9, 10, 11, 12], "c": [7, 8, 9, 10, 11]})
    s = level_summary(bb, truth).set_index("level")
    assert s.loc["l1_l2", "n_patients"] == 3 and s.loc["l1_l2", "n_found"] == 3
    assert s.loc["l5_s1", "n_found"] == 2  # c's L5/S1 not found
    assert s.loc["l1_l2", "disc_height_mm"] == 7.0  # median of 6, 8, 7
    assert s.loc["l5_s1", "disc_height_mm"] == 11.0  # median of 10, 12 (c excluded)
    # |Δ| at L1/L2: a 0.5, b 1.0, c 0.0 -> median 0.5
    assert s.loc["l1_l2", "disc_height_mm_abs_diff"] == 0.5
    assert s.loc["l5_s1", "disc_height_mm_n_pairs"] == 2  # the unfound level has no pair
    assert s.loc["l1_l2", "canal_ap_mm_abs_diff"] == 0.0


def test_a_table_that_is_not_a_long_feature_table_is_refused():
    with pytest.raises(KeyError, match="disc_height_mm"):
        level_summary(
            pd.DataFrame(
                {"patient_id": ["a"], "level": ["l1_l2"], "kind": ["disc"], "confidence": ["high"]}
            )
        )


def test_without_the_data_folder_the_summary_says_so_and_returns_none(tmp_path, capsys):
    from rich.console import Console

    console = Console(file=None, width=100)
    assert imaging_summary(tmp_path / "absent", console=console) is None
    assert "absent" in capsys.readouterr().out
