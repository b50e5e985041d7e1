"""Booster files are checked, then test-loaded in a child process, before this process
loads them.

A booster file (LightGBM text, XGBoost UBJSON) goes through two gates before a native
loader in this process sees it:

1. its structure (:func:`booster_summary`: :mod:`prom.bundle.lightgbm_text`,
   :mod:`prom.bundle.xgboost_ubj`, each of which says what it checks; files larger than
   :data:`~prom.bundle.booster_types.MAX_BOOSTER_BYTES` are refused unread), and its
   classes and input columns against the manifest's ``n_classes`` and the number of
   design columns the model's preprocessor produces (:func:`check_booster_fits`);
2. a load in a child process (:mod:`prom.bundle.booster_probe`, the same interpreter,
   started fresh — never a fork of this process, whose OpenMP threads may be running):
   the model is read from its bytes and predicts three rows. A child that is killed by
   a signal (LightGBM's ``[Fatal]`` errors abort; a bad tree walk is a segmentation
   fault), exits with an error or does not finish within the timeout becomes a
   :class:`~prom.bundle.manifest.BundleError` that names the file and says what
   happened, with the library's message shortened.

Both results are remembered for the life of the process by the file's SHA-256, so a
bundle loaded again (the calculator, the scorer, a test suite) costs one hash per file.
The bytes that were checked are the bytes that are loaded: the file is read once, and
the native loader in this process reads that copy (:func:`read_booster`), not the file.
:func:`check_bundle_boosters` runs both gates for all booster files of a bundle, gate 2 in
one child process.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import re
import signal
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from importlib import metadata
from pathlib import Path

from prom.bundle.booster_types import BOOSTER_FORMATS, MAX_BOOSTER_BYTES, BoosterSummary
from prom.bundle.lightgbm_text import lightgbm_text_summary
from prom.bundle.manifest import BundleError, Manifest
from prom.bundle.xgboost_ubj import xgboost_ubj_summary

__all__ = [
    "TRIAL_TIMEOUT",
    "BoosterFile",
    "read_booster",
    "check_bundle_boosters",
    "booster_summary",
    "check_booster_fits",
    "trial_load",
]

#: Seconds a child process may take to load and test one bundle's booster files. A model
#: of this package loads in well under a second; the margin is for a busy machine.
TRIAL_TIMEOUT = 60.0

#: The probe script, run by path so that the child imports nothing of this package.
PROBE = Path(__file__).with_name("booster_probe.py")

#: SHA-256 of the files that passed each gate in this process (never failures).
_SUMMARIES: dict[str, BoosterSummary] = {}
_LOADED: set[str] = set()

#: Where each library's native code lives: distribution names, and file names.
_LIBRARIES = {
    "lightgbm-text": (
        "lightgbm",
        ("lightgbm",),
        ("lib_lightgbm.so", "lib_lightgbm.dylib", "lib_lightgbm.dll"),
    ),
    "xgboost-ubj": (
        "xgboost",
        ("xgboost", "xgboost-cpu"),
        ("libxgboost.so", "libxgboost.dylib", "xgboost.dll"),
    ),
}


def booster_summary(fmt: str, data: bytes, where: str) -> BoosterSummary:
    """Check ``data`` (a booster file's bytes; ``where`` names the file in messages)."""
    if fmt not in BOOSTER_FORMATS:
        raise BundleError(f"{where}: {fmt!r} is not a booster format")
    library = BOOSTER_FORMATS[fmt]
    if len(data) > MAX_BOOSTER_BYTES:
        raise BundleError(
            f"{where}: {len(data) / 2**20:.1f} MB, larger than any {library} model this "
            f"package writes (limit {MAX_BOOSTER_BYTES // 2**20} MB); refusing it"
        )
    if not data:
        raise BundleError(f"{where}: the file is empty, not a {library} model; refusing it")
    if fmt == "lightgbm-text":
        return lightgbm_text_summary(data, where)
    return xgboost_ubj_summary(data, where)


def check_booster_fits(
    summary: BoosterSummary, where: str, *, n_classes: int, n_features: int | None = None
) -> None:
    """Refuse a booster whose classes or input columns disagree with the bundle's record:
    ``n_classes`` from the manifest entry, ``n_features`` the number of design columns
    the model's preprocessor produces (``None``: not known to the caller)."""
    if summary.n_classes != n_classes:
        raise BundleError(
            f"{where}: the model predicts {summary.n_classes} classes, but the manifest "
            f"says n_classes={n_classes}; refusing it"
        )
    if n_features is not None and summary.n_features != n_features:
        raise BundleError(
            f"{where}: the model reads {summary.n_features} input columns, but its "
            f"preprocessor produces {n_features}; refusing it"
        )


@dataclass(frozen=True)
class BoosterFile:
    """A booster file's format, path, bytes (read once) and their SHA-256."""

    format: str
    path: Path
    data: bytes
    sha256: str

    @classmethod
    def read(cls, fmt: str, path: Path) -> BoosterFile:
        library = BOOSTER_FORMATS.get(fmt)
        if library is None:
            raise BundleError(f"{path}: {fmt!r} is not a booster format")
        try:
            size = path.stat().st_size
            if size > MAX_BOOSTER_BYTES:
                raise BundleError(
                    f"{path}: {size / 2**20:.1f} MB, larger than any {library} model this "
                    f"package writes (limit {MAX_BOOSTER_BYTES // 2**20} MB); refusing it"
                )
            data = path.read_bytes()
        except OSError as e:
            raise BundleError(f"{path}: cannot be read ({e.strerror or e})") from None
        return cls(fmt, path, data, hashlib.sha256(data).hexdigest())

    @property
    def library(self) -> str:
        return BOOSTER_FORMATS[self.format]

    def summary(self) -> BoosterSummary:
        """The structural check (gate 1), remembered by SHA-256."""
        found = _SUMMARIES.get(self.sha256)
        if found is None:
            found = booster_summary(self.format, self.data, str(self.path))
            _SUMMARIES[self.sha256] = found
        return found


def read_booster(
    fmt: str,
    path: Path,
    *,
    n_classes: int,
    n_features: int | None = None,
    timeout: float = TRIAL_TIMEOUT,
) -> bytes:
    """A booster file's bytes once both gates passed; :class:`BundleError` otherwise.

    ``n_classes`` is the manifest's; ``n_features`` the number of design columns the
    model's preprocessor produces (``None`` when the caller does not know it).
    """
    file = BoosterFile.read(fmt, path)
    check_booster_fits(file.summary(), str(path), n_classes=n_classes, n_features=n_features)
    trial_load([file], timeout=timeout)
    return file.data


def check_bundle_boosters(
    root: Path, manifest: Manifest, *, timeout: float = TRIAL_TIMEOUT
) -> None:
    """Both gates for every booster file of a verified bundle, with one child process.

    Each model's classes are compared with its manifest entry and its input columns
    with the design columns its ``state.json`` records.
    """
    files = []
    for entry in manifest.tasks.values():
        for model in entry.models.values():
            if model.format not in BOOSTER_FORMATS:
                continue
            file = BoosterFile.read(model.format, root / model.estimator)
            width = _design_width(root / str(model.state))
            check_booster_fits(
                file.summary(),
                str(file.path),
                n_classes=int(model.n_classes or 0),
                n_features=width,
            )
            files.append(file)
    trial_load(files, timeout=timeout)


def _design_width(state_file: Path) -> int:
    """The number of design columns a PromClassifier state's preprocessor produces."""
    try:
        state = json.loads(state_file.read_text(encoding="utf-8"))
        names = state["preprocessor"]["feature_names_out"]
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, KeyError, TypeError) as e:
        raise BundleError(
            f"{state_file}: not a readable model state ({type(e).__name__}: {e}); refusing it"
        ) from None
    if not isinstance(names, list):
        raise BundleError(f"{state_file}: preprocessor/feature_names_out is not a list")
    return len(names)


