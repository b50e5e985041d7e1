"""Net benefit (Vickers & Elkin, Med Decis Making 2006; 26:565).

References are hand-computed only: Debian bookworm has no r-cran-dcurves
(``apt-cache policy r-cran-dcurves`` finds no candidate), so there is no R reference for
decision curves. The hand cases fix the conventions dcurves uses: treat when
``p >= threshold``, ``NB = TP/n - FP/n * pt/(1 - pt)``, treat-all from the prevalence.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from prom.errors import StatisticalWarning
from prom.validation import net_benefit

REF = Path(__file__).parent / "reference" / "metrics"

Y = [1, 1, 0, 0, 1, 0, 0, 0, 0, 1]
P = [0.9, 0.7, 0.6, 0.4, 0.35, 0.3, 0.2, 0.15, 0.1, 0.05]


def test_net_benefit_by_hand():
    with pytest.warns(StatisticalWarning, match=r"only 4 events among 10 rows"):
        nb = net_benefit(Y, P, [0.0, 0.25, 0.5, 0.6, 0.95])
    assert list(nb.columns) == ["threshold", "net_benefit", "treat_all", "treat_none"]
    # pt = 0:    everyone treated, TP 4, weight 0            -> 0.4
    # pt = 0.25: p >= .25 treats .9 .7 .6 .4 .35 .3: TP 3 FP 3 -> 0.3 - 0.3 * 1/3 = 0.2
    # pt = 0.5:  treats .9 .7 .6: TP 2 FP 1                   -> 0.2 - 0.1 * 1   = 0.1
    # pt = 0.6:  treats .9 .7 .6 (p == pt is treated)         -> 0.2 - 0.1 * 1.5 = 0.05
    # pt = 0.95: treats nobody                                -> 0
    expected = [0.4, 0.2, 0.1, 0.05, 0.0]
    # abs=1e-15: a few float operations on exact tenths
    np.testing.assert_allclose(nb.net_benefit, expected, rtol=0, atol=1e-15)
    # treat all: 0.4 - 0.6 * pt / (1 - pt)
    # rtol=1e-14: pt / (1 - pt) at 0.95 is 19 only to rounding
    np.testing.assert_allclose(
        nb.treat_all, [0.4, 0.2, -0.2, -0.5, 0.4 - 0.6 * 19], rtol=1e-14, atol=1e-15
    )
    assert (nb.treat_none == 0).all()


def test_net_benefit_perfect_and_useless():
    y = np.r_[np.zeros(30), np.ones(20)]
    t = np.array([0.1, 0.3, 0.5])
    perfect = net_benefit(y, y.copy(), t)
    np.testing.assert_allclose(perfect.net_benefit, 0.4)  # TP/n = prevalence, no FP
    flat = net_benefit(y, np.full(50, 0.2), t)
    # everyone treated below 0.2 (= treat all), nobody above (= treat none)
    np.testing.assert_allclose(flat.net_benefit, [flat.treat_all[0], 0.0, 0.0])


def test_net_benefit_is_row_order_invariant_and_keeps_threshold_order():
    b = pd.read_csv(REF / "binary_inputs.csv").query("dataset == 'main'")
    t = np.array([0.3, 0.05, 0.2])
    a = net_benefit(b.y, b.p1, t)
    perm = np.random.default_rng(2).permutation(len(b))
    c = net_benefit(b.y.to_numpy()[perm], b.p1.to_numpy()[perm], t)
    pd.testing.assert_frame_equal(a, c)
    assert a.threshold.tolist() == [0.3, 0.05, 0.2]
    # brute force at each threshold
    for row in a.itertuples():
        treat = b.p1 >= row.threshold
        tp, fp = (treat & (b.y == 1)).sum(), (treat & (b.y == 0)).sum()
        w = row.threshold / (1 - row.threshold)
        assert row.net_benefit == pytest.approx(tp / len(b) - fp / len(b) * w, abs=1e-15)


def test_net_benefit_errors():
    with pytest.raises(
        ValueError,
        match=r"thresholds must be probabilities in \[0, 1\); "
        r"2 are not \(values 1, 5\)",
    ):
        net_benefit(Y * 2, P * 2, [0.1, 1.0, 5.0])
    with pytest.raises(ValueError, match=r"thresholds has 1 missing value"):
        net_benefit(Y * 2, P * 2, [0.1, np.nan])
    with pytest.raises(TypeError, match=r"thresholds must be a 1-D array-like"):
        net_benefit(Y * 2, P * 2, 0.2)
    with pytest.raises(ValueError, match=r"lengths differ: y has 10, p has 9"):
        net_benefit(Y, P[:-1], [0.2])


def test_single_class_is_allowed_with_a_warning():
    with pytest.warns(StatisticalWarning, match=r"only 0 events among 12 rows"):
        nb = net_benefit(np.zeros(12), np.linspace(0, 1, 12), [0.5])
    assert nb.net_benefit[0] == pytest.approx(-6 / 12)  # 6 false positives, weight 1
