"""Model bundles: fitted models on disk in safe formats, verified on load.

A bundle is a directory::

    manifest.json                     format, tasks, feature schema, metrics, versions, hashes
    <task>/<model>/state.json         PromClassifier state: preprocessing, calibration, params
    <task>/<model>/model.ubj          XGBoost (UBJSON, the booster's own format)
    <task>/<model>/model.txt          LightGBM (the booster's own text format)
    <task>/<model>/model.json         logistic / elastic net: coefficients as JSON
    <task>/<model>/model.skops        random forest: skops with an explicit trusted-type list
    <task>/<model>/model.json         Cox (``cox-json``, survival tasks): the whole fitted
                                      PromCoxModel as JSON — preprocessing, coefficients,
                                      centring, Breslow baseline hazard (no state.json)
    <task>/validation.json            the fit's validation record for reports: aggregates
                                      only (Table 1, curves on grids, odds ratios); plain
                                      JSON, hashed like every file, never deserialised
                                      into objects (:mod:`prom.report.record`)

Loading (:func:`load_bundle`) checks, before anything is deserialised, that

- ``manifest.json`` parses, has a known format version and its ``bundle_id`` equals the
  SHA-256 of its own canonical content (an edited manifest is refused);
- every file the manifest lists exists and has the SHA-256 recorded for it;
- no file exists that the manifest does not list (nothing can be slipped in);
- every model file has an extension this module knows how to read safely.

Nothing is ever unpickled: XGBoost and LightGBM read their own formats, linear and Cox
models are rebuilt from JSON numbers, and skops is given an explicit list of trusted types
and refuses anything else.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import platform
import shutil
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from prom.errors import PromError
from prom.jsonable import to_jsonable

__all__ = [
    "BUNDLE_FORMAT",
    "BUNDLE_FORMAT_VERSION",
    "BundleError",
    "Bundle",
    "BundleTask",
    "write_bundle",
    "load_bundle",
    "SKOPS_TRUSTED_TYPES",
]

BUNDLE_FORMAT = "prom-model-bundle"
BUNDLE_FORMAT_VERSION = 1
MANIFEST = "manifest.json"
#: A task's validation record (aggregates for reports, never read as a model; see
#: prom.report.record), written when the fit carries one.
RECORD_FILE = "validation.json"

#: The only types a skops file in a bundle may contain — every node of its schema, not
#: only those skops itself would flag. Anything else is refused before loading.
SKOPS_TRUSTED_TYPES: tuple[str, ...] = (
    "sklearn.ensemble._forest.RandomForestClassifier",
    "sklearn.tree._classes.DecisionTreeClassifier",
    "sklearn.tree._tree.Tree",
    "numpy.dtype",
    "numpy.ndarray",
    "numpy.float64",
    "numpy.int64",
    "builtins.dict",
    "builtins.list",
    "builtins.str",
    "builtins.tuple",
    "builtins.int",
    "builtins.float",
    "builtins.bool",
    "builtins.NoneType",
)


def _skops_types(path: Path) -> set[str]:
    """Every ``module.class`` named anywhere in a skops file's schema (read as JSON)."""
    import zipfile

    try:
        with zipfile.ZipFile(path) as z:
            schema = json.loads(z.read("schema.json"))
    except (zipfile.BadZipFile, KeyError, json.JSONDecodeError) as e:
        raise BundleError(f"{path.name}: not a readable skops file ({e})") from None
    found: set[str] = set()
    stack = [schema]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            if "__class__" in node and "__module__" in node:
                found.add(f"{node['__module__']}.{node['__class__']}")
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return found


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


class BundleError(PromError, ValueError):
    """A bundle is missing, malformed, tampered with, or holds something it may not."""


# --- hashing -------------------------------------------------------------------------------


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _canonical(obj: Any) -> bytes:
    return json.dumps(
        obj, sort_keys=True, separators=(",", ":"), ensure_ascii=True, allow_nan=True
    ).encode()


def _manifest_id(manifest: Mapping) -> str:
    body = {k: v for k, v in manifest.items() if k != "bundle_id"}
    return hashlib.sha256(_canonical(body)).hexdigest()


def package_versions() -> dict[str, str]:
    out = {"python": platform.python_version()}
    for name in _PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return out


# --- estimator formats ----------------------------------------------------------------------


