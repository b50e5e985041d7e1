"""A CSV file as a stream of checked records, for :mod:`prom.cohort.csv_reader`.

:func:`record_blocks` reads a file (``.csv`` or ``.csv.gz``) in blocks, skips a UTF-8
byte-order mark and a spreadsheet's ``sep=;`` line (:func:`_sep_line`), finds the
complete records of each block (:mod:`prom.cohort.csv_scan`) and checks its bytes
(:mod:`prom.cohort.csv_bytes`: no NUL, every byte decodes in the file's encoding).
:class:`RowStream` turns the data records into the bytes pandas' C parser reads — the
records as written, a row of missing values in the place of each broken one (or nothing,
when asked), UTF-8 whatever the file's encoding — and keeps, in the same order, each row's
line and structural problem, so the reader can pair every parsed row with where it came
from.
"""

from __future__ import annotations

import codecs
import gzip
import io
import zlib
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import numpy as np

from prom.cohort.csv_bytes import MAX_ROW_BYTES, check_decodes, skip_bom, too_long
from prom.cohort.csv_scan import (
    FIELD_COUNT,
    LF,
    OPEN_QUOTE,
    REPEATED_HEADER,
    TRUNCATED_ROW,
    Block,
    scan_block,
)
from prom.cohort.table_formats import TableReadError

__all__ = [
    "STRUCTURE_CHECKS",
    "CsvDialect",
    "refuse_csv_options",
    "StructureProblem",
    "record_blocks",
    "RowStream",
    "BLOCK_BYTES",
    "MAX_ROW_BYTES",
]

#: The checks of a row's structure, in the order they are reported.
STRUCTURE_CHECKS: tuple[str, ...] = (
    "field_count",
    "truncated_row",
    "open_quote",
    "repeated_header",
)

#: Bytes read from the file at a time.
BLOCK_BYTES = 1 << 23
_CHECK_OF_STATUS = {
    FIELD_COUNT: "field_count",
    TRUNCATED_ROW: "truncated_row",
    OPEN_QUOTE: "open_quote",
    REPEATED_HEADER: "repeated_header",
}


@dataclass(frozen=True)
class CsvDialect:
    """How a CSV file is written: its text ``encoding``, field ``delimiter`` and the
    ``decimal`` mark of its numbers.

    ``None`` means the default (UTF-8, comma, point). The encoding is checked and
    normalised (``"latin1"`` → ``"iso8859-1"``); ``"tab"`` (or ``"\\t"``) names the tab
    delimiter; the decimal mark is ``"."`` or ``","`` (a file written with decimal commas,
    ``28,4``, then needs another delimiter, usually ``";"``).

    Raises
    ------
    TableReadError
        An unknown encoding, one that is neither UTF-8 nor a single-byte encoding with
        ASCII as its first 128 characters (UTF-16, Shift JIS, …), a delimiter that is
        not one ASCII character other than the quote and the line breaks, or a decimal
        mark other than ``.`` and ``,`` or the same as the delimiter.
    """

    encoding: str | None = None
    delimiter: str | None = None
    decimal: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "encoding", _check_encoding(self.encoding))
        object.__setattr__(self, "delimiter", _check_delimiter(self.delimiter))
        object.__setattr__(self, "decimal", _check_decimal(self.decimal, str(self.delimiter)))

    @property
    def codec(self) -> str:
        """The encoding's normalised name (``"utf-8"``, ``"cp1252"``, ``"iso8859-1"``)."""
        return str(self.encoding)

    @property
    def sep(self) -> str:
        """The delimiter character."""
        return str(self.delimiter)

    @property
    def point(self) -> str:
        """The decimal mark."""
        return str(self.decimal)

    @property
    def is_utf8(self) -> bool:
        return self.codec == "utf-8"


def _check_encoding(encoding: str | None) -> str:
    if encoding is None:
        return "utf-8"
    if not isinstance(encoding, str):
        raise TypeError(f"encoding must be text such as 'utf-8', got {type(encoding).__name__}")
    try:
        name = codecs.lookup(encoding).name
    except LookupError:
        raise TableReadError(
            f"unknown encoding {encoding!r}; e.g. utf-8, latin-1 or cp1252"
        ) from None
    if name in ("utf-8", "utf-8-sig"):
        return "utf-8"
    ascii_text = bytes(range(128)).decode(name, errors="replace")
    if ascii_text != "".join(map(chr, range(128))) or (
        len(bytes(range(256)).decode(name, errors="replace")) != 256
    ):
        raise TableReadError(
            f"encoding {encoding!r} cannot be read: the CSV reader needs UTF-8 or a "
            "single-byte encoding such as latin-1 or cp1252; convert the file to UTF-8 "
            f"first (e.g. iconv -f {encoding} -t UTF-8)"
        )
    return name


