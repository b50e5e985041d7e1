"""The disc-level dataset: SPIDER's lumbar discs, measured and joined to their grades.

Every SPIDER patient's five lumbar discs (``l1_l2 … l5_s1``), measured by the shipped
pipeline (:func:`~radiomics_features.pipeline.extract_batch`) on the expert masks
(``masks="truth"``) or the bundled backbone's segmentation (``masks="backbone"``),
joined to SPIDER's ``gradings.csv`` by level (``IVD label`` 1 = lowest disc = L5/S1).
Nothing is cached: the features are measured afresh from the shared data folder.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from radiomics_features.geometry import DISC_FEATURES
from radiomics_features.levels import DISC_LEVELS, disc_level_from_bottom

__all__ = [
    "DEFAULT_DATA",
    "GRADES",
    "MASK_SOURCES",
    "spider_ids",
    "read_gradings",
    "join_gradings",
    "measure_discs",
    "disc_dataset",
    "is_radiomic_feature",
    "model_features",
]

DEFAULT_DATA = Path(__file__).resolve().parents[3] / "shared" / "data" / "spider-t2-lumbar"
GRADES: tuple[int, ...] = (1, 2, 3, 4, 5)
MASK_SOURCES: tuple[str, ...] = ("truth", "backbone")
_ID_COLUMNS = ("patient", "level", "pfirrmann")
_log = logging.getLogger(__name__)


# ------------------------------------------------------------------------- the data
def _paths(data: Path, pid: int) -> tuple[Path, Path]:
    return data / f"spider_{pid:03d}_t2.nii.gz", data / f"spider_{pid:03d}_mask.nii.gz"


def spider_ids(data: Path) -> list[int]:
    """Patient ids with both an image and a mask in ``data``, ascending."""
    data = Path(data)
    ids = sorted(int(p.name.split("_")[1]) for p in data.glob("spider_*_t2.nii.gz"))
    ids = [i for i in ids if _paths(data, i)[1].is_file()]
    if not ids:
        raise FileNotFoundError(
            f"no spider_<id>_t2.nii.gz / spider_<id>_mask.nii.gz pairs in "
            f"{data}; pass --data pointing at the spider-t2-lumbar folder"
        )
    return ids


def read_gradings(data: Path) -> pd.DataFrame:
    """SPIDER's lumbar gradings: ``patient``, ``level`` (contract name), ``pfirrmann``."""
    path = Path(data) / "gradings.csv"
    if not path.is_file():
        raise FileNotFoundError(
            f"{path} not found; pass --data pointing at the "
            "spider-t2-lumbar folder (it holds gradings.csv)"
        )
    gr = pd.read_csv(path)
    need = {"Patient", "IVD label", "Pfirrman grade"}
    if not need <= set(gr.columns):
        raise ValueError(
            f"{path} lacks column(s) {sorted(need - set(gr.columns))}; "
            f"expected SPIDER's gradings.csv with {sorted(need)}"
        )
    gr = gr[gr["IVD label"].between(1, len(DISC_LEVELS))].copy()
    bad = gr.loc[~gr["Pfirrman grade"].isin(GRADES), "Pfirrman grade"]
    if len(bad):
        raise ValueError(
            f"{path}: {len(bad)} Pfirrmann grade(s) outside 1–5 "
            f"(rows {bad.index[:5].tolist()}, values {sorted(set(bad))[:5]})"
        )
    gr["level"] = [disc_level_from_bottom(int(n)) for n in gr["IVD label"]]
    gr = gr.rename(columns={"Patient": "patient", "Pfirrman grade": "pfirrmann"})
    return gr[list(_ID_COLUMNS)].astype({"patient": int, "pfirrmann": int}).reset_index(drop=True)


def join_gradings(discs: pd.DataFrame, data: Path) -> pd.DataFrame:
    """Inner join of per-disc rows (``patient``, ``level``) to the Pfirrmann grades."""
    return discs.merge(read_gradings(data), on=["patient", "level"], how="inner")


