"""A fitted :class:`~prom.models.survival.PromCoxModel` as plain JSON (a bundle's ``cox-json``).

Format ``prom.models.PromCoxModel``, version 1: the parameters, the columns read, the
preprocessor's state (:mod:`prom.models.preprocess_state`), the coefficients and the
design means they are centred at (by design column), the Breslow baseline cumulative
hazard on its time grid, the coefficient table ``summary()`` shows, the penalty (and its
search) and the training counts. A loaded model predicts exactly as the fitted one,
without lifelines; a state whose parts disagree (coefficients for other design columns,
a baseline that is not a cumulative hazard) is refused.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from prom.models.preprocess import Preprocessor
from prom.models.state_format import check_state_header

__all__ = ["STATE_FORMAT", "STATE_VERSION", "TABLE_COLUMNS", "cox_state", "read_cox_state"]

STATE_FORMAT = "prom.models.PromCoxModel"
STATE_VERSION = 1
#: The numeric columns of the coefficient table (``PromCoxModel.summary()``).
TABLE_COLUMNS = ("coef", "se", "hazard_ratio", "ci_low", "ci_high", "p_value")


def cox_state(model: Any) -> dict[str, Any]:
    """Everything a fitted PromCoxModel learned, as plain JSON data."""
    params = model.get_params()
    if params["predictors"] is not None:
        params["predictors"] = list(params["predictors"])
    params["penalizer_grid"] = [float(v) for v in np.atleast_1d(params["penalizer_grid"])]
    table = model.coef_table_
    return {
        "format": STATE_FORMAT,
        "version": STATE_VERSION,
        "params": params,
        "n_features_in": int(model.n_features_in_),
        "feature_names_in": list(model.feature_names_in_),
        "preprocessor": model.preprocessor_.get_state(),
        "coefficients": dict(zip(model.feature_names_, model.coef_.tolist(), strict=True)),
        "center": dict(zip(model.feature_names_, model.center_.tolist(), strict=True)),
        "baseline": {
            "estimator": "breslow",
            "source": model.baseline_source_,
            "time": model.baseline_time_.tolist(),
            "cumulative_hazard": model.baseline_cumulative_hazard_.tolist(),
        },
        "coefficient_table": {
            "feature": list(table["feature"]),
            "variable": list(table["variable"]),
            **{c: table[c].tolist() for c in TABLE_COLUMNS},
        },
        "penalizer": model.penalizer_,
        "penalizer_search": model.penalizer_search_,
        "n": model.n_train_,
        "n_events": model.n_events_,
        "max_time": model.max_time_,
    }


def read_cox_state(state: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    """``(params, fitted)`` of a state: the constructor's parameters and the fitted
    attributes (name → value) to set on the new instance."""
    check_state_header(state, "PromCoxModel", STATE_FORMAT, STATE_VERSION)
    pre = Preprocessor.from_state(state["preprocessor"])
    names = list(pre.feature_names_out_)
    for key in ("coefficients", "center"):
        if list(state[key]) != names:
            raise ValueError(
                f"PromCoxModel state: {key!r} names design columns "
                f"{', '.join(list(state[key])[:5])}…; the preprocessor makes "
                f"{', '.join(names[:5])}… (expected the same columns in the same order)"
            )
    base = state["baseline"]
    t = np.asarray(base["time"], dtype=float)
    h = np.asarray(base["cumulative_hazard"], dtype=float)
    if (
        t.ndim != 1
        or t.shape != h.shape
        or t.size == 0
        or np.any(np.diff(t) <= 0)
        or np.any(np.diff(h) < 0)
        or t[0] < 0
        or not np.isfinite(h).all()
    ):
        raise ValueError(
            "PromCoxModel state: the baseline needs equal-length time and "
            "cumulative_hazard arrays, times increasing from ≥ 0 and a non-decreasing, "
            f"finite hazard; got {t.size} time(s) and {h.size} value(s)"
        )
    tab = state["coefficient_table"]
    fitted = {
        "n_features_in_": int(state["n_features_in"]),
        "feature_names_in_": np.asarray(state["feature_names_in"], dtype=object),
        "preprocessor_": pre,
        "feature_names_": names,
        "coef_": np.asarray([state["coefficients"][c] for c in names], dtype=float),
        "center_": np.asarray([state["center"][c] for c in names], dtype=float),
        "baseline_time_": t,
        "baseline_cumulative_hazard_": h,
        "baseline_source_": str(base["source"]),
        "coef_table_": pd.DataFrame(
            {
                "feature": tab["feature"],
                "variable": tab["variable"],
                **{c: np.asarray(tab[c], dtype=float) for c in TABLE_COLUMNS},
            }
        ),
        "penalizer_": float(state["penalizer"]),
        "penalizer_search_": state["penalizer_search"],
        "n_train_": int(state["n"]),
        "n_events_": int(state["n_events"]),
        "max_time_": float(state["max_time"]),
    }
    return dict(state["params"]), fitted
