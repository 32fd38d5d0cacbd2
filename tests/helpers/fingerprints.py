"""Fingerprints of every seeded computation on the CPU: `python -m helpers.fingerprints` prints one JSON
object {name: sha1 of the result bytes}. tests/test_thread_determinism.py runs it under several thread
counts and compares: same seed -> bit-identical numbers whatever OMP_NUM_THREADS says."""
from __future__ import annotations

import hashlib
import json
import sys
from typing import Callable, Dict

import numpy as np


def _digest(*arrays) -> str:
    h = hashlib.sha1()
    for a in arrays:
        a = np.ascontiguousarray(np.asarray(a))
        h.update(str(a.dtype).encode() + str(a.shape).encode())
        h.update(a.tobytes())
    return h.hexdigest()


def _data():
    rng = np.random.default_rng(0)
    centers = 3.0 * rng.standard_normal((4, 16))
    truth = np.repeat(np.arange(4), 30)
    X = (centers[truth] + rng.standard_normal((120, 16))).astype(np.float32)
    noisy = rng.random(120) < 0.3
    y = np.where(noisy, (truth + 1 + rng.integers(0, 3, 120)) % 4, truth)
    pool = (centers[rng.integers(0, 4, 200)] + rng.standard_normal((200, 16))).astype(np.float32)
    return X, y, truth, noisy, pool


def _trainers(X, y) -> Dict[str, Callable[[], str]]:
    from nas.correction import ActiveLabelCorrection
    from nas.training import MTaDCS, LinearProbe, ResNet18Classifier

    rng = np.random.default_rng(1)
    images = rng.integers(0, 256, (40, 8, 8, 3), dtype=np.uint8)
    labels = rng.integers(0, 3, 40)
    return {
        "LinearProbe": lambda: _digest(LinearProbe(epochs=20, random_state=0).fit(X, y).decision_function(X)),
        "ResNet18Classifier": lambda: _digest(
            ResNet18Classifier(epochs=2, width=4, batch_size=16, random_state=1).fit(images, labels)
            .decision_function(images)),
        "LinearProbe(sample_weight)": lambda: _digest(
            LinearProbe(epochs=20, random_state=0).fit(X, y, sample_weight=np.linspace(0.1, 1, len(y)))
            .decision_function(X)),
        "MTaDCS": lambda: _digest(MTaDCS(epochs=6, warmup_epochs=2, random_state=0).fit(X, y).decision_function(X)),
        "ActiveLabelCorrection": lambda: _digest(
            ActiveLabelCorrection(batch_size=10, random_state=0).fit(X, y, n_classes=4).select()),
    }


def _filters(X, y, noisy, pool) -> Dict[str, Callable[[], str]]:
    from nas.filters import FILTERS, make_filter

    def run(name):
        kwargs = {"is_noisy": noisy} if name == "ideal" else {}
        f = make_filter(name, random_state=0, **kwargs)
        clean = f.fit_predict(X, y, pool=pool, n_classes=4, indices=np.arange(X.shape[0]))
        return _digest(clean, f.scores_, np.float64(f.noise_rate_))

    return {f"filter:{name}": (lambda name=name: run(name)) for name in FILTERS}


def _selection(X, truth, noisy) -> Dict[str, Callable[[], str]]:
    from nas import make_selector

    from nas.filters import CrossValidation

    def run(name):
        params = {} if name == "coreset_nas" else {"delta": 4.5, "metric": "euclidean", "random_state": 0}
        sel = make_selector(name, CrossValidation(random_state=0), n_classes=4,
                            nas_kwargs={"random_state": 0, "progress": False}, **params)
        result = sel.run(X, 24, lambda idx: np.where(noisy[idx], (truth[idx] + 1) % 4, truth[idx]))
        return _digest(result.labeled, result.is_clean)

    return {f"select:{name}": (lambda name=name: run(name)) for name in ("npc", "weighted_npc", "coreset_nas")}


def _kernels(X) -> Dict[str, Callable[[], str]]:
    import nas_ext

    def graphs():
        g = nas_ext.radius_graph(X, 5.0, metric="euclidean")
        k = nas_ext.knn_graph(X, 5)
        e = nas_ext.diffuse(k, np.linspace(0, 1, X.shape[0]), fixed=[0, 7])
        return _digest(g.indptr, g.indices, g.dist, k.indices, e, nas_ext.kcenter_greedy(X, 10, centers=[0]))

    return {"kernels": graphs}


def fingerprints() -> Dict[str, str]:
    X, y, truth, noisy, pool = _data()
    jobs = {**_trainers(X, y), **_filters(X, y, noisy, pool), **_selection(X, truth, noisy), **_kernels(X)}
    return {name: job() for name, job in jobs.items()}


if __name__ == "__main__":
    json.dump(fingerprints(), sys.stdout, indent=1, sort_keys=True)
