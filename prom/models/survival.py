"""Time to surgery: Cox proportional hazards and Kaplan–Meier curves (lifelines).

:class:`PromCoxModel` fits ``lifelines.CoxPHFitter`` (Breslow baseline, Efron ties) on
the same design as the logistic baseline — reference-coded categories (most frequent level
as reference), median imputation with missing indicators, optional restricted cubic
splines, no scaling, so a hazard ratio is per unit of the predictor — in a small
scikit-learn-style wrapper: ``fit(X, y)``, ``predict(X)`` (log partial hazard: higher
means earlier surgery), ``predict_survival(X, times)``, ``predict_risk(X, horizon)``
(``1 - S(horizon)``), ``score(X, y)`` (Harrell's C), ``summary()`` (hazard ratios with
Wald intervals) and ``partial_effects(variable)``.

Prediction does not call lifelines. After the fit the model keeps what lifelines computed —
the coefficients, the design means it centres at, and the Breslow baseline cumulative
hazard ``H0`` on lifelines' grid (every distinct training time) — and predicts as lifelines
does: ``lp = (x - mean) · b``, ``S(t | x) = exp(-H0(t) exp(lp))`` with ``H0`` interpolated
linearly between grid times (``numpy.interp``, as lifelines' ``predict_survival_function``)
and carried flat after the last training time (with a ``StatisticalWarning``). One
deliberate difference: before the first training time ``H0`` rises linearly from
``H0(0) = 0``, where lifelines holds the value at the first time. ``get_state`` /
``from_state`` store all of it as plain JSON (a model bundle's ``cox-json`` format), so a
loaded model predicts exactly as the fitted one, without lifelines.

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
import warnings

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator
from sklearn.utils.validation import check_is_fitted

from prom.errors import PromError, StatisticalWarning, format_rows
from prom.models.inputs import as_column_list, infer_kinds, refuse_non_predictors, to_frame
from prom.models.preprocess import Preprocessor
from prom.models.ranges import (
    CategoricalRange,
    NumericRange,
    read_training_ranges,
    training_range,
)

__all__ = [
    "PromCoxModel",
    "kaplan_meier_curves",
    "breslow_cumulative_hazard",
    "CoxFitError",
    "partial_log_likelihood",
    "survival_target",
    "PENALIZER_GRID",
]

_TIME, _EVENT = "__prom_time", "__prom_event"
#: Ridge penalties tried by ``penalizer="cv"`` (lifelines' scale: the design is standardised
#: and the log partial likelihood divided by n before the penalty is added).
PENALIZER_GRID = (0.01, 0.03, 0.1, 0.3)
STATE_FORMAT = "prom.models.PromCoxModel"
STATE_VERSION = 1
_TABLE_COLUMNS = ("coef", "se", "hazard_ratio", "ci_low", "ci_high", "p_value")


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
                "(as derive_label returns for a survival task)"
            )
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
            "fit on rows with a survival label (derive_label(...)['time'].notna())"
        )
    if (time < 0).any() or not np.isfinite(time).all():
        neg = (time < 0) | ~np.isfinite(time)
        raise ValueError(
            f"{int(neg.sum())} time(s) are negative or infinite ({format_rows(list(rows[neg]))}); "
            "expected follow-up times ≥ 0"
        )
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
    penalizer, l1_ratio : float — lifelines' penalty (0: none); ``penalizer="cv"`` picks
        it from ``penalizer_grid`` by ``inner_cv``-fold cross-validated partial likelihood
        (folds shuffled with ``random_state``; the choice is ``penalizer_``, the grid's
        scores ``penalizer_search_``).
    penalizer_grid, inner_cv, random_state — the search of ``penalizer="cv"`` (unused
        otherwise).
    splines : bool — restricted cubic splines for continuous predictors.
    horizon : float — default time for ``predict_risk`` (months; 24 = two years).
    level : float — confidence level of ``summary()``.

    Attributes
    ----------
    preprocessor_, feature_names_ (design columns), coef_ and center_ (per design column),
    baseline_time_ and baseline_cumulative_hazard_ (Breslow ``H0`` on the training-time
    grid), coef_table_ (what ``summary()`` returns), penalizer_, penalizer_search_,
    n_train_, n_events_, max_time_,
    baseline_source_ (``"training"`` or how it was re-estimated), n_features_in_,
    feature_names_in_; after ``fit`` (not after ``from_state``) also cox_, the
    lifelines ``CoxPHFitter``.
    """

    def __init__(
        self,
        predictors=None,
        penalizer=0.0,
        l1_ratio=0.0,
        splines=False,
        horizon=24.0,
        level=0.95,
        penalizer_grid=PENALIZER_GRID,
        inner_cv=3,
        random_state=0,
    ):
        self.predictors = predictors
        self.penalizer = penalizer
        self.l1_ratio = l1_ratio
        self.splines = splines
        self.horizon = horizon
        self.level = level
        self.penalizer_grid = penalizer_grid
        self.inner_cv = inner_cv
        self.random_state = random_state

    def _check_params(self) -> None:
        checks = [("l1_ratio", self.l1_ratio, 0, 1), ("horizon", self.horizon, 0, np.inf)]
        if self.penalizer == "cv":
            grid = np.atleast_1d(np.asarray(self.penalizer_grid, dtype=object))
            if grid.size == 0 or not all(isinstance(v, numbers.Real) and v >= 0 for v in grid):
                raise ValueError(f"penalizer_grid={self.penalizer_grid!r}; expected numbers ≥ 0")
            if not isinstance(self.inner_cv, numbers.Integral) or self.inner_cv < 2:
                raise ValueError(f"inner_cv={self.inner_cv!r}; expected an integer ≥ 2")
        else:
            checks.insert(0, ("penalizer", self.penalizer, 0, np.inf))
        for name, value, lo, hi in checks:
            if (
                isinstance(value, bool)
                or not isinstance(value, numbers.Real)
                or not lo <= value <= hi
            ):
                raise ValueError(
                    f"{name}={value!r}; expected a number in [{lo}, {hi}]"
                    + (" or 'cv'" if name == "penalizer" else "")
                )
        if not 0 < self.level < 1:
            raise ValueError(f"level={self.level!r}; expected a number between 0 and 1")

    def fit(self, X, y):
        self._check_params()
        frame = to_frame(self, X, as_column_list(self.predictors, "predictors"), reset=True)
        refuse_non_predictors(frame.columns)
        time, event = survival_target(y, frame.index)
        if time.size != len(frame):
            raise ValueError(f"X has {len(frame)} rows but y has {time.size}")
        if self.penalizer == "cv":
            self.penalizer_, self.penalizer_search_ = self._choose_penalizer(frame, time, event)
        else:
            self.penalizer_, self.penalizer_search_ = float(self.penalizer), None
        pre, cph, data, names = self._fit_lifelines(frame, time, event, self.penalizer_)
        self.preprocessor_ = pre
        self.cox_ = cph
        self.feature_names_ = names
        self.coef_ = cph.params_.loc[names].to_numpy(dtype=float)
        # lifelines centres the design at its training means (predict_log_partial_hazard)
        self.center_ = data[names].mean(axis=0).to_numpy(dtype=float)
        bch = cph.baseline_cumulative_hazard_
        self.baseline_time_ = bch.index.to_numpy(dtype=float)
        self.baseline_cumulative_hazard_ = bch.iloc[:, 0].to_numpy(dtype=float)
        self.coef_table_ = self._coef_table(cph.summary, pre.feature_groups_)
        self.n_train_ = int(time.size)
        self.n_events_ = int(event.sum())
        self.max_time_ = float(time.max())
        self.baseline_source_ = "training"
        return self

    def _fit_lifelines(self, frame, time, event, penalizer: float):
        from lifelines import CoxPHFitter
        from lifelines.exceptions import ConvergenceError, ConvergenceWarning

        numeric, categorical = infer_kinds(frame)
        pre = Preprocessor(
            numeric=numeric,
            categorical=categorical,
            splines=bool(self.splines),
            drop_reference=True,
        ).fit(frame)
        names = list(pre.feature_names_out_)
        data = pd.DataFrame(pre.transform(frame), columns=names)
        data[_TIME] = time
        data[_EVENT] = event
        cph = CoxPHFitter(penalizer=penalizer, l1_ratio=float(self.l1_ratio), alpha=1 - self.level)
        try:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always", ConvergenceWarning)
                # precision 1e-10 (lifelines: 1e-7) so estimates match R's coxph to ~1e-8
                cph.fit(
                    data, duration_col=_TIME, event_col=_EVENT, fit_options={"precision": 1e-10}
                )
        except ConvergenceError as e:
            raise CoxFitError(
                f"the Cox fit did not converge ({str(e).splitlines()[0]}). Usually a level or "
                "indicator with no events, or collinear columns; try penalizer=0.01–0.1 (or "
                "'cv'), merge rare levels, or drop the column."
            ) from None
        for w in caught:  # lifelines' convergence caveats are statistical ones
            if issubclass(w.category, ConvergenceWarning):
                warnings.warn(
                    f"Cox fit (penalizer {penalizer:g}): {_convergence_note(w.message)}",
                    StatisticalWarning,
                    stacklevel=4,
                )
            else:
                warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
        return pre, cph, data, names

    def _choose_penalizer(self, frame, time, event) -> tuple[float, list[dict]]:
        """The grid value with the largest cross-validated partial likelihood (Verweij &
        van Houwelingen 1993: sum over folds of l(b_-k) - l_-k(b_-k)), folds stratified
        by event; the whole model, preprocessing included, is refitted per fold."""
        from sklearn.base import clone
        from sklearn.model_selection import StratifiedKFold

        from prom.models.preprocess import UnknownCategoryWarning

        grid = [float(v) for v in np.atleast_1d(self.penalizer_grid)]
        folds = StratifiedKFold(
            n_splits=int(self.inner_cv), shuffle=True, random_state=self.random_state
        ).split(frame, event.astype(int))
        cvpl = np.zeros(len(grid))
        y = pd.DataFrame({"time": time, "event": event})
        for train, _ in folds:
            for i, p in enumerate(grid):
                inner = clone(self).set_params(penalizer=p)
                try:
                    with warnings.catch_warnings():
                        # a rare level or a weak column in one inner fold is expected here
                        warnings.simplefilter("ignore", UnknownCategoryWarning)
                        warnings.simplefilter("ignore", StatisticalWarning)
                        inner.fit(frame.iloc[train], y.iloc[train])
                        lp = inner.predict(frame)
                except CoxFitError:
                    cvpl[i] = -np.inf
                    continue
                cvpl[i] += partial_log_likelihood(time, event, lp) - partial_log_likelihood(
                    time[train], event[train], lp[train]
                )
        if not np.isfinite(cvpl).any():
            raise CoxFitError(
                f"the Cox fit failed in an inner fold for every penalizer in "
                f"{grid}; try larger values"
            )
        best = int(np.argmax(cvpl))
        return grid[best], [
            {"penalizer": p, "cv_partial_log_likelihood": float(v)} for p, v in zip(grid, cvpl)
        ]

    @staticmethod
    def _coef_table(s: pd.DataFrame, groups: dict) -> pd.DataFrame:
        lo_col = [c for c in s.columns if c.startswith("exp(coef) lower")][0]
        hi_col = [c for c in s.columns if c.startswith("exp(coef) upper")][0]
        return pd.DataFrame(
            {
                "feature": list(s.index),
                "variable": [groups[f] for f in s.index],
                "coef": s["coef"].to_numpy(dtype=float),
                "se": s["se(coef)"].to_numpy(dtype=float),
                "hazard_ratio": s["exp(coef)"].to_numpy(dtype=float),
                "ci_low": s[lo_col].to_numpy(dtype=float),
                "ci_high": s[hi_col].to_numpy(dtype=float),
                "p_value": s["p"].to_numpy(dtype=float),
            }
        )

    def _design(self, X) -> pd.DataFrame:
        check_is_fitted(self, "coef_")
        frame = to_frame(self, X, as_column_list(self.predictors, "predictors"), reset=False)
        return pd.DataFrame(
            self.preprocessor_.transform(frame), columns=self.feature_names_, index=frame.index
        )

    def _lp(self, design: pd.DataFrame) -> np.ndarray:
        return np.dot(design.to_numpy(dtype=float) - self.center_, self.coef_)

    def predict(self, X) -> np.ndarray:
        """Log partial hazard (centred at the training means): higher = earlier event."""
        return self._lp(self._design(X))

    def baseline_cumulative_hazard(self, times) -> np.ndarray:
        """``H0(t)`` at ``times`` (the hazard of a patient at the training means)."""
        check_is_fitted(self, "coef_")
        t = np.asarray(np.atleast_1d(times), dtype=float)
        if np.isnan(t).any() or (t < 0).any():
            raise ValueError(
                f"times must be ≥ 0 and not missing; got {t[np.isnan(t) | (t < 0)][:5]}"
            )
        late = t > self.max_time_
        if late.any():
            warnings.warn(
                f"{int(late.sum())} time(s) after the last training follow-up "
                f"({self.max_time_:g}): the baseline hazard is carried flat beyond it, so "
                "risks there are underestimated",
                StatisticalWarning,
                stacklevel=3,
            )
        grid, h0 = self.baseline_time_, self.baseline_cumulative_hazard_
        if grid[0] > 0:  # H0(0) = 0 (lifelines would hold H0 at the first training time)
            grid, h0 = np.concatenate([[0.0], grid]), np.concatenate([[0.0], h0])
        return np.interp(t, grid, h0)

    def predict_survival(self, X, times=None) -> pd.DataFrame:
        """Survival probabilities, rows × ``times`` (default: ``[horizon]``)."""
        times = [float(self.horizon)] if times is None else [float(t) for t in np.atleast_1d(times)]
        design = self._design(X)
        h0 = self.baseline_cumulative_hazard(times)
        # the order of lifelines' own arithmetic: H0(t) · exp(lp), then exp(-·)
        surv = np.exp(-(h0[:, None] * np.exp(self._lp(design))[None, :]))
        return pd.DataFrame(surv.T, index=design.index, columns=times)

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
        check_is_fitted(self, "coef_")
        return self.coef_table_.copy()

    def recalibrate_baseline(self, X, y, note: str = "re-estimated") -> PromCoxModel:
        """A copy whose Breslow baseline hazard is re-estimated on ``(X, y)``, keeping the
        coefficients and the centring — the Cox analogue of recalibrating the intercept.

        ``H0(t) = sum over event times s <= t of d(s) / sum_{j: t_j >= s} exp(lp_j)``, on
        the grid of the new data's distinct times (lifelines' and R's Breslow estimator).
        Ranking, hence Harrell's C, is unchanged. ``note`` is kept as ``baseline_source_``.
        """
        check_is_fitted(self, "coef_")
        design = self._design(X)
        time, event = survival_target(y, design.index)
        if time.size != len(design):
            raise ValueError(f"X has {len(design)} rows but y has {time.size}")
        new = self.from_state(self.get_state())
        t, h = breslow_cumulative_hazard(time, event, self._lp(design))
        new.baseline_time_, new.baseline_cumulative_hazard_ = t, h
        new.max_time_ = float(time.max())
        new.baseline_source_ = str(note)
        return new

    # -- state ------------------------------------------------------------------------------
    def get_state(self) -> dict:
        """Everything fitted, as plain JSON data (a bundle's ``cox-json`` file)."""
        check_is_fitted(self, "coef_")
        params = self.get_params()
        if params["predictors"] is not None:
            params["predictors"] = list(params["predictors"])
        params["penalizer_grid"] = [float(v) for v in np.atleast_1d(params["penalizer_grid"])]
        table = self.coef_table_
        return {
            "format": STATE_FORMAT,
            "version": STATE_VERSION,
            "params": params,
            "n_features_in": int(self.n_features_in_),
            "feature_names_in": list(self.feature_names_in_),
            "preprocessor": self.preprocessor_.get_state(),
            "coefficients": dict(zip(self.feature_names_, self.coef_.tolist())),
            "center": dict(zip(self.feature_names_, self.center_.tolist())),
            "baseline": {
                "estimator": "breslow",
                "source": self.baseline_source_,
                "time": self.baseline_time_.tolist(),
                "cumulative_hazard": self.baseline_cumulative_hazard_.tolist(),
            },
            "coefficient_table": {
                "feature": list(table["feature"]),
                "variable": list(table["variable"]),
                **{c: table[c].tolist() for c in _TABLE_COLUMNS},
            },
            "penalizer": self.penalizer_,
            "penalizer_search": self.penalizer_search_,
            "n": self.n_train_,
            "n_events": self.n_events_,
            "max_time": self.max_time_,
        }

    @classmethod
    def from_state(cls, state: dict) -> PromCoxModel:
        """A fitted model from :meth:`get_state`'s output; predicts without lifelines."""
        if not isinstance(state, dict) or state.get("format") != STATE_FORMAT:
            raise ValueError(
                f"not a PromCoxModel state: expected format {STATE_FORMAT!r}, got "
                f"{state.get('format') if isinstance(state, dict) else type(state).__name__!r}"
            )
        if state.get("version") != STATE_VERSION:
            raise ValueError(
                f"PromCoxModel state version {state.get('version')!r} is not "
                f"supported (this version of prom reads version {STATE_VERSION})"
            )
        self = cls(**state["params"])
        self.n_features_in_ = int(state["n_features_in"])
        self.feature_names_in_ = np.asarray(state["feature_names_in"], dtype=object)
        self.preprocessor_ = Preprocessor.from_state(state["preprocessor"])
        names = list(self.preprocessor_.feature_names_out_)
        for key in ("coefficients", "center"):
            if list(state[key]) != names:
                raise ValueError(
                    f"PromCoxModel state: {key!r} names design columns "
                    f"{', '.join(list(state[key])[:5])}…; the preprocessor makes "
                    f"{', '.join(names[:5])}… (expected the same columns in the same order)"
                )
        self.feature_names_ = names
        self.coef_ = np.asarray([state["coefficients"][c] for c in names], dtype=float)
        self.center_ = np.asarray([state["center"][c] for c in names], dtype=float)
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
        self.baseline_time_, self.baseline_cumulative_hazard_ = t, h
        self.baseline_source_ = str(base["source"])
        tab = state["coefficient_table"]
        self.coef_table_ = pd.DataFrame(
            {
                "feature": tab["feature"],
                "variable": tab["variable"],
                **{c: np.asarray(tab[c], dtype=float) for c in _TABLE_COLUMNS},
            }
        )
        self.penalizer_ = float(state["penalizer"])
        self.penalizer_search_ = state["penalizer_search"]
        self.n_train_ = int(state["n"])
        self.n_events_ = int(state["n_events"])
        self.max_time_ = float(state["max_time"])
        return self

    def reference_row(self) -> pd.DataFrame:
        """A typical patient: training median of numeric inputs, most frequent level otherwise."""
        check_is_fitted(self, "coef_")
        row = {}
        for c, r in read_training_ranges(self.preprocessor_.training_ranges_).items():
            if isinstance(r, NumericRange):
                row[c] = [np.nan if r.median is None else r.median]
            elif isinstance(r, CategoricalRange):
                row[c] = [r.most_frequent]
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
            raise ValueError(
                f"{variable!r} is not a predictor of this model; predictors are "
                f"{', '.join(ref.columns)}"
            )
        r = training_range(self.preprocessor_.training_ranges_[variable], variable)
        if values is None:
            if isinstance(r, NumericRange):
                values = list(
                    np.unique(
                        np.interp([0, 0.25, 0.5, 0.75, 1], [0, 0.5, 1], [r.p01, r.median, r.p99])
                    )
                )
            elif isinstance(r, CategoricalRange):
                values = list(r.categories)
        h = float(self.horizon if horizon is None else horizon)
        rows = pd.concat([ref] * len(values), ignore_index=True)
        rows[variable] = pd.Series(
            list(values), dtype=float if isinstance(r, NumericRange) else object
        )
        surv = self.predict_survival(rows, [h]).to_numpy()[:, 0]
        lp = self.predict(rows)
        lp_ref = self.predict(ref)[0]
        return pd.DataFrame(
            {
                "variable": variable,
                "value": list(values),
                "survival": surv,
                "risk": 1 - surv,
                "hazard_ratio": np.exp(lp - lp_ref),
            }
        )