def _check_delimiter(delimiter: str | None) -> str:
    if delimiter is None:
        return ","
    if not isinstance(delimiter, str):
        raise TypeError(f"delimiter must be one character, got {type(delimiter).__name__}")
    if delimiter.lower() in ("tab", "\\t"):
        return "\t"
    if len(delimiter) != 1 or not delimiter.isascii() or delimiter in '"\r\n':
        raise TableReadError(
            f"delimiter {delimiter!r}: expected one ASCII character other than the quote "
            "and the line breaks, e.g. ',' ';' '|' or tab"
        )
    return delimiter


def refuse_csv_options(
    name: str, kind: str, encoding: str | None, delimiter: str | None, decimal: str | None
) -> None:
    """Refuse a CSV reading option (``encoding``, ``delimiter``, ``decimal``) given for a
    source ``name`` of another ``kind`` (Parquet, DuckDB)."""
    if (encoding is not None or delimiter is not None or decimal is not None) and kind != "csv":
        raise TableReadError(
            f"--encoding, --delimiter and --decimal apply to CSV files only; {name!r} is {kind}"
        )


def _check_decimal(decimal: str | None, delimiter: str) -> str:
    if decimal is None:
        return "."
    if not isinstance(decimal, str):
        raise TypeError(f"decimal must be '.' or ',', got {type(decimal).__name__}")
    if decimal not in (".", ","):
        raise TableReadError(f"decimal mark {decimal!r}: expected '.' or ','")
    if decimal == delimiter:
        raise TableReadError(
            f"decimal mark {decimal!r} is also the field delimiter; a file written with "
            "decimal commas separates its fields with something else, e.g. --delimiter ';'"
        )
    return decimal


@dataclass(frozen=True)
class StructureProblem:
    """A data row whose structure is broken (nothing of it is read).

    ``row``: its 0-based position among the file's data rows; ``line``: the 1-based line
    it starts on; ``check``: one of :data:`STRUCTURE_CHECKS`; ``value``: what was found;
    ``expected``: what should have been.
    """

    row: int
    line: int
    check: str
    value: str
    expected: str

    def describe(self) -> str:
        return f"line {self.line}: {self.check}: {self.value}; expected {self.expected}"


# --- blocks -------------------------------------------------------------------------------


def _open(path: Path) -> BinaryIO:
    if path.name.lower().endswith(".gz"):
        return gzip.open(path, "rb")  # type: ignore[return-value]
    return open(path, "rb")


def _read(f: BinaryIO, path: Path) -> bytes:
    try:
        return f.read(BLOCK_BYTES)
    except (EOFError, gzip.BadGzipFile, zlib.error) as e:
        raise TableReadError(
            f"{path.name!r} is not a complete gzip file ({e}); is the file cut off?"
        ) from None


def record_blocks(path: Path, dialect: CsvDialect, n_fields: int | None) -> Iterator[Block]:
    """The file's records, block by block, every byte of each block checked to decode.

    ``n_fields``: the header's number of fields, against which every record is checked
    (None while reading the header). The first record is the header.
    """
    delimiter = ord(dialect.sep)
    with _open(path) as f:
        carry = _read(f, path)
        offset = skip_bom(path, carry, dialect)
        skipped = _sep_line(path, carry[offset:], dialect)
        line = 1 + (skipped > 0)
        offset += skipped
        carry = carry[offset:]
        final = False
        while not final:
            more = _read(f, path)
            final = not more
            data = carry + more if more else carry
            block = scan_block(data, delimiter, line, final, n_fields)
            if not block.consumed:
                if len(data) > MAX_ROW_BYTES:
                    raise TableReadError(too_long(path, data, line, MAX_ROW_BYTES))
                carry = data
                continue
            check_decodes(path, dialect, data, block.consumed, offset, line)
            yield block
            carry = data[block.consumed :]
            offset += block.consumed
            line += block.lines_consumed


