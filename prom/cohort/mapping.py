"""Map a registry's own column names, codes and units onto the cohort contract.

A mapping is a small YAML file (see ``examples/mappings/registry_example.yaml``), so a
registry can be read without editing code. :meth:`ColumnMapping.apply` returns a new
table and a :class:`MappingLog` recording every rename, unit conversion (with its
factor), value recoding (with counts) and dropped column: nothing is transformed silently.

Format (version 1)
------------------
.. code-block:: yaml

    version: 1                       # required; the format version
    description: Example registry    # optional free text
    columns:                         # required; source column -> target
      PatID: patient_id              # a plain rename
      Gender:                        # a rename with value recoding
        to: sex
        values: {M: male, F: female}
      VAS_back_pre: {to: nrs_back_0m, unit: vas_0_100}   # 0–100 mm VAS -> 0–10
      ODI_Q3_pre: {to: odi_lifting_0m, offset: -1}         # form coded 1–6 -> 0–5
      symptom_weeks: {to: symptom_duration_months, unit: weeks}
    drop: [InternalNote]             # optional; columns removed on purpose
    keep_unmapped: false             # optional, default false

Keys of a column entry: ``to`` (required: a contract column or an ``img_*`` name),
``values`` (recoding), ``unit`` (a conversion from :data:`UNITS`), ``scale`` (a
factor) and ``offset`` (added). ``unit`` and ``scale`` exclude each other.

Order of operations on a column: ``values`` recoding first, then the factor (``unit`` or
``scale``), then ``offset``: ``new = old × factor + offset``.

``values``: each key is a value as it appears in the source (numbers match both the
number and its text, so ``1: male`` also recodes ``"1"`` read from a CSV); each value is
what it becomes (``null`` makes it missing). Values that are not keys of the map are left
as they are — validation then reports any that are not allowed, so an unexpected code is
never turned into a guess. Quote keys such as ``'yes'``/``'no'``/``'on'``/``'off'``: YAML
reads them unquoted as true/false.

Unmapped columns: a source column that is neither a key of ``columns`` nor listed in
``drop`` is an error, unless ``keep_unmapped: true`` (kept unchanged, logged) or its name
already is a contract column, an ``img_*`` feature or a PROM scoring column (kept under
its own name, logged).

Errors (:class:`~prom.errors.MappingError`) name the key, the value seen and what was
expected: malformed YAML or keys, a target not in the contract, two sources on one
target, an unknown unit or one that does not fit its target, a recoded value the target
does not allow; on ``apply``, a source or dropped column not in the table, an unmapped
column, a target that collides with a column kept under that name, or text where a unit
conversion needs numbers.
"""

from __future__ import annotations

import difflib
import logging
import math
import numbers
from collections.abc import Mapping
from dataclasses import dataclass, field
from os import PathLike
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
import yaml

from prom.cohort.contract import ColumnSpec, Contract, scoring_columns
from prom.errors import MappingError, format_rows, format_values

__all__ = ["UnitConversion", "UNITS", "ColumnRule", "ColumnMapping", "MappingStep", "MappingLog"]

logger = logging.getLogger(__name__)

FORMAT_VERSION = 1
_TOP_KEYS = ("version", "description", "columns", "drop", "keep_unmapped")
_RULE_KEYS = ("to", "values", "unit", "scale", "offset")


@dataclass(frozen=True)
class UnitConversion:
    """A declared conversion: multiply by ``factor``; the target must fit ``fits``."""

    name: str
    factor: float
    description: str
    #: 'months' — the target's unit must be months; '0-10' — the target spans 0–10
    fits: Literal["months", "0-10"]


#: The unit conversions a mapping may name with ``unit:``.
UNITS: dict[str, UnitConversion] = {
    u.name: u
    for u in (
        UnitConversion("vas_0_100", 0.1, "0–100 mm VAS onto a 0–10 scale", "0-10"),
        UnitConversion("weeks", 12 / 52.1775, "weeks to months (52.1775 weeks a year)", "months"),
        UnitConversion("years", 12.0, "years to months", "months"),
        UnitConversion("days", 1 / 30.4375, "days to months (30.4375 days a month)", "months"),
    )
}


