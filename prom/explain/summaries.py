"""Tables from an :class:`~prom.explain.explanation.Explanation`: importance and reasons."""

from __future__ import annotations

import numbers
from typing import Any, NamedTuple

import numpy as np
import pandas as pd

from prom.explain.explanation import Explanation

__all__ = ["global_importance", "top_reasons", "row_reasons", "Reason"]


def _check_explanation(explanation) -> None:
    if not isinstance(explanation, Explanation):
        raise TypeError(
            f"expected an Explanation from explain_rows, got {type(explanation).__name__}"
        )


def global_importance(explanation: Explanation) -> pd.DataFrame:
    """Variables ranked by mean |contribution| over the explained rows.

    Columns: ``variable``, ``label`` (plain name), ``mean_abs`` (on the explanation's
    ``output`` scale, stored in ``.attrs["output"]``), ``share`` (of the sum of
    ``mean_abs``; 0 when every contribution is 0), ``mean`` (signed mean contribution);
    for a multiclass explanation ``mean_abs`` is the sum over classes of the per-class
    mean |contribution| (also given per class as ``mean_abs[<class>]``). Index: rank from 1.
    """
    _check_explanation(explanation)
    if explanation.n_rows == 0:
        raise ValueError("the explanation has no rows; explain at least one row")
    features = list(explanation.features)
    mean_abs: pd.Series
    mean: pd.Series
    if explanation.is_multiclass:
        classes, values, _ = explanation.by_class()
        per_class = {c: values[c].abs().mean(axis=0) for c in classes}
        mean_abs = sum(per_class.values())
        mean = sum(values[c].mean(axis=0) for c in classes)
    else:
        one, _ = explanation.one_output()
        per_class = {}
        mean_abs = one.abs().mean(axis=0)
        mean = one.mean(axis=0)
    total = float(mean_abs.sum())
    table = pd.DataFrame(
        {
            "variable": features,
            "label": [explanation.label(f) for f in features],
            "mean_abs": mean_abs.reindex(features).to_numpy(dtype=float),
            "share": (
                mean_abs.reindex(features).to_numpy(dtype=float) / total
                if total > 0
                else np.zeros(len(features))
            ),
            "mean": mean.reindex(features).to_numpy(dtype=float),
        }
    )
    for c, m in per_class.items():
        table[f"mean_abs[{c}]"] = m.reindex(features).to_numpy(dtype=float)
    table = table.sort_values("mean_abs", ascending=False, kind="stable").reset_index(drop=True)
    table.index = pd.RangeIndex(1, len(table) + 1, name="rank")
    table.attrs["output"] = explanation.output
    return table


def _ranked(explanation: Explanation, k, class_) -> tuple[np.ndarray, np.ndarray, list | None]:
    """``(v, order, chosen)``: the explained rows' contributions (n × features, for each
    row's class when multiclass), per row the positions of its ``k`` largest |values|
    (ties in the order of ``features``), and each row's class (``None``: one output)."""
    _check_explanation(explanation)
    if isinstance(k, bool) or not isinstance(k, numbers.Integral) or k < 1:
        raise ValueError(f"k={k!r}; expected a whole number ≥ 1")
    k = min(int(k), len(explanation.features))
    n = explanation.n_rows
    chosen: list | None
    if explanation.is_multiclass:
        classes, values, _ = explanation.by_class()
        if class_ is not None:
            chosen = [explanation.for_class(class_).explained_class] * n  # validates class_
        else:
            pred = explanation.prediction[list(classes)].to_numpy(dtype=float)
            chosen = [classes[j] for j in np.argmax(pred, axis=1)]
        stacked = np.stack([values[c].to_numpy(dtype=float) for c in classes], axis=0)
        where = {c: i for i, c in enumerate(classes)}
        v = stacked[[where[c] for c in chosen], np.arange(n), :]
    else:
        if class_ is not None and class_ != explanation.explained_class:
            raise ValueError(
                f"this explanation is for class {explanation.explained_class!r}, not {class_!r}"
            )
        chosen = None
        v = explanation.one_output()[0].to_numpy(dtype=float)
    order = np.argsort(-np.abs(v), axis=1, kind="stable")[:, :k]  # (n, k)
    return v, order, chosen


def top_reasons(explanation: Explanation, k: int = 3, *, class_=None) -> pd.DataFrame:
    """Per row the ``k`` variables with the largest |contribution|, largest first.

    One line per row and reason (long format): ``row`` (the row's index label),
    ``rank`` (1…k), ``variable``, ``label`` (plain name), ``value`` (the row's input value),
    ``contribution`` (signed, on the explanation's ``output`` scale) and ``direction``
    (``"raises"``/``"lowers"``/``"no effect"`` — the explained output). Multiclass: the
    reasons for ``class_``, or by default for each row's most likely class (highest model
    output), named in a ``class`` column. Ties keep the order of ``features``.
    """
    v, order, chosen = _ranked(explanation, k, class_)
    features = np.asarray(explanation.features, dtype=object)
    n, k = order.shape
    rows = np.repeat(np.arange(n), k)
    cols = order.ravel()
    contribution = v[rows, cols]
    data = explanation.data
    positions = [data.columns.get_loc(f) for f in features[cols]] if len(cols) else []
    values = data.to_numpy(dtype=object)[rows, positions] if len(cols) else []
    out = pd.DataFrame(
        {
            "row": np.asarray(explanation.data.index, dtype=object)[rows],
            "rank": np.tile(np.arange(1, k + 1), n),
            "variable": features[cols],
            "label": [explanation.label(f) for f in features[cols]],
            "value": pd.Series(values, dtype=object),
            "contribution": contribution,
            "direction": np.where(
                contribution > 0, "raises", np.where(contribution < 0, "lowers", "no effect")
            ),
        }
    )
    if chosen is not None:
        out.insert(1, "class", np.repeat(np.asarray(chosen, dtype=object), k))
    out.attrs["output"] = explanation.output
    return out


class Reason(NamedTuple):
    """One of a row's largest contributions (a line of :func:`top_reasons`)."""

    variable: str
    label: str
    value: Any
    contribution: float


def row_reasons(explanation: Explanation, row: int, k: int = 3, *, class_=None) -> list[Reason]:
    """The lines of :func:`top_reasons` for the row at position ``row``, largest first, as
    :class:`Reason` tuples: the same ranking, without building the table of every row
    (the calculator and the prediction service read one row at a time)."""
    _check_explanation(explanation)
    v, order, _ = explanation.once(("ranked", k, class_), lambda: _ranked(explanation, k, class_))
    if isinstance(row, bool) or not isinstance(row, numbers.Integral) or not 0 <= row < len(v):
        raise ValueError(f"row={row!r}; expected a position from 0 to {len(v) - 1}")
    data = explanation.data
    out = []
    for j in order[row]:
        f = explanation.features[j]
        column = explanation.once(("data", f), lambda f=f: data[f].to_numpy(dtype=object))
        out.append(Reason(f, explanation.label(f), column[row], float(v[row, j])))
    return out
