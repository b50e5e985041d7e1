"""Performance and calibration of one set of predictions within subgroups of the rows.

TRIPOD+AI (Collins et al., BMJ 2024; 385:e078378, items 12g and 23a) asks how a model
performs across groups of patients (sex, age, site, …). The functions here take the
outcomes, the predictions and one label per row, and return one row per group with the
same metrics the toolkit reports overall, computed by the same functions on that group's
rows: :func:`~prom.validation.auc_ci` (DeLong interval),
:func:`~prom.validation.calibration_intercept_slope` (calibration-in-the-large,
calibration intercept and slope), observed/expected events, and for a survival outcome
:func:`~prom.validation.concordance` (Harrell's C with its Wald interval).

Which groups get figures
------------------------
* A group of fewer than :data:`MIN_PUBLISHED_ROWS` rows is *suppressed*: no count and no
  figure is published, only a note, so that no single patient's outcome or prediction
  can be read from a table (the small-cell rule of statistical disclosure control; NHS
  England and the UK Office for National Statistics suppress counts below 5 or 10).
  When the suppressed groups of a grouping hold fewer than that many rows together, the
  counts of the smallest published group are withheld as well, so that the suppressed
  counts cannot be recovered by subtraction from the total.
* A group with fewer than :data:`MIN_ROWS` rows, or fewer than :data:`MIN_EVENTS` events
  or non-events (survival: events), has its counts but no metric, with a note: the AUC
  interval and the calibration slope of so few outcomes are too wide to judge.
  10 events is the toolkit's own floor (below it every metric function already warns);
  Collins, Ogundimu & Altman (Stat Med 2016; 35:214) and Vergouwe et al. (J Clin
  Epidemiol 2005; 58:475) show that even 100 events and 100 non-events give imprecise
  calibration, so groups that pass this floor are still read with their intervals.
* Rows with a missing label form their own group, :data:`MISSING`.

Predictions of exactly 0 or 1 are moved to ``[CLIP, 1 - CLIP]`` for the logit-scale
calibration fits only (as the comparison table, :mod:`prom.validation.compare`); AUC and
O/E use them as given. A statistical caveat met inside a group (e.g. predictions that
separate its outcomes) becomes that group's note instead of a warning.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy.special import ndtri

from prom.errors import StatisticalWarning
from prom.validation import _checks

__all__ = [
    "CLIP",
    "MIN_EVENTS",
    "MIN_PUBLISHED_ROWS",
    "published_counts",
    "withheld_group",
    "WITHHELD",
    "MIN_ROWS",
    "MISSING",
    "RULE",
    "SUBGROUP_COLUMNS",
    "subgroup_performance",
    "multiclass_subgroup_performance",
    "survival_subgroup_performance",
]

#: Groups with fewer rows are suppressed entirely (no counts, no figures).
MIN_PUBLISHED_ROWS = 5


#: What a report shows for a count it withholds (secondary suppression).
WITHHELD = "withheld (a suppressed group's count would follow from it)"


def published_counts(counts: Mapping[str, int]) -> dict[str, str | None]:
    """Each group's row count as a report publishes it (sites, by the subgroup tables'
    rule): the count; ``fewer than 5`` for a suppressed group; ``None`` (withheld) for the
    smallest published group when the suppressed ones together hold fewer than
    :data:`MIN_PUBLISHED_ROWS` rows, whose counts the total would otherwise give back."""
    out: dict[str, str | None] = {
        k: f"{n:,}" if n >= MIN_PUBLISHED_ROWS else f"fewer than {MIN_PUBLISHED_ROWS}"
        for k, n in counts.items()
    }
    withheld = withheld_group(counts)
    if withheld is not None:
        out[withheld] = None
    return out


def withheld_group(counts: Mapping[Any, int]) -> Any:
    """The group whose count is withheld too (secondary suppression), or None: when the
    groups of fewer than :data:`MIN_PUBLISHED_ROWS` rows hold fewer than that together,
    the smallest published group, since the total less the others would give theirs back.
    The one rule of the subgroup tables and of the sites (:func:`published_counts`)."""
    hidden = sum(n for n in counts.values() if n < MIN_PUBLISHED_ROWS)
    shown = {k: n for k, n in counts.items() if n >= MIN_PUBLISHED_ROWS}
    if 0 < hidden < MIN_PUBLISHED_ROWS and shown:
        return min(shown, key=lambda k: shown[k])
    return None


#: Groups with fewer rows get counts but no metrics.
MIN_ROWS = 50
#: Groups with fewer events or non-events (survival: events) get counts but no metrics.
MIN_EVENTS = _checks.MIN_EVENTS
#: The label of rows whose group value is missing.
MISSING = "missing"
#: As the comparison table: the calibration fits need 0 < p < 1.
CLIP = 1e-8

#: The rule in one sentence, for tables and reports.
RULE = (
    f"Groups of fewer than {MIN_PUBLISHED_ROWS} rows are suppressed (no counts or "
    f"figures published); groups of fewer than {MIN_ROWS} rows or with fewer than "
    f"{MIN_EVENTS} events or {MIN_EVENTS} non-events are listed with their counts but "
    "without metrics, which would be too imprecise to judge (their event count withheld "
    f"too when fewer than {MIN_PUBLISHED_ROWS} events or non-events)."
)

#: The columns of a binary table, in order (multiclass tables add ``class`` after
#: ``group``; survival tables have ``c``, ``c_low``, ``c_high`` instead of the metrics).
SUBGROUP_COLUMNS = (
    "variable",
    "group",
    "n",
    "events",
    "auc",
    "auc_low",
    "auc_high",
    "citl",
    "intercept",
    "slope",
    "slope_low",
    "slope_high",
    "o_e",
    "note",
)
_SURVIVAL_COLUMNS = ("variable", "group", "n", "events", "c", "c_low", "c_high", "note")


def _labels(groups: Any, n: int) -> np.ndarray:
    """One string label per row; missing values become :data:`MISSING`."""
    if isinstance(groups, str) or not hasattr(groups, "__len__"):
        raise TypeError(
            f"groups must be one label per row (a Series, array or list); got "
            f"{type(groups).__name__}"
        )
    s = pd.Series(groups, dtype=object) if not isinstance(groups, pd.Series) else groups
    if len(s) != n:
        raise ValueError(f"groups has {len(s)} labels for {n} rows; expected one per row.")
    miss = s.isna().to_numpy()
    out = s.astype(str).to_numpy(dtype=object)
    out[miss] = MISSING
    return out


def _order(labels: np.ndarray, order: Sequence[str] | None) -> list[str]:
    """The groups in the order given (those present), then any others sorted, missing last."""
    present = set(labels.tolist())
    first = [g for g in (order or ()) if g in present]
    rest = sorted(present - set(first) - {MISSING})
    return first + rest + ([MISSING] if MISSING in present and MISSING not in first else [])


def _screen(n: int, events: int, non_events: int | None) -> str | None:
    """Why a group gets no metric (None: it gets them); the thresholds are in :data:`RULE`."""
    if n < MIN_PUBLISHED_ROWS:
        return f"suppressed: fewer than {MIN_PUBLISHED_ROWS} rows"
    short = []
    if n < MIN_ROWS:
        short.append(f"< {MIN_ROWS} rows")
    if events < MIN_EVENTS:
        short.append(f"< {MIN_EVENTS} events")
    if non_events is not None and non_events < MIN_EVENTS:
        short.append(f"< {MIN_EVENTS} non-events")
    if short:
        return "too few to judge (" + ", ".join(short) + ")"
    return None


def _empty_row(
    variable: str, group: str, n: int, events: int, note: str, binary: bool = True
) -> dict:
    if n < MIN_PUBLISHED_ROWS:  # "_n" (dropped from the table) marks a suppressed group
        return {
            "variable": variable,
            "group": group,
            "n": np.nan,
            "events": np.nan,
            "note": note,
            "_n": n,
        }
    if min(events, n - events if binary else events) < MIN_PUBLISHED_ROWS:
        # a cell below the rule's count: the events (and so the non-events) not published
        what = "events or non-events" if binary else "events"
        note = f"{note}; event count withheld (fewer than {MIN_PUBLISHED_ROWS} {what})"
        return {"variable": variable, "group": group, "n": n, "events": np.nan, "note": note}
    return {"variable": variable, "group": group, "n": n, "events": events, "note": note}


def _binary_row(y: np.ndarray, p: np.ndarray, level: float) -> dict:
    """The metrics of one group that passed the screen; caveats become a note."""
    from prom.validation.calibration import calibration_intercept_slope
    from prom.validation.discrimination import auc_ci

    notes: list[str] = []
    out: dict[str, Any] = {}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", StatisticalWarning)
        a = auc_ci(y, p, level=level)
        out |= {"auc": a.auc, "auc_low": a.low, "auc_high": a.high}
        try:
            c = calibration_intercept_slope(y, np.clip(p, CLIP, 1 - CLIP), level=level)
        except ValueError as e:  # constant predictions within the group
            notes.append(f"calibration not computed: {e}")
        else:
            out |= {
                "citl": c.citl,
                "intercept": c.intercept,
                "slope": c.slope,
                "slope_low": c.slope_low,
                "slope_high": c.slope_high,
            }
    for w in caught:
        if issubclass(w.category, StatisticalWarning):
            notes.append(str(w.message))
        else:
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    total = float(p.sum())
    out["o_e"] = float(y.sum() / total) if total > 0 else np.nan
    out["note"] = "; ".join(dict.fromkeys(notes)) or None
    return out


def _protect(rows: list[dict]) -> list[dict]:
    """Secondary suppression: when the suppressed groups together hold fewer than
    :data:`MIN_PUBLISHED_ROWS` rows, their counts could be recovered by subtracting the
    published groups from the total; so the counts of the smallest published group are
    withheld too (its metrics stay: they do not give back the counts)."""
    at = withheld_group({i: r["_n"] if "_n" in r else r["n"] for i, r in enumerate(rows)})
    if at is not None:
        smallest = rows[at]
        smallest["n"] = smallest["events"] = np.nan
        withheld = (
            "counts withheld so that those of a suppressed group cannot be derived by subtraction"
        )
        smallest["note"] = "; ".join(x for x in (smallest.get("note"), withheld) if x)
    return rows


def _frame(rows: list[dict], columns: Sequence[str]) -> pd.DataFrame:
    rows = _protect(rows)
    df = pd.DataFrame(
        [{k: v for k, v in r.items() if k != "_n"} for r in rows], columns=list(columns)
    )
    for c in ("n", "events"):
        df[c] = df[c].astype("Int64")
    return df


def subgroup_performance(
    y,
    p,
    groups,
    *,
    variable: str = "group",
    order: Sequence[str] | None = None,
    level: float = 0.95,
) -> pd.DataFrame:
    """AUC (DeLong interval), calibration and O/E of predictions ``p`` in each group.

    Parameters
    ----------
    y : 0/1 outcomes; p : predicted probabilities in [0, 1] (checked as the overall
        metrics check them: a missing value or a value out of range is an error).
    groups : one label per row (missing labels form the group ``"missing"``).
    variable : the name of the grouping, written in every row (e.g. ``"sex"``).
    order : groups to list first, in this order (e.g. age bands); the rest follow sorted.

    Returns one row per group with the columns of :data:`SUBGROUP_COLUMNS`: ``n``,
    ``events``; ``auc`` with ``auc_low``/``auc_high``; ``citl`` (calibration-in-the-large),
    ``intercept`` and ``slope`` (with ``slope_low``/``slope_high``) of the logistic
    recalibration; ``o_e`` (observed / expected events: ``sum(y) / sum(p)``); ``note``
    (why a group has no metrics, or a caveat). See the module docstring for the rule.
    """
    level = _checks.level_arg(level)
    ya = _checks.binary_outcome(y)
    pa = _checks.probabilities(p, "p")
    _checks.same_length(y=ya, p=pa)
    labels = _labels(groups, ya.size)
    rows = []
    for g in _order(labels, order):
        m = labels == g
        yg, pg = ya[m], pa[m]
        n, events = int(m.sum()), int(yg.sum())
        why = _screen(n, events, n - events)
        if why is not None:
            rows.append(_empty_row(variable, g, n, events, why))
            continue
        rows.append({"variable": variable, "group": g, "n": n, "events": events})
        rows[-1] |= _binary_row(yg, pg, level)
    return _frame(rows, SUBGROUP_COLUMNS)


def multiclass_subgroup_performance(
    y_labels,
    P,
    classes: Sequence,
    groups,
    *,
    variable: str = "group",
    order: Sequence[str] | None = None,
    level: float = 0.95,
) -> pd.DataFrame:
    """One-vs-rest :func:`subgroup_performance` for every class of a multiclass outcome.

    ``P`` holds the class probabilities, column ``i`` for ``classes[i]``. For class
    ``c``, the outcome is ``y == c`` and the prediction ``P[:, i]``: ``events`` counts
    the rows of class ``c`` in the group. The table has a ``class`` column after
    ``group`` and is ordered by group, then class.
    """
    classes_t, codes, Pa = _checks.multiclass_inputs(y_labels, P, classes)
    labels = _labels(groups, codes.size)
    parts = []
    for k, c in enumerate(classes_t):
        t = subgroup_performance(
            (codes == k).astype(float),
            Pa[:, k],
            labels,
            variable=variable,
            order=_order(labels, order),
            level=level,
        )
        t.insert(2, "class", str(c))
        t["_k"] = k
        parts.append(t)
    out = pd.concat(parts, ignore_index=True)
    rank = {g: i for i, g in enumerate(_order(labels, order))}
    out["_g"] = out["group"].map(rank)
    out = out.sort_values(["_g", "_k"], kind="stable").drop(columns=["_g", "_k"])
    return out.reset_index(drop=True)


def survival_subgroup_performance(
    time,
    event,
    risk,
    groups,
    *,
    variable: str = "group",
    order: Sequence[str] | None = None,
    level: float = 0.95,
) -> pd.DataFrame:
    """Harrell's C (Wald interval from survival's infinitesimal-jackknife SE) per group.

    ``risk``: higher means an earlier event (a linear predictor or a risk at a
    horizon). Columns ``variable``, ``group``, ``n``, ``events``, ``c``, ``c_low``,
    ``c_high``, ``note``; a group needs :data:`MIN_ROWS` rows and :data:`MIN_EVENTS`
    events for a C (see the module docstring).
    """
    from prom.validation.survival_metrics import concordance

    level = _checks.level_arg(level)
    a = _checks.survival_inputs(time, event, risk=(risk, "num"))
    t, e, r = a["time"], a["event"], a["risk"]
    labels = _labels(groups, t.size)
    z = float(ndtri(1 - (1 - level) / 2))
    rows = []
    for g in _order(labels, order):
        m = labels == g
        n, events = int(m.sum()), int(e[m].sum())
        why = _screen(n, events, None)
        if why is not None:
            rows.append(_empty_row(variable, g, n, events, why, binary=False))
            continue
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", StatisticalWarning)
            c = concordance(t[m], e[m], r[m])
        notes = [str(w.message) for w in caught if issubclass(w.category, StatisticalWarning)]
        rows.append(
            {
                "variable": variable,
                "group": g,
                "n": n,
                "events": events,
                "c": c.c,
                "c_low": max(0.0, c.c - z * c.se),
                "c_high": min(1.0, c.c + z * c.se),
                "note": "; ".join(notes) or None,
            }
        )
    return _frame(rows, _SURVIVAL_COLUMNS)
