"""Distributed graph and selection on gloo: 2 and 3 local ranks against the one-process result.

Each launch starts real processes (torch.distributed, 127.0.0.1 only, a free port, every collective
bounded by a 20 s timeout), so the checks are grouped into few launches: ~35 s on 2 shared cores.
"""
import datetime

import numpy as np
import pytest
import torch.distributed as dist

import nas_ext
from helpers.dist_worker import pool
from helpers.distributed import check_ok, free_port, launch
from nas.distributed import Comm, DistributedCoverage, init_distributed, shard_range, sharded_radius_graph
from nas.strategies import ProbCover
from nas.strategies._coverage import KernelCoverage

GRAPHS = (("cosine", 0.12), ("euclidean", 1.1))


def _check_graphs(results):
    X = pool()
    for metric, delta in GRAPHS:
        expected = nas_ext.radius_graph(X, delta, metric=metric)
        for z in results:
            np.testing.assert_array_equal(z[f"{metric}_indptr"], expected.indptr)
            np.testing.assert_array_equal(z[f"{metric}_indices"], expected.indices)
            np.testing.assert_array_equal(z[f"{metric}_dist"], expected.dist)


def _check_picks(z):
    keys = [k[len("dist_"):] for k in z.files if k.startswith("dist_")]
    assert len(keys) == 30
    for k in keys:
        if k.endswith("_gains"):
            # Weighted NPC gains are float sums kept in another update order: equal up to rounding.
            np.testing.assert_allclose(z[f"dist_{k}"], z[f"single_{k}"], rtol=1e-12, atol=1e-12, err_msg=k)
        else:
            np.testing.assert_array_equal(z[f"dist_{k}"], z[f"single_{k}"], err_msg=k)
    # the scenarios do exercise ties: past exhaustion the picks are among equal gains
    assert (z["single_exhaust_random_gains"] <= 1.0).sum() > 40
    assert not np.array_equal(z["single_exhaust_random"], z["single_exhaust_lowest"])


def _load(out, world):
    return [np.load(out / f"rank{r}.npz") for r in range(world)]


def test_two_ranks_edges_picks_and_nas_equal_one_process(tmp_path):
    results = launch(2, "graph,picks,nas", tmp_path, timeout=150)
    check_ok(results)
    zs = _load(tmp_path, 2)
    _check_graphs(zs)
    for z in zs:
        _check_picks(z)
        for name in ("npc", "weighted_npc"):
            np.testing.assert_array_equal(z[f"{name}_1"], z[f"{name}_0"])
            assert z[f"{name}_1"].size == 12


def test_three_ranks_edges_and_picks_equal_one_process(tmp_path):
    results = launch(3, "graph,picks", tmp_path, timeout=150)
    check_ok(results)
    zs = _load(tmp_path, 3)
    _check_graphs(zs)
    for z in zs:
        _check_picks(z)


def test_a_dead_rank_fails_the_others_quickly(tmp_path):
    results = launch(2, "fault", tmp_path, timeout=60)
    assert results[1].returncode == 3
    assert results[0].returncode == 0, results[0].stderr[-3000:]
    z = np.load(tmp_path / "rank0.npz")
    assert "failed on rank 0 of 2" in str(z["error"]) and "peer process died" in str(z["error"])
    assert float(z["seconds"]) < 20.0


# ---------------------------------------------------------------------------- in-process (world of 1)
@pytest.fixture
def one_rank(monkeypatch):
    monkeypatch.setenv("MASTER_ADDR", "127.0.0.1")
    monkeypatch.setenv("MASTER_PORT", str(free_port()))
    monkeypatch.setenv("RANK", "0")
    monkeypatch.setenv("WORLD_SIZE", "1")
    monkeypatch.setenv("GLOO_SOCKET_IFNAME", "lo")
    comm = init_distributed(timeout=20)
    yield comm
    dist.destroy_process_group()


def test_one_rank_matches_kernel_coverage(one_rank):
    X = pool()
    g = sharded_radius_graph(X, 0.12, one_rank)
    full = nas_ext.radius_graph(X, 0.12)
    np.testing.assert_array_equal(g.indices, full.indices)
    a, b = DistributedCoverage(g, one_rank), KernelCoverage(full)
    for backend in (a, b):
        backend.cover(np.array([3, 9]))
        backend.exclude(np.array([3, 9, 11]))
    pa, ga = a.pick(12, "random", np.random.default_rng(1))
    pb, gb = b.pick(12, "random", np.random.default_rng(1))
    np.testing.assert_array_equal(pa, pb)
    np.testing.assert_array_equal(ga, gb)
    assert 3 not in pa and 11 not in pa
    assert one_rank.calls > 0 and one_rank.seconds >= 0.0


def test_column_mean_matches_the_kernels_chunked_mean(one_rank):
    """The euclidean centring needs nas_ext's column mean bit for bit, summed in chunks of 2048 rows."""
    from nas.distributed.graph import _column_mean
    from nas_ext._rows import column_mean

    X = np.random.default_rng(3).standard_normal((5000, 7)).astype(np.float32) * 1e3 + 17
    np.testing.assert_array_equal(_column_mean(X, one_rank, np.array([0, 5000])), column_mean(X))


