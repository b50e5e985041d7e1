"""One patient's entries read at the edge: each value parsed and checked once, into its
field's type, or refused with a :class:`Problem` naming the field, the value and what the
field accepts.

This is the calculator's trust boundary: a web form, an API client or a script hands over
a mapping of column → value, and :func:`parse_entries` returns the known columns with one
type per kind of field, and every problem found, all at once:

- number fields: ``float`` (``int`` for whole-number fields), finite and inside the
  contract's range (:data:`prom.cohort.contract.COHORT_CONTRACT`);
- yes/no fields: ``bool``;
- choice fields: one of the contract's categories, as ``str``;
- ``None``: not recorded.

How a value is read:

- ``None``, NaN (float, numpy or ``Decimal('NaN')``), ``pd.NA``, ``NaT`` and blank or
  whitespace-only text mean *not recorded*, in every field;
- text is stripped first. A number field takes a decimal literal (``' 42 '``, ``'4.5'``,
  ``'1e1'``; not ``'12a'``, ``'nan'``, ``'inf'`` or ``'1_000'``); a yes/no field the texts
  the cohort parsers accept (:func:`prom.cohort.parsing.parse_bool`: ``yes``/``no``,
  ``true``/``false``, ``y``/``n``, ``t``/``f``, ``1``/``0``, any case); a choice field one
  of its categories exactly as written (``'Female'`` is refused with a hint);
- real numbers — ``int``, ``float``, ``Decimal``, ``Fraction``, numpy scalars — are their
  value in a number field (a whole-number field refuses fractions) and 0 or 1 in a yes/no
  field; a choice field refuses them;
- ``True``/``False`` answer a yes/no field; a number field refuses them (True is not an
  age), and so does a choice field;
- ±inf is refused as not finite, a finite number beyond the field's range (``1e308``,
  ``10**400``) as not allowed;
- anything else — complex numbers, bytes, lists, dicts, sets, tuples, dates — is refused,
  naming its type.

A key that is not one of :func:`~prom.calculator.fields.field_names` is refused by name
with the closest field names; ``treatment`` among them, because the calculator predicts
for every treatment the bundle's models know. Values are shown in messages as a shortened
``repr``; nothing is logged.
"""

from __future__ import annotations

import difflib
import math
import numbers
import re
import reprlib
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import numpy as np
import pandas as pd

from prom.calculator.fields import field_label, field_names, patient_fields
from prom.cohort.contract import COHORT_CONTRACT, ColumnSpec
from prom.errors import PromError

__all__ = ["Problem", "PatientInputError", "parse_entries", "parse_entry", "shown_value"]

#: Longest text of a value shown in a message (longer ones are cut in the middle).
SHOWN_LENGTH = 40

_DECIMAL = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_DECIMAL_COMMA = re.compile(r"[+-]?[0-9]+,[0-9]+")


@dataclass(frozen=True)
class Problem:
    """One entry the calculator does not take, with the message to show next to it.

    ``kind``: ``"required"`` (a value the contract requires is missing), ``"invalid"`` (a
    value outside the contract, or entries that contradict each other) or ``"unknown"``
    (a key that is not a field of the calculator; ``column`` is the key as shown)."""

    column: str
    value: Any
    message: str
    kind: str = "invalid"


class PatientInputError(PromError, ValueError):
    """The entries break the contract; ``problems`` lists every one of them."""

    def __init__(self, problems: list[Problem]):
        self.problems = list(problems)
        message = "; ".join(p.message for p in self.problems)
        if self.unknown:
            message += (
                f"; the calculator takes {len(field_names())} fields, listed by "
                "prom.calculator.field_names()"
            )
        super().__init__(message)

    @property
    def invalid(self) -> list[Problem]:
        """Entries outside the contract (as opposed to required entries not yet made)."""
        return [p for p in self.problems if p.kind != "required"]

    @property
    def required(self) -> list[Problem]:
        return [p for p in self.problems if p.kind == "required"]

    @property
    def unknown(self) -> list[Problem]:
        """Keys that are not fields of the calculator."""
        return [p for p in self.problems if p.kind == "unknown"]


