"""The shared option declarations (prom.options): what each allows and how it says no."""

import numpy as np
import pytest

from prom.options import (
    CALIBRATION,
    N_JOBS,
    RECALIBRATION,
    SEED,
    Count,
    Probability,
    check_option,
)


def test_allowed_values_pass_through_normalised():
    assert check_option("recalibrate", "intercept", RECALIBRATION) == "intercept"
    assert check_option("calibration", "auto", CALIBRATION) == "auto"
    assert check_option("random_state", None, SEED) is None
    seed = check_option("random_state", np.int64(7), SEED)
    assert seed == 7 and type(seed) is int
    assert check_option("n_jobs", -1, N_JOBS) == -1
    assert check_option("n_boot", 10, Count(10)) == 10
    assert check_option("level", 0.95, Probability()) == 0.95


@pytest.mark.parametrize(
    ("name", "value", "constraint", "error", "match"),
    [
        (
            "recalibrate",
            "slope",
            RECALIBRATION,
            ValueError,
            r"recalibrate='slope'; expected 'none', 'intercept' or 'intercept_slope'",
        ),
        ("recalibrate", None, RECALIBRATION, ValueError, r"recalibrate=None; expected"),
        (
            "random_state",
            "seed",
            SEED,
            TypeError,
            r"random_state must be an integer seed or None; got 'seed'\.",
        ),
        ("random_state", True, SEED, TypeError, r"random_state must be an integer seed"),
        ("random_state", -1, SEED, ValueError, r"random_state must be >= 0; got -1\."),
        ("n_jobs", 1.5, N_JOBS, TypeError, r"n_jobs must be an integer \(1, 2, …, or -1"),
        ("n_jobs", 0, N_JOBS, ValueError, r"n_jobs must be a positive integer or -1"),
        ("n_jobs", -2, N_JOBS, ValueError, r"got -2\."),
        ("n_boot", 3, Count(10), ValueError, r"n_boot must be >= 10; got 3\."),
        ("n_boot", 10.0, Count(10), TypeError, r"n_boot must be an integer >= 10; got 10\.0\."),
        ("level", 1.0, Probability(), ValueError, r"level must be strictly between 0 and 1"),
        ("level", "0.9", Probability(), TypeError, r"level must be a number between 0 and 1"),
    ],
)
def test_refusals_name_the_option_the_value_and_what_was_expected(
    name, value, constraint, error, match
):
    with pytest.raises(error, match=match):
        check_option(name, value, constraint)
