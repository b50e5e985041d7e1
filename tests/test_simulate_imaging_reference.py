"""The simulator's imaging features on the measured scale (prom.cohort.imaging_reference).

The reference is ``prom/data/imaging_reference.json``: the pipeline's own measurements of
SPIDER's 31 sagittal T2 scans (bundled backbone), per disc level and Pfirrmann grade. A
simulated cohort must fall inside that distribution level by level, and the joint model
the simulator draws from must reproduce the recorded structure.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest

from prom.cohort import simulate_cohort
from prom.cohort.imaging_reference import (
    DEFAULT_PATH,
    QUANTILES,
    REFERENCE_FEATURES,
    JointModel,
    load_imaging_reference,
)
from prom.naming import DISC_LEVELS

ROOT = Path(__file__).resolve().parents[1]
FEATURES = (*REFERENCE_FEATURES, "pfirrmann")


@pytest.fixture(scope="module")
def ref():
    return load_imaging_reference()


@pytest.fixture(scope="module")
def lumbar():
    df = simulate_cohort(4000, seed=11, missingness=False)
    return df[df["region"] == "lumbar"]


@pytest.mark.parametrize("level", DISC_LEVELS)
def test_simulated_medians_lie_within_the_measured_iqr_per_level(lumbar, ref, level):
    for feature in FEATURES:
        x = lumbar[f"img_{level}_{feature}"].astype(float).dropna().to_numpy()
        r = ref.summary(feature, level)
        assert x.size > 2000 and r["n"] >= 28, (feature, x.size, r["n"])
        assert r["p25"] <= np.median(x) <= r["p75"], (feature, np.median(x), r)


@pytest.mark.parametrize("level", [*DISC_LEVELS, "all"])
def test_simulated_values_are_covered_by_the_measured_1st_to_99th_percentiles(lumbar, ref, level):
    """With ~31 discs per level the recorded 1st/99th percentiles sit just inside the
    smallest and largest disc, so a sample from the same distribution lands between them
    ~92% of the time; at least 80% per level (the clinical canal effects widen the canal's
    spread) and 90% over all levels, and never more than 15% beyond one end."""
    for feature in REFERENCE_FEATURES:
        cols = [f"img_{lev}_{feature}" for lev in (DISC_LEVELS if level == "all" else [level])]
        x = lumbar[cols].to_numpy(float).ravel()
        x = x[~np.isnan(x)]
        r = ref.summary(feature, level)
        inside = np.mean((x >= r["p01"]) & (x <= r["p99"]))
        assert inside >= (0.90 if level == "all" else 0.80), (feature, inside)
        assert max(np.mean(x < r["p01"]), np.mean(x > r["p99"])) <= 0.15, feature


def test_the_signal_ratio_is_on_the_scale_real_scans_measure(lumbar, ref):
    """The pipeline measures disc/CSF ratios of 0.08–0.17 (level medians) on SPIDER; the
    former simulator drew a median of 0.47, above nearly every real disc."""
    medians = [ref.summary("disc_csf_signal_ratio", lev)["p50"] for lev in DISC_LEVELS]
    assert min(medians) >= 0.07 and max(medians) <= 0.18, medians
    sim = lumbar[[f"img_{lev}_disc_csf_signal_ratio" for lev in DISC_LEVELS]].to_numpy(float)
    assert 0.07 <= np.nanmedian(sim) <= 0.18


def test_per_grade_draws_lie_within_the_measured_iqr(ref):
    """Discs of one grade (over the levels in SPIDER's proportions): the model's medians
    fall inside the IQR recorded for that grade wherever at least 15 discs had it."""
    model, rng = ref.model(), np.random.default_rng(0)
    grades = ref.data["sources"][ref.primary]["grades"]
    for g in range(1, 6):
        r_n = ref.summary("disc_height_mm", "all", g)["n"]
        if r_n < 15:
            continue
        weights = np.array([grades[lev][str(g)] for lev in DISC_LEVELS], float)
        draws = model.draw(rng, np.full((4000, 5), float(g)))
        pick = rng.choice(5, size=4000, p=weights / weights.sum())
        x = draws[np.arange(4000), pick]
        for k, feature in enumerate(REFERENCE_FEATURES):
            r = ref.summary(feature, "all", g)
            assert r["p25"] <= np.median(x[:, k]) <= r["p75"], (g, feature, r)


def test_the_draws_have_the_recorded_joint_structure(ref):
    """Residuals (on each feature's scale) correlate as recorded within a disc, and across
    two discs of one patient by the recorded patient share; SDs match (n = 20,000)."""
    model = ref.model()
    draws = model.draw(np.random.default_rng(1), np.full((20000, 5), 3.0))
    y = model.to_model_scale(draws) - model.intercept[None] - model.grade_effect[2]
    z = y / model.residual_sd
    disc = z[:, 2, :]
    np.testing.assert_allclose(disc.std(0), 1.0, atol=0.03)
    np.testing.assert_allclose(np.corrcoef(disc.T), model.residual_correlation, atol=0.03)
    across = [np.corrcoef(z[:, 0, k], z[:, 4, k])[0, 1] for k in range(z.shape[2])]
    np.testing.assert_allclose(across, model.patient_share, atol=0.03)


def test_the_table_is_documented_and_consistent(ref):
    data = json.loads(DEFAULT_PATH.read_text(encoding="utf-8"))
    assert data["licence"] == "CC BY 4.0" and "SPIDER" in data["source"]
    assert data["command"] == "make imaging-reference"
    assert re.search(r"^imaging-reference:", (ROOT / "Makefile").read_text(encoding="utf-8"), re.M)
    assert set(data["sources"]) == {"backbone", "truth"} and data["primary"] == "backbone"
    for source in data["sources"].values():
        assert source["n_patients"] == 31
        for row in source["summaries"]:
            q = [row[f"p{p:02d}"] for p in QUANTILES]
            if row["n"]:
                assert q == sorted(q), row
        for lev in DISC_LEVELS:  # the per-level grade summary counts the graded discs
            n = ref.summary("pfirrmann", lev, source=None)["n"]
            assert n == sum(data["sources"][ref.primary]["grades"][lev].values())


def test_a_missing_or_foreign_table_is_refused(tmp_path, ref):
    with pytest.raises(FileNotFoundError, match="make imaging-reference"):
        load_imaging_reference(tmp_path / "nope.json")
    model = dict(ref.data["sources"][ref.primary]["model"])
    model["features"] = ["disc_height_mm"]
    with pytest.raises(ValueError, match=r"expected .*disc_height_index"):
        JointModel.from_dict(model)
    with pytest.raises(KeyError, match="no source 'mri'"):
        ref.model("mri")
