"""Input checks shared by the metric, resampling and comparison functions.

Every public function of :mod:`prom.validation` validates its arguments here before
computing anything (binary outcomes and probabilities, multiclass labels with their class
probabilities, survival times and events, confidence levels), so that all of them fail
the same way: ``TypeError`` for a wrong type (strings, a dict, ``None``, non-numeric
columns), ``ValueError`` naming the count and the rows for a bad value (missing values,
outcomes other than 0/1, probabilities outside [0, 1], unequal lengths, a single class),
and :class:`~prom.errors.StatisticalWarning` for a caveat (fewer than 10 events or
non-events). Rows with missing values are never dropped silently.

Rows are named by their index label when the input is a pandas Series, else by their
0-based position.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from numbers import Integral, Real

import numpy as np
import pandas as pd

from prom.errors import StatisticalWarning, format_rows, format_values

#: fewer events (or non-events) than this triggers a StatisticalWarning
MIN_EVENTS = 10

# Warnings are raised from a helper called by a public function: point at the caller.
_STACK = 3


def _labels(x, idx):
    """Row labels for positions ``idx``: the Series index's (its name kept, so a CSV
    file's lines are called lines), else 0-based positions."""
    if isinstance(x, pd.Series):
        return x.index[np.asarray(idx)]
    if isinstance(x, pd.Index):
        return list(np.arange(len(x))[idx])
    return [int(i) for i in idx]


def where_rows(x, idx) -> str:
    where = format_rows(_labels(x, idx))
    return where if isinstance(x, pd.Series) else f"0-based {where}"


def as_numeric_1d(x, name: str, *, allow_bool: bool = True) -> np.ndarray:
    """``x`` as a 1-D float array; TypeError for non-numeric input, ValueError for NaN."""
    if x is None or isinstance(x, str | bytes | dict | set) or np.isscalar(x):
        raise TypeError(
            f"{name} must be a 1-D array-like of numbers (list, NumPy array or pandas "
            f"Series); got {type(x).__name__}."
        )
    if isinstance(x, pd.DataFrame):
        if x.shape[1] != 1:
            raise TypeError(
                f"{name} must be 1-D; got a DataFrame with {x.shape[1]} columns. "
                f"Pass one column, e.g. df[{x.columns[0]!r}]."
            )
        x = x.iloc[:, 0]
    if isinstance(x, pd.Series | pd.Index):
        if not (pd.api.types.is_numeric_dtype(x.dtype) or pd.api.types.is_bool_dtype(x.dtype)):
            raise TypeError(
                f"{name} must be numeric; got dtype {x.dtype} (values such as "
                f"{format_values(pd.unique(pd.Series(x).dropna())[:3].tolist(), limit=3)}). "
                "Encode it as numbers first."
            )
        if pd.api.types.is_bool_dtype(x.dtype) and not allow_bool:
            raise TypeError(f"{name} must be numeric, not boolean.")
        arr = x.to_numpy(dtype=float, na_value=np.nan)
    else:
        arr = np.asarray(x)
        if arr.dtype == object and arr.ndim == 1:  # numbers with None among them: NaN
            missing = np.array([v is None for v in arr], dtype=bool)
            real = np.array(
                [isinstance(v, (int, float, np.number)) and not isinstance(v, bool) for v in arr]
            )
            if missing.any() and (missing | real).all():
                arr = np.where(missing, np.nan, arr).astype(float)
        if arr.dtype.kind == "b":
            if not allow_bool:
                raise TypeError(f"{name} must be numeric, not boolean.")
        elif arr.dtype.kind not in "iuf":
            shown = format_values(pd.unique(arr.ravel())[:3].tolist(), limit=3) if arr.size else ""
            raise TypeError(
                f"{name} must be numeric; got an array of dtype {arr.dtype}"
                + (f" (values such as {shown})" if shown else "")
                + ". Encode it as numbers first."
            )
        arr = arr.astype(float, copy=False)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be 1-D; got an array of shape {arr.shape}.")
    if arr.size == 0:
        raise ValueError(f"{name} is empty; metrics need at least one row.")
    bad = np.flatnonzero(np.isnan(arr))
    if bad.size:
        raise ValueError(
            f"{name} has {bad.size} missing value(s) ({where_rows(x, bad)}); metrics never drop "
            "rows silently: remove or impute those rows in every input first."
        )
    bad = np.flatnonzero(~np.isfinite(arr))
    if bad.size:
        raise ValueError(f"{name} has {bad.size} infinite value(s) ({where_rows(x, bad)}).")
    return arr


def same_length(**arrays: np.ndarray) -> int:
    lengths = {k: len(v) for k, v in arrays.items()}
    if len(set(lengths.values())) > 1:
        shown = ", ".join(f"{k} has {n}" for k, n in lengths.items())
        raise ValueError(f"inputs must have one value per row; lengths differ: {shown}.")
    return next(iter(lengths.values()))


