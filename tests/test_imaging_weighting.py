"""A T1-weighted series read in place of the T2 is said to be, and its signal and texture
features are not handed to the models as if they were T2's.

The real case: patient 4 of SPIDER's standard sagittal series
(``../shared/data/spider-sagittal-slices``; the test skips without it), whose mid-sagittal
T1 and T2 slices are each repeated into a 5-slice stack and measured by the pipeline.
"""

from __future__ import annotations

import ast
import dataclasses
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from radiomics_features.geometry.weighting import T1_LIKE_RATIO, looks_t1_weighted, weighting_note

SLICES = Path(__file__).resolve().parents[2] / "shared" / "data" / "spider-sagittal-slices"


def test_the_rule_needs_two_discs_and_a_median_at_the_threshold():
    assert not looks_t1_weighted([0.1, 0.3, math.nan, 0.2])
    assert looks_t1_weighted([T1_LIKE_RATIO, T1_LIKE_RATIO + 0.5])
    assert not looks_t1_weighted([T1_LIKE_RATIO - 0.01, T1_LIKE_RATIO - 0.02, 2.0])
    assert not looks_t1_weighted([1.5, math.nan, math.nan])  # one disc says too little
    assert weighting_note([0.1, 0.2]) == ""
    assert weighting_note([1.0, 1.5, 1.2]).startswith(
        "the discs are about as bright as the CSF or brighter (median disc/CSF signal ratio "
        "1.20 over 3 discs; T2-weighted scans measure well below 0.8): the scan looks "
        "T1-weighted"
    )


def _stack(patient: int, sequence: str, folder: Path) -> Path:
    """The patient's slice of ``sequence`` as a 5-slice canonical stack (rows
    superior→inferior: the PNGs have the sacrum at the top), written as NIfTI."""
    from PIL import Image

    from radiomics_features.io import write_volume
    from radiomics_features.phantoms import make_phantom

    series = pd.read_csv(SLICES / "series.csv")
    row = series[(series["patient"] == patient) & (series["sequence"] == sequence)].iloc[0]
    grey = np.asarray(Image.open(SLICES / row["file"]).convert("L"), dtype=np.int16)[::-1]
    spacing = ast.literal_eval(row["pixel_spacing_mm_original"])
    vol = dataclasses.replace(
        make_phantom().image,
        array=np.repeat(grey[None], 5, axis=0),
        spacing=(3.0, float(spacing[0]), float(spacing[1])),
    )
    return write_volume(vol, folder / f"spider_{patient:03d}_{sequence}.nii.gz")


@pytest.mark.skipif(not SLICES.is_dir(), reason="needs ../shared/data/spider-sagittal-slices")
def test_a_real_t1_series_is_named_and_its_intensity_features_are_left_empty(tmp_path):
    pytest.importorskip("SimpleITK", reason="scan features need the imaging extra")
    from prom.calculator.imaging import INTENSITY_FEATURES, scan_features

    t1 = scan_features(_stack(4, "t1", tmp_path), "l4_l5", radiomics=False)
    t2 = scan_features(_stack(4, "t2", tmp_path), "l4_l5", radiomics=False)
    t1_ratio = t1.per_level["disc_csf_signal_ratio"].median()
    t2_ratio = t2.per_level["disc_csf_signal_ratio"].median()
    assert t1_ratio >= T1_LIKE_RATIO > t2_ratio
    t1_notes, t2_notes = " ".join(t1.notes), " ".join(t2.notes)
    assert "the scan looks T1-weighted" in t1_notes and "looks T1" not in t2_notes
    assert "its signal ratio and texture features are left empty, not filled in the form" in (
        t1_notes
    )
    assert all(t1.index_values[f"img_index_{f}"] is None for f in INTENSITY_FEATURES)
    assert t2.index_values["img_index_disc_csf_signal_ratio"] is not None
    for f in ("disc_height_mm", "canal_ap_mm"):  # geometry does not depend on the weighting
        assert t1.index_values[f"img_index_{f}"] is not None