def _sep_line(path: Path, data: bytes, dialect: CsvDialect) -> int:
    """Bytes of a ``sep=;`` first line to skip (0 when there is none).

    Spreadsheet programs (Excel) write and read such a line, before the header, to
    declare the file's delimiter. When it names the delimiter the file is read with, it
    is skipped (the header is the next line, line 2); when it names another, the file is
    refused with the option to pass — read with the wrong delimiter, the line would be
    taken for the header and every row would break.
    """
    head = data[:8]
    if head[:4].lower() != b"sep=" or len(head) < 6:
        return 0
    declared = head[4:5]
    end = 6 if head[5:6] == b"\n" else 7 if head[5:7] == b"\r\n" else 0
    if not end or declared in (b"\r", b"\n"):
        return 0
    sep = declared.decode("latin-1")
    if sep != dialect.sep:
        option = "tab" if sep == "\t" else repr(sep)
        raise TableReadError(
            f"{path.name!r} starts with the line 'sep={sep}', which declares {sep!r} as its "
            f"delimiter (spreadsheet programs write it), but it is read with "
            f"{dialect.sep!r}: pass --delimiter {option}"
        )
    return end


# --- rows for pandas --------------------------------------------------------------------------


class RowStream(io.RawIOBase):
    """The data rows of a CSV file as the bytes pandas parses, with their provenance.

    Every data record in file order becomes one line of the stream: as written when its
    structure is sound; a row of missing values when it is broken (``placeholders``), or
    nothing (``placeholders=False``). Pandas reads ahead; :meth:`take` hands over the
    lines and problems of the next ``n`` rows it has parsed, in order.
    """

    def __init__(self, path: Path, dialect: CsvDialect, names: tuple[str, ...], placeholders: bool):
        super().__init__()
        self.path, self.dialect, self.names = path, dialect, names
        self.placeholders = placeholders
        n = len(names)
        self._placeholder = (dialect.sep * (n - 1) if n > 1 else '""').encode() + b"\n"
        self._parts = self._generate()
        self._buf = memoryview(b"")
        self._lines: deque[np.ndarray] = deque()  # lines of the rows not yet taken
        self._rows: deque[np.ndarray] = deque()  # their positions among all data rows
        self._problems: deque[StructureProblem] = deque()
        self.problems_seen = 0
        self.rows_emitted = 0  # rows handed to pandas (placeholders included)
        self.rows_read = 0  # data records read (broken ones included)

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        while not len(self._buf):
            part = next(self._parts, None)
            if part is None:
                return 0
            self._buf = memoryview(part)
        n = min(len(buffer), len(self._buf))
        buffer[:n] = self._buf[:n]
        self._buf = self._buf[n:]
        return n

    def take(self, n: int) -> tuple[np.ndarray, np.ndarray, tuple[StructureProblem, ...]]:
        """``(lines, rows, problems)`` of the next ``n`` parsed rows (``rows``: positions
        among all data rows; ``problems``: the broken ones among them)."""
        lines, rows = _pop(self._lines, n), _pop(self._rows, n)
        if rows.size < n:
            raise RuntimeError(
                f"reading {self.path.name}: pandas parsed more rows than the structural "
                "scan found; please report this as a bug"
            )
        problems = []
        last = rows[-1] if rows.size else -1
        while self._problems and self._problems[0].row <= last:
            problems.append(self._problems.popleft())
        return lines, rows, tuple(problems)

    def rest(self) -> tuple[StructureProblem, ...]:
        """The problems not handed over by :meth:`take` (broken rows after the last row
        parsed, when they are left out)."""
        out = tuple(self._problems)
        self._problems.clear()
        return out

    def check_done(self) -> None:
        """Every row handed to pandas was parsed, and every byte of the file read."""
        left = sum(a.size for a in self._rows)
        if left or next(self._parts, None) is not None:
            raise RuntimeError(
                f"reading {self.path.name}: the structural scan found {left} row(s) more "
                "than pandas parsed; please report this as a bug"
            )

    def _generate(self) -> Iterator[bytes | memoryview]:
        header: bytes | None = None
        for block in record_blocks(self.path, self.dialect, len(self.names)):
            start = 0
            if header is None and len(block):
                header, start = bytes(block.data[block.starts[0] : block.ends[0]]), 1
            if header is not None:
                mark_repeated_header(block, header, start)
            yield from self._records(block, start)

    def _records(self, block: Block, start: int) -> Iterator[bytes | memoryview]:
        count = len(block) - start
        if count <= 0:
            return
        data = _pandas_bytes(block)
        first = self.rows_read
        bad = np.flatnonzero(block.status[start:]) + start
        keep = np.ones(count, dtype=bool)
        parts: list[bytes | memoryview] = []
        pos = start
        for j in [*bad.tolist(), len(block)]:
            if j > pos:
                parts.append(data[block.starts[pos] : block.nexts[j - 1]])
            if j < len(block):
                self._problems.append(problem(block, j, first + j - start, len(self.names)))
                if self.placeholders:
                    parts.append(self._placeholder)
                else:
                    keep[j - start] = False
            pos = j + 1
        self.rows_read += count
        lines = block.lines[start:]
        rows = np.arange(first, first + count, dtype=np.int64)
        if not keep.all():
            lines, rows = lines[keep], rows[keep]
        self._lines.append(lines)
        self._rows.append(rows)
        self.rows_emitted += int(rows.size)
        if not self.dialect.is_utf8:
            parts = [bytes(p).decode(self.dialect.codec).encode("utf-8") for p in parts]
        last = parts[-1] if parts else b""
        if block.nexts[-1] == block.ends[-1] and bytes(last[-1:]) not in (b"\n", b"\r"):
            parts.append(b"\n")  # a last line without a line break (a closed quoted value)
        yield from parts


