"""Disc signal and its CSF reference, near the mid-sagittal slice."""

from __future__ import annotations

import numpy as np

from radiomics_features.geometry.chords import Frame

__all__ = ["measure_signal"]


def measure_signal(
    row: dict, disc3, canal3, img3, f: Frame, sp2, band: float, canal_here: bool
) -> None:
    """Add ``disc_signal_mean``/``_median``, ``csf_signal_median`` and
    ``disc_csf_signal_ratio`` to a disc's ``row``, or a reason to ``row["reason"]``.

    ``disc3``/``canal3``/``img3`` are the disc, canal and image on the slices around the
    mid slice; the CSF is the canal within ±``band`` mm of the disc centre along ``v``,
    taken only when the canal is labelled behind the disc (``canal_here``).
    """
    vals = img3[disc3].astype(float)
    if vals.size == 0:
        row["reason"].append("no disc voxels near the mid slice: signal not measured")
        return
    row["disc_signal_mean"] = float(vals.mean())
    row["disc_signal_median"] = float(np.median(vals))
    if not canal_here:
        row["reason"].append("canal not labelled behind the disc: CSF reference not taken")
        return
    idx = np.argwhere(canal3)
    if idx.size:
        pos = idx[:, 1:] * sp2 - f.centre
        near = np.abs(pos @ f.v) <= band
        csf = img3[tuple(idx[near].T)].astype(float)
    else:
        csf = np.empty(0)
    if csf.size == 0:
        row["reason"].append(f"no canal within ±{band:g} mm of the disc: CSF signal not measured")
        return
    row["csf_signal_median"] = csf_median = float(np.median(csf))
    disc_median = row["disc_signal_median"]
    if csf_median > 0 and disc_median >= 0:
        row["disc_csf_signal_ratio"] = disc_median / csf_median
    elif csf_median == 0:
        row["reason"].append("CSF signal is 0: ratio not defined")
    else:  # a magnitude image has no negative signal: an offset or a signed rescaling
        row["reason"].append(
            f"negative signal (disc median {disc_median:.3g}, CSF median {csf_median:.3g}): "
            "the intensities are not a magnitude image (an offset or signed rescaling?), "
            "so the ratio is not defined"
        )
