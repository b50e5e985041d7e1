"""Input handling shared by the model layer's estimators: tables in, typed columns out.

Every estimator of :mod:`prom.models` (and :func:`prom.explain.explain_rows`, which reads a
model's rows as the model does) goes through :func:`to_frame`; :func:`infer_kinds` types
the columns, :func:`numeric_values`/:func:`category_values` convert them, and
:func:`refuse_non_predictors` refuses columns that can never be predictors.

Two ways of naming the columns an estimator reads:

- **explicit** (``predictors=`` / ``numeric=`` + ``categorical=`` given): columns are
  selected by name. Extra columns are ignored and their order does not matter, so a model
  can be fitted on one cohort table and applied to another (the calculator, the bulk
  scorer). ``feature_names_in_`` lists the columns read, in the declared order. Index-level
  imaging columns (``img_index_*``) absent from ``X`` are derived from ``index_level`` and
  the per-level columns (:mod:`prom.cohort.derived`).
- **implicit** (nothing given): every column of ``X`` is used, with scikit-learn's
  convention — the same columns in the same order at fit and predict time, checked by
  :func:`sklearn.utils.validation.validate_data` (its messages, its warning when a model
  fitted on a DataFrame is given an array).

Plain arrays are accepted in both modes; their columns are called ``x0, x1, …`` (the
names :meth:`get_feature_names_out` uses for unnamed input in scikit-learn).
"""

from __future__ import annotations

import numbers
from collections.abc import Sequence

import numpy as np
import pandas as pd
from sklearn.utils.validation import check_array, validate_data

from prom.cohort.derived import derive_missing
from prom.errors import MissingColumnError, PromError, format_rows, format_values

__all__ = [
    "to_frame",
    "infer_kinds",
    "numeric_values",
    "NotNumbersError",
    "category_values",
    "as_column_list",
    "json_scalar",
    "refuse_non_predictors",
    "NEVER_PREDICTORS",
]

#: Contract roles whose columns are never predictors.
NEVER_PREDICTORS = ("truth", "id", "outcome", "anchor")


def as_column_list(value, what: str) -> list[str] | None:
    """``None`` or a list of column names from a string/sequence parameter."""
    if value is None:
        return None
    if isinstance(value, str):
        return [value]
    if not isinstance(value, Sequence) and not isinstance(value, (np.ndarray, pd.Index)):
        raise TypeError(
            f"{what} must be a list of column names or None, got {type(value).__name__}"
        )
    out = list(value)
    bad = [v for v in out if not isinstance(v, str)]
    if bad:
        raise TypeError(f"{what} must hold column names (strings); got {format_values(bad)}")
    dup = sorted({v for v in out if out.count(v) > 1})
    if dup:
        raise ValueError(f"{what} names column(s) {', '.join(dup)} more than once")
    return out


def _check_size(n_rows: int, n_cols: int, shape, min_rows: int = 1) -> None:
    if n_rows < min_rows:
        raise ValueError(
            f"Found array with 0 sample(s) (shape={shape}) while a minimum of 1 is required."
        )
    if n_cols < 1:
        raise ValueError(
            f"Found array with 0 feature(s) (shape={shape}) while a minimum of 1 is required."
        )