def trial_load(files: Sequence[BoosterFile], *, timeout: float = TRIAL_TIMEOUT) -> None:
    """Gate 2: load ``files`` in one child process (skipping those that passed before)."""
    pending: dict[str, BoosterFile] = {}
    for f in files:
        if f.sha256 not in _LOADED:
            pending.setdefault(f.sha256, f)
    if not pending:
        return
    todo = list(pending.values())
    request = {
        "libraries": {fmt: _library_path(fmt, todo) for fmt in {f.format for f in todo}},
        "files": [{"format": f.format, "size": len(f.data)} for f in todo],
    }
    payload = json.dumps(request).encode() + b"\n" + b"".join(f.data for f in todo)
    command = [sys.executable, "-I", "-S", str(PROBE)]
    try:
        child = subprocess.run(command, input=payload, capture_output=True, timeout=timeout)
    except subprocess.TimeoutExpired as e:
        events = _events(e.stdout)
        raise _refusal(
            _in_progress(todo, events), f"the loader did not finish within {timeout:g} s"
        ) from None
    except OSError as e:
        raise BundleError(
            f"{todo[0].path}: cannot start a process to test-load it ({e}); refusing it"
        ) from None
    events = _events(child.stdout)
    for i, f in enumerate(todo):
        status, message = events.get(i, ("", ""))
        if status == "ok":
            _LOADED.add(f.sha256)
        elif status == "error":
            raise _refusal(f, _shorten(message))
    if child.returncode != 0:
        raise _refusal(_in_progress(todo, events), _death(child.returncode, child.stderr))
    missing = [f for i, f in enumerate(todo) if events.get(i, ("",))[0] != "ok"]
    if missing:
        raise _refusal(missing[0], "the loader stopped without a result")


