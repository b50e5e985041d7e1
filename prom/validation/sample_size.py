"""Minimum sample size for developing a prediction model of a binary outcome.

The three criteria of Riley et al. (Stat Med 2019; 38:1276, "Part II: binary and
time-to-event outcomes"; BMJ 2020; 368:m441, "Calculating the sample size required for
developing a clinical prediction model"), as implemented by the authors' ``pmsampsize``:

(i)   expected uniform shrinkage of the predictor effects ``S >= 0.9``:
      ``n = p / ((S - 1) ln(1 - R2_cs / S))``;
(ii)  a small optimism in Nagelkerke's R² (apparent - adjusted ``<= delta = 0.05``):
      criterion (i) with ``S = R2_cs / (R2_cs + delta * max(R2_cs))``, where
      ``max(R2_cs) = 1 - (phi^phi (1 - phi)^(1 - phi))^2`` for outcome proportion ``phi``;
(iii) the overall risk estimated within ``±0.05`` (95% confidence):
      ``n = (1.96 / 0.05)^2 phi (1 - phi)``.

``p`` counts candidate predictor *parameters* (a 4-category predictor is 3, a spline
with 4 knots is 3), not variables, and includes every candidate considered, not only
those kept. ``R2_cs`` is the anticipated Cox–Snell R² of the model (adjusted, i.e. what
it achieves in new data); take it from an existing model for the same outcome, or give
a C-statistic (:func:`r2_cs_from_c_statistic`) or a Nagelkerke R²; Riley et al. suggest a
Nagelkerke R² of 0.15 when nothing is known. Each n is rounded up, as in ``pmsampsize``.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from numbers import Real

import numpy as np
import pandas as pd
from scipy import integrate, optimize
from scipy.special import log_expit, ndtri

from prom.errors import StatisticalWarning
from prom.validation import _checks

__all__ = [
    "SampleSize",
    "SampleSizeCheck",
    "max_r2_cs",
    "r2_cs_from_c_statistic",
    "minimum_sample_size",
    "check_sample_size",
]

_CRITERIA = ("shrinkage", "optimism", "overall risk")


def _real(value, name: str, low: float, high: float, *, closed_low=False, closed_high=False):
    if isinstance(value, bool) or not isinstance(value, Real):
        raise TypeError(f"{name} must be a number; got {value!r}.")
    v = float(value)
    ok_low = v >= low if closed_low else v > low
    ok_high = v <= high if closed_high else v < high
    if not (math.isfinite(v) and ok_low and ok_high):
        lo, hi = ("[" if closed_low else "("), ("]" if closed_high else ")")
        raise ValueError(f"{name} must be in {lo}{low:g}, {high:g}{hi}; got {value!r}.")
    return v


def max_r2_cs(prevalence: float) -> float:
    """Largest Cox–Snell R² possible for outcome proportion ``prevalence``:
    ``1 - (phi^phi (1 - phi)^(1 - phi))^2`` (Riley et al. 2019, eq. 23 of Part II)."""
    phi = _real(prevalence, "prevalence", 0, 1)
    return float(1 - math.exp(2 * (phi * math.log(phi) + (1 - phi) * math.log(1 - phi))))


def r2_cs_from_c_statistic(c_statistic: float, prevalence: float) -> float:
    """Cox–Snell R² implied by a C-statistic and an outcome proportion.

    Riley et al.'s approximation (Stat Med 2021; 40:859, "A note on estimating the
    Cox-Snell R² from a reported C statistic"): the linear predictor is normal with unit
    variance in events and in non-events, its means ``sqrt(2) Phi^-1(C)`` apart (which
    gives that C), and R²_cs is that of the correctly specified logistic model of the
    outcome on it. The authors (and ``pmsampsize``) simulate one million patients and fit
    the model; here the same quantity is computed exactly, as the large-sample limit
    ``R²_cs = 1 - exp(-2 I)`` with ``I`` the expected log-likelihood ratio per patient
    (the mutual information between outcome and linear predictor), by numerical
    integration. The two agree to within the simulation's noise (about ±0.001).
    """
    c = _real(c_statistic, "c_statistic", 0.5, 1)
    phi = _real(prevalence, "prevalence", 0, 1)
    mu = math.sqrt(2) * float(ndtri(c))
    b0 = math.log(phi / (1 - phi)) - mu * mu / 2  # true logit: b0 + mu * x

    def part(mean, sign, weight):
        # E over x ~ N(mean, 1) of log P(y | x) - log P(y), y = 1 (sign 1) or 0 (sign -1)
        def f(x):
            return (
                math.exp(-0.5 * (x - mean) ** 2)
                / math.sqrt(2 * math.pi)
                * (float(log_expit(sign * (b0 + mu * x))) - math.log(weight))
            )

        val, _ = integrate.quad(f, mean - 40, mean + 40, epsabs=1e-13, epsrel=1e-12, limit=200)
        return weight * val

    info = part(mu, 1, phi) + part(0.0, -1, 1 - phi)
    return float(-math.expm1(-2 * info))


def _criterion_n(p: int, r2: float, s: float) -> float:
    return p / ((s - 1) * math.log(1 - r2 / s))


@dataclass(frozen=True)
class SampleSize:
    """Minimum sample size for a binary-outcome prediction model (Riley et al.).

    ``n_shrinkage``, ``n_optimism``, ``n_overall_risk``: the n each criterion requires;
    ``n_required`` the largest, set by ``binding``; ``events_required`` =
    ``ceil(n_required * prevalence)``; ``events_per_parameter`` =
    ``n_required * prevalence / n_parameters`` (as ``pmsampsize``'s EPP).
    ``shrinkage_optimism`` is the shrinkage that criterion (ii) implies, and
    ``shrinkage_required`` the larger of it and ``shrinkage``.
    """

    n_parameters: int
    prevalence: float
    r2_cs: float
    max_r2_cs: float
    r2_nagelkerke: float
    shrinkage: float
    delta: float
    margin: float
    n_shrinkage: int
    n_optimism: int
    n_overall_risk: int
    shrinkage_optimism: float
    n_required: int
    binding: str
    events_required: int
    events_per_parameter: float
    c_statistic: float | None = None

    @property
    def shrinkage_required(self) -> float:
        return max(self.shrinkage, self.shrinkage_optimism)

    def to_frame(self) -> pd.DataFrame:
        """One row per criterion: required n, events and events per parameter."""
        ns = (self.n_shrinkage, self.n_optimism, self.n_overall_risk)
        return pd.DataFrame(
            {
                "criterion": [
                    f"(i) shrinkage >= {self.shrinkage:g}",
                    f"(ii) optimism in Nagelkerke R2 <= {self.delta:g}",
                    f"(iii) overall risk within ±{self.margin:g}",
                ],
                "n": ns,
                "events": [math.ceil(n * self.prevalence) for n in ns],
                "events_per_parameter": [n * self.prevalence / self.n_parameters for n in ns],
                "binding": [c == self.binding for c in _CRITERIA],
            }
        )

    def statement(self) -> str:
        return (
            f"At least {self.n_required:,} patients ({self.events_required:,} events, "
            f"{self.events_per_parameter:.1f} per candidate predictor parameter) are needed "
            f"to develop a model with {self.n_parameters} candidate predictor parameters for "
            f"an outcome in {100 * self.prevalence:.1f}% of patients with an anticipated "
            f"Cox-Snell R2 of {self.r2_cs:.3f}; the binding criterion is "
            f"{_describe(self, self.binding)} (Riley et al., BMJ 2020; 368:m441)."
        )


def _describe(res: SampleSize, criterion: str) -> str:
    return {
        "shrinkage": f"shrinkage >= {res.shrinkage:g}",
        "optimism": f"optimism in Nagelkerke R2 <= {res.delta:g}",
        "overall risk": f"overall risk within ±{res.margin:g}",
    }[criterion]


def _anticipated_r2(prevalence, r2_cs, r2_nagelkerke, c_statistic) -> tuple[float, float | None]:
    given = [
        k
        for k, v in (
            ("r2_cs", r2_cs),
            ("r2_nagelkerke", r2_nagelkerke),
            ("c_statistic", c_statistic),
        )
        if v is not None
    ]
    if len(given) != 1:
        raise ValueError(
            "give exactly one of r2_cs, r2_nagelkerke or c_statistic (the anticipated "
            f"performance); got {', '.join(given) if given else 'none'}. With no information, "
            "Riley et al. suggest r2_nagelkerke=0.15."
        )
    mx = max_r2_cs(prevalence)
    if r2_cs is not None:
        r2 = _real(r2_cs, "r2_cs", 0, 1)
        if r2 >= mx:
            raise ValueError(
                f"r2_cs={r2:g} is not below the largest Cox-Snell R2 possible for prevalence "
                f"{prevalence:g} ({mx:.4f}); is it a Nagelkerke R2? pass r2_nagelkerke= instead."
            )
        return r2, None
    if r2_nagelkerke is not None:
        return _real(r2_nagelkerke, "r2_nagelkerke", 0, 1) * mx, None
    c = _real(c_statistic, "c_statistic", 0.5, 1)
    return r2_cs_from_c_statistic(c, prevalence), c


def minimum_sample_size(
    n_parameters: int,
    prevalence: float,
    *,
    r2_cs: float | None = None,
    r2_nagelkerke: float | None = None,
    c_statistic: float | None = None,
    shrinkage: float = 0.9,
    delta: float = 0.05,
    margin: float = 0.05,
) -> SampleSize:
    """Riley et al.'s minimum sample size to develop a binary-outcome prediction model.

    Parameters
    ----------
    n_parameters : number of candidate predictor parameters (not variables).
    prevalence : anticipated proportion of patients with the outcome, in (0, 1).
    r2_cs, r2_nagelkerke, c_statistic : the anticipated performance; exactly one.
        ``r2_nagelkerke`` is converted with ``r2_cs = r2_nagelkerke * max_r2_cs``,
        ``c_statistic`` with :func:`r2_cs_from_c_statistic`.
    shrinkage : target expected shrinkage for criterion (i) (0.9).
    delta : largest acceptable optimism in Nagelkerke's R² for criterion (ii) (0.05).
    margin : margin of error of the overall risk for criterion (iii) (0.05; 95%).

    ``pmsampsize`` rounds an R² derived from a C-statistic to 4 decimals (and from a
    Nagelkerke R² to 3) before using it; no rounding is done here, so the required n
    may differ from it by one or two patients for those inputs.
    """
    p = _checks.int_arg(n_parameters, "n_parameters", 1)
    phi = _real(prevalence, "prevalence", 0, 1)
    s = _real(shrinkage, "shrinkage", 0, 1)
    delta = _real(delta, "delta", 0, 1)
    margin = _real(margin, "margin", 0, 0.5)
    r2, c = _anticipated_r2(phi, r2_cs, r2_nagelkerke, c_statistic)
    mx = max_r2_cs(phi)
    if s <= r2:
        raise ValueError(f"shrinkage={s:g} must exceed the anticipated Cox-Snell R2 ({r2:.4f}).")
    n1 = math.ceil(_criterion_n(p, r2, s))
    s_vh = r2 / (r2 + delta * mx)
    n2 = math.ceil(_criterion_n(p, r2, s_vh))
    n3 = math.ceil((1.96 / margin) ** 2 * phi * (1 - phi))
    ns = (n1, n2, n3)
    n = max(ns)
    return SampleSize(
        n_parameters=p,
        prevalence=phi,
        r2_cs=r2,
        max_r2_cs=mx,
        r2_nagelkerke=r2 / mx,
        shrinkage=s,
        delta=delta,
        margin=margin,
        n_shrinkage=n1,
        n_optimism=n2,
        n_overall_risk=n3,
        shrinkage_optimism=s_vh,
        n_required=n,
        binding=_CRITERIA[ns.index(n)],
        events_required=math.ceil(n * phi),
        events_per_parameter=n * phi / p,
        c_statistic=c,
    )


@dataclass(frozen=True)
class SampleSizeCheck:
    """A data set's size against Riley et al.'s criteria.

    ``required``: :class:`SampleSize` at the data set's own outcome proportion.
    ``expected_shrinkage``: the ``S`` solving ``n = p / ((S - 1) ln(1 - R2_cs / S))`` at
    the actual n (van Houwelingen's heuristic shrinkage behind criterion (i));
    ``expected_optimism_r2``: ``R2_cs (1/S - 1) / max_R2_cs``, the expected optimism in
    Nagelkerke's R² (criterion (ii)); ``margin_of_error``: ``1.96 sqrt(phi (1 - phi) /
    n)`` (criterion (iii)). ``shortfalls``: one sentence per criterion not met;
    ``adequate`` when there are none.
    """

    n: int
    n_events: int
    required: SampleSize
    events_per_parameter: float
    expected_shrinkage: float
    expected_optimism_r2: float
    margin_of_error: float
    shortfalls: tuple[str, ...]
    statement: str
    events_label: str = "events"

    @property
    def adequate(self) -> bool:
        return not self.shortfalls


def _short_of(value: float, target: float, digits: int) -> str:
    """``value`` (below ``target``) with ``digits`` decimals, or as many more as it takes
    not to print the target itself (an expected shrinkage of 0.8996 against 0.9: ``0.8996``,
    not ``0.90``)."""
    while digits < 6 and round(value, digits) >= target:
        digits += 1
    return f"{value:.{digits}f}"


def _shrinkage_at(n: int, p: int, r2: float) -> float:
    target = p / n
    # (S - 1) ln(1 - R2/S) falls from +inf at S = R2 to 0 at S = 1
    f = lambda s: (s - 1) * math.log(1 - r2 / s) - target  # noqa: E731
    lo = r2 * (1 + 1e-15) + 1e-300
    if f(lo) <= 0:
        return lo
    return float(optimize.brentq(f, lo, 1.0, xtol=1e-14, rtol=4 * np.finfo(float).eps))


def check_sample_size(
    n: int,
    n_events: int,
    n_parameters: int,
    *,
    r2_cs: float | None = None,
    r2_nagelkerke: float | None = None,
    c_statistic: float | None = None,
    shrinkage: float = 0.9,
    delta: float = 0.05,
    margin: float = 0.05,
    events_label: str = "events",
) -> SampleSizeCheck:
    """Is a data set of ``n`` rows with ``n_events`` events large enough for a model with
    ``n_parameters`` candidate predictor parameters? (Riley et al. 2019, 2020.)

    The requirement is computed at the data's own outcome proportion ``n_events / n``.
    The criteria are the same for either outcome class; a caller counting the smaller
    class as ``n_events`` (events per parameter in Peduzzi's sense) says so with
    ``events_label`` (e.g. ``"events of the smaller class"``), which words the statement.
    Returns a :class:`SampleSizeCheck` with a plain-language ``statement``, and issues a
    :class:`~prom.errors.StatisticalWarning` naming what is short, e.g. "n = 300 is below
    the 1,022 needed for shrinkage >= 0.9 (expected shrinkage 0.78); 4.2 events per
    candidate predictor parameter".
    """
    n = _checks.int_arg(n, "n", 2)
    n_events = _checks.int_arg(n_events, "n_events", 0)
    if n_events == 0 or n_events >= n:
        raise ValueError(
            f"n_events must be between 1 and n - 1 = {n - 1} (both outcomes must "
            f"occur); got {n_events}."
        )
    req = minimum_sample_size(
        n_parameters,
        n_events / n,
        r2_cs=r2_cs,
        r2_nagelkerke=r2_nagelkerke,
        c_statistic=c_statistic,
        shrinkage=shrinkage,
        delta=delta,
        margin=margin,
    )
    p, r2, phi = req.n_parameters, req.r2_cs, req.prevalence
    s_n = _shrinkage_at(n, p, r2)
    opt = r2 * (1 / s_n - 1) / req.max_r2_cs
    moe = 1.96 * math.sqrt(phi * (1 - phi) / n)
    epp = n_events / p
    short = []
    if n < req.n_shrinkage:
        short.append(
            f"n = {n:,} is below the {req.n_shrinkage:,} needed for shrinkage >= "
            f"{req.shrinkage:g} (expected shrinkage {_short_of(s_n, req.shrinkage, 2)})"
        )
    if n < req.n_optimism:
        short.append(
            f"n = {n:,} is below the {req.n_optimism:,} needed for an optimism in "
            f"Nagelkerke R2 <= {req.delta:g} (expected {_short_of(-opt, -req.delta, 3)[1:]})"
        )
    if n < req.n_overall_risk:
        short.append(
            f"n = {n:,} is below the {req.n_overall_risk:,} needed to estimate the "
            f"overall risk within ±{req.margin:g} (margin {moe:.3f})"
        )
    head = (
        f"n = {n:,} with {n_events:,} {events_label} ({epp:.1f} per "
        f"candidate predictor parameter, {p} parameters, anticipated Cox-Snell R2 {r2:.3f})"
    )
    if short:
        statement = (
            f"{head} is too small: " + "; ".join(short) + f". At least "
            f"{req.n_required:,} patients ({req.events_required:,} {events_label}) are "
            "needed (Riley et al., BMJ 2020; 368:m441); reduce the candidate "
            "predictor parameters, use penalised estimation with care, or collect "
            "more data."
        )
        warnings.warn(
            "; ".join(short) + f"; {epp:.1f} {events_label} per candidate predictor parameter.",
            StatisticalWarning,
            stacklevel=2,
        )
    else:
        statement = (
            f"{head} meets Riley et al.'s three criteria (minimum {req.n_required:,}; "
            f"expected shrinkage {s_n:.2f}, optimism in Nagelkerke R2 {opt:.3f}, "
            f"margin of error of the overall risk {moe:.3f})."
        )
    return SampleSizeCheck(
        n=n,
        n_events=n_events,
        required=req,
        events_per_parameter=epp,
        expected_shrinkage=s_n,
        expected_optimism_r2=opt,
        margin_of_error=moe,
        shortfalls=tuple(short),
        statement=statement,
        events_label=events_label,
    )
