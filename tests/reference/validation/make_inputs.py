"""Write the fixed input CSVs that make_reference.R reads (seeded; run once).

    .venv/bin/python tests/reference/validation/make_inputs.py

Writes, next to this file, every number with 17 significant digits:

  optimism_inputs.csv  x1, x2, x3, x4, y
      n = 150 from logit P(y = 1) = -0.5 + 0.8 x1 - 0.5 x2 (x3, x4 noise), x1..x4
      standard normal: a small data set on which a 4-predictor logistic model is
      noticeably optimistic, for rms::validate.
  meta_inputs.csv      set, yi, sei
      "hetero": 7 estimates with clear between-study heterogeneity (tau2 > 0);
      "homog":  5 estimates more alike than their standard errors (DL tau2 truncated at 0);
      "two":    2 estimates (no prediction interval).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

OUT = Path(__file__).resolve().parent


def fmt(x):
    return np.char.mod("%.17g", np.asarray(x, dtype=float))


def optimism_inputs() -> pd.DataFrame:
    rng = np.random.default_rng(20260301)
    n = 150
    X = rng.normal(size=(n, 4))
    lp = -0.5 + 0.8 * X[:, 0] - 0.5 * X[:, 1]
    y = rng.binomial(1, 1 / (1 + np.exp(-lp)))
    df = pd.DataFrame({f"x{j + 1}": fmt(X[:, j]) for j in range(4)})
    df["y"] = y
    return df


def meta_inputs() -> pd.DataFrame:
    rng = np.random.default_rng(20260302)
    sets = []
    yi = 1.2 + rng.normal(0, 0.35, 7) + rng.normal(0, 0.1, 7)
    sets.append(pd.DataFrame({"set": "hetero", "yi": yi, "sei": rng.uniform(0.08, 0.2, 7)}))
    yi = 0.9 + rng.normal(0, 0.02, 5)
    sets.append(pd.DataFrame({"set": "homog", "yi": yi, "sei": rng.uniform(0.1, 0.3, 5)}))
    sets.append(pd.DataFrame({"set": "two", "yi": [0.2, 0.5], "sei": [0.1, 0.15]}))
    df = pd.concat(sets, ignore_index=True)
    df["yi"] = fmt(df["yi"])
    df["sei"] = fmt(df["sei"])
    return df


if __name__ == "__main__":
    optimism_inputs().to_csv(OUT / "optimism_inputs.csv", index=False)
    meta_inputs().to_csv(OUT / "meta_inputs.csv", index=False)
