"""Model bundles: fitted models on disk in safe formats, with a typed manifest, verified on load.

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
                                      into objects

- :mod:`prom.bundle.manifest` — the manifest as typed, frozen data (the only code that
  knows its JSON layout), format versions;
- :mod:`prom.bundle.formats` — the safe on-disk formats of fitted estimators;
- :mod:`prom.bundle.booster_guard` — booster files checked in Python
  (:mod:`~prom.bundle.lightgbm_text`, :mod:`~prom.bundle.xgboost_ubj` with the bounded
  reader :mod:`~prom.bundle.ubjson`) and test-loaded in a child process
  (:mod:`~prom.bundle.booster_probe`) before this process loads them;
- :mod:`prom.bundle.store` — writing, verifying (hashes, no unknown files) and loading.

Nothing is ever unpickled.
"""

from prom.bundle.formats import SKOPS_TRUSTED_TYPES
from prom.bundle.manifest import (
    BUNDLE_FORMAT,
    BUNDLE_FORMAT_VERSION,
    BundleError,
    ClassifierSettings,
    ClassifierTaskEntry,
    Manifest,
    ModelEntry,
    SampleSize,
    SiteValidation,
    SurvivalSettings,
    SurvivalTaskEntry,
    TaskEntry,
)
from prom.bundle.store import (
    MANIFEST,
    RECORD_FILE,
    RECORD_VERSION,
    Bundle,
    BundleTask,
    load_bundle,
    manifest_id,
    package_versions,
    sha256_file,
    verify_bundle,
    write_bundle,
)

__all__ = [
    "BUNDLE_FORMAT",
    "BUNDLE_FORMAT_VERSION",
    "MANIFEST",
    "RECORD_FILE",
    "RECORD_VERSION",
    "SKOPS_TRUSTED_TYPES",
    "BundleError",
    "Bundle",
    "BundleTask",
    "Manifest",
    "TaskEntry",
    "ClassifierTaskEntry",
    "SurvivalTaskEntry",
    "ClassifierSettings",
    "SurvivalSettings",
    "ModelEntry",
    "SampleSize",
    "SiteValidation",
    "write_bundle",
    "verify_bundle",
    "load_bundle",
    "manifest_id",
    "package_versions",
    "sha256_file",
]
