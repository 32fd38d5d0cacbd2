"""The bridge from a workspace to the library: build the selector from the stored configuration and
run one round of it (filter → strategy), or the filter alone.

A round of a workspace is one NAS share: ``NAS.step`` with the labeled set in pick order. NAS seeds
every random choice of a share from (seed, number of labeled samples), and the strategy and filter
get ``random_state=seed``, so round r of a workspace picks exactly what share r of ``NAS.run`` with
the same seed picks, and a query killed before it stored its batch recomputes the same batch.

Imports of the selection machinery (and torch) happen inside the functions, so the verbs that only
touch the database (`annotate`, `status`) start fast.
"""
from __future__ import annotations

import inspect
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, Optional, Sequence

import numpy as np

from . import graph_cache
from .errors import WorkspaceError
from .files import replace_atomically
from .store import Config, FilterRun


@dataclass(frozen=True)
class Batch:
    """A computed round: the picks, the filter run that preceded them (None when it did not run), seconds
    per stage, the fraction of the pool covered by predicted-clean labeled samples, and the strategy state
    the next round starts from (see :mod:`nas.workspace.graph_cache`)."""

    picks: np.ndarray
    filter_run: Optional[FilterRun]
    timings: Dict[str, float]
    coverage: Optional[float]
    strategy_state: Dict


def _with_seed(cls, params: Dict, seed: int) -> Dict:
    """``params`` plus ``random_state=seed`` when the constructor takes one and it was not given."""
    params = dict(params)
    if "random_state" not in params and "random_state" in inspect.signature(cls.__init__).parameters:
        params["random_state"] = seed
    return params


def build_filter(config: Config):
    from nas.filters import FILTERS, make_filter

    if config.filter not in FILTERS:
        raise WorkspaceError(f"unknown filter '{config.filter}'; choose one of {', '.join(FILTERS)}.")
    return make_filter(config.filter, **_with_seed(FILTERS[config.filter], config.filter_params, config.seed))


def build_selector(config: Config, *, n_classes: int, batch_size: Optional[int] = None,
                   strategy_overrides: Optional[Dict] = None):
    """The NAS (for NAS strategy names) or plain Strategy a workspace selects with.

    The same call serves a workspace and a reference ``NAS.run`` that must pick the same samples;
    ``strategy_overrides`` replace strategy parameters (the radius carried over from the last round).
    """
    from nas.meta import make_selector
    from nas.strategies.registry import STRATEGY_NAMES, nas_options, strategy_class

    if config.strategy not in STRATEGY_NAMES:
        raise WorkspaceError(f"unknown strategy '{config.strategy}'; choose one of {', '.join(STRATEGY_NAMES)}.")
    strategy_params = _with_seed(strategy_class(config.strategy), config.strategy_params, config.seed)
    strategy_params.update(strategy_overrides or {})
    if nas_options(config.strategy) is None:
        if config.nas_params:
            raise WorkspaceError(f"NAS parameters ({', '.join(config.nas_params)}) were given but strategy "
                                 f"'{config.strategy}' is not wrapped in NAS; use npc, weighted_npc, "
                                 "maxherding_nas or coreset_nas.")
        return make_selector(config.strategy, n_classes=n_classes, **strategy_params)
    nas_kwargs = {"random_state": config.seed, "progress": False, **config.nas_params}
    if batch_size is not None:
        nas_kwargs["batch_size"] = batch_size
    return make_selector(config.strategy, build_filter(config), n_classes=n_classes, nas_kwargs=nas_kwargs,
                         **strategy_params)


def check_config(config: Config, *, n_classes: int) -> None:
    """Build the selector and filter once so that a bad name or parameter fails at `nas init`."""
    try:
        build_selector(config, n_classes=n_classes, batch_size=config.batch_size)
        build_filter(config)
    except (TypeError, ValueError) as exc:
        raise WorkspaceError(f"invalid selection configuration: {exc}") from exc


def _round_rng(seed: int, n_labeled: int) -> np.random.Generator:
    """The generator NAS uses for a share taken with ``n_labeled`` samples labeled."""
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(n_labeled,)))


