"""Write the fixed input CSVs that make_reference.R reads (seeded; run once).

    .venv/bin/python tests/reference/metrics/make_inputs.py

Writes, next to this file, every number with 17 significant digits so that doubles
survive the round trip to R and back exactly:

  binary_inputs.csv    dataset, y, p1, p2
      "main":  n = 500, a true risk expit(-1 + 1.2 x); p1 = expit(-0.8 + 0.9 x) is
               moderately miscalibrated (too high on average, too flat); p2 is a weaker,
               noisier second predictor rounded to 2 decimals (ties) for DeLong's test.
      "ties":  n = 120, p1 and p2 rounded to 1 decimal: many tied predictions (AUC
               half-credit, lowess on tied x, approx(ties = mean)).
  survival_inputs.csv  time, event, risk, surv_t, group
      n = 400; Weibull event times and uniform censoring, both rounded up to whole
      months (ties in time, events tied with censorings); risk is the linear predictor
      rounded to 1 decimal (ties in risk); surv_t is a model's predicted survival at
      24 months; group is the tenth of surv_t (1 = lowest predicted survival) computed
      here with pandas ranks, for the grouped Kaplan-Meier reference.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

OUT = Path(__file__).resolve().parent


def expit(z):
    return 1.0 / (1.0 + np.exp(-z))


def fmt(x):
    return np.char.mod("%.17g", np.asarray(x, dtype=float))


def binary() -> pd.DataFrame:
    rng = np.random.default_rng(20250611)
    n = 500
    x = rng.normal(size=n)
    y = rng.binomial(1, expit(-1.0 + 1.2 * x))
    p1 = expit(-0.8 + 0.9 * x)
    p2 = np.round(expit(-1.0 + 0.6 * x + rng.normal(scale=0.8, size=n)), 2)
    p2 = np.clip(p2, 0.01, 0.99)
    main = pd.DataFrame({"dataset": "main", "y": y, "p1": fmt(p1), "p2": fmt(p2)})

    m = 120
    x = rng.normal(size=m)
    y = rng.binomial(1, expit(-0.3 + 1.0 * x))
    q1 = np.clip(np.round(expit(-0.2 + 1.1 * x), 1), 0.05, 0.95)
    q2 = np.clip(np.round(expit(-0.3 + 0.5 * x + rng.normal(scale=1.0, size=m)), 1), 0.05, 0.95)
    ties = pd.DataFrame({"dataset": "ties", "y": y, "p1": fmt(q1), "p2": fmt(q2)})
    return pd.concat([main, ties], ignore_index=True)


def survival() -> pd.DataFrame:
    rng = np.random.default_rng(20250612)
    n = 400
    x1 = rng.normal(size=n)
    x2 = rng.binomial(1, 0.4, size=n)
    lp = 0.7 * x1 + 0.5 * x2
    shape, scale = 1.3, 40.0
    # Weibull PH: S(t | lp) = exp(-(t / scale)^shape * exp(lp))
    u = rng.uniform(size=n)
    t_event = scale * (-np.log(u) * np.exp(-lp)) ** (1 / shape)
    t_cens = rng.uniform(5, 70, size=n)
    time = np.ceil(np.minimum(t_event, t_cens))
    event = (t_event <= t_cens).astype(int)
    risk = np.round(lp, 1)
    # a somewhat miscalibrated model's predicted survival at 24 months
    surv_t = np.exp(-((24 / (scale * 1.1)) ** shape) * np.exp(0.85 * lp))
    # group g = 1..10 by ascending predicted survival (1 = highest risk), tied values kept
    # together: g = floor((min-rank - 1) * 10 / n) + 1
    group = (pd.Series(surv_t).rank(method="min").astype(int) - 1) * 10 // n + 1
    return pd.DataFrame(
        {
            "time": fmt(time),
            "event": event,
            "risk": fmt(risk),
            "surv_t": fmt(surv_t),
            "group": group.astype(int),
        }
    )


if __name__ == "__main__":
    binary().to_csv(OUT / "binary_inputs.csv", index=False)
    survival().to_csv(OUT / "survival_inputs.csv", index=False)
    print("wrote", OUT / "binary_inputs.csv", OUT / "survival_inputs.csv")
