"""What counts as a missing value, and what is a value that cannot be read.

Only an empty cell is missing
-----------------------------
Every reader of a user's table (:func:`prom.cohort.readers.read_table`, the bulk scorer's
sources) treats only an empty cell (nothing, or nothing but spaces) as missing. Text such
as ``n/a``, ``NA``, ``null``, ``-`` or ``?`` is *not* missing by default: pandas' habit of
reading a dozen such words as missing would let a typo or an export artefact disappear
into an imputed value. R's ``write.csv`` writes ``NA`` for a missing value; it is not
special either, because the same two letters are also a valid code in some tables (a
category "not applicable", a sodium column's name). A file whose missing values are
written as a marker says so:

- command line: ``--missing-values "n/a,NA,-99"`` on every command that reads a table;
- Python: ``missing_values=["n/a", "NA", "-99"]`` (or the same comma-separated text).

A declared marker matches a whole cell, after surrounding spaces are removed, case
sensitively (``NA`` does not declare ``na``). A marker that is a number (``-99``) also
matches that number in a numeric column (``-99``, ``-99.0``). Declared cells become
missing and are *counted*, per column (:func:`declare_missing`), so that the commands can
say how many cells each marker made missing.

A value that cannot be read is a problem
----------------------------------------
A numeric column — numeric in the cohort contract, or a column of the user's own whose
values are otherwise numbers — holding text that is not a number is an error naming the
column, the rows, the values and what was expected, with the way to declare a marker
missing (:func:`check_numeric_columns`, :class:`UnparseableValueError`). "Otherwise
numbers": more of its filled cells are numbers than are not. A column of the user's
own that is mostly text is a category column, and its text is a category — nothing is
refused there. The bulk scorer quarantines such a row with the same reason instead of
stopping (:mod:`prom.score.core`).

A number written with a decimal comma
-------------------------------------
``28,4`` is not read as a number unless the CSV file is read with ``decimal=","``
(``--decimal ','``; :mod:`prom.cohort.csv_reader`). Such a cell in a numeric
column is refused as above, with a hint about the decimal comma instead of a suggestion
to declare it missing. A column of the user's own whose cells are mostly numbers once a
decimal comma is read as a point (a column exported with decimal commas, every cell
``28,4``-like) is refused too, naming it — never taken for a category column with one
level per distinct number.

A number written with thousands separators (``32,599``, ``1,234,567``, ``1,234.5``) is
not read either, and is refused the same way, saying so. ``32,599`` could be either
32599 or 32.599 written with a decimal comma: the message says both and guesses neither.
So is a number written with a percent sign or a unit (``67%``, ``28 kg``, ``12.5mm``):
``67%`` could be meant as 67 or as 0.67.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Mapping, Sequence

import numpy as np
import pandas as pd

from prom.errors import PromError, format_rows, format_values
from prom.number_forms import (
    decimal_comma_cells,
    decimal_comma_hint,
    thousands_cells,
    thousands_hint,
    unit_cells,
    unit_hint,
    written_as,
)

__all__ = [
    "MISSING_ATTR",
    "COMMON_MARKERS",
    "UnparseableValueError",
    "parse_missing_values",
    "declare_missing",
    "declared_counts",
    "describe_declared",
    "unparseable_cells",
    "check_numeric_columns",
    "missing_hint",
    "decimal_comma_cells",  # from prom.cohort.number_forms, with the other forms
    "decimal_comma_hint",
    "numbers_as_read",
]

#: ``DataFrame.attrs`` key under which the readers leave ``{column: cells declared missing}``.
MISSING_ATTR = "prom_declared_missing"

#: Texts that often stand for a missing value; seen in a numeric column, the error
#: suggests declaring them rather than correcting them.
COMMON_MARKERS = frozenset(
    {"NA", "N/A", "n/a", "na", "NaN", "nan", "NULL", "null", "None", "none", "-", "--", ".",
     "?", "#N/A", "missing", "Missing", "unknown", "Unknown", "NR", "ND", "#NUM!", "#VALUE!"}
)  # fmt: skip


class UnparseableValueError(PromError, ValueError):
    """A numeric column holds text that is not a number (``.problems``: column → rows)."""

    def __init__(self, message: str, problems: Mapping[str, list] | None = None):
        super().__init__(message)
        self.problems = dict(problems or {})


def parse_missing_values(value: str | Iterable[str] | None) -> tuple[str, ...]:
    """The declared missing-value markers: ``"n/a,NA,-99"`` or a list of texts.

    Raises
    ------
    TypeError
        ``value`` is neither text nor a list of texts.
    ValueError
        An empty marker (``"n/a,,NA"``): an empty cell is always missing already.
    """
    if value is None:
        return ()
    if isinstance(value, str):
        parts = value.split(",")
    else:
        parts = list(value)
        bad = [v for v in parts if not isinstance(v, str)]
        if bad:
            raise TypeError(
                f"missing_values must be texts such as 'n/a' or '-99'; got {format_values(bad)}"
            )
    out = [p.strip() for p in parts]
    if any(p == "" for p in out):
        raise ValueError(
            f"missing values {value!r}: an empty marker; list markers separated by commas, "
            "e.g. 'n/a,NA,-99' (an empty cell is always missing)"
        )
    return tuple(dict.fromkeys(out))


def _numeric_markers(tokens: Sequence[str]) -> list[float]:
    out = []
    for t in tokens:
        try:
            v = float(t)
        except ValueError:
            continue
        if np.isfinite(v):
            out.append(v)
    return out


#: Characters a cell must not hold to be re-read as one line of a one-column table.
_SEPARATORS = frozenset("\n\r\x1f")


def numbers_as_read(s: pd.Series, point: str = ".") -> pd.Series | None:
    """``s`` (text and missing values) as the numbers a CSV file's reader gives for the same
    cells — pandas' own parser with the decimal mark ``point`` — as float64, NaN where
    missing (all NaN when nothing is filled); ``None`` when a filled value is not the text
    of a number (true/false texts included, which pandas would not read as numbers among
    missing cells)."""
    import csv
    import io

    values = s.to_numpy(dtype=object)
    filled = np.flatnonzero(~pd.isna(values))
    numbers = np.full(len(values), np.nan)
    if filled.size:
        cells = values[filled]
        if not all(type(v) is str and not _SEPARATORS.intersection(v) for v in cells):
            return None
        parsed = pd.read_csv(
            io.StringIO("\n".join(cells)),
            header=None,
            sep="\x1f",
            quoting=csv.QUOTE_NONE,
            decimal=point,
            keep_default_na=False,
            na_values=[""],
            skip_blank_lines=False,
        ).iloc[:, 0]
        if (
            len(parsed) != filled.size
            or not pd.api.types.is_numeric_dtype(parsed.dtype)
            or pd.api.types.is_bool_dtype(parsed.dtype)
        ):
            return None
        numbers[filled] = parsed.to_numpy(dtype=float)
    return pd.Series(numbers, index=s.index, name=s.name)


def declare_missing(
    df: pd.DataFrame,
    tokens: Sequence[str],
    *,
    text_columns: Iterable[str] = (),
    infer_numbers: bool = False,
) -> tuple[pd.DataFrame, dict[str, int]]:
    """``df`` with the cells matching a declared marker made missing, and their count per
    column (columns with none left out). ``df`` itself is not changed.

    ``infer_numbers`` (CSV): a column read as text only because of its markers, whose
    remaining values are all numbers, becomes a numeric column — the type the file's
    reader would have given it without the markers (in a file read with decimal commas,
    the CSV reader has written such a column's numbers with a point already).
    ``text_columns`` never do.
    """
    if not tokens or not len(df.columns):
        return df, {}
    text_tokens = np.asarray(list(tokens), dtype=object)
    numbers = _numeric_markers(tokens)
    keep_text = set(text_columns)
    counts: dict[str, int] = {}
    changed: dict[str, pd.Series] = {}
    for name in df.columns:
        s = df[name]
        if pd.api.types.is_bool_dtype(s.dtype) or isinstance(s.dtype, pd.CategoricalDtype):
            continue
        if pd.api.types.is_numeric_dtype(s.dtype):
            if not numbers:
                continue
            hit = np.asarray(s.isin(numbers), dtype=bool)
        else:
            stripped = s.map(lambda v: v.strip() if isinstance(v, str) else v)
            hit = np.asarray(stripped.isin(text_tokens), dtype=bool)
            if numbers:
                hit |= np.asarray(
                    s.map(lambda v: not isinstance(v, (str, bool)) and v in numbers), dtype=bool
                )
                # a number written as text ('-99.0' in a column that a text marker made
                # text) is the number the marker declares
                as_text = stripped.map(lambda v: v if isinstance(v, str) else None)
                parsed = pd.to_numeric(as_text, errors="coerce")
                hit |= np.asarray(parsed.isin(numbers), dtype=bool)
        if not hit.any():
            continue
        counts[str(name)] = int(hit.sum())
        new = s.astype(object) if not pd.api.types.is_float_dtype(s.dtype) else s.copy()
        new[hit] = np.nan
        if infer_numbers and name not in keep_text and new.dtype == object:
            with contextlib.suppress(TypeError, ValueError):  # text stays text
                new = pd.to_numeric(new)
        elif pd.api.types.is_integer_dtype(s.dtype):
            new = new.astype(float)
        changed[name] = new
    if not changed:
        return df, {}
    out = df.copy(deep=False)
    for name, new in changed.items():
        out[name] = new
    out.attrs = dict(df.attrs)
    return out, counts


def declared_counts(df: pd.DataFrame) -> dict[str, int]:
    """The cells a reader made missing by a declared marker, per column (empty: none)."""
    return dict(df.attrs.get(MISSING_ATTR, {}))


def describe_declared(counts: Mapping[str, int], tokens: Sequence[str]) -> str:
    """``'3 cells declared missing (--missing-values 'n/a'): pelvic_tilt 2, grade 1'``."""
    n = sum(counts.values())
    markers = ",".join(tokens)
    head = f"{n:,} cell{'s' if n != 1 else ''} declared missing (--missing-values {markers!r})"
    if not counts:
        return f"no cell matched the declared missing values (--missing-values {markers!r})"
    return head + ": " + ", ".join(f"{c} {k:,}" for c, k in counts.items())


def unparseable_cells(s: pd.Series, contract_dtype: str | None = None) -> np.ndarray:
    """Mask of the cells of ``s`` that hold text (or another non-number) where a number
    is expected. ``contract_dtype``: ``"bool"`` accepts the bool texts (``yes``, ``f``…)."""
    from prom.cohort.parsing import is_textual, parse_bool, parse_numeric

    if not is_textual(s):
        return np.zeros(len(s), dtype=bool)
    if contract_dtype == "bool":
        p = parse_bool(s)
        # a number other than 0/1 in a bool column is a range problem, not unreadable
        return p.bad & np.asarray(s.map(lambda v: isinstance(v, str)), dtype=bool)
    return parse_numeric(s).bad


def _numeric_kind(name: str) -> str | None:
    """The contract dtype of a numeric contract column (or ``img_*``), else None."""
    from prom.cohort.contract import COHORT_CONTRACT

    if name in COHORT_CONTRACT:
        dt = COHORT_CONTRACT[name].dtype
        return dt if dt in ("bool", "int", "float") else "text"
    if name.startswith("img_"):
        return "float"
    return None


def check_numeric_columns(
    df: pd.DataFrame,
    columns: Iterable[str] | None = None,
    *,
    categorical: Iterable[str] = (),
    numeric: Iterable[str] = (),
    what: str = "",
) -> None:
    """Refuse text that is not a number in the numeric ``columns`` of ``df`` (default:
    all), every such column at once (see the module docstring).

    A column is numeric when the contract says so, when it is named in ``numeric`` (a
    fitted model reads it as a number), or — a column of the user's own, not named in
    ``categorical`` — when more of its filled cells are numbers than are not.
    ``what`` (e.g. ``"predictor"``) words the message.

    Raises
    ------
    UnparseableValueError
        Naming each column, its rows (as :func:`prom.errors.format_rows` does), its values,
        what was expected and how to declare a marker missing.
    """
    cats, nums = set(categorical), set(numeric)
    names = list(df.columns) if columns is None else [c for c in columns if c in df.columns]
    found: dict[str, list] = {}
    lines = []
    commas: list[str] = []
    seps: list[str] = []
    units: list[str] = []
    for name in dict.fromkeys(names):
        s = df[name]
        if isinstance(s, pd.DataFrame):  # duplicated name: refused elsewhere
            continue
        kind = _numeric_kind(name)
        if kind == "text" or (name in cats and name not in nums):
            continue
        bad = unparseable_cells(s, kind)
        if not bad.any():
            continue
        none = np.zeros(len(s), bool)
        comma = decimal_comma_cells(s) & bad if kind != "bool" else none
        sep = thousands_cells(s) & bad if kind != "bool" else none
        unit = unit_cells(s) & bad if kind != "bool" else none
        if kind is None and name not in nums:
            filled = int(s.map(lambda v: not (isinstance(v, str) and v.strip() == "")).sum())
            filled -= int(s.isna().sum())
            # mostly text: a category column, unless most of it is numbers once a decimal
            # comma is read as a point, thousands separators are dropped or units removed
            if int((bad & ~(comma | sep | unit)).sum()) * 2 >= filled:
                continue
        rows = s.index[bad]  # an Index: a CSV file's are called lines (format_rows)
        found[name] = rows.tolist()
        values = s[bad].tolist()
        n_ok = int((s.notna() & ~bad).sum())
        expected = "a number" if kind != "bool" else "true/false, yes/no or 0/1"
        label = f"{what} " if what else ""
        others = (
            f", as its other {n_ok:,} filled values are"
            if kind is None and name not in nums and n_ok >= int(bad.sum())
            else ""
        )
        written = written_as(comma[bad], sep[bad], unit[bad])
        lines.append(
            f"{label}column {name!r}: {format_values(values)} at {format_rows(rows)} "
            f"(expected {expected}{others}{written})"
        )
        commas += [v for v in s[comma & ~sep].tolist() if v not in commas]
        seps += [v for v in s[sep].tolist() if v not in seps]
        units += [v for v in s[unit].tolist() if v not in units]
    if not lines:
        return
    markers = list(dict.fromkeys(
        v.strip() for c in found for v in df.loc[found[c], c].tolist()
        if isinstance(v, str) and v not in commas and v not in seps and v not in units
    ))  # fmt: skip
    n = sum(len(r) for r in found.values())
    raise UnparseableValueError(
        f"{n:,} value{'s' if n != 1 else ''} cannot be read as "
        f"{'numbers' if n != 1 else 'a number'}: "
        + "; ".join(lines)
        + ". "
        + " ".join(
            ([decimal_comma_hint(commas)] if commas else [])
            + ([thousands_hint(seps)] if seps else [])
            + ([unit_hint(units)] if units else [])
            + ([missing_hint(markers)] if markers or not (commas or seps or units) else [])
        ),
        found,
    )


#: What :func:`missing_hint` says becomes of a predictor's cells declared missing.
IMPUTED = "the cells are then counted as missing and imputed like any other missing value"


def missing_hint(values: Sequence[str], then: str = IMPUTED, what: str = "value") -> str:
    """How to declare ``values`` missing, or to correct them (the end of the messages):
    ``then`` says what becomes of the declared cells, ``what`` what they stand for (an
    outcome's cells are left out, not imputed)."""
    values = list(dict.fromkeys(values))  # each once
    shown = ",".join(values[:4]) or "n/a"
    py = ", ".join(repr(v) for v in values[:4]) or "'n/a'"
    head = "Only an empty cell is missing"
    if any(v in COMMON_MARKERS for v in values):
        head += " (text such as 'NA' or 'n/a' is not, unless declared)"
    return (
        f"{head}: if such a value marks a missing {what}, declare it with --missing-values "
        f"{shown!r} (in Python, as the table is read: read_table(..., missing_values=[{py}])) "
        f"— {then}; otherwise correct the value"
    )
