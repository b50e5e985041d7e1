"""Provenance of radiomic features: package versions and the parameters' fingerprint.

The pipeline writes these into every output row (``prov_*`` columns), with the image
and mask hashes of each case.
"""

from __future__ import annotations

from importlib import metadata

import numpy as np

from radiomics_features import __version__
from radiomics_features.radiomic.params import ParamsSource, params_hash, resolve_params

__all__ = ["package_versions", "radiomics_provenance"]


def package_versions() -> dict[str, str]:
    """Versions of radiomics_features, pyradiomics, SimpleITK and numpy
    (``"not installed"`` for a missing package)."""

    def version(dist: str) -> str:
        try:
            return metadata.version(dist)
        except metadata.PackageNotFoundError:
            return "not installed"

    return {
        "radiomics_features_version": __version__,
        "pyradiomics_version": version("pyradiomics"),
        "simpleitk_version": version("SimpleITK"),
        "numpy_version": np.__version__,
    }


def radiomics_provenance(params: ParamsSource = None) -> dict:
    """Package versions (radiomics_features, pyradiomics, SimpleITK, numpy) and the
    parameters' sha256; the pipeline adds the image and mask hashes per case."""
    p = resolve_params(params)
    return {**package_versions(), "params_sha256": params_hash(p)}