# --- the log ------------------------------------------------------------------------------

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


# --- the mapping --------------------------------------------------------------------------


@dataclass(frozen=True)
class ColumnRule:
    """How one source column becomes one contract column."""

    source: str
    target: str
    values: tuple[tuple[Any, Any], ...] = ()
    unit: str | None = None
    scale: float | None = None
    offset: float | None = None

    @property
    def factor(self) -> float | None:
        if self.unit is not None:
            return UNITS[self.unit].factor
        return self.scale


@dataclass(frozen=True)
class ColumnMapping:
    """A validated mapping from a registry's columns onto the contract.

    Build it with :meth:`from_yaml` or :meth:`from_dict`; the format is in the module
    docstring. Construction checks everything that can be checked without a table.

    Parameters
    ----------
    rules : tuple of ColumnRule
    drop : tuple of str
        Source columns to remove.
    keep_unmapped : bool
        Keep source columns that are neither mapped nor dropped, instead of raising.
    origin : str
        Where the mapping came from (a path), used in messages and the log.
    contract : Contract, optional
        The contract targets must belong to; defaults to ``COHORT_CONTRACT``.
    """

    rules: tuple[ColumnRule, ...]
    drop: tuple[str, ...] = ()
    keep_unmapped: bool = False
    origin: str = "<dict>"
    contract: Contract | None = field(default=None, compare=False, repr=False)

    def __post_init__(self) -> None:
        if self.contract is None:
            from prom.cohort.contract import COHORT_CONTRACT

            object.__setattr__(self, "contract", COHORT_CONTRACT)
        where = self.origin
        by_target: dict[str, str] = {}
        seen_sources: set[str] = set()
        for rule in self.rules:
            if rule.source in seen_sources:
                raise MappingError(f"{where}: column {rule.source!r} is mapped twice")
            seen_sources.add(rule.source)
            if rule.target in by_target:
                raise MappingError(
                    f"{where}: columns {by_target[rule.target]!r} and {rule.source!r} are both "
                    f"mapped to {rule.target!r}; a target takes one source — map or drop the other"
                )
            by_target[rule.target] = rule.source
            self._check_rule(rule)
        both = sorted(set(self.drop) & seen_sources)
        if both:
            raise MappingError(
                f"{where}: column(s) {', '.join(map(repr, both))} are both mapped and listed "
                f"under drop; keep one"
            )

    # --- construction -----------------------------------------------------------------------
    @classmethod
    def from_yaml(
        cls, path: str | PathLike[str], contract: Contract | None = None
    ) -> ColumnMapping:
        """Read a mapping file (``yaml.safe_load``; nothing in it is executed).

        Raises
        ------
        FileNotFoundError
            No file at ``path``.
        MappingError
            The YAML does not parse or the mapping is malformed.
        """
        p = Path(path)
        if not p.is_file():
            raise FileNotFoundError(f"mapping file {str(p)!r} does not exist")
        text = p.read_text(encoding="utf-8")
        try:
            _refuse_duplicate_keys(yaml.compose(text, Loader=yaml.SafeLoader), p.name)
            data = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            at = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
            problem = getattr(exc, "problem", None) or str(exc)
            raise MappingError(f"{p.name}: not valid YAML{at}: {problem}") from None
        return cls.from_dict(data, contract=contract, origin=p.name)

    @classmethod
    def from_dict(
        cls, d: Mapping[str, Any], contract: Contract | None = None, origin: str = "<dict>"
    ) -> ColumnMapping:
        """Build a mapping from the parsed YAML structure (see the module docstring)."""
        if d is None:
            raise MappingError(
                f"{origin}: the mapping is empty; expected keys {', '.join(_TOP_KEYS)}"
            )
        if not isinstance(d, Mapping):
            raise MappingError(
                f"{origin}: the mapping must be a YAML mapping (key: value), got {type(d).__name__}"
            )
        unknown = [k for k in d if k not in _TOP_KEYS]
        if unknown:
            raise MappingError(
                f"{origin}: unknown top-level key(s) {', '.join(map(repr, unknown))}; "
                f"expected {', '.join(_TOP_KEYS)}" + _did_you_mean(unknown[0], _TOP_KEYS)
            )
        if "version" not in d:
            raise MappingError(f"{origin}: missing key 'version'; add 'version: {FORMAT_VERSION}'")
        if d["version"] != FORMAT_VERSION or isinstance(d["version"], bool):
            raise MappingError(
                f"{origin}: version {d['version']!r} is not supported; expected {FORMAT_VERSION}"
            )
        if "description" in d and not isinstance(d["description"], str):
            raise MappingError(
                f"{origin}: 'description' must be text, got {type(d['description']).__name__}"
            )
        if "columns" not in d:
            raise MappingError(f"{origin}: missing key 'columns' (source column: target column)")
        columns = d["columns"]
        if columns is None:
            columns = {}
        if not isinstance(columns, Mapping):
            raise MappingError(
                f"{origin}: 'columns' must be a mapping of source column to target, "
                f"got {type(columns).__name__}"
            )
        rules = tuple(_parse_rule(src, entry, origin) for src, entry in columns.items())
        drop = d.get("drop") or []
        if not isinstance(drop, list) or not all(isinstance(x, str) for x in drop):
            raise MappingError(f"{origin}: 'drop' must be a list of column names, got {drop!r}")
        if len(set(drop)) != len(drop):
            dup = sorted({x for x in drop if drop.count(x) > 1})
            raise MappingError(f"{origin}: 'drop' lists {', '.join(map(repr, dup))} more than once")
        keep = d.get("keep_unmapped", False)
        if not isinstance(keep, bool):
            raise MappingError(f"{origin}: 'keep_unmapped' must be true or false, got {keep!r}")
        return cls(
            rules=rules, drop=tuple(drop), keep_unmapped=keep, origin=origin, contract=contract
        )

    # --- inspection -------------------------------------------------------------------------
    @property
    def targets(self) -> dict[str, str]:
        """Source column → target column."""
        return {r.source: r.target for r in self.rules}

    def text_sources(self) -> tuple[str, ...]:
        """Source columns whose targets are text or category columns without a numeric
        transform: a CSV reader should read these as text (keeping ids like ``'007'``)."""
        out = []
        for r in self.rules:
            spec = self._spec(r.target)
            if spec is not None and spec.dtype in ("string", "category") and r.factor is None:
                out.append(r.source)
        return tuple(out)

    # --- applying ---------------------------------------------------------------------------
    def apply(self, df: pd.DataFrame) -> tuple[pd.DataFrame, MappingLog]:
        """Map ``df`` onto the contract; ``df`` itself is not modified.

        Returns
        -------
        (pandas.DataFrame, MappingLog)
            A new table on ``df``'s index (columns in the source order, renamed) and the
            record of what was done.

        Raises
        ------
        TypeError
            ``df`` is not a DataFrame.
        MappingError
            See the module docstring; every missing column is named at once.
        """
        if not isinstance(df, pd.DataFrame):
            raise TypeError(
                f"ColumnMapping.apply expects a pandas DataFrame, got {type(df).__name__}"
            )
        where = self.origin
        names = [str(c) for c in df.columns]
        dups = (
            sorted({c for c in names if names.count(c) > 1}) if len(set(names)) < len(names) else []
        )
        if dups:
            raise MappingError(
                f"{where}: the table has duplicate column name(s) {', '.join(map(repr, dups))}"
            )
        present = set(names)
        targets = self.targets
        absent = [s for s in targets if s not in present]
        if absent:
            raise MappingError(
                f"{where}: mapped column(s) not in the table: "
                + "; ".join(f"{s!r}{_did_you_mean(s, names)}" for s in absent)
                + f". The table's columns: {_preview(names)}"
            )
        absent_drop = [s for s in self.drop if s not in present]
        if absent_drop:
            raise MappingError(
                f"{where}: column(s) under drop not in the table: "
                f"{', '.join(map(repr, absent_drop))}. The table's columns: {_preview(names)}"
            )
        own_names = set(self.contract.names) | scoring_columns(self.contract)
        dropped = set(self.drop)
        passthrough, unmapped = [], []
        for c in names:
            if c in targets or c in dropped:
                continue
            (passthrough if c in own_names or c.startswith("img_") else unmapped).append(c)
        if unmapped and not self.keep_unmapped:
            raise MappingError(
                f"{where}: {len(unmapped)} column(s) are neither mapped nor dropped: "
                f"{_preview(unmapped)}; map them under 'columns:', list them under 'drop:', "
                f"or set 'keep_unmapped: true'"
            )
        kept = set(passthrough) | set(unmapped)
        clash = [(s, t) for s, t in targets.items() if t in kept]
        if clash:
            raise MappingError(
                f"{where}: "
                + "; ".join(
                    f"{s!r} is mapped to {t!r}, but the table already has a column {t!r}"
                    for s, t in clash
                )
                + "; drop one of them (drop: [...])"
            )

        rules = {r.source: r for r in self.rules}
        out: dict[str, pd.Series] = {}
        steps: list[MappingStep] = []
        for j, name in enumerate(names):
            s = df.iloc[:, j]
            if name in dropped:
                steps.append(MappingStep("drop", name, None, "dropped (listed under drop)"))
            elif name in rules:
                rule = rules[name]
                out[rule.target] = self._transform(s, rule, steps)
            else:
                why = (
                    "its name is a contract column"
                    if name in passthrough
                    else "keep_unmapped is true"
                )
                steps.append(MappingStep("keep", name, name, f"kept unchanged ({why})"))
                out[name] = s.copy(deep=True)
        log = MappingLog(tuple(steps), origin=where)
        for step in steps:  # names, codes, factors and counts only: no row values
            logger.info(
                "mapping %s: %s %s -> %s: %s (%s)",
                where,
                step.action,
                step.source,
                step.target,
                step.detail,
                step.n_values,
            )
        # arrays, not Series: a table with repeated index labels must not be realigned
        arrays = {k: v.array for k, v in out.items()}
        return pd.DataFrame(arrays, index=df.index.copy(), copy=False), log

    # --- helpers ----------------------------------------------------------------------------
    def _spec(self, target: str) -> ColumnSpec | None:
        return self.contract[target] if target in self.contract else None

    def _check_rule(self, rule: ColumnRule) -> None:
        where = f"{self.origin}: columns.{rule.source}"
        spec = self._spec(rule.target)
        if spec is None and not rule.target.startswith("img_"):
            raise MappingError(
                f"{where}: target {rule.target!r} is not a column of the {self.contract.name} "
                f"contract{_did_you_mean(rule.target, self.contract.names)}; targets must be "
                f"contract columns or img_* imaging features"
            )
        numeric = spec is None or spec.dtype in ("float", "int")
        if (
            rule.unit is not None or rule.scale is not None or rule.offset is not None
        ) and not numeric:
            raise MappingError(
                f"{where}: unit/scale/offset need a numeric target, but {rule.target!r} is "
                f"{spec.dtype if spec else 'unknown'}"
            )
        if rule.unit is not None:
            conv = UNITS.get(rule.unit)
            if conv is None:
                raise MappingError(
                    f"{where}: unknown unit {rule.unit!r}; known units are {', '.join(UNITS)}"
                    f"{_did_you_mean(rule.unit, list(UNITS))}, or give 'scale:' and 'offset:'"
                )
            if spec is None:
                raise MappingError(
                    f"{where}: unit {rule.unit!r} needs a declared target; use 'scale:' for "
                    f"{rule.target!r}"
                )
            if conv.fits == "months" and spec.unit != "months":
                raise MappingError(
                    f"{where}: unit {rule.unit!r} converts to months, but {rule.target!r} is "
                    f"in {spec.unit or 'no unit'}; expected a *_months target"
                )
            if conv.fits == "0-10" and (spec.low, spec.high) != (0, 10):
                raise MappingError(
                    f"{where}: unit {rule.unit!r} converts onto a 0–10 scale, but "
                    f"{rule.target!r} expects {spec.expected()}"
                )
        for old, new in rule.values:
            if not _allowed_code(new, spec):
                expected = spec.expected() if spec else "a number"
                raise MappingError(
                    f"{where}: values maps {old!r} to {new!r}, which {rule.target!r} does not "
                    f"allow; expected {expected} or null"
                )

    def _transform(self, s: pd.Series, rule: ColumnRule, steps: list[MappingStep]) -> pd.Series:
        src, tgt = rule.source, rule.target
        steps.append(
            MappingStep(
                "rename", src, tgt, "renamed" if src != tgt else "mapped under its own name"
            )
        )
        out = s.copy(deep=True)
        if rule.values:
            out = _recode(out, rule, steps)
        factor = rule.factor
        if factor is None and rule.offset is None:
            return out
        v = _numbers(out, rule, self.origin)
        n = int(np.count_nonzero(~np.isnan(v)))
        if factor is not None:
            how = f"unit {rule.unit}: {UNITS[rule.unit].description}" if rule.unit else "scale"
            steps.append(MappingStep("convert", src, tgt, f"multiplied by {factor:.6g} ({how})", n))
            v = v * factor
        if rule.offset is not None:
            steps.append(MappingStep("offset", src, tgt, f"added {rule.offset:+g}", n))
            v = v + rule.offset
        result = pd.Series(v, index=s.index, name=s.name)
        whole_shift = factor is None and float(rule.offset).is_integer()
        if whole_shift and pd.api.types.is_integer_dtype(out.dtype):
            return result.astype(out.dtype if n == len(v) else "Int64")
        return result


