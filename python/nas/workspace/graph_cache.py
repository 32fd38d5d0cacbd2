"""The radius graph of a workspace's pool, kept on disk between rounds.

Every `nas query` is a new process; without a cache each round would rebuild the pool's radius
graph (O(n²·d)) and rerun the delta heuristic. The graph a graph strategy (ProbCover: npc,
weighted_npc, probcover) built in one round is saved next to the database, and the radius the
strategy ended the round with is recorded with the round; the next round adopts both, which puts
the strategy in the state it would have in the same process (``NAS.run``). The file is a derived
artifact written atomically before the round that refers to it is committed: a missing or
unreadable file only means a rebuild.
"""
from __future__ import annotations

import logging
from pathlib import Path
from typing import Optional

import numpy as np

from .files import replace_atomically

logger = logging.getLogger(__name__)

CACHE_DIR = "cache"


def supports_graph(strategy) -> bool:
    """True for strategies that build a radius graph and can adopt one (``fit(X, graph=...)``)."""
    import inspect

    fit = getattr(strategy, "fit", None)
    return hasattr(strategy, "graph_") and fit is not None and "graph" in inspect.signature(fit).parameters


def graph_file(directory: Path, features_hash: str, metric: str, delta: float) -> Path:
    return Path(directory) / CACHE_DIR / f"radius-{features_hash[:16]}-{metric}-{delta!r}.npz"


def save(graph, path: Path) -> Path:
    """Write ``graph`` (a nas_ext.Graph, on the CPU or a GPU) to ``path`` atomically."""
    graph = graph.cpu()
    return replace_atomically(path, lambda f: np.savez(f, indptr=graph.indptr, indices=graph.indices,
                                                       dist=graph.dist, metric=np.array(graph.metric),
                                                       delta=np.array(graph.delta)), binary=True)


def load(path: Path, n_samples: int) -> Optional[object]:
    """The cached graph, or None when the file is missing, unreadable or not a graph over ``n_samples`` rows."""
    from nas_ext.graph import Graph

    if not Path(path).is_file():
        logger.info("the graph cache %s is gone; rebuilding the graph", path)
        return None
    try:
        with np.load(path, allow_pickle=False) as f:
            graph = Graph(f["indptr"], f["indices"], f["dist"], metric=str(f["metric"]), delta=float(f["delta"]),
                          symmetric=True)
    except (OSError, KeyError, ValueError) as exc:
        logger.warning("ignoring the graph cache %s (%s); rebuilding the graph", path, exc)
        return None
    if graph.n != n_samples:
        logger.warning("ignoring the graph cache %s (it has %d rows, the pool %d)", path, graph.n, n_samples)
        return None
    return graph
