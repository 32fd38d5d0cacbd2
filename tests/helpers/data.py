"""Small synthetic pools the CLI tests write to disk."""
from pathlib import Path

import numpy as np


def blobs(n: int, seed: int):
    """``n`` points of 4 well-separated 8-d Gaussian classes: (float32 X, int labels)."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 4, n)
    return (3.0 * np.eye(4, 8)[y] + 0.6 * rng.standard_normal((n, 8))).astype(np.float32), y


def save_blob_pool(directory: Path):
    """Write features.npy/labels.npy (120 points) to ``directory``; returns (y, X_test, y_test) of 40 test points."""
    X, y = blobs(120, 0)
    np.save(directory / "features.npy", X)
    np.save(directory / "labels.npy", y)
    return (y, *blobs(40, 1))