def next_batch(config: Config, X: np.ndarray, labeled: np.ndarray, labels: np.ndarray, *, n_classes: int,
               round: int, batch_size: Optional[int], directory: Path, features_hash: str,
               state: Dict) -> Batch:
    """Compute round ``round``: one NAS share (filter → strategy), or one plain strategy call.

    ``state`` is the strategy state recorded with the previous round ({} before round 1): the radius the
    strategy ended with and the file of its graph, adopted instead of rebuilding when still readable.
    """
    from nas.meta import NAS

    timings: Dict[str, float] = {}
    graph = None
    if state.get("graph") and not config.strategy_params.get("distributed"):
        t0 = time.perf_counter()
        graph = graph_cache.load(Path(directory) / state["graph"], X.shape[0])
        timings["load_graph"] = time.perf_counter() - t0
    overrides = {"delta": state["delta"]} if graph is not None and state.get("delta") is not None else None
    selector = build_selector(config, n_classes=n_classes, batch_size=batch_size, strategy_overrides=overrides)
    is_nas = isinstance(selector, NAS)
    strategy = selector.strategy if is_nas else selector
    # NAS and its strategy cache the validated features by identity: one float32 array serves both.
    array = np.ascontiguousarray(X, dtype=np.float32)
    if graph is not None and graph_cache.supports_graph(strategy):
        t0 = time.perf_counter()
        strategy.fit(array, graph=graph)
        timings["load_graph"] += time.perf_counter() - t0
    n_unlabeled = X.shape[0] - labeled.size
    _check_room(n_unlabeled)
    filter_run = None
    if is_nas:
        size = min(selector.share_size, n_unlabeled)
        picks = selector.step(array, labeled, labels, budget=size)
        share = selector.last_share_
        timings.update({stage: float(v) for stage, v in share["timings"].items()})
        timings.update({f"strategy {stage}": float(v) for stage, v in share.get("strategy_timings", {}).items()
                        if stage not in ("fit", "selection", "total")})
        if share["mode"] == "nas" and share["predicted_noise_rate"] is not None:
            noise_filter = selector.noise_filter
            filter_run = FilterRun(round=round, purpose="query", filter=config.filter,
                                   samples=tuple(int(s) for s in labeled),
                                   is_clean=tuple(bool(c) for c in noise_filter.is_clean_),
                                   scores=tuple(float(v) for v in noise_filter.scores_),
                                   predicted_noise_rate=float(share["predicted_noise_rate"]),
                                   seconds=timings.get("filter", 0.0))
    else:
        size = min(batch_size if batch_size is not None else n_classes, n_unlabeled)
        picks = selector.select(array, size, clean=labeled, random_state=_round_rng(config.seed, labeled.size))
        timings.update({stage: float(v) for stage, v in selector.last_timings_.items() if stage != "total"})
    clean = labeled if filter_run is None else labeled[np.asarray(filter_run.is_clean, dtype=bool)]
    return Batch(picks=np.asarray(picks, dtype=np.int64), filter_run=filter_run, timings=timings,
                 coverage=_coverage(strategy, clean),
                 strategy_state=_strategy_state(strategy, state if graph is not None else {}, directory,
                                                features_hash))


def _strategy_state(strategy, previous: Dict, directory: Path, features_hash: str) -> Dict:
    """Save the strategy's graph (unless it came from the cache) and describe the state to carry over."""
    if getattr(strategy, "distributed", False):
        return {}  # a sharded graph is rebuilt by the ranks each round (each holds only its rows)
    if not graph_cache.supports_graph(strategy) or getattr(strategy, "graph_", None) is None:
        return {}
    graph = strategy.graph_
    relative = previous.get("graph")
    if relative is None:
        path = graph_cache.graph_file(Path(directory), features_hash, graph.metric, graph.delta)
        graph_cache.save(graph, path)
        relative = str(path.relative_to(directory))
    return {"delta": float(strategy.delta_), "graph": relative}


def distributed_rank(config: Config) -> Optional[int]:
    """This process's rank when the workspace selects with ``distributed=True`` (joining the torchrun
    process group), else None. Only rank 0 writes the database; the others compute the same round."""
    if not config.strategy_params.get("distributed"):
        return None
    from nas.distributed import init_distributed

    return init_distributed().rank


def distributed_barrier() -> None:
    """Wait for every rank (bounded by the group's timeout): rank 0 has stored the round."""
    from nas.distributed import init_distributed

    init_distributed().barrier()


def _sharded_coverage(strategy, clean: np.ndarray) -> float:
    """``_coverage`` for a sharded graph: each rank counts its rows with a clean neighbour (the graph is
    symmetric, so y is in a clean ball iff y's row holds a clean sample)."""
    graph = strategy.graph_
    if strategy.delta_ < graph.delta:
        graph = graph.restrict(strategy.delta_)
    hit = np.isin(graph.indices, clean)
    per_row = np.add.reduceat(hit, graph.indptr[:-1]) if hit.size else np.zeros(graph.n_local, dtype=np.int64)
    per_row[np.diff(graph.indptr) == 0] = 0
    counts = strategy._comm.all_gather(np.array([np.count_nonzero(per_row)], dtype=np.int64))
    return float(counts.sum() / graph.n)


def _check_room(n_unlabeled: int) -> None:
    if n_unlabeled < 1:
        raise WorkspaceError("every sample of the pool is labeled; there is nothing left to query.")


