"""Figures of explanations, as ``matplotlib.figure.Figure`` objects.

Every function builds its own ``Figure`` (``from matplotlib.figure import Figure``) and
never touches ``matplotlib.pyplot``: pyplot keeps global state (the "current figure"),
which concurrent Streamlit sessions would share. Save with ``fig.savefig(...)``, show in
Streamlit with ``st.pyplot(fig)``. Multiclass explanations need ``class_=``.
"""

from __future__ import annotations

import numbers

import numpy as np
import pandas as pd

from prom.explain.explanation import Explanation
from prom.explain.summaries import global_importance

__all__ = ["waterfall_figure", "beeswarm_figure", "dependence_figure", "importance_figure"]

_RAISE, _LOWER = "#c0392b", "#2e6da4"
_SCALE = {
    "log_odds": "log-odds (uncalibrated model)",
    "softmax_margin": "class margin (uncalibrated model)",
    "probability": "probability (uncalibrated model)",
    "log_hazard": "log hazard (0 = training mean)",
    "calibrated_probability": "probability (calibrated)",
    "risk": "risk",
}
_LABEL_CHARS = 40


def _figure(figsize):
    from matplotlib.figure import Figure

    return Figure(figsize=figsize, layout="constrained")


def _one_output(explanation, class_) -> Explanation:
    if not isinstance(explanation, Explanation):
        raise TypeError(
            f"expected an Explanation from explain_rows, got {type(explanation).__name__}"
        )
    if explanation.is_multiclass:
        if class_ is None:
            raise ValueError(
                "a multiclass explanation needs class_= (one of "
                f"{', '.join(map(repr, explanation.classes or ()))})"
            )
        return explanation.for_class(class_)
    if class_ is not None:
        explanation.for_class(class_)  # raises unless it is the explained class
    return explanation


def _scale(output: str | None, horizon=None) -> str:
    name = "model output" if output is None else _SCALE.get(output, output or "model output")
    return f"{name} by {horizon:g} months" if output == "risk" and horizon is not None else name


def _contribution_label(ex: Explanation) -> str:
    return f"contribution to the {_scale(ex.output, ex.horizon)}"


def _title(ex: Explanation, text: str, event: str | None = None) -> str:
    """``text`` and what the explained output is: ``event`` when given (a binary model's
    event, e.g. ``'status' = 'abnormal'``), else the explained class's label."""
    if event is not None:
        text += f" — {event}"
    elif ex.explained_class is not None:
        text += f" — class {_fmt(ex.explained_class)}"
    return text


def _short(label: str) -> str:
    return label if len(label) <= _LABEL_CHARS else label[: _LABEL_CHARS - 1] + "…"


def _fmt(value, missing: str = "missing") -> str:
    if value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NA:
        return missing
    if isinstance(value, (bool, np.bool_)):
        return "yes" if value else "no"
    if isinstance(value, numbers.Real):
        return f"{float(value):.3g}"
    return str(value)


def _check_max_display(max_display) -> int:
    if (
        isinstance(max_display, bool)
        or not isinstance(max_display, numbers.Integral)
        or max_display < 1
    ):
        raise ValueError(f"max_display={max_display!r}; expected a whole number ≥ 1")
    return int(max_display)


# --- one row --------------------------------------------------------------------------------


def waterfall_figure(
    explanation: Explanation,
    row: int,
    *,
    max_display: int = 10,
    points: bool = False,
    class_=None,
    event: str | None = None,
    figsize=(7.0, 4.5),
    missing: str = "missing",
):
    """Waterfall of one row: from the base value, each variable's push, to the prediction.

    ``row`` is a position (0-based). ``points=True`` draws calibrated probability points
    (:meth:`Explanation.to_probability_points`). The ``max_display - 1`` largest
    contributions are shown one by one and the rest as one bar. ``event`` names what a
    binary model's output is the chance of, for the title (default: ``class 1``);
    ``missing`` is how a value not recorded is shown (an app's own word for it). Each
    bar's value is written just right of the bar, inside the axes, so that no label
    runs into the variable names on the left.
    """
    max_display = _check_max_display(max_display)
    if points and explanation.converted_from is None:
        explanation = explanation.to_probability_points(calibrated=True)
    ex = _one_output(explanation, class_)
    if (
        isinstance(row, bool)
        or not isinstance(row, numbers.Integral)
        or not -ex.n_rows <= row < ex.n_rows
    ):
        raise ValueError(
            f"row={row!r}; expected a position from 0 to {ex.n_rows - 1} "
            f"(the explanation has {ex.n_rows} row(s))"
        )
    v = ex.values.iloc[row]
    data = ex.data.iloc[row]
    order = np.argsort(-np.abs(v.to_numpy(dtype=float)), kind="stable")
    shown = order if len(order) <= max_display else order[: max_display - 1]
    bars = [
        (f"{_short(ex.label(ex.features[i]))} = {_fmt(data.iloc[i], missing)}", float(v.iloc[i]))
        for i in shown
    ]
    rest = order[len(shown) :]
    if len(rest):
        bars.append((f"{len(rest)} other variable(s)", float(v.iloc[rest].sum())))
    bars = bars[::-1]  # bottom to top: smallest first
    base = float(ex.base_value)
    fig = _figure(figsize)
    ax = fig.add_subplot()
    start = base
    for y, (_, width) in enumerate(bars):
        colour = _RAISE if width >= 0 else _LOWER
        ax.barh(y, width, left=start, color=colour, height=0.7)
        ax.text(  # right of the bar's right end, whichever way it points
            max(start, start + width),
            y,
            f" {width:+.3g}",
            va="center",
            ha="left",
            fontsize=8,
            color=colour,
        )
        start += width
    ax.set_yticks(range(len(bars)), [b[0] for b in bars], fontsize=8)
    ax.axvline(base, color="grey", lw=0.8, ls="--")
    ax.axvline(start, color="black", lw=0.8)
    ax.set_xlabel(_scale(ex.output, ex.horizon))
    ax.set_title(
        _title(ex, f"{ex.family}: base {base:.3g} → prediction {start:.3g}", event), fontsize=9
    )
    lo, hi = ax.get_xlim()
    ax.set_xlim(lo - 0.05 * (hi - lo), hi + 0.15 * (hi - lo))  # room for the labels
    return fig


