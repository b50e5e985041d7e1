"""Riley et al.'s minimum sample size for a binary-outcome prediction model.

References
----------
* The binary-outcome worked example of Riley et al., BMJ 2020; 368:m441, which is also the
  first example in the help of the authors' ``pmsampsize`` (R and Python): 24 candidate
  predictor parameters, outcome proportion 0.174, anticipated Cox-Snell R² 0.288 give
  n = 623 (criterion i, shrinkage 0.9), 662 (criterion ii, shrinkage 0.905), 221
  (criterion iii); minimum 662 with 116 events, 4.8 events per parameter. These numbers
  are recalled from the paper and the package help; they are confirmed by running
  pmsampsize 0.1.0 (tests/reference/validation/sample_size_ref.csv, first row) and by the
  closed-form formulas recomputed independently in ``test_closed_forms_by_hand``.
* tests/reference/validation/sample_size_ref.csv and cstat_ref.csv: pmsampsize 0.1.0
  (Whittle & Ensor, PyPI), made by make_sample_size_reference.py.
"""

from __future__ import annotations

import math
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from prom.errors import StatisticalWarning
from prom.validation.sample_size import (
    SampleSize,
    check_sample_size,
    max_r2_cs,
    minimum_sample_size,
    r2_cs_from_c_statistic,
)

REF = Path(__file__).parent / "reference" / "validation"


def test_riley_bmj_2020_binary_example():
    """Riley et al. BMJ 2020 / pmsampsize help example: 623, 662, 221 -> 662, EPP 4.8."""
    r = minimum_sample_size(24, 0.174, r2_cs=0.288)
    assert isinstance(r, SampleSize)
    assert (r.n_shrinkage, r.n_optimism, r.n_overall_risk) == (623, 662, 221)
    assert (r.n_required, r.binding, r.events_required) == (662, "optimism", 116)
    assert round(r.events_per_parameter, 1) == 4.8
    assert round(r.shrinkage_optimism, 3) == 0.905
    # published to 3 decimals: max R2_cs 0.603, Nagelkerke R2 0.477
    assert (round(r.max_r2_cs, 3), round(r.r2_nagelkerke, 3)) == (0.603, 0.477)
    frame = r.to_frame()
    assert frame["n"].tolist() == [623, 662, 221]
    assert frame["binding"].tolist() == [False, True, False]
    assert "662 patients" in r.statement() and "116 events" in r.statement()


def test_closed_forms_by_hand():
    """The three criteria written out independently of the module (Riley 2019 eqs)."""
    p, phi, r2 = 24, 0.174, 0.288
    lnl_null = phi * math.log(phi) + (1 - phi) * math.log(1 - phi)
    mx = 1 - math.exp(2 * lnl_null)
    n1 = p / ((0.9 - 1) * math.log(1 - r2 / 0.9))
    s2 = r2 / (r2 + 0.05 * mx)
    n2 = p / ((s2 - 1) * math.log(1 - r2 / s2))
    n3 = (1.96 / 0.05) ** 2 * phi * (1 - phi)
    r = minimum_sample_size(p, phi, r2_cs=r2)
    assert (r.n_shrinkage, r.n_optimism, r.n_overall_risk) == tuple(
        math.ceil(v) for v in (n1, n2, n3)
    )
    # rtol=1e-14: the same closed forms, evaluated in a different order
    np.testing.assert_allclose([r.max_r2_cs, r.shrinkage_optimism], [mx, s2], rtol=1e-14)
    # phi = 0.5: 1 - (0.5^0.5 * 0.5^0.5)^2 = 1 - 0.25
    np.testing.assert_allclose(max_r2_cs(0.5), 0.75, rtol=1e-15)


