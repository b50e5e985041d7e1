"""Shared preprocessing: the design matrix every model family is fitted on.

:class:`Preprocessor` is fitted inside every resample (its medians, knots, categories and
scales come from the training rows only) and stores everything it learned as plain JSON
(:meth:`Preprocessor.get_state` / :meth:`Preprocessor.from_state`), so a model bundle
can keep it without pickle. This module learns from the training rows and transforms;
the design plan and the matrix it builds are :mod:`prom.models.design`, the training
summaries and out-of-range checks :mod:`prom.models.ranges`, the JSON state
:mod:`prom.models.preprocess_state`.

What it does to each input column
---------------------------------
numeric (contract ``bool``/``int``/``float``; booleans become 0/1)
    missing values → the training median, plus an indicator column ``<col>__missing``
    for every column that had at least :data:`MIN_MISSING_FOR_INDICATOR` missing values in
    the training rows (``missing_indicators=True``); a column with fewer is imputed without
    one, since the indicator's coefficient would rest on those few rows' own outcomes (an
    unpenalised logistic or Cox fit drives it to infinity when one row has it). Optional restricted cubic spline terms
    ``<col>__rcs1 …`` (``splines=``), see below.
categorical (contract ``category``/``string``)
    one column ``<col>=<level>`` per training level; a missing value gets its own column
    ``<col>__missing`` when the training rows had missing values. With
    ``drop_reference=True`` (reference coding, used by the logistic and Cox models so that
    their coefficients are identifiable) the most frequent training level has no column.
    A value never seen in training — a new level, or a missing value when training had
    none — gives zeros in all of that variable's columns (with reference coding that is
    the reference level) and is *never silent*: :meth:`transform` warns with the counts
    (``handle_unknown="warn"``), raises (``"error"``) or only lets
    :meth:`unknown_categories` report it (``"ignore"``, used inside resampling, where a
    rare level missing from a training fold is expected).

Columns of the design that are constant in the training rows (a column with one value,
a level present in every row, a column missing everywhere) carry no information and are
dropped, and so is a column identical to an earlier one (the missing indicators of the 40
MRI columns of a patient without MRI are one indicator, kept under the first MRI column's
name); :attr:`dropped_features_` says which and why. This keeps the unpenalised logistic
and Cox designs free of exact collinearity. A column missing in every training
row is also reported with a :class:`~prom.errors.StatisticalWarning`.

``scale=True`` standardises every design column (training mean and SD, ``ddof=0``),
glmnet's convention; used by the elastic net.

Restricted cubic splines
------------------------
``splines=True`` expands every *continuous* numeric column — one with at least
:data:`MIN_DISTINCT_FOR_SPLINE` distinct training values, so booleans, ASA grade and
Pfirrmann grade stay linear — and ``splines=[...]`` the columns named. Knots are at
Harrell's default quantiles of the non-missing training values (R ``quantile`` type 7):
3 knots .10 .50 .90; 4 knots .05 .35 .65 .95; 5 knots .05 .275 .5 .725 .95; 6 knots
.05 … .95 evenly; 7 knots .025 … .975 evenly. Tied quantiles are merged; fewer than 3
distinct knots leaves the column linear. (Hmisc's extra rules for n < 100 and for a
value holding ≥ 5% of the data are not applied.) The basis is ``Hmisc::rcspline.eval``
with ``inclx = TRUE`` and its default ``norm = 2``: the nonlinear terms are divided by
``(t_k - t_1)^2`` so they are on the scale of ``x`` (checked against R in
tests/test_models_preprocess.py). Splines are evaluated on the imputed values.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted

from prom.errors import MissingColumnError, StatisticalWarning, format_rows, format_values
from prom.models.design import (
    CodeReader,
    NumericReader,
    PlanBlock,
    build_design,
    compiled_program,
    design_names,
    frame_readers,
    informative_columns,
)
from prom.models.inputs import (  # infer_kinds is public from here
    as_column_list,
    category_values,
    infer_kinds,
    json_scalar,
    numeric_values,
    to_frame,
)
from prom.models.preprocess_state import (
    fitted_summaries,
    preprocessor_state,
    read_preprocessor_state,
)
from prom.models.ranges import (
    DRIFT_QUANTILES,
    CategoricalRange,
    NumericRange,
    median_of,
    read_training_ranges,
)
from prom.options import Choice, check_option
from prom.splines import distinct_knots

__all__ = [
    "Preprocessor",
    "infer_kinds",
    "UnknownCategoryWarning",
    "UnknownCategoryError",
    "MIN_DISTINCT_FOR_SPLINE",
    "MIN_MISSING_FOR_INDICATOR",
    "DRIFT_QUANTILES",
]

#: A numeric column needs this many distinct training values to get spline terms.
MIN_DISTINCT_FOR_SPLINE = 10
#: A numeric column gets a missing indicator when this many training rows are missing
#: (the rare-category rule of :mod:`prom.models.diagnostics`: fewer than 10 rows).
MIN_MISSING_FOR_INDICATOR = 10
#: What :meth:`Preprocessor.transform` does with a category level training never had.
HANDLE_UNKNOWN = Choice(("warn", "error", "ignore"))


class UnknownCategoryWarning(UserWarning):
    """A categorical value at transform time that the training rows never had."""


class UnknownCategoryError(ValueError):
    """Raised instead of the warning when ``handle_unknown="error"``."""


def _levels_in_order(values: pd.Series) -> list:
    """Observed non-missing levels: declared order for a Categorical, sorted otherwise."""
    present = values.dropna()
    if isinstance(values.dtype, pd.CategoricalDtype):
        seen = set(present.astype(object))
        return [c for c in values.dtype.categories if c in seen]
    uniq = list(pd.unique(present.astype(object)))
    try:
        return sorted(uniq)
    except TypeError:
        return sorted(uniq, key=lambda v: (type(v).__name__, str(v)))


class Preprocessor(TransformerMixin, BaseEstimator):
    """Imputation, missing indicators, one-hot coding, optional splines and scaling.

    Parameters
    ----------
    numeric, categorical : list of str or None
        Columns to read and how to treat them. If both are ``None`` every column of ``X``
        is used and typed from the cohort contract (pandas dtype for columns outside it),
        with scikit-learn's same-columns-same-order rule; if either is given exactly the
        columns listed are read, by name, in any order, extra columns ignored.
    scale : bool
        Standardise every design column (training mean/SD).
    splines : bool or list of str
        Restricted cubic splines for continuous numeric columns (``True``) or the columns
        listed; see the module docstring.
    n_knots : int
        Knots per spline, 3–7 (Harrell's default 4 gives 2 nonlinear terms).
    missing_indicators : bool
        Add ``<col>__missing`` for numeric columns (and a missing level for categorical
        ones) that had missing training values.
    drop_reference : bool
        Reference coding: leave out the column of each categorical variable's most
        frequent training level (ties: the first level in order).
    handle_unknown : {"warn", "error", "ignore"}
        What :meth:`transform` does with a categorical value not seen in training.

    Attributes
    ----------
    n_features_in_, feature_names_in_ : the columns read.
    numeric_, categorical_ : list of str — the columns by kind.
    feature_names_out_ : ndarray of str — design columns.
    feature_groups_ : dict — design column → the input column it comes from.
    training_ranges_ : dict or None — per input column: numeric ``min``, ``max``, ``p01``,
        ``p99``, ``median``, ``missing_fraction`` and the distribution summary drift checks
        compare against (``mean``, ``sd``, decile ``bin_edges`` and ``bin_frequencies``);
        categorical ``categories``, ``frequencies`` (fraction of training rows per level)
        and ``missing_fraction``. Plain JSON data; :func:`prom.models.ranges.training_range`
        gives the typed view and the out-of-range checks. ``None`` after
        ``fit(..., summaries=False)``.
    dropped_features_ : dict — design columns left out (constant in training) → reason.
    design_mean_ : list of float — training mean of each design column (after scaling, so
        ~0 when ``scale=True``); the reference point of exact linear-model explanations
        (:mod:`prom.explain`). ``None`` for a state saved before it was recorded.
    knots_ : dict — spline knots per splined column.
    """

    def __init__(
        self,
        numeric=None,
        categorical=None,
        scale=False,
        splines=False,
        n_knots=4,
        missing_indicators=True,
        drop_reference=False,
        handle_unknown="warn",
    ):
        self.numeric = numeric
        self.categorical = categorical
        self.scale = scale
        self.splines = splines
        self.n_knots = n_knots
        self.missing_indicators = missing_indicators
        self.drop_reference = drop_reference
        self.handle_unknown = handle_unknown

    # -- parameters -----------------------------------------------------------------------
    def _explicit_columns(self) -> list[str] | None:
        num = as_column_list(self.numeric, "numeric")
        cat = as_column_list(self.categorical, "categorical")
        if num is None and cat is None:
            return None
        num, cat = num or [], cat or []
        both = sorted(set(num) & set(cat))
        if both:
            raise ValueError(
                f"column(s) {', '.join(both)} are listed as both numeric and categorical"
            )
        return num + cat

    def _check_params(self) -> None:
        if (
            not isinstance(self.n_knots, (int, np.integer))
            or isinstance(self.n_knots, bool)
            or not 3 <= self.n_knots <= 7
        ):
            raise ValueError(
                f"n_knots={self.n_knots!r}: restricted cubic splines take 3 to 7 knots"
            )
        check_option("handle_unknown", self.handle_unknown, HANDLE_UNKNOWN)
        if not isinstance(self.splines, (bool, np.bool_)) and (
            as_column_list(self.splines, "splines") is None
        ):
            raise TypeError("splines must be True, False or a list of column names; got None")

    # -- fit --------------------------------------------------------------------------------
    def fit(self, X, y=None, *, summaries: bool = True):
        """Learn medians, indicators, levels, knots and scales from the rows of ``X``.

        ``summaries=False`` (inner folds of resampling) skips ``training_ranges_``, which
        costs more than the rest and only a kept model needs; the design is the same."""
        self._check_params()
        columns = self._explicit_columns()
        frame = to_frame(self, X, columns, reset=True)
        if columns is None:
            numeric, categorical = infer_kinds(frame)
        else:
            numeric = as_column_list(self.numeric, "numeric") or []
            categorical = as_column_list(self.categorical, "categorical") or []
        spline_cols = self._spline_request(numeric)
        explicit_splines = set() if isinstance(self.splines, (bool, np.bool_)) else spline_cols
        n = len(frame)
        plan: list[PlanBlock] = []
        ranges: dict[str, dict] = {}
        knots_: dict[str, list[float]] = {}
        for c in frame.columns:
            if c in numeric:
                v = numeric_values(frame[c], c)
                median = median_of(v)  # the median NumericRange.summarise records
                if summaries:
                    ranges[c] = NumericRange.summarise(v).to_dict()
                if median is None:
                    warnings.warn(
                        f"column {c!r} is missing in all {n} training rows; it is left out "
                        "of the model",
                        StatisticalWarning,
                        stacklevel=2,
                    )
                    plan.append(
                        {
                            "var": c,
                            "kind": "numeric",
                            "median": None,
                            "knots": None,
                            "indicator": False,
                        }
                    )
                    continue
                miss = np.isnan(v)
                obs = v[~miss]
                kn = None
                if c in spline_cols and (
                    c in explicit_splines or np.unique(obs).size >= MIN_DISTINCT_FOR_SPLINE
                ):
                    cand = distinct_knots(obs, self.n_knots)
                    if cand.size >= 3:
                        kn = [float(t) for t in cand]
                        knots_[c] = kn
                plan.append(
                    {
                        "var": c,
                        "kind": "numeric",
                        "median": median,
                        "knots": kn,
                        "indicator": bool(
                            self.missing_indicators and miss.sum() >= MIN_MISSING_FOR_INDICATOR
                        ),
                    }
                )
            else:
                s = category_values(frame[c])
                miss = s.isna().to_numpy()
                levels = [json_scalar(v) for v in _levels_in_order(frame[c])]
                codes = pd.Categorical(s, categories=levels).codes if levels else np.full(n, -1)
                counts = np.bincount(codes[codes >= 0], minlength=len(levels))
                if summaries:
                    freq = {str(lv): float(k) / n for lv, k in zip(levels, counts, strict=True)}
                    ranges[c] = CategoricalRange(tuple(levels), freq, float(miss.mean())).to_dict()
                reference = None
                if self.drop_reference and levels:
                    reference = levels[int(np.argmax(counts))]
                plan.append(
                    {
                        "var": c,
                        "kind": "categorical",
                        "levels": levels,
                        "reference": reference,
                        "missing_level": bool(self.missing_indicators and miss.any()),
                    }
                )
        self.numeric_ = list(numeric)
        self.categorical_ = list(categorical)
        self.plan_ = plan
        self.knots_ = knots_
        self.training_ranges_ = ranges if summaries else None
        names, groups = design_names(plan)
        full, _ = build_design(plan, *frame_readers(frame, plan), n, len(names))
        dropped = {
            b["var"]: "missing in every training row"
            for b in plan
            if b["kind"] == "numeric" and b["median"] is None
        }
        informative, uninformative = informative_columns(full, names)
        dropped.update(uninformative)
        keep = np.asarray(informative, dtype=int)
        self.dropped_features_ = dropped
        self.keep_ = [int(j) for j in keep]
        self.feature_names_out_ = np.asarray([names[j] for j in keep], dtype=object)
        self.feature_groups_ = {names[j]: groups[j] for j in keep}
        kept = full[:, keep]
        mean = kept.mean(axis=0)
        center: list[float] | None = None
        scale: list[float] | None = None
        if self.scale and keep.size:
            center = [float(m) for m in mean]
            scale = [float(s) for s in kept.std(axis=0)]
            mean = (mean - np.asarray(center)) / np.asarray(scale)
        self.center_ = center
        self.scale_ = scale
        self.design_mean_ = [float(m) for m in mean]
        return self

    def _spline_request(self, numeric: list[str]) -> set[str]:
        if isinstance(self.splines, (bool, np.bool_)):
            return set(numeric) if self.splines else set()
        wanted = as_column_list(self.splines, "splines") or []
        not_numeric = [c for c in wanted if c not in numeric]
        if not_numeric:
            raise ValueError(
                f"splines= names column(s) {', '.join(not_numeric)} that are not numeric "
                "inputs of this preprocessor"
            )
        return set(wanted)

    # -- transform --------------------------------------------------------------------------
    def _frame_for_transform(self, X) -> pd.DataFrame:
        check_is_fitted(self, "plan_")
        return to_frame(self, X, self._explicit_columns(), reset=False)

    def transform(self, X):
        """The design matrix (float64, columns :attr:`feature_names_out_`)."""
        frame = self._frame_for_transform(X)
        Z, unknown = self._transform_frame(frame)
        bad = {c: m for c, m in unknown.items() if m.any()}
        if bad and self.handle_unknown != "ignore":
            levels = {b["var"]: b["levels"] for b in self.plan_ if b["kind"] == "categorical"}
            parts = []
            for c, m in bad.items():
                vals = category_values(frame[c])[m]
                seen = ", ".join(repr(v) for v in levels.get(c, ()))
                parts.append(
                    f"{c!r}: {int(m.sum())} row(s) ({format_values(vals.tolist())}; "
                    f"{format_rows(frame.index[m], limit=5)}; "
                    + (f"the training rows had {seen})" if seen else "no training levels)")
                )
            msg = (
                "categorical value(s) not seen in the training rows, coded as all zeros "
                "for their variable: " + "; ".join(parts)
            )
            if self.handle_unknown == "error":
                raise UnknownCategoryError(msg)
            warnings.warn(msg, UnknownCategoryWarning, stacklevel=2)
        return Z

    def _transform_frame(self, frame: pd.DataFrame) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        return self._finish(*frame_readers(frame, self.plan_), len(frame))

    def _finish(
        self, numeric: NumericReader, codes: CodeReader, n: int
    ) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        """The kept design columns, scaled, and the unknown-level masks."""
        Z, unknown = compiled_program(self, self.plan_, self.keep_).build(numeric, codes, n)
        if self.center_ is not None:
            Z -= np.asarray(self.center_)
            Z /= np.asarray(self.scale_)
        return Z, unknown

    def transform_columns(self, columns, rows=None):
        """``(Z, unknown)``: the design of rows ``rows`` (positions; ``None``: all) of a
        :class:`~prom.models.columns.ColumnCache`, and per categorical column the mask of
        values the training rows never had.

        The same matrix :meth:`transform` gives for those rows, built from columns the
        cache converted once (bulk scoring shares one cache between a batch's tasks).
        Unknown levels are returned, not warned about: the caller reports them.
        """
        check_is_fitted(self, "plan_")
        absent = [b["var"] for b in self.plan_ if b["var"] not in columns]
        if absent:
            raise MissingColumnError(
                f"Preprocessor needs column(s) {', '.join(absent)}, which the table does not have"
            )
        if rows is None:
            return self._finish(columns.numeric, columns.codes, columns.n_rows)
        rows = np.asarray(rows)
        return self._finish(
            lambda v: columns.numeric(v)[rows], lambda v, lv: columns.codes(v, lv)[rows], len(rows)
        )

    def training_summaries(self) -> Mapping[str, NumericRange | CategoricalRange]:
        """:attr:`training_ranges_` as typed views with the out-of-range checks
        (:mod:`prom.models.ranges`), read once per fitted state and shared by every caller
        (the calculator, the bulk scorer, the Cox model's typical patient)."""
        check_is_fitted(self, "plan_")
        ranges = fitted_summaries(self, "training_summaries()")
        cached = self.__dict__.get("_training_summaries")
        if cached is None or cached[0] is not ranges:
            cached = (ranges, read_training_ranges(ranges))
            self._training_summaries = cached
        return cached[1]

    def unknown_categories(self, X) -> pd.DataFrame:
        """Per row and categorical column: is the value one the training rows never had?

        A missing value counts as unknown when the training rows had no missing value
        for that column. Returns a boolean DataFrame on ``X``'s index (bulk scoring uses
        it to quarantine or flag rows).
        """
        frame = self._frame_for_transform(X)
        _, unknown = self._transform_frame(frame)
        return pd.DataFrame(unknown, index=frame.index, columns=self.categorical_)

    def get_feature_names_out(self, input_features=None):
        """Design column names; ``input_features`` may rename the inputs of an array fit."""
        check_is_fitted(self, "plan_")
        if input_features is None:
            return self.feature_names_out_.copy()
        input_features = list(input_features)
        if len(input_features) != self.n_features_in_:
            raise ValueError(
                f"input_features should have length equal to number of features "
                f"({self.n_features_in_}), got {len(input_features)}"
            )
        own = list(self.feature_names_in_) if hasattr(self, "feature_names_in_") else None
        if own is not None and not self._fitted_on_array():
            if input_features != own:
                raise ValueError("input_features is not equal to feature_names_in_")
            return self.feature_names_out_.copy()
        current = own or [f"x{i}" for i in range(self.n_features_in_)]
        rename = dict(zip(current, map(str, input_features), strict=True))
        names, _ = design_names(self.plan_, rename)
        return np.asarray([names[j] for j in self.keep_], dtype=object)

    def _fitted_on_array(self) -> bool:
        return not hasattr(self, "feature_names_in_")

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        return tags

    # -- state ------------------------------------------------------------------------------
    def get_state(self) -> dict:
        """Everything fitted, as JSON-serialisable data (:mod:`prom.models.preprocess_state`)."""
        check_is_fitted(self, "plan_")
        return preprocessor_state(self)

    @classmethod
    def from_state(cls, state: dict) -> Preprocessor:
        """A fitted Preprocessor from :meth:`get_state`'s output (e.g. read from JSON)."""
        params, fitted = read_preprocessor_state(state)
        self = cls(**params)
        for name, value in fitted.items():
            setattr(self, name, value)
        return self
