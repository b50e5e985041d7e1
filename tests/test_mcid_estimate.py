"""Tests for prom.instruments.mcid_estimate (anchor- and distribution-based MCID).

Reference values come from R 4.2.2 (2022-11-10 r83330, Debian r-base-core) with pROC
1.18.0 (Debian r-cran-proc): ``roc(direction = "<")``, ``coords(roc, "all")``,
``coords(roc, "best", best.method = "youden")``, ``auc(roc)`` and ``sd()``. They are made by
tests/reference/mcid/make_reference.R, stored as CSV next to it with 17 significant digits
(doubles survive exactly), and R is not needed to run these tests.
"""

from __future__ import annotations

import warnings
from fractions import Fraction
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from prom.errors import PromError, StatisticalWarning
from prom.instruments import mcid_anchor as me
from prom.instruments.mcid_bootstrap import percentile_interval
from prom.instruments.mcid_estimate import (
    AnchorMCID,
    DistributionMCID,
    MCIDInputError,
    UndefinedMCIDError,
    anchor_from_rating,
    anchor_mcid,
    distribution_mcid,
    roc_table,
)

REF = Path(__file__).parent / "reference" / "mcid"
R_VERSION, PROC_VERSION = "4.2.2", "1.18.0"


def _read(name: str) -> pd.DataFrame:
    # round_trip: pandas' default float parser is not always correctly rounded
    return pd.read_csv(REF / name, float_precision="round_trip")


def _groups(not_improved, improved):
    change = np.r_[np.asarray(not_improved, float), np.asarray(improved, float)]
    anchor = np.r_[np.zeros(len(not_improved), bool), np.ones(len(improved), bool)]
    return change, anchor


