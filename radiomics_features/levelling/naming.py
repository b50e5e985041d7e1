"""Order and names (step 3 of the levelling): walk the structures from the bottom up.

**The lowest visible disc is taken as L5/S1** and discs are named upward; the body
above a disc is the upper vertebra of its name. Two bodies with no disc between mean a
disc is missing; two discs with no body between mean a body is missing; a gap between
discs ≥ 1.7× the typical spacing means whole levels are missing. Each such inference
is noted and lowers the confidence of every name above.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import pairwise

import numpy as np

from radiomics_features.labels import (
    disc_name_from_bottom,
    instance_id,
    vertebra_name_from_bottom,
)
from radiomics_features.levels import DISC_LEVELS, VERTEBRA_LEVELS

__all__ = ["Structure", "name_levels", "confidence", "missing_levels"]

_GAP_FACTOR = 1.7  # disc gap larger than this × typical spacing → missing level(s)


#: The levelling note's words when more than one body lies below the lowest disc; the
#: plausibility checks lower every level's confidence once more for it.
BELOW_DOUBT = "the lowest disc is probably not L5/S1"


@dataclass(eq=False)  # one structure is itself: its voxels are arrays, not values to compare
class Structure:
    """A disc or vertebral body: its voxels, position along the spine (mm), centroid
    (mm) and, once named, its level."""

    kind: str
    coords: np.ndarray
    pos: float
    centroid: np.ndarray
    level: str | None = None
    inferred: int = 0
    notes: list[str] = field(default_factory=list)


def confidence(inferred: int, doubt: bool, n_discs: int) -> str:
    """``high``/``medium``/``low``: one step down per inference below the level, for a
    doubt about the whole chain, and for fewer than 3 discs."""
    score = inferred + int(doubt) + int(n_discs < 3)
    return "high" if score == 0 else "medium" if score == 1 else "low"


def name_levels(items: list[Structure], notes: list[str]) -> bool:
    """Walk bottom → top and name each structure (in place); True if bodies lie below."""
    discs = [it for it in items if it.kind == "disc"]
    if not discs:
        notes.append("no disc found: levels cannot be named")
        return False
    low_pos = discs[0].pos
    below = [it for it in items if it.kind == "vertebra" and it.pos > low_pos]
    if len(below) == 1:
        notes.append(
            "1 vertebral body below the lowest disc (a labelled sacrum, or an unlabelled "
            "L5/S1 disc): left unnamed; names assume the lowest disc is L5/S1"
        )
    elif below:  # a sacrum is one body: more means discs below were missed (or S1 split)
        notes.append(
            f"{len(below)} vertebral bodies below the lowest disc: discs below it were "
            f"probably not found (or the sacrum is in pieces), so {BELOW_DOUBT}; left "
            "unnamed, and the names above assume it is"
        )
        for it in below:
            it.notes.append("below the lowest disc: unnamed")
    gaps = np.diff([-d.pos for d in discs])  # positive, bottom → top
    typical = float(np.median(gaps)) if len(gaps) >= 3 else None

    n, inferred = 1, 0
    discs[0].level = disc_name_from_bottom(1)
    for a, b in pairwise(discs):
        between = [it for it in items if it.kind == "vertebra" and b.pos < it.pos < a.pos]
        between.sort(key=lambda it: -it.pos)
        steps = max(len(between), 1)
        gap = a.pos - b.pos
        if typical is not None and gap >= _GAP_FACTOR * typical:
            steps = max(steps, round(gap / typical))
        if len(between) == 0:
            inferred += 1
            notes.append(
                f"no vertebral body between {a.level} and the disc above it: "
                f"vertebra {vertebra_name_from_bottom(n)} missing from the mask"
            )
        if steps > 1:
            inferred += 1
            notes.append(
                f"{steps - 1} disc(s) missing above {a.level} (gap {gap:.0f} mm"
                + (f", typical {typical:.0f} mm" if typical else "")
                + f", {len(between)} bodies between): names above are inferred"
            )
        # bodies between: nearest of the `steps` vertebra slots, predicted evenly spaced
        slots = [a.pos - (j + 0.5) * gap / steps for j in range(steps)]
        used: set[int] = set()
        for it in between:
            j = int(
                np.argmin(
                    [abs(it.pos - s) if k not in used else np.inf for k, s in enumerate(slots)]
                )
            )
            used.add(j)
            it.level = vertebra_name_from_bottom(n + j)
            it.inferred = inferred
        n += steps
        if n > 24:
            break
        b.level = disc_name_from_bottom(n)
        b.inferred = inferred
    top = discs[-1]
    above = sorted(
        [it for it in items if it.kind == "vertebra" and it.pos < top.pos], key=lambda it: -it.pos
    )
    for j, it in enumerate(above):
        if n + j > 24:
            break
        it.level = vertebra_name_from_bottom(n + j)
        it.inferred = inferred + (1 if j else 0)
        if j:
            notes.append(f"bodies above the top disc without a disc between: {it.level} inferred")
    for it in items:
        if it.kind == "vertebra" and it.level is None and it not in below:
            it.notes.append("could not be placed in the level chain: unnamed")
    return bool(below)


def missing_levels(items: list[Structure]) -> dict[str, str]:
    """Reason for each contract level not found."""
    named = [(it.level, it.kind) for it in items if it.level]
    found = {level for level, _ in named}

    def position(level: str) -> int:  # bottom-up chain: l5_s1 1, l5 2, l4_l5 3, l4 4, …
        k = instance_id(level)
        return 2 * (k - 200) - 1 if k > 200 else 2 * k

    top = max(found, key=position, default=None)  # None: nothing named, so no disc either
    out: dict[str, str] = {}
    for lev in (*DISC_LEVELS, *VERTEBRA_LEVELS):
        if lev in found:
            continue
        if top is None or not any(kind == "disc" for _, kind in named):
            out[lev] = "no disc found in the mask: levels cannot be named"
        elif position(lev) > position(top):
            out[lev] = f"above the field of view or not segmented: the level chain ends at {top}"
        else:
            out[lev] = "missing from the mask within the level chain (see the levelling notes)"
    return out
