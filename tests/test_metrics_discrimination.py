"""AUC, DeLong interval and test, one-vs-rest AUCs.

R references: tests/reference/metrics/ (make_reference.R), computed with R 4.2.2 and
pROC 1.18.0 (Debian bookworm r-cran-proc): ``roc(direction = "<")``, ``ci.auc(method =
"delong")``, ``var(method = "delong")``, ``roc.test(method = "delong", paired = TRUE)``.
One-vs-rest AUCs are checked against scikit-learn 1.9.1's ``roc_auc_score``.
"""

from __future__ import annotations

from contextlib import nullcontext
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st
from sklearn.metrics import roc_auc_score

from prom.errors import StatisticalWarning
from prom.validation import (
    AUCResult,
    DeLongTest,
    auc_ci,
    auc_score,
    delong_test,
    multiclass_auc_ovr,
)

REF = Path(__file__).parent / "reference" / "metrics"
few = pytest.mark.filterwarnings("ignore::prom.errors.StatisticalWarning")


@pytest.fixture(scope="module")
def binary():
    return pd.read_csv(REF / "binary_inputs.csv")


# ---- R references ----------------------------------------------------------------------


def test_auc_ci_matches_proc_delong(binary):
    """pROC 1.18.0 ci.auc(method = "delong") and sqrt(var(method = "delong")), R 4.2.2."""
    ref = pd.read_csv(REF / "auc_ref.csv")
    assert len(ref) == 8
    for r in ref.itertuples():
        d = binary[binary.dataset == r.dataset]
        res = auc_ci(d.y, d[r.predictor], level=r.level)
        # rtol=1e-12: the same closed-form mid-rank computation; only summation order differs
        np.testing.assert_allclose(
            [res.auc, res.se, res.low, res.high], [r.auc, r.se, r.low, r.high], rtol=1e-12
        )
        assert (res.n, res.n_events, res.level) == (r.n, r.n_events, r.level)
        # rtol=1e-12: same rank-sum formula as pROC's auc()
        np.testing.assert_allclose(auc_score(d.y, d[r.predictor]), r.auc, rtol=1e-12)


def test_delong_test_matches_proc_roc_test(binary):
    """pROC 1.18.0 roc.test(method = "delong", paired = TRUE): Z, p-value, conf.int."""
    ref = pd.read_csv(REF / "delong_ref.csv")
    for r in ref.itertuples():
        d = binary[binary.dataset == r.dataset]
        res = delong_test(d.y, d.p1, d.p2, level=r.level)
        # rtol=1e-12: same closed-form DeLong covariance; p-values differ by the normal
        # tail routine only (scipy ndtr vs R pnorm, both ~1e-15 relative at z = 6)
        np.testing.assert_allclose(
            [res.auc1, res.auc2, res.z, res.p_value, res.low, res.high],
            [r.auc1, r.auc2, r.z, r.p_value, r.low, r.high],
            rtol=1e-12,
        )
        np.testing.assert_allclose(res.diff, r.auc1 - r.auc2, rtol=1e-12)


# ---- hand-countable cases --------------------------------------------------------------


@few
def test_auc_by_hand():
    # cases 0.35, 0.8 against controls 0.1, 0.4: 3 of 4 pairs ordered correctly
    assert auc_score([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8]) == 0.75


@few
def test_auc_ties_count_half():
    # cases {0.5, 0.9} v. controls {0.5, 0.2}: 0.5 + 1 + 1 + 1 = 3.5 of 4
    assert auc_score([0, 1, 0, 1], [0.5, 0.5, 0.2, 0.9]) == 0.875
    assert auc_score([0, 1, 0, 1], [0.3] * 4) == 0.5


@few
def test_perfect_and_useless_predictions():
    y = np.array([0] * 12 + [1] * 12)
    res = auc_ci(y, np.r_[np.linspace(0.01, 0.4, 12), np.linspace(0.6, 0.99, 12)])
    assert (res.auc, res.se, res.low, res.high) == (1.0, 0.0, 1.0, 1.0)
    assert auc_score(y, 1 - np.r_[np.linspace(0.01, 0.4, 12), np.linspace(0.6, 0.99, 12)]) == 0
    res = auc_ci(y, np.full(24, 0.5))
    assert res.auc == 0.5 and res.se == 0.0


