"""Grade the discs of one sagittal slice with the bundled disc grader (onnxruntime only).

``grade_slice(t2, spacing)`` finds and numbers the discs (``localise_discs``: the
bundled backbone, orientation search, numbering from the sacrum), cuts a 64 x 64 crop
of 1.2 mm pixels around each (``disc_crop``), and runs ``grader.onnx`` on them. When the
grader has a feature model (``feature_model.json``, as the bundled one does), the
network's grade probabilities are averaged with those of a logistic regression on the
disc's geometry and crop intensities (``features``), and the grade is the expected
grade cut at tuned thresholds (``feature_model.combine``); otherwise it is the most
probable grade. It returns, per disc level, the Pfirrmann grade with its probability,
the probability of every grade, and the probability of each binary finding (any Modic
change, endplate change, spondylolisthesis, herniation, narrowing, bulging; from the
network).

``load_grader()`` reads ``grader.json`` next to the weights, checks the sha256 of the
weights and of the feature model against it and refuses to load anything else. No
torch here.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from radiomics_features.grader.crops import CROP_MM, CROP_SIZE, disc_crop, normalise_slice
from radiomics_features.grader.feature_model import GraderIntegrityError
from radiomics_features.grader.localise import Disc, Localisation, localise_discs
from radiomics_features.grader.slices import as_grey

__all__ = [
    "DEFAULT_GRADER_PATH",
    "DiscGrade",
    "Grader",
    "GraderIntegrityError",
    "SliceGrades",
    "grade_crops",
    "grade_slice",
    "level_value",
    "load_grader",
]

DEFAULT_GRADER_PATH = Path(__file__).with_name("grader.onnx")
SIDECAR_FORMAT_VERSION = 1


@dataclass(frozen=True)
class Grader:
    session: Any = field(repr=False)
    metadata: dict = field(repr=False)
    sha256: str
    path: Path
    #: ``feature_model.FeatureModel`` when the sidecar names one, else None
    features: Any = field(default=None, repr=False)

    @property
    def rule(self) -> str:
        if self.features is None:
            return "most probable grade of the network"
        return (
            f"expected grade of the averaged network ({self.features.cnn_weight:g}) and "
            "feature-model probabilities, cut at the tuned thresholds "
            + ", ".join(f"{t:.3f}" for t in self.features.thresholds)
        )


@dataclass(frozen=True)
class DiscGrade:
    """The grader's output for one disc. ``level`` is ``None`` above L1/L2."""

    label: int  # from the sacrum, 1 = lowest disc found
    level: str | None  # l5_s1 ... l1_l2 (taking the lowest disc as L5/S1)
    grade: int  # Pfirrmann 1-5, by the grader's rule (``Grader.rule``)
    probability: float  # of that grade under the rule's probabilities (not always the largest)
    grade_probabilities: tuple[float, ...]
    findings: dict[str, float]  # probability of each binary finding
    numbering_trusted: bool  # the caller's numbering, or the sacrum found below disc 1
    row: float
    col: float


@dataclass(frozen=True)
class SliceGrades:
    discs: list[DiscGrade]
    localisation: Localisation

    def by_level(self) -> dict[str, DiscGrade]:
        return {d.level: d for d in self.discs if d.level is not None}


def load_grader(path: str | Path | None = None, *, threads: int = 1) -> Grader:
    """Verify (sha256 against ``grader.json``) and load the ONNX disc grader."""
    try:
        import onnxruntime as ort
    except ImportError as err:  # pragma: no cover - depends on the environment
        raise ImportError(
            "the disc grader needs onnxruntime; install the imaging extra: pip install 'spine-prom[imaging]'"
        ) from err
    p = Path(path) if path is not None else DEFAULT_GRADER_PATH
    if not p.is_file():
        raise FileNotFoundError(f"grader weights {p} not found")
    side = p.with_suffix(".json")
    if not side.is_file():
        raise FileNotFoundError(
            f"sidecar {side} not found; the weights load only with their JSON sidecar"
        )
    meta = json.loads(side.read_text(encoding="utf-8"))
    if meta.get("format_version") != SIDECAR_FORMAT_VERSION:
        raise GraderIntegrityError(
            f"sidecar {side.name} has format_version {meta.get('format_version')!r}, "
            f"this code reads {SIDECAR_FORMAT_VERSION}"
        )
    blob = p.read_bytes()
    digest = hashlib.sha256(blob).hexdigest()
    if digest != meta.get("onnx_sha256"):
        raise GraderIntegrityError(
            f"refusing to load {p}: its sha256 is {digest}, the sidecar expects "
            f"{meta.get('onnx_sha256')}; the weights were modified or belong to another sidecar"
        )
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads
    opts.inter_op_num_threads = 1
    opts.log_severity_level = 3
    sess = ort.InferenceSession(blob, sess_options=opts, providers=["CPUExecutionProvider"])
    features = None
    if meta.get("feature_model_file"):
        from radiomics_features.grader.feature_model import load_feature_model

        fm = p.parent / str(meta["feature_model_file"])
        if not fm.is_file():
            raise FileNotFoundError(f"feature model {fm} (named by {side.name}) not found")
        features = load_feature_model(fm, meta.get("feature_model_sha256"))
    return Grader(session=sess, metadata=meta, sha256=digest, path=p, features=features)


