"""The column-mapping file format (version 1): what it declares, and reading it into rules.

The format itself is described in :mod:`prom.cohort.mapping`, whose
:class:`~prom.cohort.mapping.ColumnMapping` checks the rules against the contract and
applies them. Here: the declarations a mapping may use (:data:`UNITS`,
:class:`ColumnRule`), :func:`read_mapping_file` (YAML, refusing repeated keys) and
:func:`parse_mapping` (the parsed structure, checked key by key). Errors are
:class:`~prom.errors.MappingError` naming the key, the value seen and what was expected.
"""

from __future__ import annotations

import difflib
import math
import numbers
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from os import PathLike
from pathlib import Path
from typing import Any, Literal

import yaml

from prom.errors import MappingError

__all__ = [
    "FORMAT_VERSION",
    "UnitConversion",
    "UNITS",
    "ColumnRule",
    "read_mapping_file",
    "parse_mapping",
    "did_you_mean",
]

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


# --- reading --------------------------------------------------------------------------------


def read_mapping_file(path: str | PathLike[str]) -> tuple[Any, str]:
    """``(parsed YAML, file name)`` of a mapping file (``yaml.safe_load``; nothing in it is
    executed). A key given twice is refused, not silently overwritten."""
    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"mapping file {str(p)!r} does not exist")
    try:
        text = p.read_text(encoding="utf-8")
    except UnicodeDecodeError as e:
        line = p.read_bytes()[: e.start].count(b"\n") + 1
        raise MappingError(
            f"{p.name} line {line}: byte 0x{e.object[e.start]:02x} is not valid UTF-8; save "
            "the mapping file as UTF-8"
        ) from None
    try:
        _refuse_duplicate_keys(yaml.compose(text, Loader=yaml.SafeLoader), p.name)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        if "'\\t'" in problem:
            problem += " (YAML indents with spaces: replace the tab)"
        raise MappingError(f"{p.name}: not valid YAML{at}: {problem}") from None
    return data, p.name


def parse_mapping(
    d: Any, origin: str = "<dict>"
) -> tuple[tuple[ColumnRule, ...], tuple[str, ...], bool]:
    """``(rules, drop, keep_unmapped)`` from the parsed YAML structure, every key checked."""
    if d is None:
        raise MappingError(f"{origin}: the mapping is empty; expected keys {', '.join(_TOP_KEYS)}")
    if not isinstance(d, Mapping):
        raise MappingError(
            f"{origin}: the mapping must be a YAML mapping (key: value), got {type(d).__name__}"
        )
    unknown = [k for k in d if k not in _TOP_KEYS]
    if unknown:
        raise MappingError(
            f"{origin}: unknown top-level key(s) {', '.join(map(repr, unknown))}; "
            f"expected {', '.join(_TOP_KEYS)}" + did_you_mean(unknown[0], _TOP_KEYS)
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
    return rules, tuple(drop), keep


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
            f"{', '.join(_RULE_KEYS)}" + did_you_mean(str(unknown[0]), _RULE_KEYS)
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


def did_you_mean(name: str, options: Iterable[Any]) -> str:
    """`` (did you mean 'x'?)`` for a close spelling, a case difference or a unit suffix."""
    options = [str(o) for o in options]
    by_lower = {o.lower(): o for o in options}
    key = str(name).lower()
    close = difflib.get_close_matches(key, list(by_lower), n=1, cutoff=0.7)
    if close:
        return f" (did you mean {by_lower[close[0]]!r}?)"
    prefixed = [o for o in options if o.lower().startswith(key + "_")]
    return f" (did you mean {prefixed[0]!r}?)" if len(prefixed) == 1 else ""
