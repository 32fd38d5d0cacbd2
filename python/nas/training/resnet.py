"""Framework 1 of the paper: ResNet-18 with a CIFAR stem, trained from scratch on image arrays.

The model is defined here (torchvision is optional and not installable everywhere). CIFAR stem = a 3×3,
stride-1 first convolution and no max-pool, so 32×32 inputs keep their resolution in the first stage.
"""
from __future__ import annotations

from typing import Optional

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from nas_ext._validation import check_int, param_error

from ._sgd import SGDConfig, as_tensor, check_labels, cosine_lr, epoch_batches, fixed_cpu_threads, \
    repeated_indices, resolve_torch_device, torch_seed

__all__ = ["ResNet18", "ResNet18Classifier"]


class _BasicBlock(nn.Module):
    def __init__(self, in_planes: int, planes: int, stride: int):
        super().__init__()
        self.conv1 = nn.Conv2d(in_planes, planes, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, stride=1, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.shortcut = nn.Sequential()
        if stride != 1 or in_planes != planes:
            self.shortcut = nn.Sequential(nn.Conv2d(in_planes, planes, 1, stride=stride, bias=False),
                                          nn.BatchNorm2d(planes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return F.relu(out + self.shortcut(x))


class ResNet18(nn.Module):
    """ResNet-18 (2-2-2-2 basic blocks) with a CIFAR stem; ``width`` is the first stage's channel count (64)."""

    def __init__(self, n_classes: int, *, in_channels: int = 3, width: int = 64):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(in_channels, width, 3, stride=1, padding=1, bias=False),
                                  nn.BatchNorm2d(width), nn.ReLU(inplace=True))
        stages, in_planes = [], width
        for i, stride in enumerate((1, 2, 2, 2)):
            planes = width * 2**i
            stages.append(nn.Sequential(_BasicBlock(in_planes, planes, stride), _BasicBlock(planes, planes, 1)))
            in_planes = planes
        self.stages = nn.Sequential(*stages)
        self.fc = nn.Linear(in_planes, n_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.stages(self.stem(x))
        return self.fc(torch.flatten(F.adaptive_avg_pool2d(out, 1), 1))


class ResNet18Classifier:
    """Train a fresh :class:`ResNet18` on uint8 images (n, H, W, C) with the paper's framework-1 recipe.

    200 epochs, SGD Nesterov 0.9, weight decay 3e-4, cosine learning rate from 0.025 per epoch, batches of 100
    (reference loader semantics), random horizontal flips. Pixels are scaled to [0, 1] and standardised per
    channel with the training images' mean and standard deviation. The initial weights, the batch order and the
    flips come from generators seeded by ``random_state``. On the CPU, training and inference run on
    ``cpu_threads`` torch threads (default 1): oneDNN splits the convolutions' reductions by thread, so only a
    fixed count gives the same numbers for a seed on every machine. ``cpu_threads=None`` uses torch's current
    setting (faster on many cores, reproducible only at the same thread count).

    Memory: the training images stay uint8 on ``device``; a batch is converted to float32 when used.

    Example
    -------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> images = rng.integers(0, 256, (40, 8, 8, 3), dtype=np.uint8); y = rng.integers(0, 2, 40)
    >>> clf = ResNet18Classifier(epochs=1, width=4, batch_size=20, random_state=0).fit(images, y)
    >>> 0 <= clf.score(images, y) <= 100
    True
    """

    def __init__(self, *, epochs: int = 200, lr: float = 0.025, momentum: float = 0.9,
                 weight_decay: float = 3e-4, batch_size: int = 100, flip: bool = True, width: int = 64,
                 eval_batch_size: int = 500, device="cpu", cpu_threads: Optional[int] = 1, random_state=None):
        self.epochs = epochs
        self.lr = lr
        self.momentum = momentum
        self.weight_decay = weight_decay
        self.batch_size = batch_size
        self.flip = flip
        self.width = width
        self.eval_batch_size = eval_batch_size
        self.device = device
        self.cpu_threads = cpu_threads
        self.random_state = random_state

    def fit(self, images, y, *, n_classes: Optional[int] = None) -> "ResNet18Classifier":
        """Train on ``images`` (n, H, W, C) uint8 and integer labels ``y`` (n,)."""
        owner = "ResNet18Classifier.fit"
        cfg = SGDConfig(owner, epochs=self.epochs, lr=self.lr, momentum=self.momentum,
                        weight_decay=self.weight_decay, batch_size=self.batch_size)
        width = check_int(self.width, owner, "width", low=1)
        images = _check_images(images, owner)
        y, n_classes = check_labels(y, images.shape[0], n_classes, owner)
        device = resolve_torch_device(self.device, owner)
        threads = _check_cpu_threads(self.cpu_threads, owner)
        seed = torch_seed(self.random_state, owner)

        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            model = ResNet18(n_classes, in_channels=images.shape[3], width=width)
        model.to(device)
        pixels = as_tensor(images).to(device)
        self.mean_, self.std_ = _channel_stats(pixels)
        with fixed_cpu_threads(threads, device):
            _train(model, pixels, as_tensor(y).to(device), self, cfg, torch.Generator().manual_seed(seed))

        self.model_ = model.eval()
        self.n_classes_ = n_classes
        return self

    def _inputs(self, pixels: torch.Tensor) -> torch.Tensor:
        """uint8 NHWC → standardised float32 NCHW, contiguous.

        The copy to NCHW order is required, not cosmetic: a permuted NHWC tensor is channels-last in memory,
        and torch 2.13's oneDNN convolution backward on channels-last inputs with few channels (the
        ``width=4`` test network) writes past its buffers on one thread (heap corruption, aborts) and gives
        thread-count-dependent gradients on two. Contiguous NCHW inputs take the plain convolution path.
        """
        x = pixels.permute(0, 3, 1, 2).contiguous().float().div_(255.0)
        return (x - self.mean_.view(1, -1, 1, 1)) / self.std_.view(1, -1, 1, 1)

    @torch.no_grad()
    def decision_function(self, images) -> np.ndarray:
        """Logits, float32 (n, n_classes), computed in eval mode in batches of ``eval_batch_size``."""
        images = _check_images(images, "ResNet18Classifier.decision_function")
        device = self.mean_.device
        out = []
        with fixed_cpu_threads(_check_cpu_threads(self.cpu_threads, "ResNet18Classifier.decision_function"),
                               device):
            for start in range(0, images.shape[0], self.eval_batch_size):
                chunk = as_tensor(images[start:start + self.eval_batch_size]).to(device)
                out.append(self.model_(self._inputs(chunk)).cpu())
        return torch.cat(out).numpy() if out else np.empty((0, self.n_classes_), np.float32)

    def predict(self, images) -> np.ndarray:
        """Predicted class per image, int64."""
        return self.decision_function(images).argmax(axis=1).astype(np.int64)

    def score(self, images, y) -> float:
        """Top-1 accuracy in percent."""
        y = np.asarray(y)
        if y.shape[0] == 0:
            raise ValueError("ResNet18Classifier.score needs at least one test sample.")
        return float(100.0 * np.mean(self.predict(images) == y))


def _check_images(images, owner: str) -> np.ndarray:
    arr = np.asarray(images) if not isinstance(images, np.ndarray) else images
    if arr.dtype != np.uint8 or arr.ndim != 4 or arr.shape[0] < 1:
        raise param_error(owner, "images", "a uint8 array of shape (n_samples, height, width, channels)", arr,
                          exc=TypeError if arr.dtype != np.uint8 else ValueError)
    return arr


def _check_cpu_threads(cpu_threads, owner: str) -> Optional[int]:
    return None if cpu_threads is None else check_int(cpu_threads, owner, "cpu_threads", low=1)


def _channel_stats(pixels: torch.Tensor):
    x = pixels.float().div_(255.0).reshape(-1, pixels.shape[-1])
    return x.mean(dim=0), x.std(dim=0, unbiased=False).clamp_min(1e-3)


def _train(model: nn.Module, pixels: torch.Tensor, targets: torch.Tensor, clf: ResNet18Classifier,
           cfg: SGDConfig, generator: torch.Generator) -> None:
    optimizer = torch.optim.SGD(model.parameters(), lr=cfg.lr, momentum=cfg.momentum, nesterov=True,
                                weight_decay=cfg.weight_decay)
    index = repeated_indices(pixels.shape[0], cfg.batch_size)
    model.train()
    for epoch in range(cfg.epochs):
        for group in optimizer.param_groups:
            group["lr"] = cosine_lr(cfg.lr, epoch, cfg.epochs)
        for batch in epoch_batches(index, cfg.batch_size, generator):
            x = clf._inputs(pixels.index_select(0, batch.to(pixels.device)))
            if clf.flip:
                flipped = (torch.rand(x.shape[0], generator=generator) < 0.5).to(x.device)
                x = torch.where(flipped.view(-1, 1, 1, 1), x.flip(3), x)
            loss = F.cross_entropy(model(x), targets.index_select(0, batch.to(targets.device)))
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
