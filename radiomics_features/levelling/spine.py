"""Named levels of one mask: :func:`label_levels` and its result, :class:`LevelledSpine`.

The steps and what breaks them are in the package docstring
(:mod:`radiomics_features.levelling`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

import numpy as np
import pandas as pd

from radiomics_features.labels import DISC, instance_id
from radiomics_features.levelling.bodies import vertebral_bodies
from radiomics_features.levelling.instances import (
    components,
    merge_overlapping,
    project,
    spine_axis,
    split_at_discs,
    split_tall,
)
from radiomics_features.levelling.naming import (
    Structure,
    confidence,
    missing_levels,
    name_levels,
)
from radiomics_features.postprocess import remove_small_components

__all__ = ["LEVELLING_ASSUMPTION", "LevelledSpine", "label_levels"]

LEVELLING_ASSUMPTION = (
    "the lowest visible intervertebral disc is L5/S1; discs are named upward from it and "
    "the vertebral body above a disc is the upper vertebra of its name (above L5/S1 is "
    "L5). A lumbosacral transitional vertebra (sacralised L5, lumbarised S1/L6) or a "
    "field of view ending above L5/S1 shifts every name by one level and cannot be "
    "detected from a lumbar sagittal stack alone."
)


@dataclass(frozen=True, eq=False)
class LevelledSpine:
    """Named levels of one mask.

    ``instances`` (int16, canonical grid): bodies and discs in SPIDER-style ids
    (0 elsewhere, including posterior elements and unnamed structures). ``table``: one
    row per structure found (named or not). ``missing``: contract levels
    (``l1 … l5``, ``l1_l2 … l5_s1``) not found, with the reason. ``body_mask``: every
    vertebral body voxel (vertebra class anterior to the canal).
    """

    instances: np.ndarray
    table: pd.DataFrame
    missing: Mapping[str, str]
    body_mask: np.ndarray
    spine_axis: tuple[float, float]
    spacing: tuple[float, float, float]
    levelling_assumption: str = LEVELLING_ASSUMPTION
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def levels(self) -> tuple[str, ...]:
        return tuple(self.table.loc[self.table["level"].notna(), "level"])

    def mask_of(self, level: str) -> np.ndarray:
        if level not in self.levels:
            raise KeyError(
                f"level {level!r} not found; found: {', '.join(self.levels) or 'none'}"
                + (f" ({self.missing[level]})" if level in self.missing else "")
            )
        return self.instances == instance_id(level)

    def row(self, level: str) -> pd.Series | None:
        hit = self.table[self.table["level"] == level]
        return None if hit.empty else hit.iloc[0]


def label_levels(
    mask: np.ndarray,
    spacing,
    *,
    clean: bool = True,
    min_disc_mm3: float = 150.0,
    min_body_mm3: float = 500.0,
) -> LevelledSpine:
    """Split a three-class mask into named levels (see the package docstring).

    ``mask`` is a canonical-order three-class array (or a :class:`~radiomics_features.io.Volume`
    of one, whose spacing is then used if ``spacing`` is None). ``clean`` first drops
    specks below 100 mm³ (:func:`radiomics_features.postprocess.remove_small_components`).
    """
    if hasattr(mask, "array") and hasattr(mask, "spacing"):
        spacing = mask.spacing if spacing is None else spacing
        mask = mask.array
    m = np.asarray(mask)
    if m.ndim != 3:
        raise ValueError(f"mask must be 3D in canonical (LR, SI, AP) order; got shape {m.shape}")
    sp = np.asarray(spacing, dtype=float)
    if sp.shape != (3,) or np.any(sp <= 0):
        raise ValueError(f"spacing must be three positive mm values; got {spacing}")
    if clean:
        m = remove_small_components(m, sp, 100.0)
    voxel = float(np.prod(sp))
    notes: list[str] = []
    bodies_mask, how = vertebral_bodies(m)
    notes.append(f"vertebral body = vertebra class anterior to the {how}")

    discs = components(m == DISC, int(np.ceil(min_disc_mm3 / voxel)))
    bodies = components(bodies_mask, int(np.ceil(min_body_mm3 / voxel)))
    cents = [c.mean(axis=0) * sp for c in discs + bodies]
    axis = spine_axis(np.array(cents)) if len(cents) >= 2 else np.array([1.0, 0.0])
    discs = merge_overlapping(discs, sp, axis)
    bodies = merge_overlapping(bodies, sp, axis)

    # typical body height along the axis, from the bodies or from the disc spacing
    def extent(c):
        p = project(c, sp, axis)
        return p.max() - p.min() + min(sp[1], sp[2])

    bodies = split_at_discs(bodies, discs, sp, axis, notes)
    disc_pos = sorted(project(d, sp, axis).mean() for d in discs)
    gaps = np.diff(disc_pos)
    expected = None
    if len(bodies) >= 3:
        expected = float(np.median([extent(b) for b in bodies]))
    elif len(gaps) >= 1:
        expected = float(np.median(gaps) - np.median([extent(d) for d in discs]))
    bodies = split_tall(bodies, expected, sp, axis, notes)

    items = [
        Structure("disc", d, float(project(d, sp, axis).mean()), d.mean(axis=0) * sp) for d in discs
    ]
    items += [
        Structure("vertebra", b, float(project(b, sp, axis).mean()), b.mean(axis=0) * sp)
        for b in bodies
    ]
    items.sort(key=lambda it: -it.pos)  # bottom → top
    body_below = name_levels(items, notes)

    shape = m.shape
    inst = np.zeros(shape, dtype=np.int16)
    rows = []
    for it in items:
        c = it.coords
        if it.level is not None:
            inst[c[:, 0], c[:, 1], c[:, 2]] = instance_id(it.level)
        trunc = bool(
            (c[:, 1].min() == 0)
            | (c[:, 1].max() == shape[1] - 1)
            | (c[:, 2].min() == 0)
            | (c[:, 2].max() == shape[2] - 1)
        )
        lat = bool((c[:, 0].min() == 0) | (c[:, 0].max() == shape[0] - 1))
        if trunc:
            it.notes.append(
                "touches the superior/inferior or anterior/posterior edge of the "
                "field of view: truncated"
            )
        rows.append(
            dict(
                level=it.level,
                kind=it.kind,
                instance_id=instance_id(it.level) if it.level else 0,
                position_mm=it.pos,
                centroid_lr_mm=it.centroid[0],
                centroid_si_mm=it.centroid[1],
                centroid_ap_mm=it.centroid[2],
                voxels=len(c),
                volume_mm3=len(c) * voxel,
                truncated=trunc,
                lateral_truncated=lat,
                inferred_below=it.inferred,
                notes="; ".join(it.notes),
            )
        )
    table = pd.DataFrame(
        rows,
        columns=[
            "level",
            "kind",
            "instance_id",
            "position_mm",
            "centroid_lr_mm",
            "centroid_si_mm",
            "centroid_ap_mm",
            "voxels",
            "volume_mm3",
            "truncated",
            "lateral_truncated",
            "inferred_below",
            "notes",
        ],
    )
    table = table.iloc[::-1].reset_index(drop=True)  # cranial → caudal

    lowest = next((it for it in items if it.kind == "disc"), None)
    global_doubt = body_below
    if lowest is not None and table.loc[table["level"] == lowest.level, "truncated"].any():
        notes.append(
            "the lowest disc is truncated by the field of view: if L5/S1 lies below "
            "it, every name is one level too low"
        )
        global_doubt = True
    table["confidence"] = [
        confidence(int(inf), global_doubt, len(discs)) if lev is not None else "none"
        for lev, inf in zip(table["level"], table["inferred_below"], strict=True)
    ]

    missing = missing_levels(items)
    return LevelledSpine(
        instances=inst,
        table=table,
        missing=MappingProxyType(missing),
        body_mask=bodies_mask,
        spine_axis=(float(axis[0]), float(axis[1])),
        spacing=(float(sp[0]), float(sp[1]), float(sp[2])),
        notes=tuple(notes),
    )