def _parse_rule(source: Any, entry: Any, origin: str) -> ColumnRule:
    where = f"{origin}: columns.{source}"
    if not isinstance(source, str):
        raise MappingError(
            f"{origin}: column name {source!r} is not text; quote it in the YAML ('{source}')"
        )
    if isinstance(entry, str):
        return ColumnRule(source, entry)
    if not isinstance(entry, Mapping):
        raise MappingError(
            f"{where}: expected a target name or a mapping with keys {', '.join(_RULE_KEYS)}, "
            f"got {entry!r}"
        )
    unknown = [k for k in entry if k not in _RULE_KEYS]
    if unknown:
        raise MappingError(
            f"{where}: unknown key(s) {', '.join(map(repr, unknown))}; expected "
            f"{', '.join(_RULE_KEYS)}" + _did_you_mean(str(unknown[0]), _RULE_KEYS)
        )
    target = entry.get("to")
    if not isinstance(target, str) or not target:
        raise MappingError(
            f"{where}: 'to' (the target column) is required and must be text, got {target!r}"
        )
    for key in ("scale", "offset"):
        x = entry.get(key)
        if x is not None and (
            isinstance(x, bool) or not isinstance(x, numbers.Real) or not math.isfinite(x)
        ):
            raise MappingError(f"{where}: '{key}' must be a finite number, got {x!r}")
    if entry.get("scale") == 0:
        raise MappingError(f"{where}: 'scale' is 0, which would erase the column")
    unit = entry.get("unit")
    if unit is not None and not isinstance(unit, str):
        raise MappingError(
            f"{where}: 'unit' must be text (one of {', '.join(UNITS)}), got {unit!r}"
        )
    if unit is not None and entry.get("scale") is not None:
        raise MappingError(f"{where}: give either 'unit' or 'scale', not both")
    values = entry.get("values")
    if values is not None and (not isinstance(values, Mapping) or not values):
        raise MappingError(
            f"{where}: 'values' must be a non-empty mapping of old: new, got {values!r}"
        )
    if values is not None and any(k is None for k in values):
        raise MappingError(
            f"{where}: 'values' has a null key; missing values stay missing and cannot be "
            f"recoded — write the code as it appears in the data (quote it: 'NA')"
        )
    return ColumnRule(
        source,
        target,
        values=tuple((values or {}).items()),
        unit=unit,
        scale=None if entry.get("scale") is None else float(entry["scale"]),
        offset=None if entry.get("offset") is None else float(entry["offset"]),
    )


