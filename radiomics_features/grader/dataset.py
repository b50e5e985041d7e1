"""The SPIDER slice set as a disc table and a stack of disc crops, with every check.

``localise_series`` runs ``localise_discs`` on every image listed in ``series.csv``;
``numbering_checks`` decides, per series and disc label, whether the numbering from the
sacrum can be trusted; ``build_crops`` joins the trusted discs to SPIDER's gradings and
cuts a T2 and a T1 crop per graded disc. Patient ids are kept on every row so that all
later splits are by patient.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import numpy as np
import pandas as pd

from radiomics_features.grader.crops import STORED_MM, STORED_SIZE, disc_crop, normalise_slice
from radiomics_features.grader.localise import Disc, Localisation, localise_discs
from radiomics_features.grader.slices import parse_spacing, read_slice

__all__ = [
    "FINDINGS",
    "GRADING_COLUMNS",
    "build_crops",
    "localise_series",
    "numbering_checks",
    "read_gradings",
    "read_series",
]

#: SPIDER grading column -> the name used here
GRADING_COLUMNS: dict[str, str] = {
    "Pfirrman grade": "pfirrmann",
    "Modic": "modic",
    "UP endplate": "up_endplate",
    "LOW endplate": "low_endplate",
    "Spondylolisthesis": "spondylolisthesis",
    "Disc herniation": "herniation",
    "Disc narrowing": "narrowing",
    "Disc bulging": "bulging",
}
#: binary findings the image model predicts (Modic as "any Modic change")
FINDINGS: tuple[str, ...] = (
    "modic_any",
    "endplate_any",
    "spondylolisthesis",
    "herniation",
    "narrowing",
    "bulging",
)
# a gap between consecutive discs longer than this multiple of the series' median
# spacing means a disc in between was missed: labels above the gap are not trusted
GAP_FACTOR = 1.6


def read_series(data: Path) -> pd.DataFrame:
    s = pd.read_csv(Path(data) / "series.csv")
    need = {"patient", "sequence", "pixel_spacing_mm_original", "num_discs", "file"}
    missing = sorted(need - set(s.columns))
    if missing:
        raise KeyError(f"series.csv lacks column(s) {missing}")
    return s


def read_gradings(data: Path) -> pd.DataFrame:
    g = pd.read_csv(Path(data) / "gradings.csv")
    missing = sorted({"Patient", "IVD label", *GRADING_COLUMNS} - set(g.columns))
    if missing:
        raise KeyError(f"gradings.csv lacks column(s) {missing}")
    g = g.rename(columns={"Patient": "patient", "IVD label": "label", **GRADING_COLUMNS})
    g["modic_any"] = (g["modic"] > 0).astype(int)
    g["endplate_any"] = ((g["up_endplate"] > 0) | (g["low_endplate"] > 0)).astype(int)
    return g


def localise_series(
    data: Path, series: pd.DataFrame, *, backbone=None
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """One row per series (orientation and checks) and one per disc found."""
    from radiomics_features.backbone import load_backbone

    bb = backbone if backbone is not None else load_backbone(threads=1)
    srows: list[dict] = []
    drows: list[dict] = []
    for r in series.itertuples(index=False):
        img = read_slice(Path(data) / r.file)
        sp = parse_spacing(r.pixel_spacing_mm_original)
        loc = localise_discs(img, sp, backbone=bb)
        srows.append(_series_row(r, img.shape, loc))
        drows.extend(
            {"patient": r.patient, "sequence": r.sequence, **d.__dict__} for d in loc.discs
        )
    return pd.DataFrame(srows), pd.DataFrame(drows)


def _series_row(r, shape: tuple[int, int], loc: Localisation) -> dict:
    return {
        "patient": r.patient,
        "sequence": r.sequence,
        "file": r.file,
        "rows": shape[0],
        "cols": shape[1],
        "row_mm": loc.spacing_mm[0],
        "col_mm": loc.spacing_mm[1],
        "num_discs_annotated": r.num_discs,
        "n_discs_found": loc.n_discs,
        "flip_rows": loc.flip_rows,
        "flip_cols": loc.flip_cols,
        "orientation_margin": loc.orientation_margin,
        "canal_posterior": loc.canal_posterior,
        "sacrum_found": loc.sacrum_found,
        "below_lowest_body_mm": loc.below_lowest_body_mm,
        **{f"score_{k}": v for k, v in loc.orientation_scores.items()},
    }


def numbering_checks(series_tab: pd.DataFrame, discs: pd.DataFrame) -> pd.DataFrame:
    """Per disc found: ``trusted`` (numbering from the sacrum believed) and why not.

    A label is trusted when the series' orientation is plausible (canal posterior),
    the sacrum was found below disc 1, and no gap longer than ``GAP_FACTOR`` times the
    median inter-disc distance lies between disc 1 and this disc (a missed disc would
    shift every label above it).
    """
    out = []
    for (pid, seq), d in discs.groupby(["patient", "sequence"], sort=False):
        s = series_tab[(series_tab.patient == pid) & (series_tab.sequence == seq)].iloc[0]
        d = d.sort_values("label")
        rr = d["row"].to_numpy() * s.row_mm
        cc = d["col"].to_numpy() * s.col_mm
        dist = np.hypot(np.diff(rr), np.diff(cc))
        med = float(np.median(dist)) if dist.size else np.nan
        gap_before = np.r_[False, dist > GAP_FACTOR * med] if dist.size else np.array([False])
        broken = np.cumsum(gap_before) > 0
        for i, brk in zip(d.index, broken, strict=True):
            reason = ""
            if not s.canal_posterior:
                reason = "no flip puts the canal posterior"
            elif not s.sacrum_found:
                reason = "sacrum not found below the lowest disc (L5/S1 may be missed)"
            elif brk:
                reason = "a disc below this one appears to be missed (gap)"
            out.append({"index": i, "trusted": reason == "", "untrusted_reason": reason})
    chk = pd.DataFrame(out).set_index("index")
    return discs.join(chk)


def build_crops(
    data: Path,
    series_tab: pd.DataFrame,
    discs: pd.DataFrame,
    gradings: pd.DataFrame,
    *,
    size: int = STORED_SIZE,
    crop_mm: float = STORED_MM,
) -> tuple[pd.DataFrame, np.ndarray]:
    """Graded discs joined to their crops: table (one row per graded disc, in order)
    and array ``(n, 2, size, size)`` float16, channel 0 T2, channel 1 T1 (zeros where
    the sequence is absent or its disc was not found/trusted; see ``has_t2``/``has_t1``).
    """
    g = gradings.copy()
    crops = np.zeros((len(g), 2, size, size), dtype=np.float16)
    g["has_t2"] = False
    g["has_t1"] = False
    for ch, seq in enumerate(("t2", "t1")):
        for (pid, sq), d in discs[discs.sequence == seq].groupby(["patient", "sequence"]):
            s = series_tab[(series_tab.patient == pid) & (series_tab.sequence == sq)].iloc[0]
            img = normalise_slice(read_slice(Path(data) / s.file))
            sp = (float(s.row_mm), float(s.col_mm))
            for row in d[d.trusted].itertuples(index=False):
                hit = np.flatnonzero(
                    (g.patient.to_numpy() == pid) & (g.label.to_numpy() == row.label)
                )
                if hit.size == 0:
                    continue
                disc = Disc(**{k: getattr(row, k) for k in Disc.__dataclass_fields__})
                crops[hit[0], ch] = disc_crop(
                    img,
                    sp,
                    disc,
                    flip_rows=bool(s.flip_rows),
                    flip_cols=bool(s.flip_cols),
                    size=size,
                    crop_mm=crop_mm,
                    normalised=True,
                )
                g.loc[g.index[hit[0]], f"has_{seq}"] = True
                for k in ("height_mm", "width_mm", "angle_deg", "area_mm2", "mean_prob"):
                    g.loc[g.index[hit[0]], f"{seq}_{k}"] = getattr(row, k)
    return g, crops


def patients(values: Iterable) -> list[int]:
    return sorted({int(v) for v in values})