class LightGBMBoosterClassifier:
    """``predict_proba`` over a LightGBM ``Booster`` read from its text model file.

    Gives the same numbers as the ``LGBMClassifier`` it was saved from (which also calls
    ``Booster.predict``); ``booster`` is exposed for SHAP and native contributions.
    """

    def __init__(self, booster, n_classes: int):
        self.booster = booster
        self.n_classes = n_classes

    def predict_proba(self, X) -> np.ndarray:
        p = np.asarray(self.booster.predict(np.asarray(X, dtype=float)), dtype=float)
        if self.n_classes == 2:
            return np.column_stack([1.0 - p, p])
        return p

    @property
    def booster_(self):
        return self.booster


class XGBoostBoosterClassifier:
    """``predict_proba`` over an XGBoost ``Booster`` read from its UBJSON model file."""

    def __init__(self, booster, n_classes: int):
        self.booster = booster
        self.n_classes = n_classes

    def get_booster(self):
        return self.booster

    def predict_proba(self, X) -> np.ndarray:
        p = np.asarray(self.booster.inplace_predict(np.asarray(X, dtype=float)), dtype=float)
        if self.n_classes == 2:
            return np.column_stack([1.0 - p, p])
        return p


def _family_format(family: str) -> str:
    return {
        "logistic": "linear-json",
        "elastic_net": "linear-json",
        "xgboost": "xgboost-ubj",
        "lightgbm": "lightgbm-text",
        "random_forest": "skops",
        "cox": "cox-json",
        "cox_ridge": "cox-json",
    }.get(family, "")


_EXT = {
    "linear-json": "model.json",
    "xgboost-ubj": "model.ubj",
    "lightgbm-text": "model.txt",
    "skops": "model.skops",
    "cox-json": "model.json",
}


def _save_estimator(est, family: str, folder: Path) -> str:
    fmt = _family_format(family)
    if not fmt:
        raise BundleError(f"no safe on-disk format for model family {family!r}")
    path = folder / _EXT[fmt]
    if fmt == "linear-json":
        state = {
            "class": "sklearn.linear_model.LogisticRegression",
            "params": to_jsonable(est.get_params()),
            "coef": est.coef_.tolist(),
            "intercept": est.intercept_.tolist(),
            "classes": est.classes_.tolist(),
            "n_features_in": int(est.n_features_in_),
            "n_iter": np.asarray(est.n_iter_).tolist(),
        }
        path.write_text(json.dumps(state, allow_nan=True))
    elif fmt == "xgboost-ubj":
        # the booster itself: XGBClassifier.save_model needs scikit-learn's retired
        # _estimator_type, and the booster is all prediction and SHAP need
        booster = est.get_booster() if hasattr(est, "get_booster") else est.booster
        booster.save_model(str(path))
    elif fmt == "lightgbm-text":
        booster = est.booster_ if hasattr(est, "booster_") else est.booster
        booster.save_model(str(path))
    else:
        import skops.io as sio

        sio.dump(est, str(path))
    return path.name


def _load_estimator(fmt: str, path: Path, n_classes: int):
    if fmt == "linear-json":
        from sklearn.linear_model import LogisticRegression

        state = json.loads(path.read_text(encoding="utf-8"))
        if state.get("class") != "sklearn.linear_model.LogisticRegression":
            raise BundleError(f"{path}: not a logistic model description")
        est = LogisticRegression(**state["params"])
        est.coef_ = np.asarray(state["coef"], dtype=float)
        est.intercept_ = np.asarray(state["intercept"], dtype=float)
        est.classes_ = np.asarray(state["classes"])
        est.n_features_in_ = int(state["n_features_in"])
        est.n_iter_ = np.asarray(state["n_iter"], dtype=np.int32)
        return est
    if fmt == "xgboost-ubj":
        import xgboost as xgb

        booster = xgb.Booster()
        booster.load_model(str(path))
        return XGBoostBoosterClassifier(booster, n_classes)
    if fmt == "lightgbm-text":
        import lightgbm as lgb

        return LightGBMBoosterClassifier(lgb.Booster(model_file=str(path)), n_classes)
    if fmt == "skops":
        import skops.io as sio

        foreign = sorted(_skops_types(path) - set(SKOPS_TRUSTED_TYPES))
        if foreign:
            raise BundleError(
                f"{path.name}: contains type(s) outside the bundle's trusted list: "
                f"{', '.join(foreign)}; refusing to load it"
            )
        found = sio.get_untrusted_types(file=str(path))
        return sio.load(str(path), trusted=[t for t in found if t in SKOPS_TRUSTED_TYPES])
    raise BundleError(f"{path.name}: unknown model format {fmt!r}")


# --- the bundle ----------------------------------------------------------------------------


