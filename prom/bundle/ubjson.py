"""A bounded reader of UBJSON (Universal Binary JSON), the encoding of XGBoost's ``.ubj``.

It reads a file a user handed over, before any native code sees it, so every length it
is told is checked against the bytes that are actually there: a count or a string
length larger than the rest of the file, nesting deeper than ``max_depth``, a type
marker it does not know, or bytes left over after the value are refused with the byte
offset where the problem is. Nothing is allocated from a declared length before that
check.

Values come back as Python values: objects as ``dict`` (a repeated key is refused),
arrays as ``list``, except arrays with a numeric element type (``[$d#…``), which come back
as one-dimensional NumPy arrays in native byte order — that is how XGBoost stores a
tree's node arrays. Markers read: ``Z`` null, ``N`` no-op, ``T``/``F``, ``i`` ``U`` ``I``
``l`` ``L`` integers, ``d`` ``D`` floats, ``C`` char, ``S`` string, ``[`` ``{`` with the
optimised ``$`` type and ``#`` count. ``H`` (high-precision numbers) is refused: XGBoost
does not write it.
"""

from __future__ import annotations

import struct
from typing import Any

import numpy as np

__all__ = ["UBJSONError", "read_ubjson"]


class UBJSONError(ValueError):
    """The bytes are not a well-formed UBJSON value within the reader's limits."""


#: Integer markers: struct format (big-endian) and size.
_INTS = {"i": (">b", 1), "U": (">B", 1), "I": (">h", 2), "l": (">i", 4), "L": (">q", 8)}
_FLOATS = {"d": (">f", 4), "D": (">d", 8)}
#: Element types of a typed numeric array, as NumPy dtypes.
_ARRAY_DTYPES: dict[str, np.dtype[Any]] = {
    "i": np.dtype(">i1"),
    "U": np.dtype(">u1"),
    "I": np.dtype(">i2"),
    "l": np.dtype(">i4"),
    "L": np.dtype(">i8"),
    "d": np.dtype(">f4"),
    "D": np.dtype(">f8"),
}


class _Reader:
    def __init__(self, data: bytes, max_depth: int):
        self.data = memoryview(data)
        self.pos = 0
        self.max_depth = max_depth

    def fail(self, what: str, at: int | None = None) -> UBJSONError:
        return UBJSONError(f"{what} at byte {self.pos if at is None else at}")

    def take(self, n: int) -> memoryview:
        if n > len(self.data) - self.pos:
            raise self.fail(
                f"{n} byte(s) needed but only {len(self.data) - self.pos} left (cut off?)"
            )
        out = self.data[self.pos : self.pos + n]
        self.pos += n
        return out

    def marker(self) -> str:
        while True:
            m = chr(self.take(1)[0])
            if m != "N":  # no-op padding
                return m

    def integer(self, m: str) -> int:
        fmt, size = _INTS[m]
        return int(struct.unpack(fmt, self.take(size))[0])

    def length(self, what: str, per_item: int = 1) -> int:
        """A count or length (an integer value) that must fit in the bytes left."""
        at = self.pos
        m = self.marker()
        if m not in _INTS:
            raise self.fail(f"{what}: expected an integer, found marker {m!r}", at)
        n = self.integer(m)
        if n < 0:
            raise self.fail(f"{what}: negative length {n}", at)
        if n * per_item > len(self.data) - self.pos:
            raise self.fail(
                f"{what}: declares {n} item(s), more than the {len(self.data) - self.pos} "
                "byte(s) left in the file",
                at,
            )
        return n

    def text(self, what: str) -> str:
        n = self.length(what)
        at = self.pos
        try:
            return bytes(self.take(n)).decode("utf-8")
        except UnicodeDecodeError:
            raise self.fail(f"{what}: not UTF-8 text", at) from None

    def value(self, depth: int, m: str | None = None, at: int | None = None) -> Any:
        """The value at the current position; ``m`` its marker when already read (at
        byte ``at``), or the element type of a typed container."""
        at = self.pos if at is None else at
        if m is None:
            m = self.marker()
        if m in _INTS:
            return self.integer(m)
        if m in _FLOATS:
            fmt, size = _FLOATS[m]
            return float(struct.unpack(fmt, self.take(size))[0])
        if m == "S":
            return self.text("string")
        if m == "C":
            return chr(self.take(1)[0])
        if m == "Z":
            return None
        if m in "TF":
            return m == "T"
        if m in "[{":
            if depth >= self.max_depth:
                raise self.fail(f"nesting deeper than {self.max_depth} levels", at)
            return self.array(depth + 1) if m == "[" else self.object(depth + 1)
        raise self.fail(f"unknown or unsupported type marker {m!r}", at)

    def container_header(self) -> tuple[str | None, int | None]:
        """The optional ``$type`` and ``#count`` after ``[`` or ``{``."""
        kind: str | None = None
        if self.pos < len(self.data) and chr(self.data[self.pos]) == "$":
            self.pos += 1
            at = self.pos
            kind = chr(self.take(1)[0])
            if kind not in _INTS and kind not in _FLOATS and kind not in "SC[{":
                raise self.fail(f"unsupported element type {kind!r} of a typed container", at)
            if self.pos >= len(self.data) or chr(self.data[self.pos]) != "#":
                raise self.fail("a typed container without a count ('#')")
        if self.pos < len(self.data) and chr(self.data[self.pos]) == "#":
            self.pos += 1
            size = _ARRAY_DTYPES[kind].itemsize if kind in _ARRAY_DTYPES else 1
            return kind, self.length("container count", per_item=size)
        return kind, None

    def array(self, depth: int) -> Any:
        kind, count = self.container_header()
        if count is not None and kind in _ARRAY_DTYPES:
            dtype = _ARRAY_DTYPES[kind]
            raw = self.take(count * dtype.itemsize)
            return np.frombuffer(raw, dtype=dtype).astype(dtype.newbyteorder("="))
        out: list[Any] = []
        if count is not None:
            out.extend(self.value(depth, kind) for _ in range(count))
            return out
        while True:
            at = self.pos
            m = self.marker()
            if m == "]":
                return out
            out.append(self.value(depth, m, at))

    def object(self, depth: int) -> dict[str, Any]:
        kind, count = self.container_header()
        out: dict[str, Any] = {}

        def add() -> None:
            at = self.pos
            key = self.text("object key")
            if key in out:
                raise self.fail(f"object key {key!r} repeated", at)
            out[key] = self.value(depth, kind)

        if count is not None:
            for _ in range(count):
                add()
            return out
        while True:
            if self.pos < len(self.data) and chr(self.data[self.pos]) == "}":
                self.pos += 1
                return out
            add()


def read_ubjson(data: bytes, *, max_depth: int = 32) -> Any:
    """The value ``data`` encodes; :class:`UBJSONError` (with the byte offset) otherwise.

    The whole input must be one value: bytes left after it are refused.
    """
    if not data:
        raise UBJSONError("empty: no UBJSON value at byte 0")
    reader = _Reader(data, max_depth)
    value = reader.value(0)
    if reader.pos != len(data):
        raise reader.fail(f"{len(data) - reader.pos} byte(s) after the end of the value")
    return value
