"""Batch augmentation for sagittal T2 slices, on tensors (training-only).

What is, and is not, done, and why:
- No flips. Within a sagittal slice both in-plane flips change anatomy (superior/
  inferior puts the sacrum on top; anterior/posterior puts the canal in front of the
  bodies). The harmless flip, left/right, reorders slices, which a per-slice 2D model
  never sees: it would be a no-op.
- Small random affine per slice: rotation +-12 deg (lordosis and patient positioning
  vary), isotropic scale 0.85-1.15 (body size, FOV), slight anisotropy +-5 %,
  translation +-6 % of the image. Images bilinear, soft one-hot targets bilinear (they
  stay a probability distribution; areas outside the slice become background).
- Intensity: gamma 0.7-1.5, contrast x0.85-1.15, brightness +-0.05, Gaussian noise
  sigma 0-0.03 (inputs are scaled to ~[0, 1] per slice), and with p=0.15 a blur
  (down-up sampling by 1.5-2x) so the model does not rely on the finest texture.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

__all__ = ["augment_batch"]


def _affine(n: int, h: int, w: int, g: torch.Generator) -> torch.Tensor:
    def u(lo: float, hi: float) -> torch.Tensor:
        return lo + (hi - lo) * torch.rand(n, generator=g)

    angle = u(-12.0, 12.0) * math.pi / 180.0
    scale = u(0.85, 1.15)
    aniso = u(0.95, 1.05)
    sy, sx = scale * aniso, scale / aniso
    ty, tx = u(-0.06, 0.06) * 2, u(-0.06, 0.06) * 2
    cos, sin = torch.cos(angle), torch.sin(angle)
    theta = torch.zeros(n, 2, 3)
    # affine_grid maps output to input coordinates, each axis normalised to [-1, 1], so
    # the off-diagonal terms carry the aspect ratio to keep the rotation rigid in pixels.
    theta[:, 0, 0] = cos / sx
    theta[:, 0, 1] = -sin / sx * (h / w)
    theta[:, 1, 0] = sin / sy * (w / h)
    theta[:, 1, 1] = cos / sy
    theta[:, 0, 2] = tx
    theta[:, 1, 2] = ty
    return theta


def augment_batch(
    image: torch.Tensor, target: torch.Tensor, g: torch.Generator, p_affine: float = 0.8
) -> tuple[torch.Tensor, torch.Tensor]:
    """Augment ``image (N,1,H,W)`` and soft ``target (N,K,H,W)``; returns new tensors."""
    n = image.shape[0]
    theta = _affine(n, image.shape[-2], image.shape[-1], g)
    keep = torch.rand(n, generator=g) >= p_affine
    theta[keep] = torch.tensor([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])
    grid = F.affine_grid(theta, list(image.shape), align_corners=False)
    image = F.grid_sample(image, grid, mode="bilinear", padding_mode="zeros", align_corners=False)
    target = F.grid_sample(target, grid, mode="bilinear", padding_mode="zeros", align_corners=False)
    target[:, 0] += (1.0 - target.sum(dim=1)).clamp_min(0.0)

    def u(lo: float, hi: float) -> torch.Tensor:
        return (lo + (hi - lo) * torch.rand(n, generator=g)).view(n, 1, 1, 1)

    image = image.clamp_min(0.0) ** u(0.7, 1.5)
    image = image * u(0.85, 1.15) + u(-0.05, 0.05)
    image = image + torch.randn(image.shape, generator=g) * u(0.0, 0.03)

    blur = torch.rand(n, generator=g) < 0.15
    if blur.any():
        idx = blur.nonzero().flatten()
        factor = float(1.5 + 0.5 * torch.rand(1, generator=g))
        h, w = image.shape[-2:]
        small = F.interpolate(image[idx], scale_factor=1 / factor, mode="bilinear", antialias=True)
        image[idx] = F.interpolate(small, size=(h, w), mode="bilinear")
    return image, target
