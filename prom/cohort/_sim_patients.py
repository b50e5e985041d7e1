"""Patients of the cohort simulator: who they are, and what their truth is computed from.

Region and demographics, history and the latent severity, and per-level MRI features
(sections 1, 2 and 4 of the data-generating process documented in
:mod:`prom.cohort.simulate`, with every coefficient used here), then the complete-data
predictors of the true outcome probabilities. Everything is vectorised over patients; each
function draws from the stream it is given, in a fixed order, so that a seed gives the
same cohort.
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
from scipy.special import expit

from prom.cohort import _sim_items as items_
from prom.cohort.imaging_reference import REFERENCE_FEATURES, load_imaging_reference

__all__ = ["patients", "imaging", "lumbar_predictors", "cervical_predictors"]

# --- published marginals (section 1 of prom.cohort.simulate's docstring) -------------------
P_CERVICAL = 0.12
SPOILS_MALE = 0.585
SPOILS_AGE_P = (0.025, 0.229, 0.261, 0.254, 0.231)  # 0–15, 16–30, 31–45, 46–60, >60
CERVICAL_MALE = 0.60

_INDEX_LEVEL_P = np.array(
    [  # l1_l2 … l5_s1, by lumbar diagnosis
        [0.01, 0.03, 0.07, 0.44, 0.45],
        [0.02, 0.08, 0.25, 0.58, 0.07],
        [0.01, 0.03, 0.10, 0.70, 0.16],
        [0.02, 0.05, 0.13, 0.40, 0.40],
    ]
)

# --- clinical canal effects on top of the measured reference (section 4), in mm --------------
CANAL_MALE_MM = 0.6
CANAL_PER_YEAR_MM = -0.05
CANAL_INDEX_MM = (-2.2, -5.0, -3.0, -0.5)  # at the index level: hern, sten, spondy, ddd
CANAL_NEXT_TO_STENOSIS_MM = -1.5


def patients(rng, n: int) -> SimpleNamespace:
    """Region, demographics and history of ``n`` patients (sections 1 and 2); ``rng`` maps
    each stage of the simulator to its own random stream."""
    P = SimpleNamespace()
    P.cervical = rng["region"].random(n) < P_CERVICAL
    rd = rng["demographics"]
    cerv = P.cervical
    P.male = np.where(cerv, rd.random(n) < CERVICAL_MALE, rd.random(n) < SPOILS_MALE)
    band = rd.choice(5, size=n, p=SPOILS_AGE_P)
    u = rd.random(n)
    lows = np.array([12.0, 16.0, 31.0, 46.0, 61.0])
    widths = np.array([4.0, 15.0, 15.0, 15.0, 0.0])
    age_l = np.where(band < 4, lows[band] + widths[band] * u, 61.0 + 30.0 * rd.beta(1.3, 2.6, n))
    age_c = np.clip(57.0 + 11.0 * rd.standard_normal(n), 30.0, 90.0)
    P.age = np.floor(100.0 * np.where(cerv, age_c, age_l)) / 100.0  # floor keeps the band
    _history(rng["history"], P)
    return P


def _history(rng, P) -> None:
    n, age, male, cerv = len(P.age), P.age, P.male.astype(float), P.cervical
    adol = (age < 18).astype(float)
    z = rng.standard_normal
    mu = (
        27.0
        + 0.06 * (np.minimum(age, 65.0) - 45.0)
        - 0.15 * np.maximum(25.0 - age, 0.0)
        + 0.4 * male
    )
    P.bmi = np.round(np.clip(mu * np.exp(0.16 * z(n) - 0.0128), 15.0, 60.0), 1)
    zeros = np.zeros(n)
    P.smoking = _categorical(
        rng,
        np.column_stack(
            [
                zeros,
                -1.3 + 0.3 * male + 0.03 * (age - 45.0) - 3.0 * adol,
                -0.9 + 0.3 * male - 0.02 * (age - 45.0) - 2.0 * adol,
            ]
        ),
    )
    cur = (P.smoking == 2).astype(float)
    P.diabetes = rng.random(n) < expit(
        -3.3 + 0.05 * (age - 50.0) + 0.09 * (P.bmi - 27.0) + 0.2 * male
    )
    P.dep = rng.random(n) < expit(-1.6 + 0.35 * (1.0 - male) + 0.4 * cur - 0.8 * adol)
    dx = _categorical(
        rng,
        np.column_stack(
            [
                zeros,
                -2.2 + 0.12 * (age - 45.0),
                -1.7 + 0.05 * (age - 45.0) + 0.5 * (1.0 - male),
                -1.0 + 0.01 * (age - 45.0),
            ]
        ),
    )
    P.dx = np.where(cerv, 4, dx)
    log_median = np.log(np.array([4.0, 18.0, 18.0, 24.0, 12.0]))[P.dx]
    P.duration = np.round(
        np.clip(np.exp(log_median + 0.005 * (age - 45.0) + 0.9 * z(n)), 0.1, 600.0), 1
    )
    P.prior = rng.random(n) < expit(
        -2.6 + 0.02 * (age - 45.0) + 0.5 * (P.dx == 3) + 0.3 * (P.dx == 2) - 1.5 * adol
    )
    dx_sev = np.array([0.15, 0.10, 0.0, -0.10, 0.0])[P.dx]
    ldur6 = np.log(P.duration / 6.0)
    P.severity = (
        0.30 * P.dep
        + 0.15 * cur
        + 0.10 * P.diabetes
        + 0.02 * (P.bmi - 27.0)
        + 0.12 * ldur6
        + dx_sev
        + 0.2 * P.prior
        + 0.9 * z(n)
    )
    P.opioid = rng.random(n) < expit(
        -1.7 + 0.8 * P.severity + 0.4 * P.dep + 0.3 * P.prior + 0.15 * ldur6 - 1.5 * adol
    )
    minus_inf = np.full(n, -np.inf)
    P.employment = _categorical(
        rng,
        np.column_stack(
            [
                zeros,
                -2.4 + 0.3 * cur + 0.3 * P.dep,
                np.where(age < 67, -1.6 + 0.7 * P.severity + 0.3 * P.dep, minus_inf),
                -8.0 + 0.35 * (age - 45.0),
                np.where(age < 18, 5.0, np.where(age < 30, -1.5 - 0.4 * (age - 18.0), minus_inf)),
            ]
        ),
    )
    a = (
        0.04 * (age - 50.0)
        + 0.08 * (P.bmi - 27.0)
        + 1.0 * P.diabetes
        + 0.3 * cur
        + 0.3 * P.dep
        + rng.logistic(size=n)
    )
    P.asa = 1 + (a > -0.6).astype(int) + (a > 1.9) + (a > 4.5)
    cum = np.cumsum(_INDEX_LEVEL_P[np.minimum(P.dx, 3)], axis=1)
    level = np.minimum((cum < rng.random(n)[:, None]).sum(1), 4)
    P.level = np.where(cerv, -1, level)


def imaging(rng, P, idx) -> SimpleNamespace:
    """Per-level MRI features of lumbar patients (NaN rows: no MRI)."""
    n = idx.size
    z = rng.standard_normal
    age, male, dx, level = P.age[idx], P.male[idx].astype(float), P.dx[idx], P.level[idx]
    j = np.arange(5)[None, :]
    at_index = j == level[:, None]
    d = (0.045 * (age - 45.0))[:, None] + 0.22 * (j - 2) + 0.6 * z((n, 1)) + 0.6 * z((n, 5))
    d = d + at_index * np.array([0.9, 0.4, 0.6, 1.1])[dx][:, None]
    pf = 1 + (d > -1.6).astype(int) + (d > -0.5) + (d > 0.6) + (d > 1.6)
    # the measured features: the reference table's joint model (level, grade, correlation
    # and patient share on the pipeline's scale), then the DGP's clinical canal effects
    measured = load_imaging_reference().model().draw(rng, pf.astype(float))
    drawn = {f: measured[:, :, k] for k, f in enumerate(REFERENCE_FEATURES)}
    neighbour = np.abs(j - level[:, None]) == 1
    canal = (
        drawn["canal_ap_mm"]
        + CANAL_MALE_MM * male[:, None]
        + CANAL_PER_YEAR_MM * (age - 45.0)[:, None]
        + at_index * np.array(CANAL_INDEX_MM)[dx][:, None]
        + neighbour * (dx == 1)[:, None] * CANAL_NEXT_TO_STENOSIS_MM
    )
    drawn["canal_ap_mm"] = canal
    feats = {f: _clip_to_contract(f, drawn[f]) for f in REFERENCE_FEATURES}
    canal = feats["canal_ap_mm"]
    feats["pfirrmann"] = pf.astype(float)
    rows = np.arange(n)
    truth = SimpleNamespace(
        canal_index=canal[rows, level].copy(), pfirrmann_index=pf[rows, level].astype(float)
    )
    no_mri = rng.random(n) < expit(-1.75 - 0.3 * P.severity[idx])
    for v in feats.values():
        v[no_mri] = np.nan
    truth.features, truth.no_mri = feats, no_mri
    return truth


def _clip_to_contract(feature: str, v: np.ndarray) -> np.ndarray:
    """``v`` clipped into the contract's range of ``feature`` (a drawn tail can pass it)."""
    from prom.cohort.contract import IMAGING_FEATURES

    lo, hi = next((lo, hi) for f, _, _, lo, hi, _ in IMAGING_FEATURES if f == feature)
    return np.clip(v, lo, hi)


