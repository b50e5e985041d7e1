"""Slow: geometry vs Pfirrmann on all 31 SPIDER patients (ground-truth masks); prints rho.

Not an assertion on rho (31 patients, one reader): it checks that every graded lumbar
disc is measured and prints the Spearman table, as
``python -m radiomics_features.tools.spider_geometry_check`` does.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

SPIDER = Path(__file__).resolve().parents[2] / "shared" / "data" / "spider-t2-lumbar"


@pytest.mark.slow
@pytest.mark.skipif(
    not (SPIDER / "gradings.csv").exists(),
    reason=f"SPIDER subset not found at {SPIDER} (the repository root's sibling shared/)",
)
def test_spider_geometry_vs_pfirrmann(capsys):
    pytest.importorskip("SimpleITK", reason="SimpleITK (imaging extra) is not installed")
    from radiomics_features.tools.spider_geometry_check import (
        join_gradings,
        measure_all,
        spearman_table,
    )

    df = join_gradings(measure_all(SPIDER), SPIDER)
    table = spearman_table(df)
    with capsys.disabled():
        print("\n" + table.to_string(index=False))
    assert df["patient"].nunique() == 31 and len(df) == 31 * 5
    assert np.isfinite(df["disc_height_index"]).all()
    assert table.set_index("feature").loc["disc_csf_signal_ratio", "n_discs"] >= 140
