"""Find and number the intervertebral discs on one mid-sagittal slice.

Three steps, each checkable on its own:

1. **Orientation.** The bundled backbone (``radiomics_features.backbone``) was trained
   on slices whose rows run superior->inferior and columns anterior->posterior. A slice
   of unknown orientation is segmented in each of its four flips (none, rows, columns,
   both) and the flip whose segmentation looks most like a spine wins: the score is the
   network's mean confidence over the pixels it calls spine, and a flip is *plausible*
   only when its canal lies posterior to (to the right of) the discs it finds. Transposed
   (coronal/axial-looking) inputs are not considered: a sagittal slice is taller than the
   spine is deep in every SPIDER image.
2. **Discs.** Disc components of the winning segmentation (on the network's
   ``target_spacing_mm`` grid) bigger than ``min_disc_area_mm2`` with vertebra above and
   below them along the spine are kept; each gets its centre, its in-plane tilt, its
   antero-posterior width and its mean height (area / width) in millimetres.
3. **Numbering from the sacrum.** Discs are sorted inferior->superior and numbered
   1, 2, ... (1 = lowest = L5/S1 when the lowest disc is found). The numbering is only
   trusted when the sacrum is found: the backbone leaves the sacrum unlabelled (the
   SPIDER training masks do not label it), so below the true L5/S1 disc there is no
   vertebra-labelled body, while below a higher disc there is a whole vertebral body.
   ``sacrum_found`` is true when the vertebra-labelled run below the lowest disc is
   shorter than ``sacrum_max_body_mm``.

Millimetres are only as right as the pixel size passed in; see ``benchmarks/RESULTS.md``
for how the slice set's stated pixel size was checked.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np

__all__ = [
    "ORIENTATIONS",
    "Disc",
    "Localisation",
    "localise_discs",
    "to_canonical",
    "from_canonical_point",
]

#: the L5/S1 disc's long axis rises posteriorly (negative tilt) in the canonical
#: orientation; a lowest disc tilted more than this is taken as lumbosacral
LUMBOSACRAL_TILT_DEG = -15.0
#: score bonus for each anatomical check an orientation passes (sacrum, tilt); the
#: network's mean confidence differs by 0.001-0.03 between flips, so this decides near-ties
ANATOMY_BONUS = 0.02
#: (flip_rows, flip_cols) candidates; (False, False) means the input is already canonical.
ORIENTATIONS: tuple[tuple[bool, bool], ...] = (
    (False, False),
    (True, False),
    (False, True),
    (True, True),
)


@dataclass(frozen=True)
class Disc:
    """One disc found on a slice, in the *input* image's pixel coordinates and in mm."""

    label: int  # 1 = lowest disc found (L5/S1 when the sacrum is found)
    row: float  # centre, input image pixels
    col: float
    angle_deg: (
        float  # tilt of the disc's long axis in the canonical orientation, + = posterior end lower
    )
    width_mm: float  # antero-posterior extent along the long axis
    height_mm: float  # area / width
    area_mm2: float
    mean_prob: float  # backbone's mean disc probability over the component


@dataclass(frozen=True)
class Localisation:
    """Result of ``localise_discs``: the orientation chosen, the discs and the checks."""

    flip_rows: bool
    flip_cols: bool
    orientation_scores: dict[str, float]
    orientation_margin: float  # best score minus runner-up
    canal_posterior: bool
    sacrum_found: bool
    below_lowest_body_mm: float
    spacing_mm: tuple[float, float]
    discs: list[Disc] = field(default_factory=list)

    @property
    def n_discs(self) -> int:
        return len(self.discs)

    def to_dict(self) -> dict:
        d = asdict(self)
        d["n_discs"] = self.n_discs
        return d


def _name(flip: tuple[bool, bool]) -> str:
    return {
        (False, False): "none",
        (True, False): "rows",
        (False, True): "cols",
        (True, True): "both",
    }[flip]


def to_canonical(image: np.ndarray, flip_rows: bool, flip_cols: bool) -> np.ndarray:
    """The image flipped into rows superior->inferior, cols anterior->posterior."""
    out = image[::-1] if flip_rows else image
    out = out[:, ::-1] if flip_cols else out
    return np.ascontiguousarray(out)