def binary_outcome(y, name: str = "y") -> np.ndarray:
    """0/1 (or boolean) outcome as a float array."""
    arr = as_numeric_1d(y, name)
    bad = np.flatnonzero((arr != 0) & (arr != 1))
    if bad.size:
        raise ValueError(
            f"{name} must be 0/1 (1 = event); {bad.size} value(s) are not "
            f"({where_rows(y, bad)}; values {format_values(arr[bad].tolist())}). "
            "Recode the outcome, e.g. (y == 'yes').astype(int)."
        )
    return arr


def probabilities(p, name: str = "p") -> np.ndarray:
    arr = as_numeric_1d(p, name)
    bad = np.flatnonzero((arr < 0) | (arr > 1))
    if bad.size:
        raise ValueError(
            f"{name} must be predicted probabilities in [0, 1]; {bad.size} value(s) are "
            f"outside ({where_rows(p, bad)}; range {arr.min():g} to {arr.max():g}). "
            "Logits? pass 1 / (1 + exp(-lp)). Percentages? divide by 100."
        )
    return arr


def open_probabilities(arr: np.ndarray, p, name: str, what: str) -> None:
    """Refuse probabilities of exactly 0 or 1 where their logit is needed."""
    bad = np.flatnonzero((arr <= 0) | (arr >= 1))
    if bad.size:
        raise ValueError(
            f"{what} uses logit({name}), which is infinite for {bad.size} prediction(s) of "
            f"exactly 0 or 1 ({where_rows(p, bad)}). rms val.prob drops such rows; here they "
            f"are refused: clip them, e.g. np.clip({name}, 1e-8, 1 - 1e-8), if they are "
            "really rounded probabilities."
        )


def both_classes(
    y: np.ndarray, name: str = "y", *, what: str = "this metric", stacklevel: int = _STACK
) -> tuple[int, int]:
    """(events, non-events); ValueError with one class, StatisticalWarning below 10."""
    n_events = int(y.sum())
    n_non = int(y.size - n_events)
    if n_events == 0 or n_non == 0:
        only = "1 (events)" if n_non == 0 else "0 (non-events)"
        raise ValueError(
            f"{name} has a single class: all {y.size} value(s) are {only}; {what} needs "
            "both events and non-events. Check the outcome definition or the subset."
        )
    few = min(n_events, n_non)
    if few < MIN_EVENTS:
        kind = "events (y == 1)" if n_events <= n_non else "non-events (y == 0)"
        warnings.warn(
            f"only {few} {kind} among {y.size} rows; {what} is unstable with fewer than "
            f"{MIN_EVENTS}.",
            StatisticalWarning,
            stacklevel=stacklevel,
        )
    return n_events, n_non


def binary_and_probs(y, p, *, what: str, p_name: str = "p", need_both: bool = True):
    """Validated ``(y, p, n_events)`` for the binary-outcome metrics."""
    ya = binary_outcome(y)
    pa = probabilities(p, p_name)
    same_length(y=ya, **{p_name: pa})
    n_events = both_classes(ya, what=what, stacklevel=_STACK + 1)[0] if need_both else int(ya.sum())
    return ya, pa, n_events


def level_arg(level) -> float:
    """A confidence level strictly between 0 and 1, as a float."""
    if isinstance(level, bool) or not isinstance(level, Real):
        raise TypeError(f"level must be a number in (0, 1), e.g. 0.95; got {level!r}.")
    value = float(level)
    if not 0 < value < 1:
        raise ValueError(f"level must be in (0, 1), e.g. 0.95 for 95% intervals; got {level}.")
    return value


def int_arg(value, name: str, low: int, high: int | None = None) -> int:
    """An integer in ``[low, high]`` (no upper bound when ``high`` is None).

    For bounded integers (``knots``, ``n_groups``) and the study sizes of
    :mod:`prom.validation.sample_size`, whose messages tests match. Options that count
    something with a lower bound only (``n_boot``, ``n_splits``, ``n_points``) are checked
    with :class:`prom.options.Count`, like every other option of the toolkit.
    """
    if isinstance(value, bool) or not isinstance(value, Integral):
        raise TypeError(f"{name} must be an integer; got {value!r}.")
    number = int(value)
    if number < low or (high is not None and number > high):
        rng = f">= {low}" if high is None else f"between {low} and {high}"
        raise ValueError(f"{name} must be {rng}; got {value}.")
    return number


