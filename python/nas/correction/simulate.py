"""The paper's experiment (seed 003, §4): corrupt known labels, run each method over the rounds and repeats,
and measure per round the noisy-hit rate of the queries (Table 1) and the test accuracy (Figs. 2-3)."""
from __future__ import annotations

import logging
import math
import time
from typing import Dict, List, Optional, Sequence

import numpy as np
from tqdm.auto import tqdm

import nas_ext
from nas_ext._validation import check_features, check_int, param_error

from ..experiment.results import ExperimentResult, _format_table, summarize
from ..noise import NoiseModel
from ..training._sgd import check_labels
from .alc import METHODS, ActiveLabelCorrection

__all__ = ["simulate", "correction_table"]

logger = logging.getLogger(__name__)

DEFAULT_METHODS = ("random", "entropy", "loss", "lossent", "dalc", "alc")


def simulate(X, y_true, X_test, y_test, *, noise: NoiseModel, budget: int, batch_size: int,
             methods: Sequence[str] = DEFAULT_METHODS, repeats: int = 1, seed: int = 0, n_classes: Optional[int] = None,
             params: Optional[dict] = None, progress: bool = True) -> ExperimentResult:
    """Run every method in ``methods`` on the same noisy labels per repeat (repeat r: noise and classifier
    seeds ``seed + r``, shared by all methods, so the comparison is paired).

    X (n, d), y_true (n,): the pool and its true labels (the oracle's answers); X_test, y_test: held-out.
    noise: a ``nas.noise`` model applied to y_true. budget G in [1, n], batch_size Q >= 1.
    params: extra ``ActiveLabelCorrection`` options (epochs, n_neighbors, propagation, pin_relabelled, ...).
    Returns an ExperimentResult: one record per (repeat, method, round) with ``budget`` = labels queried
    so far, ``hit_rate``, ``accuracy``, ``redundancy``, ``weight_auroc``, ``transition_error`` (dalc),
    ``n_wrong_left``, timings.
    The kNN graph (for 'alc' and the redundancy measure) is built once.
    """
    owner = "simulate"
    X = check_features(X, owner, "X", min_rows=2)
    y_true, n_classes = check_labels(y_true, X.shape[0], n_classes, owner)
    X_test = check_features(X_test, owner, "X_test")
    if X_test.shape[1] != X.shape[1]:
        raise param_error(owner, "X_test", f"a 2-D array with {X.shape[1]} columns (as X)", X_test)
    y_test, _ = check_labels(y_test, X_test.shape[0], n_classes, owner)
    if not isinstance(noise, NoiseModel):
        raise param_error(owner, "noise", "a nas.noise model (SymmetricNoise, ...)", noise, exc=TypeError)
    budget = check_int(budget, owner, "budget", low=1, high=X.shape[0])
    batch_size = check_int(batch_size, owner, "batch_size", low=1)
    repeats = check_int(repeats, owner, "repeats", low=1)
    methods = list(dict.fromkeys(methods))
    for m in methods:
        if m not in METHODS:
            raise param_error(owner, "methods", f"names among {sorted(METHODS)}", m)
    params = dict(params or {})
    k = params.get("n_neighbors", 10)
    start = time.perf_counter()
    graph = nas_ext.knn_graph(X, k)
    logger.info("kNN graph (k=%d, %d edges) in %.2fs", k, graph.nnz, time.perf_counter() - start)
    records: List[dict] = []
    noise_rates = []
    n_rounds = math.ceil(budget / batch_size)
    with tqdm(total=repeats * len(methods) * n_rounds, desc="correct simulate", unit="round",
              disable=not progress) as bar:
        for r in range(repeats):
            run_seed = seed + r
            y_noisy = noise.apply(y_true, n_classes=n_classes, random_state=run_seed, X=X)
            noise_rates.append(float(np.mean(y_noisy != y_true)))
            for m in methods:
                alc = ActiveLabelCorrection(method=m, batch_size=batch_size, random_state=run_seed, **params)
                alc.fit(X, y_noisy, n_classes=n_classes, graph=graph)
                result = alc.run(lambda idx: y_true[idx], budget, X_test=X_test, y_test=y_test, y_true=y_true)
                for row in result.history:
                    records.append({"repeat": r, "seed": run_seed, "strategy": m, "round": row["round"],
                                    "budget": row["n_queried"], **{k2: v for k2, v in row.items()
                                                                  if k2 not in ("round", "n_queried")}})
                bar.update(n_rounds)
    config = {"experiment": "active_label_correction", "noise": {"model": type(noise).__name__,
                                                                  **{k2: v for k2, v in vars(noise).items()
                                                                     if isinstance(v, (int, float, str))}},
              "observed_noise_rate": float(np.mean(noise_rates)), "budget": budget, "batch_size": batch_size,
              "methods": methods, "repeats": repeats, "seed": seed, "n_samples": int(X.shape[0]),
              "n_test": int(X_test.shape[0]), "n_classes": n_classes, "params": params}
    return ExperimentResult(config=config, records=records, summary=summarize(records))


