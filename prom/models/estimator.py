"""``PromClassifier``: preprocess → (tune) → fit → calibrate, as one scikit-learn estimator.

>>> from prom.models import PromClassifier
>>> model = PromClassifier("xgboost", predictors=task.predictors).fit(train, y)  # doctest: +SKIP
>>> model.predict_proba(test)[:, 1]                                              # doctest: +SKIP

``fit``:

1. reads the predictor columns (by name when ``predictors`` is given, see
   :mod:`prom.models.inputs`) and types them from the cohort contract;
2. if the family has a search space, random search in an inner stratified CV
   (:mod:`prom.models.tuning`) — the preprocessor is refitted in every inner fold;
3. if calibration is wanted, the chosen candidate's out-of-fold probabilities from that
   inner CV (computed for the defaults when nothing is tuned) are used to choose
   (``"auto"``) and fit the calibrator (:mod:`prom.models.calibration`);
4. refits preprocessor and estimator on all rows with the chosen parameters.

A bagged family (the random forest) takes steps 2–4 from forests grown on all rows,
scored on their out-of-bag predictions, the candidates raced by successive halving over
the number of trees (:mod:`prom.models.out_of_bag`).

Raw vs calibrated: ``predict_proba(X)`` is calibrated; ``predict_proba(X,
calibrated=False)`` is the fitted estimator's own probability — the quantity whose log-odds
(the raw margin of XGBoost/LightGBM and the linear predictor of the logistic models) an
explainer such as SHAP decomposes; :meth:`PromClassifier.design_matrix` gives the design
those explainers need. Calibration is a monotone map of it (per class for multiclass).

Multiclass (``triage``): calibration is ``"none"`` or per-class Platt with
renormalisation (``"auto"`` chooses between the two); isotonic is binary only.
"""

from __future__ import annotations

import contextlib
import numbers

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils import check_random_state
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_consistent_length, check_is_fitted, column_or_1d

from prom.errors import format_rows
from prom.models.calibration import (
    NoCalibration,
    auto_methods,
    choose_calibration,
    make_calibrator,
)
from prom.models.inputs import as_column_list, infer_kinds, refuse_non_predictors, to_frame
from prom.models.out_of_bag import tune_out_of_bag
from prom.models.preprocess import Preprocessor
from prom.models.specs import ModelSpec, get_spec
from prom.models.state_format import check_state_header
from prom.models.tuning import (
    candidate_params,
    cross_fit_proba,
    fit_estimator,
    inner_folds,
    tune,
)
from prom.options import CALIBRATION, FOLDS, N_JOBS, SEED, Count, check_option

__all__ = ["PromClassifier", "encode_target"]

#: The header of a PromClassifier's JSON state (``get_state``/``from_state``).
STATE_FORMAT = "prom.models.PromClassifier"
STATE_VERSION = 1


def encode_target(y, index) -> tuple[np.ndarray, np.ndarray]:
    """``(codes, classes)`` from labels; refuses missing labels, naming the rows."""
    if y is None:
        raise ValueError("requires y to be passed, but the target y is None")
    if isinstance(y, pd.DataFrame) and y.shape[1] == 1:
        y = y.to_numpy()
    if isinstance(y, pd.Series):
        missing = y.isna().to_numpy()
        values = (
            y.astype(object).to_numpy()
            if isinstance(y.dtype, pd.CategoricalDtype)
            or pd.api.types.is_extension_array_dtype(y.dtype)
            else y.to_numpy()
        )
    elif isinstance(y, pd.Categorical):
        missing = np.asarray(y.isna())
        values = np.asarray(y.astype(object))
    else:
        values = np.asarray(y)
        missing = None
    values = column_or_1d(values, warn=True)
    if missing is None:
        missing = pd.isna(values) if values.dtype.kind in "fO" else np.zeros(values.size, bool)
    if missing.any():
        at = np.flatnonzero(missing)
        rows = index[at] if index is not None and len(index) == values.size else list(at)
        raise ValueError(
            f"Input y contains NaN: {int(missing.sum())} label(s) missing ({format_rows(rows)}). "
            "Fit on the rows that have a label, e.g. derive_label(df, task)['label'].notna()"
        )
    if values.dtype.kind == "f" and np.isinf(values).any():
        raise ValueError("Input y contains infinity or a value too large for dtype('float64').")
    if values.dtype.kind == "O":
        with contextlib.suppress(TypeError, ValueError):
            values = (
                values.astype(float)
                if all(isinstance(v, (numbers.Number, np.bool_)) for v in values)
                else values
            )
    check_classification_targets(values)
    try:
        classes, codes = np.unique(values, return_inverse=True)
    except TypeError:
        raise TypeError("y mixes label types (e.g. strings and numbers); use one type") from None
    if classes.size < 2:
        raise ValueError(
            f"a classifier needs at least two classes; y has only one class ({classes[0]!r}) "
            f"in {values.size} row(s)"
        )
    return codes.astype(int).ravel(), classes


