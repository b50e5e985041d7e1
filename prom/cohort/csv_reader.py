"""The one CSV reader: a file's structure is checked row by row, like its values.

Both the cohort reader (:func:`prom.cohort.readers.read_table`: ``prom validate``, ``fit``,
``evaluate``, ``score-proms``) and the bulk scorer's streaming source
(:mod:`prom.score.source`: ``prom score``) read CSV through this module. It reads the file
in blocks (memory stays bounded by ``batch_rows`` whatever the file's size), knows every
data row's physical line in the file (line 1 is the header; line breaks inside quoted
values are counted, so the line is the one an editor shows) and its number of fields
(:mod:`prom.cohort.csv_scan`), and hands the rows to pandas' C parser for their values
(:mod:`prom.cohort.csv_source`), in batches (:func:`iter_csv_batches`) or whole
(:func:`read_csv_table`).

Structural problems are row problems
------------------------------------
Nothing is read from a row whose structure is broken: its text never reaches pandas, so
no value of it is filled in, cut or guessed. Each is a :class:`StructureProblem` with one of
these checks (:data:`STRUCTURE_CHECKS`):

``field_count``
    The row has more or fewer fields than the header (``30 fields``, expected ``154``).
``truncated_row``
    The file does not end with a line break. A registry export killed mid-write ends
    that way, and its last value may be cut (``12.5`` written as ``12``) with no way to
    tell from the value itself, so the last line is not trusted, even with the right
    number of fields — unless its last value is a closed quoted value, which proves the
    line whole. A complete file written without a final line break is read in full once
    a line break is added (``echo >> data.csv``).
``open_quote``
    A quote is left open: the file ends inside a quoted value (the rest of the file
    after the quote would be one value), or a quoted value runs over line breaks in a
    row whose fields then do not add up (or whose closing quote has more text after it)
    — the usual sign of a stray quote that swallowed the lines after it. The problem
    names the line where the quote opened.
``repeated_header``
    The row repeats the header byte for byte (after a UTF-8 byte-order mark, if it has
    one): two exports joined one after the other leave the second one's header among the
    data rows, where each of its fields would be reported as a wrong value.

The bulk scorer quarantines these rows (counted as read and quarantined; the quarantine
file names the line and the check); the cohort reader refuses the file, naming the
file, the lines and the checks (``prom validate`` lists them with the other problems).

Blank lines (nothing but spaces and tabs) hold no values and are skipped, as pandas
does; their lines still count.

Missing values
--------------
Only an empty field is missing: nothing, or nothing but spaces and tabs (pandas reads
the second as text, which would turn a column of numbers into a column of text; such a
field is made missing and the column's other values are parsed as pandas parses numbers,
:func:`blanks_as_missing`). Texts such as ``NA``, ``n/a`` or ``null`` are read as
they are written (pandas would read a dozen of them as missing): a numeric column that
holds one is then refused by the commands, naming the cell, unless the user declares the
marker missing (``--missing-values``, :mod:`prom.cohort.missing_values`).

Encoding and delimiter
----------------------
``encoding`` (default UTF-8; a UTF-8 byte-order mark at the start is accepted) may be
UTF-8 or any single-byte encoding whose first 128 characters are ASCII (``latin-1``,
``cp1252``, ``iso8859-15``, …). Every byte of the file is decoded: a byte the encoding
does not allow stops the read with the file, the line, the byte's offset in the file and
the byte itself, and a hint (``data.csv line 43: byte 0xfc at offset 5018 is not valid
UTF-8; …, pass --encoding latin-1 …``). In a ``.csv.gz`` file the offset counts the
decompressed bytes. ``delimiter`` is one ASCII character (``,`` by default; ``tab`` names
the tab). A header that reads as fewer columns than another delimiter would give is
refused with a hint (``… it looks semicolon-delimited; pass --delimiter ';'``).
``decimal`` is the decimal mark of the numbers, ``.`` by default or ``,`` for a file
written with decimal commas (``28,4``; its delimiter is then another character, usually
``;``). Only that mark is read: with ``,`` a number written ``28.4`` is text, refused
like other text in a numeric column.

The header is checked too: a name that appears twice is refused by name, never renamed
(``column 'age_years' appears twice in the header (columns 3 and 47)``); an empty name
becomes ``Unnamed: <position>``, as pandas names it.
"""