def _pop(queue: deque, n: int) -> np.ndarray:
    """The next ``n`` values of a queue of arrays (fewer when it runs out)."""
    out, need = [], n
    while need and queue:
        head = queue[0]
        if head.size <= need:
            out.append(queue.popleft())
            need -= head.size
        else:
            out.append(head[:need])
            queue[0] = head[need:]
            need = 0
    return np.concatenate(out) if out else np.zeros(0, dtype=np.int64)


def _pandas_bytes(block: Block) -> memoryview:
    """The block's bytes as pandas gets them: a lone CR line break becomes LF."""
    if not block.lone_crs.size:
        return memoryview(block.data)
    fixed = bytearray(block.data)
    for p in block.lone_crs.tolist():
        fixed[p] = LF
    return memoryview(bytes(fixed))


def mark_repeated_header(block: Block, header: bytes, start: int = 0) -> None:
    """Set the status of each sound record from ``start`` on that repeats ``header`` byte
    for byte to ``REPEATED_HEADER``: two exports joined one after the other leave the second
    one's header among the data rows, where every field would be a wrong value (with the
    second file's UTF-8 byte-order mark, when it had one)."""
    size = len(header)
    length = block.ends[start:] - block.starts[start:]
    sound = block.status[start:] == 0
    candidates = np.flatnonzero(sound & ((length == size) | (length == size + len(_BOM))))
    for i in (candidates + start).tolist():
        text = block.data[block.starts[i] : block.ends[i]]
        if text == header or text == _BOM + header:
            block.status[i] = REPEATED_HEADER


_BOM = codecs.BOM_UTF8


def problem(block: Block, i: int, row: int, n_fields: int) -> StructureProblem:
    """The :class:`StructureProblem` of record ``i`` of ``block`` (data row ``row``)."""
    status = int(block.status[i])
    found = int(block.fields[i])
    line, last, opened = int(block.lines[i]), int(block.last_lines[i]), int(block.open_lines[i])
    fields = f"{found:,} field{'s' if found != 1 else ''}"
    if status == REPEATED_HEADER:
        value = "the header line again"
        expected = (
            "a data row (were two exports joined one after the other? remove the repeated "
            "header line)"
        )
    elif status == FIELD_COUNT:
        value, expected = fields, f"{n_fields} fields"
    elif status == TRUNCATED_ROW:
        value = f"{fields} and no line break: the file ends inside this line"
        expected = (
            f"{n_fields} fields and a line break at the end (is the file cut off? if it "
            "is complete, add a final line break)"
        )
    elif block.nexts[i] == block.ends[i]:  # the file ends inside the quote
        value = (
            f"a quote opened on line {opened} is never closed: lines {line}–{last} (the rest "
            f"of the file, {last - line + 1:,} lines) were read as this one row"
        )
        expected = (
            "a closing quote (none of those lines was scored: close the quote and score "
            "the file again)"
        )
    else:
        value = (
            f"a quoted value opened on line {opened} runs to line {last}: lines {line}–{last} "
            f"({last - line + 1:,} lines, {fields}) were read as this one row"
        )
        expected = (
            f"a row of {n_fields} fields ending on its own line; is the quote on line "
            f"{opened} left open?"
        )
    return StructureProblem(row, line, _CHECK_OF_STATUS[status], value, expected)