def lumbar_predictors(P, L, img, idx) -> SimpleNamespace:
    """Complete-data predictors of the lumbar truth (scores from complete baseline items)."""
    dx, emp = P.dx[idx], P.employment[idx]
    return SimpleNamespace(
        odi0=2.0 * L.odi0.sum(1),
        back0=L.back0,
        leg0=L.leg0,
        comi0=items_.comi_score(L.back0, L.leg0, L.comi0),
        age=P.age[idx],
        bmi=P.bmi[idx],
        duration=P.duration[idx],
        severity=P.severity[idx],
        dep=P.dep[idx].astype(float),
        smoker=(P.smoking[idx] == 2).astype(float),
        opioid=P.opioid[idx].astype(float),
        prior=P.prior[idx].astype(float),
        diabetes=P.diabetes[idx].astype(float),
        hern=(dx == 0).astype(float),
        sten=(dx == 1).astype(float),
        spondy=(dx == 2).astype(float),
        ddd=(dx == 3).astype(float),
        sick_leave=(emp == 2).astype(float),
        unemployed=(emp == 1).astype(float),
        canal_index=img.canal_index,
        pfirrmann_index=img.pfirrmann_index,
    )


def cervical_predictors(P, C, idx, treatment) -> SimpleNamespace:
    """Predictors of the cervical truth (mJOA from complete baseline items)."""
    return SimpleNamespace(
        mjoa0=C.mjoa0.sum(1),
        surgery=(treatment[idx] == 2).astype(float),
        age=P.age[idx],
        duration=P.duration[idx],
        smoker=(P.smoking[idx] == 2).astype(float),
        dep=P.dep[idx].astype(float),
        diabetes=P.diabetes[idx].astype(float),
        bmi=P.bmi[idx],
    )


def _categorical(rng, eta: np.ndarray) -> np.ndarray:
    """Codes drawn from softmax(eta) row-wise; eta (n, K) may hold -inf."""
    e = np.exp(eta - eta.max(1, keepdims=True))
    cum = np.cumsum(e, axis=1)
    u = rng.random(len(eta)) * cum[:, -1]
    return np.minimum((cum < u[:, None]).sum(1), eta.shape[1] - 1)
