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
    signature.json                    detached Ed25519 signature of manifest.json's bytes
                                      (optional; without it the bundle is untrusted)

- :mod:`prom.bundle.manifest` — the manifest as typed, frozen data (the only code that
  knows its JSON layout), format versions;
- :mod:`prom.bundle.formats` — the safe on-disk formats of fitted estimators;
- :mod:`prom.bundle.booster_guard` — booster files checked in Python
  (:mod:`~prom.bundle.lightgbm_text`, :mod:`~prom.bundle.xgboost_ubj` with the bounded
  reader :mod:`~prom.bundle.ubjson`) and test-loaded in a child process
  (:mod:`~prom.bundle.booster_probe`) before this process loads them;
- :mod:`prom.bundle.signing` — Ed25519 keys and the signature file;
- :mod:`prom.bundle.trust` — the trust store, the demonstration pin and the opt-out;
- :mod:`prom.bundle.verify` — checking a bundle (signature, trust, hashes, no unknown
  files) and signing one;
- :mod:`prom.bundle.store` — writing and loading.

Nothing is ever unpickled.
"""

from prom.bundle.formats import SKOPS_TRUSTED_TYPES
from prom.bundle.manifest import (
    BUNDLE_FORMAT,
    BUNDLE_FORMAT_VERSION,
    BundleError,
    ClassifierSettings,
    ClassifierTaskEntry,
    ContractCheck,
    FitProvenance,
    Manifest,
    ModelEntry,
    SampleSize,
    SiteValidation,
    SurvivalSettings,
    SurvivalTaskEntry,
    TaskEntry,
)
from prom.bundle.signing import (
    SIGNATURE,
    KeyFileError,
    PublicKey,
    Signature,
    SignatureError,
    SigningKey,
    read_public_key,
    read_signing_key,
    write_key_pair,
)
from prom.bundle.store import (
    RECORD_VERSION,
    Bundle,
    BundleTask,
    load_bundle,
    manifest_id,
    package_versions,
    write_bundle,
)
from prom.bundle.trust import (
    SIGNING_KEY_ENV,
    TRUST_STORE_ENV,
    Trust,
    TrustStore,
    UntrustedBundleError,
    default_trust_store,
    demo_pin,
)
from prom.bundle.verify import (
    MANIFEST,
    RECORD_FILE,
    check_bundle,
    sha256_file,
    sign_bundle,
    verify_bundle,
)

__all__ = [
    "BUNDLE_FORMAT",
    "BUNDLE_FORMAT_VERSION",
    "MANIFEST",
    "RECORD_FILE",
    "RECORD_VERSION",
    "SIGNATURE",
    "SKOPS_TRUSTED_TYPES",
    "SIGNING_KEY_ENV",
    "TRUST_STORE_ENV",
    "BundleError",
    "SignatureError",
    "UntrustedBundleError",
    "KeyFileError",
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
    "FitProvenance",
    "ContractCheck",
    "Trust",
    "TrustStore",
    "PublicKey",
    "SigningKey",
    "Signature",
    "write_bundle",
    "verify_bundle",
    "check_bundle",
    "load_bundle",
    "sign_bundle",
    "read_signing_key",
    "read_public_key",
    "write_key_pair",
    "default_trust_store",
    "demo_pin",
    "manifest_id",
    "package_versions",
    "sha256_file",
]