def _delong_var_brute(y, p):
    """DeLong 1988 structural components from the O(m n) pair kernel."""
    x, z = p[y == 1], p[y == 0]
    psi = (x[:, None] > z[None, :]) + 0.5 * (x[:, None] == z[None, :])
    v10, v01 = psi.mean(axis=1), psi.mean(axis=0)
    return psi.mean(), v10.var(ddof=1) / x.size + v01.var(ddof=1) / z.size


def test_fast_delong_equals_pairwise_definition():
    rng = np.random.default_rng(3)
    y = rng.binomial(1, 0.4, 150)
    p = np.round(rng.uniform(size=150) * 0.5 + 0.4 * y, 1)  # heavy ties
    auc, var = _delong_var_brute(y, p)
    res = auc_ci(y, p)
    # rtol=1e-12: Sun & Xu's mid-rank placements equal the pair-kernel means exactly
    np.testing.assert_allclose([res.auc, res.se**2], [auc, var], rtol=1e-12)


def test_delong_identical_predictors_and_antisymmetry(binary):
    d = binary[binary.dataset == "main"]
    same = delong_test(d.y, d.p1, d.p1)
    assert (same.diff, same.se, same.z, same.p_value) == (0.0, 0.0, 0.0, 1.0)
    ab, ba = delong_test(d.y, d.p1, d.p2), delong_test(d.y, d.p2, d.p1)
    assert ab.z == pytest.approx(-ba.z, rel=1e-13) and ab.p_value == pytest.approx(ba.p_value)
    assert isinstance(ab, DeLongTest) and ab.low < ab.diff < ab.high


# ---- invariances -----------------------------------------------------------------------


def test_shuffle_relabel_and_monotone_invariance(binary):
    d = binary[binary.dataset == "ties"]
    y, p = d.y.to_numpy(), d.p1.to_numpy()
    base = auc_ci(y, p)
    perm = np.random.default_rng(0).permutation(y.size)
    flipped = auc_ci(1 - y, 1 - p)
    for other in (auc_ci(y[perm], p[perm]), flipped, auc_ci(y, p**3)):
        # rtol=1e-13: the same numbers summed in another order
        np.testing.assert_allclose([other.auc, other.se], [base.auc, base.se], rtol=1e-13)
    assert flipped.n_events == base.n - base.n_events


@given(st.lists(st.tuples(st.integers(0, 1), st.integers(0, 8)), min_size=4, max_size=40))
def test_auc_equals_mann_whitney_count(rows):
    y = np.array([r[0] for r in rows])
    p = np.array([r[1] for r in rows]) / 8
    if y.min() == y.max():
        return
    x, z = p[y == 1], p[y == 0]
    expected = ((x[:, None] > z).sum() + 0.5 * (x[:, None] == z).sum()) / (x.size * z.size)
    with pytest.warns(StatisticalWarning) if min(x.size, z.size) < 10 else nullcontext():
        assert auc_score(y, p) == pytest.approx(expected, abs=1e-14)


# ---- multi-class -----------------------------------------------------------------------


def _multiclass_data(n=300, seed=5):
    rng = np.random.default_rng(seed)
    logits = rng.normal(size=(n, 3)) + np.array([0.5, 0.0, -0.3])
    P = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    y = np.array([rng.choice(3, p=row) for row in P])
    return y, np.round(P, 3) / np.round(P, 3).sum(axis=1, keepdims=True)


def test_multiclass_ovr_matches_sklearn():
    y, P = _multiclass_data()
    names = np.array(["none", "some", "full"])
    res = multiclass_auc_ovr(names[y], P, ["none", "some", "full"])
    for avg, got in (("macro", res.macro), ("weighted", res.weighted)):
        # rtol=1e-12: the same rank statistic per class, averaged the same way
        np.testing.assert_allclose(
            got, roc_auc_score(y, P, multi_class="ovr", average=avg), rtol=1e-12
        )
    per = [roc_auc_score(y == k, P[:, k]) for k in range(3)]
    np.testing.assert_allclose(res.per_class, per, rtol=1e-12)
    assert res.as_dict().keys() == {"none", "some", "full"}
    assert res.counts == tuple(np.bincount(y))


