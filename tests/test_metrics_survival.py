"""Harrell's C, Kaplan-Meier and survival calibration at a horizon.

R references: tests/reference/metrics/ (make_reference.R), computed with R 4.2.2 and
survival 3.5-3 (Debian bookworm r-cran-survival): ``concordance(Surv(time, event) ~ x,
reverse = TRUE)`` (C, sqrt(var), pair counts) and ``summary(survfit(Surv(time, event) ~
1), times = ...)``. The input has whole-month times (events tied with events and with
censorings) and risk scores rounded to 0.1 (ties in risk).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from prom.errors import StatisticalWarning
from prom.validation import (
    Concordance,
    concordance,
    harrell_c,
    kaplan_meier,
    survival_calibration_at,
)

REF = Path(__file__).parent / "reference" / "metrics"
few = pytest.mark.filterwarnings("ignore::prom.errors.StatisticalWarning")


@pytest.fixture(scope="module")
def surv():
    return pd.read_csv(REF / "survival_inputs.csv")


def _score(surv, name):
    return {"risk": surv.risk, "neg_surv_t": -surv.surv_t, "group": -surv.group}[name]


# ---- R references ----------------------------------------------------------------------


def test_concordance_matches_survival(surv):
    """survival 3.5-3 concordance(..., reverse = TRUE): C, SE and every pair count."""
    ref = pd.read_csv(REF / "concordance_ref.csv")
    assert set(ref.score) == {"risk", "neg_surv_t", "group"}
    for r in ref.itertuples():
        c = concordance(surv.time, surv.event, _score(surv, r.score))
        assert (c.concordant, c.discordant, c.tied_risk, c.tied_time, c.tied_both, c.n) == (
            r.concordant,
            r.discordant,
            r.tied_x,
            r.tied_y,
            r.tied_xy,
            r.n,
        )
        # rtol=1e-13: the same integer counts; the IJ variance sums 400 squares in another
        # order
        np.testing.assert_allclose([c.c, c.se], [r.c, r.se], rtol=1e-13)
        assert harrell_c(surv.time, surv.event, _score(surv, r.score)) == c.c


def test_kaplan_meier_matches_survfit(surv):
    """survival 3.5-3 summary(survfit(Surv(time, event) ~ 1), times = ...)."""
    ref = pd.read_csv(REF / "km_ref.csv").query("subset == 'all'")
    km = kaplan_meier(surv.time, surv.event, ref.time)
    assert km.n_risk.tolist() == ref.n_risk.tolist()
    # summary's n.event counts events since the previous requested time; ours are cumulative
    assert km.n_event.tolist() == ref.n_event.cumsum().tolist()
    # rtol=1e-13: the same product-limit and Greenwood sums, in the same order
    for ours, theirs in (
        ("survival", "surv"),
        ("std_err", "std_err"),
        ("low", "lower"),
        ("high", "upper"),
    ):
        np.testing.assert_allclose(km[ours], ref[theirs], rtol=1e-13)


def test_survival_calibration_matches_survfit_by_group(surv):
    """survival 3.5-3 summary(survfit(...), times = 24) in each tenth of predicted
    survival (the groups written by make_inputs.py)."""
    ref = pd.read_csv(REF / "km_ref.csv").query("subset != 'all'")
    tab = survival_calibration_at(surv.time, surv.event, surv.surv_t, 24)
    assert tab.group.tolist() == list(range(1, 11)) and (tab.n == 40).all()
    # the groups are the ones the input file was written with (rtol=1e-14: means of the
    # same 40 numbers; a single row in the wrong group would move a mean by ~1e-3)
    expected = surv.groupby("group").surv_t.mean()
    np.testing.assert_allclose(tab.predicted, expected.to_numpy(), rtol=1e-14)
    r = ref.set_index(ref.subset.str.replace("group", "").astype(int)).loc[tab.group]
    # rtol=1e-13: the same product-limit and Greenwood sums
    np.testing.assert_allclose(tab.observed, r.surv, rtol=1e-13)
    np.testing.assert_allclose(tab.std_err, r.std_err, rtol=1e-13)
    np.testing.assert_allclose(tab.low, r.lower, rtol=1e-13)
    np.testing.assert_allclose(tab.high, r.upper, rtol=1e-13)
    events = [int(((g.time <= 24) & (g.event == 1)).sum()) for _, g in surv.groupby("group")]
    assert tab.n_events.tolist() == events


# ---- hand-countable cases --------------------------------------------------------------


@few
def test_harrell_c_by_hand():
    assert harrell_c([1, 2, 3, 4], [1, 1, 1, 1], [4, 3, 2, 1]) == 1.0
    assert harrell_c([1, 2, 3, 4], [1, 1, 1, 1], [1, 2, 3, 4]) == 0.0
    # times 1 1 2 3, events 1 1 1 0, risks 2 1 1 .5:
    #   (a, b) tied event times: not comparable (tied_time); (a, c) 2 > 1, (a, d) 2 > .5,
    #   (b, d) 1 > .5, (c, d) 1 > .5 (d censored later): concordant; (b, c) 1 = 1: half
    c = concordance([1, 1, 2, 3], [1, 1, 1, 0], [2, 1, 1, 0.5])
    assert (c.concordant, c.discordant, c.tied_risk, c.tied_time, c.tied_both) == (4, 0, 1, 1, 0)
    assert c.c == 4.5 / 5
    # a censoring at an event's time counts as the longer survivor: comparable
    c = concordance([2, 2], [1, 0], [1.0, 2.0])
    assert (c.concordant, c.discordant, c.c) == (0, 1, 0.0)
    # censored first: no comparable pair
    with pytest.raises(ValueError, match=r"no comparable pairs"):
        concordance([1, 2], [0, 1], [1.0, 2.0])


def _brute(t, e, r):
    conc = disc = tie = 0
    n = len(t)
    for i in range(n):
        for j in range(n):
            if e[i] == 1 and (t[i] < t[j] or (t[i] == t[j] and e[j] == 0)):
                conc += r[i] > r[j]
                disc += r[i] < r[j]
                tie += r[i] == r[j]
    return conc, disc, tie


@few
@given(
    st.lists(
        st.tuples(st.integers(1, 6), st.integers(0, 1), st.integers(0, 4)), min_size=2, max_size=30
    )
)
def test_pair_counts_equal_brute_force(rows):
    t, e, r = (np.array(v, float) for v in zip(*rows, strict=True))
    expected = _brute(t, e, r)
    if sum(expected) == 0:
        with pytest.raises(ValueError, match="no comparable pairs"):
            concordance(t, e, r)
        return
    c = concordance(t, e, r)
    assert (c.concordant, c.discordant, c.tied_risk) == expected


def test_concordance_invariances(surv):
    base = concordance(surv.time, surv.event, surv.risk)
    perm = np.random.default_rng(4).permutation(len(surv))
    shuffled = concordance(
        surv.time.to_numpy()[perm], surv.event.to_numpy()[perm], surv.risk.to_numpy()[perm]
    )
    assert shuffled == base
    flipped = concordance(surv.time, surv.event, -surv.risk)
    assert flipped.c == pytest.approx(1 - base.c, abs=1e-15)
    assert flipped.se == pytest.approx(base.se, rel=1e-13)
    # any increasing transformation of the score leaves the pairs unchanged
    assert concordance(surv.time, surv.event, np.exp(surv.risk)).c == base.c
    assert isinstance(base, Concordance)


@few
def test_kaplan_meier_by_hand():
    # times 1 2 2+ 3 4+: S(1) = 4/5, S(2) = .8 * 3/4 = .6, S(3) = .6 * 1/2 = .3
    km = kaplan_meier([1, 2, 2, 3, 4], [1, 1, 0, 1, 0], [0.5, 1, 2, 2.5, 3, 4])
    np.testing.assert_allclose(km.survival, [1, 0.8, 0.6, 0.6, 0.3, 0.3], rtol=1e-15)
    assert km.n_risk.tolist() == [5, 5, 4, 2, 2, 1]
    # Greenwood at 2: S^2 (1/(5*4) + 1/(4*3))
    assert km.std_err[2] == pytest.approx(0.6 * np.sqrt(1 / 20 + 1 / 12), rel=1e-15)
    with pytest.warns(StatisticalWarning, match=r"1 requested time\(s\) are after the last"):
        late = kaplan_meier([1, 2, 2, 3, 4], [1, 1, 0, 1, 0], [5])
    assert np.isnan(late.survival[0])


@few
def test_survival_calibration_keeps_tied_predictions_together():
    t = np.arange(1, 13, dtype=float)
    e = np.ones(12)
    pred = np.r_[[0.2] * 5, [0.5] * 4, [0.8] * 3]
    tab = survival_calibration_at(t, e, pred, 6, n_groups=4)
    # min-ranks 1, 6, 10 -> raw groups 0, 1, 3: renumbered 1, 2, 3
    assert tab.group.tolist() == [1, 2, 3] and tab.n.tolist() == [5, 4, 3]
    # group 2 = times 6..9: S(6) = 3/4
    assert tab.observed[1] == pytest.approx(0.75) and tab.predicted[1] == 0.5
    assert tab.n_events.tolist() == [5, 1, 0]


# ---- errors and warnings ---------------------------------------------------------------


def test_survival_errors(surv):
    with pytest.raises(
        ValueError,
        match=r"time must be >= 0.*2 value\(s\) are negative "
        r"\(rows 3, 7\)",
    ):
        t = surv.time.copy()
        t[[3, 7]] = -1
        harrell_c(t, surv.event, surv.risk)
    with pytest.raises(ValueError, match=r"event must be 0/1 \(1 = event\); 1 value"):
        ev = surv.event.copy()
        ev[0] = 2
        harrell_c(surv.time, ev, surv.risk)
    with pytest.raises(ValueError, match=r"risk has 1 missing value\(s\) \(row 5\)"):
        harrell_c(surv.time, surv.event, surv.risk.where(surv.index != 5))
    with pytest.raises(ValueError, match=r"lengths differ"):
        harrell_c(surv.time, surv.event, surv.risk[:-1])
    with pytest.raises(TypeError, match=r"time must be numeric, not boolean"):
        harrell_c(surv.event == 1, surv.event, surv.risk)
    with pytest.raises(
        ValueError,
        match=r"predicted_survival_at_t must be predicted "
        r"probabilities",
    ):
        survival_calibration_at(surv.time, surv.event, surv.surv_t * 100, 24)
    with pytest.raises(ValueError, match=r"t must be a positive finite horizon; got 0"):
        survival_calibration_at(surv.time, surv.event, surv.surv_t, 0)
    with pytest.raises(TypeError, match=r"t must be a number"):
        survival_calibration_at(surv.time, surv.event, surv.surv_t, "24")
    with pytest.raises(ValueError, match=r"n_groups must be between 1 and 400; got 401"):
        survival_calibration_at(surv.time, surv.event, surv.surv_t, 24, n_groups=401)
    with pytest.raises(TypeError, match=r"n_groups must be an integer"):
        survival_calibration_at(surv.time, surv.event, surv.surv_t, 24, n_groups=2.0)


def test_survival_warnings(surv):
    with pytest.warns(StatisticalWarning, match=r"only 3 events; the concordance is unstable"):
        harrell_c(surv.time[:8], np.r_[1, 1, 1, 0, 0, 0, 0, 0], surv.risk[:8])
    with pytest.warns(StatisticalWarning, match=r"only 6 events at or before t = 2;"):
        survival_calibration_at(surv.time, surv.event, surv.surv_t, 2, n_groups=2)
    # the last follow-up is at 69 months: nothing is observed at 80
    with pytest.warns(
        StatisticalWarning,
        match=r"follow-up ends before t = 80 in group\(s\) "
        r"\[1, 2\]",
    ):
        tab = survival_calibration_at(surv.time, surv.event, surv.surv_t, 80, n_groups=2)
    assert tab.observed.isna().all() and tab.n_events.sum() == surv.event.sum()