class PromClassifier(ClassifierMixin, BaseEstimator):
    """Preprocessing, tuning, fitting and calibration of one model family.

    Parameters
    ----------
    family : {"logistic", "elastic_net", "random_forest", "xgboost", "lightgbm"}
    predictors : list of str or None
        Columns to use, read by name (extra columns of ``X`` are ignored). ``None``: all
        columns, with scikit-learn's same-columns-same-order rule. Columns the contract
        marks as truth, identifiers or outcomes are refused.
    calibration : {"auto", "none", "platt", "isotonic"}
    n_iter : int
        Random-search budget (candidates, the defaults included); ignored by ``logistic``.
    inner_cv : int
        Folds of the inner stratified CV used for tuning and for calibration.
    splines : bool
        Restricted cubic splines (4 knots) for continuous predictors in the families with a
        linear predictor (logistic, elastic net); tree families ignore it.
    random_state : int, numpy RandomState or None
        The seed of every random choice (folds, candidates, the estimator's own).
    n_jobs : int
        Threads of the estimator, -1 for every core (keep 1 inside resampling).

    Attributes
    ----------
    classes_ : ndarray — class labels, sorted.
    n_features_in_, feature_names_in_ : the columns read.
    preprocessor_ : fitted :class:`~prom.models.preprocess.Preprocessor` (all rows).
    estimator_ : the fitted estimator (LogisticRegression, XGBClassifier, …) on the design.
    chosen_params_ : dict — tuned (or default) parameters, JSON-ready.
    cv_results_ : list of dict — every candidate's inner-CV log loss and Brier score
        (empty when no inner CV was run).
    calibration_method_ : str — ``"none"``, ``"platt"`` or ``"isotonic"``.
    calibrator_ : the fitted calibrator (``get_state()`` for JSON).
    calibration_scores_ : dict — cross-fitted log loss/Brier per method considered.
    recalibration_ : None, or a :class:`~prom.models.calibration.LogisticRecalibration`
        set by :func:`~prom.models.calibration.recalibrate`.
    """

    def __init__(
        self,
        family="logistic",
        predictors=None,
        calibration="auto",
        n_iter=20,
        inner_cv=3,
        splines=False,
        random_state=0,
        n_jobs=1,
    ):
        self.family = family
        self.predictors = predictors
        self.calibration = calibration
        self.n_iter = n_iter
        self.inner_cv = inner_cv
        self.splines = splines
        self.random_state = random_state
        self.n_jobs = n_jobs

    def _check_params(self) -> ModelSpec:
        spec = get_spec(self.family)
        check_option("calibration", self.calibration, CALIBRATION)
        check_option("n_iter", self.n_iter, Count(1))
        check_option("inner_cv", self.inner_cv, FOLDS)
        check_option("n_jobs", self.n_jobs, N_JOBS)
        if not isinstance(self.splines, (bool, np.bool_)):
            raise TypeError(f"splines must be True or False, got {self.splines!r}")
        return spec

    def _seed(self) -> int:
        """The one integer every random choice of the fit derives from: ``random_state``
        itself, a draw from it when it is a ``RandomState`` (scikit-learn's convention),
        or a fresh draw when it is ``None``."""
        if isinstance(self.random_state, np.random.RandomState):
            return int(self.random_state.randint(2**31 - 1))
        seed = check_option("random_state", self.random_state, SEED)
        return int(check_random_state(None).randint(2**31 - 1)) if seed is None else seed

    def fit(self, X, y):
        """Tune, calibrate and fit on the rows of ``X`` with labels ``y``."""
        spec = self._check_params()
        seed = self._seed()
        cols = as_column_list(self.predictors, "predictors")
        frame = to_frame(self, X, cols, reset=True)
        refuse_non_predictors(frame.columns)
        check_consistent_length(frame, y)
        codes, classes = encode_target(y, frame.index)
        n_classes = classes.size
        if n_classes > 2 and self.calibration == "isotonic":
            raise ValueError(
                f"isotonic calibration is for two classes; y has {n_classes}. "
                "Use calibration='platt' (per class, renormalised), 'none' or 'auto'."
            )
        numeric, categorical = infer_kinds(frame)
        pre_params = {
            "numeric": numeric,
            "categorical": categorical,
            "scale": spec.scale,
            "splines": bool(self.splines and spec.splines),
            "drop_reference": spec.drop_reference,
            "handle_unknown": "ignore",
        }
        cands = candidate_params(spec, self.n_iter, seed)
        need_cv = len(cands) > 1 or self.calibration != "none"
        self.cv_results_ = []
        oof: np.ndarray | None = None
        folds: np.ndarray | None = None
        params = cands[0]
        final_pre = {**pre_params, "handle_unknown": "warn"}
        bagged = (
            tune_out_of_bag(
                spec,
                frame,
                codes,
                pre_params=final_pre,
                candidates=cands,
                random_state=seed,
                n_jobs=self.n_jobs,
            )
            if need_cv and spec.out_of_bag
            else None
        )
        if bagged is not None:  # tuned on out-of-bag predictions; the winner is final
            folds = inner_folds(codes, self.inner_cv, seed)  # cross-fits the calibrator
            params, oof = bagged.best_params, bagged.oof_proba
            self.cv_results_ = bagged.as_records() if len(cands) > 1 else []
        elif need_cv:
            folds = inner_folds(codes, self.inner_cv, seed)
            if len(cands) > 1:
                res = tune(
                    spec,
                    frame,
                    codes,
                    pre_params=pre_params,
                    n_iter=self.n_iter,
                    folds=folds,
                    random_state=seed,
                    n_jobs=self.n_jobs,
                )
                params, oof = res.best_params, res.oof_proba
                self.cv_results_ = res.as_records()
            else:
                oof = cross_fit_proba(
                    spec, params, frame, codes, folds, pre_params, n_classes, seed, self.n_jobs
                )
        # calibration on the inner out-of-fold predictions (need_cv made them whenever
        # calibration is wanted)
        scores: dict[str, dict[str, float]]
        if self.calibration == "none" or oof is None or folds is None:
            method, scores = "none", {}
        elif self.calibration == "auto":
            methods, candidates = auto_methods(n_classes)
            method, scores = choose_calibration(oof, codes, folds, methods, candidates)
        else:
            method, scores = choose_calibration(oof, codes, folds, (self.calibration,))
        calibrator = (
            make_calibrator(method).fit(oof, codes) if method != "none" else NoCalibration()
        )
        if bagged is not None:
            pre, est = bagged.preprocessor, bagged.estimator
        else:  # final refit on all rows
            pre = Preprocessor(**final_pre)
            Z = pre.fit_transform(frame)
            if Z.shape[1] == 0:
                raise ValueError(
                    "no usable predictor: every design column is constant in the training "
                    f"rows ({', '.join(pre.dropped_features_) or 'none'}); a classifier needs "
                    "at least one informative column"
                )
            est = fit_estimator(
                spec, spec.make_estimator(params, n_classes, seed, self.n_jobs), Z, codes
            )
        self.classes_ = classes
        self.preprocessor_ = pre
        self.estimator_ = est
        self.chosen_params_ = {**dict(spec.default_params), **params}
        self.calibration_method_ = method
        self.calibrator_ = calibrator
        self.calibration_scores_ = scores
        self.recalibration_ = None
        return self

    # -- prediction -------------------------------------------------------------------------
    def _frame(self, X) -> pd.DataFrame:
        check_is_fitted(self, "estimator_")
        return to_frame(self, X, as_column_list(self.predictors, "predictors"), reset=False)

    def design_matrix(self, X) -> pd.DataFrame:
        """The preprocessed design ``estimator_`` sees, with its column names."""
        frame = self._frame(X)
        return pd.DataFrame(
            self.preprocessor_.transform(frame),
            index=frame.index,
            columns=self.preprocessor_.feature_names_out_,
        )

    def unknown_categories(self, X) -> pd.DataFrame:
        """Rows × categorical predictors: value never seen in training (see Preprocessor)."""
        return self.preprocessor_.unknown_categories(self._frame(X))

    def predict_proba(self, X, calibrated: bool = True):
        """Class probabilities (columns in ``classes_`` order).

        ``calibrated=False`` gives the fitted estimator's own probabilities, before the
        calibrator and any site recalibration — the scale explanations work on.
        """
        frame = self._frame(X)
        if len(frame) == 0:  # an empty selection: no rows, every class (columns checked)
            return np.empty((0, len(self.classes_)))
        return self._proba(self.preprocessor_.transform(frame), calibrated)

    def predict_proba_columns(self, columns, rows=None, calibrated: bool = True):
        """:meth:`predict_proba` of rows ``rows`` (positions; ``None``: all) of a
        :class:`~prom.models.columns.ColumnCache` — the same numbers, from columns
        converted once and shared with other models (bulk scoring). Values the training
        rows never had are not warned about here (the caller flags them)."""
        check_is_fitted(self, "estimator_")
        Z, _ = self.preprocessor_.transform_columns(columns, rows)
        return self._proba(Z, calibrated)

    def _proba(self, Z, calibrated: bool) -> np.ndarray:
        raw = _row_linear_proba(self.estimator_, Z)
        if raw is None:
            raw = np.asarray(self.estimator_.predict_proba(Z), dtype=float)
        if raw.shape[1] > 2:
            # boosters return float32 rows whose float64 sums miss 1 by ~1e-7
            raw = raw / raw.sum(axis=1, keepdims=True)
        if not calibrated:
            return raw
        return self.calibrate(raw)

    def calibrate(self, raw_proba) -> np.ndarray:
        """Calibrated probabilities from raw ones (rows × classes): the calibrator, then
        any site recalibration — the map ``predict_proba`` applies after the estimator."""
        check_is_fitted(self, "calibrator_")
        p = self.calibrator_.transform(np.asarray(raw_proba, dtype=float))
        if self.recalibration_ is not None:
            p1 = self.recalibration_.transform(p[:, 1])
            p = np.column_stack([1 - p1, p1])
        return p

    def predict(self, X):
        """The most probable class (calibrated probabilities)."""
        proba = self.predict_proba(X)
        return self.classes_[np.argmax(proba, axis=1)]

    # -- state for model bundles -------------------------------------------------------------
    def get_state(self) -> dict:
        """Everything fitted except ``estimator_`` itself, as JSON-serialisable data.

        A bundle stores this next to the estimator in its own safe format (XGBoost JSON,
        LightGBM text, skops) and rebuilds the model with :meth:`from_state`.
        """
        check_is_fitted(self, "estimator_")
        params = self.get_params()
        if params["predictors"] is not None:
            params["predictors"] = list(params["predictors"])
        return {
            "format": STATE_FORMAT,
            "version": STATE_VERSION,
            "params": params,
            "classes": [c.item() if hasattr(c, "item") else c for c in self.classes_],
            "n_features_in": int(self.n_features_in_),
            "feature_names_in": (
                list(self.feature_names_in_) if hasattr(self, "feature_names_in_") else None
            ),
            "preprocessor": self.preprocessor_.get_state(),
            "chosen_params": self.chosen_params_,
            "cv_results": self.cv_results_,
            "calibration_method": self.calibration_method_,
            "calibrator": self.calibrator_.get_state(),
            "calibration_scores": self.calibration_scores_,
            "recalibration": (
                None if self.recalibration_ is None else self.recalibration_.get_state()
            ),
        }

    @classmethod
    def from_state(cls, state: dict, estimator) -> PromClassifier:
        """A fitted PromClassifier from :meth:`get_state` and the loaded ``estimator_``."""
        from prom.models.calibration import LogisticRecalibration, calibrator_from_state

        check_state_header(state, "PromClassifier", STATE_FORMAT, STATE_VERSION)
        self = cls(**state["params"])
        classes = state["classes"]
        self.classes_ = np.asarray(
            classes, dtype=object if any(isinstance(c, str) for c in classes) else None
        )
        self.n_features_in_ = int(state["n_features_in"])
        if state["feature_names_in"] is not None:
            self.feature_names_in_ = np.asarray(state["feature_names_in"], dtype=object)
        self.preprocessor_ = Preprocessor.from_state(state["preprocessor"])
        self.estimator_ = estimator
        self.chosen_params_ = dict(state["chosen_params"])
        self.cv_results_ = list(state["cv_results"])
        self.calibration_method_ = state["calibration_method"]
        self.calibrator_ = calibrator_from_state(state["calibrator"])
        self.calibration_scores_ = dict(state["calibration_scores"])
        rec = state["recalibration"]
        self.recalibration_ = None if rec is None else LogisticRecalibration.from_state(rec)
        return self

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        return tags


def _row_linear_proba(estimator, Z) -> np.ndarray | None:
    """``predict_proba`` of a fitted scikit-learn ``LogisticRegression`` with each row's
    linear predictor summed on its own, so that a row's probability is the
    same number whichever rows share the call: the matrix product scikit-learn uses
    (BLAS) gives the last bit differently with the number of rows, and a registry's row
    scored in a batch of 7 or of 10,000 got two numbers. ``None`` for other estimators.
    The same maps as scikit-learn's: the logistic function (two classes), softmax."""
    from scipy.special import expit
    from sklearn.linear_model import LogisticRegression
    from sklearn.utils.extmath import softmax

    if type(estimator) is not LogisticRegression:
        return None
    Z = np.ascontiguousarray(Z, dtype=float)
    # each row's products summed along their own contiguous axis: the same order of
    # additions for a row whatever the number of rows (einsum and BLAS change it)
    d = np.column_stack([(Z * w).sum(axis=1) for w in estimator.coef_]) + estimator.intercept_
    if estimator.classes_.size <= 2:
        p = expit(d[:, 0])
        return np.column_stack([1 - p, p])
    return softmax(d, copy=False)
