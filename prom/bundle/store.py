"""Writing and loading bundle directories.

:func:`write_bundle` writes task fits into a temporary sibling directory and renames it
when complete, so an interrupted write never leaves a half bundle behind; given a signing
key, it signs the manifest (``signature.json``) before the rename.

:func:`load_bundle` checks the bundle first (:func:`prom.bundle.verify.check_bundle`:
signature, trust, manifest, every file's hash — before anything is deserialised), then
reads the models in their safe formats (:mod:`prom.bundle.formats`) and records how the
bundle's origin was established (:attr:`Bundle.trust`); a task's validation record is read
on demand and checked against its hash again (:meth:`BundleTask.read_record`).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
import os
import platform
import shutil
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import pandas as pd

from prom.bundle.booster_guard import check_bundle_boosters
from prom.bundle.formats import MODEL_FILES, family_format, load_estimator, save_estimator
from prom.bundle.manifest import (
    BundleError,
    ClassifierTaskEntry,
    Manifest,
    ModelEntry,
    SurvivalTaskEntry,
    manifest_id,
)
from prom.bundle.signing import Signature, SigningKey, read_signing_key, write_signature
from prom.bundle.trust import Trust
from prom.bundle.verify import (
    MANIFEST,
    RECORD_FILE,
    check_bundle,
    sha256_file,
    sign_bundle,
    verify_bundle,
)
from prom.jsonable import to_jsonable
from prom.models.ranges import CategoricalRange, NumericRange

__all__ = [
    "MANIFEST",
    "RECORD_FILE",
    "RECORD_VERSION",
    "Bundle",
    "BundleTask",
    "TaskFitLike",
    "write_bundle",
    "verify_bundle",
    "check_bundle",
    "load_bundle",
    "sign_bundle",
    "package_versions",
    "sha256_file",
    "manifest_id",
]

#: The version of the validation record's layout this package writes and reads.
RECORD_VERSION = 1

_PACKAGES = (
    "spine-prom",
    "numpy",
    "pandas",
    "scikit-learn",
    "scipy",
    "xgboost",
    "lightgbm",
    "skops",
    "lifelines",
    "statsmodels",
)


# --- versions -----------------------------------------------------------------------------------


def package_versions() -> dict[str, str]:
    """Python's and the scientific packages' versions, for the manifest."""
    out = {"python": platform.python_version()}
    for name in _PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return out


# --- a loaded bundle --------------------------------------------------------------------------


@dataclass
class BundleTask:
    """One task inside a loaded bundle: its manifest entry and its loaded models."""

    name: str
    entry: ClassifierTaskEntry | SurvivalTaskEntry
    models: dict[str, Any]
    path: Path
    #: the verified manifest's file hashes (for re-checking the record when it is read)
    files: Mapping[str, str] = field(default_factory=dict)

    @property
    def primary(self) -> str:
        return self.entry.primary

    @property
    def baseline(self) -> str | None:
        return self.entry.baseline

    @property
    def kind(self) -> str:
        return self.entry.kind

    @property
    def predictors(self) -> list[str]:
        return list(self.entry.predictors)

    def model(self, model: str | None = None) -> Any:
        """The primary (or a named) model."""
        name = model or self.primary
        try:
            return self.models[name]
        except KeyError:
            raise BundleError(
                f"task {self.name!r} has no model {name!r}; models: {', '.join(self.models)}"
            ) from None

    def predict_proba(self, data: pd.DataFrame, model: str | None = None) -> np.ndarray:
        """Calibrated probabilities of the primary (or a named) model."""
        if isinstance(self.entry, SurvivalTaskEntry):
            raise BundleError(
                f"task {self.name!r} is a survival task; use "
                "predict_risk(data, horizon) for the risk by a horizon"
            )
        return np.asarray(self.model(model).predict_proba(data))

    def predict_risk(
        self, data: pd.DataFrame, horizon: float | None = None, model: str | None = None
    ) -> np.ndarray:
        """Survival task: probability of the event by ``horizon`` (default: the task's)."""
        if not isinstance(self.entry, SurvivalTaskEntry):
            raise BundleError(f"task {self.name!r} is {self.entry.kind}; use predict_proba(data)")
        h = float(self.entry.horizon if horizon is None else horizon)
        return np.asarray(self.model(model).predict_risk(data, horizon=h))

    def read_record(self) -> dict[str, Any] | None:
        """The task's validation record, re-checked against its hash (None without one).

        The record holds aggregates for reports (Table 1, curves on grids, odds ratios);
        it is plain JSON and never deserialised into objects.
        """
        rel = self.entry.validation_record
        if rel is None:
            return None
        file = self.path / rel
        try:
            data = file.read_bytes()
        except OSError as e:
            raise BundleError(
                f"{file}: the task's validation record cannot be read ({e})"
            ) from None
        if hashlib.sha256(data).hexdigest() != self.files.get(rel):
            raise BundleError(
                f"{file}: SHA-256 does not match the manifest; the validation record was "
                "changed after the bundle was written; refusing it"
            )
        try:
            record = json.loads(data.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as e:
            raise BundleError(f"{file}: not a readable validation record ({e})") from None
        if not isinstance(record, dict):
            raise BundleError(f"{file}: a validation record must be a JSON object")
        if record.get("record_version") != RECORD_VERSION:
            raise BundleError(
                f"{file}: validation record version {record.get('record_version')!r}; "
                f"this version of prom reads version {RECORD_VERSION}"
            )
        return record


@dataclass
class Bundle:
    """A loaded, verified bundle; ``trust`` records how its origin was established
    (signed by a trusted key, the pinned demonstration bundle, or used unverified)."""

    path: Path
    manifest: Manifest
    trust: Trust
    tasks: dict[str, BundleTask] = field(default_factory=dict)

    @property
    def bundle_id(self) -> str:
        return self.manifest.bundle_id

    @property
    def feature_schema(self) -> Mapping[str, NumericRange | CategoricalRange]:
        return self.manifest.feature_schema

    def task(self, name: str | None = None) -> BundleTask:
        if name is None:
            if len(self.tasks) != 1:
                raise BundleError(
                    f"the bundle holds {len(self.tasks)} tasks ({', '.join(self.tasks)}); name one"
                )
            return next(iter(self.tasks.values()))
        try:
            return self.tasks[name]
        except KeyError:
            raise BundleError(
                f"the bundle has no task {name!r}; it has {', '.join(self.tasks)}"
            ) from None


# --- writing ----------------------------------------------------------------------------------


class TaskFitLike(Protocol):
    """What :func:`write_bundle` needs of a task fit: its name, its fitted models, its
    manifest entry (models and record file are filled in by the writer) and, optionally,
    its validation record."""

    @property
    def task_name(self) -> str: ...

    @property
    def models(self) -> Mapping[str, Any]: ...

    def manifest_entry(self) -> ClassifierTaskEntry | SurvivalTaskEntry: ...


def _feature_schema(models: Sequence[Any]) -> dict[str, NumericRange | CategoricalRange]:
    """Union of the training summaries the models' preprocessors recorded, by predictor
    (the first model that has a predictor gives its summary)."""
    schema: dict[str, NumericRange | CategoricalRange] = {}
    for m in models:
        for name, info in m.preprocessor_.training_summaries().items():
            schema.setdefault(name, info)
    return schema


def _write_model(model: Any, name: str, task: str, root: Path) -> ModelEntry:
    from prom.models import PromCoxModel

    folder = root / task / name
    folder.mkdir(parents=True)
    if isinstance(model, PromCoxModel):  # one JSON file holds the whole model
        (folder / MODEL_FILES["cox-json"]).write_text(
            json.dumps(to_jsonable(model.get_state()), allow_nan=True)
        )
        return ModelEntry(
            family=name, format="cox-json", estimator=f"{task}/{name}/{MODEL_FILES['cox-json']}"
        )
    (folder / "state.json").write_text(
        json.dumps(to_jsonable(model.get_state()), allow_nan=True, indent=1)
    )
    fname = save_estimator(model.estimator_, model.family, folder)
    return ModelEntry(
        family=model.family,
        format=family_format(model.family),
        state=f"{task}/{name}/state.json",
        estimator=f"{task}/{name}/{fname}",
        n_classes=len(model.classes_),
    )


def write_bundle(
    path: str | os.PathLike[str],
    fits: Sequence[TaskFitLike],
    *,
    overwrite: bool = False,
    description: str = "",
    signing_key: SigningKey | str | os.PathLike[str] | None = None,
) -> Path:
    """Write task fits (:class:`prom.workflows.TaskFit`, :class:`~prom.workflows.SurvivalTaskFit`)
    as one bundle directory (see the module docstring), signed with ``signing_key`` (a
    :class:`~prom.bundle.signing.SigningKey` or the path of its PEM file) when given."""
    path = Path(path)
    if signing_key is not None and not isinstance(signing_key, SigningKey):
        signing_key = read_signing_key(signing_key)  # a bad key fails before anything is written
    if path.exists() and not overwrite:
        raise BundleError(f"{path} exists; choose another --out or pass overwrite=True")
    if not fits:
        raise BundleError("nothing to write: no fitted task")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", dir=path.parent))
    try:
        tasks: dict[str, ClassifierTaskEntry | SurvivalTaskEntry] = {}
        all_models: list[Any] = []
        for fit in fits:
            models = {
                name: _write_model(model, name, fit.task_name, tmp)
                for name, model in fit.models.items()
            }
            all_models += list(fit.models.values())
            record_file = None
            record = getattr(fit, "record", None)
            if record:  # the fit's validation record for reports
                record_file = f"{fit.task_name}/{RECORD_FILE}"
                (tmp / record_file).write_text(json.dumps(to_jsonable(record), allow_nan=True))
            tasks[fit.task_name] = dataclasses.replace(
                fit.manifest_entry(), models=models, validation_record=record_file
            )
        files = {
            f.relative_to(tmp).as_posix(): sha256_file(f)
            for f in sorted(p for p in tmp.rglob("*") if p.is_file())
        }
        manifest = Manifest(
            created=dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat(),
            description=description,
            tasks=tasks,
            feature_schema=_feature_schema(all_models),
            packages=package_versions(),
            files=files,
        )
        body = json.dumps(manifest.sealed(), indent=1, allow_nan=True).encode()
        (tmp / MANIFEST).write_bytes(body)
        if signing_key is not None:
            write_signature(tmp, Signature.of(body, signing_key))
        tmp.chmod(0o755)  # mkdtemp makes it private; a bundle is for sharing
        if path.exists():
            shutil.rmtree(path)
        os.replace(tmp, path)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return path


# --- loading ------------------------------------------------------------------------------------


def _load_model(root: Path, entry: ModelEntry) -> Any:
    from prom.models import PromClassifier, PromCoxModel

    if entry.format == "cox-json":
        file = root / entry.estimator
        try:
            return PromCoxModel.from_state(json.loads(file.read_text(encoding="utf-8")))
        except (ValueError, KeyError, TypeError) as e:
            raise BundleError(
                f"{file}: not a readable Cox model ({type(e).__name__}: {e})"
            ) from None
    file = root / entry.estimator
    try:
        state = json.loads((root / str(entry.state)).read_text(encoding="utf-8"))
        est = load_estimator(entry.format, file, int(entry.n_classes or 0))
        return PromClassifier.from_state(state, est)
    except BundleError:
        raise
    except (ValueError, KeyError, TypeError, AttributeError, IndexError) as e:
        # a state or model description this package did not write (a signed bundle from a
        # trusted author can still hold a damaged file): refused, naming it
        raise BundleError(
            f"{file} (with {entry.state}): not a readable {entry.family} model "
            f"({type(e).__name__}: {e}); refusing it"
        ) from None


def load_bundle(
    path: str | os.PathLike[str],
    *,
    trust_store: str | os.PathLike[str] | None = None,
    allow_unsigned: bool = False,
) -> Bundle:
    """Verify (see :func:`check_bundle`) and load a bundle's models."""
    path = Path(path)
    manifest, trust = check_bundle(path, trust_store=trust_store, allow_unsigned=allow_unsigned)
    check_bundle_boosters(path, manifest)  # booster files: checked, then test-loaded apart
    bundle = Bundle(path=path, manifest=manifest, trust=trust)
    for name, entry in manifest.tasks.items():
        models = {m: _load_model(path, e) for m, e in entry.models.items()}
        bundle.tasks[name] = BundleTask(
            name=name, entry=entry, models=models, path=path, files=manifest.files
        )
    return bundle