def to_frame(estimator, X, columns: list[str] | None, *, reset: bool) -> pd.DataFrame:
    """The columns ``estimator`` reads from ``X``, as a DataFrame (never a view to mutate).

    ``columns`` is the explicit selection or ``None`` (implicit mode, see module
    docstring). With ``reset=True`` (fit) ``n_features_in_``/``feature_names_in_`` are
    set; otherwise they are checked.
    """
    if isinstance(X, pd.DataFrame):
        names_are_str = all(isinstance(c, str) for c in X.columns)
        if columns is None:
            if names_are_str:
                validate_data(estimator, X, reset=reset, skip_check_array=True)
                frame = X
            else:
                validate_data(estimator, X, reset=reset, skip_check_array=True)
                frame = X.set_axis([f"x{i}" for i in range(X.shape[1])], axis=1)
        else:
            twice = (
                []
                if X.columns.is_unique  # cached by pandas: the usual case costs nothing
                else sorted({c for c in columns if int((X.columns == c).sum()) > 1})
            )
            if twice:
                raise ValueError(
                    f"X has more than one column named {', '.join(map(repr, twice))}; which "
                    "one the model should read cannot be known: drop or rename the copies"
                )
            X = derive_missing(X, columns)
            absent = [c for c in columns if c not in X.columns]
            if absent:
                raise MissingColumnError(
                    f"{type(estimator).__name__} needs column(s) {', '.join(absent)}, "
                    f"which X does not have ({X.shape[1]} columns given)"
                )
            # the same frame as X[columns]; a copy of X when it already has exactly these
            # columns in this order (as in resampling), which pandas makes ~20× faster
            frame = X.copy() if list(X.columns) == columns else X[columns]
            if reset:
                estimator.n_features_in_ = len(columns)
                estimator.feature_names_in_ = np.asarray(columns, dtype=object)
        # a prediction on no rows (a filter that matched nobody) is an empty answer
        _check_size(frame.shape[0], frame.shape[1], frame.shape, min_rows=int(reset))
        for c, dt in frame.dtypes.items():  # one Series, not one column lookup per column
            if isinstance(dt, pd.SparseDtype):
                raise TypeError(
                    f"column {c!r} is sparse; sparse input is not supported, use dense columns"
                )
            if dt.kind == "c":
                raise ValueError(f"Complex data not supported (column {c!r})")
        return frame
    arr = check_array(
        X,
        accept_sparse=False,
        dtype=None,
        ensure_all_finite="allow-nan",
        ensure_2d=True,
        ensure_min_samples=1,
        ensure_min_features=1,
    )
    if arr.dtype.kind not in "biufcO":
        arr = arr.astype(object)
    if columns is None:
        validate_data(estimator, arr, reset=reset, skip_check_array=True)
        names = getattr(estimator, "feature_names_in_", None)
        names = list(names) if names is not None else [f"x{i}" for i in range(arr.shape[1])]
    else:
        if reset:
            # an array cannot carry the names; its columns are the declared ones, in order
            estimator.n_features_in_ = len(columns)
            estimator.feature_names_in_ = np.asarray(columns, dtype=object)
        if arr.shape[1] != len(columns):
            raise ValueError(
                f"X has {arr.shape[1]} features, but {type(estimator).__name__} is expecting "
                f"{len(columns)} features as input"
            )
        names = list(columns)
    return pd.DataFrame(arr, columns=names, copy=False)


def infer_kinds(frame: pd.DataFrame) -> tuple[list[str], list[str]]:
    """``(numeric, categorical)`` column lists: contract dtype first, pandas dtype otherwise.

    Contract ``bool``/``int``/``float`` → numeric (bool as 0/1); ``category``/``string``
    → categorical. A column outside the contract is numeric if its pandas dtype is boolean
    or numeric, categorical otherwise.
    """
    from prom.cohort.contract import COHORT_CONTRACT

    numeric: list[str] = []
    categorical: list[str] = []
    for c in frame.columns:
        if c in COHORT_CONTRACT:
            is_num = COHORT_CONTRACT[c].dtype in ("bool", "int", "float")
        else:
            dt = frame[c].dtype
            if dt == np.dtype(object):
                is_num = _object_column_is_numeric(frame[c], c)
            else:
                is_num = (
                    pd.api.types.is_bool_dtype(dt) or pd.api.types.is_numeric_dtype(dt)
                ) and not isinstance(dt, pd.CategoricalDtype)
        (numeric if is_num else categorical).append(c)
    return numeric, categorical