def _coverage(strategy, clean: np.ndarray) -> Optional[float]:
    """Fraction of the pool inside the ball of a predicted-clean labeled sample (graph strategies only)."""
    graph = getattr(strategy, "graph_", None)
    delta = getattr(strategy, "delta_", None)
    if graph is None or delta is None:
        return None
    if getattr(strategy, "distributed", False):
        return _sharded_coverage(strategy, clean)
    graph = graph.cpu()
    if delta < graph.delta:
        graph = graph.restrict(delta)
    covered = np.zeros(graph.n, dtype=bool)
    if clean.size:
        starts, ends = graph.indptr[clean], graph.indptr[clean + 1]
        rows = np.concatenate([graph.indices[s:e] for s, e in zip(starts, ends)])
        covered[rows] = True
    return float(covered.mean())


def filter_labeled(config: Config, X: np.ndarray, samples: np.ndarray, labels: np.ndarray, *, n_classes: int,
                   round: int) -> FilterRun:
    """The filter's verdict on exactly the current labeled set (for `export`): ``NAS.partition``, i.e. the
    final ``is_clean`` of ``NAS.run`` with the same seed. A plain strategy's workspace filters with the same
    machinery (a NAS around ProbCover, used only for its partition)."""
    from nas.meta import NAS
    from nas.strategies import ProbCover

    start = time.perf_counter()
    selector = build_selector(config, n_classes=n_classes)
    if not isinstance(selector, NAS):
        selector = NAS(ProbCover(), build_filter(config), n_classes=n_classes, random_state=config.seed,
                       progress=False)
    is_clean, rate = selector.partition(np.ascontiguousarray(X, dtype=np.float32), samples, labels)
    ran = rate is not None
    scores = selector.noise_filter.scores_ if ran else (None,) * samples.size
    return FilterRun(round=round, purpose="export", filter=config.filter if ran else "none (too few labels)",
                     samples=tuple(int(s) for s in samples), is_clean=tuple(bool(c) for c in is_clean),
                     scores=tuple(None if v is None else float(v) for v in scores), predicted_noise_rate=rate,
                     seconds=time.perf_counter() - start)


def train_probe(X: np.ndarray, samples: np.ndarray, labels: np.ndarray, *, classes: Sequence[str], path: Path,
                seed: int, epochs: Optional[int], device: str) -> Path:
    """Train ``nas.training.LinearProbe`` on the given samples and save it with torch.save (atomically)."""
    import torch

    from nas.training import LinearProbe

    if samples.size == 0:
        raise WorkspaceError("no predicted-clean labeled sample to train the probe on.")
    kwargs = {"random_state": seed, "device": device}
    if epochs is not None:
        kwargs["epochs"] = int(epochs)
    probe = LinearProbe(**kwargs).fit(np.asarray(X[samples]), labels, n_classes=len(classes))
    checkpoint = {"coef": torch.from_numpy(np.ascontiguousarray(probe.coef_)),
                  "intercept": torch.from_numpy(np.ascontiguousarray(probe.intercept_)),
                  "classes": list(classes), "n_features": int(X.shape[1]), "n_train": int(samples.size),
                  "format": "logits = features @ coef.T + intercept"}
    return replace_atomically(path, lambda f: torch.save(checkpoint, f), binary=True)


def train_mtadcs(X: np.ndarray, samples: np.ndarray, labels: np.ndarray, is_clean: np.ndarray, *,
                 classes: Sequence[str], path: Path, seed: int, epochs: Optional[int], device: str,
                 params: Optional[dict] = None) -> Path:
    """Train ``nas.training.MTaDCS`` on every labeled sample, its confidence set starting from the filter's clean
    flags (all samples when none is clean), and save the model with its corrected labels (torch.save, atomic)."""
    import torch

    from nas.training import MTaDCS

    if samples.size == 0:
        raise WorkspaceError("no labeled sample to train MTaDCS on.")
    kwargs = dict(params or {})
    if epochs is not None:
        kwargs["epochs"] = int(epochs)
        kwargs.setdefault("warmup_epochs", min(5, int(epochs)))
    model = MTaDCS(random_state=seed, device=device, **kwargs)
    initial = is_clean if is_clean.any() else None
    model.fit(np.asarray(X[samples]), labels, n_classes=len(classes), initial_set=initial)
    checkpoint = {"format": "nas.training.MTaDCS: model = Network(encoder, projection_dim, n_classes) of "
                            "nas.training._mtadcs_nets; logits = model(features)[1]",
                  "state_dict": {k: v.cpu() for k, v in model.model_.state_dict().items()},
                  "params": {k: v for k, v in vars(model).items() if not k.endswith("_") and k != "device"},
                  "classes": list(classes), "n_features": int(X.shape[1]),
                  "samples": torch.from_numpy(np.ascontiguousarray(samples, dtype=np.int64)),
                  "corrected_labels": torch.from_numpy(model.labels_),
                  "in_confidence_set": torch.from_numpy(model.in_confidence_set_),
                  "history": {k: v.tolist() for k, v in model.history_.items()}}
    return replace_atomically(path, lambda f: torch.save(checkpoint, f), binary=True)
