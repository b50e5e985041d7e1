"""Reference values for prom.validation.sample_size from the authors' ``pmsampsize``.

``pmsampsize`` 0.1.0 (PyPI; Whittle & Ensor, the Python port of Ensor's R package that
implements Riley et al., Stat Med 2019; 38:1276 and BMJ 2020; 368:m441). It is not a
project dependency; to regenerate, unpack its wheel (and tabulate's, which it imports
for printing) somewhere and put that on PYTHONPATH:

    pip download --no-deps pmsampsize==0.1.0 tabulate==0.9.0 -d /tmp/pmss
    cd /tmp/pmss && for w in *.whl; do python -m zipfile -e "$w" .; done
    PYTHONPATH=/tmp/pmss .venv/bin/python tests/reference/validation/make_sample_size_reference.py

Writes, next to this file:

  sample_size_ref.csv   parameters, prevalence, r2_cs, n1, n2, n3, n_final,
                        shrinkage_2, max_r2, nag_r2, events, epp
      pmsampsize(type="b", csrsquared=r2_cs, parameters=, prevalence=) for a grid of
      inputs (R² given directly, so no rounding by pmsampsize).
  cstat_ref.csv         c_statistic, prevalence, r2_cs_simulated
      pmsampsize's cstat2rsq(): R²_cs of one simulated million patients (seed 123456),
      unrounded.
"""

from __future__ import annotations

import contextlib
import io
from pathlib import Path

import pandas as pd
from pmsampsize.pmsampsize import cstat2rsq, pmsampsize

OUT = Path(__file__).resolve().parent

GRID = [  # (parameters, prevalence, r2_cs)
    (24, 0.174, 0.288),  # the binary example of Riley et al. 2020 / the pmsampsize help
    (10, 0.05, 0.02),
    (10, 0.05, 0.05),
    (20, 0.1, 0.08),
    (30, 0.2, 0.1),
    (40, 0.3, 0.15),
    (15, 0.5, 0.25),
    (8, 0.5, 0.4),
    (60, 0.25, 0.05),
    (5, 0.02, 0.01),
    (100, 0.4, 0.2),
    (12, 0.7, 0.12),
]
CSTAT = [(0.89, 0.174), (0.7, 0.1), (0.75, 0.3), (0.8, 0.5), (0.65, 0.05)]


def main() -> None:
    rows = []
    for p, prev, r2 in GRID:
        with contextlib.redirect_stdout(io.StringIO()):
            r = pmsampsize(type="b", csrsquared=r2, parameters=p, prevalence=prev)
        tab = r["results_table"]
        rows.append(
            {
                "parameters": p,
                "prevalence": prev,
                "r2_cs": r2,
                "n1": tab[0][1],
                "n2": tab[1][1],
                "n3": tab[2][1],
                "n_final": r["sample_size"],
                "shrinkage_2": repr(tab[1][2]),
                "max_r2": repr(r["max_r2a"]),
                "nag_r2": repr(r["nag_r2"]),
                "events": repr(r["events"]),
                "epp": repr(r["EPP"]),
            }
        )
    pd.DataFrame(rows).to_csv(OUT / "sample_size_ref.csv", index=False)
    rows = []
    for c, prev in CSTAT:
        r2 = cstat2rsq(cstatistic=c, prevalence=prev, seed=123456, noprint=True)["R2_coxsnell"]
        rows.append({"c_statistic": c, "prevalence": prev, "r2_cs_simulated": repr(float(r2))})
    pd.DataFrame(rows).to_csv(OUT / "cstat_ref.csv", index=False)


if __name__ == "__main__":
    main()
