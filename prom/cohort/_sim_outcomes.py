"""Sites, treatment, true outcome probabilities, labels, survival and missingness.

Part of the cohort simulator; the data-generating process, with every coefficient used
here, is documented in :mod:`prom.cohort.simulate`. Functions take a namespace of
per-patient arrays (``x``) for one region sub-cohort and return arrays aligned with it.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import SimpleNamespace

import numpy as np
from scipy.special import expit, ndtri

from prom.naming import TIMEPOINTS

__all__ = [
    "Sites",
    "site_parameters",
    "assign_sites",
    "triage_probabilities",
    "cervical_surgery_probability",
    "lumbar_linear_predictors",
    "cervical_linear_predictor",
    "copula_labels",
    "surgery_conversion",
    "dropout",
    "masks",
    "grc",
    "TASK_INTERCEPTS",
    "TRIAGE_INTERCEPTS",
]

# Intercepts found once by fixed-point iteration (Newton steps on the mean true
# probability) on 1,500,000 simulated patients (seed 0, n_sites=6), so that the true
# prevalences and proportions hit the targets in prom.cohort.simulate's docstring. They
# are part of the documented DGP, not fitted at run time.
TASK_INTERCEPTS = {
    "mcid_odi_12m": 0.459,
    "mcid_nrs_back_12m": 0.457,
    "mcid_nrs_leg_12m": 0.854,
    "mcid_comi_12m": 0.473,
    "mcid_mjoa_12m": -0.085,
    "tfesi_response": -0.678,
}
TRIAGE_INTERCEPTS = (-2.518, -3.933)  # tfesi, surgery vs conservative (lumbar)
CERVICAL_SURGERY_INTERCEPT = 1.0
WEIBULL_SHAPE = 0.75
WEIBULL_LOG_SCALE = -4.463  # log λ in S(t) = exp(-λ t^k exp(lp)), t in months
DROPOUT_INTERCEPT = -1.916
RHO = 0.75  # loading of every task's latent on the shared recovery factor


# --- sites -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Sites:
    """Fixed site parameters (see the simulator's docstring, "Sites")."""

    names: tuple[str, ...]
    size: np.ndarray  # relative size (Dirichlet(4))
    age: np.ndarray  # log-odds of membership per 10 years of age
    severity: np.ndarray  # per unit of latent baseline severity
    cervical: np.ndarray  # for a cervical patient
    tfesi: np.ndarray  # treatment preference, log-odds vs conservative
    surgery: np.ndarray
    loss: np.ndarray  # loss to follow-up, log-odds shift
    outcome: np.ndarray  # random effect on every outcome, log-odds


def site_parameters(n_sites: int) -> Sites:
    """Site parameters: fixed numbers for a given ``n_sites``, independent of the seed.

    Drawn once from ``np.random.default_rng([20240611, n_sites])`` and centred to a
    size-weighted mean of zero, so that sites shift case-mix but not the overall marginals.
    """
    rng = np.random.default_rng([20240611, n_sites])
    size = rng.dirichlet(np.full(n_sites, 4.0))

    def centred(sd: float) -> np.ndarray:
        v = rng.normal(0.0, sd, n_sites)
        return v - np.sum(size * v)

    return Sites(
        names=tuple(f"site_{i + 1:02d}" for i in range(n_sites)),
        size=size,
        age=centred(0.25),
        severity=centred(0.25),
        cervical=centred(0.6),
        tfesi=centred(0.5),
        surgery=centred(0.4),
        loss=centred(0.4),
        outcome=centred(0.2),
    )


def assign_sites(rng, sites: Sites, age, severity, cervical) -> np.ndarray:
    """Site code of each patient: P(site | patient) ∝ size × exp(case-mix terms)."""
    logits = (
        np.log(sites.size)[None, :]
        + sites.age[None, :] * ((age - 45.0) / 10.0)[:, None]
        + sites.severity[None, :] * severity[:, None]
        + sites.cervical[None, :] * cervical[:, None]
    )
    p = np.exp(logits - logits.max(1, keepdims=True))
    cum = np.cumsum(p, axis=1)
    u = rng.random(len(age)) * cum[:, -1]
    return (cum < u[:, None]).sum(1).astype(np.int64)


# --- treatment -----------------------------------------------------------------------------

#: ``narrow = (NARROW_BELOW_MM − index-level canal AP)+ / NARROW_PER_MM`` on the measured
#: scale (section 6). The former 13 mm and 3 mm per unit belonged to the simulator's earlier
#: canal scale (index-level median 13.6 mm, IQR 3.4 mm; 41% narrowed, mean narrow 0.29);
#: on the measured scale (median 9.5 mm, IQR 4.9 mm: the dural sac's AP as the pipeline
#: segments it) 9 mm and 4.5 mm per unit keep the mean of ``narrow`` (0.29) and its
#: spread (45% narrowed), so every coefficient of ``narrow`` keeps its meaning.
NARROW_BELOW_MM = 9.0
NARROW_PER_MM = 4.5


def _z(x) -> dict:
    """Shared derived terms of the lumbar linear predictors."""
    return {
        "odi_z": (x.odi0 - 43.0) / 16.0,
        "leg_z": (x.leg0 - 5.5) / 2.4,
        "narrow": np.maximum(NARROW_BELOW_MM - x.canal_index, 0.0) / NARROW_PER_MM,
        "ldur": np.log2(1.0 + x.duration / 3.0),
        "age_h": np.maximum(x.age - 55.0, 0.0) / 10.0,
        "bmi_h": np.maximum(x.bmi - 30.0, 0.0) / 5.0,
    }


def triage_probabilities(x, site_tfesi, site_surgery) -> np.ndarray:
    """True P(conservative, tfesi, surgery) for lumbar patients, shape (n, 3)."""
    z = _z(x)
    a_t, a_s = TRIAGE_INTERCEPTS
    eta_t = (
        a_t
        + 0.5 * z["leg_z"]
        + 0.15 * z["odi_z"]
        + 0.5 * x.hern
        + 0.45 * x.sten
        - 0.6 * x.ddd
        + 0.2 * z["narrow"]
        + 0.1 * z["ldur"]
        + site_tfesi
    )
    eta_s = (
        a_s
        + 0.8 * z["odi_z"]
        + 0.7 * z["leg_z"]
        + 0.7 * x.hern
        + 0.5 * x.spondy
        + 0.2 * x.sten
        - 0.3 * x.ddd
        + 0.8 * z["narrow"]
        + 0.25 * z["ldur"]
        + 0.3 * x.prior
        - 1.2 * (x.age < 18)
        - 0.3 * np.maximum(x.age - 75.0, 0.0) / 5.0
        + site_surgery
    )
    eta = np.column_stack([np.zeros_like(eta_t), eta_t, eta_s])
    e = np.exp(eta - eta.max(1, keepdims=True))
    return e / e.sum(1, keepdims=True)


def cervical_surgery_probability(mjoa0, site_surgery) -> np.ndarray:
    """True P(surgery) for cervical myelopathy (the rest conservative; no TFESI)."""
    return expit(CERVICAL_SURGERY_INTERCEPT + 0.45 * (13.0 - mjoa0) + site_surgery)


# --- outcome linear predictors ----------------------------------------------------------------


def lumbar_linear_predictors(x, u_site) -> dict[str, np.ndarray]:
    """Log-odds of the lumbar binary tasks (tfesi_response: as if injected)."""
    z = _z(x)
    surg, tfesi = x.surgery, x.tfesi
    common = (
        -0.45 * z["age_h"]
        - 0.55 * z["bmi_h"]
        - 0.4 * x.dep
        - 0.28 * x.dep * z["ldur"]
        - 0.22 * z["ldur"]
        - 0.55 * x.smoker
        - 0.45 * x.opioid
        - 0.45 * x.prior
        - 0.3 * x.diabetes
        + u_site
    )
    b = TASK_INTERCEPTS
    eta = {}
    eta["mcid_odi_12m"] = (
        b["mcid_odi_12m"]
        + common
        + 1.3 * (x.odi0 >= 30)
        + 0.015 * (x.odi0 - 45.0)
        + surg * (1.3 * x.hern + 1.0 * x.spondy + 0.6 * x.sten)
        + 0.3 * surg * z["narrow"]
        + tfesi * (0.4 * x.hern + 0.2 * x.sten)
        - 0.4 * x.sick_leave
    )
    eta["mcid_nrs_back_12m"] = (
        b["mcid_nrs_back_12m"]
        + common
        + 1.1 * (x.back0 >= 4)
        + 0.2 * (x.back0 - 5.0)
        + surg * (0.6 * x.hern + 0.8 * x.spondy + 0.4 * x.sten - 0.3 * x.ddd)
        + 0.15 * surg * z["narrow"]
        + 0.2 * tfesi
        - 0.4 * x.ddd
    )
    eta["mcid_nrs_leg_12m"] = (
        b["mcid_nrs_leg_12m"]
        + common
        + 0.9 * (x.leg0 >= 5)
        + 0.25 * (x.leg0 - 5.0)
        + surg * (1.5 * x.hern + 0.9 * x.spondy + 1.0 * x.sten)
        + 0.3 * surg * z["narrow"]
        + tfesi * (0.5 * x.hern + 0.3 * x.sten)
        - 0.5 * x.ddd
    )
    eta["mcid_comi_12m"] = (
        b["mcid_comi_12m"]
        + common
        + 0.8 * (x.comi0 >= 5)
        + 0.35 * (x.comi0 - 6.5)
        + surg * (1.2 * x.hern + 0.9 * x.spondy + 0.6 * x.sten)
        + 0.2 * surg * z["narrow"]
        + 0.3 * tfesi * x.hern
        - 0.4 * x.sick_leave
    )
    eta["tfesi_response"] = (
        b["tfesi_response"]
        + 0.3 * (x.leg0 - 6.0)
        + 0.8 * x.hern
        + 0.6 * (x.duration < 6)
        + 0.3 * (x.leg0 > x.back0)
        + 0.3 * x.sten * z["narrow"]
        - 0.25 * (x.pfirrmann_index - 3)
        - 0.4 * x.dep
        - 0.3 * x.opioid
        - 0.3 * x.prior
        - 0.3 * z["bmi_h"]
        - 0.2 * z["age_h"]
        + u_site
    )
    return eta


def cervical_linear_predictor(x, u_site) -> np.ndarray:
    """Log-odds of mJOA MCID at 12 months (cervical myelopathy)."""
    room = np.maximum(14.0 - x.mjoa0, 0.0)
    return (
        TASK_INTERCEPTS["mcid_mjoa_12m"]
        + 1.3 * x.surgery
        + 0.7 * (x.mjoa0 <= 14)
        + 0.15 * x.surgery * room
        - 0.5 * np.maximum(x.age - 60.0, 0.0) / 10.0
        - 0.3 * np.log2(1.0 + x.duration / 3.0)
        - 0.5 * x.smoker
        - 0.3 * x.dep
        - 0.3 * x.diabetes
        - 0.4 * np.maximum(x.bmi - 30.0, 0.0) / 5.0
        + u_site
    )


# --- labels --------------------------------------------------------------------------------


def copula_labels(rng, p: dict[str, np.ndarray], shared: np.ndarray):
    """Labels with marginals exactly Bernoulli(p), correlated through ``shared``.

    ``Z_t = RHO × shared + sqrt(1 − RHO²) × ε_t`` is standard normal; the label is
    ``Z_t ≤ Φ⁻¹(p_t)``. Returns ``(labels, excess)`` where ``excess[t] = Z_t − Φ⁻¹(p_t)``
    (negative exactly for responders) positions the follow-up score.
    """
    labels, excess = {}, {}
    s = np.sqrt(1.0 - RHO**2)
    for task, pt in p.items():
        zt = RHO * shared + s * rng.standard_normal(len(pt))
        excess[task] = zt - ndtri(pt)
        labels[task] = (excess[task] <= 0).astype(float)
    return labels, excess


# --- time to surgery -------------------------------------------------------------------------


def surgery_conversion(rng, x, site_surgery):
    """Weibull proportional-hazards time to surgery; returns (lp, time, event)."""
    z = _z(x)
    lp = (
        0.45 * z["odi_z"]
        + 0.4 * z["leg_z"]
        + 0.45 * x.hern
        + 0.35 * x.spondy
        + 0.35 * z["narrow"]
        + 0.3 * x.opioid
        - 0.3 * x.tfesi
        - 0.5 * (x.age >= 75)
        + 0.5 * site_surgery
    )
    e = rng.standard_exponential(len(lp))
    t = (e / np.exp(WEIBULL_LOG_SCALE + lp)) ** (1.0 / WEIBULL_SHAPE)
    loss = rng.exponential(150.0, len(lp))
    c = np.minimum(24.0, loss)
    event = t <= c
    return lp, np.where(event, t, c), event.astype(float)


# --- loss to follow-up -----------------------------------------------------------------------


def dropout(rng, x, site_loss) -> np.ndarray:
    """Last time point answered before loss: 0 (lost before 1m), 1, 2, or 3 (not lost)."""
    eta = (
        DROPOUT_INTERCEPT
        - 0.25 * (x.age - 45.0) / 10.0
        + 0.5 * x.smoker
        - 0.25 * x.severity
        + 0.3 * x.unemployed
        + site_loss
    )
    lost = rng.random(len(eta)) < expit(eta)
    when = rng.random(len(eta))
    stage = np.where(when < 0.25, 0, np.where(when < 0.55, 1, 2))
    return np.where(lost, stage, 3)


# --- missingness masks -------------------------------------------------------------------

P_ITEM_MISSING = 0.015
P_SEX_LIFE_SKIP = (0.07, 0.15)  # extra skip of ODI section 8, under / from 65 years
P_PREDICTOR_MISSING = {"bmi": 0.03, "smoking": 0.05, "asa": 0.02, "duration": 0.02}
P_GRC_MISSING = 0.02


def masks(rng, P, lum, cer, site, sites, missingness: bool):
    """Answered-item masks per time point, predictor MCAR masks and loss to follow-up.

    Returned even when ``missingness`` is False (then everything is answered), and drawn
    from their own random stream, so the truth is the same either way.
    """
    n, nl, nc = len(P.age), lum.size, cer.size
    on = bool(missingness)
    age_l = P.age[lum]

    def answered(shape):
        u = rng.random(shape)
        return u >= P_ITEM_MISSING if on else np.ones(shape, dtype=bool)

    ans_l, ans_c = {}, {}
    for tp in TIMEPOINTS:
        odi = answered((nl, 10))
        skip = rng.random(nl) < np.where(age_l >= 65, P_SEX_LIFE_SKIP[1], P_SEX_LIFE_SKIP[0])
        if on:
            odi[:, 7] &= ~skip
        ans_l[tp] = {
            "odi": odi,
            "back": answered(nl),
            "leg": answered(nl),
            "comi": answered((nl, 5)),
        }
        ans_c[tp] = answered((nc, 4))
    miss = {k: (rng.random(n) < p) & on for k, p in P_PREDICTOR_MISSING.items()}
    x = SimpleNamespace(
        age=P.age,
        smoker=(P.smoking == 2).astype(float),
        severity=P.severity,
        unemployed=(P.employment == 1).astype(float),
    )
    stage = dropout(rng, x, sites.loss[site])
    miss["stage"] = np.where(on, stage, 3)
    miss["grc"] = ((rng.random(n) < P_GRC_MISSING) | (stage < 3)) & on
    return ans_l, ans_c, miss


# --- global rating of change -------------------------------------------------------------------

GRC_LUMBAR_CUTS = (20.0, 10.0, -5.0, -15.0)  # ODI points
GRC_CERVICAL_CUTS = (3.5, 2.0, -1.0, -2.5)  # mJOA points


def grc(rng, change, noise_sd, cuts) -> np.ndarray:
    """1 much better … 5 much worse from a true change plus normal noise."""
    g = change + noise_sd * rng.standard_normal(len(change))
    c1, c2, c3, c4 = cuts
    return np.select([g >= c1, g >= c2, g >= c3, g >= c4], [1.0, 2.0, 3.0, 4.0], 5.0)
