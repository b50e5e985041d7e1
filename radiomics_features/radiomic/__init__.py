"""Radiomic features of each lumbar disc and the canal behind it, on sagittal slices.

pyradiomics (3.0.1) computes the features; this package decides *where*:

* **Slice** — one per patient, the mid-sagittal slice of
  :func:`radiomics_features.geometry.choose_mid_slice` (or ``mid_slice``). A disc absent
  there is taken on the nearest slice that has it (column ``slice``), as geometry does.
  With ``halfwidth_slices = h > 0`` the intensity and texture classes pool the ROI over
  slices ``slice - h … slice + h`` (texture still in-plane: ``force2D``); shape2D is
  always computed on ``slice`` alone.
* **ROIs**, one row each per disc level ``l1_l2 … l5_s1``:

  - ``disc`` — the level's disc voxels (:class:`~radiomics_features.levelling.LevelledSpine`).
  - ``canal`` — the canal segment at the disc: canal voxels lying between the disc's two
    endplate lines extended posteriorly, i.e. within the disc's extent across its own
    long axis (its principal axis on ``slice``), behind the disc's centre and at most
    60 mm from it (:data:`~radiomics_features.radiomic.rois.CANAL_REACH_MM`). For a
    level disc this is the canal within the disc's superior–inferior extent; for a
    tilted one (L5/S1) the band tilts with it. Needs the three-class mask (``mask=``);
    without it the canal rows say so.

Output (:func:`radiomic_features`): a long table, one row per ROI — ``level``, ``roi``,
``slice``, ``n_voxels`` (voxels of the ROI handed to pyradiomics), ``reason`` (empty
when fine; otherwise why the features are NaN), then one column per feature named
``rad_<class>_<feature>`` in lower snake case: pyradiomics' ``glcm`` ``Contrast`` is
``rad_glcm_contrast``, ``shape2D`` ``PixelSurface`` is ``rad_shape2d_pixel_surface``,
``firstorder`` ``10Percentile`` is ``rad_firstorder_10_percentile``
(:func:`feature_columns` lists them). Shape features are in mm / mm²; intensities are
in normalised units (see the YAML). pyradiomics' ``diagnostics_*`` entries are never
features. A missing or too-small ROI gets NaN features and a reason; nothing raises for
anatomy.

Parameters live in ``params/sagittal_2d.yaml`` and are checked by :func:`load_params`
against the schema in :mod:`~radiomics_features.radiomic.params`; :func:`params_hash`
fingerprints them for provenance.

pyradiomics cannot be a normal dependency (its source build needs numpy inside pip's
isolated build environment); install it with :data:`INSTALL_HINT`
(:func:`require_pyradiomics` says so when it is missing).

Modules: :mod:`~radiomics_features.radiomic.library` (pyradiomics and its feature
names), :mod:`~radiomics_features.radiomic.params` (the parameter schema),
:mod:`~radiomics_features.radiomic.provenance`, :mod:`~radiomics_features.radiomic.rois`
(where), :mod:`~radiomics_features.radiomic.extract` (the extraction).
"""

from radiomics_features.radiomic.extract import radiomic_features
from radiomics_features.radiomic.library import INSTALL_HINT, require_pyradiomics
from radiomics_features.radiomic.params import (
    DEFAULT_PARAMS_PATH,
    FEATURE_CLASSES,
    ParamsSource,
    RadiomicsParamsError,
    feature_columns,
    load_params,
    params_hash,
    resolve_params,
    validate_params,
)
from radiomics_features.radiomic.provenance import package_versions, radiomics_provenance
from radiomics_features.radiomic.rois import ROI_KINDS

__all__ = [
    "DEFAULT_PARAMS_PATH",
    "FEATURE_CLASSES",
    "ROI_KINDS",
    "INSTALL_HINT",
    "RadiomicsParamsError",
    "ParamsSource",
    "load_params",
    "validate_params",
    "resolve_params",
    "params_hash",
    "feature_columns",
    "radiomic_features",
    "radiomics_provenance",
    "package_versions",
    "require_pyradiomics",
]
