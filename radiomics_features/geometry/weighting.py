"""Is the scan T2-weighted? The discs' signal against the CSF's says.

The signal and texture features (``disc_csf_signal_ratio``, the radiomic features) mean
what the models learned only on a sagittal T2-weighted series. A T1-weighted series read
in its place — an easy slip when a study holds both — is segmented and measured like any
other, and its numbers look like numbers. But the two weightings differ where it counts:
CSF is the brightest tissue on T2 and dark on T1, while the discs are intermediate on
both. So the disc/CSF signal ratio (disc median over the median of the CSF beside it,
:mod:`radiomics_features.geometry.signal`) falls far below 1 on T2 and near or above 1 on
T1.

Measured with this pipeline on SPIDER's standard sagittal series (the mid-sagittal T1 and
T2 slice of each of the 155 patients with both, repeated into a 5-slice stack; 8-bit
windowed exports, so ratios differ somewhat from raw scanner values;
``benchmarks/weighting_check.py``, recorded in ``benchmarks/RESULTS.md``), the median over
a case's discs (cases with at least two) was:

- first 60 patients (where the threshold was chosen): T2 0.04–0.72 (57 cases), T1
  0.80–2.00 (53 cases): every case on its side of 0.8;
- the other 95 (held out, checked once with the chosen threshold): T2 0.06–0.82, one of
  91 at or above 0.8; T1 0.78–2.06, 82 of 83 at or above it.

On the raw T2 SPACE volumes of ``spider-t2-lumbar`` the ratio is 0.08–0.17. A case whose
median ratio is at least :data:`T1_LIKE_RATIO` is said to look T1-weighted; the check
reads no header (Series Description and sequence names are free text that vendors and
sites fill differently), only the image.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

__all__ = ["T1_LIKE_RATIO", "MIN_DISCS", "looks_t1_weighted", "weighting_note"]

#: A case whose discs' median disc/CSF signal ratio reaches this looks T1-weighted.
T1_LIKE_RATIO = 0.8
#: Discs with a ratio needed before the check speaks.
MIN_DISCS = 2


def _ratios(values: Iterable[float]) -> np.ndarray:
    v = np.asarray([float(x) for x in values if x is not None], dtype=float)
    return v[np.isfinite(v)]


def looks_t1_weighted(ratios: Iterable[float]) -> bool:
    """Whether discs' disc/CSF signal ratios (NaN where not measured) say the scan is not
    T2-weighted: a median of at least :data:`T1_LIKE_RATIO` over at least
    :data:`MIN_DISCS` discs."""
    v = _ratios(ratios)
    return v.size >= MIN_DISCS and float(np.median(v)) >= T1_LIKE_RATIO


def weighting_note(ratios: Iterable[float]) -> str:
    """The case note when the scan looks T1-weighted (see :func:`looks_t1_weighted`),
    else ``""``."""
    v = _ratios(ratios)
    if not looks_t1_weighted(v):
        return ""
    return (
        f"the discs are about as bright as the CSF or brighter (median disc/CSF signal "
        f"ratio {np.median(v):.2f} over {v.size} discs; T2-weighted scans measure well "
        f"below {T1_LIKE_RATIO:g}): the scan looks T1-weighted — signal and texture "
        "features mean what the models learned only on a sagittal T2 series; read the T2"
    )
