"""Time to surgery: Cox proportional hazards and Kaplan–Meier curves (lifelines).

:class:`PromCoxModel` fits ``lifelines.CoxPHFitter`` (Breslow baseline, Efron ties) on
the same design as the logistic baseline — reference-coded categories (most frequent level
as reference), median imputation with missing indicators, optional restricted cubic
splines, no scaling, so a hazard ratio is per unit of the predictor — in a small
scikit-learn-style wrapper: ``fit(X, y)``, ``predict(X)`` (log partial hazard: higher
means earlier surgery), ``predict_survival(X, times)``, ``predict_risk(X, horizon)``
(``1 - S(horizon)``), ``score(X, y)`` (Harrell's C), ``summary()`` (hazard ratios with
Wald intervals) and ``partial_effects(variable)``.

``y`` is what :func:`prom.outcomes.derive_label` returns for a survival task (a DataFrame
with ``time`` and ``event``), or any two-column array ``[time, event]``.

``penalizer`` (lifelines' ``penalizer``, with ``l1_ratio``) adds a ridge/lasso penalty
``penalizer * (l1_ratio |b| + (1 - l1_ratio) b²/2)``; a small value (0.01–0.1) keeps
estimates finite when a rare level has no events. With the default 0 the hazard ratios are
the partial-likelihood MLE (as R's ``survival::coxph(ties = "efron")``).

:func:`kaplan_meier_curves` gives Kaplan–Meier survival with pointwise intervals per group
as a tidy table (``lifelines.KaplanMeierFitter``; its intervals are the exponential
Greenwood ("log-log") ones; :func:`prom.validation.kaplan_meier` gives R's default "log"
intervals at chosen times).
"""

from __future__ import annotations

import numbers

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator
from sklearn.utils.validation import check_is_fitted

from prom.errors import PromError, format_rows
from prom.models._inputs import as_column_list, infer_kinds, to_frame
from prom.models.estimator import _refuse_non_predictors
from prom.models.preprocess import Preprocessor

__all__ = ["PromCoxModel", "kaplan_meier_curves", "CoxFitError", "survival_target"]

_TIME, _EVENT = "__prom_time", "__prom_event"


class CoxFitError(PromError, ValueError):
    """The Cox partial-likelihood fit did not converge."""


def survival_target(y, index=None) -> tuple[np.ndarray, np.ndarray]:
    """``(time, event)`` float arrays from a DataFrame with ``time``/``event``, a structured
    array with two fields, or an (n, 2) array; missing or invalid values name the rows."""
    if isinstance(y, pd.DataFrame):
        if {"time", "event"} <= set(y.columns):
            time, event = y["time"], y["event"]
        elif y.shape[1] == 2:
            time, event = y.iloc[:, 0], y.iloc[:, 1]
        else:
            raise ValueError(
                f"y has columns {', '.join(map(str, y.columns))}; expected 'time' and 'event' "
                "(as derive_label returns for a survival task)")
        time = time.to_numpy(dtype=float, na_value=np.nan)
        event = event.to_numpy(dtype=float, na_value=np.nan)
    elif isinstance(y, np.ndarray) and y.dtype.names and len(y.dtype.names) == 2:
        a, b = y.dtype.names
        first_bool = y.dtype[a].kind == "b"
        event = np.asarray(y[a if first_bool else b], dtype=float)
        time = np.asarray(y[b if first_bool else a], dtype=float)
    elif y is None:
        raise ValueError("requires y to be passed, but the target y is None")
    else:
        arr = np.asarray(y, dtype=float)
        if arr.ndim != 2 or arr.shape[1] != 2:
            raise ValueError(f"y must have two columns (time, event); got shape {arr.shape}")
        time, event = arr[:, 0], arr[:, 1]
    rows = index if index is not None and len(index) == time.size else np.arange(time.size)
    bad = np.isnan(time) | np.isnan(event)
    if bad.any():
        raise ValueError(
            f"y has {int(bad.sum())} row(s) without time or event ({format_rows(list(rows[bad]))}); "
            "fit on rows with a survival label (derive_label(...)['time'].notna())")
    if (time < 0).any() or not np.isfinite(time).all():
        neg = (time < 0) | ~np.isfinite(time)
        raise ValueError(
            f"{int(neg.sum())} time(s) are negative or infinite ({format_rows(list(rows[neg]))}); "
            "expected follow-up times ≥ 0")
    if not np.isin(event, (0.0, 1.0)).all():
        raise ValueError("event must be 0 (censored) or 1 (event)")
    if event.sum() == 0:
        raise ValueError(f"y has no events among {time.size} rows; a Cox model needs events")
    return time, event