from __future__ import annotations

import csv
import warnings
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from os import PathLike
from pathlib import Path

import numpy as np
import pandas as pd

from prom.cohort.csv_scan import Block
from prom.cohort.csv_source import (
    STRUCTURE_CHECKS,
    CsvDialect,
    RowStream,
    StructureProblem,
    record_blocks,
    refuse_csv_options,
)
from prom.cohort.missing_values import numbers_as_read
from prom.cohort.table_formats import TableReadError, missing_as_nan
from prom.errors import LINE_INDEX, format_rows, format_values

__all__ = [
    "STRUCTURE_CHECKS",
    "CsvDialect",
    "refuse_csv_options",
    "CsvHeader",
    "CsvBatch",
    "StructureProblem",
    "CsvStructureError",
    "read_csv_header",
    "iter_csv_batches",
    "read_csv_table",
]

_DELIMITER_NAMES = {",": "comma", ";": "semicolon", "\t": "tab", "|": "pipe"}


class CsvStructureError(TableReadError):
    """A CSV file has rows with a broken structure; ``.problems`` lists them."""

    def __init__(self, name: str, problems: Sequence[StructureProblem], limit: int = 10):
        self.problems = list(problems)
        shown = "\n".join(f"  {p.describe()}" for p in self.problems[:limit])
        more = f"\n  … ({len(self.problems):,} in all)" if len(self.problems) > limit else ""
        super().__init__(
            f"{name}: {len(self.problems):,} row(s) with a broken structure, so the table "
            f"was not read (nothing of such a row is filled in or guessed):\n{shown}{more}\n"
            "Re-export the file, or correct or remove these lines; `prom validate` lists "
            "them with the table's other problems"
        )


@dataclass(frozen=True)
class CsvHeader:
    """A CSV file's column names, read and checked (:func:`read_csv_header`)."""

    path: Path
    names: tuple[str, ...]
    dialect: CsvDialect = field(default_factory=CsvDialect)


@dataclass(frozen=True)
class CsvBatch:
    """Consecutive data rows: their values, lines and structural problems.

    ``frame`` has one row per data row from ``first_row`` (0-based) on, with a fresh
    ``RangeIndex``; a row with a structural problem is all missing there and is listed in
    ``problems`` (its ``row`` counts from the start of the file). ``lines``: each row's
    1-based line in the file.
    """

    frame: pd.DataFrame
    first_row: int
    lines: np.ndarray
    problems: tuple[StructureProblem, ...] = ()


def read_csv_header(path: str | PathLike[str], dialect: CsvDialect | None = None) -> CsvHeader:
    """The column names of a CSV file, checked (see the module docstring).

    Raises
    ------
    TableReadError
        No header line; a header that looks like another delimiter; a duplicated name; a
        byte the encoding does not allow; a header quote left open.
    """
    path = Path(path)
    dialect = dialect or CsvDialect()
    for block in record_blocks(path, dialect, None):
        if len(block):
            return CsvHeader(path, _header_names(path, dialect, block), dialect)
    raise TableReadError(f"{path.name!r} is empty: no header line and no rows")


def iter_csv_batches(
    header: CsvHeader,
    columns: Sequence[str] | None,
    batch_rows: int,
    text_columns: Sequence[str] = (),
) -> Iterator[CsvBatch]:
    """The data rows in file order, ``columns`` only (all when None), at most
    ``batch_rows`` at a time; ``text_columns`` are read as text (ids such as ``'007'``
    keep their zeros). Each batch's column types are pandas' inference on its rows."""
    wanted = list(header.names) if columns is None else list(columns)
    stream = RowStream(header.path, header.dialect, header.names, placeholders=True)
    first = 0
    with _reader(header, stream, wanted, text_columns, chunksize=batch_rows) as chunks:
        for chunk in _quietly(chunks):
            if not len(chunk):
                continue
            lines, _, problems = stream.take(len(chunk))
            frame = _as_values(header, chunk[wanted].reset_index(drop=True), text_columns, lines)
            yield CsvBatch(frame, first, lines, problems)
            first += len(chunk)
    stream.check_done()


