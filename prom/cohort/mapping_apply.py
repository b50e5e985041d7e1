"""Applying a column mapping's rules to columns, and the log of what was done.

:meth:`prom.cohort.mapping.ColumnMapping.apply` checks a table against the mapping and
calls :func:`transform_column` for each mapped column: ``values`` recoding first, then the
factor (``unit`` or ``scale``), then ``offset``. Every rename, recoding (with counts),
conversion (with its factor) and dropped or kept column is a :class:`MappingStep` of the
:class:`MappingLog`: nothing is transformed silently.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd

from prom.cohort.mapping_format import UNITS, ColumnRule
from prom.errors import MappingError, format_rows, format_values

__all__ = ["Action", "MappingStep", "MappingLog", "transform_column"]

Action = Literal["rename", "recode", "convert", "offset", "drop", "keep"]


@dataclass(frozen=True)
class MappingStep:
    """One thing a mapping did. ``n_values`` counts the values affected, where it applies.

    Recorded are column names, codes of the ``values`` map, factors and counts — never the
    values of a patient's row.
    """

    action: Action
    source: str
    target: str | None
    detail: str
    n_values: int | None = None


@dataclass(frozen=True)
class MappingLog:
    """Everything :meth:`ColumnMapping.apply` did, in order."""

    steps: tuple[MappingStep, ...]
    origin: str = "<dict>"

    def to_frame(self) -> pd.DataFrame:
        """One row per step: action, source, target, detail, n_values."""
        cols = ["action", "source", "target", "detail", "n_values"]
        return pd.DataFrame([[getattr(s, c) for c in cols] for s in self.steps], columns=cols)

    def count(self, action: Action) -> int:
        return sum(s.action == action for s in self.steps)

    def summary_line(self) -> str:
        """``'mapping.yaml: 5 renamed, 3 recodings, 2 conversions, 1 dropped, 0 kept'``."""
        return (
            f"{self.origin}: {self.count('rename')} renamed, {self.count('recode')} recoding(s), "
            f"{self.count('convert') + self.count('offset')} conversion(s), "
            f"{self.count('drop')} dropped, {self.count('keep')} kept as is"
        )

    def summary(self) -> str:
        """The headline and one line per step."""
        lines = [self.summary_line()]
        for s in self.steps:
            arrow = f" -> {s.target}" if s.target and s.target != s.source else ""
            n = "" if s.n_values is None else f" [{s.n_values:,} value(s)]"
            lines.append(f"  {s.action:<8} {s.source}{arrow}: {s.detail}{n}")
        return "\n".join(lines)

    __str__ = summary


def transform_column(
    s: pd.Series, rule: ColumnRule, steps: list[MappingStep], origin: str, strict: bool = True
) -> pd.Series:
    """``s`` transformed by ``rule`` (recoding, then factor, then offset), each step
    appended to ``steps``; ``origin`` names the mapping in errors. Without ``strict``, a
    value a conversion needs as a number and is not stays as it is (text)."""
    src, tgt = rule.source, rule.target
    steps.append(
        MappingStep("rename", src, tgt, "renamed" if src != tgt else "mapped under its own name")
    )
    out = s.copy(deep=True)
    if rule.values:
        out = _recode(out, rule, steps)
    factor = rule.factor
    if factor is None and rule.offset is None:
        return out
    v, bad = _numbers(out, rule, origin, strict)
    n = int(np.count_nonzero(~np.isnan(v)))
    if factor is not None:
        how = f"unit {rule.unit}: {UNITS[rule.unit].description}" if rule.unit else "scale"
        steps.append(MappingStep("convert", src, tgt, f"multiplied by {factor:.6g} ({how})", n))
        v = v * factor
    if rule.offset is not None:
        steps.append(MappingStep("offset", src, tgt, f"added {rule.offset:+g}", n))
        v = v + rule.offset
    result = pd.Series(v, index=s.index, name=s.name)
    if bad.any():  # not strict: the values that are not numbers, as they were
        result = result.astype(object)
        result[bad] = out[bad]
        return result
    whole_shift = factor is None and rule.offset is not None and float(rule.offset).is_integer()
    if whole_shift and pd.api.types.is_integer_dtype(out.dtype):
        return result.astype(out.dtype if n == len(v) else "Int64")
    return result


def _recode(s: pd.Series, rule: ColumnRule, steps: list[MappingStep]) -> pd.Series:
    """Apply ``values``; numbers also match their text. Unlisted values stay as they are."""
    lookup: dict[Any, Any] = {}
    origin: dict[Any, Any] = {}
    for old, new in rule.values:
        lookup[old], origin[old] = new, old
    for old, new in rule.values:
        if not isinstance(old, str) and str(old) not in lookup:
            lookup[str(old)], origin[str(old)] = new, old
    keys = list(lookup)
    hit = s.isin(keys).to_numpy(dtype=bool) & s.notna().to_numpy(dtype=bool)
    matched = s[hit]
    counts: dict[Any, int] = {old: 0 for old, _ in rule.values}
    for value, n in matched.value_counts(sort=False).items():
        counts[origin[value]] += int(n)
    for old, new in rule.values:
        steps.append(
            MappingStep("recode", rule.source, rule.target, f"{old!r} -> {new!r}", counts[old])
        )
    left = int((~hit & s.notna().to_numpy(dtype=bool)).sum())
    if left:
        steps.append(
            MappingStep(
                "recode",
                rule.source,
                rule.target,
                "values not in the values map, left as they are",
                left,
            )
        )
    out = s.astype(object).copy()
    out[hit] = matched.map(lookup).astype(object)
    out[out.isna()] = np.nan
    return out.infer_objects()


def _numbers(
    s: pd.Series, rule: ColumnRule, origin: str, strict: bool = True
) -> tuple[np.ndarray, np.ndarray]:
    """The column as float64 for a conversion, and where it holds something that is not a
    number (NaN in the first): an error when ``strict``."""
    if pd.api.types.is_numeric_dtype(s.dtype) and not pd.api.types.is_bool_dtype(s.dtype):
        return s.to_numpy(dtype=float, na_value=np.nan), np.zeros(len(s), dtype=bool)
    v = pd.to_numeric(s.astype(object), errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    is_bool = s.map(lambda x: isinstance(x, (bool, np.bool_))).to_numpy(dtype=bool)
    bad = (np.isnan(v) & s.notna().to_numpy(dtype=bool)) | is_bool
    if bad.any() and strict:
        idx = np.flatnonzero(bad)
        raise MappingError(
            f"{origin}: columns.{rule.source} -> {rule.target}: {len(idx)} value(s) are not "
            f"numbers ({format_rows(s.index[idx])}; values {format_values(s.iloc[idx[:50]].tolist())}); "
            f"a unit/scale/offset needs numbers — recode them with 'values:' (null for missing), "
            "or declare a marker of a missing value with --missing-values (missing_values=)"
        )
    v[bad] = np.nan
    return v, bad