def test_multiclass_column_order_follows_classes():
    y, P = _multiclass_data()
    a = multiclass_auc_ovr(y, P, [0, 1, 2])
    b = multiclass_auc_ovr(y, P[:, [2, 0, 1]], [2, 0, 1])
    assert a.as_dict() == pytest.approx(b.as_dict(), rel=1e-14)
    df = pd.DataFrame(P, columns=["a", "b", "c"])
    assert multiclass_auc_ovr(pd.Series(y), df, np.array([0, 1, 2])).macro == a.macro


def test_multiclass_errors():
    y, P = _multiclass_data(n=60)
    with pytest.raises(ValueError, match=r"1 label\(s\) not in classes .*'other'"):
        multiclass_auc_ovr(np.append(y[:-1].astype(object), "other"), P, [0, 1, 2])
    with pytest.raises(ValueError, match=r"never occur"):
        multiclass_auc_ovr(np.zeros(60, int) + (np.arange(60) % 2), P, [0, 1, 2])
    with pytest.raises(
        ValueError,
        match=r"must sum to 1 \(class probabilities\); "
        r"1 row\(s\) do not \(0-based row 0",
    ):
        bad = P.copy()
        bad[0] = [0.5, 0.5, 0.5]
        multiclass_auc_ovr(y, bad, [0, 1, 2])
    with pytest.raises(ValueError, match=r"shape \(n, 3\)"):
        multiclass_auc_ovr(y, P[:, :2], [0, 1, 2])
    with pytest.raises(ValueError, match=r"at least 2 distinct"):
        multiclass_auc_ovr(y, P, [0, 0, 1])
    with pytest.raises(TypeError, match=r"classes must be a sequence"):
        multiclass_auc_ovr(y, P, "abc")
    with pytest.raises(TypeError, match=r"numeric array"):
        multiclass_auc_ovr(y, P.astype(str), [0, 1, 2])
    with pytest.raises(ValueError, match=r"1 missing value\(s\)"):
        multiclass_auc_ovr(pd.Series(np.r_[y[:-1], np.nan]), P, [0, 1, 2])
    with pytest.raises(ValueError, match=r"lengths differ"):
        multiclass_auc_ovr(y[:-1], P, [0, 1, 2])
    with pytest.warns(StatisticalWarning, match=r"smallest class has 2 rows"):
        yy = np.r_[np.zeros(29, int), np.ones(29, int), 2, 2]
        multiclass_auc_ovr(yy, P, [0, 1, 2])


# ---- errors and warnings ---------------------------------------------------------------


def test_auc_ci_warns_below_ten_events():
    y = np.r_[np.ones(6), np.zeros(40)]
    p = np.linspace(0.05, 0.95, 46)
    with pytest.warns(StatisticalWarning, match=r"only 6 events \(y == 1\) among 46 rows"):
        res = auc_ci(y, p)
    assert isinstance(res, AUCResult)


def test_delong_test_errors(binary):
    d = binary[binary.dataset == "main"]
    with pytest.raises(ValueError, match=r"lengths differ: y has 500, p1 has 500, p2 has 499"):
        delong_test(d.y, d.p1, d.p2.iloc[:-1])
    with pytest.raises(ValueError, match=r"p2 must be predicted probabilities"):
        delong_test(d.y, d.p1, d.p2 * 100)
    with pytest.raises(ValueError, match=r"single class"):
        delong_test(np.zeros(500), d.p1, d.p2)
    with (
        pytest.raises(ValueError, match=r"at least 2 events"),
        pytest.warns(StatisticalWarning),
    ):
        delong_test(np.r_[1, np.zeros(20)], np.linspace(0, 1, 21), np.linspace(0, 1, 21))
    with pytest.raises(ValueError, match=r"level must be in \(0, 1\)"):
        delong_test(d.y, d.p1, d.p2, level=95)
    with pytest.raises(TypeError, match=r"level must be a number"):
        auc_ci(d.y, d.p1, level="0.95")
