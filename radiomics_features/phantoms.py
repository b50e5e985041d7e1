"""Synthetic lumbar spine phantoms with known dimensions, for tests and demos.

A phantom is a stack, in the sagittal plane, of box-shaped vertebral bodies and discs
(L1 … L5 and the L1/L2 … L5/S1 discs, optionally thoracic levels above and a sacrum
below that the mask leaves unlabelled, as in SPIDER), a spinal canal behind them whose
AP diameter can differ at each disc and each mid-vertebra, and posterior elements
behind the canal joined to the bodies by pedicles lateral to the canal (so, as in real
masks, the vertebra class is one 3D component per vertebra including its arch).
Every structure is extruded left–right with its own width.

The whole spine can be tilted in the sagittal plane (``tilt_deg``, positive = the
inferior end moves posteriorly); heights are defined perpendicular to the endplates, so
the truth does not change with tilt. Levels can be left out of the mask (``missing``),
a disc can have height 0 (the bodies then touch), and the field of view can cut the
spine at the top or bottom (``truncate_superior_mm`` / ``truncate_inferior_mm``,
measured from the superior end of the top structure and the inferior end of the
sacrum) or at the sides (``lr_fov_mm``). Intensities are exact (uint8) with optional
Gaussian noise.

A voxel belongs to a structure when its centre lies inside it, so a measured length is
exact up to the rasterisation of its two ends: within one voxel.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from radiomics_features.io import Volume, volume_from_array
from radiomics_features.labels import instance_id
from radiomics_features.levels import DISC_LEVELS, VERTEBRA_LEVELS

__all__ = ["PhantomSpec", "Phantom", "make_phantom"]

_T_VERT = ("t12", "t11", "t10", "t9")
_T_DISC = ("t12_l1", "t11_t12", "t10_t11", "t9_t10")


def _per_level(value: float | Sequence[float], n: int, name: str) -> tuple[float, ...]:
    if isinstance(value, (int, float, np.integer, np.floating)):
        return (float(value),) * n
    out = tuple(float(v) for v in value)
    if len(out) != n:
        raise ValueError(
            f"{name} needs {n} values (one per level, cranial to caudal); got {len(out)}"
        )
    return out


@dataclass(frozen=True)
class PhantomSpec:
    """Dimensions in mm, cranial to caudal (discs l1_l2 … l5_s1, vertebrae l1 … l5).

    The per-level fields (``disc_heights_mm``, ``vertebra_heights_mm``,
    ``canal_ap_mm``, ``canal_ap_vertebra_mm``, ``disc_signal``) take five values, or
    one number for all five; they hold a tuple of five floats either way.
    """

    disc_heights_mm: tuple[float, ...] = (8.0, 9.0, 10.0, 11.0, 12.0)
    vertebra_heights_mm: tuple[float, ...] = (26.0, 27.0, 27.0, 28.0, 28.0)
    body_ap_mm: float = 34.0
    disc_ap_mm: float = 34.0
    canal_ap_mm: tuple[float, ...] = (16.0, 15.0, 14.0, 12.0, 13.0)
    canal_ap_vertebra_mm: tuple[float, ...] = (17.0, 17.0, 16.0, 16.0, 15.0)
    body_width_mm: float = 40.0
    canal_width_mm: float = 16.0
    posterior_ap_mm: float = 22.0
    posterior_width_mm: float = 30.0
    pedicle_width_mm: float = 5.0
    n_thoracic: int = 0
    thoracic_vertebra_mm: float = 23.0
    thoracic_disc_mm: float = 6.0
    sacrum_mm: float = 30.0
    spacing: tuple[float, float, float] = (2.0, 0.5, 0.5)
    tilt_deg: float = 0.0
    missing: tuple[str, ...] = ()
    truncate_superior_mm: float = 0.0
    truncate_inferior_mm: float = 0.0
    lr_fov_mm: float | None = None
    margin_mm: float = 10.0
    background_signal: float = 20.0
    body_signal: float = 90.0
    posterior_signal: float = 70.0
    disc_signal: tuple[float, ...] = (180.0,) * 5
    csf_signal: float = 240.0
    noise_sd: float = 0.0
    seed: int = 0

    def __post_init__(self) -> None:
        for name in (
            "disc_heights_mm",
            "vertebra_heights_mm",
            "canal_ap_mm",
            "canal_ap_vertebra_mm",
            "disc_signal",
        ):
            object.__setattr__(self, name, _per_level(getattr(self, name), 5, name))
        known = set(DISC_LEVELS) | set(VERTEBRA_LEVELS) | set(_T_VERT) | set(_T_DISC)
        bad = [m for m in self.missing if m not in known]
        if bad:
            raise ValueError(
                f"missing level(s) {bad} are not level names ({', '.join(sorted(known))})"
            )
        if any(h < 0 for h in self.disc_heights_mm) or any(
            h <= 0 for h in self.vertebra_heights_mm
        ):
            raise ValueError("disc heights must be ≥ 0 and vertebral heights > 0 mm")
        if not 0 <= self.n_thoracic <= len(_T_VERT):
            raise ValueError(f"n_thoracic must be 0–{len(_T_VERT)}; got {self.n_thoracic}")


@dataclass(frozen=True, eq=False)
class Phantom:
    """Image, three-class mask, SPIDER-style instance map and the known truth per level."""

    image: Volume
    mask: Volume
    instances: np.ndarray
    truth: pd.DataFrame
    spec: PhantomSpec = field(repr=False)


def _structures(spec: PhantomSpec) -> list[dict]:
    """Structures cranial → caudal with their spine-frame extent (s from 0 downward)."""
    items: list[dict] = []
    for i in reversed(range(spec.n_thoracic)):
        items.append(
            dict(
                level=_T_VERT[i],
                kind="vertebra",
                h=spec.thoracic_vertebra_mm,
                canal=spec.canal_ap_vertebra_mm[0],
            )
        )
        items.append(
            dict(
                level=_T_DISC[i],
                kind="disc",
                h=spec.thoracic_disc_mm,
                canal=spec.canal_ap_mm[0],
                signal=spec.disc_signal[0],
            )
        )
    for i in range(5):
        items.append(
            dict(
                level=VERTEBRA_LEVELS[i],
                kind="vertebra",
                h=spec.vertebra_heights_mm[i],
                canal=spec.canal_ap_vertebra_mm[i],
            )
        )
        items.append(
            dict(
                level=DISC_LEVELS[i],
                kind="disc",
                h=spec.disc_heights_mm[i],
                canal=spec.canal_ap_mm[i],
                signal=spec.disc_signal[i],
            )
        )
    items.append(
        dict(level="sacrum", kind="sacrum", h=spec.sacrum_mm, canal=spec.canal_ap_vertebra_mm[-1])
    )
    s = 0.0
    for it in items:
        it["s0"], it["s1"] = s, s + it["h"]
        s += it["h"]
    return items


def make_phantom(spec: PhantomSpec | None = None, **overrides) -> Phantom:
    """Render a phantom (``make_phantom(tilt_deg=25)`` is ``make_phantom(PhantomSpec(tilt_deg=25))``)."""
    if spec is None:
        spec = PhantomSpec(**overrides)
    elif overrides:
        raise TypeError("give either a PhantomSpec or keyword overrides, not both")
    items = _structures(spec)
    total = items[-1]["s1"]
    s_off = total / 2.0  # centre the stack on the pivot
    a0 = -spec.body_ap_mm / 2.0  # anterior wall
    a_back = (
        a0
        + max(spec.body_ap_mm, spec.disc_ap_mm)
        + max(max(spec.canal_ap_mm), max(spec.canal_ap_vertebra_mm))
        + spec.posterior_ap_mm
    )
    th = np.deg2rad(spec.tilt_deg)
    c, s_ = np.cos(th), np.sin(th)
    corners = np.array([[sv - s_off, av] for sv in (0.0, total) for av in (a0, a_back)])
    ys = corners[:, 0] * c - corners[:, 1] * s_
    zs = corners[:, 0] * s_ + corners[:, 1] * c
    m = spec.margin_mm
    sp_lr, sp_si, sp_ap = spec.spacing
    ny = int(np.ceil((ys.max() - ys.min() + 2 * m) / sp_si))
    nz = int(np.ceil((zs.max() - zs.min() + 2 * m) / sp_ap))
    lr_fov = spec.lr_fov_mm if spec.lr_fov_mm is not None else spec.body_width_mm + 2 * 4.0
    nx = max(round(float(lr_fov / sp_lr)), 2)
    y = ys.min() - m + sp_si * np.arange(ny)
    z = zs.min() - m + sp_ap * np.arange(nz)
    x = sp_lr * (np.arange(nx) - (nx - 1) / 2.0)  # LR centred on the midline
    Y, Z = np.meshgrid(y, z, indexing="ij")
    S = Y * c + Z * s_ + s_off  # spine frame: s down, a posterior
    A = -Y * s_ + Z * c

    bounds = np.array([it["s0"] for it in items] + [total])
    idx = np.searchsorted(bounds, S, side="right") - 1
    inside_s = (S >= 0) & (total > S)
    idx = np.clip(idx, 0, len(items) - 1)
    kinds = np.array([it["kind"] for it in items])
    depth = np.array([spec.disc_ap_mm if it["kind"] == "disc" else spec.body_ap_mm for it in items])
    canal_ap = np.array([it["canal"] for it in items])
    front = a0 + depth[idx]
    in_column = inside_s & (a0 <= A) & (front > A)
    canal_end_s = items[-1]["s0"] + 15.0  # thecal sac ends 15 mm into the sacrum
    in_canal = (canal_end_s > S) & (front <= A) & (front + canal_ap[idx] > A)
    s_rel = np.where(
        inside_s, (S - bounds[idx]) / np.maximum(bounds[idx + 1] - bounds[idx], 1e-9), -1
    )
    is_vert = inside_s & (kinds[idx] == "vertebra")
    arch = (
        is_vert
        & (s_rel >= 0.15)
        & (s_rel < 0.85)
        & (front + canal_ap[idx] <= A)
        & (front + canal_ap[idx] + spec.posterior_ap_mm > A)
    )
    pedicle = (
        is_vert & (s_rel >= 0.25) & (s_rel < 0.75) & (front <= A) & (front + canal_ap[idx] > A)
    )

    ax = np.abs(x)[:, None, None]
    body_lr = ax < spec.body_width_mm / 2.0
    canal_lr = ax < spec.canal_width_mm / 2.0
    arch_lr = ax < spec.posterior_width_mm / 2.0
    ped_lr = (ax >= spec.canal_width_mm / 2.0) & (
        ax < spec.canal_width_mm / 2.0 + spec.pedicle_width_mm
    )

    ids = np.array([instance_id(it["level"]) if it["kind"] != "sacrum" else 0 for it in items])
    col_id = np.where(in_column, ids[idx], 0)
    inst = np.where(body_lr, col_id[None], 0).astype(np.int16)
    mask = np.zeros((nx, ny, nz), dtype=np.uint8)
    is_disc2 = in_column & (kinds[idx] == "disc")
    is_body2 = in_column & (kinds[idx] == "vertebra")
    mask[body_lr & is_body2[None]] = 1
    mask[body_lr & is_disc2[None]] = 2
    mask[(arch_lr & arch[None]) | (ped_lr & pedicle[None])] = 1
    mask[canal_lr & in_canal[None] & (mask == 0)] = 3
    sacrum2 = in_column & (kinds[idx] == "sacrum")

    sig_disc = np.array([it.get("signal", 0.0) for it in items])
    img = np.full((nx, ny, nz), spec.background_signal, dtype=float)
    img[body_lr & (is_body2 | sacrum2)[None]] = spec.body_signal
    img[body_lr & is_disc2[None]] = np.broadcast_to(sig_disc[idx][None], img.shape)[
        body_lr & is_disc2[None]
    ]
    img[(arch_lr & arch[None]) | (ped_lr & pedicle[None])] = spec.posterior_signal
    img[mask == 3] = spec.csf_signal
    if spec.noise_sd > 0:
        img += np.random.default_rng(spec.seed).normal(0.0, spec.noise_sd, img.shape)

    # left-out levels: drop from mask and instances (the image still shows them)
    for lev in spec.missing:
        gone = inst == instance_id(lev)
        mask[gone] = 0
        inst[gone] = 0
        if lev in VERTEBRA_LEVELS or lev in _T_VERT:  # its arch and pedicles too
            it = next(i for i in items if i["level"] == lev)
            band = (it["s0"] <= S) & (it["s1"] > S)
            mask[(mask == 1) & band[None]] = 0

    # field-of-view truncation (rows), measured from the top structure / sacrum bottom
    col_rows = np.flatnonzero(in_column.any(axis=1))
    r0, r1 = 0, ny
    if spec.truncate_superior_mm:
        r0 = col_rows.min() + round(float(spec.truncate_superior_mm / sp_si))
    if spec.truncate_inferior_mm:
        r1 = col_rows.max() + 1 - round(float(spec.truncate_inferior_mm / sp_si))
    full_counts = {
        int(i): int(n) for i, n in zip(*np.unique(inst, return_counts=True), strict=True)
    }
    mask, inst, img = mask[:, r0:r1], inst[:, r0:r1], img[:, r0:r1]
    kept_counts = {
        int(i): int(n) for i, n in zip(*np.unique(inst, return_counts=True), strict=True)
    }

    rows = []
    lr_trunc = spec.body_width_mm > nx * sp_lr
    for it in items:
        if it["kind"] == "sacrum":
            continue
        iid = instance_id(it["level"])
        present = it["level"] not in spec.missing and kept_counts.get(iid, 0) > 0 and it["h"] > 0
        truncated = present and kept_counts.get(iid, 0) < full_counts.get(iid, 0)
        d = spec.disc_ap_mm if it["kind"] == "disc" else spec.body_ap_mm
        width = min(spec.body_width_mm, nx * sp_lr)
        rows.append(
            dict(
                level=it["level"],
                kind=it["kind"],
                present=present,
                truncated=truncated,
                lateral_truncated=lr_trunc,
                height_mm=it["h"],
                ap_depth_mm=d,
                canal_ap_mm=it["canal"],
                area_mm2=it["h"] * d,
                volume_mm3=it["h"] * d * width,
                signal=it.get("signal", spec.body_signal),
                csf_signal=spec.csf_signal,
                instance_id=iid,
            )
        )
    truth = pd.DataFrame(rows)

    img8 = np.clip(np.round(img), 0, 255).astype(np.uint8)
    how = f"phantom (canonical by construction, tilt {spec.tilt_deg:g}°)"
    return Phantom(
        image=volume_from_array(img8, spec.spacing, orientation=how),
        mask=volume_from_array(mask, spec.spacing, orientation=how),
        instances=inst,
        truth=truth,
        spec=spec,
    )
