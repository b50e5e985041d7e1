"""Output files: claimed up front, written under a temporary name, renamed when complete.

**One critical section per run.** A run claims all its outputs — output, quarantine,
summary — before it writes any of them (:class:`OutputSet`): for each final path it takes
an exclusive ``flock`` on a lock file beside it, ``.<name>.lock``, in a fixed order (by
path) and without waiting. A run that cannot take one of them releases the locks it holds,
removes what it created and refuses (:class:`OutputInUseError`). Without ``overwrite`` the
output must not exist: that is checked under the locks when they are taken and again just
before the renames, and the output is then put in place with a hard link, which fails
instead of replacing a file that appeared in between (a program that ignores the locks).
The locks are released only after the renames.

**Why a separate lock file.** The lock is on a file that is never renamed, so its identity
stays the same for the whole run. A lock on the ``.part`` file itself would protect nothing
once the file is renamed: the next run creating ``.part`` gets a new file and a lock on it.
The holder removes its lock file after the renames, while it still holds the lock; a run
that takes a lock checks that the file it locked is still the one at the lock path (the
holder before it may have removed it between this run's open and lock) and tries again if
not. A run killed outright leaves its lock file behind with no holder — the kernel releases
``flock`` locks when a process ends — so it blocks no one: the next run takes it and
removes it.

**Temporary names.** Each file is written to ``.<name>.part`` next to its final path (one
left by a killed run is removed first) and renamed after it has been flushed to disk. A
run that is killed leaves only hidden files, never a file at a final path. The output is
renamed last, so its presence means the quarantine file and the summary of the same run
are in place.

Byte for byte: the same input, bundle and options (``scored_at`` included) give the same
bytes — Parquet is written from Arrow arrays with a fixed schema (no pandas metadata),
CSV by Arrow's writer, gzip with no time stamp.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import gzip
import io
import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Protocol

import pandas as pd
import pyarrow as pa

from prom.jsonable import to_jsonable
from prom.score.plan import ScoreError

__all__ = [
    "OUTPUT_SUFFIXES",
    "OutputInUseError",
    "OutputLock",
    "OutputSet",
    "AtomicFile",
    "TableSink",
    "QuarantineSink",
    "write_json_atomic",
    "part_path",
    "lock_path",
]

OUTPUT_SUFFIXES = (".parquet", ".csv", ".csv.gz")

#: How often a run takes a lock again after finding that the lock file it locked had been
#: removed by the run before it (each retry means that run finished in the meantime).
LOCK_ATTEMPTS = 20

#: ``link()`` errors of a file system without hard links.
_NO_HARD_LINKS = frozenset({errno.EPERM, errno.EOPNOTSUPP, errno.ENOTSUP, errno.ENOSYS})


class OutputInUseError(ScoreError):
    """An output is taken: it exists (and overwrite was not asked for), or another run is
    writing it. ``prom score`` exits with code 4."""


def part_path(path: Path) -> Path:
    """``.<name>.part`` beside ``path``: where the file is written until it is complete."""
    return path.with_name(f".{path.name}.part")


def lock_path(path: Path) -> Path:
    """``.<name>.lock`` beside ``path``: the file a run locks while it writes ``path``."""
    return path.with_name(f".{path.name}.lock")


def _busy(path: Path, lock_file: Path) -> OutputInUseError:
    return OutputInUseError(
        f"another run is writing {path} (it holds the lock {lock_file.name}); wait for it "
        "to finish or choose another output"
    )


def _appeared(path: Path) -> OutputInUseError:
    return OutputInUseError(
        f"{path} was created by another program while this run was writing it; it was left "
        "as it is and this run's files were removed — choose another output or pass "
        "overwrite (--overwrite)"
    )


def _same_file(a: os.stat_result, b: os.stat_result) -> bool:
    return (a.st_dev, a.st_ino) == (b.st_dev, b.st_ino)


class OutputLock:
    """An exclusive ``flock`` on ``.<name>.lock`` beside ``path``, taken without waiting.

    Raises :class:`OutputInUseError` when another run holds it. :meth:`release` removes the
    lock file, then releases the lock.
    """

    def __init__(self, path: Path):
        self.path = Path(path)
        self.lock_file = lock_path(self.path)
        self.fd: int | None = self._take()

    def _take(self) -> int:
        for _ in range(LOCK_ATTEMPTS):
            fd = os.open(self.lock_file, os.O_RDWR | os.O_CREAT, 0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                locked = os.fstat(fd)
                try:
                    current = os.stat(self.lock_file)
                except FileNotFoundError:
                    current = None
            except BlockingIOError:
                os.close(fd)
                raise _busy(self.path, self.lock_file) from None
            except BaseException:
                os.close(fd)
                raise
            if current is not None and _same_file(locked, current):
                return fd
            # the holder before this run removed the file between this run's open and
            # lock: the lock is on a file no other run can find; take the one there now
            os.close(fd)
        raise _busy(self.path, self.lock_file)

    @property
    def held(self) -> bool:
        return self.fd is not None

    def release(self) -> None:
        """Remove the lock file while still holding the lock, then release it."""
        if self.fd is None:
            return
        fd, self.fd = self.fd, None
        try:
            # a lock file that cannot be removed stays behind without a holder and blocks
            # no later run
            with contextlib.suppress(OSError):
                self.lock_file.unlink(missing_ok=True)
        finally:
            os.close(fd)


class AtomicFile:
    """A binary file written at ``.<name>.part`` and renamed to ``path`` at the end.

    ``lock``: the run's :class:`OutputLock` on ``path`` (:class:`OutputSet`); without one,
    the file takes its own and releases it on :meth:`commit` or :meth:`abort`.
    """

    def __init__(self, path: Path, lock: OutputLock | None = None):
        self.path = Path(path)
        self.tmp = part_path(self.path)
        self._own_lock = lock is None
        if lock is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            lock = OutputLock(self.path)
        self.lock = lock
        try:
            # a .part file left by a killed run is removed, not truncated: it may share its
            # data with a finished output (killed between the hard link and the unlink)
            self.tmp.unlink(missing_ok=True)
            fd = os.open(self.tmp, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o644)
        except BaseException:
            self._release_own_lock()
            raise
        self.file = os.fdopen(fd, "wb")

    @property
    def atomic(self) -> AtomicFile:
        return self

    def finish(self) -> None:
        """Flush the data to disk and close the file, still under its temporary name."""
        if not self.file.closed:
            self.file.flush()
            os.fsync(self.file.fileno())
            self.file.close()

    def place(self, *, replace: bool = True) -> Path:
        """Rename the finished file to ``path``. ``replace=False``: a file already at
        ``path`` is left as it is and the rename refused (:class:`OutputInUseError`)."""
        self.finish()
        if replace:
            os.replace(self.tmp, self.path)
            return self.path
        try:
            os.link(self.tmp, self.path)  # fails, rather than replaces, if path exists
        except FileExistsError:
            raise _appeared(self.path) from None
        except OSError as exc:
            if exc.errno not in _NO_HARD_LINKS:
                raise
            # no hard links on this file system: check, then rename
            if os.path.lexists(self.path):
                raise _appeared(self.path) from None
            os.replace(self.tmp, self.path)
            return self.path
        os.unlink(self.tmp)
        return self.path

    def commit(self, *, replace: bool = True) -> Path:
        """:meth:`place`, then release the file's own lock; on failure, :meth:`abort`."""
        try:
            self.place(replace=replace)
        except BaseException:
            self.abort()
            raise
        self._release_own_lock()
        return self.path

    def abort(self) -> None:
        """Close and remove the temporary file (never the final one)."""
        try:
            if not self.file.closed:
                self.file.close()
            self.tmp.unlink(missing_ok=True)
        finally:
            self._release_own_lock()

    def _release_own_lock(self) -> None:
        if self._own_lock:
            self.lock.release()