def _convergence_note(message) -> str:
    """lifelines' convergence warning, short and without run-specific numbers."""
    import re

    text = " ".join(str(message).split())
    low = re.match(r"Column (.+?) have very low variance when conditioned on death event", text)
    if low:
        return (
            f"column {low.group(1)} barely varies among patients with or without the event "
            "(quasi-separation); its hazard ratio is unreliable — merge rare levels or "
            "use a penalty"
        )
    if "norm(delta) is still high" in text:
        return (
            "the estimates may not be unique (collinear columns or separation); use a "
            "penalty or drop redundant columns"
        )
    return text.split(" For example")[0]


def partial_log_likelihood(time, event, lp) -> float:
    """Cox log partial likelihood of a linear predictor, Breslow's handling of ties:
    the sum over events of ``lp_i - log(sum_{j: t_j >= t_i} exp(lp_j))``."""
    t = np.asarray(time, dtype=float)
    order = np.argsort(-t, kind="mergesort")
    ts = t[order]
    e = np.asarray(event, dtype=float)[order]
    x = np.asarray(lp, dtype=float)[order]
    end = np.searchsorted(-ts, -ts, side="right") - 1  # last row still at risk
    top = x.max()
    log_risk = np.log(np.cumsum(np.exp(x - top)))[end] + top
    return float(np.sum(e * (x - log_risk)))


