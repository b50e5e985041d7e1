"""Diagnostics of a task's predictors before any model is fitted.

:func:`leave_out_aliased` and :func:`diagnose` look at the predictors as the unpenalised
baseline sees them — the logistic (or Cox) design: numeric columns with missing-value
indicators, categorical columns reference-coded, spline terms when asked for, constant and
duplicate design columns already left out by the :class:`~prom.models.Preprocessor` — and
at the outcome, and report:

- **exact linear dependence** (:func:`prom.models.collinearity.aliased_columns`): the
  aliased columns and the relation, e.g. ``c = 1.000·a + 1.000·b``;
- **near dependence**: variance inflation factors above :data:`~prom.models.
  collinearity.VIF_HIGH` (10) and the condition number of the standardised design with
  the Belsley–Kuh–Welsch near dependencies above :data:`~prom.models.collinearity.
  CONDITION_HIGH` (30);
- **separation** (:mod:`prom.models.separation`; binary outcome, and each class against
  the rest of a multiclass one):
  a category level (or missing indicator) whose rows all have one outcome, a threshold on
  one numeric predictor that splits the outcomes, or — found with Konis's linear program
  (Konis 2007, the method of R's ``detectseparation``; Albert & Anderson 1984 showed the
  maximum-likelihood estimate exists exactly when there is none) — a combination of
  columns along which the unpenalised logistic fit diverges; survival: a level with no
  event among its rows (the Cox partial likelihood is monotone in its coefficient);
- **rare categories**: levels with fewer than :data:`RARE_ROWS` rows or below
  :data:`RARE_FRACTION` of the rows;
- **isolated extreme values** of numeric predictors, beyond Tukey's far-out fences
  (:mod:`prom.models.extremes`), a typo or a unit entered in another scale;
- **events per candidate parameter** (EPP): the smaller class (binary), the smallest
  class (multiclass, per parameter of one class-against-reference equation; de Jong et
  al. 2019) or the events (survival), per design column — dummy columns, indicators and
  spline terms all counted.

What happens to an exactly aliased set
--------------------------------------
:func:`leave_out_aliased` leaves the *later* predictor of the set (in the order the
predictors were given) out of the whole fit, recording why and what to do; the fit then
runs on the rest. The alternative, a minimal ridge penalty on the baseline, was not
chosen: it returns *a* finite coefficient for each aliased column, but which split of the
shared effect it returns is decided by the penalty, not the data, so those coefficients
(and odds ratios and attributions built on them) would look identified when they are not.
Leaving one column out loses nothing a linear model can use — the others reproduce it
exactly — keeps every remaining coefficient of the unpenalised baseline estimable, and
gives every family the same predictors, so the comparison with logistic regression stays
like for like. (A tree model could use the left-out sum as a split directly; the record
says which column went, so a user who wants it can keep it and drop another instead.)

Explanation groups
------------------
Predictors that stay highly correlated (|r| ≥ :data:`~prom.models.collinearity.
CORRELATION_HIGH` between any of their design columns) or share a near dependency are
explained as one group: their attributions are not identifiable one by one, their sum
is. The groups are decided here, from the training rows, and stored in the bundle's
manifest so the report, the bulk scorer and the calculator use the same ones.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from prom.errors import StatisticalWarning
from prom.models.collinearity import (
    CONDITION_HIGH,
    CORRELATION_HIGH,
    VIF_HIGH,
    VIF_NEAR_ALIASED,
    AliasedColumn,
    aliased_columns,
    condition_number,
    correlated_pairs,
    near_dependencies,
    variance_inflation_factors,
)
from prom.models.extremes import SHARED_EXTREME_FIELDS, describe_extremes, isolated_extremes
from prom.models.imputed import mostly_missing_notes
from prom.models.separation import find_separation

__all__ = [
    "RARE_ROWS",
    "RARE_FRACTION",
    "MIN_EPP",
    "FitDiagnostics",
    "diagnose",
    "leave_out_aliased",
    "group_label",
    "describe_extremes",
    "SHARED_EXTREME_FIELDS",
]

#: A category level with fewer rows than this is rare …
RARE_ROWS = 10
#: … and so is one below this fraction of the rows.
RARE_FRACTION = 0.01
#: Fewer events per candidate parameter than this earns a caution (Peduzzi et al. 1996).
MIN_EPP = 10.0


def group_label(members: Sequence[str]) -> str:
    """How an explanation group is shown: ``"a + b + c (correlated; explained together)"``."""
    return " + ".join(members) + " (correlated; explained together)"


@dataclass(frozen=True)
class FitDiagnostics:
    """What :func:`diagnose` found, as plain data (stored in the bundle's manifest).

    ``aliased``: one mapping per exact relation (``relation``, ``columns``: the design
    columns, ``left_out``: the predictor left out of the fit); ``vif``: per design column
    ``{column, variable, vif}``; ``near_dependencies``: ``{condition_index, columns}``;
    ``correlated``: ``{a, b, r}``; ``separation``: ``{column, detail}``;
    ``rare_categories``: ``{column, level, count}``; ``extreme_values``: ``{column,
    count, values, rows, low, high}`` (``None`` in a bundle written before the check);
    ``explain_groups``: predictors explained together.

    The extreme values and their row labels are one patient's entries: ``prom fit`` prints
    them to the person holding the table, so that a typo can be found, but
    :meth:`to_dict` — what the bundle's manifest, and through it the report, keep — writes
    only each column's count and fences (:data:`SHARED_EXTREME_FIELDS`). A record read
    back from a bundle has no values or rows; bundles written before this kept them, and
    they are shown as written.
    """

    kind: str
    n: int
    events: int | None
    events_label: str
    parameters: int
    condition_number: float | None = None
    aliased: tuple[Mapping[str, Any], ...] = ()
    vif: tuple[Mapping[str, Any], ...] = ()
    near_dependencies: tuple[Mapping[str, Any], ...] = ()
    correlated: tuple[Mapping[str, Any], ...] = ()
    separation: tuple[Mapping[str, Any], ...] = ()
    rare_categories: tuple[Mapping[str, Any], ...] = ()
    extreme_values: tuple[Mapping[str, Any], ...] | None = None  # None: not checked
    explain_groups: tuple[tuple[str, ...], ...] = ()
    notes: tuple[str, ...] = field(default=())

    # -- derived views ---------------------------------------------------------------------
    @property
    def events_per_parameter(self) -> float | None:
        if self.events is None or not self.parameters:
            return None
        return self.events / self.parameters

    def high_vif(self) -> list[Mapping[str, Any]]:
        """Design columns with a VIF above :data:`VIF_HIGH`, largest first."""
        rows = [r for r in self.vif if r["vif"] is None or r["vif"] > VIF_HIGH]
        return sorted(rows, key=lambda r: -(math.inf if r["vif"] is None else r["vif"]))

    def vif_of(self, column: str) -> float | None:
        """The VIF of a design column (None: not computed; ``inf`` for ``None`` stored)."""
        for r in self.vif:
            if r["column"] == column:
                return math.inf if r["vif"] is None else float(r["vif"])
        return None

    def lines(self) -> list[str]:
        """One sentence per finding, each naming the columns and what to do."""
        out = [
            f"exactly aliased predictors: {a['relation']} in all {self.n:,} labelled rows; "
            f"{a['left_out']!r} was left out of every model (no coefficient of the set "
            "is identifiable with all of them in); drop one of them or combine them"
            for a in self.aliased
        ]
        high = self.high_vif()
        if high:
            shown = ", ".join(f"{r['column']} ({_vif_text(r['vif'])})" for r in high[:8])
            out.append(
                f"near-collinear predictors, variance inflation factor above {VIF_HIGH:g}: "
                f"{shown}; their odds ratios are marked (above {VIF_NEAR_ALIASED:g}: not "
                "shown, not identifiable on their own); drop one of them or combine them"
            )
        if self.condition_number is not None and self.condition_number > CONDITION_HIGH:
            deps = "; ".join(
                f"{', '.join(d['columns'])} (condition index {d['condition_index']:.0f})"
                for d in self.near_dependencies
            )
            out.append(
                f"condition number of the standardised design {self.condition_number:.0f} "
                f"(above {CONDITION_HIGH:g})"
                + (f": near dependencies among {deps}" if deps else "")
            )
        out += [
            f"highly correlated: {c['a']} and {c['b']} (r = {c['r']:.3f})" for c in self.correlated
        ]
        out += [
            f"explained together (attributions summed; not identifiable one by one): "
            f"{' + '.join(g)}"
            for g in self.explain_groups
        ]
        out += [f"separation: {s['detail']}" for s in self.separation]
        if self.rare_categories:
            shown = ", ".join(
                f"{r['column']} = {r['level']!s} ({r['count']} rows)"
                for r in self.rare_categories[:10]
            )
            more = len(self.rare_categories) - 10
            out.append(
                f"rare categories (fewer than {RARE_ROWS} rows or {RARE_FRACTION:.0%}): {shown}"
                + (f" and {more} more" if more > 0 else "")
                + "; consider merging them with a similar level"
            )
        if self.extreme_values:
            out.append(f"isolated extreme values: {describe_extremes(self.extreme_values)}")
        epp = self.events_per_parameter
        if epp is not None:
            text = (
                f"events per candidate parameter: {epp:.1f} = {self.events:,} "
                f"{self.events_label} / {self.parameters} design columns (dummy columns, "
                "missing indicators and spline terms counted)"
            )
            if epp < MIN_EPP:
                text += f"; below {MIN_EPP:g} expect overfitting"
            out.append(text)
        out += list(self.notes)
        return out

    def findings(self) -> int:
        """How many problems were found (0: nothing to act on)."""
        epp = self.events_per_parameter
        return (
            len(self.aliased)
            + len(self.high_vif())
            + len(self.separation)
            + len(self.rare_categories)
            + len(self.extreme_values or ())
            + int(epp is not None and epp < MIN_EPP)
        )

    # -- JSON ------------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "n": self.n,
            "events": self.events,
            "events_label": self.events_label,
            "parameters": self.parameters,
            "condition_number": _finite_or_none(self.condition_number),
            "aliased": [dict(a) | {"columns": list(a["columns"])} for a in self.aliased],
            "vif": [dict(r) for r in self.vif],
            "near_dependencies": [
                dict(d) | {"columns": list(d["columns"])} for d in self.near_dependencies
            ],
            "correlated": [dict(c) for c in self.correlated],
            "separation": [dict(s) for s in self.separation],
            "rare_categories": [dict(r) for r in self.rare_categories],
            **(
                {
                    "extreme_values": [
                        {k: r[k] for k in SHARED_EXTREME_FIELDS if k in r}
                        for r in self.extreme_values
                    ]
                }
                if self.extreme_values is not None
                else {}
            ),
            "explain_groups": [list(g) for g in self.explain_groups],
            "notes": list(self.notes),
        }

    @classmethod
    def from_dict(cls, d: Any) -> FitDiagnostics:
        """Read :meth:`to_dict` back; ``ValueError`` naming the field that is wrong."""
        if not isinstance(d, Mapping):
            raise ValueError(f"expected a JSON object, found {type(d).__name__}")
        known = set(cls.__dataclass_fields__)
        unknown = sorted(set(d) - known)
        if unknown:
            raise ValueError(f"unknown field(s) {', '.join(map(repr, unknown))}")
        for key in ("kind", "n", "parameters"):
            if key not in d:
                raise ValueError(f"field {key!r} is missing")

        def tables(key: str) -> tuple[Mapping[str, Any], ...]:
            v = d.get(key, [])
            if not isinstance(v, list) or not all(isinstance(r, Mapping) for r in v):
                raise ValueError(f"field {key!r} must be a list of JSON objects")
            return tuple(
                dict(r) | ({"columns": tuple(r["columns"])} if "columns" in r else {}) for r in v
            )

        groups = d.get("explain_groups", [])
        if not isinstance(groups, list) or not all(
            isinstance(g, list) and all(isinstance(c, str) for c in g) for g in groups
        ):
            raise ValueError("field 'explain_groups' must be a list of lists of column names")
        for key in ("n", "parameters"):
            if isinstance(d[key], bool) or not isinstance(d[key], int):
                raise ValueError(f"field {key!r} must be an integer; found {d[key]!r}")
        return cls(
            kind=str(d["kind"]),
            n=int(d["n"]),
            events=None if d.get("events") is None else int(d["events"]),
            events_label=str(d.get("events_label", "events")),
            parameters=int(d["parameters"]),
            condition_number=d.get("condition_number"),
            aliased=tables("aliased"),
            vif=tables("vif"),
            near_dependencies=tables("near_dependencies"),
            correlated=tables("correlated"),
            separation=tables("separation"),
            rare_categories=tables("rare_categories"),
            extreme_values=tables("extreme_values") if "extreme_values" in d else None,
            explain_groups=tuple(tuple(g) for g in groups),
            notes=tuple(str(x) for x in d.get("notes", [])),
        )


def _finite_or_none(x: float | None) -> float | None:
    return None if x is None or not math.isfinite(x) else float(x)


def _vif_text(v: float | None) -> str:
    return "VIF ∞" if v is None else f"VIF {v:.3g}"


# --- the design ---------------------------------------------------------------------------


def _design(X: pd.DataFrame, splines: bool) -> tuple[np.ndarray, list[str], dict[str, str]]:
    """The baseline's design of ``X``: matrix, column names, column → predictor."""
    from prom.models.preprocess import Preprocessor, infer_kinds

    numeric, categorical = infer_kinds(X)
    with warnings.catch_warnings():
        # a predictor missing everywhere was screened before; nothing new to say here
        warnings.simplefilter("ignore", StatisticalWarning)
        pre = Preprocessor(
            numeric=numeric, categorical=categorical, splines=splines, drop_reference=True
        ).fit(X)
        Z = np.asarray(pre.transform(X), dtype=float)
    names = [str(c) for c in pre.feature_names_out_]
    return Z, names, {str(k): str(v) for k, v in pre.feature_groups_.items()}


def leave_out_aliased(
    X: pd.DataFrame, *, splines: bool = False
) -> tuple[list[str], list[tuple[str, str]], list[dict[str, Any]]]:
    """The predictors to keep, those left out for exact aliasing with their reasons (as
    :class:`~prom.outcomes.ExcludedPredictor` reads them), and the relations found.

    One predictor at a time — the one the first aliased design column comes from — is
    left out and the design rebuilt, until no exact relation is left.
    """
    kept = [str(c) for c in X.columns]
    excluded: list[tuple[str, str]] = []
    relations: list[dict[str, Any]] = []
    n = len(X)
    while len(kept) > 1:
        Z, names, groups = _design(X[kept], splines)
        found: list[AliasedColumn] = aliased_columns(Z, names)
        if not found:
            break
        a = found[0]
        var = groups[a.column]
        others = sorted({groups[c] for c, _ in a.terms} - {var})
        relation = a.relation()
        relations.append({"relation": relation, "columns": a.columns, "left_out": var})
        with_ = ", ".join(repr(o) for o in others) or "the intercept"
        excluded.append(
            (
                var,
                (
                    f"exactly aliased with {with_}: {relation} in all {n:,} labelled rows, "
                    "so its coefficient is not identifiable; drop one of them or combine them"
                ),
            )
        )
        kept.remove(var)
    return kept, excluded, relations


# --- the rest --------------------------------------------------------------------------------


def _rare(X: pd.DataFrame, categorical: list[str]) -> list[dict[str, Any]]:
    from prom.models.inputs import category_values

    n = len(X)
    limit = max(RARE_ROWS, RARE_FRACTION * n)
    out = []
    for c in categorical:
        counts = category_values(X[c]).dropna().astype(object).value_counts()
        for level, k in counts.items():
            if k < limit:
                out.append({"column": c, "level": _plain(level), "count": int(k)})
    return sorted(out, key=lambda r: (r["count"], r["column"]))


def _plain(v: Any) -> Any:
    if isinstance(v, np.generic):
        return v.item()
    return v if isinstance(v, (str, int, float, bool)) else str(v)


def _events(y: Any, kind: str) -> tuple[int, str]:
    if kind == "survival":
        return int(np.asarray(y["event"], dtype=float).sum()), "events"
    counts = pd.Series(np.asarray(y, dtype=object)).value_counts()
    if kind == "binary":
        return int(counts.min()), "events of the smaller class"
    return int(counts.min()), "rows of the smallest class"


def _groups(
    names: list[str], groups: dict[str, str], pairs: list[tuple[str, str, float]], deps
) -> tuple[tuple[str, ...], ...]:
    """Connected predictors: a pair of design columns with high |r|, or a near dependency."""
    parent: dict[str, str] = {}

    def find(a: str) -> str:
        while parent.setdefault(a, a) != a:
            a = parent[a]
        return a

    def join(a: str, b: str) -> None:
        parent[find(a)] = find(b)

    for a, b, _ in pairs:
        join(groups[a], groups[b])
    for d in deps:
        vars_ = [groups[c] for c in d.columns]
        for v in vars_[1:]:
            join(vars_[0], v)
    order = list(dict.fromkeys(groups[n] for n in names))
    comps: dict[str, list[str]] = {}
    for v in order:
        comps.setdefault(find(v), []).append(v)
    return tuple(tuple(m) for m in comps.values() if len(m) >= 2)


def diagnose(
    X: pd.DataFrame,
    y: Any,
    kind: str,
    *,
    splines: bool = False,
    aliased: Sequence[Mapping[str, Any]] = (),
) -> FitDiagnostics:
    """Diagnostics of predictors ``X`` (the labelled rows) for outcome ``y`` (see the
    module docstring). ``kind``: ``binary``, ``multiclass`` or ``survival`` (``y`` then a
    frame with ``time``/``event``); ``aliased``: the relations :func:`leave_out_aliased`
    found, recorded with the rest."""
    from prom.models.preprocess import infer_kinds

    if kind not in ("binary", "multiclass", "survival"):
        raise ValueError(f"kind={kind!r}; expected 'binary', 'multiclass' or 'survival'")
    Z, names, groups = _design(X, splines)
    numeric, categorical = infer_kinds(X)
    events, label = _events(y, kind)
    vif: list[dict[str, Any]] = []
    cond = None
    deps: list = []
    pairs: list[tuple[str, str, float]] = []
    notes: list[str] = []
    if Z.shape[1] >= 2:
        still = aliased_columns(Z, names)
        if still:  # only when the caller did not leave them out
            notes += [f"exact relation among the design columns: {a.relation()}" for a in still]
            drop = {a.column for a in still}
            keep = [j for j, c in enumerate(names) if c not in drop]
            Z, names = Z[:, keep], [names[j] for j in keep]
    if Z.shape[1] >= 2:
        values = variance_inflation_factors(Z)
        vif = [
            {"column": c, "variable": groups[c], "vif": _finite_or_none(float(v))}
            for c, v in zip(names, values, strict=True)
        ]
        cond = condition_number(Z)
        deps = near_dependencies(Z, names)
        pairs = correlated_pairs(Z, names, CORRELATION_HIGH)
    separation, sep_notes = find_separation(X, Z, names, groups, numeric, y, kind)
    explain = _groups(names, groups, pairs, deps)
    return FitDiagnostics(
        kind=kind,
        n=len(X),
        events=events,
        events_label=label,
        parameters=len(names),
        condition_number=cond,
        aliased=tuple(dict(a) | {"columns": tuple(a["columns"])} for a in aliased),
        vif=tuple(vif),
        near_dependencies=tuple(
            {"condition_index": d.condition_index, "columns": d.columns} for d in deps
        ),
        correlated=tuple({"a": a, "b": b, "r": r} for a, b, r in pairs if groups[a] != groups[b]),
        separation=tuple(separation),
        rare_categories=tuple(_rare(X, categorical)),
        extreme_values=tuple(isolated_extremes(X, numeric)),
        explain_groups=explain,
        notes=tuple(notes + sep_notes + mostly_missing_notes(X)),
    )
