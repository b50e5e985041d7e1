"""One declaration of each shared option's allowed values, and one check for all of them.

Several parts of the toolkit take the same options — a random seed, a number of worker
processes, a recalibration method — and each used to check them with its own words. As
scikit-learn declares an estimator's ``_parameter_constraints`` and checks them in one
place, each such option is declared here once, as a constraint that knows what it allows
and how to say so, and :func:`check_option` checks a value against it::

    from prom.options import RECALIBRATION, SEED, check_option

    check_option("recalibrate", "intercept", RECALIBRATION)    # -> "intercept"
    check_option("random_state", -1, SEED)
    # ValueError: random_state must be >= 0; got -1.

A wrong type raises :class:`TypeError`, a value of the right type outside what is allowed
:class:`ValueError`; both name the option, the value seen and what was expected.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from numbers import Integral, Real
from typing import Any

__all__ = [
    "Choice",
    "Seed",
    "Jobs",
    "Count",
    "Probability",
    "Folds",
    "check_option",
    "SEED",
    "N_JOBS",
    "CALIBRATION",
    "RECALIBRATION",
    "RECALIBRATION_METHOD",
    "EXPLAIN_METHOD",
    "REASONS_METHOD",
    "FOLDS",
]


def _is_int(value: Any) -> bool:
    return isinstance(value, Integral) and not isinstance(value, bool)


def _or_list(items: Sequence[str]) -> str:
    """``'a'``, ``'a' or 'b'``, ``'a', 'b' or 'c'``."""
    quoted = [repr(v) for v in items]
    return quoted[0] if len(quoted) == 1 else ", ".join(quoted[:-1]) + " or " + quoted[-1]


@dataclass(frozen=True)
class Choice:
    """One of a fixed set of strings."""

    values: tuple[str, ...]

    def check(self, name: str, value: Any) -> str:
        if not isinstance(value, str) or value not in self.values:
            raise ValueError(f"{name}={value!r}; expected {_or_list(self.values)}")
        return value


@dataclass(frozen=True)
class Seed:
    """A random seed: a non-negative integer, or ``None`` for a fresh one."""

    def check(self, name: str, value: Any) -> int | None:
        if value is None:
            return None
        if not _is_int(value):
            raise TypeError(f"{name} must be an integer seed or None; got {value!r}.")
        if value < 0:
            raise ValueError(f"{name} must be >= 0; got {value}.")
        return int(value)


@dataclass(frozen=True)
class Jobs:
    """A number of worker processes: a positive integer, or -1 for every core."""

    def check(self, name: str, value: Any) -> int:
        if not _is_int(value):
            raise TypeError(
                f"{name} must be an integer (1, 2, …, or -1 for all cores); got {value!r}."
            )
        if value == 0 or value < -1:
            raise ValueError(f"{name} must be a positive integer or -1 (all cores); got {value}.")
        return int(value)


@dataclass(frozen=True)
class Count:
    """An integer of at least ``low`` (a number of folds, replicates, iterations)."""

    low: int = 1

    def check(self, name: str, value: Any) -> int:
        if not _is_int(value):
            raise TypeError(f"{name} must be an integer >= {self.low}; got {value!r}.")
        if value < self.low:
            raise ValueError(f"{name} must be >= {self.low}; got {value}.")
        return int(value)


@dataclass(frozen=True)
class Probability:
    """A real number strictly between 0 and 1 (a confidence level, a threshold)."""

    def check(self, name: str, value: Any) -> float:
        if isinstance(value, bool) or not isinstance(value, Real):
            raise TypeError(f"{name} must be a number between 0 and 1; got {value!r}.")
        if not 0 < float(value) < 1:
            raise ValueError(f"{name} must be strictly between 0 and 1; got {value}.")
        return float(value)


@dataclass(frozen=True)
class Folds:
    """A number of cross-validation folds: an integer of at least 2."""

    def check(self, name: str, value: Any) -> int:
        if not _is_int(value):
            raise TypeError(f"{name} must be an integer number of folds (>= 2); got {value!r}.")
        if value < 2:
            raise ValueError(f"{name}={value}: a cross-validation needs at least 2 folds.")
        return int(value)


#: Random seeds (``random_state``) everywhere in the toolkit.
SEED = Seed()
#: Worker processes (``n_jobs``) of resampling and fitting.
N_JOBS = Jobs()
#: How a classifier calibrates its probabilities (:class:`prom.models.PromClassifier`).
CALIBRATION = Choice(("auto", "none", "platt", "isotonic"))
#: Recalibration of a bundle on new data (``prom evaluate --recalibrate``).
RECALIBRATION = Choice(("none", "intercept", "intercept_slope"))
#: Recalibration of one fitted model (:func:`prom.models.calibration.recalibrate`).
RECALIBRATION_METHOD = Choice(("intercept", "intercept_slope"))
#: How row explanations are computed (:func:`prom.explain.explain_rows`).
EXPLAIN_METHOD = Choice(("native", "shap", "approx"))
#: How the bulk scorer computes its reasons (``prom score --reasons-method``).
REASONS_METHOD = Choice(("exact", "approx"))
#: Folds of a cross-validation (``inner_cv`` of the model layer's estimators).
FOLDS = Folds()


def check_option(
    name: str, value: Any, constraint: Choice | Seed | Jobs | Count | Probability | Folds
) -> Any:
    """``value`` checked against ``constraint`` (and normalised: ``numpy.int64(3)`` -> ``3``).

    Raises :class:`TypeError` for a value of the wrong type and :class:`ValueError` for one
    outside what the constraint allows, naming ``name``, the value and what was expected.
    """
    return constraint.check(name, value)
