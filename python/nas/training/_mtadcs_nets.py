"""The networks and input pipelines MTaDCS trains (seed 002, spec §1.5(3)).

A network is an encoder f (backbone + projection to ``projection_dim``) and a linear classifier h on f's output.
LOF and the contrastive loss use f's output L2-normalised. Two backbones:

- frozen embeddings (framework 2): an MLP d → hidden → ReLU → projection_dim (``hidden=0``: one linear layer);
  augmentation is Gaussian feature jitter (the spec's CPU replacement for RandAug);
- images (framework 1): the trunk of :class:`nas.training.ResNet18` (CIFAR stem), global average pool, a linear
  projection; augmentation is a random horizontal flip, pixels standardised per channel as in
  :class:`ResNet18Classifier`.
"""
from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from ._sgd import as_tensor
from .resnet import ResNet18, _channel_stats

__all__ = ["Network", "FeatureInputs", "ImageInputs", "embedding_encoder", "image_encoder"]


def embedding_encoder(n_features: int, hidden: int, projection_dim: int) -> nn.Module:
    if hidden == 0:
        return nn.Linear(n_features, projection_dim)
    return nn.Sequential(nn.Linear(n_features, hidden), nn.ReLU(), nn.Linear(hidden, projection_dim))


class _ResNetEncoder(nn.Module):
    def __init__(self, in_channels: int, width: int, projection_dim: int):
        super().__init__()
        trunk = ResNet18(1, in_channels=in_channels, width=width)
        self.stem, self.stages = trunk.stem, trunk.stages
        self.projection = nn.Linear(trunk.fc.in_features, projection_dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.adaptive_avg_pool2d(self.stages(self.stem(x)), 1)
        return self.projection(torch.flatten(out, 1))


def image_encoder(in_channels: int, width: int, projection_dim: int) -> nn.Module:
    return _ResNetEncoder(in_channels, width, projection_dim)


class Network(nn.Module):
    """f and h: ``forward(x)`` returns (f(x) L2-normalised (b, projection_dim), logits h(f(x)) (b, K))."""

    def __init__(self, encoder: nn.Module, projection_dim: int, n_classes: int):
        super().__init__()
        self.encoder = encoder
        self.head = nn.Linear(projection_dim, n_classes)

    def forward(self, x: torch.Tensor):
        features = self.encoder(x)
        return F.normalize(features, dim=1), self.head(features)


class FeatureInputs:
    """Rows of an (n, d) float32 matrix on ``device``; ``augment`` adds N(0, jitter²) noise."""

    def __init__(self, X, device: torch.device, jitter: float):
        self.data = as_tensor(X).to(device)
        self.jitter = jitter

    def __len__(self) -> int:
        return self.data.shape[0]

    def batch(self, rows: torch.Tensor, *, augment: bool, generator: torch.Generator) -> torch.Tensor:
        x = self.data.index_select(0, rows.to(self.data.device))
        if augment and self.jitter > 0:
            x = x + self.jitter * torch.randn(x.shape, generator=generator).to(x.device)
        return x


class ImageInputs:
    """uint8 images (n, H, W, C) kept on ``device``; a batch becomes standardised float32 NCHW, flipped at random
    when ``augment`` and ``flip``. ``mean``/``std`` (per channel) default to the given images' own."""

    def __init__(self, images, device: torch.device, flip: bool, mean=None, std=None):
        self.data = as_tensor(images).to(device)
        self.flip = flip
        if mean is None:
            mean, std = _channel_stats(self.data)
        self.mean, self.std = mean.to(device), std.to(device)

    def __len__(self) -> int:
        return self.data.shape[0]

    def batch(self, rows: torch.Tensor, *, augment: bool, generator: torch.Generator) -> torch.Tensor:
        pixels = self.data.index_select(0, rows.to(self.data.device))
        # Contiguous NCHW: a permute()d (channels-last) input makes oneDNN's convolution backward write out of
        # bounds on one CPU thread (issue 11).
        x = pixels.permute(0, 3, 1, 2).contiguous().float().div_(255.0)
        x = (x - self.mean.view(1, -1, 1, 1)) / self.std.view(1, -1, 1, 1)
        if augment and self.flip:
            flipped = (torch.rand(x.shape[0], generator=generator) < 0.5).to(x.device)
            x = torch.where(flipped.view(-1, 1, 1, 1), x.flip(3), x)
        return x
