"""From MRI files to per-level imaging features: one case, or a folder in parallel.

One case (:func:`extract_case`) runs five stages, and a sixth on request, each timed
(``TIMED_STAGES``):

``read``      the image (NIfTI/MHA/NRRD file or a DICOM series folder) into canonical
              order; with a mask, :func:`~radiomics_features.io.read_image_and_mask`
              (the mask's anatomy then checks an untrusted orientation) and conversion
              to three classes with the named label convention (default
              ``three_class``; other labels raise an error naming the convention to pass).
``segment``   without a mask: the bundled backbone (:func:`~radiomics_features.backbone.
              inference.segment_volume`); 0 s with a supplied mask.
``label``     :func:`~radiomics_features.postprocess.clean_mask`, then
              :func:`~radiomics_features.levelling.label_levels` (**the lowest visible
              disc is taken as L5/S1**) and the mid-sagittal slice.
``geometry``  :func:`~radiomics_features.geometry.spine_geometry`.
``radiomics`` :func:`~radiomics_features.radiomic.radiomic_features` (skipped with
              ``radiomics=False``).
``grade``     with ``grade=True``: the bundled disc grader on the slice with the most
              canal, each disc under its level's name
              (:mod:`radiomics_features.grader.levelled`).

Outputs (:class:`CaseResult`):

* ``long`` — one row per level (``l1, l1_l2, … l5, l5_s1``): ``patient_id``, the geometry
  columns, the disc ROI's radiomic features as ``rad_<class>_<feature>`` with
  ``rad_n_voxels`` / ``rad_reason``, the canal segment's as ``rad_canal_<class>_<feature>``
  with ``rad_canal_n_voxels`` / ``rad_canal_reason`` (NaN on vertebra rows), then the
  provenance columns.
* ``wide`` — one row: ``patient_id``, ``img_<level>_<feature>`` for every numeric
  feature (geometry; ``rad_…`` and ``rad_canal_…`` on disc levels), provenance columns.
* Provenance columns (``prov_`` prefix, never ``img_``): ``prov_image_sha256``,
  ``prov_dicom_series`` and ``prov_dicom_series_uid`` (the DICOM series read: its
  description, plane and number of files; its Series Instance UID),
  ``prov_mask_source`` (``supplied mask`` / ``backbone``), ``prov_mask_sha256``,
  ``prov_backbone_sha256``, ``prov_params_sha256``, ``prov_mid_slice``, ``prov_levelling``
  and the versions of radiomics_features, pyradiomics, SimpleITK and numpy.

Batches (:func:`find_cases`, :func:`extract_batch`): a failing case never stops the
batch; it becomes a row of ``errors`` (patient id, image, stage, error type, message).

Patient ids come from file and folder names, and masks are matched to images by them
(:mod:`radiomics_features.pipeline.cases` has the rule).

Modules: :mod:`~radiomics_features.pipeline.cases` (finding cases),
:mod:`~radiomics_features.pipeline.case` (one case),
:mod:`~radiomics_features.pipeline.batch` (many cases).
"""

from radiomics_features.pipeline.batch import BatchResult, extract_batch
from radiomics_features.pipeline.case import (
    MASK_SOURCES,
    STAGES,
    TIMED_STAGES,
    CaseResult,
    extract_case,
    sha256_of_path,
)
from radiomics_features.pipeline.cases import Case, find_cases, patient_id_from_path

__all__ = [
    "STAGES",
    "TIMED_STAGES",
    "MASK_SOURCES",
    "Case",
    "CaseResult",
    "BatchResult",
    "patient_id_from_path",
    "find_cases",
    "extract_case",
    "extract_batch",
    "sha256_of_path",
]