@lru_cache(maxsize=1)
def _bundled_grader() -> Grader:
    return load_grader()


def level_value(label) -> np.ndarray:
    """The network's level plane: disc label from the sacrum (capped at 9) / 5."""
    return np.minimum(np.asarray(label, dtype=np.float32), 9.0) / 5.0


def grade_crops(
    t2: np.ndarray | None,
    t1: np.ndarray | None = None,
    *,
    labels,
    grader: Grader | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Probabilities for ``(n, 64, 64)`` crops: grades ``(n, 5)``, findings ``(n, 6)``.

    Either sequence may be ``None`` (absent); both absent is an error. ``labels``: each
    disc's number from the sacrum (1 = lowest), which the network takes as an input.
    """
    g = grader if grader is not None else _bundled_grader()
    if t2 is None and t1 is None:
        raise ValueError("grade_crops needs a T2 or a T1 crop stack (both were None)")
    ref = np.asarray(t2 if t2 is not None else t1, dtype=np.float32)
    if ref.ndim != 3 or ref.shape[1:] != (CROP_SIZE, CROP_SIZE):
        raise ValueError(f"crops must be (n, {CROP_SIZE}, {CROP_SIZE}), got shape {ref.shape}")
    n = ref.shape[0]
    lab = np.asarray(labels)
    if lab.shape != (n,) or lab.dtype.kind not in "iu" or (lab < 1).any():
        raise ValueError(
            f"labels must be {n} integer disc number(s) from the sacrum (1 = lowest), got {labels!r}"
        )
    x = np.zeros((n, 5, CROP_SIZE, CROP_SIZE), dtype=np.float32)
    for ch, arr in enumerate((t2, t1)):
        if arr is not None:
            a = np.asarray(arr, dtype=np.float32)
            if a.shape != ref.shape:
                raise ValueError(f"T2 and T1 crop stacks differ in shape: {ref.shape} vs {a.shape}")
            x[:, ch] = a
            x[:, ch + 2] = 1.0
    x[:, 4] = level_value(lab)[:, None, None]
    meta = g.metadata
    pg, pf = g.session.run(list(meta["output_names"]), {meta["input_name"]: x})
    return pg, pf


def _level(label: int) -> str | None:
    from radiomics_features.levels import DISC_LEVELS, disc_level_from_bottom

    return disc_level_from_bottom(label) if 1 <= label <= len(DISC_LEVELS) else None


def grade_slice(
    image: np.ndarray,
    spacing: tuple[float, float],
    *,
    t1: np.ndarray | None = None,
    t1_spacing: tuple[float, float] | None = None,
    orientation: tuple[bool, bool] | None = None,
    grader: Grader | None = None,
    backbone=None,
    numbering: Callable[[Disc], int | None] | None = None,
) -> SliceGrades:
    """Pfirrmann grade (and findings) of every disc found on a mid-sagittal T2 slice.

    ``image``: the T2 slice, 2D (any of the four flips; see ``localise_discs``);
    ``spacing``: its ``(row_mm, col_mm)``. ``t1`` / ``t1_spacing``: the same patient's
    mid-sagittal T1, optional; it is localised on its own and its discs are matched by
    label. ``orientation``: ``(flip_rows, flip_cols)`` to skip the orientation search
    (``(False, False)`` for the package's canonical volumes).

    ``numbering``: the caller's number from the bottom (1 = L5/S1) for each disc found
    here, or None to leave the disc out; for a volume whose levels are already named
    (:func:`radiomics_features.grader.levelled.grade_levelled_slice`), so that a grade
    and a measurement named alike are of the same disc. The network is given that number.
    Without it, the discs are numbered from the lowest one found on this slice.
    """
    img = as_grey(image, name="T2 slice")
    loc = localise_discs(img, spacing, backbone=backbone, orientation=orientation)
    if numbering is not None:
        named = ((d, numbering(d)) for d in loc.discs)
        loc = replace(loc, discs=[replace(d, label=n) for d, n in named if n is not None])
    if not loc.discs:
        return SliceGrades([], loc)
    norm = normalise_slice(img)
    sp = (float(spacing[0]), float(spacing[1]))
    t2c = np.stack(
        [
            disc_crop(
                norm,
                sp,
                d,
                flip_rows=loc.flip_rows,
                flip_cols=loc.flip_cols,
                size=CROP_SIZE,
                crop_mm=CROP_MM,
                normalised=True,
            )
            for d in loc.discs
        ]
    )
    labels = np.array([d.label for d in loc.discs], dtype=np.int64)
    if t1 is not None:
        if t1_spacing is None:
            raise ValueError("t1 was given without t1_spacing (row_mm, col_mm)")
        t1img = as_grey(t1, name="T1 slice")
        loc1 = localise_discs(t1img, t1_spacing, backbone=backbone)
        n1 = normalise_slice(t1img)
        # a T1 disc joins the T2 disc of the same label only when both numberings start
        # at the sacrum; otherwise (or with the caller's numbering of the T2 discs) the
        # labels may not name the same disc
        both = numbering is None and loc1.sacrum_found and loc.sacrum_found
        by_label = {d.label: d for d in loc1.discs} if both else {}
        t1c = np.zeros_like(t2c)
        have = np.zeros(len(loc.discs), dtype=bool)
        for i, d in enumerate(loc.discs):
            if d.label in by_label:
                t1c[i] = disc_crop(
                    n1,
                    (float(t1_spacing[0]), float(t1_spacing[1])),
                    by_label[d.label],
                    flip_rows=loc1.flip_rows,
                    flip_cols=loc1.flip_cols,
                    size=CROP_SIZE,
                    crop_mm=CROP_MM,
                    normalised=True,
                )
                have[i] = True
        pg, pf = grade_crops(t2c, None, labels=labels, grader=grader)
        if have.any():
            pg2, pf2 = grade_crops(t2c[have], t1c[have], labels=labels[have], grader=grader)
            pg[have], pf[have] = pg2, pf2
        t1_discs = [by_label.get(d.label) for d in loc.discs]
    else:
        t1c = np.zeros_like(t2c)
        t1_discs = [None] * len(loc.discs)
        pg, pf = grade_crops(t2c, None, labels=labels, grader=grader)
    g = grader if grader is not None else _bundled_grader()
    grades = pg.argmax(axis=1) + 1
    if g.features is not None:
        X = _feature_rows(loc.discs, t1_discs, t2c, t1c, labels)
        pg, grades = g.features.combine(pg, g.features.predict_proba(X))
    names = list(g.metadata["findings"])
    out = []
    for i, d in enumerate(loc.discs):
        k = int(grades[i]) - 1
        out.append(
            DiscGrade(
                label=d.label,
                level=_level(d.label),
                grade=k + 1,
                probability=float(pg[i, k]),
                grade_probabilities=tuple(float(v) for v in pg[i]),
                findings={n: float(v) for n, v in zip(names, pf[i], strict=True)},
                numbering_trusted=numbering is not None
                or bool(loc.sacrum_found and loc.canal_posterior),
                row=d.row,
                col=d.col,
            )
        )
    return SliceGrades(out, loc)


def _feature_rows(t2_discs, t1_discs, t2c, t1c, labels) -> np.ndarray:
    """``features.FEATURE_NAMES`` of each disc: its T2 (and matched T1) geometry and crops."""
    import pandas as pd

    from radiomics_features.grader.features import GEOMETRY, disc_features

    geo = pd.DataFrame(
        [
            {
                **{f"t2_{k}": getattr(d2, k) for k in GEOMETRY},
                **{f"t1_{k}": (getattr(d1, k) if d1 is not None else np.nan) for k in GEOMETRY},
            }
            for d2, d1 in zip(t2_discs, t1_discs, strict=True)
        ]
    )
    has = np.c_[np.ones(len(t2_discs), dtype=bool), [d is not None for d in t1_discs]]
    crops = np.stack([t2c, t1c], axis=1)
    return disc_features(geo, crops, has, labels).to_numpy(dtype=float)