@dataclass
class BundleTask:
    """One task inside a bundle: its models, which one is primary, and its metadata."""

    name: str
    meta: dict
    models: dict[str, Any]
    primary: str
    baseline: str | None = "logistic"

    def _model(self, model: str | None):
        name = model or self.primary
        try:
            return self.models[name]
        except KeyError:
            raise BundleError(
                f"task {self.name!r} has no model {name!r}; models: {', '.join(self.models)}"
            ) from None

    def predict_proba(self, data: pd.DataFrame, model: str | None = None) -> np.ndarray:
        """Calibrated probabilities of the primary (or a named) model."""
        if self.meta.get("kind") == "survival":
            raise BundleError(
                f"task {self.name!r} is a survival task; use "
                "predict_risk(data, horizon) for the risk by a horizon"
            )
        return self._model(model).predict_proba(data)

    def predict_risk(
        self, data: pd.DataFrame, horizon: float | None = None, model: str | None = None
    ) -> np.ndarray:
        """Survival task: probability of the event by ``horizon`` (default: the task's)."""
        if self.meta.get("kind") != "survival":
            raise BundleError(
                f"task {self.name!r} is {self.meta.get('kind')}; use predict_proba(data)"
            )
        h = float(self.meta["horizon"] if horizon is None else horizon)
        return self._model(model).predict_risk(data, horizon=h)

    @property
    def predictors(self) -> list[str]:
        return list(self.meta["predictors"])


@dataclass
class Bundle:
    """A loaded, verified bundle."""

    path: Path
    manifest: dict
    tasks: dict[str, BundleTask] = field(default_factory=dict)

    @property
    def bundle_id(self) -> str:
        return self.manifest["bundle_id"]

    @property
    def feature_schema(self) -> dict:
        return self.manifest["feature_schema"]

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


def _feature_schema(models: Mapping[str, Any]) -> dict:
    """Union of the training ranges the models' preprocessors recorded, by predictor."""
    schema: dict[str, dict] = {}
    for m in models.values():
        for name, info in m.preprocessor_.training_ranges_.items():
            schema.setdefault(name, to_jsonable(info))
    return schema


def write_bundle(
    path: str | os.PathLike, fits: list, *, overwrite: bool = False, description: str = ""
) -> Path:
    """Write task fits (:class:`prom.workflow.TaskFit`) as one bundle directory.

    Written into a temporary sibling directory and renamed when complete, so an
    interrupted write never leaves a half bundle at ``path``.
    """
    from prom.models import PromCoxModel

    path = Path(path)
    if path.exists() and not overwrite:
        raise BundleError(f"{path} exists; choose another --out or pass overwrite=True")
    if not fits:
        raise BundleError("nothing to write: no fitted task")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", dir=path.parent))
    try:
        tasks_meta: dict[str, dict] = {}
        all_models: dict[str, Any] = {}
        for fit in fits:
            models_meta = {}
            for name, model in fit.models.items():
                folder = tmp / fit.task_name / name
                folder.mkdir(parents=True)
                if isinstance(model, PromCoxModel):  # one JSON file holds the whole model
                    (folder / _EXT["cox-json"]).write_text(
                        json.dumps(to_jsonable(model.get_state()), allow_nan=True)
                    )
                    models_meta[name] = {
                        "family": name,
                        "format": "cox-json",
                        "estimator": f"{fit.task_name}/{name}/{_EXT['cox-json']}",
                    }
                    all_models[f"{fit.task_name}/{name}"] = model
                    continue
                (folder / "state.json").write_text(
                    json.dumps(to_jsonable(model.get_state()), allow_nan=True, indent=1)
                )
                fname = _save_estimator(model.estimator_, model.family, folder)
                models_meta[name] = {
                    "family": model.family,
                    "format": _family_format(model.family),
                    "state": f"{fit.task_name}/{name}/state.json",
                    "estimator": f"{fit.task_name}/{name}/{fname}",
                    "n_classes": len(model.classes_),
                }
                all_models[f"{fit.task_name}/{name}"] = model
            entry = {**fit.manifest_entry(), "models": models_meta}
            record = getattr(fit, "record", None)
            if record:  # the fit's validation record for reports (prom.report.record)
                rel = f"{fit.task_name}/{RECORD_FILE}"
                (tmp / rel).write_text(json.dumps(to_jsonable(record), allow_nan=True))
                entry["validation_record"] = rel
            tasks_meta[fit.task_name] = to_jsonable(entry)
        files = {}
        for f in sorted(p for p in tmp.rglob("*") if p.is_file()):
            files[f.relative_to(tmp).as_posix()] = _sha256(f)
        manifest = {
            "format": BUNDLE_FORMAT,
            "format_version": BUNDLE_FORMAT_VERSION,
            "created": dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat(),
            "description": description,
            "tasks": tasks_meta,
            "feature_schema": _feature_schema(all_models),
            "packages": package_versions(),
            "files": files,
        }
        manifest["bundle_id"] = _manifest_id(manifest)
        (tmp / MANIFEST).write_text(json.dumps(manifest, indent=1, allow_nan=True))
        tmp.chmod(0o755)  # mkdtemp makes it private; a bundle is for sharing
        if path.exists():
            shutil.rmtree(path)
        os.replace(tmp, path)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return path


