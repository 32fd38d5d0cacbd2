"""Noise filters on planted-noise sets: detection quality and time per call.

Every filter of nas.filters runs on the same labeled sets (clustered Gaussian embeddings, symmetric
noise with a known noisy mask) at |L| = 100, 500, 2000. Baselines in the same process: a random
filter (flags each sample with the true noise rate; its expected noise-F1 equals that rate) and,
when installed, cleanlab's ``find_label_issues`` on the held-out probabilities of a 3-fold logistic
regression (cleanlab is not a dependency of nas; the row is skipped with a note without it).
"""
from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "python"))

from _common import machine  # noqa: E402

from nas.filters import make_filter  # noqa: E402
from nas.filters.confident_learning import CleanlabBaseline, import_find_label_issues  # noqa: E402
from nas.metrics import noise_metrics  # noqa: E402
from nas.noise import SymmetricNoise  # noqa: E402

TITLE = "Noise filters on planted noise (quality and time per call)"

N_CLASSES = 20
N_FEATURES = 128
SPREAD = 2.5  # norm of the within-cluster noise relative to the unit cluster centres
FILTERS = ["cv", "aum", "knn", "centroids", "disagreenet", "fine", "lof"]


def planted_set(n_labeled: int, noise_rate: float, seed: int = 0):
    """Balanced labeled set of clustered, L2-normalised (×5) embeddings with exact symmetric noise, plus a pool."""
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((N_CLASSES, N_FEATURES))
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)

    def draw(labels):
        points = centres[labels] + SPREAD * rng.standard_normal((labels.size, N_FEATURES)) / np.sqrt(N_FEATURES)
        return 5.0 * points / np.linalg.norm(points, axis=1, keepdims=True)

    y_true = np.arange(n_labeled) % N_CLASSES
    X, pool = draw(y_true), draw(rng.integers(0, N_CLASSES, 5000))
    y = SymmetricNoise(noise_rate).apply(y_true, n_classes=N_CLASSES, random_state=seed)
    return X, y, y != y_true, pool


def _cleanlab_filter():
    """A callable (X, y) -> is_clean running cleanlab on cross-validated probabilities (nas' CleanlabBaseline,
    also a filter of `nas filters evaluate`), or None without cleanlab."""
    try:
        import_find_label_issues()
    except ImportError:
        return None
    return lambda X, y: CleanlabBaseline(random_state=0).fit_predict(X, y, n_classes=N_CLASSES)


def _row(name, size, rate, is_clean, is_noisy, seconds):
    m = noise_metrics(is_clean, ~is_noisy)
    return (f"| {name} | {size} | {rate:.0%} | {m['noise_precision']:.2f} | {m['noise_recall']:.2f} | "
            f"{m['noise_f1']:.2f} | {m['noise_f1'] - rate:+.2f} | {m['predicted_noise_rate']:.2f} | "
            f"{seconds * 1e3:.0f} |")


def run(quick: bool) -> str:
    sizes = (100, 500) if quick else (100, 500, 2000)
    rates = (0.2,) if quick else (0.2, 0.5)
    cleanlab = _cleanlab_filter()
    # Warm-up (torch kernels, sklearn imports) outside the timed calls.
    X, y, _, pool = planted_set(60, 0.2)
    for name in FILTERS:
        make_filter(name, random_state=0).fit_predict(X, y, pool=pool, n_classes=N_CLASSES)
    lines = [f"{N_CLASSES} classes, {N_FEATURES}-d clustered embeddings (cluster noise of norm {SPREAD} around "
             "unit centres, rows scaled to norm 5), symmetric noise with an exact rate, one call per cell (seed 0), filters on one thread, CPU. "
             "`F1 − rate` is the gain over a random filter of the same rate (expected noise-F1 = the rate).",
             "",
             "| filter | \\|L\\| | noise | noise precision | noise recall | noise F1 | F1 − rate | predicted rate | "
             "ms per call |",
             "|---|---|---|---|---|---|---|---|---|"]
    for rate in rates:
        for size in sizes:
            X, y, is_noisy, pool = planted_set(size, rate)
            rng = np.random.default_rng(1)
            lines.append(_row("random", size, rate, rng.random(size) >= rate, is_noisy, 0.0))
            for name in FILTERS:
                f = make_filter(name, random_state=0)
                start = time.perf_counter()
                is_clean = f.fit_predict(X, y, pool=pool, n_classes=N_CLASSES)
                lines.append(_row(name, size, rate, is_clean, is_noisy, time.perf_counter() - start))
            if cleanlab is not None:
                start = time.perf_counter()
                is_clean = cleanlab(X, y)
                lines.append(_row("cleanlab (CV probs)", size, rate, is_clean, is_noisy,
                                  time.perf_counter() - start))
    if cleanlab is None:
        lines.append("\ncleanlab is not installed: its baseline row was skipped (`pip install cleanlab`).")
    return "\n".join(lines)


if __name__ == "__main__":
    print(f"Machine: {machine()}\n")
    print(run("--quick" in sys.argv))
