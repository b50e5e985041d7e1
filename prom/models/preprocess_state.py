"""The :class:`~prom.models.preprocess.Preprocessor`'s fitted state as plain JSON.

A model bundle keeps a fitted Preprocessor as this state (``Preprocessor.get_state`` /
``Preprocessor.from_state``), never pickled: format ``prom.models.Preprocessor``,
version 1 — the parameters, the columns read, the design plan (:mod:`prom.models.design`),
knots, kept columns and their names, scaling, the training design means and the
training summaries (:mod:`prom.models.ranges`). A state saved before the design means
were recorded reads with ``design_mean_`` ``None``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from prom.models.state_format import check_state_header

__all__ = ["STATE_FORMAT", "STATE_VERSION", "preprocessor_state", "read_preprocessor_state"]

STATE_FORMAT = "prom.models.Preprocessor"
STATE_VERSION = 1


def fitted_summaries(pre: Any, what: str) -> dict[str, Any]:
    """``pre.training_ranges_``, or a clear error for a Preprocessor fitted with
    ``summaries=False`` (inside resampling), which has none to give."""
    if pre.training_ranges_ is None:
        raise ValueError(
            f"{what} needs the training summaries, and this preprocessor was fitted with "
            "summaries=False (for resampling only); fit it with summaries=True"
        )
    return pre.training_ranges_


def preprocessor_state(pre: Any) -> dict[str, Any]:
    """Everything a fitted Preprocessor learned, as JSON-serialisable data (no NaN, no
    numpy types)."""
    ranges = fitted_summaries(pre, "get_state()")
    params = pre.get_params()
    for key in ("numeric", "categorical"):
        if params[key] is not None:
            params[key] = list(params[key])
    if not isinstance(params["splines"], (bool, np.bool_)):
        params["splines"] = list(params["splines"])
    else:
        params["splines"] = bool(params["splines"])
    return {
        "format": STATE_FORMAT,
        "version": STATE_VERSION,
        "params": params,
        "n_features_in": int(pre.n_features_in_),
        "feature_names_in": (
            list(pre.feature_names_in_) if hasattr(pre, "feature_names_in_") else None
        ),
        "numeric": list(pre.numeric_),
        "categorical": list(pre.categorical_),
        "plan": pre.plan_,
        "knots": pre.knots_,
        "keep": list(pre.keep_),
        "feature_names_out": list(pre.feature_names_out_),
        "feature_groups": dict(pre.feature_groups_),
        "dropped_features": dict(pre.dropped_features_),
        "center": pre.center_,
        "scale": pre.scale_,
        "design_mean": pre.design_mean_,
        "training_ranges": ranges,
    }


def read_preprocessor_state(state: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    """``(params, fitted)`` of a state: the constructor's parameters and the fitted
    attributes (name → value) to set on the new instance."""
    check_state_header(state, "Preprocessor", STATE_FORMAT, STATE_VERSION)
    fitted: dict[str, Any] = {"n_features_in_": int(state["n_features_in"])}
    if state["feature_names_in"] is not None:
        fitted["feature_names_in_"] = np.asarray(state["feature_names_in"], dtype=object)
    fitted.update(
        numeric_=list(state["numeric"]),
        categorical_=list(state["categorical"]),
        plan_=state["plan"],
        knots_=dict(state["knots"]),
        keep_=[int(j) for j in state["keep"]],
        feature_names_out_=np.asarray(state["feature_names_out"], dtype=object),
        feature_groups_=dict(state["feature_groups"]),
        dropped_features_=dict(state["dropped_features"]),
        center_=state["center"],
        scale_=state["scale"],
        design_mean_=state.get("design_mean"),  # absent from states saved before it
        training_ranges_=state["training_ranges"],
    )
    return dict(state["params"]), fitted