def read_csv_table(
    header: CsvHeader, columns: Sequence[str] | None, text_columns: Sequence[str] = ()
) -> tuple[pd.DataFrame, list[StructureProblem]]:
    """The whole table and the structural problems of its rows.

    The rows with a problem are left out. The others are indexed by the line of the file
    each starts on (1-based, the header is line 1; an index named
    :data:`~prom.errors.LINE_INDEX`), so that every message about a row names the line a
    user finds it on (:func:`~prom.errors.format_rows`). The values are parsed in one
    piece, so each column's type is decided on all its rows.
    """
    wanted = list(header.names) if columns is None else list(columns)
    stream = RowStream(header.path, header.dialect, header.names, placeholders=False)
    frame = _reader(header, stream, wanted, text_columns, chunksize=None)[wanted]
    lines, _, problems = stream.take(len(frame))
    stream.check_done()
    found = [*problems, *stream.rest()]
    frame.index = pd.Index(lines.astype(np.int64), name=LINE_INDEX)
    return _as_values(header, frame, text_columns, lines), found


def blanks_as_missing(
    frame: pd.DataFrame, point: str = ".", text_columns: Sequence[str] = ()
) -> pd.DataFrame:
    """Fields of nothing but spaces or tabs become missing, in place (and returned).

    pandas reads such a field as text, so a column of numbers with one of them would be a
    column of text. In every column of text that has one, it becomes NaN; when the
    column's other values are then all numbers, they are read as the file's reader reads
    numbers (:func:`~prom.cohort.missing_values.numbers_as_read`, decimal mark ``point``)
    — the numbers the column would have held had the field been empty. ``text_columns``
    (read as text, such as ids) stay text.
    """
    for name in frame.columns:
        s = frame[name]
        if s.dtype != object:
            continue
        spaces = [v for v in s.unique() if type(v) is str and v.isspace()]
        if not spaces:  # the distinct values are few in a text column: checked once each
            continue
        s = s.mask(s.isin(spaces))
        numbers = None if name in text_columns else numbers_as_read(s, point)
        frame[name] = s if numbers is None else numbers
    return frame


def _as_values(
    header: CsvHeader, frame: pd.DataFrame, text_columns: Sequence[str], lines: np.ndarray
) -> pd.DataFrame:
    """The frame pandas read, with missing cells as the readers' rule has them (None and
    blank fields as NaN) and, in a file read with decimal commas, its numbers among text
    checked and written with a point (:func:`_decimal_comma_text`)."""
    frame = blanks_as_missing(missing_as_nan(frame), header.dialect.point, text_columns)
    if header.dialect.point == ",":
        _decimal_comma_text(header, frame, text_columns, lines)
    return frame


#: A number with a '.' in it (a decimal point, or thousands dots as in ``1.234,5``).
_POINT_NUMBER = r"^\s*[+-]?(?:\d*\.\d+|\d{1,3}(?:\.\d{3})+(?:,\d+)?)\s*$"
#: A number as a file with decimal commas writes it.
_COMMA_NUMBER = r"^\s*[+-]?\d+(?:,\d+)?\s*$"


def _decimal_comma_text(
    header: CsvHeader, frame: pd.DataFrame, text_columns: Sequence[str], lines: np.ndarray
) -> None:
    """The columns pandas left as text in a file read with decimal commas, in one pass.

    - A column of numbers some of which are written with a '.' (``58.0``, ``1.234,5``) is
      refused: the '.' is neither read as a decimal point nor as a thousands separator,
      and left as text it would make the column a category.
    - In any other such column (a number column with a word in it, such as ``n/a`` or
      ``abc``, or a text column), the numbers written with a comma (``'28,4'``), which
      every later step would read as not a number, become the same number's text with a
      point (``'28.4'``), in place: the column is then what the same file written with
      points gives — its numbers are numbers kept as text (validated as
      ``coercible_type``, scored), its words are still refused or declared missing.

    ``text_columns`` (read as text, such as ids) are left as written.
    """
    text = set(text_columns)
    found = []
    for name in frame.columns:
        s = frame[name]
        if name in text or s.dtype != object:
            continue
        cells = s[s.map(lambda v: isinstance(v, str))]
        if cells.empty:
            continue
        point = cells.str.match(_POINT_NUMBER)
        comma = cells.str.match(_COMMA_NUMBER)
        if point.any() and (point | comma).all():
            at = frame.index.get_indexer(cells.index[point])
            rows = pd.Index(lines[at], name=LINE_INDEX)  # the lines the user can find
            found.append(
                f"column {name!r}: {format_values(cells[point].tolist())} at {format_rows(rows)}"
            )
            continue
        comma &= cells.str.contains(",", regex=False)
        if comma.any():
            s = s.copy()
            s[cells.index[comma]] = cells[comma].str.strip().str.replace(",", ".", regex=False)
            frame[name] = s
    if found:
        raise TableReadError(
            f"{header.path.name} is read with ',' as its decimal mark (--decimal ','), but "
            f"numbers in it are written with '.', which is then neither a decimal point nor "
            f"a thousands separator: {'; '.join(found)}. Write them with the decimal comma "
            "(58,5) and without thousands separators, or read the file without --decimal "
            "if its numbers are written with points"
        )