class _ShortRepr(reprlib.Repr):
    """``reprlib`` with a length limit, and an integer too long for ``repr`` by its size."""

    def __init__(self) -> None:
        super().__init__()
        self.maxstring = self.maxlong = self.maxother = SHOWN_LENGTH

    def repr_int(self, x: int, level: int) -> str:
        if x.bit_length() > 128:  # repr() refuses beyond 4300 digits; say how long it is
            return f"<an integer of about {int(x.bit_length() * math.log10(2)) + 1} digits>"
        return super().repr_int(x, level)


_SHORT = _ShortRepr()


def shown_value(value: Any) -> str:
    """``value`` as a message shows it: a shortened ``repr``, with its type when the
    ``repr`` does not name it (``[1, 2] (list)``, ``b'4' (bytes)``)."""
    text = _SHORT.repr(value)
    kind = type(value).__name__
    if value is not None and not isinstance(value, (str, int, float)) and kind not in text:
        text += f" ({kind})"
    return text


def _not_recorded(value: Any) -> bool:
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    if isinstance(value, str):
        return not value.strip()
    if isinstance(value, (float, np.floating)):
        return bool(np.isnan(value))
    if isinstance(value, Decimal):
        return value.is_nan()
    if isinstance(value, (np.datetime64, np.timedelta64)):
        return bool(np.isnat(value))
    return False


def _real(value: Any) -> tuple[float | None, str | None]:
    """A real number's value as float (±inf beyond float's range), or why it is not one."""
    if isinstance(value, (bool, np.bool_)):
        return None, "is a yes/no value, not a number"
    if isinstance(value, str):
        if _DECIMAL.fullmatch(value):
            return float(value), None
        if _DECIMAL_COMMA.fullmatch(value):
            return None, "is not a number (decimals take a point: 4.5)"
        return None, "is not a number"
    if isinstance(value, Decimal):
        return float(value), None  # ±inf beyond float's range; NaN is not recorded
    if isinstance(value, numbers.Real):  # int, float, Fraction, numpy integers and floats
        try:
            with np.errstate(over="ignore"):
                return float(value), None
        except OverflowError:  # an integer (or a ratio of integers) beyond float's range
            big: Any = value  # numbers.Real declares no comparison for the type checker
            return (math.inf if big > 0 else -math.inf), None
    if isinstance(value, numbers.Complex):
        return None, "is a complex number, not a real one"
    return None, "is not a number"


def _infinite(value: Any) -> bool:
    """Whether the entry itself is infinite (not a finite number beyond float's range)."""
    if isinstance(value, (float, np.floating)):
        return bool(np.isinf(value))
    return isinstance(value, Decimal) and value.is_infinite()


def parse_entry(column: str, value: Any) -> tuple[Any, Problem | None]:
    """One known column's entry as its field's type (``None`` = not recorded), or the
    :class:`Problem` that refuses it (see the module docstring)."""
    spec = COHORT_CONTRACT[column]
    if _not_recorded(value):
        return None, None
    entry = value.strip() if isinstance(value, str) else value
    expected = spec.expected()

    def refuse(reason: str, shown: str | None = None, hint: str = "") -> tuple[None, Problem]:
        shown = shown_value(entry) if shown is None else shown
        message = f"{field_label(column)}: {shown} {reason}; expected {expected}{hint}"
        return None, Problem(column, value, message)

    if spec.dtype == "category":
        if not isinstance(entry, str):
            return refuse("is not one of the choices")
        if entry in (spec.categories or ()):
            return str(entry), None
        return refuse("is not allowed", hint=_category_hint(entry, spec))
    x, reason = _real(entry)
    if spec.dtype == "bool":
        if isinstance(entry, (bool, np.bool_)):
            return bool(entry), None
        if isinstance(entry, str):
            from prom.cohort.parsing import parse_bool

            parsed = parse_bool(pd.Series([entry], dtype=object))
            if parsed.bad[0]:
                return refuse("is not yes/no")
            return bool(parsed.values[0]), None
        return (bool(x), None) if x in (0.0, 1.0) else refuse("is not yes/no")
    if x is None:
        return refuse(reason or "is not a number")
    if math.isinf(x) and _infinite(entry):
        return refuse("is not a finite number")
    low = -math.inf if spec.low is None else spec.low
    high = math.inf if spec.high is None else spec.high
    whole = spec.dtype != "int" or x.is_integer()
    if not (low <= x <= high) or not whole:
        shown = _number_text(x, low, high, spec.dtype == "int") if math.isfinite(x) else None
        return refuse("is not allowed", shown=shown)
    return (int(x) if spec.dtype == "int" else x), None


