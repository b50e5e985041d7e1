"""Lumbar level names, ordered cranial to caudal.

These names are the join key between imaging output and the cohort table
(``img_<level>_<feature>``), so they live here, in the imaging package, and the
modelling side imports them; imaging never imports modelling code.
"""

from __future__ import annotations

__all__ = ["VERTEBRA_LEVELS", "DISC_LEVELS", "adjacent_vertebrae", "disc_level_from_bottom"]

VERTEBRA_LEVELS: tuple[str, ...] = ("l1", "l2", "l3", "l4", "l5")
DISC_LEVELS: tuple[str, ...] = ("l1_l2", "l2_l3", "l3_l4", "l4_l5", "l5_s1")


def adjacent_vertebrae(disc: str) -> tuple[str, str | None]:
    """The vertebrae above and below a disc; ``None`` below L5/S1 (the sacrum).

    >>> adjacent_vertebrae("l4_l5")
    ('l4', 'l5')
    >>> adjacent_vertebrae("l5_s1")
    ('l5', None)
    """
    if disc not in DISC_LEVELS:
        raise ValueError(f"disc level {disc!r} is not one of {', '.join(DISC_LEVELS)}")
    upper, lower = disc.split("_")
    return upper, (lower if lower in VERTEBRA_LEVELS else None)


def disc_level_from_bottom(n: int) -> str:
    """Disc name for a count from the bottom, 1 = lowest disc (taken as L5/S1).

    This is the numbering used by SPIDER's gradings (``IVD label``).

    >>> disc_level_from_bottom(1)
    'l5_s1'
    >>> disc_level_from_bottom(5)
    'l1_l2'
    """
    if not isinstance(n, int) or isinstance(n, bool):
        raise TypeError(f"disc number must be an int, got {type(n).__name__}")
    if not 1 <= n <= len(DISC_LEVELS):
        raise ValueError(f"disc number {n} is outside 1–{len(DISC_LEVELS)} (1 = L5/S1)")
    return DISC_LEVELS[len(DISC_LEVELS) - n]
