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

Modules: the file format is read by :mod:`prom.cohort.mapping_format` (units, rules, YAML),
the columns are transformed and the log kept by :mod:`prom.cohort.mapping_apply`; this
module's :class:`ColumnMapping` checks the rules against the contract and applies them to
a table.

Errors (:class:`~prom.errors.MappingError`) name the key, the value seen and what was
expected: malformed YAML or keys, a target not in the contract, two sources on one
target, an unknown unit or one that does not fit its target, a recoded value the target
does not allow; on ``apply``, a source or dropped column not in the table, an unmapped
column, a target that collides with a column kept under that name, or text where a unit
conversion needs numbers.
"""

from __future__ import annotations

import logging
import numbers
from collections.abc import Mapping
from dataclasses import dataclass, field
from os import PathLike
from typing import Any

import pandas as pd

from prom.cohort.contract import ColumnSpec, Contract, scoring_columns
from prom.cohort.mapping_apply import MappingLog, MappingStep, transform_column
from prom.cohort.mapping_format import (
    UNITS,
    ColumnRule,
    UnitConversion,
    did_you_mean,
    parse_mapping,
    read_mapping_file,
)
from prom.errors import MappingError

__all__ = ["UnitConversion", "UNITS", "ColumnRule", "ColumnMapping", "MappingStep", "MappingLog"]

logger = logging.getLogger(__name__)

# --- the mapping --------------------------------------------------------------------------


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
        data, origin = read_mapping_file(path)
        return cls.from_dict(data, contract=contract, origin=origin)

    @classmethod
    def from_dict(
        cls, d: Mapping[str, Any], contract: Contract | None = None, origin: str = "<dict>"
    ) -> ColumnMapping:
        """Build a mapping from the parsed YAML structure (see the module docstring)."""
        rules, drop, keep = parse_mapping(d, origin)
        return cls(rules=rules, drop=drop, keep_unmapped=keep, origin=origin, contract=contract)

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
    def apply(
        self, df: pd.DataFrame, *, keep_unconvertible: bool = False
    ) -> tuple[pd.DataFrame, MappingLog]:
        """Map ``df`` onto the contract; ``df`` itself is not modified.

        ``keep_unconvertible``: a value that a unit, scale or offset cannot convert (text
        that is not a number) is kept as it is, for the caller's row checks to refuse
        with its row (bulk scoring quarantines the row), instead of failing the table.

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
                + "; ".join(f"{s!r}{did_you_mean(s, names)}" for s in absent)
                + f". The table's columns: {_preview(names)}"
            )
        absent_drop = [s for s in self.drop if s not in present]
        if absent_drop:
            raise MappingError(
                f"{where}: column(s) under drop not in the table: "
                f"{', '.join(map(repr, absent_drop))}. The table's columns: {_preview(names)}"
            )
        own_names = set(self._contract.names) | scoring_columns(self._contract)
        dropped = set(self.drop)
        passthrough: list[str] = []
        unmapped: list[str] = []
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
                out[rule.target] = transform_column(
                    s, rule, steps, self.origin, strict=not keep_unconvertible
                )
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
    @property
    def _contract(self) -> Contract:
        """The contract targets belong to (``contract`` as filled in on construction)."""
        if self.contract is None:  # only before __post_init__ has run
            from prom.cohort.contract import COHORT_CONTRACT

            return COHORT_CONTRACT
        return self.contract

    def _spec(self, target: str) -> ColumnSpec | None:
        return self._contract.get(target)

    def _check_rule(self, rule: ColumnRule) -> None:
        where = f"{self.origin}: columns.{rule.source}"
        spec = self._spec(rule.target)
        if spec is None and not rule.target.startswith("img_"):
            raise MappingError(
                f"{where}: target {rule.target!r} is not a column of the {self._contract.name} "
                f"contract{did_you_mean(rule.target, self._contract.names)}; targets must be "
                "contract columns or img_* imaging features. A column of your own (a "
                "predictor or outcome of your own model) is read by its name in the table: "
                f"rename {rule.source!r} to {rule.target!r} in the export"
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
                    f"{did_you_mean(rule.unit, list(UNITS))}, or give 'scale:' and 'offset:'"
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


def _allowed_code(new: Any, spec: ColumnSpec | None) -> bool:
    if new is None:
        return True
    if spec is not None and spec.dtype == "category":
        return isinstance(new, str) and new in (spec.categories or ())
    dtype = "float" if spec is None else spec.dtype
    if dtype == "bool":
        return isinstance(new, bool) or (isinstance(new, numbers.Real) and new in (0, 1))
    if dtype in ("float", "int"):
        return isinstance(new, numbers.Real) and not isinstance(new, bool)
    return isinstance(new, str) and bool(new.strip())


def _preview(names: list[str], limit: int = 12) -> str:
    shown = ", ".join(map(repr, names[:limit]))
    return shown + (f", … ({len(names)} in all)" if len(names) > limit else "")