def measure_discs(
    data: Path = DEFAULT_DATA,
    ids: Sequence[int] | None = None,
    *,
    masks: str = "truth",
    radiomics: bool = False,
    workers: int = 1,
    strict: bool = False,
) -> pd.DataFrame:
    """Disc rows (``patient``, ``mask_source``, ``level``, geometry, ``rad_*``,
    ``level_position``) of every patient in ``data`` (or of ``ids``).

    Runs :func:`~radiomics_features.pipeline.extract_batch`, the shipped path, in
    ``workers`` processes: ``masks="truth"`` measures the expert masks, ``"backbone"``
    segments each image with the bundled network. A disc the levelling does not find
    keeps its row, with NaN features and a ``reason``. A patient that fails is left out
    with a logged warning (the reason) unless ``strict``; ``df.attrs["failures"]`` lists them.
    """
    from radiomics_features.pipeline import Case, extract_batch

    if masks not in MASK_SOURCES:
        raise ValueError(f"masks must be one of {MASK_SOURCES}, got {masks!r}")
    data = Path(data)
    wanted = spider_ids(data) if ids is None else [int(i) for i in ids]
    cases = []
    for pid in wanted:
        img, mask = _paths(data, pid)
        cases.append(Case(str(pid), img, mask if masks == "truth" else None))
    batch = extract_batch(cases, workers=max(1, int(workers)), radiomics=radiomics)
    failures = [
        f"patient {r.patient_id} ({r.stage}): {r.error_type}: {r.message}"
        for r in batch.errors.itertuples()
    ]
    if failures and strict:
        raise RuntimeError("; ".join(failures))
    for msg in failures:
        _log.warning("left out: %s", msg)
    if batch.n_ok == 0:
        raise RuntimeError(
            f"no patient could be measured ({len(failures)} failed): " + "; ".join(failures[:3])
        )
    long = batch.long
    discs = long[long["kind"] == "disc"]
    out = discs.drop(
        columns=["patient_id", "kind", *(c for c in long.columns if c.startswith("prov_"))]
    )
    out.insert(0, "patient", discs["patient_id"].astype(int).to_numpy())
    out.insert(1, "mask_source", masks)
    out["level_position"] = [DISC_LEVELS.index(lev) for lev in out["level"]]
    out = out.reset_index(drop=True)
    out.attrs["failures"] = failures
    return out


def disc_dataset(
    data: Path = DEFAULT_DATA,
    *,
    masks: str = "truth",
    radiomics: bool = False,
    ids: Sequence[int] | None = None,
    workers: int = 1,
    strict: bool = False,
) -> pd.DataFrame:
    """:func:`measure_discs` joined to the Pfirrmann grades (one row per graded disc)."""
    discs = measure_discs(
        data, ids, masks=masks, radiomics=radiomics, workers=workers, strict=strict
    )
    out = join_gradings(discs, data)
    out.attrs["failures"] = discs.attrs["failures"]
    return out


def is_radiomic_feature(column: str) -> bool:
    """Whether a column is a radiomic feature: ``rad_*`` except the ROI bookkeeping
    (voxel count, reason)."""
    return column.startswith("rad_") and not column.endswith(("_n_voxels", "_reason"))


def model_features(df: pd.DataFrame) -> list[str]:
    """Predictors: the disc geometry, the disc's position (0 = L1/L2 … 4 = L5/S1), and
    the radiomic features of the disc (``rad_*``) and of the canal beside it
    (``rad_canal_*``) when present; a column missing for every disc is left out (e.g.
    ``disc_volume_mm3`` when every disc reaches the edge slices of a thin stack)."""
    if "level_position" not in df:
        raise KeyError("column 'level_position' missing; build the table with disc_dataset")
    cols = [*DISC_FEATURES, "level_position", *(c for c in df.columns if is_radiomic_feature(c))]
    absent = [c for c in cols if c not in df]
    if absent:
        raise KeyError(f"feature column(s) {absent} not in the table; build it with disc_dataset")
    return [c for c in cols if df[c].notna().any()]