def from_canonical_point(
    row: float, col: float, shape: tuple[int, int], flip_rows: bool, flip_cols: bool
) -> tuple[float, float]:
    """A canonical-orientation pixel position back to the input image's pixels."""
    r = shape[0] - 1 - row if flip_rows else row
    c = shape[1] - 1 - col if flip_cols else col
    return float(r), float(c)


def _probabilities(image: np.ndarray, spacing: tuple[float, float], backbone) -> np.ndarray:
    """Softmax ``(4, h, w)`` on the model grid for one canonical-orientation slice."""
    from radiomics_features.backbone.preprocess import slice_grid, to_model_grid

    grid = slice_grid(image.shape, spacing, backbone.preprocessing)
    x = to_model_grid(image[None], grid, backbone.preprocessing)
    logits = backbone.session.run([backbone.output_name], {backbone.input_name: x})[0][0]
    h, w = grid.model_shape
    lg = logits[:, :h, :w]
    p = np.exp(lg - lg.max(axis=0, keepdims=True))
    return p / p.sum(axis=0, keepdims=True)


def _orientation_score(prob: np.ndarray) -> tuple[float, bool]:
    """Mean max-probability over spine pixels, and whether the canal is posterior."""
    lab = prob.argmax(axis=0)
    fg = lab > 0
    if fg.sum() < 50:
        return 0.0, False
    conf = float(prob.max(axis=0)[fg].mean())
    disc_c, canal_c = np.nonzero(lab == 2)[1], np.nonzero(lab == 3)[1]
    posterior = bool(disc_c.size and canal_c.size and np.median(canal_c) > np.median(disc_c))
    return conf, posterior


def _discs_on_grid(
    prob: np.ndarray, t: float, min_area_mm2: float, search_mm: float
) -> tuple[list[dict], np.ndarray]:
    from scipy import ndimage

    lab = prob.argmax(axis=0)
    comps, n = ndimage.label(lab == 2)
    vert = lab == 1
    out = []
    for k in range(1, n + 1):
        rr, cc = np.nonzero(comps == k)
        area = rr.size * t * t
        if area < min_area_mm2:
            continue
        r0, c0 = rr.mean(), cc.mean()
        cov = np.cov(np.vstack([rr - r0, cc - c0])) if rr.size > 2 else np.eye(2)
        _, evecs = np.linalg.eigh(cov)
        major = evecs[:, 1]  # (drow, dcol) along the disc
        if major[1] < 0:
            major = -major
        proj = (rr - r0) * major[0] + (cc - c0) * major[1]
        width = (proj.max() - proj.min() + 1) * t
        normal = np.array([major[1], -major[0]])  # points inferior when the disc is level
        if normal[0] < 0:
            normal = -normal
        # vertebra above and below the centre, along the normal, within search_mm
        steps = np.arange(1, int(search_mm / t) + 1)
        above = below = False
        for sgn in (-1, 1):
            pr = np.rint(r0 + sgn * steps * normal[0]).astype(int)
            pc = np.rint(c0 + sgn * steps * normal[1]).astype(int)
            ok = (pr >= 0) & (pr < lab.shape[0]) & (pc >= 0) & (pc < lab.shape[1])
            hit = bool(vert[pr[ok], pc[ok]].any())
            if sgn < 0:
                above = hit
            else:
                below = hit
        out.append(
            {
                "r": r0,
                "c": c0,
                "angle": float(np.degrees(np.arctan2(major[0], major[1]))),
                "width_mm": float(width),
                "height_mm": float(area / width),
                "area_mm2": float(area),
                "mean_prob": float(prob[2][rr, cc].mean()),
                "above": above,
                "below": below,
                "normal": normal,
            }
        )
    return out, lab


def _body_below_mm(lab: np.ndarray, disc: dict, t: float, max_mm: float = 60.0) -> float:
    """Length of the first vertebra-labelled run below a disc, along its normal (mm)."""
    n = disc["normal"]
    run, started, gap = 0, False, 0
    for s in range(1, int(max_mm / t) + 1):
        r, c = round(float(disc["r"] + s * n[0])), round(float(disc["c"] + s * n[1]))
        if not (0 <= r < lab.shape[0] and 0 <= c < lab.shape[1]):
            break
        if lab[r, c] == 1:
            started, gap = True, 0
            run += 1
        elif started:
            gap += 1
            if gap > 2:  # a short gap (a vessel, noise) does not end the body
                break
        elif s * t > 8.0:  # nothing within 8 mm under the disc
            break
    return run * t


