"""Check the slice set's disc numbering against SPIDER's expert volume masks.

For the 31 patients of ``spider-t2-lumbar`` the expert mask of their T2 SPACE volume
gives the disc sequence (the mask labels discs but not their levels, and not the
sacrum). The SPACE volume and the standard T2 series are different acquisitions with
no registration given, so positions cannot be compared; what can be compared is the
*sequence*: the number of discs and the profile of disc heights from the sacrum up.
If the slice's numbering were shifted by one level, its height profile would match the
mask's profile better when shifted; ``sequence_agreement`` reports the correlation at
shifts -1, 0 and +1.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

__all__ = ["mask_disc_sequence", "sequence_agreement"]


def mask_disc_sequence(mask_path: Path, min_area_mm2: float = 40.0) -> pd.DataFrame:
    """Discs of the expert mask's mid-sagittal slice (most canal voxels), numbered from
    the bottom: ``label``, ``height_mm`` (area / antero-posterior extent), ``area_mm2``."""
    import SimpleITK as sitk
    from scipy import ndimage

    img = sitk.ReadImage(str(mask_path))
    m = sitk.GetArrayFromImage(img)  # (slices, rows sup->inf, cols ant->post)
    sp = img.GetSpacing()[::-1]
    k = int(np.argmax((m == 3).sum(axis=(1, 2))))
    comps, n = ndimage.label(m[k] == 2)
    rows = []
    for c in range(1, n + 1):
        rr, cc = np.nonzero(comps == c)
        area = rr.size * sp[1] * sp[2]
        if area < min_area_mm2:
            continue
        width = (cc.max() - cc.min() + 1) * sp[2]
        rows.append({"row": rr.mean(), "height_mm": area / width, "area_mm2": area})
    d = pd.DataFrame(rows).sort_values("row", ascending=False).reset_index(drop=True)
    d["label"] = np.arange(1, len(d) + 1)
    return d


def sequence_agreement(slice_discs: pd.DataFrame, mask_discs: pd.DataFrame) -> dict:
    """Counts and height-profile correlation (Pearson) at label shifts -1, 0, +1."""
    a = slice_discs.set_index("label")["height_mm"]
    b = mask_discs.set_index("label")["height_mm"]
    out: dict = {"n_slice": len(a), "n_mask": len(b)}
    for shift in (-1, 0, 1):
        common = [lab for lab in a.index if lab + shift in b.index]
        if len(common) >= 3:
            x = a.loc[common].to_numpy()
            y = b.loc[[lab + shift for lab in common]].to_numpy()
            out[f"r_shift{shift:+d}"] = float(np.corrcoef(x, y)[0, 1])
        else:
            out[f"r_shift{shift:+d}"] = float("nan")
    return out


def verify_against_masks(
    volumes: Path, discs: pd.DataFrame, series_tab: pd.DataFrame
) -> pd.DataFrame:
    """One row per patient with a mask: counts, annotated count, correlations by shift."""
    rows = []
    for mp in sorted(Path(volumes).glob("spider_*_mask.nii.gz")):
        pid = int(mp.name.split("_")[1])
        md = mask_disc_sequence(mp)
        for seq in ("t2", "t1"):
            sd = discs[(discs.patient == pid) & (discs.sequence == seq)]
            st = series_tab[(series_tab.patient == pid) & (series_tab.sequence == seq)]
            if st.empty:
                continue
            agr = sequence_agreement(sd, md) if len(sd) else {"n_slice": 0, "n_mask": len(md)}
            rows.append(
                {
                    "patient": pid,
                    "sequence": seq,
                    "num_discs_annotated": int(st.num_discs_annotated.iloc[0]),
                    "sacrum_found": bool(st.sacrum_found.iloc[0]),
                    **agr,
                }
            )
    return pd.DataFrame(rows)