def correction_table(result: ExperimentResult, fields: Sequence[str] = ("hit_rate", "accuracy")) -> str:
    """Plain-text tables, one per field: a row per round (labels queried), a column per method, mean ± sem
    (hit rate in %)."""
    methods = result.strategies()
    by_key = {(row["strategy"], row["round"]): row for row in result.summary}
    rounds = sorted({row["round"] for row in result.summary})
    out = []
    for name in fields:
        scale = 100.0 if name in ("hit_rate", "fix_rate", "redundancy") else 1.0
        header = [f"{name}{' (%)' if scale == 100.0 else ''} mean ± sem", "labels"] + methods
        body = []
        for r in rounds:
            first = by_key[(methods[0], r)]
            cells = [f"round {r}", str(first["budget"])]
            for m in methods:
                row = by_key.get((m, r), {})
                mean, sem = row.get(f"{name}_mean", math.nan), row.get(f"{name}_sem", math.nan)
                cells.append("-" if not math.isfinite(mean) else
                             f"{scale * mean:.1f}" + (f" ± {scale * sem:.1f}" if math.isfinite(sem) else ""))
            body.append(cells)
        if any(c != "-" for row in body for c in row[2:]):
            out.append(_format_table(header, body))
    return "\n\n".join(out)


def plot_correction(result: ExperimentResult, out_dir) -> Dict[str, "object"]:
    """accuracy.png (test accuracy vs labels queried, Figs. 2-3) and hit_rate.png (noisy-hit rate per round,
    Table 1), mean ± standard error bands, each with the .csv of the plotted numbers."""
    from pathlib import Path

    from matplotlib.figure import Figure

    from ..plots import _save

    out = Path(out_dir)
    paths = {}
    for name, ylabel, scale in (("accuracy", "test accuracy (%)", 1.0), ("hit_rate", "noisy-hit rate of the queries (%)", 100.0)):
        fig = Figure(figsize=(6.0, 4.2))
        ax = fig.add_subplot()
        rows = []
        for m in result.strategies():
            series = sorted((r for r in result.summary if r["strategy"] == m), key=lambda r: r["round"])
            pts = [(r["budget"], scale * r.get(f"{name}_mean", math.nan), scale * r.get(f"{name}_sem", math.nan))
                   for r in series]
            pts = [p for p in pts if math.isfinite(p[1])]
            if not pts:
                continue
            x, mean, sem = zip(*pts)
            sem = [0.0 if not math.isfinite(s) else s for s in sem]
            line, = ax.plot(x, mean, marker="o", label=m)
            ax.fill_between(x, [a - b for a, b in zip(mean, sem)], [a + b for a, b in zip(mean, sem)],
                            color=line.get_color(), alpha=0.2, linewidth=0)
            rows += [{"strategy": m, "labels": a, "mean": b, "sem": c} for a, b, c in zip(x, mean, sem)]
        noise = result.config.get("observed_noise_rate")
        if name == "hit_rate" and noise is not None:
            ax.axhline(100 * noise, color="black", linestyle="--", linewidth=1, label="noise rate")
        ax.set_xlabel("labels queried")
        ax.set_ylabel(ylabel)
        ax.set_title(f"active label correction, {result.config['noise']['model']} "
                     f"({result.config['repeats']} repeats)")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
        fig.tight_layout()
        paths[name] = _save(fig, out / f"{name}.png", rows)
    return paths
