"""The measured imaging reference: each imaging feature on the scale the pipeline measures.

``prom/data/imaging_reference.json`` records how the cohort contract's per-disc imaging
features (:data:`prom.cohort.contract.IMAGING_FEATURES`) are distributed when the
toolkit's own extraction measures real sagittal T2 MRI, so that the cohort simulator,
the models trained on it and a user's scan all give each feature one meaning.

How it was measured
-------------------
The 31 patients of the SPIDER sagittal T2 subset (``../shared/data/spider-t2-lumbar``)
were run through :func:`radiomics_features.pipeline.extract_batch` with radiomics
(via :func:`radiomics_features.pfirrmann.disc_dataset`): once segmented by the bundled
backbone (source ``backbone`` — the path a scan uploaded to the calculator takes, and the
one the simulator draws from, ``"primary"``) and once on SPIDER's expert masks (source
``truth``, for comparison). Each lumbar disc (``l1_l2 … l5_s1``, levelled from the
lowest visible disc as L5/S1) is joined to SPIDER's radiologist Pfirrmann grade.
Pipeline columns per contract feature are :data:`MEASURED_COLUMNS`. The simulator
produces disc-level features only, so vertebral levels (``l1 … l5``) are not recorded.
Intensities are SPIDER's windowed 8-bit values: the disc/CSF signal ratio and the texture
features are on that scale (see the data README).

The two sources agree closely (medians over all 155 discs, backbone / expert masks): disc
height 7.79 / 7.66 mm, height index 0.320 / 0.311, canal AP 12.0 / 11.4 mm, disc/CSF
ratio 0.127 / 0.126, entropy 4.36 / 4.41, GLCM contrast 15.1 / 14.7, GLCM correlation
0.779 / 0.780. The backbone was trained on 24 of these 31 patients, so its agreement here
is optimistic (see its model card).

Regenerate with ``make imaging-reference`` (:mod:`prom.cohort.imaging_reference_build`;
minutes, not part of the tests).

What it holds (per source, ``sources[<source>]``)
-------------------------------------------------
- ``summaries``: one row per ``level`` (a disc level or ``"all"``), ``grade`` (1–5 or
  ``"all"``) and ``feature``: ``n``, ``mean``, ``sd`` (``ddof=1``) and the quantiles
  ``p01 p05 p25 p50 p75 p95 p99`` (numpy's linear interpolation; with ~31 discs per level
  ``p01``/``p99`` are close to the minimum/maximum). ``feature == "pfirrmann"`` summarises
  the grade itself per level.
- ``grades``: discs per level and grade; ``grade_spearman``: each feature's Spearman
  correlation with the grade over all discs (discs cluster within patients: a check of
  direction and rough size, not inference).
- ``model``: the joint structure the simulator draws from. Per feature, on its scale
  (``transform``: ``identity``, ``log`` or ``atanh`` — whichever leaves the measured
  values least skewed), value = ``intercept[level]`` +
  ``grade_effect[grade]`` (0 for grade 3) + residual (OLS); residual SD ``residual_sd``; the share of
  residual variance shared by a patient's discs ``patient_share`` (an intraclass
  correlation); ``residual_correlation`` between the features (in ``features`` order) of
  one disc.

Credit: SPIDER — van der Graaf JW, van Hooff ML, Buckens CFM, et al. Lumbar spine
segmentation in MR images: a dataset and a public benchmark. Scientific Data 11, 264
(2024), doi:10.5281/zenodo.10159290; licence CC BY 4.0.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

__all__ = [
    "DEFAULT_PATH",
    "MEASURED_COLUMNS",
    "QUANTILES",
    "REFERENCE_FEATURES",
    "ImagingReference",
    "JointModel",
    "load_imaging_reference",
]

DEFAULT_PATH = Path(__file__).resolve().parents[1] / "data" / "imaging_reference.json"
#: Percentiles recorded for every (level, grade, feature).
QUANTILES: tuple[int, ...] = (1, 5, 25, 50, 75, 95, 99)
#: Contract feature → the pipeline's per-disc column (the calculator reads the same ones).
MEASURED_COLUMNS: dict[str, str] = {
    "disc_height_mm": "disc_height_mm",
    "disc_height_index": "disc_height_index",
    "canal_ap_mm": "canal_ap_mm",
    "disc_csf_signal_ratio": "disc_csf_signal_ratio",
    "firstorder_entropy": "rad_firstorder_entropy",
    "glcm_contrast": "rad_glcm_contrast",
    "glcm_correlation": "rad_glcm_correlation",
}
#: The measured (continuous) features, in the model's order; the Pfirrmann grade is read.
REFERENCE_FEATURES: tuple[str, ...] = tuple(MEASURED_COLUMNS)


_FORWARD = {"log": np.log, "atanh": np.arctanh}
_INVERSE = {"log": np.exp, "atanh": np.tanh}


@dataclass(frozen=True)
class JointModel:
    """Per-level, per-grade model of the measured features (see the module docstring).

    Arrays are in :data:`REFERENCE_FEATURES` order: ``intercept`` (5 levels × features),
    ``grade_effect`` (grades 1–5 × features), ``residual_sd``, ``patient_share``,
    ``residual_correlation`` (features × features), ``transform`` (each feature's scale:
    ``identity``, ``log`` or ``atanh``).
    """

    intercept: np.ndarray
    grade_effect: np.ndarray
    residual_sd: np.ndarray
    patient_share: np.ndarray
    residual_correlation: np.ndarray
    transform: tuple[str, ...]

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> JointModel:
        from prom.naming import DISC_LEVELS

        feats = tuple(d["features"])
        if feats != REFERENCE_FEATURES:
            raise ValueError(
                f"imaging reference model has features {feats}; expected {REFERENCE_FEATURES}"
                " (regenerate it: make imaging-reference)"
            )
        return cls(
            intercept=np.array([[d["intercept"][f][lev] for f in feats] for lev in DISC_LEVELS]),
            grade_effect=np.array(
                [[d["grade_effect"][f][str(g)] for f in feats] for g in range(1, 6)]
            ),
            residual_sd=np.array([d["residual_sd"][f] for f in feats]),
            patient_share=np.array([d["patient_share"][f] for f in feats]),
            residual_correlation=np.array(d["residual_correlation"], dtype=float),
            transform=tuple(d["transform"][f] for f in feats),
        )

    def draw(self, rng: np.random.Generator, grade: np.ndarray) -> np.ndarray:
        """Features of ``n`` patients' five discs, shape ``(n, 5, features)``, given their
        Pfirrmann grades ``grade`` (``(n, 5)``), on the measured scale.

        Residuals are multivariate normal with the recorded correlation; a share
        ``patient_share`` of each feature's residual variance is common to the patient's
        five discs (the same standard-normal vector for all levels), the rest is per disc.
        """
        n, k = grade.shape[0], self.residual_sd.size
        chol = np.linalg.cholesky(self.residual_correlation)
        patient = rng.standard_normal((n, 1, k)) @ chol.T
        disc = rng.standard_normal((n, 5, k)) @ chol.T
        share = self.patient_share
        z = np.sqrt(share) * patient + np.sqrt(1.0 - share) * disc
        mean = self.intercept[None, :, :] + self.grade_effect[grade.astype(np.int64) - 1]
        y = mean + self.residual_sd * z
        for k, t in enumerate(self.transform):
            if t != "identity":
                y[..., k] = _INVERSE[t](y[..., k])
        return y

    def to_model_scale(self, values: np.ndarray) -> np.ndarray:
        """``values`` (``(..., features)``) on the scale the model is linear on."""
        out = np.array(values, dtype=float)
        for k, t in enumerate(self.transform):
            if t != "identity":
                out[..., k] = _FORWARD[t](out[..., k])
        return out


@dataclass(frozen=True)
class ImagingReference:
    """The reference table: its metadata and each source's summaries and joint model."""

    data: dict[str, Any]

    @property
    def primary(self) -> str:
        return str(self.data["primary"])

    def model(self, source: str | None = None) -> JointModel:
        return JointModel.from_dict(self._source(source)["model"])

    def summary(
        self, feature: str, level: str = "all", grade: int | str = "all", source: str | None = None
    ) -> dict[str, Any]:
        """The recorded ``n``, ``mean``, ``sd`` and ``p01 … p99`` of one cell."""
        for row in self._source(source)["summaries"]:
            if row["feature"] == feature and row["level"] == level and row["grade"] == grade:
                return dict(row)
        raise KeyError(
            f"no reference summary for feature={feature!r} level={level!r} grade={grade!r}"
        )

    def _source(self, source: str | None) -> dict[str, Any]:
        source = source or self.primary
        try:
            return self.data["sources"][source]
        except KeyError:
            raise KeyError(
                f"imaging reference has no source {source!r}; "
                f"it has {', '.join(self.data['sources'])}"
            ) from None


@functools.lru_cache(maxsize=4)
def load_imaging_reference(path: str | Path | None = None) -> ImagingReference:
    """The reference table shipped with the package (or the one at ``path``)."""
    p = Path(path) if path is not None else DEFAULT_PATH
    try:
        data = json.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise FileNotFoundError(
            f"imaging reference table {p} not found; regenerate it with make imaging-reference"
        ) from None
    if data.get("format") != 1:
        raise ValueError(f"{p}: format {data.get('format')!r}; expected 1")
    return ImagingReference(data)
