"""Outcomes researcher: from item answers to MCID labels and a data-driven MCID.

Run: .venv/bin/python examples/researcher_quickstart.py
"""

from prom.cohort.simulate import simulate_cohort
from prom.instruments import add_scores
from prom.instruments.mcid import list_thresholds, mcid_attained
from prom.instruments.mcid_estimate import anchor_mcid, distribution_mcid
from prom.outcomes import derive_labels

# 1. A cohort as a registry would export it: item answers at 0, 1, 3 and 12 months.
cohort = simulate_cohort(8000, seed=11)

# 2. Scores for every instrument and time point; withheld scores say why.
scored = add_scores(cohort)
print(scored[["odi_0m", "odi_12m", "comi_0m"]].describe().round(1))
print(scored["odi_12m_reason"].value_counts().head(3))

# 3. Labels for every task (default definitions), one reason per unlabelled row.
labels = derive_labels(scored)
print(labels[["mcid_odi_12m", "mcid_nrs_leg_12m", "tfesi_response"]].mean().round(3))

# 4. The same outcome under other published definitions.
print(list_thresholds("odi")[["id", "definition"]].to_string(index=False))
for t in ("odi_ostelo2008", "odi_fuse_ml", "odi_norspine_ldh"):
    print(t, round(float(mcid_attained(scored.odi_0m, scored.odi_12m, t).mean()), 3))

# 5. Data-driven MCID for ODI: anchor = global rating of change "better" or "much better".
complete = scored.odi_0m.notna() & scored.odi_12m.notna() & scored.grc_12m.notna()
lumbar = scored[(scored.region == "lumbar") & complete]  # complete cases, kept explicitly
change = (lumbar.odi_0m - lumbar.odi_12m).to_numpy()
anchor = lumbar.grc_12m.isin([1, 2]).to_numpy()
est = anchor_mcid(change, anchor, n_boot=300, seed=0)
print(f"anchor-based ODI MCID: {est}")
half_sd = distribution_mcid(lumbar.odi_0m.to_numpy(), method="half_sd", n_boot=300)
print(f"distribution-based (0.5 SD): {half_sd}")