def _refuse_duplicate_keys(node: yaml.Node | None, origin: str) -> None:
    """YAML silently keeps the last of two equal keys; a mapping file must not."""
    if isinstance(node, yaml.MappingNode):
        seen: dict[str, int] = {}
        for key, value in node.value:
            if isinstance(key, yaml.ScalarNode):
                line = key.start_mark.line + 1
                if key.value in seen:
                    raise MappingError(
                        f"{origin}: key {key.value!r} appears twice (lines {seen[key.value]} "
                        f"and {line}); each column may be listed once"
                    )
                seen[key.value] = line
            _refuse_duplicate_keys(value, origin)
    elif isinstance(node, yaml.SequenceNode):
        for item in node.value:
            _refuse_duplicate_keys(item, origin)


def _allowed_code(new: Any, spec: ColumnSpec | None) -> bool:
    if new is None:
        return True
    dtype = "float" if spec is None else spec.dtype
    if dtype == "category":
        return isinstance(new, str) and new in (spec.categories or ())
    if dtype == "bool":
        return isinstance(new, bool) or (isinstance(new, numbers.Real) and new in (0, 1))
    if dtype in ("float", "int"):
        return isinstance(new, numbers.Real) and not isinstance(new, bool)
    return isinstance(new, str) and bool(new.strip())


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


