"""Plausibility checks of named levels: is this row really the level its name says?

The levelling (:mod:`radiomics_features.levelling`) names discs from the lowest one up and
infers missing levels from gaps. A wrong inference (a gap taken for a missing disc, or a
missing disc not noticed) shifts every name above it, and a fragment taken for a body or
disc gives nonsense sizes. These checks compare what was measured with normal lumbar
anatomy and with the neighbouring levels, and where something does not fit they lower
the level's ``confidence`` one step (``high`` → ``medium`` → ``low``) and say why in its
``checks`` column, instead of leaving a confident wrong level. Case-level findings (a
skipped disc, a stack that misses the canal) also lower the case's confidence
(``case_confidence`` / ``case_checks``).

The ranges are deliberately wide (normal mean ± several SD, widened for degeneration,
fractures and measurement on MRI): they catch a fragment or a misnamed level, not
disease. Each range cites its source below.

Checks, per named level of :func:`~radiomics_features.geometry.spine_geometry`'s table:

* **size** — disc height, vertebral body height, disc height index and canal AP diameter
  within the plausible ranges (:data:`DISC_HEIGHT_MM`, :data:`BODY_HEIGHT_MM`,
  :data:`DISC_HEIGHT_INDEX`, :data:`CANAL_AP_MM`).
* **spacing** — the distance between the centroids of consecutive named discs against
  one level's span (:data:`DISC_SPACING_MM`) and against the neighbouring spacing: a
  gap much larger than its neighbours (≥ :data:`GAP_FACTOR` ×) with consecutive names
  means a disc may be missing; names that skip a level across a gap of one level's span
  mean the inferred missing disc is doubtful. Either way the names above may be off by
  a level, so every level above is lowered. Consecutive discs much closer than their
  neighbours (< :data:`SHORT_FACTOR` ×) are one disc in two pieces or a fragment.
* **fragment** — a disc much smaller than the others (< :data:`FRAGMENT_FRACTION` of the
  median voxel count, discs cut by the field of view aside).
* **sequence** — a vertebral body must lie between its two named discs.
* **inference** — names that rest on an inferred missing level (the levelling's
  ``inferred_below``) or a doubt about the lowest disc say so.
* **canal** — the measured slice of a disc level misses the canal although other slices
  have canal at that level (level), or no slice has any canal (case: an off-midline or
  lateral stack; bodies were then cut at the discs' posterior edge).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from itertools import pairwise
from typing import Any, NamedTuple

import numpy as np
import pandas as pd

from radiomics_features.labels import CANAL
from radiomics_features.levelling.naming import BELOW_DOUBT
from radiomics_features.levels import DISC_LEVELS, adjacent_vertebrae

__all__ = [
    "DISC_HEIGHT_MM",
    "BODY_HEIGHT_MM",
    "DISC_HEIGHT_INDEX",
    "CANAL_AP_MM",
    "DISC_SPACING_MM",
    "GAP_FACTOR",
    "SHORT_FACTOR",
    "FRAGMENT_FRACTION",
    "CONFIDENCE_ORDER",
    "lower",
    "check_levels",
    "size_failures",
    "SizeFailure",
]

# --- plausible ranges (mm unless stated) ------------------------------------------------
#: Mean disc height of a lumbar disc. Normal adult lumbar discs are about 8–12 mm
#: (Tibrewal SB, Pearcy MJ. Lumbar intervertebral disc heights in normal subjects and
#: patients with disc herniation. Spine 1985;10:452–454; Pfirrmann CWA et al. Effect of
#: aging and degeneration on disc volume and shape. J Orthop Res 2006;24:1086–1094);
#: the range is widened down to a collapsed disc and up to a tall L4/L5 or L5/S1.
DISC_HEIGHT_MM: tuple[float, float] = (2.0, 20.0)
#: Mean vertebral body height L1–L5: about 24–30 mm in adults (Panjabi MM et al. Human
#: lumbar vertebrae: quantitative three-dimensional anatomy. Spine 1992;17:299–306;
#: Zhou SH et al. Geometrical dimensions of the lower lumbar vertebrae. Eur Spine J
#: 2000;9:242–248); widened down to a wedge/compression fracture (≈ 50 % loss).
BODY_HEIGHT_MM: tuple[float, float] = (12.0, 40.0)
#: Disc height index (disc height / adjacent body height), implied by the two ranges
#: above for normal anatomy (4–17 mm over 20–35 mm ≈ 0.1–0.85), widened to 0.05–1.0.
DISC_HEIGHT_INDEX: tuple[float, float] = (0.05, 1.0)
#: Mid-sagittal bony canal AP diameter: lower limit of normal 15 mm, typical 15–25 mm
#: (Eisenstein S. The morphometry and pathological anatomy of the lumbar spine in South
#: African negroes and caucasoids with specific reference to spinal stenosis. J Bone Joint
#: Surg Br 1977;59:173–180). Below 2 mm is a sliver, not a canal; above 30 mm is not the
#: canal.
CANAL_AP_MM: tuple[float, float] = (2.0, 30.0)
#: Centroid distance between consecutive lumbar discs: one body plus one disc height,
#: about 32–40 mm (Panjabi 1992 and Zhou 2000 body heights + Tibrewal & Pearcy 1985
#: disc heights), widened for short bodies, collapsed discs and a tilted spine.
DISC_SPACING_MM: tuple[float, float] = (20.0, 50.0)
#: A gap this many times the neighbouring disc spacing with consecutive names: a disc
#: may be missing. Lower than the levelling's own 1.7 on purpose: the levelling needs
#: strong evidence to rename; a warning does not.
GAP_FACTOR = 1.5
#: Consecutive discs closer than this × the neighbouring spacing: one disc in two pieces
#: (e.g. a thin, collapsed L5/S1 segmented as two blobs) or a fragment taken for a disc.
SHORT_FACTOR = 0.7
#: A disc with fewer voxels than this × the median named disc (not cut by the field of
#: view): a fragment rather than a disc.
FRAGMENT_FRACTION = 0.2

CONFIDENCE_ORDER: tuple[str, ...] = ("none", "low", "medium", "high")
#: Levelling notes that record an inference or a doubt about the names (copied into the
#: case checks, which the per-level reasons refer to).
_INFERENCE_WORDS = ("missing", "inferred", "lowest disc")
#: Words of the levelling notes that say why no level could be named.
_UNNAMED_WORDS = ("cannot", "unnamed")


def lower(confidence: str, steps: int = 1) -> str:
    """``confidence`` lowered ``steps`` steps, never below ``low`` (``none`` stays ``none``:
    the level was not found)."""
    if confidence not in CONFIDENCE_ORDER:
        raise ValueError(f"confidence {confidence!r}; expected one of {CONFIDENCE_ORDER}")
    if confidence == "none" or steps <= 0:
        return confidence
    return CONFIDENCE_ORDER[max(CONFIDENCE_ORDER.index(confidence) - steps, 1)]


class SizeFailure(NamedTuple):
    """A measured size outside its plausible range: what, the value, the range, its unit."""

    what: str
    value: float
    bounds: tuple[float, float]
    unit: str


def _name(level: str) -> str:
    return level.upper().replace("_", "/")


def _outside(value: float, bounds: tuple[float, float]) -> bool:
    return bool(np.isfinite(value)) and not bounds[0] <= value <= bounds[1]


def size_failures(row: Mapping[str, Any], kind: str) -> list[SizeFailure]:
    """The sizes of a measured structure (a disc, else a vertebral body; ``row`` holds its
    measurements by column) outside their plausible ranges, in check order."""
    checks = (
        [
            ("disc_height_mm", DISC_HEIGHT_MM, "disc height", "mm"),
            ("disc_height_index", DISC_HEIGHT_INDEX, "disc height index", ""),
            ("canal_ap_mm", CANAL_AP_MM, "canal AP diameter", "mm"),
        ]
        if kind == "disc"
        else [
            ("body_height_mm", BODY_HEIGHT_MM, "body height", "mm"),
            ("canal_ap_mm", CANAL_AP_MM, "canal AP diameter", "mm"),
        ]
    )
    out = []
    for col, bounds, what, unit in checks:
        v = row.get(col)
        v = np.nan if v is None else float(v)
        if _outside(v, bounds):
            out.append(SizeFailure(what, v, bounds, unit))
    return out


def _size_checks(row: pd.Series) -> list[str]:
    out = []
    for f in size_failures(row, row["kind"]):
        u = f" {f.unit}" if f.unit else ""
        out.append(
            f"{f.what} {f.value:.2f}{u} outside the plausible {f.bounds[0]:g}–{f.bounds[1]:g}{u}: "
            "a fragment or a misnamed level?"
        )
    return out


def _disc_centroids(levelled_table: pd.DataFrame) -> list[tuple[str, np.ndarray]]:
    """Named discs cranial → caudal with their centroid (SI, AP) in mm."""
    d = levelled_table[(levelled_table["kind"] == "disc") & levelled_table["level"].notna()]
    d = d[d["level"].isin(DISC_LEVELS) | d["level"].astype(str).str.startswith("t")]
    d = d.sort_values("position_mm")
    return [
        (str(r["level"]), np.array([r["centroid_si_mm"], r["centroid_ap_mm"]], dtype=float))
        for _, r in d.iterrows()
    ]


def _chain_index(level: str) -> int:
    """Disc index counted from the bottom (1 = L5/S1), for names outside the lumbar set too."""
    from radiomics_features.labels import instance_id

    return instance_id(level) - 200


def _spacing_checks(
    discs: Sequence[tuple[str, np.ndarray]],
) -> tuple[dict[str, list[str]], list[str], set[str]]:
    """Per-level reasons, case reasons and the levels whose name is in doubt (the upper
    disc of a suspicious gap and everything above it)."""
    per: dict[str, list[str]] = {}
    case: list[str] = []
    doubt_from: list[int] = []  # index into discs (cranial → caudal) of the upper disc
    dists = [float(np.linalg.norm(b[1] - a[1])) for a, b in pairwise(discs)]
    steps = [_chain_index(a[0]) - _chain_index(b[0]) for a, b in pairwise(discs)]
    single = [d / s for d, s in zip(dists, steps, strict=True) if s >= 1]
    scale = _scale_doubt(single)
    if scale:  # every gap alike and out of range: the millimetres, not the discs
        return {lev: [SCALE_DOUBT] for lev, _ in discs}, [scale], {lev for lev, _ in discs}
    for i, (d, s) in enumerate(zip(dists, steps, strict=True)):
        upper, lower_ = discs[i][0], discs[i + 1][0]
        # neighbours that are themselves one plausible level (a gap or a split elsewhere
        # must not set the scale)
        others = [
            x
            for j, x in enumerate(single)
            if j != i and DISC_SPACING_MM[0] <= x <= DISC_SPACING_MM[1]
        ]
        typical = float(np.median(others)) if others else None
        around = f"; neighbouring spacing {typical:.0f} mm" if typical else ""
        pair = f"{_name(lower_)} and the disc above it ({_name(upper)})"
        if s == 1 and (
            d > DISC_SPACING_MM[1] or (typical is not None and d >= GAP_FACTOR * typical)
        ):
            msg = (
                f"gap of {d:.0f} mm between {pair}{around}; one level spans "
                f"{DISC_SPACING_MM[0]:g}–{DISC_SPACING_MM[1]:g} mm: a disc may be missing, "
                "so this name and those above may be one level too low"
            )
        elif s >= 2 and d <= DISC_SPACING_MM[1] and (typical is None or d < GAP_FACTOR * typical):
            msg = (
                f"names skip {s - 1} level(s) between {pair} but the discs are {d:.0f} mm "
                f"apart, one level's span{around}: the inferred missing disc is doubtful, "
                f"so this name and those above may be {s - 1} level(s) too high"
            )
        elif s == 1 and (
            d < DISC_SPACING_MM[0] or (typical is not None and d < SHORT_FACTOR * typical)
        ):
            msg = (
                f"{pair} are only {d:.0f} mm apart{around}; one level spans "
                f"{DISC_SPACING_MM[0]:g}–{DISC_SPACING_MM[1]:g} mm: a disc split in two or "
                "a fragment taken for a disc, so this name and those above may be one level "
                "too high"
            )
        else:
            continue
        per.setdefault(upper, []).append(msg)
        case.append(msg)
        doubt_from.append(i)
    doubtful: set[str] = set()
    if doubt_from:
        top = max(doubt_from)  # the most caudal suspicious gap: everything above is in doubt
        doubtful = {lev for lev, _ in discs[: top + 1]}
    return per, case, doubtful


#: The per-level reason when the disc spacing says the image's millimetres are wrong.
SCALE_DOUBT = "sizes in doubt: the pixel spacing may be wrong (see case checks)"


def _scale_doubt(gaps: Sequence[float]) -> str | None:
    """Why the pixel spacing looks wrong: three or more gaps between consecutive discs,
    all outside one level's span on the same side and alike (within 30 %) — a scale,
    not a missing or split disc. None otherwise."""
    if len(gaps) < 3:
        return None
    lo, hi = min(gaps), max(gaps)
    out = lo > DISC_SPACING_MM[1] or hi < DISC_SPACING_MM[0]
    if not out or hi > 1.3 * lo:
        return None
    usual = (DISC_SPACING_MM[0] + DISC_SPACING_MM[1]) / 2
    return (
        f"every gap between consecutive discs is {lo:.0f}–{hi:.0f} mm, about "
        f"{float(np.median(gaps)) / usual:.1f}× one level's usual span: the pixel spacing "
        "in the header is probably wrong (check the image's mm per pixel), so every size "
        "here is off by that factor"
    )


def _fragment_checks(levelled_table: pd.DataFrame) -> dict[str, str]:
    t = levelled_table
    d = t[(t["kind"] == "disc") & t["level"].notna() & ~t["truncated"].astype(bool)]
    if len(d) < 3:
        return {}
    med = float(np.median(d["voxels"]))
    return {
        str(r["level"]): (
            f"disc only {100 * r['voxels'] / med:.0f} % of the median disc's size: a fragment "
            "rather than a disc?"
        )
        for _, r in d.iterrows()
        if r["voxels"] < FRAGMENT_FRACTION * med
    }


def _sequence_checks(long: pd.DataFrame, levelled_table: pd.DataFrame) -> dict[str, list[str]]:
    pos = {
        str(r["level"]): float(r["position_mm"])
        for _, r in levelled_table.iterrows()
        if isinstance(r["level"], str)
    }
    out: dict[str, list[str]] = {}
    for disc in DISC_LEVELS:
        upper, _ = adjacent_vertebrae(disc)
        above = DISC_LEVELS[DISC_LEVELS.index(disc) - 1] if disc != DISC_LEVELS[0] else None
        if upper in pos and disc in pos and above in pos:
            lo, hi = sorted((pos[disc], pos[str(above)]))
            if not lo < pos[upper] < hi:
                out.setdefault(upper, []).append(
                    f"body {_name(upper)} does not lie between its discs {_name(str(above))} "
                    f"and {_name(disc)}: the level sequence is broken"
                )
    return out


def _canal_checks(long: pd.DataFrame, mask: np.ndarray) -> tuple[dict[str, list[str]], list[str]]:
    canal = mask == CANAL
    if not canal.any():
        why = (
            "no canal on any slice: the stack misses the canal (off-midline or lateral "
            "slices) or the canal was not segmented; vertebral bodies were cut at the discs' "
            "posterior edge and no canal is measured"
        )
        return {}, [why]
    per: dict[str, list[str]] = {}
    rows_with_canal = canal.any(axis=2)  # (slices, rows)
    for _, r in long[long["kind"] == "disc"].iterrows():
        if r["confidence"] == "none" or np.isfinite(float(r["canal_ap_mm"])):
            continue
        k = int(r["slice"]) if np.isfinite(float(r["slice"])) else None
        row_si = r.get("_row_si")
        if k is None or row_si is None or not np.isfinite(row_si):
            continue
        lo, hi = max(int(row_si) - 10, 0), min(int(row_si) + 11, mask.shape[1])
        elsewhere = np.flatnonzero(rows_with_canal[:, lo:hi].any(axis=1))
        if elsewhere.size and k not in elsewhere:
            why = (
                f"the measured slice {k} misses the canal at this level (canal on slices "
                f"{elsewhere.min()}–{elsewhere.max()}): canal not measured here"
            )
            per[str(r["level"])] = [why]
    return per, []


def check_levels(
    long: pd.DataFrame,
    levelled_table: pd.DataFrame,
    mask: np.ndarray,
    spacing,
    levelling_notes: Sequence[str] = (),
) -> tuple[pd.DataFrame, str, str]:
    """Check every named level of the geometry table ``long`` (see the module docstring).

    Returns a copy of ``long`` with ``confidence`` lowered where a check fails and a
    ``checks`` column (the reasons, ``"; "``-joined, empty when all checks pass), and the
    case's confidence and reasons. ``levelled_table`` is
    :attr:`~radiomics_features.levelling.LevelledSpine.table`; ``mask`` the canonical
    three-class mask the levels came from.
    """
    out = long.copy()
    sp = np.asarray(spacing, dtype=float)
    lt = levelled_table
    si = {
        str(r["level"]): float(r["centroid_si_mm"]) / sp[1]
        for _, r in lt.iterrows()
        if isinstance(r["level"], str)
    }
    out["_row_si"] = [si.get(str(lev), np.nan) for lev in out["level"]]
    reasons: dict[str, list[str]] = {str(lev): [] for lev in out["level"]}
    drops: dict[str, int] = dict.fromkeys(reasons, 0)
    case: list[str] = []

    for _, r in out.iterrows():
        lev = str(r["level"])
        if r["confidence"] == "none":
            continue
        found = _size_checks(r)
        reasons[lev] += found
        drops[lev] += int(bool(found))
        info = lt[lt["level"] == lev]
        if not info.empty and int(info.iloc[0]["inferred_below"]) > 0:
            reasons[lev].append(
                f"name rests on {int(info.iloc[0]['inferred_below'])} inferred missing "
                "level(s) below it (see case checks)"
            )

    for lev, msg in _fragment_checks(lt).items():
        if lev in reasons:
            reasons[lev].append(msg)
            drops[lev] += 1
    per, spacing_case, doubtful = _spacing_checks(_disc_centroids(lt))
    for lev, msgs in per.items():
        reasons.setdefault(lev, []).extend(msgs)
    if spacing_case:
        case += spacing_case
        doubt = "name in doubt: a suspicious spacing between discs below (see case checks)"
        # the body above every doubtful disc, and the body inside each suspicious pair
        bodies: set[str | None] = {
            adjacent_vertebrae(lev)[0] for lev in doubtful if lev in DISC_LEVELS
        }
        bodies |= {adjacent_vertebrae(lev)[1] for lev in per if lev in DISC_LEVELS}
        for x in sorted(doubtful | {str(b) for b in bodies if b is not None}):
            if x not in drops:
                continue
            drops[x] += 1
            if x not in per:
                reasons[x].append(doubt)
    for lev, msgs in _sequence_checks(out, lt).items():
        reasons[lev] += msgs
        drops[lev] += 1
    canal_per, canal_case = _canal_checks(out, np.asarray(mask))
    for lev, msgs in canal_per.items():
        reasons[lev] += msgs
        drops[lev] += 1
    case += canal_case
    if canal_case:
        for lev in reasons:
            reasons[lev].append("no canal on any slice (see case checks)")
    # the levelling's own inferences and doubts, which the per-level reasons refer to
    inferred = [n for n in levelling_notes if any(w in n for w in _INFERENCE_WORDS)]
    case += [f"levelling: {n}" for n in inferred]
    if any("lowest disc" in n for n in inferred):
        for lev in reasons:
            reasons[lev].append("whether the lowest disc is L5/S1 is in doubt (see case checks)")
    if any(BELOW_DOUBT in n for n in inferred):  # bodies below it: more than a doubt
        for lev in reasons:
            drops[lev] += 1

    conf = []
    for _, r in out.iterrows():
        lev = str(r["level"])
        conf.append(lower(str(r["confidence"]), drops.get(lev, 0) + int(bool(canal_case))))
    out["confidence"] = conf
    out["checks"] = [
        "; ".join(dict.fromkeys(reasons.get(str(lev), []))) if c != "none" else ""
        for lev, c in zip(out["level"], conf, strict=True)
    ]
    out = out.drop(columns="_row_si")

    flagged = [
        str(lev)
        for lev, c0, c1 in zip(out["level"], long["confidence"], conf, strict=True)
        if c1 != c0
    ]
    if flagged:
        case.append(f"confidence lowered by the checks at {', '.join(flagged)}")
    named = [c for c in conf if c != "none"]
    if not named:
        case_conf = "none"
        why = [n for n in levelling_notes if any(w in n for w in _UNNAMED_WORDS)]
        case.append("no level named" + (f" ({'; '.join(why)})" if why else ""))
    else:
        case_conf = min(named, key=CONFIDENCE_ORDER.index)  # the case is as sure as its worst level
    return out, case_conf, "; ".join(dict.fromkeys(case))