def _number_text(x: float, low: float, high: float, integer: bool) -> str:
    """A refused number rounded for reading, with no more digits than it takes to show
    why it is refused: ``2.583`` for 2.583480140935298 above 1.5, ``130`` for 130.0,
    ``110.0000001`` where ``:g`` would round it to the allowed ``110``, ``2.0000001`` in a
    whole-number field; a number of six significant digits or fewer as it was given."""
    text = f"{x:g}"
    if float(text) == x:  # as typed: 271.828, 130
        return text
    for digits in range(4, 18):
        text = f"{x:.{digits}g}"
        v = float(text)
        if not (low <= v <= high) or (integer and not v.is_integer()):
            return text
    return repr(x)


def _category_hint(text: str, spec: ColumnSpec) -> str:
    """The contract's own suggestion for a category it does not know (``" (did you mean
    'female' for 'Female'?)"``), from :func:`prom.cohort.column_checks.check_column`."""
    from prom.cohort.column_checks import check_column

    if len(text) > 100:  # no category is that long: nothing to suggest
        return ""
    expected = spec.expected()
    found: list[str] = []
    check_column(
        pd.Series([text], dtype=object),
        spec,
        lambda column, check, positions, values, exp: found.append(exp),
    )
    return found[0][len(expected) :] if found and found[0].startswith(expected) else ""


def _unknown(key: Any) -> Problem:
    shown = shown_value(key)
    if not isinstance(key, str):
        message = f"unknown field {shown}: field names are text, such as 'age_years'"
    elif key.strip().lower() == "treatment":
        message = (
            f"unknown field {shown}: the calculator predicts for every treatment the "
            "bundle's models know (one answer per treatment), so the treatment is not an "
            "entry; leave it out"
        )
    else:
        close = _close_fields(key.strip().lower()) if len(key) <= 100 else []
        hint = f" (did you mean {', '.join(repr(c) for c in close)}?)" if close else ""
        message = f"unknown field {shown}{hint}"
    return Problem(key if isinstance(key, str) else shown, key, message, "unknown")


def _close_fields(key: str) -> list[str]:
    """Up to three field names like ``key``: similar spellings, then names that begin
    with it (``'age'`` → ``'age_years'``)."""
    names = field_names()
    close = difflib.get_close_matches(key, names, n=3, cutoff=0.6)
    if len(key) >= 3:
        close += [n for n in names if n.startswith(key) and n not in close]
    return close[:3]


def parse_entries(entries: Mapping[Any, Any]) -> tuple[dict[str, Any], list[Problem]]:
    """Every entry parsed and checked once (see the module docstring).

    Returns the known columns with their values (``None`` = not recorded) and every
    problem: unknown keys first, then the fields in display order, a required field
    neither given nor recorded among them. Raises ``TypeError`` when ``entries`` is not a
    mapping.
    """
    if not isinstance(entries, Mapping):
        raise TypeError(
            f"entries must be a mapping of column → value, got {type(entries).__name__}"
        )
    order = {c: i for i, c in enumerate(field_names())}
    values: dict[str, Any] = {}
    unknown: list[Problem] = []
    found: dict[str, Problem] = {}
    for key, raw in entries.items():
        if not (isinstance(key, str) and key in order):
            unknown.append(_unknown(key))
            continue
        column = str(key)
        values[column], problem = parse_entry(column, raw)
        if problem is not None:
            found[column] = problem
    for f in patient_fields():
        if f.required and values.get(f.name) is None and f.name not in found:
            found[f.name] = Problem(
                f.name, entries.get(f.name), f"{field_label(f.name)} is required", "required"
            )
    return values, unknown + [found[c] for c in sorted(found, key=order.__getitem__)]