# --- many rows ------------------------------------------------------------------------------


def _colour_values(col: pd.Series) -> np.ndarray:
    """Feature values scaled to [0, 1] for colouring (5th–95th percentile), NaN if missing."""
    if pd.api.types.is_bool_dtype(col) or pd.api.types.is_numeric_dtype(col):
        x = pd.to_numeric(col, errors="coerce").to_numpy(dtype=float)
        obs = x[~np.isnan(x)]
        if obs.size == 0:
            return x
        lo, hi = np.percentile(obs, [5, 95])
        if hi <= lo:
            lo, hi = obs.min(), obs.max()
        return np.clip((x - lo) / (hi - lo), 0, 1) if hi > lo else np.where(np.isnan(x), x, 0.5)
    codes = pd.Categorical(col).codes.astype(float)
    codes[codes < 0] = np.nan
    top = np.nanmax(codes) if np.isfinite(codes).any() else 0
    return codes / top if top > 0 else np.where(np.isnan(codes), codes, 0.5)


def _swarm_offsets(x: np.ndarray, width: float = 0.4, n_bins: int = 60) -> np.ndarray:
    """Vertical offsets that spread points sharing an x-bin (a simple beeswarm)."""
    if x.size == 0:
        return x
    span = np.ptp(x)
    bins = (
        np.zeros(x.size, int)
        if span == 0
        else np.minimum(((x - x.min()) / span * n_bins).astype(int), n_bins - 1)
    )
    order = np.lexsort((x, bins))
    rank = np.empty(x.size, int)
    counts = np.bincount(bins, minlength=n_bins)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    rank[order] = np.arange(x.size) - starts[bins[order]]
    step = np.where(rank % 2 == 0, rank // 2, -(rank // 2 + 1))  # 0, -1, 1, -2, 2 …
    return step * (width / max(1, counts.max() / 2))


def beeswarm_figure(
    explanation: Explanation,
    max_display: int = 15,
    *,
    class_=None,
    event: str | None = None,
    model: str | None = None,
    figsize=(7.0, 5.0),
):
    """Every row's contribution per variable (most important on top), coloured by value.

    Colour runs from the variable's low (blue) to high (red) values — the 5th to 95th
    percentile of the explained rows; categories in their order; missing values grey.
    ``event`` names what a binary model's output is the chance of, for the title
    (default: ``class 1``); ``model`` the model explained, by its name in a bundle
    (``cox_ridge``; default: its family, ``cox``).
    """
    from matplotlib.cm import ScalarMappable
    from matplotlib.colors import Normalize

    max_display = _check_max_display(max_display)
    ex = _one_output(explanation, class_)
    ranking = global_importance(ex)
    shown = list(ranking["variable"][:max_display])
    fig = _figure(figsize)
    ax = fig.add_subplot()
    cmap = "coolwarm"
    for y, var in enumerate(reversed(shown)):
        x = ex.values[var].to_numpy(dtype=float)
        c = _colour_values(ex.data[var])
        yy = y + _swarm_offsets(x)
        miss = np.isnan(c)
        ax.scatter(x[miss], yy[miss], s=6, color="#9e9e9e", linewidths=0)
        ax.scatter(x[~miss], yy[~miss], s=6, c=c[~miss], cmap=cmap, vmin=0, vmax=1, linewidths=0)
    ax.set_yticks(range(len(shown)), [_short(ex.label(v)) for v in reversed(shown)], fontsize=8)
    ax.axvline(0, color="grey", lw=0.8)
    ax.set_xlabel(_contribution_label(ex), fontsize=8)
    more = len(ex.features) - len(shown)
    ax.set_title(
        _title(
            ex,
            f"{model or ex.family}, {ex.n_rows} rows"
            + (f"; {more} variable(s) not shown" if more > 0 else ""),
            event,
        ),
        fontsize=9,
    )
    bar = fig.colorbar(
        ScalarMappable(norm=Normalize(0, 1), cmap=cmap), ax=ax, ticks=[0, 1], aspect=40
    )
    bar.ax.set_yticklabels(["low", "high"])
    bar.set_label("variable value")
    return fig


def dependence_figure(
    explanation: Explanation,
    variable: str,
    *,
    class_=None,
    event: str | None = None,
    figsize=(6.0, 4.0),
):
    """A variable's contribution against its value, one point per row.

    Numeric variables: a scatter, with rows missing the value in a separate strip on the
    right; categorical ones: a jittered strip per category (and for missing). ``event``
    as for :func:`beeswarm_figure`.
    """
    ex = _one_output(explanation, class_)
    if variable not in ex.features:
        raise ValueError(
            f"variable {variable!r} is not in this explanation; it has {', '.join(ex.features)}"
        )
    x = ex.data[variable]
    y = ex.values[variable].to_numpy(dtype=float)
    rng = np.random.default_rng(0)
    fig = _figure(figsize)
    numeric = pd.api.types.is_bool_dtype(x) or pd.api.types.is_numeric_dtype(x)
    if numeric:
        xv = pd.to_numeric(x, errors="coerce").to_numpy(dtype=float)
        miss = np.isnan(xv)
        if miss.any():
            ax, ax_miss = fig.subplots(1, 2, sharey=True, width_ratios=[6, 1])
            ax_miss.scatter(rng.uniform(-0.3, 0.3, miss.sum()), y[miss], s=8, color="#9e9e9e")
            ax_miss.set_xticks([0], [f"missing\n(n={int(miss.sum())})"], fontsize=8)
            ax_miss.set_xlim(-1, 1)
        else:
            ax = fig.add_subplot()
        ax.scatter(xv[~miss], y[~miss], s=8, color=_LOWER, alpha=0.6, linewidths=0)
        ax.set_xlabel(ex.label(variable))
    else:
        ax = fig.add_subplot()
        cat = pd.Categorical(x).remove_unused_categories()
        names = [str(c).replace("_", " ") for c in cat.categories]
        codes = cat.codes.astype(int)
        if (codes < 0).any():
            names.append("missing")
            codes = np.where(codes < 0, len(names) - 1, codes)
        ax.scatter(
            codes + rng.uniform(-0.25, 0.25, codes.size),
            y,
            s=8,
            color=_LOWER,
            alpha=0.6,
            linewidths=0,
        )
        counts = np.bincount(codes, minlength=len(names))
        ax.set_xticks(
            range(len(names)),
            [f"{n} (n={k})" for n, k in zip(names, counts, strict=True)],
            fontsize=8,
            rotation=30,
            ha="right",
            rotation_mode="anchor",
        )
        ax.set_xlabel(ex.label(variable))
    ax.axhline(0, color="grey", lw=0.8)
    ax.set_ylabel(_contribution_label(ex).replace(" to the ", " to the\n"), fontsize=8)
    ax.set_title(_title(ex, f"{ex.family}, {ex.n_rows} rows", event), fontsize=9)
    return fig


def importance_figure(importance, *, max_display: int = 15, figsize=(6.0, 4.5)):
    """Bars of mean |contribution| per variable (an Explanation or global_importance's table).

    A multiclass table is drawn as stacked bars, one colour per class.
    """
    max_display = _check_max_display(max_display)
    if isinstance(importance, Explanation):
        importance = global_importance(importance)
    if not isinstance(importance, pd.DataFrame) or not {"label", "mean_abs", "share"} <= set(
        importance.columns
    ):
        raise TypeError(
            "importance must be an Explanation or the DataFrame that "
            "global_importance returns (columns label, mean_abs, share)"
        )
    table = importance.head(max_display).iloc[::-1]
    per_class = [c for c in table.columns if c.startswith("mean_abs[")]
    fig = _figure(figsize)
    ax = fig.add_subplot()
    y = np.arange(len(table))
    if per_class:
        left = np.zeros(len(table))
        for c in per_class:
            w = table[c].to_numpy(dtype=float)
            ax.barh(y, w, left=left, label=c[len("mean_abs[") : -1], height=0.7)
            left += w
        ax.legend(title="class", fontsize=8)
    else:
        ax.barh(y, table["mean_abs"].to_numpy(dtype=float), color=_LOWER, height=0.7)
    for yi, (m, s) in enumerate(zip(table["mean_abs"], table["share"], strict=True)):
        ax.text(m, yi, f" {100 * s:.0f}%", va="center", fontsize=8)
    ax.set_yticks(y, [_short(v) for v in table["label"]], fontsize=8)
    ax.set_xlabel("mean |contribution|", fontsize=8)
    ax.set_title(_scale(importance.attrs.get("output")), fontsize=9)
    ax.margins(x=0.12)
    return fig