def _quiet(func, *args, **kwargs):
    """Call ignoring StatisticalWarning, where a test checks values, not caveats."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", StatisticalWarning)
        return func(*args, **kwargs)


# --- hand-countable cases -----------------------------------------------------------------
def test_six_patients_unique_best():
    # not improved 0, 1, 4; improved 2, 3, 5. Cut-offs (change >= c):
    #   c=1: TP 3 TN 1 → J 1/3;  c=2: TP 3 TN 2 → J 2/3;  c=3: TP 2 TN 2 → 1/3;
    #   c=4: TP 1 TN 2 → 0;      c=5: TP 1 TN 3 → 1/3.   Best: c = 2 (midpoint 1.5).
    # AUC: 2 > {0,1}, 3 > {0,1}, 5 > all → 7 of 9 pairs.
    change, anchor = _groups([0, 1, 4], [2, 3, 5])
    with pytest.warns(StatisticalWarning, match="3 improved and 3 not-improved"):
        res = anchor_mcid(change, anchor, n_boot=0)
    assert isinstance(res, AnchorMCID)
    assert res.mcid == 2.0
    assert res.cutoff_midpoint == 1.5
    assert res.sensitivity == 1.0
    assert res.specificity == pytest.approx(2 / 3, rel=1e-15)
    assert res.youden_j == pytest.approx(2 / 3, rel=1e-15)
    assert res.auc == pytest.approx(7 / 9, rel=1e-15)
    assert (res.n_improved, res.n_not_improved) == (3, 3)
    assert res.tied_cutoffs == (2.0,)
    assert np.isnan(res.ci_low) and np.isnan(res.ci_high) and res.n_boot == 0


def test_eight_patients_tied_j_smallest_cutoff_wins():
    # not improved 0, 1, 3, 5; improved 2, 4, 6, 7: TP + TN = 6 of 8 at c = 2, 4 and 6
    # (J = 0.5 each); 5 elsewhere. The smallest tied cut-off is reported (pROC's first row).
    change, anchor = _groups([0, 1, 3, 5], [2, 4, 6, 7])
    with pytest.warns(StatisticalWarning, match="fewer than 30"):
        res = anchor_mcid(change, anchor, n_boot=0)
    assert res.tied_cutoffs == (2.0, 4.0, 6.0)
    assert res.mcid == 2.0 and res.cutoff_midpoint == 1.5
    assert (res.sensitivity, res.specificity, res.youden_j) == (1.0, 0.5, 0.5)
    assert res.auc == 13 / 16


def test_ties_in_change_across_groups():
    # not improved 0, 2, 2; improved 2, 3, 3. c=2: TP 3 TN 1 → 1/3; c=3: TP 2 TN 3 → 2/3.
    # AUC: the improved 2 beats 0 and ties both 2s (1 + 0.5 + 0.5); each 3 beats all → 8/9.
    change, anchor = _groups([0, 2, 2], [2, 3, 3])
    with pytest.warns(StatisticalWarning, match="fewer than 30"):
        res = anchor_mcid(change, anchor, n_boot=0)
    assert (res.mcid, res.cutoff_midpoint) == (3.0, 2.5)
    assert res.sensitivity == pytest.approx(2 / 3, rel=1e-15) and res.specificity == 1.0
    assert res.auc == pytest.approx(8 / 9, rel=1e-15)


def test_roc_table_hand_counted():
    change, anchor = _groups([0, 1, 4], [2, 3, 5])
    tab = roc_table(change, anchor)
    assert list(tab.columns) == ["cutoff", "midpoint", "sensitivity", "specificity", "youden_j"]
    np.testing.assert_array_equal(tab["cutoff"], [0, 1, 2, 3, 4, 5, np.inf])
    np.testing.assert_array_equal(tab["midpoint"], [-np.inf, 0.5, 1.5, 2.5, 3.5, 4.5, np.inf])
    np.testing.assert_array_equal(tab["sensitivity"] * 3, [3, 3, 3, 2, 1, 1, 0])
    np.testing.assert_array_equal(tab["specificity"] * 3, [0, 1, 2, 2, 2, 3, 3])


def test_midpoint_rounding_follows_proc():
    # Adjacent doubles: (a + b) / 2 rounds to a, so pROC moves the threshold to b.
    a = 1.0
    b = np.nextafter(a, 2.0)
    mids = me._midpoints(np.array([a, b]))
    assert mids[1] == b


# --- against R / pROC ------------------------------------------------------------------------
ANCHOR_INPUTS = _read("anchor_inputs.csv")
ANCHOR_BEST = _read("anchor_best.csv")
ANCHOR_ALL = _read("anchor_all.csv")
DATASETS = sorted(ANCHOR_INPUTS["dataset"].unique())


def _dataset(name):
    d = ANCHOR_INPUTS[ANCHOR_INPUTS["dataset"] == name]
    return d["change"].to_numpy(), d["improved"].to_numpy().astype(bool)


def test_reference_versions_match_docstring():
    assert set(ANCHOR_BEST["r_version"].astype(str)) == {R_VERSION}
    assert set(ANCHOR_BEST["proc_version"].astype(str)) == {PROC_VERSION}
    assert set(_read("distribution_ref.csv")["r_version"].astype(str)) == {R_VERSION}
    assert len(DATASETS) == 5
    assert ANCHOR_BEST.groupby("dataset").size().max() >= 3  # the tied-J datasets are there


@pytest.mark.parametrize("name", DATASETS)
def test_anchor_mcid_matches_proc_best(name):
    change, anchor = _dataset(name)
    best = ANCHOR_BEST[ANCHOR_BEST["dataset"] == name].sort_values("rank")
    first = best.iloc[0]
    res = _quiet(anchor_mcid, change, anchor, n_boot=0)
    # The threshold: pROC's midpoint exactly; the reported MCID is, by this module's
    # convention, the smallest observed change above it.
    assert res.cutoff_midpoint == first["threshold"]
    observed = np.unique(change)
    assert res.mcid == observed[observed > first["threshold"]].min()
    assert res.tied_cutoffs == tuple(observed[observed > t].min() for t in best["threshold"])
    # Sensitivity, specificity and J are the same IEEE operations on the same integers in
    # both (count / n, se + sp − 1), so they agree exactly.
    assert res.sensitivity == first["sensitivity"]
    assert res.specificity == first["specificity"]
    assert res.youden_j == first["youden"]
    # AUC: pROC sums trapezoids, here one exact integer ratio; a few ulp apart at most.
    np.testing.assert_allclose(res.auc, first["auc"], rtol=1e-12, atol=0)
    assert (res.n_improved, res.n_not_improved) == (first["n_improved"], first["n_not_improved"])


@pytest.mark.parametrize("name", DATASETS)
def test_roc_table_matches_proc_all(name):
    change, anchor = _dataset(name)
    ref = ANCHOR_ALL[ANCHOR_ALL["dataset"] == name].sort_values("threshold")
    tab = roc_table(change, anchor)
    np.testing.assert_array_equal(tab["midpoint"], ref["threshold"])
    np.testing.assert_array_equal(tab["sensitivity"], ref["sensitivity"])
    np.testing.assert_array_equal(tab["specificity"], ref["specificity"])


def test_small_reference_dataset_warns():
    change, anchor = _dataset("tied_j_small")
    with pytest.warns(StatisticalWarning, match="4 improved and 4 not-improved"):
        anchor_mcid(change, anchor, n_boot=0)


@pytest.mark.parametrize("name", ["continuous", "odi_points", "small"])
def test_distribution_sd_matches_r(name):
    inputs = _read("distribution_inputs.csv")
    ref = _read("distribution_ref.csv").set_index("dataset").loc[name]
    x = inputs.loc[inputs["dataset"] == name, "baseline"].to_numpy()
    res = _quiet(distribution_mcid, x, n_boot=0)
    assert res.n == ref["n"]
    # R's sd() and numpy's std(ddof=1) both take two passes, summing in different order.
    np.testing.assert_allclose(res.sd, ref["sd"], rtol=1e-13, atol=0)
    np.testing.assert_allclose(res.mcid, 0.5 * ref["sd"], rtol=1e-13, atol=0)


# --- known truth -------------------------------------------------------------------------------
def test_youden_cutoff_converges_to_midway_between_normal_means():
    # Equal groups N(0, 10²) and N(20, 10²): Youden's J is maximal at (0 + 20) / 2 = 10.
    # The empirical cut-off converges at the cube-root rate; its Monte Carlo SD at
    # 20,000 per group is 0.37 points (400 simulated cohorts, seed 123, mean error
    # +0.004), so 1.5 points is four SDs.
    rng = np.random.default_rng(2024)
    n = 20_000
    change, anchor = _groups(rng.normal(0, 10, n), rng.normal(20, 10, n))
    res = anchor_mcid(change, anchor, n_boot=200, seed=7)
    assert abs(res.mcid - 10) < 1.5
    assert abs(res.cutoff_midpoint - 10) < 1.5
    assert res.ci_low <= 10 <= res.ci_high
    # Sensitivity = specificity = Φ(1) = 0.841 at the true cut-off; SE ≈ 0.0026 each,
    # plus the cut-off's own wobble (slope φ(1)/10 × 1.5 = 0.036 at most).
    assert res.sensitivity == pytest.approx(0.8413, abs=0.05)
    assert res.specificity == pytest.approx(0.8413, abs=0.05)
    # AUC = Φ(20 / (10 √2)) = 0.9214; SE ≈ 0.0012 at this n.
    assert res.auc == pytest.approx(0.92135, abs=0.006)


def test_half_sd_on_normal_baseline():
    # SD of N(50, 16²) from n = 20,000: SE(SD) ≈ 16 / √(2n) = 0.08, so SE(0.5·SD) = 0.04;
    # 0.2 is five SEs.
    x = np.random.default_rng(11).normal(50, 16, 20_000)
    res = distribution_mcid(x, n_boot=200)
    assert isinstance(res, DistributionMCID)
    assert res.method == "half_sd" and res.multiplier == 0.5
    assert abs(res.mcid - 8.0) < 0.2
    assert res.ci_low <= 8.0 <= res.ci_high
    assert res.reliability is None and res.sem is None and res.mdc95 is None


def test_sem_hand_computed():
    # 2, 4, 4, 4, 5, 5, 7, 9: mean 5, squared deviations sum to 32, SD = √(32/7) (ddof 1;
    # it would be exactly 2 with ddof 0). Reliability 0.91: SEM = 0.3 · √(32/7).
    x = [2, 4, 4, 4, 5, 5, 7, 9]
    with pytest.warns(StatisticalWarning, match="only 8 patients"):
        res = distribution_mcid(x, method="sem", reliability=0.91, n_boot=0)
    sd = (32 / 7) ** 0.5
    assert res.sd == pytest.approx(sd, rel=1e-15)
    assert res.sem == pytest.approx(0.3 * sd, rel=1e-14)
    assert res.mcid == pytest.approx(1.96 * 0.3 * sd, rel=1e-14)
    assert res.mdc95 == pytest.approx(1.96 * 2**0.5 * 0.3 * sd, rel=1e-14)
    assert (res.multiplier, res.reliability, res.n) == (1.96, 0.91, 8)
    with pytest.warns(StatisticalWarning):
        one_sem = distribution_mcid(x, method="sem", reliability=0.91, multiplier=1, n_boot=0)
    assert one_sem.mcid == pytest.approx(0.3 * sd, rel=1e-14)


@settings(max_examples=150, deadline=None)
@given(
    st.lists(st.integers(-5, 5), min_size=1, max_size=12),
    st.lists(st.integers(-5, 5), min_size=1, max_size=12),
)
def test_matches_brute_force_youden(not_improved, improved):
    """Exact rational J at every cut-off, smallest of the tied maxima."""
    n0, n1 = len(not_improved), len(improved)
    values = sorted(set(not_improved) | set(improved))
    js = {
        c: Fraction(sum(v >= c for v in improved), n1)
        + Fraction(sum(v < c for v in not_improved), n0)
        - 1
        for c in values[1:]
    }
    change, anchor = _groups(not_improved, improved)
    if not js or max(js.values()) <= 0:
        with pytest.raises(UndefinedMCIDError, match="no cut-off"):
            _quiet(anchor_mcid, change, anchor, n_boot=0)
        return
    best = max(js.values())
    tied = [c for c, j in js.items() if j == best]
    res = _quiet(anchor_mcid, change, anchor, n_boot=0)
    assert res.tied_cutoffs == tuple(float(c) for c in tied)
    assert res.mcid == tied[0]
    assert res.youden_j == pytest.approx(float(best), abs=1e-15)
    below = max(v for v in values if v < tied[0])
    assert res.cutoff_midpoint == (below + tied[0]) / 2
    pairs = sum((a > b) + 0.5 * (a == b) for a in improved for b in not_improved)
    assert res.auc == pytest.approx(pairs / (n1 * n0), rel=1e-15)


# --- invariances --------------------------------------------------------------------------------
def _cohort(seed=3, n0=60, n1=80):
    rng = np.random.default_rng(seed)
    return _groups(np.round(rng.normal(1, 3, n0)), np.round(rng.normal(5, 3, n1)))


def test_row_order_does_not_change_anything():
    change, anchor = _cohort()
    perm = np.random.default_rng(99).permutation(len(change))
    assert anchor_mcid(change, anchor, n_boot=300) == anchor_mcid(
        change[perm], anchor[perm], n_boot=300
    )
    base = np.random.default_rng(5).normal(40, 15, 80)
    assert distribution_mcid(base, n_boot=300) == distribution_mcid(base[::-1], n_boot=300)


def test_shift_moves_cutoff_and_interval():
    change, anchor = _cohort()
    a = anchor_mcid(change, anchor, n_boot=300)
    b = anchor_mcid(change + 10, anchor, n_boot=300)
    assert (b.mcid, b.cutoff_midpoint) == (a.mcid + 10, a.cutoff_midpoint + 10)
    assert (b.ci_low, b.ci_high) == (a.ci_low + 10, a.ci_high + 10)
    assert (b.sensitivity, b.specificity, b.auc) == (a.sensitivity, a.specificity, a.auc)


def test_anchor_codings_agree():
    change, anchor = _cohort()
    ref = anchor_mcid(change, anchor, n_boot=0)
    idx = pd.Index(range(100, 100 + len(change)))
    for ch, an in [
        (change, anchor.astype(int)),
        (change, anchor.astype(float)),
        (list(change), list(anchor)),
        (pd.Series(change, index=idx), pd.Series(anchor, index=idx)),
        (pd.Series(change, index=idx), pd.Series(anchor.astype(int), index=idx).astype("Int64")),
        (change, pd.Series(anchor).astype("boolean")),
    ]:
        assert anchor_mcid(ch, an, n_boot=0) == ref


def test_inputs_not_modified():
    change, anchor = _cohort()
    s_change = pd.Series(change)
    s_anchor = pd.Series(anchor)
    before = (s_change.copy(), s_anchor.copy())
    anchor_mcid(s_change, s_anchor, n_boot=100)
    pd.testing.assert_series_equal(s_change, before[0])
    pd.testing.assert_series_equal(s_anchor, before[1])


# --- bootstrap --------------------------------------------------------------------------------
def test_bootstrap_reproducible_by_seed():
    change, anchor = _cohort()
    a = anchor_mcid(change, anchor, n_boot=300, seed=1)
    assert a == anchor_mcid(change, anchor, n_boot=300, seed=1)
    assert a.seed == 1 and a.n_boot == 300 and a.n_boot_undefined == 0
    g = anchor_mcid(change, anchor, n_boot=300, seed=np.random.default_rng(1))
    assert g.seed is None and (g.ci_low, g.ci_high) == (a.ci_low, a.ci_high)
    base = np.random.default_rng(5).normal(40, 15, 80)
    assert distribution_mcid(base, seed=4) == distribution_mcid(base, seed=4)
    assert distribution_mcid(base, seed=4).ci_low != distribution_mcid(base, seed=5).ci_low


def test_bootstrap_interval_is_observed_change_scores():
    change, anchor = _cohort()
    res = anchor_mcid(change, anchor, n_boot=500)
    assert res.ci_low in change and res.ci_high in change
    assert res.ci_low <= res.mcid <= res.ci_high
    wider = anchor_mcid(change, anchor, n_boot=500, ci=0.99)
    assert wider.ci_low <= res.ci_low and wider.ci_high >= res.ci_high


def test_bootstrap_replicates_equal_the_estimate_on_the_resample():
    # Each replicate is computed from counts, with values absent from the resample
    # masked; check it against anchor_mcid run on the very same resample.
    change, anchor = _cohort(n0=40, n1=50)
    values, inverse = np.unique(change, return_inverse=True)
    inv1, inv0 = np.sort(inverse[anchor]), np.sort(inverse[~anchor])
    reps = me._bootstrap_anchor(values, inv1, inv0, 20, np.random.default_rng(8))
    rng = np.random.default_rng(8)
    i1 = rng.integers(0, len(inv1), size=(20, len(inv1)))
    i0 = rng.integers(0, len(inv0), size=(20, len(inv0)))
    for r in range(20):
        ch, an = _groups(values[inv0[i0[r]]], values[inv1[i1[r]]])
        assert reps[r] == anchor_mcid(ch, an, n_boot=0).mcid


def test_bootstrap_replicates_without_cutoff_are_counted_and_warned():
    # Groups of two: a resample with every change equal to 1 has no cut-off (p = 1/16).
    change, anchor = _groups([0, 1], [1, 2])
    with pytest.warns(StatisticalWarning) as rec:
        res = anchor_mcid(change, anchor, n_boot=400, seed=0)
    messages = [str(w.message) for w in rec]
    assert any("fewer than 30" in m for m in messages)
    assert any(
        f"{res.n_boot_undefined} of 400 bootstrap replicates had no cut-off" in m for m in messages
    )
    assert 5 <= res.n_boot_undefined <= 50  # expected 25
    assert np.isfinite(res.ci_low) and np.isfinite(res.ci_high)


# --- warnings and errors --------------------------------------------------------------------
def test_reversed_orientation_warns():
    # Larger change goes with not improving overall (AUC 7/16), yet J = 0.25 at c = 1 and 8.
    change, anchor = _groups([0, 5, 6, 7], [1, 2, 3, 8])
    with pytest.warns(StatisticalWarning) as rec:
        res = anchor_mcid(change, anchor, n_boot=0)
    assert any(
        "AUC = 0.438 < 0.5" in str(w.message) and "baseline − follow-up" in str(w.message)
        for w in rec
    )
    assert res.auc == 7 / 16 and res.tied_cutoffs == (1.0, 8.0)


@pytest.mark.parametrize(
    "not_improved, improved",
    [
        ([3, 3, 3], [3, 3]),  # no distinct values to cut between
        ([3, 4, 5], [0, 1, 2]),  # perfectly reversed
    ],
)
def test_no_separating_cutoff_raises(not_improved, improved):
    change, anchor = _groups(not_improved, improved)
    with (
        pytest.warns(StatisticalWarning),
        pytest.raises(UndefinedMCIDError, match="best Youden J = 0"),
    ):
        anchor_mcid(change, anchor, n_boot=0)


def test_error_classes():
    assert issubclass(MCIDInputError, ValueError) and issubclass(MCIDInputError, PromError)
    assert issubclass(UndefinedMCIDError, ValueError)


CH, AN = _cohort()


@pytest.mark.parametrize(
    "kwargs, exc, match",
    [
        (dict(change="1 2 3"), TypeError, "change must be a 1-D array-like"),
        (dict(change=5.0), TypeError, "change must be a 1-D array-like"),
        (dict(change=["1", "2"] * 70), TypeError, "change has dtype <U1"),
        (dict(change=[1.0, "a"] * 70), TypeError, "change has dtype"),
        (dict(change=np.array([1.0, "a"] * 70, dtype=object)), TypeError, "holds text"),
        (dict(change=pd.Series(["a"] * 140)), TypeError, "change has dtype object"),
        (dict(change=pd.DataFrame({"c": CH})), TypeError, "got a DataFrame"),
        (dict(change=AN), TypeError, "change has dtype bool"),
        (dict(anchor_improved=np.array(["yes"] * 140)), TypeError, "anchor_improved has dtype <U3"),
        (dict(anchor_improved=pd.Series(["yes"] * 140)), TypeError, "anchor_from_rating"),
        (dict(anchor_improved=None), TypeError, "anchor_improved must be a 1-D"),
        (dict(n_boot=100.0), TypeError, "n_boot must be an int"),
        (dict(n_boot=True), TypeError, "n_boot must be an int"),
        (dict(ci="95%"), TypeError, "ci must be a number"),
        (dict(seed=1.5), TypeError, "seed must be an int"),
        (
            dict(change=CH[:-1]),
            MCIDInputError,
            "change has 139 value.* but anchor_improved has 140",
        ),
        (dict(change=CH.reshape(2, 70)), MCIDInputError, r"shape \(2, 70\)"),
        (dict(change=[]), MCIDInputError, "change is empty"),
        (
            dict(change=np.r_[np.nan, CH[1:3], np.nan, CH[4:]]),
            MCIDInputError,
            (
                r"change has 2 missing value\(s\) \(NaN\) at positions 0, 3 \(0-based\); missing values "
                r"are never dropped silently — drop these patients"
            ),
        ),
        (
            dict(change=np.r_[CH[:-1], np.inf]),
            MCIDInputError,
            r"change has 1 infinite value\(s\) at position 139 \(0-based\); expected finite",
        ),
        (
            dict(anchor_improved=np.r_[AN[:-1], np.nan]),
            MCIDInputError,
            r"anchor_improved has 1 missing value\(s\) \(NaN\) at position 139",
        ),
        (
            dict(anchor_improved=np.r_[AN[:-2], 2, 3]),
            MCIDInputError,
            "2 value.* other than 0/1 .values 2, 3, at positions 138, 139",
        ),
        (
            dict(anchor_improved=np.ones(140, bool)),
            MCIDInputError,
            "only one class: all 140 patients are improved",
        ),
        (
            dict(anchor_improved=np.zeros(140)),
            MCIDInputError,
            "only one class: all 140 patients are not improved",
        ),
        (dict(n_boot=50), MCIDInputError, "n_boot=50 is too few"),
        (dict(n_boot=-1), MCIDInputError, "n_boot=-1 is too few"),
        (dict(ci=1.0), MCIDInputError, r"ci=1.0 is outside \(0, 1\)"),
        (dict(ci=0), MCIDInputError, r"ci=0 is outside \(0, 1\)"),
        (dict(ci=95), MCIDInputError, "for a 95% interval pass ci=0.95"),
    ],
)
def test_anchor_mcid_errors(kwargs, exc, match):
    args = dict(change=CH, anchor_improved=AN, n_boot=0) | kwargs
    with pytest.raises(exc, match=match):
        anchor_mcid(args.pop("change"), args.pop("anchor_improved"), **args)


def test_missing_values_reported_by_series_label():
    idx = pd.Index([f"p{i}" for i in range(len(CH))])
    change = pd.Series(CH.copy(), index=idx)
    change.iloc[[4, 9]] = np.nan
    with pytest.raises(MCIDInputError, match=r"2 missing value.* at index labels p4, p9;"):
        anchor_mcid(change, pd.Series(AN, index=idx))
    many = pd.Series(np.where(np.arange(len(CH)) % 10 == 0, np.nan, CH), index=idx)
    with pytest.raises(MCIDInputError, match=r"14 missing value.*p70, … \(14 in all\)"):
        roc_table(many, pd.Series(AN, index=idx))
    anchor = pd.Series(AN.astype(float), index=idx)
    anchor.iloc[7] = np.nan
    with pytest.raises(
        MCIDInputError, match=r"anchor_improved has 1 missing value.* at index label p7;"
    ):
        anchor_mcid(pd.Series(CH, index=idx), anchor)


def test_misaligned_series_raise():
    change = pd.Series(CH, index=range(len(CH)))
    anchor = pd.Series(AN, index=range(1, len(CH) + 1))
    with pytest.raises(MCIDInputError, match="different indexes; align them first"):
        anchor_mcid(change, anchor)


def test_roc_table_one_class_raises():
    with pytest.raises(MCIDInputError, match="only one class"):
        roc_table(CH, np.ones(len(CH)))


BASE = np.random.default_rng(1).normal(40, 15, 50)


@pytest.mark.parametrize(
    "kwargs, exc, match",
    [
        (dict(baseline_scores="40"), TypeError, "baseline_scores must be a 1-D"),
        (dict(method=1), TypeError, "method must be a string"),
        (dict(method="sem", reliability="0.8"), TypeError, "reliability must be a number"),
        (
            dict(method="sem", reliability=0.8, multiplier="1.96"),
            TypeError,
            "multiplier must be a number",
        ),
        (dict(n_boot=1e3), TypeError, "n_boot must be an int"),
        (dict(method="half-sd"), MCIDInputError, "method='half-sd'; expected 'half_sd' or 'sem'"),
        (dict(method="sem"), MCIDInputError, "method='sem' needs reliability="),
        (
            dict(method="sem", reliability=0.0),
            MCIDInputError,
            r"reliability=0.0 is outside \(0, 1\)",
        ),
        (dict(method="sem", reliability=1), MCIDInputError, r"reliability=1 is outside \(0, 1\)"),
        (dict(method="sem", reliability=85), MCIDInputError, "ICC of 0.85"),
        (dict(reliability=0.8), MCIDInputError, "reliability= is used only by method='sem'"),
        (
            dict(method="sem", reliability=0.8, multiplier=0),
            MCIDInputError,
            "multiplier=0; expected a positive",
        ),
        (
            dict(baseline_scores=np.r_[BASE[:5], np.nan, BASE[6:]]),
            MCIDInputError,
            "baseline_scores has 1 missing value.* at position 5",
        ),
        (dict(n_boot=99), MCIDInputError, "n_boot=99 is too few"),
        (dict(ci=-0.5), MCIDInputError, r"ci=-0.5 is outside \(0, 1\)"),
        (dict(baseline_scores=[30.0]), MCIDInputError, "needs at least 2"),
        (dict(baseline_scores=[30.0] * 40), MCIDInputError, "all 40 baseline scores equal 30"),
    ],
)
def test_distribution_mcid_errors(kwargs, exc, match):
    args = dict(baseline_scores=BASE, n_boot=0) | kwargs
    with pytest.raises(exc, match=match):
        distribution_mcid(args.pop("baseline_scores"), **args)


# --- anchor_from_rating -------------------------------------------------------------------------
def test_anchor_from_rating():
    rating = [1, 2, 3, 4, 5, 2, 1]
    np.testing.assert_array_equal(anchor_from_rating(rating), [1, 1, 0, 0, 0, 1, 1])
    np.testing.assert_array_equal(
        anchor_from_rating(rating, improved_levels=[1]), [1, 0, 0, 0, 0, 0, 1]
    )
    s = pd.Series(rating, index=list("abcdefg"))
    out = anchor_from_rating(s)
    assert isinstance(out, pd.Series) and out.dtype == bool and list(out.index) == list("abcdefg")
    change = pd.Series(np.arange(7.0), index=list("abcdefg"))
    with pytest.warns(StatisticalWarning):
        assert anchor_mcid(change, out, n_boot=0).n_improved == 4


@pytest.mark.parametrize(
    "rating, levels, exc, match",
    [
        (
            [0, 1, 2, 3, 4],
            (5, 6),
            MCIDInputError,
            r"none of the 5 ratings is in improved_levels \(5, 6\); codes seen: 0, 1, 2, 3, 4",
        ),
        ([1, 2, 3], (), MCIDInputError, "improved_levels is empty"),
        ([1, 2, np.nan], (1, 2), MCIDInputError, "rating has 1 missing value.* at position 2"),
        ([1, 2, 3], "12", TypeError, "improved_levels must be an iterable"),
        ([1, 2, 3], 1, TypeError, "improved_levels must be an iterable"),
        ([1, 2, 3], ("1", "2"), TypeError, "improved_levels must hold numbers"),
        (["much better", "better"], (1, 2), TypeError, "rating has dtype"),
    ],
)
def test_anchor_from_rating_errors(rating, levels, exc, match):
    with pytest.raises(exc, match=match):
        anchor_from_rating(rating, improved_levels=levels)


def test_percentile_interval_order_statistics():
    reps = np.arange(1.0, 1001.0)  # the k-th smallest is k
    assert percentile_interval(reps, 0.95) == (25.0, 975.0)
    assert percentile_interval(reps, 0.90) == (50.0, 950.0)
    assert percentile_interval(reps[:100], 0.95) == (3.0, 98.0)  # ⌈2.5⌉, ⌈97.5⌉
