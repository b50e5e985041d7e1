"""Check a cohort table against the data contract and report every problem at once.

:func:`validate_cohort` never stops at the first problem and never changes the caller's
table. It returns a :class:`ValidationReport`; call ``report.raise_for_errors()`` (or pass
``raise_on_error=True``) to turn errors into one :class:`~prom.errors.ContractError` whose
message lists them all. :func:`coerce_to_contract` returns a copy with the contract's
dtypes applied, for use once validation passes.

Checks (``check`` column of ``report.problems``)
-------------------------------------------------
================  =====================================================================
missing_column    a required column is absent
duplicate_column  a column name appears more than once
unknown_column    a column the contract does not declare (see "Extra columns")
missing_value     a missing value (NaN, None, empty text) where the column forbids it
duplicate_id      an ``id`` column (``patient_id``) holds the same value on several rows
type              a value of the wrong kind: text that is not a number in a numeric
                  column, anything but 0/1/True/False (or yes/no text) in a bool column,
                  True/False in a numeric column, a date where a number is expected,
                  True/False or another non-text object in a text column
coercible_type    a value of the wrong type that converts without loss: numeric text
                  (``"42"``) in a numeric column, ``"yes"``/``"no"``/``"true"`` text in a
                  bool column, numbers in a text column (ids read as numbers lose leading
                  zeros: read CSVs with :func:`prom.cohort.readers.read_table`)
not_integer       a number with a fraction in an integer column
out_of_range      a number outside the column's inclusive ``[low, high]``
category          a value of a category column not among its declared categories; the
                  ``expected`` text suggests a close match (``'Male'`` → ``'male'``)
empty_row         a row with every cell missing or blank (a spreadsheet's ``;;;;;``); no
                  column, and its cells are not reported again as ``missing_value``
field_count       CSV: rows with more or fewer fields than the header (no column)
truncated_row     CSV: a last line without a line break, perhaps cut off (no column)
open_quote        CSV: a quote left open that swallows the lines after it (no column)
repeated_header   CSV: a line that repeats the header, as when two exports are joined one
                  after the other (no column)
================  =====================================================================

The four CSV checks come from reading (:func:`prom.cohort.readers.read_cohort`; see
:mod:`prom.cohort.csv_reader`): the rows they name are not in the table at all.

Modes
-----
``strict`` (default): every problem is an error.
``lenient``: ``unknown_column`` and ``coercible_type`` are warnings; all else is an error.

Extra columns
-------------
Besides declared columns a table may carry ``img_*`` columns (further imaging features;
they must be numeric) and the columns PROM scoring writes (``prom.instruments.score_table``):
``<declared column>_reason``, ``<declared column>_band`` and ``<instrument>_version`` where
``<instrument>_<time point>`` is a declared column (``odi_version``, ``nrs_back_version``).
Any other column is ``unknown_column``.

Missing values are NaN, None, ``pd.NA`` and empty or all-blank text.

Problem rows
------------
``rows`` holds the first :data:`ROW_LIMIT` offending index labels in table order (for a
table read from a CSV file, its lines: :attr:`ValidationReport.row_noun`),
``n_rows`` the full count; ``values`` up to :data:`VALUE_LIMIT` distinct offending values
(sorted where they can be). Column-level problems (missing, duplicated or unknown column)
have an empty ``rows`` list and ``n_rows`` equal to the table's length.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd

from prom.cohort.column_checks import (
    EMPTY_ROW,
    VALUE_LIMIT,
    check_column,
    distinct_values,
    empty_rows,
    unknown_expected,
)
from prom.cohort.contract import Contract, extra_imaging_spec, scoring_columns
from prom.cohort.parsing import (
    as_text,
    is_textual,
    parse_bool,
    parse_category,
    parse_numeric,
    parse_text,
)
from prom.errors import ContractError, row_noun

if TYPE_CHECKING:
    from prom.cohort.mapping import MappingLog

__all__ = [
    "ValidationReport",
    "validate_cohort",
    "coerce_to_contract",
    "scoring_columns",
    "PROBLEM_COLUMNS",
    "CHECKS",
    "ROW_LIMIT",
    "VALUE_LIMIT",
]

Mode = Literal["strict", "lenient"]

#: Columns of ``ValidationReport.problems``.
PROBLEM_COLUMNS: tuple[str, ...] = (
    "column",
    "check",
    "severity",
    "n_rows",
    "rows",
    "values",
    "expected",
)
#: Every check, in the order problems of one column are listed.
CHECKS: tuple[str, ...] = (
    "missing_column",
    "duplicate_column",
    "unknown_column",
    "missing_value",
    "duplicate_id",
    "type",
    "coercible_type",
    "not_integer",
    "out_of_range",
    "category",
    "empty_row",
    "field_count",
    "truncated_row",
    "open_quote",
    "repeated_header",
)
ROW_LIMIT = 20

#: Checks that lenient mode downgrades to warnings.
_LENIENT_WARNINGS = frozenset({"unknown_column", "coercible_type"})

#: One-line description of each check and what to do about it (used in messages).
_CHECK_TEXT: dict[str, tuple[str, str]] = {
    "missing_column": (
        "required column is missing",
        "add it, or map your column onto it (prom.cohort.mapping)",
    ),
    "duplicate_column": ("column name appears more than once", "keep one of the copies"),
    "unknown_column": (
        "column is not declared in the contract",
        "rename it with a column mapping, or drop it",
    ),
    "missing_value": ("missing value(s) where a value is required", "fill or remove these rows"),
    "duplicate_id": ("id(s) used on more than one row", "make the ids unique"),
    "type": ("value(s) of the wrong kind", "correct or blank these values"),
    "coercible_type": (
        "value(s) stored with the wrong type",
        "convert them (coerce_to_contract after a lenient validation)",
    ),
    "not_integer": ("value(s) with a fraction in an integer column", "round or correct them"),
    "out_of_range": (
        "value(s) out of range",
        "check the unit or coding (a mapping can rescale or offset)",
    ),
    "category": ("value(s) not among the declared categories", "recode them (mapping 'values:')"),
    "empty_row": ("row(s) with nothing in them", "remove these lines or rows"),
    "field_count": ("CSV line(s) with the wrong number of fields", "correct them or re-export"),
    "truncated_row": (
        "CSV file cut off in its last line",
        "re-export it, or end it with a line break",
    ),
    "open_quote": ("CSV quote left open", "close the quote (a quote inside a value is doubled)"),
    "repeated_header": (
        "CSV header line repeated among the data rows",
        "remove it (two exports joined one after the other?)",
    ),
}


# --- the report ---------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class ValidationReport:
    """Every problem found in a table, with its severity.

    Attributes
    ----------
    problems : pandas.DataFrame
        One row per (column, check) with the columns of :data:`PROBLEM_COLUMNS`.
    n_rows : int
        Rows in the validated table.
    mode : {'strict', 'lenient'}
        The mode the table was validated in.
    contract : str
        Name and version of the contract, e.g. ``'cohort v1'``.
    mapping_log : MappingLog or None
        What a column mapping did before validation (set by ``read_cohort``).
    row_noun : {'row', 'line'}
        What the labels in ``rows`` are: ``'line'`` for a table read from a CSV file,
        whose rows are labelled by their lines (:data:`prom.errors.LINE_INDEX`), else
        ``'row'`` (the table's own index labels).
    """

    problems: pd.DataFrame
    n_rows: int
    mode: Mode = "strict"
    contract: str = "cohort v1"
    mapping_log: MappingLog | None = None
    row_noun: str = "row"

    @property
    def errors(self) -> pd.DataFrame:
        """The problems of severity ``'error'``."""
        return self.problems[self.problems["severity"] == "error"]

    @property
    def warnings(self) -> pd.DataFrame:
        """The problems of severity ``'warning'``."""
        return self.problems[self.problems["severity"] == "warning"]

    @property
    def ok(self) -> bool:
        """True when there is no error (warnings allowed)."""
        return not (self.problems["severity"] == "error").any()

    def summary(self) -> str:
        """Multi-line text: a headline, then one line per problem."""
        n_err = int((self.problems["severity"] == "error").sum())
        n_warn = len(self.problems) - n_err
        head = (
            f"{self.contract} contract, {self.mode} mode: {self.n_rows:,} row(s); "
            f"{n_err} error(s), {n_warn} warning(s)"
        )
        lines = [head]
        if self.mapping_log is not None:
            lines.append(f"  column mapping: {self.mapping_log.summary_line()}")
        lines += [f"  {p['severity']:<7} {_describe(p, self.row_noun)}" for p in self._records()]
        return "\n".join(lines)

    def raise_for_errors(self) -> ValidationReport:
        """Raise :class:`~prom.errors.ContractError` listing every error; else return self.

        The exception's ``.problems`` holds :attr:`problems` (errors and warnings).
        """
        if self.ok:
            return self
        errors = [p for p in self._records() if p["severity"] == "error"]
        lines = [
            (
                f"the table breaks the {self.contract} contract ({self.mode} mode): "
                f"{len(errors)} error(s) in {self.n_rows:,} row(s)"
            )
        ]
        for p in errors:
            fix = _CHECK_TEXT[p["check"]][1]
            lines.append(f"  - {_describe(p, self.row_noun)}; fix: {fix}")
        raise ContractError("\n".join(lines), problems=self.problems.copy())

    def _records(self) -> list[dict[str, Any]]:
        return self.problems.to_dict("records")

    def __repr__(self) -> str:
        n_err = int((self.problems["severity"] == "error").sum())
        return (
            f"ValidationReport(ok={self.ok}, n_rows={self.n_rows}, errors={n_err}, "
            f"warnings={len(self.problems) - n_err}, mode={self.mode!r})"
        )


def _describe(p: dict[str, Any], noun: str = "row") -> str:
    """One line: column, what is wrong, rows (``noun``: what their labels are), values,
    expected."""
    what = _CHECK_TEXT[p["check"]][0]
    text = f"column {p['column']!r}: {what}" if p["column"] else what
    rows: list = p["rows"]
    if rows:
        first = rows[:8]
        more = f", … ({p['n_rows']:,} in all)" if p["n_rows"] > len(first) else ""
        shown = ", ".join(str(r) for r in first)
        word = noun if p["n_rows"] == 1 else noun + "s"
        text += f" — {p['n_rows']:,} row(s) ({word} {shown}{more})"
    if p["values"]:
        text += "; values " + ", ".join(_fmt_value(v) for v in p["values"])
    return f"{text}; expected {p['expected']}"


def _fmt_value(v: Any) -> str:
    if isinstance(v, str):
        return repr(v)
    if isinstance(v, float):
        return f"{v:.10g}"
    return str(v)


# --- validation ---------------------------------------------------------------------------


def validate_cohort(
    data: pd.DataFrame,
    contract: Contract | None = None,
    mode: Mode = "strict",
    *,
    raise_on_error: bool = False,
) -> ValidationReport:
    """Check ``data`` against ``contract`` and collect every problem.

    Parameters
    ----------
    data : pandas.DataFrame
        The cohort table, one row per patient episode. It is not modified.
    contract : Contract, optional
        Defaults to :data:`prom.cohort.contract.COHORT_CONTRACT`.
    mode : {'strict', 'lenient'}
        ``lenient`` reports unknown columns and convertible type problems as warnings.
    raise_on_error : bool, default False
        By default the report is returned whatever it holds, and the caller decides;
        with True, errors raise :class:`~prom.errors.ContractError` at once.

    Returns
    -------
    ValidationReport

    Raises
    ------
    TypeError
        ``data`` is not a DataFrame.
    ValueError
        ``mode`` is not ``'strict'`` or ``'lenient'``.
    ContractError
        Only with ``raise_on_error=True``, when there is at least one error.
    """
    if not isinstance(data, pd.DataFrame):
        raise TypeError(f"validate_cohort expects a pandas DataFrame, got {type(data).__name__}")
    if mode not in ("strict", "lenient"):
        raise ValueError(f"mode={mode!r}; expected 'strict' or 'lenient'")
    contract = _default_contract(contract)
    found: list[dict[str, Any]] = []
    n = len(data)
    labels = data.index  # of the rows the checks below see

    def add(column: str, check: str, positions: np.ndarray | None, values, expected: str) -> None:
        severity = "warning" if mode == "lenient" and check in _LENIENT_WARNINGS else "error"
        if positions is None:  # a column-level problem
            rows, n_rows = [], n
        else:
            rows, n_rows = labels[positions[:ROW_LIMIT]].tolist(), len(positions)
        found.append(
            dict(
                column=column,
                check=check,
                severity=severity,
                n_rows=n_rows,
                rows=rows,
                values=distinct_values(values),
                expected=expected,
            )
        )

    names = [str(c) for c in data.columns]
    counts = pd.Series(names).value_counts(sort=False)
    for name in counts.index[counts.to_numpy() > 1]:
        add(
            name,
            "duplicate_column",
            None,
            [],
            f"each column once (found {counts[name]} columns named {name!r})",
        )
    for spec in contract.required():
        if spec.name not in counts.index:
            add(spec.name, "missing_column", None, [], f"a column {spec.name!r}: {spec.expected()}")

    empty = empty_rows(data)
    table = data
    if empty.any():  # one problem of each such row, not one per required column
        add("", "empty_row", np.flatnonzero(empty), [], EMPTY_ROW)
        table = data.iloc[np.flatnonzero(~empty)]
        labels = table.index
    derived = scoring_columns(contract)
    for j, name in enumerate(names):
        if counts[name] > 1:
            continue  # ambiguous: its duplicate_column error says what to do
        column = table.iloc[:, j]
        if name in contract:
            check_column(column, contract[name], add)
        elif name.startswith("img_"):
            check_column(
                column,
                extra_imaging_spec(name),
                add,
                expected="a number (img_* columns are imaging features)",
            )
        elif name not in derived:
            add(name, "unknown_column", None, [], unknown_expected(name, contract.names, column))

    problems = _problem_frame(found, contract, names)
    version = f"{contract.name} v{contract.version}"
    report = ValidationReport(problems, n, mode, version, row_noun=row_noun(data.index))
    if raise_on_error:
        report.raise_for_errors()
    return report


def _default_contract(contract: Contract | None) -> Contract:
    if contract is None:
        from prom.cohort.contract import COHORT_CONTRACT

        return COHORT_CONTRACT
    if not isinstance(contract, Contract):
        raise TypeError(
            f"contract must be a prom.cohort.contract.Contract, got {type(contract).__name__}"
        )
    return contract


def _problem_frame(
    found: list[dict[str, Any]], contract: Contract, names: list[str]
) -> pd.DataFrame:
    """Problems in a fixed order (contract order, then other columns by name; check order),
    so that shuffling rows or columns of the table gives the same frame."""
    position = {name: i for i, name in enumerate(contract.names)}
    check_rank = {c: i for i, c in enumerate(CHECKS)}
    found.sort(
        key=lambda p: (
            position.get(p["column"], -1 if p["column"] == "" else len(position)),
            p["column"],
            check_rank[p["check"]],
        )
    )
    frame = pd.DataFrame(found, columns=list(PROBLEM_COLUMNS))
    return frame.astype({"n_rows": "int64"}).reset_index(drop=True)


# --- coercion -----------------------------------------------------------------------------


def coerce_to_contract(
    data: pd.DataFrame, contract: Contract | None = None, mode: Mode = "strict"
) -> pd.DataFrame:
    """A copy of ``data`` with the contract's dtypes, after validating it.

    Declared columns become: ``float`` → float64; ``int`` → nullable ``Int64``; ``bool``
    → nullable ``boolean`` (0/1, True/False and, in lenient mode, yes/no text);
    ``category`` → ``pandas.Categorical`` with the declared categories; ``string`` →
    object holding ``str`` (numbers, allowed in lenient mode, become their text, whole
    floats without ``.0``). Missing values (including blank text) become NaN / ``<NA>``.
    ``img_*`` columns become float64; other columns are copied unchanged.

    Parameters
    ----------
    data : pandas.DataFrame
        Not modified.
    contract : Contract, optional
        Defaults to :data:`prom.cohort.contract.COHORT_CONTRACT`.
    mode : {'strict', 'lenient'}
        Validation mode; lenient lets convertible values (``"42"``, ``"yes"``) through.

    Raises
    ------
    ContractError
        The table has validation errors (the message lists them all).
    """
    contract = _default_contract(contract)
    validate_cohort(data, contract, mode).raise_for_errors()
    out: dict[Any, Any] = {}
    for j, name in enumerate(data.columns):
        s = data.iloc[:, j]
        key = str(name)
        spec = (
            contract[key]
            if key in contract
            else (extra_imaging_spec(key) if key.startswith("img_") else None)
        )
        if spec is None:
            out[name] = s.array.copy()  # arrays, not Series: no alignment on the index
        elif spec.dtype == "float":
            out[name] = parse_numeric(s).values
        elif spec.dtype == "int":
            v = parse_numeric(s).values
            na = np.isnan(v)
            out[name] = pd.arrays.IntegerArray(np.where(na, 0, v).astype(np.int64), na)
        elif spec.dtype == "bool":
            v = parse_bool(s).values
            out[name] = pd.arrays.BooleanArray(v == 1, np.isnan(v))
        elif spec.dtype == "category":
            out[name] = pd.Categorical(
                parse_category(s, spec).values, categories=list(spec.categories or ())
            )
        else:
            p = parse_text(s)
            arr = p.values if is_textual(s) else as_text(s).to_numpy(dtype=object)
            arr = arr.copy()
            arr[p.missing] = np.nan
            out[name] = arr
    # every value of ``out`` is a new array already: no second copy
    return pd.DataFrame(out, index=data.index.copy(), copy=False)