def _object_column_is_numeric(s: pd.Series, name: str) -> bool:
    """An object column of numbers (and missing values) is numeric; of strings categorical."""
    values = s[s.notna()]
    kinds = values.map(
        lambda v: (
            "num"
            if isinstance(v, (numbers.Real, np.bool_))
            else "str"
            if isinstance(v, str)
            else type(v).__name__
        )
    )
    other = kinds[~kinds.isin(["num", "str"])]
    if len(other):
        raise TypeError(
            f"column {name!r} holds a {other.iloc[0]} at {format_rows(other.index[:1])}; "
            "each argument must be a string or a number"
        )
    return bool(len(kinds)) and bool((kinds == "num").all())


_YES_NO_WORDS = frozenset({"yes", "no", "y", "n", "true", "false", "t", "f", "ja", "nein"})


class NotNumbersError(PromError, TypeError):
    """A numeric column holds values that are not numbers (bad input, named by row)."""


def numeric_values(s: pd.Series, name: str) -> np.ndarray:
    """A column as float64 with NaN for missing; TypeError/ValueError name the bad rows."""
    dt = s.dtype
    if dt.kind == "c":
        raise ValueError(f"Complex data not supported (column {name!r})")
    if isinstance(dt, pd.CategoricalDtype):
        s = s.astype(object)
    try:
        v = s.to_numpy(dtype=np.float64, na_value=np.nan)
    except (TypeError, ValueError):
        coerced = pd.to_numeric(s.astype(object), errors="coerce")
        bad = coerced.isna().to_numpy() & s.notna().to_numpy()
        words = {str(v).strip().lower() for v in s[bad].tolist()}
        how = (
            f"yes/no written as text: write them as 1/0 (a column mapping can: "
            f"columns: {{{name}: {{to: {name}, values: {{'yes': true, 'no': false}}}}}})"
            if words <= _YES_NO_WORDS
            else "recode them or declare the column categorical"
        )
        raise NotNumbersError(
            f"column {name!r} should be numeric, but {int(bad.sum())} value(s) are not numbers "
            f"({format_values(s[bad].tolist())}) at {format_rows(s.index[bad])}; {how}"
        ) from None
    inf = np.isinf(v)
    if inf.any():
        raise ValueError(
            f"column {name!r} has {int(inf.sum())} infinite value(s) at "
            f"{format_rows(s.index[inf])}; expected finite numbers or missing"
        )
    return v


def category_values(s: pd.Series) -> pd.Series:
    """A column as an object Series (missing as None/NaN), for coding against levels."""
    return s.astype(object)


def json_scalar(v):
    """A category level as a plain JSON scalar (str, int, float or bool)."""
    if hasattr(v, "item") and not isinstance(v, (str, bytes)):
        v = v.item()
    if isinstance(v, (str, bool, int, float)):
        return v
    raise TypeError(
        f"category level {v!r} ({type(v).__name__}) cannot be stored in a model bundle; "
        "category levels must be strings, integers, floats or booleans"
    )


def refuse_non_predictors(columns) -> None:
    """Simulator truth, identifiers, outcomes and anything measured after baseline (PROM
    items and scores at 1, 3 or 12 months) can never be predictors: refuse them by name."""
    from prom.cohort.contract import COHORT_CONTRACT
    from prom.naming import FOLLOW_UPS

    def why(c):
        if c not in COHORT_CONTRACT:
            return None
        role = COHORT_CONTRACT[c].role
        if role in NEVER_PREDICTORS:
            return role
        if role in ("item", "score") and c.endswith(tuple(f"_{tp}" for tp in FOLLOW_UPS)):
            return "follow-up"
        return None

    bad = [(c, why(c)) for c in columns if why(c)]
    if bad:
        roles = ", ".join(f"{c} ({r})" for c, r in bad)
        raise ValueError(
            f"column(s) {roles} cannot be predictors: the contract marks them as simulator "
            "truth, identifiers, outcomes or measurements after baseline. Pass "
            "predictors=task.predictors (prom.outcomes) or drop them from X."
        )