def _numbers(s: pd.Series, rule: ColumnRule, origin: str) -> np.ndarray:
    """The column as float64 for a conversion; text that is not a number is an error."""
    if pd.api.types.is_numeric_dtype(s.dtype) and not pd.api.types.is_bool_dtype(s.dtype):
        return s.to_numpy(dtype=float, na_value=np.nan)
    v = pd.to_numeric(s.astype(object), errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    is_bool = s.map(lambda x: isinstance(x, (bool, np.bool_))).to_numpy(dtype=bool)
    bad = (np.isnan(v) & s.notna().to_numpy(dtype=bool)) | is_bool
    if bad.any():
        idx = np.flatnonzero(bad)
        raise MappingError(
            f"{origin}: columns.{rule.source} -> {rule.target}: {len(idx)} value(s) are not "
            f"numbers ({format_rows(s.index[idx])}; values {format_values(s.iloc[idx[:50]].tolist())}); "
            f"a unit/scale/offset needs numbers — recode them with 'values:' (null for missing)"
        )
    return v


def _did_you_mean(name: str, options) -> str:
    """`` (did you mean 'x'?)`` for a close spelling, a case difference or a unit suffix."""
    options = [str(o) for o in options]
    by_lower = {o.lower(): o for o in options}
    key = str(name).lower()
    close = difflib.get_close_matches(key, list(by_lower), n=1, cutoff=0.7)
    if close:
        return f" (did you mean {by_lower[close[0]]!r}?)"
    prefixed = [o for o in options if o.lower().startswith(key + "_")]
    return f" (did you mean {prefixed[0]!r}?)" if len(prefixed) == 1 else ""


def _preview(names: list[str], limit: int = 12) -> str:
    shown = ", ".join(map(repr, names[:limit]))
    return shown + (f", … ({len(names)} in all)" if len(names) > limit else "")
