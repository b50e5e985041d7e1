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
with ``time`` and ``event``), or any two-column array ``[time, event]``
(:func:`~prom.models.survival_target.survival_target`).

``penalizer`` (lifelines' ``penalizer``, with ``l1_ratio``) adds a ridge/lasso penalty
``penalizer * (l1_ratio |b| + (1 - l1_ratio) b²/2)``; a small value (0.01–0.1) keeps
estimates finite when a rare level has no events. With the default 0 the hazard ratios are
the partial-likelihood MLE (as R's ``survival::coxph(ties = "efron")``).

The partial likelihood and Breslow's baseline hazard for a fixed linear predictor are
:mod:`prom.models.cox_likelihood`; Kaplan–Meier curves per group
(:func:`kaplan_meier_curves`) :mod:`prom.models.kaplan_meier`. Both, and
:func:`survival_target`, are importable from here too.
"""

from __future__ import annotations

import numbers
import warnings

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator
from sklearn.utils.validation import check_is_fitted

from prom.errors import PromError, StatisticalWarning
from prom.models.cox_likelihood import breslow_cumulative_hazard, partial_log_likelihood
from prom.models.cox_state import cox_state, read_cox_state
from prom.models.inputs import as_column_list, infer_kinds, refuse_non_predictors, to_frame
from prom.models.kaplan_meier import kaplan_meier_curves
from prom.models.preprocess import Preprocessor
from prom.models.ranges import (
    CategoricalRange,
    Level,
    NumericRange,
)
from prom.models.survival_target import survival_target
from prom.options import FOLDS, SEED, check_option

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


class CoxFitError(PromError, ValueError):
    """The Cox partial-likelihood fit did not converge."""


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
            if grid.size == 0 or not all(
                isinstance(v, numbers.Real) and float(v) >= 0 for v in grid
            ):
                raise ValueError(f"penalizer_grid={self.penalizer_grid!r}; expected numbers ≥ 0")
            check_option("inner_cv", self.inner_cv, FOLDS)
            if not isinstance(self.random_state, np.random.RandomState):
                check_option("random_state", self.random_state, SEED)
        else:
            checks.insert(0, ("penalizer", self.penalizer, 0, np.inf))
        for name, value, lo, hi in checks:
            if (
                isinstance(value, bool)
                or not isinstance(value, numbers.Real)
                or not lo <= float(value) <= hi
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
        search: list[dict] | None = None
        if self.penalizer == "cv":
            penalizer, search = self._choose_penalizer(frame, time, event)
        else:
            penalizer = float(self.penalizer)
        self.penalizer_, self.penalizer_search_ = penalizer, search
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
            {"penalizer": p, "cv_partial_log_likelihood": float(v)}
            for p, v in zip(grid, cvpl, strict=True)
        ]

    @staticmethod
    def _coef_table(s: pd.DataFrame, groups: dict) -> pd.DataFrame:
        lo_col = next(c for c in s.columns if c.startswith("exp(coef) lower"))
        hi_col = next(c for c in s.columns if c.startswith("exp(coef) upper"))
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
        # each row's products summed along its own contiguous axis: a row's risk is the
        # same number whichever rows share the call (a matrix product's last bit depends
        # on the number of rows: a registry's row scored in one file or in four differed)
        Z = np.ascontiguousarray(design.to_numpy(dtype=float) - self.center_)
        return (Z * np.asarray(self.coef_, dtype=float)).sum(axis=1)

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
        """Everything fitted, as plain JSON data (a bundle's ``cox-json`` file;
        :mod:`prom.models.cox_state`)."""
        check_is_fitted(self, "coef_")
        return cox_state(self)

    @classmethod
    def from_state(cls, state: dict) -> PromCoxModel:
        """A fitted model from :meth:`get_state`'s output; predicts without lifelines."""
        params, fitted = read_cox_state(state)
        self = cls(**params)
        for name, value in fitted.items():
            setattr(self, name, value)
        return self

    def reference_row(self) -> pd.DataFrame:
        """A typical patient: training median of numeric inputs, most frequent level otherwise."""
        check_is_fitted(self, "coef_")
        row: dict[str, list[Level | None]] = {}
        for c, r in self.preprocessor_.training_summaries().items():
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
        r = self.preprocessor_.training_summaries()[variable]
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