def test_matches_pmsampsize_on_a_grid():
    """pmsampsize 0.1.0 pmsampsize(type = "b", csrsquared = ...) on 12 input sets."""
    ref = pd.read_csv(REF / "sample_size_ref.csv")
    assert len(ref) == 12
    for row in ref.itertuples():
        r = minimum_sample_size(int(row.parameters), row.prevalence, r2_cs=row.r2_cs)
        # integers after rounding up: exact
        assert (r.n_shrinkage, r.n_optimism, r.n_overall_risk, r.n_required) == (
            row.n1,
            row.n2,
            row.n3,
            row.n_final,
        ), row
        # rtol=1e-14: the same closed form, written out separately
        np.testing.assert_allclose(
            [r.max_r2_cs, r.r2_nagelkerke], [row.max_r2, row.nag_r2], rtol=1e-14
        )
        # pmsampsize rounds shrinkage to 3 and EPP to 2 decimals in its table
        assert abs(r.shrinkage_optimism - row.shrinkage_2) <= 5e-4 + 1e-12
        assert abs(r.events_per_parameter - row.epp) <= 5e-3 + 1e-12
        np.testing.assert_allclose(r.n_required * r.prevalence, row.events, rtol=1e-14)


def test_c_statistic_conversion_matches_pmsampsize_simulation():
    """pmsampsize's cstat2rsq simulates 10^6 patients (seed 123456); the exact integral
    here must agree within that simulation's noise. Its standard error is about 2e-4
    (checked with 10 independent 10^7-patient simulations during development), so the
    tolerance is atol = 1e-3, five standard errors."""
    ref = pd.read_csv(REF / "cstat_ref.csv")
    for row in ref.itertuples():
        np.testing.assert_allclose(
            r2_cs_from_c_statistic(row.c_statistic, row.prevalence), row.r2_cs_simulated, atol=1e-3
        )


def test_c_statistic_conversion_properties():
    # C = 0.5 carries no information; R2 grows with C; label symmetry (prevalence 1 - phi)
    assert r2_cs_from_c_statistic(0.5000001, 0.3) < 1e-9
    vals = [r2_cs_from_c_statistic(c, 0.2) for c in (0.6, 0.7, 0.8, 0.9)]
    assert np.all(np.diff(vals) > 0)
    # rtol=1e-9: two numerical integrations of the same mutual information
    np.testing.assert_allclose(
        r2_cs_from_c_statistic(0.77, 0.2), r2_cs_from_c_statistic(0.77, 0.8), rtol=1e-9
    )
    r = minimum_sample_size(24, 0.174, c_statistic=0.89)
    assert r.c_statistic == 0.89
    # pmsampsize (R² rounded to 0.2908 from its simulation) gives 615 / 660
    assert abs(r.n_shrinkage - 615) <= 2 and abs(r.n_optimism - 660) <= 2


def test_nagelkerke_input():
    r = minimum_sample_size(20, 0.2, r2_nagelkerke=0.15)
    np.testing.assert_allclose(r.r2_cs, 0.15 * max_r2_cs(0.2), rtol=1e-15)
    np.testing.assert_allclose(r.r2_nagelkerke, 0.15, rtol=1e-14)


def test_check_sample_size_short_warns_with_numbers():
    with pytest.warns(
        StatisticalWarning,
        match=r"n = 300 is below the 1,699 needed for shrinkage >= 0\.9 \(expected "
        r"shrinkage 0\.62\).*3\.0 events per candidate predictor parameter",
    ):
        c = check_sample_size(300, 60, 20, r2_cs=0.1)
    assert not c.adequate and len(c.shortfalls) == 2
    assert c.required.n_required == minimum_sample_size(20, 0.2, r2_cs=0.1).n_required == 1699
    assert "too small" in c.statement and "1,699 patients" in c.statement
    np.testing.assert_allclose(c.events_per_parameter, 3.0)
    np.testing.assert_allclose(c.margin_of_error, 1.96 * math.sqrt(0.2 * 0.8 / 300), rtol=1e-15)


