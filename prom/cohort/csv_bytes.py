"""What the bytes of a CSV file may hold, checked as :mod:`prom.cohort.csv_source` reads
them: a byte-order mark (UTF-8 skipped, UTF-16 refused), NUL bytes (never in a text
table; UTF-16 without a byte-order mark named as such), bytes the file's encoding does not
allow, and a row too long to be one. Each refusal names the file, the line and what to do.
"""

from __future__ import annotations

import codecs
from pathlib import Path
from typing import Protocol

import numpy as np

from prom.cohort.csv_scan import line_breaks
from prom.cohort.table_formats import TableReadError

__all__ = ["MAX_ROW_BYTES", "skip_bom", "check_decodes", "too_long"]

#: A row (or a header) longer than this is not read: a quote left open near the start of
#: a large file would otherwise hold the rest of the file in memory.
MAX_ROW_BYTES = 1 << 26

_BOM_UTF8 = b"\xef\xbb\xbf"
_BOMS_UTF16 = (b"\xff\xfe", b"\xfe\xff")


class _Encoding(Protocol):
    """What these checks read of a :class:`prom.cohort.csv_source.CsvDialect`."""

    @property
    def codec(self) -> str: ...

    @property
    def is_utf8(self) -> bool: ...


def _line_at(data: bytes | np.ndarray, at: int, line: int) -> int:
    """The line of byte ``at`` of ``data``, whose first byte is on ``line``."""
    b = data if isinstance(data, np.ndarray) else np.frombuffer(data, np.uint8)
    return line + int(line_breaks(b[:at]).size)


def skip_bom(path: Path, data: bytes, dialect: _Encoding) -> int:
    """Bytes of a byte-order mark to skip at the start of the file."""
    if data.startswith(_BOMS_UTF16):
        raise TableReadError(
            f"{path.name!r} is UTF-16 (it starts with a UTF-16 byte-order mark); save it "
            "as UTF-8 (e.g. iconv -f UTF-16 -t UTF-8)"
        )
    if data.startswith(_BOM_UTF8):
        if not dialect.is_utf8:
            raise TableReadError(
                f"{path.name!r} starts with a UTF-8 byte-order mark, but the encoding "
                f"{dialect.codec!r} was given: the file is UTF-8, leave out --encoding"
            )
        return len(_BOM_UTF8)
    return 0


def check_decodes(
    path: Path, dialect: _Encoding, data: bytes, end: int, offset: int, line: int
) -> None:
    """Refuse the first ``end`` bytes of ``data`` (from file ``offset``, starting on
    ``line``) if they hold a NUL byte or a byte the file's encoding does not allow."""
    region = data[:end]
    nul = region.find(b"\x00")
    if nul >= 0:  # valid UTF-8 and Latin-1, but never in a text table
        raise TableReadError(_nul_message(path, region, nul, offset, line))
    if dialect.codec == "iso8859-1":  # every byte is a Latin-1 character
        return
    if dialect.is_utf8 and region.isascii():
        return
    try:
        codecs.decode(region, dialect.codec)
    except UnicodeDecodeError as e:
        at = int(e.start)
        where = _line_at(region, at, line)
        name = "UTF-8" if dialect.is_utf8 else dialect.codec
        hint = (
            "if the file was exported as Latin-1 or Windows-1252, pass --encoding latin-1 "
            "or --encoding cp1252"
            if dialect.is_utf8
            else "pass the file's own encoding with --encoding (every byte is valid latin-1)"
        )
        raise TableReadError(
            f"{path.name} line {where}: byte 0x{region[at]:02x} at offset {offset + at} is "
            f"not valid {name}; {hint}"
        ) from None


def _nul_message(path: Path, region: bytes, at: int, offset: int, line: int) -> str:
    """Why a NUL byte (``0x00``) at ``region[at]`` stops the read, naming its line.

    Text written as UTF-16 without a byte-order mark (SQL Server's ``bcp -w``, some
    Windows tools) has a 0 beside every ASCII character; anything else with NUL bytes is
    not a text table, or a file padded with zeros (a copy or an export interrupted)."""
    where = _line_at(region, at, line)
    sample = np.frombuffer(region[: min(len(region), 512) // 2 * 2], np.uint8)
    if offset == 0 and sample.size >= 8:
        for order, zeros, chars in (
            ("LE", sample[1::2], sample[::2]),
            ("BE", sample[::2], sample[1::2]),
        ):
            if (zeros == 0).mean() > 0.9 and (chars != 0).mean() > 0.9:
                return (
                    f"{path.name!r} is UTF-16 text without a byte-order mark (a 0 byte beside "
                    f"every character, as SQL Server's bcp -w writes); save it as UTF-8 (e.g. "
                    f"iconv -f UTF-16{order} -t UTF-8)"
                )
    count = region.count(b"\x00")
    return (
        f"{path.name} line {where}: byte 0x00 (NUL) at offset {offset + at}, {count:,} in this "
        "part of the file; a text table holds none. Is the file cut off and padded with "
        "zeros (a copy or an export interrupted), or not a CSV file? Export it again"
    )


def too_long(path: Path, data: bytes, line: int, limit: int = MAX_ROW_BYTES) -> str:
    """Why a row of more than ``limit`` bytes stops the read: a quote left open, or no CSV."""
    b = np.frombuffer(data, np.uint8)
    quotes = np.flatnonzero(b == ord('"'))
    size = f"{limit >> 20} MB" if limit >= 1 << 20 else f"{limit:,} bytes"
    if quotes.size:
        opened = _line_at(b, int(quotes[0]), line)
        return (
            f"{path.name} line {line}: a row runs for more than {size} without ending; a "
            f"quote opened on line {opened} is probably left open (everything after it "
            "reads as one value). Correct the quote and read the file again"
        )
    return f"{path.name} line {line}: a line longer than {size}; is {path.name!r} a CSV file?"
