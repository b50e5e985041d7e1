"""The bundle manifest as typed, frozen data: what a bundle says about itself.

``manifest.json`` is the one file every consumer of a bundle reads — the report, the
calculator, the bulk scorer, evaluation on new data. This package is the only place that
knows its JSON layout (:mod:`~prom.bundle.manifest.reader` reads a JSON object field by
field, :mod:`~prom.bundle.manifest.entries` declares the task entries,
:mod:`~prom.bundle.manifest.document` the whole manifest and its versions).
:meth:`Manifest.read` checks a manifest's own ``bundle_id`` and reads it into the classes
below (refusing anything it does not know, naming the task and field);
:meth:`Manifest.to_dict` writes it back. Everything else works on attributes (``entry.primary``,
``entry.definition.threshold``), never on ``meta["…"]``.

Layout (format ``prom-model-bundle``, version :data:`BUNDLE_FORMAT_VERSION`)::

    format, format_version, created, description,
    tasks: {name: TaskEntry}           ClassifierTaskEntry (binary, multiclass) or
                                       SurvivalTaskEntry (survival)
    feature_schema: {predictor: training summary}   NumericRange / CategoricalRange
                                       (prom.models.ranges)
    packages: {name: version}, files: {relative path: sha256}, bundle_id

``to_dict`` writes the keys in the order bundles have always been written, so the bytes
of a bundle do not change with this package (a test round-trips the embedded bundle).

Versions: a manifest of a newer format than this code reads is refused with the version
it has and the version this code reads; an older one is upgraded by the function
registered for it in :data:`UPGRADES` (none yet: version 1 is the first), or refused.
"""

from prom.bundle.manifest.document import (
    BUNDLE_FORMAT,
    BUNDLE_FORMAT_VERSION,
    UPGRADES,
    Manifest,
    manifest_id,
    upgrade,
)
from prom.bundle.manifest.entries import (
    ClassifierSettings,
    ClassifierTaskEntry,
    ModelEntry,
    SampleSize,
    SiteValidation,
    SurvivalSettings,
    SurvivalTaskEntry,
    TaskEntry,
    task_entry_from_dict,
)
from prom.bundle.manifest.provenance import ContractCheck, FitProvenance
from prom.bundle.manifest.reader import BundleError, Records

__all__ = [
    "BUNDLE_FORMAT",
    "BUNDLE_FORMAT_VERSION",
    "UPGRADES",
    "BundleError",
    "Records",
    "ModelEntry",
    "SampleSize",
    "SiteValidation",
    "ClassifierSettings",
    "SurvivalSettings",
    "TaskEntry",
    "ClassifierTaskEntry",
    "SurvivalTaskEntry",
    "Manifest",
    "manifest_id",
    "upgrade",
    "task_entry_from_dict",
    "ContractCheck",
    "FitProvenance",
]