def test_check_sample_size_adequate_is_silent():
    c = check_sample_size(3000, 600, 20, r2_cs=0.1)  # filterwarnings=error: no warning
    assert c.adequate and c.shortfalls == ()
    assert "meets Riley et al.'s three criteria" in c.statement


def test_expected_shrinkage_inverts_criterion_one():
    r = minimum_sample_size(20, 0.2, r2_cs=0.1)
    at = check_sample_size(r.n_shrinkage, round(0.2 * r.n_shrinkage), 20, r2_cs=0.1)
    assert at.expected_shrinkage >= 0.9 - 1e-12
    with pytest.warns(StatisticalWarning, match="shrinkage"):
        below = check_sample_size(
            r.n_shrinkage - 5, round(0.2 * (r.n_shrinkage - 5)), 20, r2_cs=0.1
        )
    assert below.expected_shrinkage < 0.9
    # just short of the target: printed with the digits that show it short, never "0.90"
    shown = re.search(r"\(expected shrinkage ([0-9.]+)\)", below.statement).group(1)
    assert float(shown) < 0.9 and abs(float(shown) - below.expected_shrinkage) < 1e-4
    # criterion (ii) at its own n: expected optimism in Nagelkerke R2 is at most delta
    r2 = minimum_sample_size(8, 0.5, r2_cs=0.4)
    with pytest.warns(StatisticalWarning, match="overall risk"):
        c = check_sample_size(r2.n_optimism, r2.n_optimism // 2, 8, r2_cs=0.4)
    assert c.expected_optimism_r2 <= 0.05 + 1e-12


@pytest.mark.parametrize(
    "kwargs, err, match",
    [
        (dict(), ValueError, "exactly one of r2_cs, r2_nagelkerke or c_statistic.*none"),
        (dict(r2_cs=0.1, c_statistic=0.7), ValueError, "got r2_cs, c_statistic"),
        (dict(r2_cs=0.7), ValueError, r"not below the largest Cox-Snell R2 .*0\.6324"),
        (dict(r2_cs="0.1"), TypeError, "r2_cs must be a number"),
        (dict(c_statistic=0.4), ValueError, r"c_statistic must be in \(0\.5, 1\)"),
        (dict(r2_nagelkerke=1.2), ValueError, "r2_nagelkerke must be in"),
        (dict(r2_cs=0.1, shrinkage=1.0), ValueError, "shrinkage must be in"),
        (dict(r2_cs=0.1, margin=0), ValueError, "margin must be in"),
    ],
)
def test_minimum_sample_size_errors(kwargs, err, match):
    with pytest.raises(err, match=match):
        minimum_sample_size(30, 0.2, **kwargs)


def test_argument_errors():
    with pytest.raises(ValueError, match="n_parameters must be >= 1; got 0"):
        minimum_sample_size(0, 0.2, r2_cs=0.1)
    with pytest.raises(TypeError, match="n_parameters must be an integer; got True"):
        minimum_sample_size(True, 0.2, r2_cs=0.1)
    with pytest.raises(ValueError, match=r"prevalence must be in \(0, 1\); got 1\.2"):
        minimum_sample_size(10, 1.2, r2_cs=0.1)
    with pytest.raises(ValueError, match=r"shrinkage=0\.05 must exceed the anticipated"):
        minimum_sample_size(10, 0.5, r2_cs=0.1, shrinkage=0.05)
    with pytest.raises(ValueError, match="n_events must be between 1 and n - 1 = 99"):
        check_sample_size(100, 100, 5, r2_cs=0.1)
    with pytest.raises(ValueError, match="n_events must be between 1 and n - 1"):
        check_sample_size(100, 0, 5, r2_cs=0.1)
    with pytest.raises(TypeError, match="n must be an integer"):
        check_sample_size(100.0, 10, 5, r2_cs=0.1)
    with pytest.raises(ValueError, match="prevalence must be in"):
        max_r2_cs(0.0)
