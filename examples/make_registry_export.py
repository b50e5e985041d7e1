"""Write a registry-style export: the registry's own column names, codes and units.

Used by examples/registry_validate.sh. The export is a simulated cohort renamed the way a
registry might store it (ODI forms coded 1–6, pain on a 0–100 mm VAS, symptom duration in
weeks, sex coded M/F), with a few deliberately bad rows so validation has something to
report. examples/mappings/registry_export.yaml maps it back onto the contract.

Run: .venv/bin/python examples/make_registry_export.py /tmp/export.csv
"""

import sys

from prom.cohort import simulate_cohort
from prom.instruments import ODI

out = sys.argv[1] if len(sys.argv) > 1 else "export.csv"
df = simulate_cohort(3000, seed=7).astype({"sex": object, "region": object})
export = df.drop(columns=[c for c in df.columns if c.startswith("true_")])
ren = {
    "patient_id": "PatID",
    "site": "Centre",
    "age_years": "Age",
    "sex": "Gender",
    "region": "Region",
    "bmi_kg_m2": "BMI",
    "symptom_duration_months": "symptom_weeks",
}
for k, item in enumerate(ODI().item_names, start=1):
    for tp, tag in (("0m", "pre"), ("1m", "1m"), ("3m", "3m"), ("12m", "12m")):
        ren[f"odi_{item}_{tp}"] = f"ODI_Q{k}_{tag}"
        export[f"odi_{item}_{tp}"] = export[f"odi_{item}_{tp}"] + 1  # form coded 1–6
for side in ("back", "leg"):
    for tp, tag in (("0m", "pre"), ("1m", "1m"), ("3m", "3m"), ("12m", "12m")):
        ren[f"nrs_{side}_{tp}"] = f"VAS_{side}_{tag}"
        export[f"nrs_{side}_{tp}"] = export[f"nrs_{side}_{tp}"] * 10  # 0–100 mm VAS
export["symptom_duration_months"] = (export["symptom_duration_months"] * 52.1775 / 12).round(6)
export["sex"] = export["sex"].map({"male": "M", "female": "F"})
export["region"] = export["region"].map({"lumbar": "L", "cervical": "C"})
export = export.rename(columns=ren)
# three deliberately bad rows: an impossible age, an unknown sex code, a duplicated id
export.loc[10, "Age"] = 250
export.loc[11, "Gender"] = "X"
export.loc[12, "PatID"] = export.loc[13, "PatID"]
export.to_csv(out, index=False)
print(f"wrote {len(export):,} rows × {export.shape[1]} columns to {out}")