def _kept_discs(prob: np.ndarray, t: float, min_area_mm2: float, search_mm: float):
    """Disc components with vertebra above (and below, except the lowest), top to bottom."""
    found, lab = _discs_on_grid(prob, t, min_area_mm2, search_mm)
    found.sort(key=lambda d: d["r"])
    kept = [d for i, d in enumerate(found) if d["above"] and (d["below"] or i == len(found) - 1)]
    return kept, lab


def localise_discs(
    image: np.ndarray,
    spacing: tuple[float, float],
    *,
    backbone=None,
    orientation: tuple[bool, bool] | None = None,
    min_disc_area_mm2: float = 40.0,
    search_mm: float = 12.0,
    sacrum_max_body_mm: float = 15.0,
) -> Localisation:
    """Orientation, discs and their numbering from the sacrum for one sagittal slice.

    ``image``: 2D greyscale array (any orientation among the four flips); ``spacing``:
    ``(row_mm, col_mm)``. ``orientation``: pass ``(flip_rows, flip_cols)`` to skip the
    search (e.g. when the T2 of the same study has fixed it). ``backbone``: a loaded
    ``radiomics_features.backbone.Backbone`` (default: the bundled one, 1 thread).
    """
    from radiomics_features.backbone import load_backbone

    img = np.asarray(image, dtype=np.float32)
    if img.ndim != 2:
        raise ValueError(f"image must be a 2D slice, got shape {img.shape}")
    bb = backbone if backbone is not None else load_backbone(threads=1)
    t = bb.preprocessing.target_spacing_mm
    candidates: tuple[tuple[bool, bool], ...] = (
        ORIENTATIONS if orientation is None else ((bool(orientation[0]), bool(orientation[1])),)
    )
    scores: dict[str, float] = {}
    best = None
    for flip in candidates:
        prob = _probabilities(to_canonical(img, *flip), spacing, bb)
        conf, posterior = _orientation_score(prob)
        kept, lab = _kept_discs(prob, t, min_disc_area_mm2, search_mm)
        below_mm = _body_below_mm(lab, kept[-1], t) if kept else float("nan")
        sacrum = bool(kept) and below_mm < sacrum_max_body_mm
        lumbosacral = bool(kept) and kept[-1]["angle"] < LUMBOSACRAL_TILT_DEG
        # a flip whose canal is anterior is implausible whatever its confidence; the
        # sacrum under the lowest disc and that disc's lumbosacral tilt break near-ties
        score = conf + ANATOMY_BONUS * (sacrum + lumbosacral) - (0.0 if posterior else 1.0)
        scores[_name(flip)] = round(score, 5)
        if best is None or score > best[0]:
            best = (score, flip, posterior, kept, below_mm, sacrum)
    if best is None:  # pragma: no cover - candidates is never empty
        raise RuntimeError("no orientation was tried")
    _, flip, posterior, kept, below_mm, sacrum = best
    ranked = sorted(scores.values(), reverse=True)
    margin = ranked[0] - ranked[1] if len(ranked) > 1 else float("nan")

    # canonical model grid -> canonical image pixels -> input image pixels
    canon_shape = img.shape
    discs = []
    for i, d in enumerate(reversed(kept)):
        rc = (d["r"] + 0.5) * t / spacing[0] - 0.5
        cc = (d["c"] + 0.5) * t / spacing[1] - 0.5
        r, c = from_canonical_point(rc, cc, canon_shape, *flip)
        discs.append(
            Disc(
                label=i + 1,
                row=r,
                col=c,
                angle_deg=d["angle"],
                width_mm=d["width_mm"],
                height_mm=d["height_mm"],
                area_mm2=d["area_mm2"],
                mean_prob=d["mean_prob"],
            )
        )
    return Localisation(
        flip_rows=bool(flip[0]),
        flip_cols=bool(flip[1]),
        orientation_scores=scores,
        orientation_margin=float(margin),
        canal_posterior=posterior,
        sacrum_found=sacrum,
        below_lowest_body_mm=float(below_mm),
        spacing_mm=(float(spacing[0]), float(spacing[1])),
        discs=discs,
    )
