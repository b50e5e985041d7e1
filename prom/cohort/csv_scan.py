"""Find the records of a block of CSV bytes: where each starts and ends, its physical line,
its number of fields, and whether its structure is broken.

This is the structural half of :mod:`prom.cohort.csv_reader`; it works on raw bytes of an
ASCII-compatible encoding (UTF-8 or a single-byte code page), where the delimiter, the
double quote and the line breaks are single bytes that never occur inside a multi-byte
character. It reads no values: the records it passes are parsed by pandas' C parser,
whose tokenizer follows the same rules, so both agree on every record:

- a record ends at a line break (LF, CRLF or a lone CR) outside quotes;
- a double quote opens a quoted value only at the start of a field (first byte of the
  record or right after a delimiter); inside it, ``""`` is a literal quote and a single
  quote closes it; a quote anywhere else is an ordinary character (``5'10"``);
- a line of nothing but spaces and tabs is blank: it is no record (pandas skips it), but
  it is counted as a line.

Line numbers count every physical line break, also those inside quoted values, so a
record's line is the line an editor shows (the header is line 1).

The common case is vectorised: the quotes are paired in order (the first opens, the
second closes, …), which is exactly the tokenizer's reading when every opening quote
starts a field and every closing quote ends one; the pairing is checked against that, and
from the first quote where it fails the block is read quote by quote with the tokenizer's
rules (a loop over the quotes only, not over the bytes).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = [
    "Block",
    "scan_block",
    "line_breaks",
    "OK",
    "FIELD_COUNT",
    "TRUNCATED_ROW",
    "OPEN_QUOTE",
    "REPEATED_HEADER",
]

LF, CR, QUOTE = 10, 13, 34

#: Status of a record (:attr:`Block.status`). ``REPEATED_HEADER`` is not set by the scan,
#: which does not know the header's text: :mod:`prom.cohort.csv_source` sets it on a data
#: record that repeats the header byte for byte.
OK, FIELD_COUNT, TRUNCATED_ROW, OPEN_QUOTE, REPEATED_HEADER = 0, 1, 2, 3, 4


@dataclass(frozen=True)
class Block:
    """The records of ``data[:consumed]`` (every one complete), in order.

    Offsets are positions in ``data``; ``starts[i]:ends[i]`` is a record's text without its
    line break, ``nexts[i]`` the position after the line break (``ends[i]`` for a last
    record without one). ``open_lines[i]`` is the line where a quote opened that the
    record's status blames (``OPEN_QUOTE``), else 0.

    ``lone_crs``: pandas' tokenizer mishandles a lone CR line break next to a blank line or
    one that starts with a space (it can make an extra row); the reader hands pandas an LF
    in its place.
    """

    data: bytes
    starts: np.ndarray
    ends: np.ndarray
    nexts: np.ndarray
    fields: np.ndarray
    lines: np.ndarray
    last_lines: np.ndarray
    status: np.ndarray
    open_lines: np.ndarray
    consumed: int  # bytes of ``data`` read into records; the rest starts the next block
    lines_consumed: int  # line breaks in ``data[:consumed]``
    lone_crs: np.ndarray  # record ends that are a lone CR (blank lines' included)

    def __len__(self) -> int:
        return int(self.starts.size)


def scan_block(
    data: bytes, delimiter: int, first_line: int, final: bool, n_fields: int | None
) -> Block:
    """The complete records of ``data``, which starts at the beginning of a record.

    ``first_line``: the 1-based line of ``data[0]``. ``final``: ``data`` ends at the end of
    the file, so a last record without a line break is read too (and is
    ``TRUNCATED_ROW`` or ``OPEN_QUOTE``); otherwise it is left for the next block.
    ``n_fields``: the header's field count (None while reading the header: every record
    is ``OK``).
    """
    n = len(data)
    b = np.frombuffer(data, dtype=np.uint8)
    breaks = line_breaks(b, final)
    opens, closes, odd = _quoted(data, b, delimiter, breaks, final)
    if opens.size:
        structural = breaks[~_inside(breaks, opens, closes)]
    else:
        structural = breaks
    starts = np.empty(structural.size, dtype=np.int64)
    starts[:1] = 0
    starts[1:] = structural[:-1] + 1
    ends = structural.astype(np.int64)
    crlf = (b[ends] == LF) & (ends > starts)
    crlf[crlf] = b[ends[crlf] - 1] == CR
    ends = ends - crlf
    nexts = structural.astype(np.int64) + 1
    consumed = int(nexts[-1]) if nexts.size else 0
    unterminated = final and consumed < n
    if unterminated:
        starts = np.append(starts, consumed)
        ends = np.append(ends, n)
        nexts = np.append(nexts, n)
        consumed = n
    delims = np.flatnonzero(b == delimiter)
    if opens.size and delims.size:
        delims = delims[~_inside(delims, opens, closes)]
    fields = np.searchsorted(delims, ends) - np.searchsorted(delims, starts) + 1
    lines = first_line + np.searchsorted(breaks, starts)
    last_lines = first_line + np.searchsorted(breaks, np.maximum(ends - 1, starts))
    keep = ~_blank(data, starts, ends, fields, delimiter)
    if not keep.all():
        starts, ends, nexts, fields = starts[keep], ends[keep], nexts[keep], fields[keep]
        lines, last_lines = lines[keep], last_lines[keep]
        unterminated = unterminated and bool(keep[-1])
    status = np.zeros(starts.size, dtype=np.int8)
    open_lines = np.zeros(starts.size, dtype=np.int64)
    if n_fields is not None and starts.size:
        wrong = fields != n_fields
        status[wrong] = FIELD_COUNT
        if odd.size:  # a quote closed with more text after it, in the same value
            lo, hi = np.searchsorted(odd, starts), np.searchsorted(odd, ends)
            wrong |= hi > lo
        # a record over several lines that is wrong: a quote left open swallowed them?
        for i in np.flatnonzero(wrong & (last_lines > lines)).tolist():
            o = _first_quote_over_a_break(starts[i], ends[i], breaks, opens, closes)
            if o is not None:
                status[i] = OPEN_QUOTE
                open_lines[i] = first_line + np.searchsorted(breaks, o)
        if unterminated:
            last = starts.size - 1
            o = _open_at_end(n, opens, closes)
            if o is not None:
                status[last] = OPEN_QUOTE
                open_lines[last] = first_line + np.searchsorted(breaks, o)
            elif status[last] != OPEN_QUOTE and not (
                fields[last] == n_fields and _ends_quoted(data, ends[last], opens, closes)
            ):
                # a last line without a line break: its last value may be cut off (a killed
                # export); only a closed quoted last value proves the line complete
                status[last] = TRUNCATED_ROW
    return Block(
        data=data,
        starts=starts,
        ends=ends,
        nexts=nexts,
        fields=fields,
        lines=lines,
        last_lines=last_lines,
        status=status,
        open_lines=open_lines,
        consumed=consumed,
        lines_consumed=int(np.searchsorted(breaks, consumed)),
        lone_crs=structural[b[structural] == CR],
    )


def line_breaks(b: np.ndarray, final: bool = True) -> np.ndarray:
    """Positions of the line breaks: every LF, and every CR not followed by LF (a CR as the
    last byte of a block that is not the last is undecided, and not counted yet)."""
    lf = np.flatnonzero(b == LF)
    cr = np.flatnonzero(b == CR)
    if not cr.size:
        return lf
    after = cr + 1
    inside = after < b.size
    lone = np.full(cr.size, final)
    lone[inside] = b[after[inside]] != LF
    return np.union1d(lf, cr[lone])


def _inside(x: np.ndarray, opens: np.ndarray, closes: np.ndarray) -> np.ndarray:
    """Which positions ``x`` lie inside a quoted value ``(opens[k], closes[k])``."""
    k = np.searchsorted(opens, x, side="right") - 1
    return (k >= 0) & (x < closes[np.maximum(k, 0)])


def _quoted(
    data: bytes, b: np.ndarray, delimiter: int, breaks: np.ndarray, final: bool
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(opens, closes, odd)``: the opening and closing quote of every quoted value, in
    order (a value still open at the end of ``data`` closes at ``len(data)``), and the
    closing quotes followed by more text of the same field (``"ab"c``)."""
    n = b.size
    q = np.flatnonzero(b == QUOTE)
    if not q.size:
        return q, q, q
    opens, closes = q[0::2], q[1::2]
    if closes.size < opens.size:
        closes = np.append(closes, n)
    legal = np.array([delimiter, LF, CR, QUOTE], dtype=np.uint8)
    bad_open = (opens > 0) & ~np.isin(b[np.maximum(opens - 1, 0)], legal)
    real = closes < n
    after = np.minimum(closes + 1, n - 1)
    bad_close = real & (closes + 1 < n) & ~np.isin(b[after], legal)
    if not (bad_open.any() or bad_close.any()):
        return opens, closes, q[:0]
    # from the record holding the first quote the pairing misreads, quote by quote
    first = min(
        int(opens[np.argmax(bad_open)]) if bad_open.any() else n,
        int(closes[np.argmax(bad_close)]) if bad_close.any() else n,
    )
    k = int(np.searchsorted(opens, first, side="right"))
    opens, closes = opens[:k], closes[:k]
    cut = first
    if k and closes[-1] >= first:  # the pair ``first`` belongs to is re-read too
        cut = int(opens[-1])
        opens, closes = opens[:-1], closes[:-1]
    before = breaks[breaks < cut]
    if opens.size:
        before = before[~_inside(before, opens, closes)]
    start = int(before[-1]) + 1 if before.size else 0
    more_opens, more_closes, odd = _quoted_exact(data, q[q >= start], delimiter, final)
    return np.append(opens, more_opens), np.append(closes, more_closes), odd