class PromCoxModel(BaseEstimator):
    """Cox proportional-hazards model on the shared preprocessing (see module docstring).

    Parameters
    ----------
    predictors : list of str or None — columns to use (by name), as for PromClassifier.
    penalizer, l1_ratio : float — lifelines' penalty (0: none).
    splines : bool — restricted cubic splines for continuous predictors.
    horizon : float — default time for ``predict_risk`` (months; 24 = two years).
    level : float — confidence level of ``summary()``.

    Attributes
    ----------
    preprocessor_, cox_ (the fitted ``CoxPHFitter``), feature_names_ (design columns),
    n_features_in_, feature_names_in_.
    """

    def __init__(self, predictors=None, penalizer=0.0, l1_ratio=0.0, splines=False,
                 horizon=24.0, level=0.95):
        self.predictors = predictors
        self.penalizer = penalizer
        self.l1_ratio = l1_ratio
        self.splines = splines
        self.horizon = horizon
        self.level = level

    def fit(self, X, y):
        from lifelines import CoxPHFitter
        from lifelines.exceptions import ConvergenceError

        for name, value, lo, hi in (("penalizer", self.penalizer, 0, np.inf),
                                    ("l1_ratio", self.l1_ratio, 0, 1),
                                    ("horizon", self.horizon, 0, np.inf)):
            if not isinstance(value, numbers.Real) or not lo <= value <= hi:
                raise ValueError(f"{name}={value!r}; expected a number in [{lo}, {hi}]")
        if not 0 < self.level < 1:
            raise ValueError(f"level={self.level!r}; expected a number between 0 and 1")
        frame = to_frame(self, X, as_column_list(self.predictors, "predictors"), reset=True)
        _refuse_non_predictors(frame.columns)
        time, event = survival_target(y, frame.index)
        if time.size != len(frame):
            raise ValueError(f"X has {len(frame)} rows but y has {time.size}")
        numeric, categorical = infer_kinds(frame)
        pre = Preprocessor(numeric=numeric, categorical=categorical, splines=bool(self.splines),
                           drop_reference=True).fit(frame)
        names = list(pre.feature_names_out_)
        data = pd.DataFrame(pre.transform(frame), columns=names)
        data[_TIME] = time
        data[_EVENT] = event
        cph = CoxPHFitter(penalizer=float(self.penalizer), l1_ratio=float(self.l1_ratio),
                          alpha=1 - self.level)
        try:
            # precision 1e-10 (lifelines: 1e-7) so estimates match R's coxph to ~1e-8
            cph.fit(data, duration_col=_TIME, event_col=_EVENT,
                    fit_options={"precision": 1e-10})
        except ConvergenceError as e:
            raise CoxFitError(
                f"the Cox fit did not converge ({str(e).splitlines()[0]}). Usually a level or "
                "indicator with no events, or collinear columns; try penalizer=0.01–0.1, merge "
                "rare levels, or drop the column.") from None
        self.preprocessor_ = pre
        self.cox_ = cph
        self.feature_names_ = names
        return self

    def _design(self, X) -> pd.DataFrame:
        check_is_fitted(self, "cox_")
        frame = to_frame(self, X, as_column_list(self.predictors, "predictors"), reset=False)
        return pd.DataFrame(self.preprocessor_.transform(frame), columns=self.feature_names_,
                            index=frame.index)

    def predict(self, X) -> np.ndarray:
        """Log partial hazard (centred at the training means): higher = earlier event."""
        return np.asarray(self.cox_.predict_log_partial_hazard(self._design(X)), dtype=float)

    def predict_survival(self, X, times=None) -> pd.DataFrame:
        """Survival probabilities, rows × ``times`` (default: ``[horizon]``)."""
        times = [float(self.horizon)] if times is None else [float(t) for t in np.atleast_1d(times)]
        design = self._design(X)
        sf = self.cox_.predict_survival_function(design, times=times)
        return pd.DataFrame(sf.to_numpy().T, index=design.index, columns=times)

    def predict_risk(self, X, horizon=None) -> np.ndarray:
        """Probability of the event by ``horizon`` (default: the ``horizon`` parameter)."""
        h = float(self.horizon if horizon is None else horizon)
        return 1.0 - self.predict_survival(X, [h]).to_numpy()[:, 0]

    def score(self, X, y) -> float:
        """Harrell's C of the log partial hazard (see :func:`prom.validation.harrell_c`)."""
        from prom.validation import harrell_c

        time, event = survival_target(y)
        return harrell_c(time, event, self.predict(X))

    def summary(self) -> pd.DataFrame:
        """One row per design column: coefficient, hazard ratio, Wald interval, p value."""
        check_is_fitted(self, "cox_")
        s = self.cox_.summary
        groups = self.preprocessor_.feature_groups_
        lo_col = [c for c in s.columns if c.startswith("exp(coef) lower")][0]
        hi_col = [c for c in s.columns if c.startswith("exp(coef) upper")][0]
        return pd.DataFrame({
            "feature": list(s.index),
            "variable": [groups[f] for f in s.index],
            "coef": s["coef"].to_numpy(),
            "se": s["se(coef)"].to_numpy(),
            "hazard_ratio": s["exp(coef)"].to_numpy(),
            "ci_low": s[lo_col].to_numpy(),
            "ci_high": s[hi_col].to_numpy(),
            "p_value": s["p"].to_numpy(),
        })

    def reference_row(self) -> pd.DataFrame:
        """A typical patient: training median of numeric inputs, most frequent level otherwise."""
        check_is_fitted(self, "cox_")
        row = {}
        for c, r in self.preprocessor_.training_ranges_.items():
            if r["kind"] == "numeric":
                row[c] = [np.nan if r["median"] is None else r["median"]]
            else:
                freqs = r["frequencies"]
                row[c] = [r["categories"][int(np.argmax([freqs[str(k)] for k in r["categories"]]))]
                          if r["categories"] else None]
        cols = list(self.feature_names_in_)
        return pd.DataFrame(row)[cols]

    def partial_effects(self, variable: str, values=None, horizon=None) -> pd.DataFrame:
        """Predicted risk by ``horizon`` as one predictor varies, the others held typical.

        ``values`` default: the 1st, 25th, 50th, 75th and 99th training percentiles of a
        numeric predictor (interpolated between its p01, median and p99 when only those are
        stored) or every level of a categorical one. Returns ``variable``, ``value``,
        ``survival``, ``risk`` and ``hazard_ratio`` against the typical patient.
        """
        ref = self.reference_row()
        if variable not in ref.columns:
            raise ValueError(f"{variable!r} is not a predictor of this model; predictors are "
                             f"{', '.join(ref.columns)}")
        r = self.preprocessor_.training_ranges_[variable]
        if values is None:
            if r["kind"] == "numeric":
                values = list(np.unique(np.interp([0, 0.25, 0.5, 0.75, 1], [0, 0.5, 1],
                                                  [r["p01"], r["median"], r["p99"]])))
            else:
                values = list(r["categories"])
        h = float(self.horizon if horizon is None else horizon)
        rows = pd.concat([ref] * len(values), ignore_index=True)
        rows[variable] = pd.Series(list(values), dtype=object if r["kind"] != "numeric" else float)
        surv = self.predict_survival(rows, [h]).to_numpy()[:, 0]
        lp = self.predict(rows)
        lp_ref = self.predict(ref)[0]
        return pd.DataFrame({"variable": variable, "value": list(values), "survival": surv,
                             "risk": 1 - surv, "hazard_ratio": np.exp(lp - lp_ref)})


