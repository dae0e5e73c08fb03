"""Emotion network definitions.

Compact VGG-style nets for 48x48 grayscale faces: stacks of 3x3 convolutions
with batch norm, which run fast on CPUs (plain dense convs, channels-last
friendly) and reach the accuracy of much larger models on FER-2013.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from inference.classes import EMOTIONS


@dataclass(frozen=True)
class ArchSpec:
    widths: tuple[int, ...]
    convs_per_stage: int
    dropout: float
    input_size: int = 48
    in_channels: int = 1


ARCHITECTURES: dict[str, ArchSpec] = {
    # ~0.3 M parameters: fast enough for many faces per frame on a laptop CPU.
    "vgg-s": ArchSpec(widths=(32, 64, 128, 256), convs_per_stage=2, dropout=0.3),
    # ~4.7 M parameters: the accuracy model, trained on a GPU.
    "vgg-m": ArchSpec(widths=(64, 128, 256, 512), convs_per_stage=2, dropout=0.4),
}


def _conv_bn(cin: int, cout: int) -> list[nn.Module]:
    return [nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True)]


class EmotionNet(nn.Module):
    def __init__(self, spec: ArchSpec, num_classes: int = len(EMOTIONS)):
        super().__init__()
        layers: list[nn.Module] = []
        cin = spec.in_channels
        for width in spec.widths:
            for _ in range(spec.convs_per_stage):
                layers += _conv_bn(cin, width)
                cin = width
            layers.append(nn.MaxPool2d(2))
        self.features = nn.Sequential(*layers)
        self.head = nn.Sequential(
            nn.AdaptiveAvgPool2d(1),
            nn.Flatten(),
            nn.Dropout(spec.dropout),
            nn.Linear(cin, num_classes),
        )
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))


def build(architecture: str) -> EmotionNet:
    try:
        spec = ARCHITECTURES[architecture]
    except KeyError:
        raise ValueError(f"unknown emotion architecture {architecture!r}; known: {', '.join(ARCHITECTURES)}") from None
    return EmotionNet(spec)