def breslow_cumulative_hazard(time, event, lp) -> tuple[np.ndarray, np.ndarray]:
    """Breslow cumulative baseline hazard for a fixed linear predictor ``lp``.

    Returns ``(times, H0)`` on the grid of distinct ``time`` values: at each time the
    events there divided by the sum of ``exp(lp)`` over rows still at risk (``time_j >=
    t``), accumulated. With the fit's own ``lp`` this is lifelines' ``baseline_cumulative_
    hazard_`` and R's ``basehaz(fit, centered = TRUE)``.
    """
    t = np.asarray(time, dtype=float)
    e = np.asarray(event, dtype=float)
    w = np.exp(np.asarray(lp, dtype=float))
    grid, inv = np.unique(t, return_inverse=True)
    d = np.bincount(inv, weights=e, minlength=grid.size)
    at_risk = np.cumsum(np.bincount(inv, weights=w, minlength=grid.size)[::-1])[::-1]
    return grid, np.cumsum(d / at_risk)


def kaplan_meier_curves(time, event, groups=None, level: float = 0.95) -> pd.DataFrame:
    """Kaplan–Meier survival per group as a tidy table (lifelines ``KaplanMeierFitter``).

    Columns: ``group`` (``"all"`` without groups), ``time`` (0 and every event or censoring
    time), ``survival``, ``ci_low``, ``ci_high``, ``at_risk``, ``events``, ``censored``.
    Rows with a missing time, event or group are refused (counted in the message).
    """
    from lifelines import KaplanMeierFitter

    if not 0 < level < 1:
        raise ValueError(f"level={level!r}; expected a number between 0 and 1")
    t, e = survival_target(
        np.column_stack([np.asarray(time, dtype=float), np.asarray(event, dtype=float)])
    )
    g = (
        np.full(t.size, "all", dtype=object)
        if groups is None
        else pd.Series(groups).astype(object).to_numpy()
    )
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
        frames.append(
            pd.DataFrame(
                {
                    "group": name,
                    "time": sf.index.to_numpy(dtype=float),
                    "survival": sf.to_numpy(),
                    "ci_low": ci.iloc[:, 0].to_numpy(),
                    "ci_high": ci.iloc[:, 1].to_numpy(),
                    "at_risk": table["at_risk"].reindex(sf.index).to_numpy(),
                    "events": table["observed"].reindex(sf.index).to_numpy(),
                    "censored": table["censored"].reindex(sf.index).to_numpy(),
                }
            )
        )
    return pd.concat(frames, ignore_index=True)
