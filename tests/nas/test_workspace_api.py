"""The Python API: rounds of Workspace.query/annotate pick exactly what NAS.run picks with the same seed,
for every NAS strategy and with the graph carried over between rounds."""
import numpy as np
import pytest

from nas.noise import SimulatedAnnotator, SymmetricNoise
from nas.workspace import Workspace, WorkspaceError
from nas.workspace.selection import build_selector

CLASSES = ["a", "b", "c"]


@pytest.fixture(scope="module")
def pool(tmp_path_factory):
    root = tmp_path_factory.mktemp("pool")
    rng = np.random.default_rng(3)
    centres = rng.standard_normal((len(CLASSES), 10))
    truth = rng.integers(0, len(CLASSES), 240)
    X = (centres[truth] + 0.45 * rng.standard_normal((240, 10))).astype(np.float32)
    np.save(root / "pool.npy", X)
    return root / "pool.npy", X, truth


def annotator(truth):
    return SimulatedAnnotator(truth, SymmetricNoise(0.3), n_classes=len(CLASSES), random_state=2)


@pytest.mark.parametrize("strategy, filter, strategy_params, nas_params", [
    ("npc", "knn", {}, {}),  # delta from the purity heuristic, then carried over with the cached graph
    ("weighted_npc", "centroids", {"delta": 0.3, "delta_policy": "max_degree"}, {"noise_dropout": True}),
    ("coreset_nas", "knn", {}, {}),
    ("maxherding_nas", "centroids", {}, {}),
])
def test_rounds_equal_nas_run(pool, tmp_path, strategy, filter, strategy_params, nas_params):
    features, X, truth = pool
    rounds = 4
    noisy = annotator(truth)
    with Workspace.init(tmp_path / "ws", features=features, classes=CLASSES, strategy=strategy, filter=filter,
                        strategy_params=strategy_params, nas_params=nas_params, seed=11) as ws:
        picked = []
        for _ in range(rounds):
            q = ws.query()
            picked.append(q.samples)
            ws.annotate([(int(s), int(y)) for s, y in zip(q.samples, noisy(q.samples))])
        reference = build_selector(ws.config, n_classes=len(CLASSES)).run(X, rounds * len(CLASSES), annotator(truth))
        np.testing.assert_array_equal(np.concatenate(picked), reference.labeled)
        samples, labels = ws.labeled()
        np.testing.assert_array_equal(labels, reference.labels)
        result = ws.export(tmp_path / "labeled.csv")
        assert result.n_clean == int(reference.is_clean.sum())
        status = ws.status()
        assert status.n_labels == rounds * len(CLASSES) and len(status.rounds) == rounds


def test_plain_strategy_rounds_are_reproducible(pool, tmp_path):
    features, X, truth = pool
    picks = []
    for name in ("one", "two"):
        with Workspace.init(tmp_path / name, features=features, classes=CLASSES, strategy="probcover",
                            filter="knn", batch_size=5, seed=4) as ws:
            for _ in range(3):
                q = ws.query()
                ws.annotate([(int(s), int(truth[s])) for s in q.samples])
            picks.append(ws.labeled()[0])
            assert ws.status().coverage is not None
    np.testing.assert_array_equal(picks[0], picks[1])
    assert len(set(picks[0].tolist())) == 15


def test_nas_parameters_need_a_nas_strategy(pool, tmp_path):
    features, _, _ = pool
    with pytest.raises(WorkspaceError, match="not wrapped in NAS"):
        Workspace.init(tmp_path / "ws", features=features, classes=CLASSES, strategy="random", filter="knn",
                       nas_params={"noise_dropout": True})
    with pytest.raises(WorkspaceError, match="invalid selection configuration"):
        Workspace.init(tmp_path / "ws", features=features, classes=CLASSES, strategy="npc", filter="knn",
                       strategy_params={"radius": 0.3})


def test_a_pool_labeled_to_the_end(pool, tmp_path):
    features, X, truth = pool
    small = tmp_path / "small.npy"
    np.save(small, X[:7])
    with Workspace.init(tmp_path / "ws", features=small, classes=CLASSES, strategy="random", filter="knn",
                        batch_size=5) as ws:
        for expected in (5, 2):
            q = ws.query()
            assert len(q.samples) == expected
            ws.annotate([(int(s), int(truth[s])) for s in q.samples])
        with pytest.raises(WorkspaceError, match="nothing left to query"):
            ws.query()


def test_the_graph_is_cached_between_rounds_and_a_broken_cache_rebuilt(pool, tmp_path):
    features, X, truth = pool
    picks = {}
    for name in ("kept", "broken"):
        with Workspace.init(tmp_path / name, features=features, classes=CLASSES, strategy="npc", filter="knn",
                            strategy_params={"delta": 0.3}, seed=1) as ws:
            for r in range(3):
                q = ws.query()
                ws.annotate([(int(s), int(truth[s])) for s in q.samples])
                (cache,) = (tmp_path / name / "cache").glob("radius-*.npz")
                if name == "broken":
                    cache.write_bytes(b"not a graph")
            stages = ws._store.conn.execute("SELECT round, stage, seconds FROM timings").fetchall()
            picks[name] = ws.labeled()[0]
        graph_seconds = {(r, stage): s for r, stage, s in stages if stage in ("strategy graph", "load_graph")}
        assert (1, "strategy graph") in graph_seconds
        if name == "kept":
            assert {(2, "load_graph"), (3, "load_graph")} <= set(graph_seconds)
            assert (2, "strategy graph") not in graph_seconds
        else:
            assert (2, "strategy graph") in graph_seconds
    np.testing.assert_array_equal(picks["kept"], picks["broken"])
