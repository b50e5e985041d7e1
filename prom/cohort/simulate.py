"""Synthetic spine cohorts with known truth.

Patient-level outcome data cannot be shipped, so models are developed and compared on
simulated cohorts whose data-generating process (DGP) is written down below and whose true
outcome probabilities are stored next to the data. The output looks like a registry
export: PROM *item answers* (not scores) at 0, 1, 3 and 12 months, demographics, history,
treatment, per-level MRI features, time to surgery, a global rating of change, and the
simulator's truth columns. Every column is declared in
:data:`prom.cohort.contract.COHORT_CONTRACT` (names, dtypes, ranges, categories); score
columns are left to :func:`prom.instruments.score_table`.

>>> from prom.cohort.simulate import simulate_cohort
>>> df = simulate_cohort(500, seed=1)
>>> df.shape
(500, 154)

Public API: :func:`simulate_cohort`, :func:`simulate` (also returns the drawn labels),
:func:`describe_simulation` (prevalences and oracle AUCs, for the demo; it lives in
:mod:`prom.cohort.simulation_summary`). The stages are private modules of this package:
patients, history, MRI features and the truth's predictors (``_sim_patients``), PROM
items (``_sim_items``), sites, treatment, truth, labels, survival and missingness
(``_sim_outcomes``), and the table itself (``_sim_columns``).

Guarantees
----------
- Deterministic: the same ``(n, seed, n_sites, missingness)`` give an identical DataFrame.
  Each stage draws from its own child of ``np.random.SeedSequence(seed)``, so
  ``missingness=False`` gives the same patients, treatments, truth and drawn labels.
- Exact truth: each binary label is drawn as Bernoulli(``true_p``) (section 8) and *then*
  follow-up items are written so that scoring them (default missing-item rules) and
  applying the default MCID rule gives back the drawn label. Where a label can be
  derived, ``true_p`` is its true probability — except for the counted COMI rows below.
- Missingness is applied after the outcomes are drawn; it never changes the truth.
- Vectorised: 1,000,000 patients in ≈ 13–15 s (≈ 3 GB peak memory) on a 2-core machine.

Notation: ``expit`` logistic; ``N(m, s)`` normal with SD ``s``; ``[A]`` 1 if A else 0;
``(x)+ = max(x, 0)``; ``ldur = log2(1 + duration/3)``; ``cur`` current smoker;
``adol = [age < 18]``; ``dep`` depression/anxiety; dx indicators ``hern``, ``sten``,
``spondy``, ``ddd``. Scores inside the formulas (ODI0, leg0, …) are computed from the
complete baseline items. Figures after "→" are what the DGP produces (n = 300,000–1,000,000).

1. Region and demographics
   Region: cervical (myelopathy sub-cohort) with probability 0.12, else lumbar.
   Lumbar — SPOILS lumbar cohort marginals (402 patients; figures as given to the project):
   male 58.5%; age bands 0–15 / 16–30 / 31–45 / 46–60 / >60 years with probabilities
   2.5 / 22.9 / 26.1 / 25.4 / 23.1%, uniform within a band (0–15 taken as 12–15,
   adolescents; >60 as 61 + 30·Beta(1.3, 2.6), mean ≈ 71). Treatment targets in section 6.
   Cervical — after the AOSpine CSM-North America cohort (Fehlings et al., J Bone Joint
   Surg Am 2013;95:1651-8; approximate): male 60%, age N(57, 11) clipped to 30–90.
   Ages are floored to 0.01 year.

2. History (all patients)
   BMI = mu·exp(N(0, 0.16) − 0.0128), mu = 27 + 0.06(min(age, 65) − 45) − 0.15(25 − age)+
   + 0.4 male, clipped 15–60, 0.1 resolution → 27.1 ± 4.5 (Scandinavian spine registries).
   smoking, multinomial logit vs never: former −1.3 + 0.3 male + 0.03(age − 45) − 3 adol;
   current −0.9 + 0.3 male − 0.02(age − 45) − 2 adol → never/former/current 55/21/25%.
   diabetes: expit(−3.3 + 0.05(age − 50) + 0.09(BMI − 27) + 0.2 male) → 5.5%.
   depression_anxiety: expit(−1.6 + 0.35 female + 0.4 cur − 0.8 adol) → 20%.
   diagnosis (lumbar), multinomial logit vs disc herniation: stenosis −2.2 + 0.12(age − 45);
   spondylolisthesis −1.7 + 0.05(age − 45) + 0.5 female; DDD −1.0 + 0.01(age − 45)
   → herniation 52%, DDD 18%, stenosis 17%, spondylolisthesis 12%; herniation 72% under
   35 years, stenosis 56% from 65. Cervical patients: cervical_myelopathy.
   symptom_duration_months: lognormal, median 4 (herniation), 18 (stenosis,
   spondylolisthesis), 24 (DDD), 12 (myelopathy) × exp(0.005(age − 45)), log-SD 0.9,
   clipped 0.1–600, 0.1 resolution → lumbar median 8.5.
   prior_spine_surgery: expit(−2.6 + 0.02(age − 45) + 0.5 ddd + 0.3 spondy − 1.5 adol) → 8%.
   Latent baseline severity S = 0.30 dep + 0.15 cur + 0.10 diabetes + 0.02(BMI − 27)
   + 0.12 log(duration/6) + (0.15 hern, 0.10 sten, 0 spondy, −0.10 ddd) + 0.2 prior
   + N(0, 0.9).
   opioid_use: expit(−1.7 + 0.8 S + 0.4 dep + 0.3 prior + 0.15 log(duration/6) − 1.5 adol)
   → 23%.
   employment, multinomial logit vs employed: unemployed −2.4 + 0.3 cur + 0.3 dep;
   sick_leave −1.6 + 0.7 S + 0.3 dep (under 67 only); retired −8 + 0.35(age − 45);
   student 5 under 18, −1.5 − 0.4(age − 18) from 18 to 29, never from 30
   → employed 58, sick leave 16, retired 15, unemployed 6, student 5%.
   asa_grade = 1 + [a > −0.6] + [a > 1.9] + [a > 4.5], a = 0.04(age − 50) + 0.08(BMI − 27)
   + diabetes + 0.3 cur + 0.3 dep + Logistic(0, 1) → ASA 1/2/3/4 = 36/46/16/2%.
   index_level (lumbar), P(L1/L2, L2/L3, L3/L4, L4/L5, L5/S1) by diagnosis: herniation
   .01 .03 .07 .44 .45; stenosis .02 .08 .25 .58 .07; spondylolisthesis .01 .03 .10 .70
   .16; DDD .02 .05 .13 .40 .40 → 83% at L4/L5 or L5/S1.

3. Baseline PROM items (rounded, clipped to the item's range)
   ODI section j = a_j + 0.8 S + N(0, 0.7), a = 2.4 pain intensity, 1.1 personal care,
   2.6 lifting, 1.8 walking, 2.0 sitting, 2.3 standing, 1.5 sleeping, 1.8 sex life,
   2.0 social life, 1.9 travelling; + 0.7 walking and + 0.5 standing in stenosis; + 0.4
   sitting in herniation; + 0.3 sitting and lifting in DDD; + 0.01(age − 45) sex life
   → ODI 43.9 ± 15.3 (surgical patients 56; registry baselines 40–50, Fairbank & Pynsent
   2000; Berg et al. JAMA Netw Open 2024).
   NRS back = 4.9 + 1.15 S + (−0.4 hern, 0.2 sten, 0.6 spondy, 1.3 ddd) + N(0, 1.4);
   NRS leg = 4.6 + 1.15 S + (1.8 hern, 1.0 sten, 0.3 spondy, −1.8 ddd) + N(0, 1.5), integers
   → herniation leg-dominant: leg 6.6, back 4.7 (NORspine herniation cohorts: leg 6–7).
   COMI five-point items (0 best … 4 worst) function, wellbeing, qol, social, work
   = (2.6, 3.2, 2.3, 2.0, 2.3) + (0.65, 0.5, 0.6, 0.75, 0.8)·S + N(0, 0.65); work + 1.0 on
   sick leave, − 0.4 retired or student. COMI's pain domain is max(NRS back, NRS leg)
   → COMI 6.7 ± 1.5 (Mannion et al. 2009: ≈ 6–8 before surgery).
   mJOA (cervical): deficit 18 − mJOA = round(4.5 + 2.9 S) clipped 0–18, spread over
   motor upper / motor lower / sensory upper / sphincter with weights 1.0 / 1.5 / 0.9 / 0.6
   × lognormal(0, 0.4) within their maxima 5 / 7 / 3 / 3 → mJOA 12.8 ± 2.6 (AOSpine
   CSM-NA ≈ 12.9 ± 2.7), 8.5% above 16.

4. MRI features (lumbar; level j = 0 for L1/L2 … 4 for L5/S1)
   Pfirrmann = 1 + [d > −1.6] + [d > −0.5] + [d > 0.6] + [d > 1.6], d = 0.045(age − 45)
   + 0.22(j − 2) + N(0, 0.6) per patient + N(0, 0.6) per level + (at the index level:
   0.9 hern, 0.4 sten, 0.6 spondy, 1.1 ddd) → L4/L5 mean grade 2.4 in teenagers, 4.5 past 70
   (Pfirrmann et al. Spine 2001 grading).
   The seven measured features — disc_height_mm, disc_height_index, canal_ap_mm,
   disc_csf_signal_ratio, firstorder_entropy, glcm_contrast, glcm_correlation — are drawn
   on the scale the toolkit's pipeline measures real scans (the bundled backbone on
   SPIDER's 31 sagittal T2 scans; table and method in :mod:`prom.cohort.imaging_reference`,
   ``prom/data/imaging_reference.json``). Per feature, on its recorded scale (log for the
   signal ratio, entropy and GLCM contrast; Fisher's z for GLCM correlation), value =
   a[level] + c[grade] + e, with the level intercepts, the grade effects (grade 3 = 0; not
   forced to be evenly spaced) and the residual SD fitted by OLS on SPIDER's 155 graded
   discs; the residuals e of one disc are multivariate normal with the recorded
   correlation matrix, and a recorded share of each feature's residual variance
   (0.36–0.57) is common to a patient's five discs. On the measured scale (SPIDER medians
   over the levels; Spearman ρ with the grade, which the simulator reproduces within
   0.05 except for the canal): disc height 7.8 mm (ρ −0.51), height index 0.32 (−0.41),
   canal AP 12.0 mm (−0.29), disc/CSF ratio 0.13 (−0.40), entropy 4.4 (−0.49), GLCM
   contrast 15 (−0.17), GLCM correlation 0.78 (−0.50). SPIDER's 15 grade-1 discs measure
   a lower signal ratio than its grade-2 discs, and so do simulated ones.
   canal_ap_mm then carries the DGP's clinical effects, in mm: + 0.6 male − 0.05(age − 45)
   + (index level: −2.2 hern, −5 sten, −3 spondy, −0.5 ddd) − 1.5 at the levels next to a
   stenotic index level → index-level median 9.5 mm, stenotic index level 4.9 mm.
   Every feature is clipped into the contract's range.
   No MRI (every img_ column NaN, structural): expit(−1.75 − 0.3 S) → 14%. The truth uses
   the latent index-level canal diameter and grade whether or not the MRI is in the table.

5. Sites (``site_01`` … ``site_K``, K = n_sites, 5–99)
   Fixed for a given K, independent of the seed (drawn once from
   ``np.random.default_rng([20240611, K])``): size ~ Dirichlet(4·1); membership log-odds
   per 10 years of age ~ N(0, 0.25), per unit of S ~ N(0, 0.25), for a cervical patient
   ~ N(0, 0.6); treatment preference log-odds TFESI ~ N(0, 0.5), surgery ~ N(0, 0.4);
   loss-to-follow-up log-odds ~ N(0, 0.4); outcome random effect u ~ N(0, 0.2) added to
   every task's log-odds. Each is centred to a size-weighted mean of 0. A patient's site
   is drawn after the patient, P(site) ∝ size·exp(case-mix terms), so the overall marginals
   hold while sites differ. With 6 sites: mean age 36–54, cervical share 3–26%, lumbar
   surgery 6–17%, TFESI 4–25%, loss to follow-up 8–32%.

6. Treatment (``true_p_triage_<class>``; oracle OvR AUC ≈ 0.76)
   Lumbar, multinomial logit vs conservative, with odi_z = (ODI0 − 43)/16,
   leg_z = (leg0 − 5.5)/2.4, narrow = (9 − index-level canal mm)+ / 4.5 on the measured
   canal scale (the former (13 − canal)+ / 3 carried over from the earlier simulated
   scale so that narrow keeps its mean 0.29 and spread: 45% of lumbar patients narrowed;
   every coefficient of narrow below keeps its meaning — see
   ``prom.cohort._sim_outcomes.NARROW_BELOW_MM``):
   TFESI: −2.518 + 0.5 leg_z + 0.15 odi_z + 0.5 hern + 0.45 sten − 0.6 ddd + 0.2 narrow
   + 0.1 ldur + site_tfesi;
   surgery: −3.933 + 0.8 odi_z + 0.7 leg_z + 0.7 hern + 0.5 spondy + 0.2 sten − 0.3 ddd
   + 0.8 narrow + 0.25 ldur + 0.3 prior − 1.2 adol − 0.3(age − 75)+/5 + site_surgery.
   Intercepts calibrated to SPOILS 76.4 / 13.7 / 10.0% (their percentages sum to 100.1;
   the DGP gives 76.3 / 13.7 / 10.0 with 6 sites; other K shift this slightly).
   Cervical: P(surgery) = expit(1.0 + 0.45(13 − mJOA0) + site_surgery) → 68%, else
   conservative; P(TFESI) = 0.

7. True probabilities of the binary tasks (``true_p_<task> = expit(eta)``)
   Lumbar, with age_h = (age − 55)+/10, bmi_h = (BMI − 30)+/5, surg/tfesi the initial
   treatment (intention to treat; later conversion to surgery does not feed back):
   common = −0.45 age_h − 0.55 bmi_h − 0.4 dep − 0.28 dep·ldur − 0.22 ldur − 0.55 cur
   − 0.45 opioid − 0.45 prior − 0.3 diabetes + u_site.
   mcid_odi_12m: 0.459 + common + 1.3 [ODI0 ≥ 30] + 0.015(ODI0 − 45)
   + surg(1.3 hern + 1.0 spondy + 0.6 sten) + 0.3 surg·narrow + tfesi(0.4 hern + 0.2 sten)
   − 0.4 sick_leave.
   mcid_nrs_back_12m: 0.457 + common + 1.1 [back0 ≥ 4] + 0.2(back0 − 5)
   + surg(0.6 hern + 0.8 spondy + 0.4 sten − 0.3 ddd) + 0.15 surg·narrow + 0.2 tfesi
   − 0.4 ddd.
   mcid_nrs_leg_12m: 0.854 + common + 0.9 [leg0 ≥ 5] + 0.25(leg0 − 5)
   + surg(1.5 hern + 0.9 spondy + 1.0 sten) + 0.3 surg·narrow + tfesi(0.5 hern + 0.3 sten)
   − 0.5 ddd.
   mcid_comi_12m: 0.473 + common + 0.8 [COMI0 ≥ 5] + 0.35(COMI0 − 6.5)
   + surg(1.2 hern + 0.9 spondy + 0.6 sten) + 0.2 surg·narrow + 0.3 tfesi·hern
   − 0.4 sick_leave.
   tfesi_response (stored for every lumbar patient: the probability of response *if*
   injected; the label exists for TFESI patients): −0.678 + 0.3(leg0 − 6) + 0.8 hern
   + 0.6 [duration < 6] + 0.3 [leg0 > back0] + 0.3 sten·narrow − 0.25(index Pfirrmann − 3)
   − 0.4 dep − 0.3 opioid − 0.3 prior − 0.3 bmi_h − 0.2 age_h + u_site.
   Cervical, mcid_mjoa_12m: −0.085 + 1.3 surg + 0.7 [mJOA0 ≤ 14] + 0.15 surg(14 − mJOA0)+
   − 0.5(age − 60)+/10 − 0.3 ldur − 0.5 cur − 0.3 dep − 0.3 diabetes − 0.4 bmi_h + u_site.
   Intercepts (calibrated, 6 sites) give true prevalences ODI 0.58, NRS back 0.55, NRS leg
   0.60, COMI 0.52, mJOA 0.58, TFESI response 0.50 among TFESI patients (Kim & Chang 2026
   and TFESI cohorts: 40–60%).

8. Labels and follow-up items
   A shared recovery factor G ~ N(0, 1) per patient; for each task Z_t = 0.75 G
   + sqrt(1 − 0.75²) ε_t, ε_t ~ N(0, 1), so Z_t ~ N(0, 1) and the label
   [Z_t ≤ Φ⁻¹(p_t)] is exactly Bernoulli(p_t) (a Gaussian copula; labels of one patient
   correlate ≈ 0.4). The label is drawn for the whole population of the task (eligible or
   not; an ineligible patient keeps ``true_p`` but has no derivable label).
   Default MCID rules (prom.instruments.mcid; improvement Δ = baseline − follow-up,
   mJOA follow-up − baseline; inclusive, tolerance 1e-9): ODI Δ ≥ 10 or Δ/b ≥ 0.30
   (Ostelo 2008; b > 0; ODI over answered sections, at most 1 missing); NRS back/leg
   Δ ≥ 2 or Δ/b ≥ 0.30 (b > 0); COMI Δ ≥ 2.2 (Mannion 2009; b ≥ 2.2); mJOA Δ ≥ 2
   (Tetreault 2015; b ≤ 16); TFESI: NRS leg at 1 month Δ/b ≥ 0.50 (b > 0).
   The follow-up score is e = Z_t − Φ⁻¹(p_t) (negative exactly for responders) placed
   around the response threshold on the grid the items can reach: value = thr + 0.5 +
   spread(e), with spread(e) = down·e for e < 0, up·e for e ≥ 0 (monotone, so the label is
   kept), rounded, clipped to the scale, and clamped to the label's side of thr:
   ODI (item sum over the k answered 12-month sections, thr the largest Ostelo response
   sum): down = 0.5 b, up = 8 + 0.1 b ODI points (× k/20); NRS: down = 0.55 b,
   up = 1 + 0.1 b; COMI (U = 2(function + wellbeing + qol) + social + work given the pain
   rating): down = 0.45 b, up = 0.5 + 0.1 b COMI points (× 4); mJOA (deficit 18 − mJOA):
   down 1.8, up 1.2; TFESI 1-month leg pain: down 0.45 b, up 0.8 + 0.1 b.
   The score is then split over the items in proportion to the patient's baseline
   pattern × lognormal(0, 0.25) (water-filling within item maxima), so scoring the items
   reproduces it exactly.
   COMI shares its pain items with the NRS columns: NRS follow-ups are written first. Where
   a COMI response was drawn but even U = 0 is too much for the pain rating, both NRS
   values are lowered within their own label-consistent ranges to at most
   5(b − 2.2); if that still fails, the items decide the COMI label (a non-response) and
   the row is counted in :attr:`SimulatedCohort.comi_from_items`: 94 of 880,424 lumbar
   patients (0.011%) at n = 1,000,000 (0.02% without lowering the NRS).
   Resulting means (baseline → 12 months): ODI conservative 42 → 27, TFESI 47 → 28,
   surgery 56 → 26; NRS leg 7.2 → 2.0 after surgery; mJOA after surgery 12.0 → 14.5.
   1 and 3 months: value = b + w(12m − b) + noise (ODI 6, NRS 1.1, COMI 0.8, mJOA 0.8 SD;
   1- and 3-month noise correlated 0.5), w = (0.35, 0.70) conservative, (0.60, 0.80) TFESI,
   (0.85, 0.95) surgery, cervical (0.30, 0.60) conservative, (0.50, 0.80) surgery; TFESI
   patients' 1-month leg pain comes from the tfesi_response label instead, and their
   3-month leg pain is the mean of 1 and 12 months + noise.

9. Global rating of change (``grc_12m``)
   g = true change + N(0, s): lumbar ODI change (baseline − 12 months), s = 8, categories
   1 much better (g ≥ 20), 2 better (≥ 10), 3 unchanged (≥ −5), 4 worse (≥ −15), 5 much
   worse; cervical mJOA change, s = 1.2, cuts 3.5 / 2 / −1 / −2.5. The implied true
   anchor threshold (the change at which "better or much better" has probability 0.5) is
   10 ODI points and 2 mJOA points.

10. Surgery conversion (lumbar patients treated conservatively or with TFESI)
   Weibull proportional hazards, S(t) = exp(−λ t^k e^lp), k = 0.75, log λ = −4.463 (t in
   months); lp (``true_lp_surgery_conversion``) = 0.45 odi_z + 0.4 leg_z + 0.45 hern
   + 0.35 spondy + 0.35 narrow + 0.3 opioid − 0.3 tfesi − 0.5 [age ≥ 75]
   + 0.5 site_surgery. Censoring at min(24 months, Exponential(mean 150 months) loss)
   → 20.0% true cumulative incidence by 24 months, 18.8% observed events.

11. Missingness (``missingness=True``; drawn from its own stream)
   MCAR: BMI 3%, smoking 5%, ASA grade 2%, symptom duration 2%; every PROM item 1.5% at
   every time point; ODI sex life skipped a further 7% (15% from 65 years); grc 2%.
   MAR monotone loss to follow-up: P(lost by 12 months) = expit(−1.916 − 0.25(age −
   45)/10 + 0.5 cur − 0.25 S + 0.3 unemployed + site_loss) → 17% (25% under 35 years);
   lost before 1 month 25%, between 1 and 3 months 30%, between 3 and 12 months 45% of
   them; a lost patient's later items and grc_12m are all missing → 4% / 9% / 17% missing
   at 1 / 3 / 12 months. Time to surgery is not affected.
   With ``missingness=False`` only structural NaN remain (region, no MRI, truth outside a
   task's population, time to surgery for the initially operated).

12. Measured at n = 1,000,000, seed 0 (describe_simulation); re-checked at n = 300,000
   after the imaging features moved to the measured scale (every figure within 0.002)
   ================== ========== ============ ===========
   task               population prevalence   oracle AUC
   ================== ========== ============ ===========
   mcid_odi_12m       lumbar     0.580        0.750
   mcid_nrs_back_12m  lumbar     0.549        0.743
   mcid_nrs_leg_12m   lumbar     0.600        0.821
   mcid_comi_12m      lumbar     0.520        0.751
   mcid_mjoa_12m      cervical   0.580        0.755
   tfesi_response     TFESI      0.499        0.772
   triage (OvR)       lumbar     —            0.761
   ================== ========== ============ ===========
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass
from types import SimpleNamespace

import numpy as np
import pandas as pd
from scipy.special import expit

from prom.cohort import _sim_columns as columns_
from prom.cohort import _sim_items as items_
from prom.cohort import _sim_outcomes as out_
from prom.cohort import _sim_patients as patients_
from prom.cohort.contract import CATEGORIES, TASK_TRUTH_COLUMNS
from prom.cohort.simulation_summary import describe_simulation

__all__ = ["simulate_cohort", "simulate", "SimulatedCohort", "describe_simulation"]

# One random stream per stage (SeedSequence children are fixed by position: append only).
_STREAMS = (
    "region",
    "demographics",
    "history",
    "baseline",
    "imaging",
    "site",
    "treatment",
    "outcomes",
    "follow_up",
    "survival",
    "missing",
    "grc",
)


@dataclass(frozen=True)
class SimulatedCohort:
    """A simulated cohort with the labels that were drawn for it.

    ``cohort`` is what :func:`simulate_cohort` returns. ``labels`` holds the drawn label of
    each binary task (1.0/0.0; NaN outside the task's population — lumbar, cervical, or
    TFESI-treated), drawn *before* any follow-up answer was written; the follow-up items
    reproduce it wherever the label can be derived. ``comi_from_items`` marks the rare
    rows where a COMI response could not be written consistently with the pain ratings,
    so the items decide the COMI label there (see the module docstring).
    """

    cohort: pd.DataFrame
    labels: pd.DataFrame
    comi_from_items: pd.Series


def simulate_cohort(
    n: int, seed: int = 0, *, n_sites: int = 6, missingness: bool = True
) -> pd.DataFrame:
    """A synthetic cohort of ``n`` patient episodes with known truth (see module docstring).

    Deterministic in ``seed``. Columns, dtypes, ranges and categories are those of
    :data:`prom.cohort.contract.COHORT_CONTRACT`; PROM *items* are given, scores are not
    (use :func:`prom.instruments.score_table`).
    """
    return simulate(n, seed, n_sites=n_sites, missingness=missingness).cohort


def simulate(
    n: int, seed: int = 0, *, n_sites: int = 6, missingness: bool = True
) -> SimulatedCohort:
    """Like :func:`simulate_cohort`, also returning the drawn labels."""
    _check_args(n, seed, n_sites, missingness)
    n = int(n)
    rng = {
        name: np.random.default_rng(s)
        for name, s in zip(
            _STREAMS, np.random.SeedSequence(int(seed)).spawn(len(_STREAMS)), strict=True
        )
    }
    cols: dict[str, np.ndarray] = {}
    P = patients_.patients(rng, n)
    lum, cer = np.flatnonzero(~P.cervical), np.flatnonzero(P.cervical)
    L = items_.lumbar_baseline(rng["baseline"], P, lum)
    C = items_.cervical_baseline(rng["baseline"], P, cer)
    img = patients_.imaging(rng["imaging"], P, lum)
    sites = out_.site_parameters(n_sites)
    site = out_.assign_sites(rng["site"], sites, P.age, P.severity, P.cervical.astype(float))
    # treatment
    xs = patients_.lumbar_predictors(P, L, img, lum)
    probs = np.zeros((n, 3))
    probs[lum] = out_.triage_probabilities(xs, sites.tfesi[site[lum]], sites.surgery[site[lum]])
    p_surg_c = out_.cervical_surgery_probability(C.mjoa0.sum(1), sites.surgery[site[cer]])
    probs[cer] = np.column_stack([1.0 - p_surg_c, np.zeros_like(p_surg_c), p_surg_c])
    cum = np.cumsum(probs, axis=1)
    treatment = (cum[:, :2] < rng["treatment"].random(n)[:, None]).sum(1)
    xs.tfesi = (treatment[lum] == 1).astype(float)
    xs.surgery = (treatment[lum] == 2).astype(float)
    # true probabilities and labels
    eta = out_.lumbar_linear_predictors(xs, sites.outcome[site[lum]])
    p_l = {t: expit(e) for t, e in eta.items()}
    xc = patients_.cervical_predictors(P, C, cer, treatment)
    p_c = expit(out_.cervical_linear_predictor(xc, sites.outcome[site[cer]]))
    ro = rng["outcomes"]
    shared = ro.standard_normal(n)
    lab_l, exc_l = out_.copula_labels(ro, p_l, shared[lum])
    lab_c, exc_c = out_.copula_labels(ro, {"mcid_mjoa_12m": p_c}, shared[cer])
    # missingness masks (drawn from their own stream, so truth is identical either way)
    ans_l, ans_c, miss = out_.masks(rng["missing"], P, lum, cer, site, sites, missingness)
    # follow-up items
    L.treatment = treatment[lum]
    fu_l = items_.lumbar_follow_up(rng["follow_up"], L, ans_l, lab_l, exc_l)
    C.treatment = treatment[cer]
    fu_c = items_.cervical_follow_up(
        rng["follow_up"], C, ans_c, lab_c["mcid_mjoa_12m"], exc_c["mcid_mjoa_12m"]
    )
    # --- columns
    columns_.base_columns(cols, P, site, sites, treatment, lum, miss, int(seed))
    columns_.item_columns(cols, n, L, C, fu_l, fu_c, ans_l, ans_c, lum, cer, miss)
    columns_.imaging_columns(cols, n, img, lum)
    # grc at 12 months
    g = np.full(n, np.nan)
    g[lum] = out_.grc(rng["grc"], fu_l["odi_change"], 8.0, out_.GRC_LUMBAR_CUTS)
    g[cer] = out_.grc(rng["grc"], fu_c["mjoa_change"], 1.2, out_.GRC_CERVICAL_CUTS)
    g[miss["grc"]] = np.nan
    cols["grc_12m"] = g
    # surgery conversion
    nonop = lum[treatment[lum] != 2]
    xn = SimpleNamespace(**{k: v[treatment[lum] != 2] for k, v in vars(xs).items()})
    lp, time, event = out_.surgery_conversion(rng["survival"], xn, sites.surgery[site[nonop]])
    for name, vals in (
        ("true_lp_surgery_conversion", lp),
        ("time_to_surgery_months", time),
        ("surgery_event", event),
    ):
        col = np.full(n, np.nan)
        col[nonop] = vals
        cols[name] = col
    # truth
    p_all = _by_region(n, lum, cer, p_l, {"mcid_mjoa_12m": p_c})
    for task in TASK_TRUTH_COLUMNS:
        cols[f"true_p_{task}"] = p_all[task]
    for k, cls in enumerate(CATEGORIES["treatment"]):
        cols[f"true_p_triage_{cls}"] = probs[:, k]
    for name, vals in cols.items():  # rint/clip can leave -0.0; registries store 0
        if isinstance(vals, np.ndarray) and vals.dtype.kind == "f":
            cols[name] = vals + 0.0
    cohort = columns_.assemble(cols, n)
    labels = _by_region(n, lum, cer, lab_l, lab_c)
    labels["tfesi_response"][treatment != 1] = np.nan  # the label exists for TFESI patients
    from_items = np.zeros(n, dtype=bool)
    from_items[lum] = fu_l["comi_from_items"]
    return SimulatedCohort(
        cohort,
        pd.DataFrame(labels, index=cohort.index),
        pd.Series(from_items, index=cohort.index, name="comi_from_items"),
    )


def _by_region(n, lum, cer, lumbar: dict, cervical: dict) -> dict[str, np.ndarray]:
    """Full-length arrays per task from the lumbar and cervical sub-cohort arrays."""
    out = {}
    for task in TASK_TRUTH_COLUMNS:
        col = np.full(n, np.nan)
        if task in cervical:
            col[cer] = cervical[task]
        else:
            col[lum] = lumbar[task]
        out[task] = col
    return out


def _check_args(n, seed, n_sites, missingness) -> None:
    for name, v in (("n", n), ("seed", seed), ("n_sites", n_sites)):
        if isinstance(v, bool) or not isinstance(v, numbers.Integral):
            raise TypeError(f"{name} must be an int, got {type(v).__name__} ({v!r})")
    if n < 1:
        raise ValueError(f"n={n}: the cohort needs at least 1 patient")
    if seed < 0:
        raise ValueError(f"seed={seed}: seeds are non-negative integers")
    if not 5 <= n_sites <= 99:
        raise ValueError(
            f"n_sites={n_sites}: expected 5–99 sites (internal–external validation by site "
            f"needs several sites; site names are two-digit)"
        )
    if not isinstance(missingness, (bool, np.bool_)):
        raise TypeError(f"missingness must be True or False, got {missingness!r}")