def kaplan_meier_curves(time, event, groups=None, level: float = 0.95) -> pd.DataFrame:
    """Kaplan–Meier survival per group as a tidy table (lifelines ``KaplanMeierFitter``).

    Columns: ``group`` (``"all"`` without groups), ``time`` (0 and every event or censoring
    time), ``survival``, ``ci_low``, ``ci_high``, ``at_risk``, ``events``, ``censored``.
    Rows with a missing time, event or group are refused (counted in the message).
    """
    from lifelines import KaplanMeierFitter

    if not 0 < level < 1:
        raise ValueError(f"level={level!r}; expected a number between 0 and 1")
    t, e = survival_target(np.column_stack([np.asarray(time, dtype=float),
                                            np.asarray(event, dtype=float)]))
    g = np.full(t.size, "all", dtype=object) if groups is None else \
        pd.Series(groups).astype(object).to_numpy()
    if g.size != t.size:
        raise ValueError(f"{g.size} group labels for {t.size} rows")
    if pd.isna(g).any():
        raise ValueError(f"{int(pd.isna(g).sum())} row(s) have no group; drop or label them")
    frames = []
    for name in pd.unique(g):
        m = g == name
        km = KaplanMeierFitter(alpha=1 - level).fit(t[m], e[m], label=str(name))
        sf = km.survival_function_.iloc[:, 0]
        ci = km.confidence_interval_
        table = km.event_table
        frames.append(pd.DataFrame({
            "group": name,
            "time": sf.index.to_numpy(dtype=float),
            "survival": sf.to_numpy(),
            "ci_low": ci.iloc[:, 0].to_numpy(),
            "ci_high": ci.iloc[:, 1].to_numpy(),
            "at_risk": table["at_risk"].reindex(sf.index).to_numpy(),
            "events": table["observed"].reindex(sf.index).to_numpy(),
            "censored": table["censored"].reindex(sf.index).to_numpy(),
        }))
    return pd.concat(frames, ignore_index=True)
