"""Output files written under a temporary name and renamed only when the run is complete.

Each file is written to ``.<name>.part`` next to its final path, locked (``flock``) so two
runs cannot write the same output at once, and renamed (``os.replace``, atomic on one
file system) after it has been flushed to disk. A run that is killed leaves only the
hidden ``.part`` file, which the next run truncates; it never leaves a file at the final
path. The output file is renamed last, so its presence means the quarantine file and the
summary of the same run are in place.

Byte for byte: the same input, bundle and options (``scored_at`` included) give the same
bytes — Parquet is written from Arrow arrays with a fixed schema (no pandas metadata),
CSV by Arrow's writer, gzip with no time stamp.
"""

from __future__ import annotations

import contextlib
import fcntl
import gzip
import io
import json
import os
from pathlib import Path

import pandas as pd
import pyarrow as pa

from prom.jsonable import to_jsonable
from prom.score.plan import ScoreError

__all__ = [
    "OUTPUT_SUFFIXES",
    "AtomicFile",
    "TableSink",
    "QuarantineSink",
    "write_json_atomic",
    "part_path",
]

OUTPUT_SUFFIXES = (".parquet", ".csv", ".csv.gz")


def part_path(path: Path) -> Path:
    return path.with_name(f".{path.name}.part")


class AtomicFile:
    """A binary file at ``.<name>.part``, locked, renamed to ``path`` by :meth:`commit`."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.tmp = part_path(self.path)
        fd = os.open(self.tmp, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise ScoreError(
                f"another run is writing {self.path} (its {self.tmp.name} is "
                "locked); wait for it or choose another output"
            ) from None
        os.ftruncate(fd, 0)
        self.file = os.fdopen(fd, "wb")

    def commit(self) -> Path:
        self.file.flush()
        os.fsync(self.file.fileno())
        os.replace(self.tmp, self.path)
        self.file.close()  # releases the lock after the rename
        return self.path

    def abort(self) -> None:
        if not self.file.closed:
            self.file.close()
        self.tmp.unlink(missing_ok=True)


class TableSink:
    """Arrow tables of one schema appended to a Parquet, CSV or gzipped CSV file.

    ``unique_text``: text columns whose values are (nearly) all different, such as ids;
    Parquet stores them without a dictionary.
    """

    def __init__(self, path: Path, schema: pa.Schema, unique_text=()):
        name = path.name.lower()
        if not name.endswith(OUTPUT_SUFFIXES):
            raise ScoreError(
                f"cannot write {path.name!r}: unsupported extension; use one of "
                f"{', '.join(OUTPUT_SUFFIXES)}"
            )
        self.atomic = AtomicFile(path)
        self.gz = None
        if name.endswith(".parquet"):
            import pyarrow.parquet as pq

            # dictionary pages for the text columns that repeat (provenance, flags, reason
            # names), plain pages for numbers and ids, where a dictionary only costs time
            repeated = [
                f.name for f in schema if pa.types.is_string(f.type) and f.name not in unique_text
            ]
            self.writer = pq.ParquetWriter(
                self.atomic.file, schema, compression="snappy", use_dictionary=repeated
            )
        else:
            import pyarrow.csv as pcsv

            stream: io.BufferedIOBase = self.atomic.file
            if name.endswith(".gz"):
                self.gz = gzip.GzipFile(fileobj=stream, mode="wb", mtime=0, filename="")
                stream = self.gz
            self.writer = pcsv.CSVWriter(stream, schema)
        self.rows = 0

    def write(self, table: pa.Table) -> None:
        if table.num_rows:
            self.writer.write_table(table)
            self.rows += table.num_rows

    def commit(self) -> Path:
        self.writer.close()
        if self.gz is not None:
            self.gz.close()
        return self.atomic.commit()

    def abort(self) -> None:
        # the run already failed: whatever closing the writer raises, remove what is left
        with contextlib.suppress(Exception):
            self.writer.close()
        self.atomic.abort()


class QuarantineSink:
    """Quarantine records appended to a CSV file (header first)."""

    def __init__(self, path: Path, columns):
        self.atomic = AtomicFile(path)
        self.columns = list(columns)
        self.text = io.TextIOWrapper(self.atomic.file, encoding="utf-8", newline="")
        pd.DataFrame(columns=self.columns).to_csv(self.text, index=False)
        self.rows = 0

    def write(self, frame: pd.DataFrame) -> None:
        if len(frame):
            frame[self.columns].to_csv(self.text, index=False, header=False)
            self.rows += len(frame)

    def commit(self) -> Path:
        self.text.flush()
        self.text.detach()
        return self.atomic.commit()

    def abort(self) -> None:
        with contextlib.suppress(ValueError):  # already detached
            self.text.detach()
        self.atomic.abort()


def write_json_atomic(path: Path, obj) -> Path:
    f = AtomicFile(path)
    try:
        f.file.write((json.dumps(to_jsonable(obj), indent=1, allow_nan=False) + "\n").encode())
    except BaseException:
        f.abort()
        raise
    return f.commit()