def _quoted_exact(
    data: bytes, quotes: np.ndarray, delimiter: int, final: bool
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Quoted values by the tokenizer's rules, from a record start (the quotes' positions
    only are visited); returns as :func:`_quoted`."""
    n = len(data)
    field_start = (delimiter, LF, CR)
    opens: list[int] = []
    closes: list[int] = []
    odd: list[int] = []
    qs = quotes.tolist()
    inside, opened, k = False, 0, 0
    while k < len(qs):
        p = qs[k]
        if not inside:
            if p == 0 or data[p - 1] in field_start:
                inside, opened = True, p
            k += 1  # else a quote inside an unquoted value: an ordinary character
        elif p + 1 < n and data[p + 1] == QUOTE:
            k += 2  # "" inside a quoted value
        elif p + 1 >= n and not final:
            break  # its next byte is in the next block: undecided, still open
        else:
            opens.append(opened)
            closes.append(p)
            if p + 1 < n and data[p + 1] not in field_start:
                odd.append(p)
            inside = False
            k += 1
    if inside:
        opens.append(opened)
        closes.append(n)
    return (
        np.asarray(opens, dtype=np.int64),
        np.asarray(closes, dtype=np.int64),
        np.asarray(odd, dtype=np.int64),
    )


def _blank(
    data: bytes, starts: np.ndarray, ends: np.ndarray, fields: np.ndarray, delimiter: int
) -> np.ndarray:
    """Records of nothing but spaces and tabs (the delimiter excepted): pandas skips them."""
    blank = ends == starts
    strip = bytes(c for c in b" \t" if c != delimiter)
    for i in np.flatnonzero(~blank & (fields == 1)).tolist():
        if not data[starts[i] : ends[i]].strip(strip):
            blank[i] = True
    return blank


def _first_quote_over_a_break(
    start: int, end: int, breaks: np.ndarray, opens: np.ndarray, closes: np.ndarray
) -> int | None:
    """The opening quote of the first quoted value of a record that holds a line break."""
    if not opens.size:
        return None
    lo, hi = np.searchsorted(breaks, [start, end])
    inner = breaks[lo:hi]
    hit = np.flatnonzero(_inside(inner, opens, closes))
    if not hit.size:
        return None
    return int(opens[np.searchsorted(opens, inner[hit[0]], side="right") - 1])


def _open_at_end(n: int, opens: np.ndarray, closes: np.ndarray) -> int | None:
    """The opening quote of a quoted value the data ends inside, if any."""
    if opens.size and closes[-1] >= n:
        return int(opens[-1])
    return None


def _ends_quoted(data: bytes, end: int, opens: np.ndarray, closes: np.ndarray) -> bool:
    """The record ending at ``end`` ends with a closed quoted value."""
    return bool(end > 0 and data[end - 1] == QUOTE and closes.size and closes[-1] == end - 1)