def multiclass_inputs(y_labels, P, classes) -> tuple[tuple, np.ndarray, np.ndarray]:
    """Validated ``(classes, codes, P)`` of a multiclass outcome and its predicted class
    probabilities: ``codes[i]`` is the column of row i's label."""
    if isinstance(classes, str | bytes) or not isinstance(
        classes, Sequence | np.ndarray | pd.Index
    ):
        raise TypeError(
            f"classes must be a sequence of class labels; got {type(classes).__name__}."
        )
    classes = tuple(classes.tolist() if hasattr(classes, "tolist") else classes)
    k = len(classes)
    if k < 2 or len(set(classes)) != k:
        raise ValueError(f"classes must hold at least 2 distinct labels; got {classes!r}.")
    if y_labels is None or isinstance(y_labels, str | bytes | dict) or np.isscalar(y_labels):
        raise TypeError(
            f"y_labels must be a 1-D array-like of labels; got {type(y_labels).__name__}."
        )
    labels = y_labels if isinstance(y_labels, pd.Series) else pd.Series(y_labels)

    def rows(idx):
        return where_rows(y_labels, idx)

    miss = np.flatnonzero(labels.isna().to_numpy())
    if miss.size:
        raise ValueError(
            f"y_labels has {miss.size} missing value(s) ({rows(miss)}); "
            "remove or impute those rows first."
        )
    if isinstance(P, pd.DataFrame) and not isinstance(P.columns, pd.RangeIndex):
        # columns named by the classes are read by name, in any order; columns named
        # otherwise are read in the classes' order; a mix of the two cannot be read
        cols = list(P.columns)
        if len(cols) == k and set(cols) == set(classes):
            P = P[list(classes)]
        elif set(cols) & set(classes):
            raise ValueError(
                f"P's columns {cols!r} name some of the classes {list(classes)!r} but not "
                "all: name every column by its class, or pass an array in the classes' order."
            )
    Pa = np.asarray(P.to_numpy() if isinstance(P, pd.DataFrame) else P)
    if Pa.dtype.kind not in "iuf":
        raise TypeError(f"P must be a numeric array of probabilities; got dtype {Pa.dtype}.")
    Pa = Pa.astype(float, copy=False)
    if Pa.ndim != 2 or Pa.shape[1] != k:
        raise ValueError(
            f"P must have shape (n, {k}), one column per class in `classes`; got {Pa.shape}."
        )
    same_length(y_labels=labels.to_numpy(), P=Pa)
    bad = np.flatnonzero(np.isnan(Pa).any(axis=1))
    if bad.size:
        raise ValueError(f"P has missing values in {bad.size} row(s) ({rows(bad)}).")
    bad = np.flatnonzero(((Pa < 0) | (Pa > 1)).any(axis=1))
    if bad.size:
        raise ValueError(
            f"P must hold probabilities in [0, 1]; {bad.size} row(s) do not ({rows(bad)})."
        )
    sums = Pa.sum(axis=1)
    bad = np.flatnonzero(~np.isclose(sums, 1.0, rtol=0, atol=1e-8))
    if bad.size:
        raise ValueError(
            f"rows of P must sum to 1 (class probabilities); {bad.size} row(s) do not "
            f"({rows(bad)}; sums {sums[bad].min():g} to {sums[bad].max():g}). "
            "Normalise them, or pass softmax outputs."
        )
    lab = labels.to_numpy()
    codes = pd.Index(classes).get_indexer(lab)
    bad = np.flatnonzero(codes < 0)
    if bad.size:
        raise ValueError(
            f"y_labels has {bad.size} label(s) not in classes ({rows(bad)}; labels "
            f"{format_values(pd.unique(lab[bad]).tolist())}); classes are {classes!r}."
        )
    counts = np.bincount(codes, minlength=k)
    if (counts == 0).any():
        absent = [c for c, m in zip(classes, counts, strict=True) if m == 0]
        raise ValueError(
            f"class(es) {absent!r} never occur in y_labels; their one-vs-rest AUC is undefined."
        )
    return classes, codes, Pa


def survival_inputs(time, event, **others) -> dict[str, np.ndarray]:
    """Validated ``{"time": ..., "event": ..., **others}`` of survival data: times >= 0,
    events 0/1 and each other input ``name=(value, kind)`` numeric (``kind`` ``"num"``) or
    a probability (``"prob"``), all of one length."""
    t = as_numeric_1d(time, "time", allow_bool=False)
    bad = np.flatnonzero(t < 0)
    if bad.size:
        raise ValueError(
            f"time must be >= 0 (follow-up since time zero); {bad.size} value(s) are "
            f"negative ({where_rows(time, bad)})."
        )
    e = binary_outcome(event, "event")
    arrays = {"time": t, "event": e}
    for name, (value, kind) in others.items():
        arrays[name] = probabilities(value, name) if kind == "prob" else as_numeric_1d(value, name)
    same_length(**arrays)
    return arrays