class TableSink:
    """Arrow tables of one schema appended to a Parquet, CSV or gzipped CSV file.

    ``unique_text``: text columns whose values are (nearly) all different, such as ids;
    Parquet stores them without a dictionary.
    """

    def __init__(
        self, path: Path, schema: pa.Schema, unique_text=(), lock: OutputLock | None = None
    ):
        name = path.name.lower()
        if not name.endswith(OUTPUT_SUFFIXES):
            raise ScoreError(
                f"cannot write {path.name!r}: unsupported extension; use one of "
                f"{', '.join(OUTPUT_SUFFIXES)}"
            )
        self.atomic = AtomicFile(path, lock)
        self.gz = None
        try:
            if name.endswith(".parquet"):
                import pyarrow.parquet as pq

                # dictionary pages for the text columns that repeat (provenance, flags,
                # reason names), plain pages for numbers and ids, where a dictionary only
                # costs time
                repeated = [
                    f.name
                    for f in schema
                    if pa.types.is_string(f.type) and f.name not in unique_text
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
        except BaseException:
            self.atomic.abort()
            raise
        self.rows = 0

    def write(self, table: pa.Table) -> None:
        if table.num_rows:
            self.writer.write_table(table)
            self.rows += table.num_rows

    def finish(self) -> None:
        self.writer.close()
        if self.gz is not None:
            self.gz.close()
        self.atomic.finish()

    def abort(self) -> None:
        # the run already failed: whatever closing the writer raises, remove what is left
        with contextlib.suppress(Exception):
            self.writer.close()
        self.atomic.abort()


class QuarantineSink:
    """Quarantine records appended to a CSV file (header first)."""

    def __init__(self, path: Path, columns, lock: OutputLock | None = None):
        self.atomic = AtomicFile(path, lock)
        self.columns = list(columns)
        try:
            self.text = io.TextIOWrapper(self.atomic.file, encoding="utf-8", newline="")
            pd.DataFrame(columns=self.columns).to_csv(self.text, index=False)
        except BaseException:
            self.atomic.abort()
            raise
        self.rows = 0

    def write(self, frame: pd.DataFrame) -> None:
        if len(frame):
            frame[self.columns].to_csv(self.text, index=False, header=False)
            self.rows += len(frame)

    def finish(self) -> None:
        with contextlib.suppress(ValueError):  # already detached
            self.text.flush()
            self.text.detach()
        self.atomic.finish()

    def abort(self) -> None:
        with contextlib.suppress(ValueError):  # already detached
            self.text.detach()
        self.atomic.abort()


def _json_bytes(obj) -> bytes:
    return (json.dumps(to_jsonable(obj), indent=1, allow_nan=False) + "\n").encode()


def write_json_atomic(path: Path, obj) -> Path:
    """``obj`` as JSON at ``path``, through a locked ``.part`` file renamed when written."""
    f = AtomicFile(path)
    try:
        f.file.write(_json_bytes(obj))
    except BaseException:
        f.abort()
        raise
    return f.commit()


class _Output(Protocol):
    @property
    def atomic(self) -> AtomicFile: ...

    def finish(self) -> None: ...

    def abort(self) -> None: ...


class OutputSet:
    """All the files of one run, claimed together up front and renamed together at the end.

    ``output``: the file whose presence marks a complete run — refused if it exists unless
    ``overwrite``, renamed last; ``companions``: role → path of the files written with it
    (``{"quarantine": …, "summary": …}``), renamed before it, replacing what is there.
    Creating the set takes every lock (:class:`OutputLock`, in the order of the paths) and
    checks the output; a lock held by another run or an existing output releases what was
    taken and raises :class:`OutputInUseError`. Open the files with :meth:`table`,
    :meth:`quarantine` and :meth:`json`, then :meth:`commit` (or :meth:`abort` on failure).
    """

    def __init__(
        self,
        output: Path,
        companions: Mapping[str, Path] | None = None,
        *,
        overwrite: bool = False,
        inputs: Sequence[Path] = (),
    ):
        self.output = Path(output)
        self.overwrite = bool(overwrite)
        roles = {"output": self.output}
        roles.update({k: Path(p) for k, p in (companions or {}).items()})
        read = [Path(p).resolve() for p in inputs]
        seen: dict[str, str] = {}
        for role, p in roles.items():
            key = str(p.parent.resolve() / p.name)
            if key in seen:
                raise ScoreError(
                    f"the {seen[key]} and the {role} are the same file ({p}); give each "
                    "its own path"
                )
            seen[key] = role
            for source in read:
                if Path(key) == source or source in Path(key).parents:
                    where = "is the input" if Path(key) == source else "is inside the input"
                    raise ScoreError(
                        f"the {role} {where} ({p}): writing it would destroy or change the "
                        "table being scored; give it a path of its own"
                    )
        self.paths = list(roles.values())
        self.locks: dict[Path, OutputLock] = {}
        self.files: list[_Output] = []
        try:
            for key in sorted(seen):
                p = roles[seen[key]]
                p.parent.mkdir(parents=True, exist_ok=True)
                self.locks[p] = OutputLock(p)
            self._check_output(at_end=False)
        except BaseException:
            self._release()
            raise

    def _check_output(self, *, at_end: bool) -> None:
        if self.overwrite or not os.path.lexists(self.output):
            return
        if at_end:
            raise _appeared(self.output)
        raise OutputInUseError(
            f"{self.output} exists; choose another output or pass overwrite (--overwrite)"
        )

    def _lock(self, path: Path) -> OutputLock:
        lock = self.locks.get(Path(path))
        if lock is None or not lock.held:
            raise ValueError(f"{path} is not one of the files this run has claimed")
        return lock

    def table(self, path: Path, schema: pa.Schema, unique_text=()) -> TableSink:
        sink = TableSink(Path(path), schema, unique_text, lock=self._lock(path))
        self.files.append(sink)
        return sink

    def quarantine(self, path: Path, columns) -> QuarantineSink:
        sink = QuarantineSink(Path(path), columns, lock=self._lock(path))
        self.files.append(sink)
        return sink

    def json(self, path: Path, obj) -> None:
        f = AtomicFile(Path(path), lock=self._lock(path))
        self.files.append(f)
        f.file.write(_json_bytes(obj))

    def commit(self) -> None:
        """Finish every file, check the output again, rename the companions and then the
        output, and release the locks. On failure nothing of this run is left behind."""
        try:
            by_path = {f.atomic.path: f for f in self.files}
            missing = [str(p) for p in self.paths if p not in by_path]
            if missing:
                raise ValueError(f"commit before {', '.join(missing)} was written")
            for f in self.files:
                f.finish()
            self._check_output(at_end=True)  # under the locks, just before the renames
            placed: list[Path] = []
            try:
                for p in [*self.paths[1:], self.output]:
                    by_path[p].atomic.place(replace=self.overwrite or p != self.output)
                    placed.append(p)
            except BaseException:
                for p in placed:  # this run's, under its lock: nothing half-published
                    p.unlink(missing_ok=True)
                raise
        except BaseException:
            self.abort()
            raise
        self._release()

    def abort(self) -> None:
        """Remove this run's temporary files and release its locks."""
        try:
            for f in reversed(self.files):
                with contextlib.suppress(OSError):
                    f.abort()
        finally:
            self._release()

    def _release(self) -> None:
        for lock in reversed(self.locks.values()):
            lock.release()
