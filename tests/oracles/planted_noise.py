"""Planted-noise data with known ground truth for the filter tests and a random-filter baseline."""
from types import SimpleNamespace

import numpy as np

from nas.metrics import noise_metrics
from nas.noise import SymmetricNoise


def make_planted(n_classes: int = 10, samples_per_class: int = 5, noise_rate: float = 0.2, *, n_features: int = 32,
                 spread: float = 1.0, scale: float = 5.0, n_pool: int = 300, seed: int = 0) -> SimpleNamespace:
    """Clustered Gaussian embeddings with exactly floor(noise_rate·n) symmetric label flips.

    One Gaussian cluster per class around a random unit centre (per-feature std spread/√d, so the
    clusters overlap at spread = 1), rows L2-normalised then multiplied by ``scale`` (raw SSL
    features are not unit length); a balanced labeled set of ``samples_per_class`` per class and an
    unlabeled pool of ``n_pool`` samples from the same clusters.
    """
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((n_classes, n_features))
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)

    def draw(labels):
        points = centres[labels] + spread / np.sqrt(n_features) * rng.standard_normal((labels.size, n_features))
        return scale * points / np.linalg.norm(points, axis=1, keepdims=True)

    y_true = np.repeat(np.arange(n_classes), samples_per_class)
    X = draw(y_true)
    pool = draw(rng.integers(0, n_classes, n_pool))
    y = SymmetricNoise(noise_rate).apply(y_true, n_classes=n_classes, random_state=seed)
    return SimpleNamespace(X=X, y=y, y_true=y_true, is_noisy=y != y_true, pool=pool, n_classes=n_classes)


def random_filter_noise_f1(is_noisy: np.ndarray, *, n_draws: int = 200, seed: int = 0) -> float:
    """Mean noise-F1 of a random filter that flags each sample with probability = the true noise rate."""
    rng = np.random.default_rng(seed)
    rate = is_noisy.mean()
    scores = [noise_metrics(rng.random(is_noisy.size) >= rate, ~is_noisy)["noise_f1"] for _ in range(n_draws)]
    return float(np.nanmean(scores))