def verify_bundle(path: str | os.PathLike) -> dict:
    """Check a bundle without loading any model; returns its manifest or raises BundleError."""
    path = Path(path)
    if not path.is_dir():
        raise BundleError(f"{path} is not a bundle directory")
    mpath = path / MANIFEST
    if not mpath.is_file():
        raise BundleError(f"{path} has no {MANIFEST}; it is not a prom model bundle")
    try:
        manifest = json.loads(mpath.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise BundleError(f"{mpath} is not valid JSON ({e})") from None
    if not isinstance(manifest, dict) or manifest.get("format") != BUNDLE_FORMAT:
        raise BundleError(
            f"{mpath}: format is {manifest.get('format') if isinstance(manifest, dict) else None!r}, "
            f"expected {BUNDLE_FORMAT!r}; not a prom model bundle"
        )
    if manifest.get("format_version") != BUNDLE_FORMAT_VERSION:
        raise BundleError(
            f"{mpath}: bundle format version {manifest.get('format_version')!r}; "
            f"this version of prom reads version {BUNDLE_FORMAT_VERSION}"
        )
    if manifest.get("bundle_id") != _manifest_id(manifest):
        raise BundleError(
            f"{mpath} was modified after the bundle was written "
            "(its content no longer matches its bundle_id); refusing it"
        )
    listed = manifest.get("files")
    if not isinstance(listed, dict):
        raise BundleError(f"{mpath}: no file list")
    present = {p.relative_to(path).as_posix() for p in path.rglob("*") if p.is_file()}
    present.discard(MANIFEST)
    unknown = sorted(present - set(listed))
    if unknown:
        raise BundleError(
            f"{path}: file(s) not listed in the manifest: {', '.join(unknown)}; "
            "refusing a bundle with unknown files"
        )
    missing = sorted(set(listed) - present)
    if missing:
        raise BundleError(
            f"{path}: file(s) listed in the manifest are missing: {', '.join(missing)}"
        )
    for rel, digest in listed.items():
        if _sha256(path / rel) != digest:
            raise BundleError(
                f"{path / rel}: SHA-256 does not match the manifest; the file was "
                "changed after the bundle was written; refusing it"
            )
        if rel.endswith(
            ("model.ubj", "model.txt", "model.json", "model.skops", "state.json", f"/{RECORD_FILE}")
        ):
            continue
        raise BundleError(f"{path / rel}: not a file type a bundle may hold")
    return manifest


def load_bundle(path: str | os.PathLike) -> Bundle:
    """Verify (see :func:`verify_bundle`) and load a bundle's models."""
    from prom.models import PromClassifier, PromCoxModel

    path = Path(path)
    manifest = verify_bundle(path)
    bundle = Bundle(path=path, manifest=manifest)
    for tname, tmeta in manifest["tasks"].items():
        models = {}
        for mname, mm in tmeta["models"].items():
            if mm["format"] == "cox-json":
                try:
                    models[mname] = PromCoxModel.from_state(
                        json.loads((path / mm["estimator"]).read_text(encoding="utf-8"))
                    )
                except (ValueError, KeyError, TypeError) as e:
                    raise BundleError(
                        f"{path / mm['estimator']}: not a readable Cox model "
                        f"({type(e).__name__}: {e})"
                    ) from None
                continue
            state = json.loads((path / mm["state"]).read_text(encoding="utf-8"))
            est = _load_estimator(mm["format"], path / mm["estimator"], int(mm["n_classes"]))
            models[mname] = PromClassifier.from_state(state, est)
        bundle.tasks[tname] = BundleTask(
            name=tname,
            meta=tmeta,
            models=models,
            primary=tmeta["primary"],
            baseline=tmeta.get("baseline", "logistic"),
        )
    return bundle