def _quietly(chunks) -> Iterator[pd.DataFrame]:
    """The reader's chunks without pandas' DtypeWarning (a column of numbers and text in
    one chunk): the checks that follow name such cells row by row, and the warning, a
    line of pandas' own on the terminal, says nothing the user can act on."""
    it = iter(chunks)
    while True:
        with warnings.catch_warnings():  # only while pandas reads: not across the yield
            warnings.simplefilter("ignore", pd.errors.DtypeWarning)
            chunk = next(it, None)
        if chunk is None:
            return
        yield chunk


def _reader(
    header: CsvHeader,
    stream: RowStream,
    columns: list[str],
    text_columns: Sequence[str],
    chunksize: int | None,
):
    text = set(text_columns)
    return pd.read_csv(
        stream,
        header=None,
        names=list(header.names),
        usecols=columns,
        dtype={c: str for c in columns if c in text},
        sep=header.dialect.sep,
        decimal=header.dialect.point,
        encoding="utf-8",
        # only an empty field is missing: 'NA', 'n/a', 'null' … are values unless the user
        # declares them (prom.cohort.missing_values), never missing by pandas' habit
        keep_default_na=False,
        na_values=[""],
        index_col=False,
        # a whole table: each column's type decided on all its rows, as in one read
        low_memory=chunksize is not None,
        chunksize=chunksize,
    )


# --- the header -------------------------------------------------------------------------------


def _header_names(path: Path, dialect: CsvDialect, block: Block) -> tuple[str, ...]:
    if block.last_lines[0] > block.lines[0]:
        raise TableReadError(
            f"the header of {path.name} runs over lines {block.lines[0]}–"
            f"{block.last_lines[0]} inside a quoted name: is a quote left open?"
        )
    text = block.data[block.starts[0] : block.ends[0]].decode(dialect.codec)  # decodes: checked
    fields = next(csv.reader([text], delimiter=dialect.sep, strict=False))
    _delimiter_hint(path, text, len(fields), dialect.sep)
    names = [f if f != "" else f"Unnamed: {j}" for j, f in enumerate(fields)]
    at: dict[str, list[int]] = {}
    for j, name in enumerate(names, start=1):
        at.setdefault(name, []).append(j)
    twice = {n: cols for n, cols in at.items() if len(cols) > 1}
    if twice:
        raise TableReadError(
            f"{path.name}: "
            + "; ".join(
                f"column {n!r} appears {'twice' if len(c) == 2 else f'{len(c)} times'} in "
                f"the header (columns {', '.join(map(str, c[:-1]))} and {c[-1]})"
                for n, c in twice.items()
            )
            + "; every name must be unique: rename or drop the copies"
        )
    return tuple(names)


def _delimiter_hint(path: Path, text: str, n_columns: int, delimiter: str) -> None:
    counts = {c: text.count(c) for c in _DELIMITER_NAMES if c != delimiter}
    other, n = max(counts.items(), key=lambda kv: kv[1])
    if n > max(n_columns - 1, 0):
        arg = "tab" if other == "\t" else repr(other)
        raise TableReadError(
            f"the header of {path.name} has {n_columns} column{'s' if n_columns != 1 else ''}"
            f" but contains {n} {other!r} — it looks {_DELIMITER_NAMES[other]}-delimited; "
            f"pass --delimiter {arg}"
        )
