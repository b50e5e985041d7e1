"""The whole manifest: its fields, its ``bundle_id``, its format version and upgrades."""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from prom.bundle.manifest.entries import (
    ClassifierTaskEntry,
    SurvivalTaskEntry,
    task_entry_from_dict,
)
from prom.bundle.manifest.reader import BundleError, FieldReader
from prom.models.ranges import CategoricalRange, NumericRange, read_training_ranges

__all__ = [
    "BUNDLE_FORMAT",
    "BUNDLE_FORMAT_VERSION",
    "UPGRADES",
    "Manifest",
    "manifest_id",
    "upgrade",
]

BUNDLE_FORMAT = "prom-model-bundle"
BUNDLE_FORMAT_VERSION = 1

#: ``{old version: function(manifest dict) -> manifest dict of the next version}``.
UPGRADES: dict[int, Callable[[dict[str, Any]], dict[str, Any]]] = {}


def manifest_id(raw: Mapping[str, Any]) -> str:
    """The ``bundle_id`` of a manifest: SHA-256 of its canonical JSON without ``bundle_id``."""
    body = {k: v for k, v in raw.items() if k != "bundle_id"}
    canonical = json.dumps(
        body, sort_keys=True, separators=(",", ":"), ensure_ascii=True, allow_nan=True
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


@dataclass(frozen=True)
class Manifest:
    """A bundle's manifest (see the module docstring)."""

    created: str
    description: str
    tasks: Mapping[str, ClassifierTaskEntry | SurvivalTaskEntry]
    #: every predictor's training summary (the union over the bundle's models)
    feature_schema: Mapping[str, NumericRange | CategoricalRange]
    packages: Mapping[str, str]
    files: Mapping[str, str]
    bundle_id: str = ""
    format_version: int = BUNDLE_FORMAT_VERSION

    @property
    def is_demonstration(self) -> bool:
        """The bundle says it was trained on simulated data (its description)."""
        d = self.description.upper()
        return "DEMONSTRATION" in d or "SIMULATED" in d

    @property
    def spine_prom_version(self) -> str:
        return self.packages.get("spine-prom", "?")

    def to_dict(self) -> dict[str, Any]:
        """The JSON object written to ``manifest.json`` (``bundle_id`` last, when set)."""
        d: dict[str, Any] = {
            "format": BUNDLE_FORMAT,
            "format_version": self.format_version,
            "created": self.created,
            "description": self.description,
            "tasks": {k: t.to_dict() for k, t in self.tasks.items()},
            "feature_schema": {k: v.to_dict() for k, v in self.feature_schema.items()},
            "packages": dict(self.packages),
            "files": dict(self.files),
        }
        if self.bundle_id:
            d["bundle_id"] = self.bundle_id
        return d

    def sealed(self) -> dict[str, Any]:
        """The JSON object to write: :meth:`to_dict` as plain JSON with its ``bundle_id``."""
        from prom.jsonable import to_jsonable

        raw = to_jsonable(dataclasses.replace(self, bundle_id="").to_dict())
        raw["bundle_id"] = manifest_id(raw)
        return raw

    @classmethod
    def read(cls, raw: Any, where: str = "manifest.json") -> Manifest:
        """A manifest as read from a bundle: its format checked, its ``bundle_id`` checked
        against its own content (an edited manifest is refused), then typed."""
        if not isinstance(raw, Mapping) or raw.get("format") != BUNDLE_FORMAT:
            found = raw.get("format") if isinstance(raw, Mapping) else None
            raise BundleError(
                f"{where}: format is {found!r}, expected {BUNDLE_FORMAT!r}; not a prom model bundle"
            )
        if raw.get("bundle_id") != manifest_id(raw):
            raise BundleError(
                f"{where} was modified after the bundle was written "
                "(its content no longer matches its bundle_id); refusing it"
            )
        return cls.from_dict(raw, where)

    @classmethod
    def from_dict(cls, d: Any, where: str = "manifest.json") -> Manifest:
        """Read a manifest, upgrading an older format or refusing one it cannot read."""
        if not isinstance(d, Mapping) or d.get("format") != BUNDLE_FORMAT:
            found = d.get("format") if isinstance(d, Mapping) else None
            raise BundleError(
                f"{where}: format is {found!r}, expected {BUNDLE_FORMAT!r}; not a prom model bundle"
            )
        d = upgrade(dict(d), where)
        r = FieldReader(d, where)
        r.req("format")
        r.req("format_version")
        tasks = {k: task_entry_from_dict(k, v) for k, v in r.mapping("tasks").items()}
        if not tasks:
            raise BundleError(f"{where}: the bundle holds no task")
        try:
            schema = read_training_ranges(r.mapping("feature_schema"))
        except (TypeError, ValueError) as e:
            raise BundleError(f"{where}: feature_schema: {e}") from None
        manifest = cls(
            created=r.text("created"),
            description=r.text("description"),
            tasks=tasks,
            feature_schema=schema,
            packages=dict(r.mapping("packages")),
            files=dict(r.mapping("files")),
            bundle_id=r.text("bundle_id", required=False) or "",
            format_version=BUNDLE_FORMAT_VERSION,
        )
        r.done()
        return manifest


def upgrade(d: dict[str, Any], where: str = "manifest.json") -> dict[str, Any]:
    """``d`` brought to :data:`BUNDLE_FORMAT_VERSION` by the registered upgrades, or refused."""
    version = d.get("format_version")
    if isinstance(version, bool) or not isinstance(version, int):
        raise BundleError(f"{where}: format_version is {version!r}; expected an integer")
    if version > BUNDLE_FORMAT_VERSION:
        raise BundleError(
            f"{where}: bundle format version {version} was written by a newer spine-prom; "
            f"this version reads format version {BUNDLE_FORMAT_VERSION} — upgrade spine-prom"
        )
    while version < BUNDLE_FORMAT_VERSION:
        step = UPGRADES.get(version)
        if step is None:
            raise BundleError(
                f"{where}: bundle format version {version} is older than any this version of "
                f"spine-prom reads (version {BUNDLE_FORMAT_VERSION}); refit the models with "
                "prom fit"
            )
        d = step(d)
        version = d["format_version"]
    return d
