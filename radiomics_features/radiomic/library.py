"""pyradiomics, the library: imported on demand, its feature lists, its names as columns.

pyradiomics cannot be a normal dependency (its source build needs numpy inside pip's
isolated build environment); :func:`require_pyradiomics` says how to install it
(:data:`INSTALL_HINT`) when it is missing. A feature becomes the column
``rad_<class>_<feature>`` in lower snake case (:func:`feature_column`).
"""

from __future__ import annotations

import logging
import re
from types import ModuleType

__all__ = [
    "INSTALL_HINT",
    "PREFIX",
    "require_pyradiomics",
    "class_features",
    "feature_column",
]

PREFIX = "rad_"
INSTALL_HINT = (
    "pip install setuptools wheel numpy && pip install --no-build-isolation pyradiomics==3.0.1"
)


def require_pyradiomics() -> tuple[ModuleType, ModuleType]:
    """Import pyradiomics with its logging silenced (it logs per extraction).

    Returns ``(radiomics, radiomics.featureextractor)``; raises :class:`ImportError`
    with the install commands (:data:`INSTALL_HINT`) when pyradiomics is missing.
    """
    try:
        import radiomics
        from radiomics import featureextractor
    except ImportError as exc:
        raise ImportError(
            "radiomic features need pyradiomics 3.0.1, which cannot be installed as a normal "
            "dependency (its source build needs numpy in pip's isolated build environment). "
            f"Install it with: {INSTALL_HINT}"
        ) from exc
    # pyradiomics logs settings and per-ROI messages (INFO/WARNING) on its own stderr
    # handler; ROI failures reach the caller as reasons instead, so only CRITICAL passes.
    logging.getLogger("radiomics").setLevel(logging.CRITICAL)
    return radiomics, featureextractor


def class_features(cls: str, *, include_deprecated: bool = False) -> list[str]:
    """pyradiomics' feature names of class ``cls`` (e.g. ``glcm``), in its order."""
    radiomics, _ = require_pyradiomics()
    names = radiomics.getFeatureClasses()[cls].getFeatureNames()
    return [n for n, deprecated in names.items() if include_deprecated or not deprecated]


def _snake(name: str) -> str:
    s = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name)
    s = re.sub(r"(?<=[A-Z])(?=[A-Z][a-z])", "_", s)
    return s.lower()


def feature_column(cls: str, feature: str) -> str:
    """The output column of a pyradiomics feature: ``glcm`` ``Contrast`` is
    ``rad_glcm_contrast``, ``firstorder`` ``10Percentile`` is
    ``rad_firstorder_10_percentile``."""
    return f"{PREFIX}{cls.lower()}_{_snake(feature)}"
