"""Batch augmentation on tensors, so it runs on the GPU next to the model.

What helps on FER-2013 (Khaireddin & Chen 2021; Pham et al. 2021): random
flips, small rotations, scale and shift jitter, brightness/contrast jitter
and random erasing.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F


def augment(
    x: torch.Tensor,
    generator: torch.Generator | None = None,
    rotate_deg: float = 10.0,
    scale: float = 0.1,
    shift: float = 0.1,
    erase_p: float = 0.5,
) -> torch.Tensor:
    """Augment a float batch (N, 1, H, W) with values in 0..1."""
    n = x.shape[0]
    dev = x.device

    def rand(*shape):
        return torch.rand(*shape, device=dev, generator=generator)

    angle = (rand(n) * 2 - 1) * math.radians(rotate_deg)
    s = 1 + (rand(n) * 2 - 1) * scale
    flip = torch.where(rand(n) < 0.5, -1.0, 1.0)
    cos, sin = torch.cos(angle) / s, torch.sin(angle) / s
    theta = torch.zeros(n, 2, 3, device=dev)
    theta[:, 0, 0] = cos * flip
    theta[:, 0, 1] = -sin
    theta[:, 1, 0] = sin * flip
    theta[:, 1, 1] = cos
    theta[:, :, 2] = (rand(n, 2) * 2 - 1) * shift * 2
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    x = F.grid_sample(x, grid, mode="bilinear", padding_mode="border", align_corners=False)
    # brightness / contrast
    mean = x.mean(dim=(2, 3), keepdim=True)
    contrast = 1 + (rand(n, 1, 1, 1) * 2 - 1) * 0.25
    bright = (rand(n, 1, 1, 1) * 2 - 1) * 0.1
    x = ((x - mean) * contrast + mean + bright).clamp(0, 1)
    # random erasing: one rectangle of 2-20% of the area per chosen image
    h, w = x.shape[2], x.shape[3]
    area = (0.02 + rand(n) * 0.18) * h * w
    aspect = torch.exp((rand(n) * 2 - 1) * math.log(3))
    eh = (area * aspect).sqrt().clamp(1, h).long()
    ew = (area / aspect).sqrt().clamp(1, w).long()
    y0 = (rand(n) * (h - eh + 1)).long()
    x0 = (rand(n) * (w - ew + 1)).long()
    rows = torch.arange(h, device=dev).view(1, h, 1)
    cols = torch.arange(w, device=dev).view(1, 1, w)
    box = (
        (rows >= y0.view(n, 1, 1))
        & (rows < (y0 + eh).view(n, 1, 1))
        & (cols >= x0.view(n, 1, 1))
        & (cols < (x0 + ew).view(n, 1, 1))
    )
    box &= (rand(n) < erase_p).view(n, 1, 1)
    noise = rand(n, 1, h, w)
    return torch.where(box.unsqueeze(1), noise, x)


def tta_views(x: torch.Tensor) -> list[torch.Tensor]:
    """Test-time views: the image, its mirror, and small shifts of both."""
    views = [x, torch.flip(x, dims=[3])]
    for dy, dx in ((2, 0), (-2, 0), (0, 2), (0, -2)):
        shifted = torch.roll(x, shifts=(dy, dx), dims=(2, 3))
        views += [shifted, torch.flip(shifted, dims=[3])]
    return views


def degrade(x: torch.Tensor, generator: torch.Generator | None = None, p: float = 0.5) -> torch.Tensor:
    """Make a float batch (N, 1, H, W) in 0..1 look like faces filmed, not photographed for the web.

    Each image independently, each with probability ``p``: captured at low resolution
    (down to 12-32 px and back), blurred (Gaussian, sigma 0.4-1.6 px), noisy (sensor
    noise up to 4% of the range); and always a gamma of 0.67-1.5 (exposure). FER-2013's
    crops are sharp, well-lit web photos; webcam and film faces are often none of these.
    """
    n, _, h, w = x.shape
    dev = x.device

    def rand(*shape):
        return torch.rand(*shape, device=dev, generator=generator)

    # low resolution: one size per batch (interpolate needs one), applied to the chosen rows
    small = int(12 + rand(1).item() * 20)
    low = F.interpolate(F.interpolate(x, size=(small, small), mode="area"), size=(h, w), mode="bilinear")
    x = torch.where((rand(n) < p).view(n, 1, 1, 1), low, x)
    # blur: a separable Gaussian per image, by grouped convolution
    sigma = 0.4 + rand(n) * 1.2
    taps = torch.arange(-3, 4, device=dev, dtype=x.dtype)
    k = torch.exp(-(taps.view(1, -1) ** 2) / (2 * sigma.view(-1, 1) ** 2))
    k = k / k.sum(dim=1, keepdim=True)
    rows = x.reshape(1, n, h, w)
    blurred = F.conv2d(F.pad(rows, (3, 3, 0, 0), mode="replicate"), k.view(n, 1, 1, 7), groups=n)
    blurred = F.conv2d(F.pad(blurred, (0, 0, 3, 3), mode="replicate"), k.view(n, 1, 7, 1), groups=n)
    x = torch.where((rand(n) < p).view(n, 1, 1, 1), blurred.reshape(n, 1, h, w), x)
    # noise
    noise = torch.randn(x.shape, device=dev, generator=generator) * (rand(n, 1, 1, 1) * 0.04)
    x = torch.where((rand(n) < p).view(n, 1, 1, 1), x + noise, x).clamp(0, 1)
    # exposure
    gamma = torch.exp((rand(n, 1, 1, 1) * 2 - 1) * math.log(1.5))
    return x.clamp_min(1e-6) ** gamma


def shifted_copy(images_u8: torch.Tensor, seed: int) -> torch.Tensor:
    """The validation images degraded once, reproducibly (always the same copy for a seed)."""
    gen = torch.Generator(device=images_u8.device)
    gen.manual_seed(seed + 7919)
    x = degrade(images_u8.float() / 255.0, generator=gen, p=0.5)
    return (x * 255).round().to(torch.uint8)
