"""Numbers written in a way the readers do not take for numbers, told apart.

A number written with a decimal comma (``28,4``), with thousands separators
(``32,599``, ``1,234,567``) or with a unit or a percent sign (``67%``, ``28 kg``) is not a
number to the readers (a decimal comma is, in a file read with ``decimal=","``). A numeric
column holding such text is refused by :func:`prom.cohort.missing_values.check_numeric_columns`
and a PROM item column by the instruments' scoring, which use the masks here to say how
the numbers are written and the hints to say how to correct them; ``prom score`` counts
the quarantined values written with a decimal comma. ``32,599`` could be 32599 or 32.599: the hint says both and guesses neither;
``67%`` could be meant as 67 or as 0.67.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np
import pandas as pd

__all__ = [
    "DECIMAL_COMMA",
    "decimal_comma_cells",
    "decimal_comma_hint",
    "thousands_cells",
    "thousands_hint",
    "unit_cells",
    "unit_hint",
    "written_as",
]

#: A number written with a decimal comma: ``28,4``, ``-0,5``, ``1.234,5`` (thousands dots).
DECIMAL_COMMA = r"^\s*[+-]?(?:\d+|\d{1,3}(?:\.\d{3})+),\d+\s*$"

#: A number written with thousands separators: ``32,599``, ``1,234,567``, ``-1,234.5``.
THOUSANDS = r"^\s*[+-]?\d{1,3}(?:,\d{3})+(?:\.\d+)?\s*$"

#: A number followed by a percent sign or a common unit: ``67%``, ``28 kg``, ``12.5mm``.
UNIT = (
    r"^\s*[+-]?\d+(?:[.,]\d+)?\s*(%|‰|°|mm|cm|m|kg|g|mg|ml|kg/m2|kg/m²|y|yr|yrs|years?"
    r"|mo|months?|d|days?|h|hours?|min|wk|weeks?)\.?\s*$"
)


def written_as(comma: np.ndarray, sep: np.ndarray, unit: np.ndarray) -> str:
    """How a column's unreadable numbers are written, when all of them are one way."""
    if unit.all():
        return "; these are numbers written with a unit or a percent sign"
    if comma.all() and sep.all():
        return "; these are numbers written with thousands separators or a decimal comma"
    if sep.all():
        return "; these are numbers written with thousands separators"
    if comma.all():
        return "; these are numbers written with a decimal comma"
    return ""


def _text_matching(s: pd.Series, pattern: str) -> np.ndarray:
    if pd.api.types.is_numeric_dtype(s.dtype) or pd.api.types.is_bool_dtype(s.dtype):
        return np.zeros(len(s), dtype=bool)
    text = s.map(lambda v: isinstance(v, str))
    out = s.where(text, "").astype(str).str.match(pattern)
    return np.asarray(out, dtype=bool) & np.asarray(text, dtype=bool)


def decimal_comma_cells(s: pd.Series) -> np.ndarray:
    """Mask of the cells of ``s`` that are text holding a number written with a decimal
    comma (``28,4``, ``1.234,5``)."""
    return _text_matching(s, DECIMAL_COMMA)


def thousands_cells(s: pd.Series) -> np.ndarray:
    """Mask of the cells of ``s`` that are text holding a number written with thousands
    separators (``32,599``, ``1,234,567``, ``1,234.5``); ``32,599`` is also a decimal
    comma's (:func:`decimal_comma_cells`)."""
    return _text_matching(s, THOUSANDS)


def decimal_comma_hint(values: Sequence[str]) -> str:
    """How to correct numbers written with a decimal comma (the end of the messages)."""
    v = str(values[0]).strip()
    point = v.replace(".", "").replace(",", ".")
    return (
        f"The table was read with '.' as its decimal mark: {v!r} is not the number {point} "
        "there. A CSV file written with decimal commas is read with --decimal ',' "
        "(decimal=','; its fields are then separated by another character, e.g. "
        "--delimiter ';'); otherwise write the numbers with a decimal point — a declared "
        "missing value would discard them."
    )


def unit_cells(s: pd.Series) -> np.ndarray:
    """Mask of the cells of ``s`` that are text holding a number followed by a percent
    sign or a common unit (``67%``, ``28 kg``, ``12.5mm``)."""
    return _text_matching(s, UNIT)


def unit_hint(values: Sequence[str]) -> str:
    """How to correct numbers written with a unit or a percent sign (the end of the
    messages)."""
    v = str(values[0]).strip()
    m = re.match(UNIT, v)
    unit = m.group(1) if m else ""
    number = v[: v.rfind(unit)].strip() if unit else v
    meant = f"{v!r} is not read as {number}"
    if unit in ("%", "‰"):
        scale = 100 if unit == "%" else 1000
        fraction = float(number.replace(",", ".")) / scale
        meant = f"{v!r} is read neither as {number} nor as {fraction:g}"
    return (
        f"{meant}: a column of numbers holds numbers only. Export it without the unit and "
        "say the unit in the column's name or a mapping file (--mapping)."
    )


def thousands_hint(values: Sequence[str]) -> str:
    """How to correct numbers written with thousands separators (the end of the messages);
    for a value such as ``32,599``, that it may be a decimal comma's instead."""
    v = str(values[0]).strip()
    plain = v.replace(",", "")
    if re.match(DECIMAL_COMMA, v):
        point = v.replace(".", "").replace(",", ".")
        read = (
            f"{v!r} is read as neither {plain} (a thousands separator) nor {point} (a decimal "
            "comma): the toolkit does not guess which. A CSV file written with decimal commas "
            "is read with --decimal ',' (decimal=','); numbers with thousands separators are "
            "not read"
        )
    else:
        read = f"{v!r} is {plain} written with thousands separators, which are not read"
    return (
        f"{read}: export the column without them (in a spreadsheet, a number format without "
        "the 1000 separator)."
    )