def _events(stdout: bytes | None) -> dict[int, tuple[str, str]]:
    """The child's report: file index → (last status, message)."""
    out: dict[int, tuple[str, str]] = {}
    for line in (stdout or b"").decode("utf-8", "replace").splitlines():
        try:
            event = json.loads(line)
            out[int(event["file"])] = (str(event["status"]), str(event.get("message", "")))
        except (ValueError, KeyError, TypeError):
            continue  # a line cut off by the child's end carries no result
    return out


def _in_progress(todo: Sequence[BoosterFile], events: dict[int, tuple[str, str]]) -> BoosterFile:
    """The file the child was loading when it stopped (the first without a result)."""
    return next((f for i, f in enumerate(todo) if events.get(i, ("",))[0] != "ok"), todo[-1])


def _death(returncode: int, stderr: bytes) -> str:
    message = _native_message(stderr)
    if returncode < 0:
        try:
            name = signal.Signals(-returncode).name
        except ValueError:
            name = f"signal {-returncode}"
        how = "aborted with" if name == "SIGABRT" else "crashed with"
        return f"the loader {how} {name}" + (f": {message}" if message else "")
    return f"the loader exited with code {returncode}" + (f": {message}" if message else "")


def _native_message(stderr: bytes) -> str:
    """The library's own words from the child's error stream: its ``[Fatal]`` line when
    there is one, else the last line; shortened."""
    lines = [ln.strip() for ln in stderr.decode("utf-8", "replace").splitlines() if ln.strip()]
    fatal = [ln for ln in lines if "[Fatal]" in ln]
    if fatal:
        return _shorten(fatal[0].split("[Fatal]", 1)[1])
    return _shorten(lines[-1]) if lines else ""


#: XGBoost's prefix of an error message: the time and the source line that raised it.
_XGB_PREFIX = re.compile(r"^\[\d\d:\d\d:\d\d\] \S+:\d+: ")


def _shorten(message: str, limit: int = 200) -> str:
    """The first line of a library's message, without XGBoost's time and source prefix,
    at most ``limit`` characters."""
    first = " ".join(message.strip().splitlines()[0].split()) if message.strip() else ""
    first = _XGB_PREFIX.sub("", first)
    return first if len(first) <= limit else first[: limit - 1] + "…"


def _refusal(file: BoosterFile, what: str) -> BundleError:
    return BundleError(
        f"{file.path}: {file.library} could not read this model ({what}); refusing it"
    )


@cache
def _find_library(fmt: str) -> str | None:
    package, distributions, names = _LIBRARIES[fmt]
    for dist in distributions:
        try:
            listed = metadata.files(dist) or []
        except metadata.PackageNotFoundError:
            continue
        for entry in listed:
            if entry.name in names and Path(str(entry.locate())).is_file():
                return str(entry.locate())
    spec = importlib.util.find_spec(package)
    for folder in (spec.submodule_search_locations or []) if spec else []:
        for sub in ("lib", "."):
            for name in names:
                candidate = Path(folder) / sub / name
                if candidate.is_file():
                    return str(candidate)
    return None


def _library_path(fmt: str, files: Sequence[BoosterFile]) -> str:
    path = _find_library(fmt)
    if path is None:
        file = next(f for f in files if f.format == fmt)
        package, _, names = _LIBRARIES[fmt]
        raise BundleError(
            f"{file.path}: the native library of {package} ({names[0]}) was not found, so "
            f"the model cannot be test-loaded; is the {package} package installed?"
        )
    return path
