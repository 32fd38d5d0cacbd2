"""A synthetic Clothing1M-like pool on disk: 14 classes of clustered unit embeddings and a 38% noisy label file.

Clothing1M (~1M images, 14 classes, ~38% label noise, mostly between similar classes) with DINOv2 ViT-S/14
embeddings (384-d) is the shape this stands in for: each class is a mixture of ``modes_per_class`` Gaussian
modes around a class direction, class sizes are imbalanced, and the noisy labels flip 38% of the pool,
70% of the flips to one of two "look-alike" classes and 30% uniformly. Rows are written in chunks
(np.lib.format.open_memmap), so a million-row pool never sits in memory.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

N_CLASSES = 14
NOISE_RATE = 0.38
CHUNK = 65536


def _draw(rng, n, class_dirs, mode_centres, mode_class, class_p, spread, d):
    modes_per_class = mode_centres.shape[0] // class_dirs.shape[0]
    cls = rng.choice(class_dirs.shape[0], size=n, p=class_p)
    mode = cls * modes_per_class + rng.integers(0, modes_per_class, size=n)
    X = mode_centres[mode] + (spread / np.sqrt(d)) * rng.standard_normal((n, d))
    X /= np.linalg.norm(X, axis=1, keepdims=True)
    return X.astype(np.float32), cls.astype(np.int64)


def write_pool(out_dir, n: int, d: int = 384, *, n_test: int = 10_000, modes_per_class: int = 20,
               spread: float = 0.35, seed: int = 0) -> dict:
    """Write features.npy (n, d) float32, labels.npy, noisy_labels.npy, test_features.npy, test_labels.npy."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    class_dirs = rng.standard_normal((N_CLASSES, d))
    class_dirs /= np.linalg.norm(class_dirs, axis=1, keepdims=True)
    offsets = rng.standard_normal((N_CLASSES * modes_per_class, d))
    offsets *= 0.8 / np.linalg.norm(offsets, axis=1, keepdims=True)
    mode_class = np.repeat(np.arange(N_CLASSES), modes_per_class)
    mode_centres = class_dirs[mode_class] + offsets
    mode_centres /= np.linalg.norm(mode_centres, axis=1, keepdims=True)
    class_p = rng.dirichlet(np.full(N_CLASSES, 5.0))
    look_alike = np.stack([rng.choice(np.delete(np.arange(N_CLASSES), c), size=2, replace=False)
                           for c in range(N_CLASSES)])

    features = np.lib.format.open_memmap(out / "features.npy", mode="w+", dtype=np.float32, shape=(n, d))
    labels = np.empty(n, dtype=np.int64)
    for start in range(0, n, CHUNK):
        stop = min(n, start + CHUNK)
        features[start:stop], labels[start:stop] = _draw(rng, stop - start, class_dirs, mode_centres, mode_class,
                                                          class_p, spread, d)
    features.flush()
    del features
    flip = rng.random(n) < NOISE_RATE
    similar = rng.random(n) < 0.7
    noisy = labels.copy()
    pick = look_alike[labels, rng.integers(0, 2, size=n)]
    other = (labels + rng.integers(1, N_CLASSES, size=n)) % N_CLASSES
    noisy[flip] = np.where(similar[flip], pick[flip], other[flip])
    test_X, test_y = _draw(rng, n_test, class_dirs, mode_centres, mode_class, class_p, spread, d)
    np.save(out / "labels.npy", labels)
    np.save(out / "noisy_labels.npy", noisy)
    np.save(out / "test_features.npy", test_X)
    np.save(out / "test_labels.npy", test_y)
    info = {"n": n, "d": d, "n_classes": N_CLASSES, "modes_per_class": modes_per_class, "seed": seed,
            "noise_rate": float(np.mean(noisy != labels)), "n_test": n_test}
    (out / "pool.json").write_text(json.dumps(info, indent=2))
    return info