def test_one_rank_probcover_distributed_equals_plain(one_rank):
    X = pool()
    plain = ProbCover(0.12, tie_break="lowest").select(X, 8, clean=[0, 1], noisy=[2])
    sharded = ProbCover(0.12, tie_break="lowest", distributed=True).select(X, 8, clean=[0, 1], noisy=[2])
    np.testing.assert_array_equal(plain, sharded)


def test_one_rank_bad_arguments(one_rank):
    X = pool()
    with pytest.raises(ValueError, match="The 'delta' parameter of sharded_radius_graph must be a float in"):
        sharded_radius_graph(X, 0.0, one_rank)
    with pytest.raises(ValueError, match="The 'max_edges' parameter of sharded_radius_graph"):
        sharded_radius_graph(X, 0.5, one_rank, max_edges=400)
    with pytest.raises(ValueError, match="X_local"):
        sharded_radius_graph(np.full((4, 2), np.nan), 0.5, one_rank)
    with pytest.raises(ValueError, match="The 'delta' parameter of ProbCover must be a float when distributed"):
        ProbCover(tie_break="lowest", distributed=True).fit(X)


def test_shard_range_splits_like_array_split():
    for n, world in ((10, 3), (7, 7), (301, 2), (5, 1)):
        sizes = [len(part) for part in np.array_split(np.arange(n), world)]
        ranges = [shard_range(n, r, world) for r in range(world)]
        assert [b - a for a, b in ranges] == sizes
        assert ranges[0][0] == 0 and ranges[-1][1] == n


def test_without_a_process_group_the_errors_say_how_to_start(monkeypatch):
    for key in ("RANK", "WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT"):
        monkeypatch.delenv(key, raising=False)
    with pytest.raises(RuntimeError, match="torchrun"):
        init_distributed()
    with pytest.raises(RuntimeError, match="not initialised"):
        Comm()
    with pytest.raises(ValueError, match="delta_policy"):
        ProbCover(0.1, delta_policy="max_degree", distributed=True)
    with pytest.raises(ValueError, match="device"):
        ProbCover(0.1, device="cuda", distributed=True)


# ---------------------------------------------------------------------------- workspace
def _workspace(tmp_path, name, distributed):
    from nas.workspace import Workspace

    from helpers.dist_worker import CLASSES

    features = tmp_path / "pool.npy"
    if not features.exists():
        np.save(features, pool(n=240))
    params = {"delta": 0.15, "tie_break": "lowest"}
    if distributed:
        params["distributed"] = True
    return Workspace.init(tmp_path / name, features=features, classes=CLASSES, strategy="npc", filter="knn",
                          strategy_params=params, seed=5)


def _round(ws):
    from helpers.dist_worker import ws_answers

    q = ws.query()
    ws.annotate(ws_answers(q.samples))
    return q.samples


def test_workspace_rounds_on_two_ranks_and_a_dead_rank_loses_no_label(tmp_path, one_rank, monkeypatch):
    from nas.workspace import Workspace

    with _workspace(tmp_path, "reference", False) as ref:
        expected = [_round(ref) for _ in range(3)]
    with _workspace(tmp_path, "ws", True) as ws:  # round 1 in this process (a world of one rank)
        np.testing.assert_array_equal(_round(ws), expected[0])
    results = launch(2, "ws_fault", tmp_path / "out", timeout=120, env={"NAS_TEST_WS": str(tmp_path / "ws")})
    assert results[1].returncode == 3, results[1].stderr[-3000:]
    assert results[0].returncode == 0, results[0].stderr[-3000:]
    z0, z1 = np.load(tmp_path / "out" / "rank0.npz"), np.load(tmp_path / "out" / "rank1.npz")
    np.testing.assert_array_equal(z0["round2"], expected[1])  # round 2 on two ranks, stored once by rank 0
    np.testing.assert_array_equal(z1["round2"], expected[1])
    assert "peer process died" in str(z0["error"])
    with Workspace.open(tmp_path / "ws") as ws:
        samples, labels = ws.labeled()
        assert samples.size == 8 and set(samples.tolist()) == set(np.concatenate(expected[:2]).tolist())
        status = ws.status()
        assert len(status.rounds) == 2 and status.n_labels == 8
        # the interrupted round left nothing behind; computing it again gives the one-process round 3
        np.testing.assert_array_equal(ws.query().samples, expected[2])


def test_one_rank_profile_reports_communication_per_pick(one_rank):
    from nas.distributed.profile import profile_distributed, report_text

    report = profile_distributed(pool(), one_rank, delta=0.12, picks=20)
    assert report["world_size"] == 1 and report["picks"] == 20
    assert report["edges"] == nas_ext.radius_graph(pool(), 0.12).nnz
    assert report["collectives_per_pick"] == 1.0  # offers and balls in one all_gather per pick
    assert report["comm_seconds_per_pick"] > 0 and "us per pick" in report_text(report)


def test_bench_distributed_outside_torchrun_is_a_one_line_error(monkeypatch, capsys):
    from nas.cli import main

    for key in ("RANK", "WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT"):
        monkeypatch.delenv(key, raising=False)
    assert main(["bench", "--distributed", "--samples", "50", "--dim", "4", "--picks", "5"]) == 2
    err = capsys.readouterr().err
    assert "nas bench: error:" in err and "torchrun" in err
