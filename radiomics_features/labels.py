"""Label conventions of spine segmentations and adapters to the internal convention.

Internal convention (what every imaging module works on)::

    0 background, 1 vertebra (body and posterior elements), 2 intervertebral disc,
    3 spinal canal (the dural sac / canal; a spinal-cord label is folded into it)

plus, where a convention carries them, per-level instances in SPIDER-style ids
(:data:`INSTANCE_ID_RULE`): vertebra ``n`` counted from the bottom (1 = L5), discs
``200 + n`` (201 = L5/S1). :mod:`radiomics_features.levelling` writes the same ids.

Each convention is a *declaration* (:class:`LabelConvention`): which raw labels are
vertebrae, discs and canal, which are deliberately dropped to background, the level
name of each labelled instance, and where the table comes from. What each table relies
on is written next to it; where the source is uncertain the declaration says so
(``certain=False``) and stays data-driven, so a corrected table is a one-line change.

Labels not declared by a convention raise :class:`UnknownLabelError` — a silently
dropped label is how a model ends up measuring the wrong structure.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

import numpy as np

from radiomics_features.levels import DISC_LEVELS, VERTEBRA_LEVELS

__all__ = [
    "BACKGROUND",
    "VERTEBRA",
    "DISC",
    "CANAL",
    "CLASS_NAMES",
    "LabelConvention",
    "LevelInstances",
    "UnknownLabelError",
    "ConventionError",
    "CONVENTIONS",
    "get_convention",
    "to_three_class",
    "check_structures",
    "level_instances",
    "vertebra_name_from_bottom",
    "disc_name_from_bottom",
    "instance_id",
    "level_of_instance_id",
    "INSTANCE_ID_RULE",
]

BACKGROUND, VERTEBRA, DISC, CANAL = 0, 1, 2, 3
CLASS_NAMES: Mapping[int, str] = MappingProxyType(
    {BACKGROUND: "background", VERTEBRA: "vertebra", DISC: "disc", CANAL: "canal"}
)

INSTANCE_ID_RULE = (
    "vertebra n from the bottom (1 = L5, 2 = L4, …, 6 = T12); "
    "disc 200 + n from the bottom (201 = L5/S1, 202 = L4/L5, …)"
)

# Vertebrae bottom-up beyond the lumbar spine, for masks that reach the thoracic spine.
_VERTEBRAE_BOTTOM_UP: tuple[str, ...] = (
    tuple(reversed(VERTEBRA_LEVELS))
    + tuple(f"t{i}" for i in range(12, 0, -1))
    + tuple(f"c{i}" for i in range(7, 0, -1))
)


class UnknownLabelError(ValueError):
    """A mask holds label values its declared convention does not define."""


class ConventionError(ValueError):
    """An unknown convention name, or a request the convention cannot answer."""


def vertebra_name_from_bottom(n: int) -> str:
    """Vertebra ``n`` counted from the bottom, 1 = L5 (then l4 … l1, t12 … t1, c7 … c1)."""
    if not 1 <= n <= len(_VERTEBRAE_BOTTOM_UP):
        raise ValueError(f"vertebra number {n} is outside 1–{len(_VERTEBRAE_BOTTOM_UP)} (1 = L5)")
    return _VERTEBRAE_BOTTOM_UP[n - 1]


def disc_name_from_bottom(n: int) -> str:
    """Disc ``n`` counted from the bottom, 1 = L5/S1 (so 5 = L1/L2, 6 = T12/L1).

    Agrees with :func:`radiomics_features.levels.disc_level_from_bottom` for 1–5.
    """
    if n == 1:
        return DISC_LEVELS[-1]
    if not 2 <= n <= len(_VERTEBRAE_BOTTOM_UP):
        raise ValueError(f"disc number {n} is outside 1–{len(_VERTEBRAE_BOTTOM_UP)} (1 = L5/S1)")
    return f"{_VERTEBRAE_BOTTOM_UP[n - 1]}_{_VERTEBRAE_BOTTOM_UP[n - 2]}"


def instance_id(level: str) -> int:
    """SPIDER-style instance id of a level name (``'l5'`` → 1, ``'l5_s1'`` → 201)."""
    if level in _VERTEBRAE_BOTTOM_UP:
        return _VERTEBRAE_BOTTOM_UP.index(level) + 1
    for n in range(1, len(_VERTEBRAE_BOTTOM_UP) + 1):
        if disc_name_from_bottom(n) == level:
            return 200 + n
    raise ValueError(f"level {level!r} is not a vertebra (l5, l4, … t1) or disc (l5_s1, …) name")


def level_of_instance_id(label: int) -> str:
    """Inverse of :func:`instance_id`."""
    if 200 < label <= 200 + len(_VERTEBRAE_BOTTOM_UP):
        return disc_name_from_bottom(label - 200)
    return vertebra_name_from_bottom(label)


@dataclass(frozen=True)
class LabelConvention:
    """Declaration of a label convention.

    ``vertebrae`` / ``discs`` map each raw label to a level name (``None`` when the
    label has no name in this toolkit, e.g. an L6 or a partially visible vertebra);
    ``canal`` lists labels folded into the canal class (spinal cord included: it lies
    inside the canal, and the canal AP diameter spans both); ``ignored`` lists labels
    deliberately mapped to background (e.g. the sacrum, which SPIDER does not label,
    so every source is treated alike). ``certain`` is False when the table could not
    be checked against the tool's own documentation.
    """

    name: str
    description: str
    source: str
    vertebrae: Mapping[int, str | None] = field(default_factory=dict)
    discs: Mapping[int, str | None] = field(default_factory=dict)
    canal: tuple[int, ...] = ()
    ignored: tuple[int, ...] = ()
    certain: bool = True
    notes: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "vertebrae", MappingProxyType(dict(self.vertebrae)))
        object.__setattr__(self, "discs", MappingProxyType(dict(self.discs)))
        seen: dict[int, str] = {0: "background"}
        for role, labels in (
            ("vertebra", self.vertebrae),
            ("disc", self.discs),
            ("canal", self.canal),
            ("ignored", self.ignored),
        ):
            for lab in labels:
                if lab in seen:
                    raise ConventionError(
                        f"convention {self.name!r}: label {lab} is both {seen[lab]} and {role}"
                    )
                seen[lab] = role

    @property
    def has_levels(self) -> bool:
        return any(v is not None for v in (*self.vertebrae.values(), *self.discs.values()))

    def class_of(self) -> dict[int, int]:
        """Raw label → internal class (0–3) for every declared label."""
        out = {0: BACKGROUND}
        out.update(dict.fromkeys(self.vertebrae, VERTEBRA))
        out.update(dict.fromkeys(self.discs, DISC))
        out.update(dict.fromkeys(self.canal, CANAL))
        out.update(dict.fromkeys(self.ignored, BACKGROUND))
        return out


@dataclass(frozen=True, eq=False)
class LevelInstances:
    """Per-level instances of a mask: ids in the SPIDER-style rule, names per id."""

    instances: np.ndarray
    levels: Mapping[str, int]
    notes: tuple[str, ...] = ()

    def mask_of(self, level: str) -> np.ndarray:
        if level not in self.levels:
            raise KeyError(
                f"level {level!r} not present; present: {', '.join(self.levels) or 'none'}"
            )
        return self.instances == self.levels[level]


# ----------------------------------------------------------------------- declarations
_THREE_CLASS = LabelConvention(
    name="three_class",
    description="internal / shared three-label masks: 1 vertebra, 2 disc, 3 canal (no levels)",
    source="this toolkit; the SPIDER subset in shared/data/spider-t2-lumbar uses it",
    vertebrae={1: None},
    discs={2: None},
    canal=(3,),
)

# SPIDER (van der Graaf et al., Sci Data 2024): vertebrae 1–25 numbered from the bottom
# with 1 = the lowest lumbar vertebra (L5), 100 = spinal canal, discs 201–225 numbered
# from the bottom (201 = L5/S1, the disc below vertebra 1). What we rely on: the
# SPIDER challenge's description of its baseline output ("1-25 … numbered from the
# bottom (i.e. L5 = 1) … 100 spinal canal … 101-125 partially visible vertebrae …
# 201-225 … L5/S1 = 201") and TotalSpineSeg's SPIDER label map, which maps SPIDER
# 1 → its L5 and 201 → its L5-S disc. The sacrum is not labelled. Numbering from the
# bottom is the same "lowest = L5" assumption as levelling (a transitional vertebra
# breaks it). 101–125 are taken as partially visible vertebrae: vertebra class, no name.
_SPIDER = LabelConvention(
    name="spider",
    description="SPIDER original masks: vertebrae 1–25 from the bottom (1 = L5), "
    "canal 100, discs 201–225 from the bottom (201 = L5/S1)",
    source="van der Graaf et al., Sci Data 11:264 (2024); SPIDER challenge baseline "
    "description; TotalSpineSeg resources/labels_maps/spider.json",
    vertebrae={
        **{n: vertebra_name_from_bottom(n) for n in range(1, 25)},
        25: None,
        **{100 + n: None for n in range(1, 26)},
    },
    discs={**{200 + n: disc_name_from_bottom(n) for n in range(1, 25)}, 225: None},
    canal=(100,),
    notes=(
        "numbering from the bottom assumes the lowest labelled vertebra is L5",
        "101–125 (partially visible vertebrae) are vertebra class without a level name",
    ),
)

# SPINEPS instance mask (seg-vert_msk, VERIDAH numbering): 1–7 C1–C7, 8–19 T1–T12,
# 28 T13, 20–24 L1–L5, 25 L6, 26 sacrum; 100+X = disc below vertebra X; 200+X = the
# endplates of vertebra X. The instance mask holds no canal: the semantic mask's
# 60 (spinal cord) and 61 (spinal canal) are declared here too so a merged
# instance + semantic mask converts in one go. With an L6 (25) present, 124 is the
# L5/L6 disc, not L5/S1 — level_instances then says so in its notes.
_SPINEPS_NAMES = {20: "l1", 21: "l2", 22: "l3", 23: "l4", 24: "l5"}
_SPINEPS_THORACIC = {8 + i: f"t{i + 1}" for i in range(12)}
_SPINEPS_CERVICAL = {1 + i: f"c{i + 1}" for i in range(7)}


def _spineps_vertebra_name(x: int) -> str | None:
    return {**_SPINEPS_CERVICAL, **_SPINEPS_THORACIC, **_SPINEPS_NAMES}.get(x)


def _spineps_disc_name(x: int) -> str | None:
    order = [*range(1, 20), 20, 21, 22, 23, 24]  # C1 … T12, L1 … L5
    if x not in order:
        return None
    i = order.index(x)
    below = _spineps_vertebra_name(order[i + 1]) if i + 1 < len(order) else "s1"
    return f"{_spineps_vertebra_name(x)}_{below}"


_SPINEPS_INSTANCE = LabelConvention(
    name="spineps_instance",
    description="SPINEPS instance mask: 20–24 = L1–L5, 25 = L6, 26 = sacrum (dropped), "
    "100+X disc below vertebra X, 200+X endplates of X, 60/61 cord/canal "
    "(from the semantic mask, if merged in)",
    source="SPINEPS (Möller et al., Eur Radiol 2024) / TPTBox VERIDAH numbering",
    vertebrae={
        **{x: _spineps_vertebra_name(x) for x in (*range(1, 26), 28)},
        **{200 + x: None for x in (*range(1, 26), 28)},
    },
    discs={100 + x: _spineps_disc_name(x) for x in (*range(1, 26), 28)},
    canal=(60, 61),
    ignored=(26,),
    notes=("endplate labels 200+X count as vertebra class without their own instance",),
)

# SPINEPS semantic (subregion) mask: 41–50 vertebra subregions (49 corpus border /
# 50 corpus = body), 52/53/62 endplates, 100 disc, 60 cord, 61 canal, 26 sacrum
# (dropped), 63/64 ribs (dropped). No levels.
_SPINEPS_SEMANTIC = LabelConvention(
    name="spineps_semantic",
    description="SPINEPS semantic mask: 41–50 vertebra subregions, 52/53/62 endplates, "
    "100 disc, 60 cord + 61 canal; sacrum 26 and ribs 63/64 dropped (no levels)",
    source="SPINEPS / TPTBox Location enum",
    vertebrae=dict.fromkeys((*range(40, 51), 52, 53, 62)),
    discs={100: None},
    canal=(60, 61),
    ignored=(26, 63, 64),
)

# TotalSpineSeg final output (step2_output), from its README "List of Classes" (2025):
# 1 cord, 2 canal, 11–17 C1–C7, 21–32 T1–T12, 41–45 L1–L5, 50 sacrum, discs 63–67
# C2-C3…C6-C7, 71 C7-T1, 72–82 T1-T2…T11-T12, 91 T12-L1, 92–95 L1-L2…L4-L5, 100 L5-S.
# Not certain: the table changed between releases (see totalspineseg_2024), so it is
# kept as data; check your release's README before relying on it.
_TSS_VERT = {
    **{10 + i: f"c{i}" for i in range(1, 8)},
    **{20 + i: f"t{i}" for i in range(1, 13)},
    **{40 + i: f"l{i}" for i in range(1, 6)},
}
_TSS_DISC = {
    **{61 + i: f"c{i}_c{i + 1}" for i in range(2, 7)},
    71: "c7_t1",
    **{71 + i: f"t{i}_t{i + 1}" for i in range(1, 12)},
    91: "t12_l1",
    **{91 + i: f"l{i}_l{i + 1}" for i in range(1, 5)},
    100: "l5_s1",
}
_TOTALSPINESEG = LabelConvention(
    name="totalspineseg",
    description="TotalSpineSeg (2025 table): 1 cord, 2 canal, 41–45 L1–L5, 50 sacrum "
    "(dropped), 91 T12-L1, 92–95 L1-L2…L4-L5, 100 L5-S",
    source="neuropoly/totalspineseg README, List of Classes",
    vertebrae=_TSS_VERT,
    discs=_TSS_DISC,
    canal=(1, 2),
    ignored=(50,),
    certain=False,
    notes=("table from the project README; it changed between releases — check yours",),
)

# The earlier TotalSpineSeg numbering (TotalSegmentator-style): 18–41 = L5 … C1,
# 92 sacrum, 200 cord, 201 canal, 202–224 = L5-S … C2-C3.
_TSS_OLD_VERT = {18 + i: _VERTEBRAE_BOTTOM_UP[i] for i in range(24)}
_TOTALSPINESEG_2024 = LabelConvention(
    name="totalspineseg_2024",
    description="TotalSpineSeg (2024 table): 18–22 = L5…L1, 23–34 T12…T1, 35–41 C7…C1, "
    "92 sacrum (dropped), 200 cord, 201 canal, 202 L5-S … 224 C2-C3",
    source="neuropoly/totalspineseg README (2024 revision), List of Classes",
    vertebrae=_TSS_OLD_VERT,
    discs={201 + n: disc_name_from_bottom(n) for n in range(1, 24)},
    canal=(200, 201),
    ignored=(92,),
    certain=False,
    notes=("earlier table of TotalSpineSeg; kept for masks made with 2024 releases",),
)

CONVENTIONS: Mapping[str, LabelConvention] = MappingProxyType(
    {
        c.name: c
        for c in (
            _THREE_CLASS,
            _SPIDER,
            _SPINEPS_INSTANCE,
            _SPINEPS_SEMANTIC,
            _TOTALSPINESEG,
            _TOTALSPINESEG_2024,
        )
    }
)


def get_convention(convention: str | LabelConvention) -> LabelConvention:
    if isinstance(convention, LabelConvention):
        return convention
    if not isinstance(convention, str):
        raise TypeError(
            f"convention must be a name or a LabelConvention, got {type(convention).__name__}"
        )
    try:
        return CONVENTIONS[convention]
    except KeyError:
        raise ConventionError(
            f"unknown label convention {convention!r}; expected one of {', '.join(CONVENTIONS)}"
        ) from None


def _check_integer_mask(mask: np.ndarray) -> np.ndarray:
    m = np.asarray(mask)
    if not (np.issubdtype(m.dtype, np.integer) or m.dtype == bool):
        if (
            np.issubdtype(m.dtype, np.floating)
            and np.all(np.isfinite(m))
            and np.all(m == np.round(m))
        ):
            return m.astype(np.int64)
        raise TypeError(
            f"a label mask needs integer labels; got dtype {m.dtype} with non-integer values"
        )
    return m.astype(np.int64, copy=False)


def _unknown(values: np.ndarray, counts: np.ndarray, conv: LabelConvention) -> UnknownLabelError:
    shown = ", ".join(f"{v} ({c} voxels)" for v, c in zip(values[:8], counts[:8], strict=False))
    more = f" and {len(values) - 8} more" if len(values) > 8 else ""
    guess = [
        n
        for n, c in CONVENTIONS.items()
        if n != conv.name and set(values.tolist()) <= set(c.class_of())
    ]
    hint = f"; is it a {guess[0]!r} mask?" if guess else ""
    return UnknownLabelError(
        f"mask has label(s) {shown}{more} that convention {conv.name!r} does not define "
        f"(expected {conv.description}){hint}"
    )


def to_three_class(
    mask: np.ndarray, convention: str | LabelConvention = "three_class"
) -> np.ndarray:
    """Map a mask in ``convention`` to the internal classes (uint8: 0, 1, 2, 3).

    Raises :class:`UnknownLabelError` listing every undeclared label (with voxel counts).
    The input is never modified.
    """
    conv = get_convention(convention)
    m = _check_integer_mask(mask)
    table = conv.class_of()
    lo, hi = (int(m.min()), int(m.max())) if m.size else (0, 0)
    if lo >= 0 and hi < 1 << 20:
        # fast path: counts by bincount, mapping by a lookup table
        counts_all = np.bincount(m.ravel(), minlength=hi + 1)
        values = np.flatnonzero(counts_all)
        counts = counts_all[values]
    else:
        values, counts = np.unique(m, return_counts=True)
    bad = np.array([v not in table for v in values.tolist()], dtype=bool)
    if bad.any():
        raise _unknown(values[bad], counts[bad], conv)
    if lo >= 0 and hi < 1 << 20:
        lut = np.zeros(hi + 1, dtype=np.uint8)
        for v in values.tolist():
            lut[v] = table[v]
        return lut[m]
    out = np.zeros(m.shape, dtype=np.uint8)
    for v in values.tolist():
        if table[v]:
            out[m == v] = table[v]
    return out


def check_structures(
    mask: np.ndarray, three: np.ndarray, convention: str | LabelConvention
) -> None:
    """Refuse a mask whose labels are all declared by ``convention`` but, read that way,
    hold neither a disc nor the canal (``three``: :func:`to_three_class` of ``mask``) while
    another convention reads the same labels as vertebrae, discs and canal: a mask named
    with the wrong convention (a three-class mask's 1, 2, 3 are SPIDER's L5, L4 and L3
    vertebrae). Nothing could be measured from it; :class:`ConventionError` names the
    labels, what they were read as and the convention that fits."""
    if bool((three >= DISC).any()):
        return
    conv = get_convention(convention)
    m = _check_integer_mask(mask)
    values = sorted(set(np.unique(m).tolist()) - {0})
    if not values:
        return
    for name, other in CONVENTIONS.items():
        table = other.class_of()
        if name == conv.name or not set(values) <= set(table):
            continue
        if {DISC, CANAL} <= {table[v] for v in values}:
            shown = ", ".join(str(v) for v in values[:8]) + (" …" if len(values) > 8 else "")
            raise ConventionError(
                f"mask labels {shown} read as {conv.name!r} ({conv.description}) are "
                f"vertebrae only: no disc and no canal to measure; as {name!r} "
                f"({other.description}) the same labels are vertebra, disc and canal. Name "
                f"the convention the mask was written in (CLI: --convention {name}; "
                f"convention={name!r} in Python)"
            )


def level_instances(mask: np.ndarray, convention: str | LabelConvention) -> LevelInstances:
    """Per-level instances of a mask whose convention carries levels.

    Returns the instances in SPIDER-style ids (:data:`INSTANCE_ID_RULE`) for every
    labelled structure with a level name; unnamed labels (L6, partially visible
    vertebrae, endplates) are left out and reported in ``notes``. Raises
    :class:`ConventionError` for conventions without levels (use
    :func:`radiomics_features.levelling.label_levels` to name levels from anatomy).
    """
    conv = get_convention(convention)
    if not conv.has_levels:
        raise ConventionError(
            f"convention {conv.name!r} carries no levels; name levels from "
            "the anatomy with radiomics_features.levelling.label_levels"
        )
    m = _check_integer_mask(mask)
    to_three_class(m, conv)  # validates labels
    present = set(np.unique(m).tolist())
    out = np.zeros(m.shape, dtype=np.int16)
    levels: dict[str, int] = {}
    notes: list[str] = list(conv.notes)
    for table in (conv.vertebrae, conv.discs):
        for raw, name in table.items():
            if raw not in present:
                continue
            if name is None:
                notes.append(f"label {raw} has no level name in {conv.name!r}; left out")
                continue
            iid = instance_id(name)
            out[m == raw] = iid
            levels[name] = iid
    if conv.name == "spineps_instance" and 25 in present:
        notes.append(
            "an L6 (label 25) is present: label 124 is the L5/L6 disc and 125 the "
            "L6/S1 disc; 'l5_s1' here is the disc below L5 (L5/L6)"
        )
    order = sorted(levels, key=lambda n: (levels[n] > 200, levels[n]))
    return LevelInstances(out, MappingProxyType({n: levels[n] for n in order}), tuple(notes))
