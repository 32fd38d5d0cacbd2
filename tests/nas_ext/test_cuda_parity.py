"""CPU/CUDA parity of every kernel: same edges, same picks (tie_break="lowest" and seeded "random"),
diffusion within 1e-5, and the CPU path's bad-input errors on the CUDA path. Skipped without a GPU."""
import numpy as np
import pytest
import scipy.sparse as sp
import torch

import nas_ext
from conftest import CUDA

pytestmark = [pytest.mark.cuda, pytest.mark.skipif(not CUDA, reason="needs a CUDA build of nas_ext and a GPU")]


def host(value):
    return value.cpu().numpy() if isinstance(value, torch.Tensor) else np.asarray(value)


def clustered(n, d, *, seed, duplicates=3, zero_row=False):
    """Clustered rows (so that radius graphs have real neighbourhoods) with exact duplicates."""
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((max(2, n // 40), d))
    X = centres[rng.integers(0, centres.shape[0], n)] + 0.3 * rng.standard_normal((n, d))
    X[rng.choice(n, duplicates, replace=False)] = X[rng.choice(n, duplicates, replace=False)]
    if zero_row:
        X[n // 2] = 0.0
    return X.astype(np.float32)


def pairwise(X, metric):
    X = X.astype(np.float64)
    if metric == "cosine":
        norms = np.linalg.norm(X, axis=1, keepdims=True)
        norms[norms == 0] = 1.0
        X = X / norms
        return 1.0 - X @ X.T
    sq = (X * X).sum(1)
    return np.sqrt(np.maximum(sq[:, None] + sq[None, :] - 2 * X @ X.T, 0.0))


def clear_delta(X, metric, degree):
    """A radius near the one for the given mean degree, mid-way in a gap of the pairwise distances so that
    no pair lies within 1e-4 of it: the edge set then does not depend on the last bit of the data, which
    the CPU (numpy) and the GPU (torch) preparations of the rows may round differently."""
    n = X.shape[0]
    values = np.unique(pairwise(X, metric)[np.triu_indices(n, 1)])
    start = min(values.shape[0] - 2, max(0, int((degree - 1) * n / 2)))
    for i in range(start, values.shape[0] - 1):
        if values[i + 1] - values[i] > 2e-4 and values[i] > 1e-3:
            return float((values[i] + values[i + 1]) / 2)
    raise AssertionError("no gap in the pairwise distances")


def assert_same_graph(cpu_graph, gpu_graph):
    assert gpu_graph.device.startswith("cuda")
    moved = gpu_graph.cpu()
    np.testing.assert_array_equal(moved.indptr, cpu_graph.indptr)
    np.testing.assert_array_equal(moved.indices, cpu_graph.indices)
    np.testing.assert_allclose(moved.dist, cpu_graph.dist, rtol=0, atol=1e-6)
    assert moved.indices.dtype == np.int32 and moved.dist.dtype == np.float32 and moved.indptr.dtype == np.int64


# ---- radius_graph ----

@pytest.mark.parametrize("n, d, metric", [(300, 7, "cosine"), (700, 50, "euclidean"), (1500, 384, "cosine"),
                                          (129, 32, "euclidean"), (1, 3, "cosine")])
def test_radius_graph_same_edges(n, d, metric):
    X = clustered(n, d, seed=n, duplicates=3 if n > 10 else 0, zero_row=metric == "cosine" and n > 10)
    delta = clear_delta(X, metric, 8) if n > 1 else 0.5
    expected = nas_ext.radius_graph(X, delta, metric=metric)
    got = nas_ext.radius_graph(X, delta, metric=metric, device="cuda")
    assert_same_graph(expected, got)
    assert got.symmetric and got.delta == expected.delta


def test_radius_graph_from_a_cuda_tensor_and_restrict():
    X = clustered(400, 16, seed=1)
    delta = clear_delta(X, "cosine", 12)
    expected = nas_ext.radius_graph(X, delta)
    got = nas_ext.radius_graph(torch.from_numpy(X).cuda(), delta, device="cuda")
    assert_same_graph(expected, got)
    smaller = clear_delta(X, "cosine", 4)
    assert_same_graph(expected.restrict(smaller), got.restrict(smaller))


def test_radius_graph_cuda_errors():
    X = clustered(200, 8, seed=2)
    with pytest.raises(ValueError, match="'max_edges'"):
        nas_ext.radius_graph(X, 1.5, max_edges=250, device="cuda")
    bad = torch.from_numpy(X).cuda()
    bad[5, 1] = float("nan")
    with pytest.raises(ValueError, match="'X' .* row 5"):
        nas_ext.radius_graph(bad, 0.3, device="cuda")
    with pytest.raises(ValueError, match="'delta'"):
        nas_ext.radius_graph(X, 0.0, device="cuda")
    with pytest.raises(ValueError, match="'X'"):
        nas_ext.radius_graph(torch.zeros(5, device="cuda"), 0.3, device="cuda")


# ---- knn_graph ----

@pytest.mark.parametrize("n, d, k, metric, symmetric", [(300, 7, 5, "euclidean", True), (300, 40, 10, "cosine", True),
                                                         (257, 33, 3, "euclidean", False), (60, 5, 59, "cosine", True),
                                                         (2, 3, 1, "euclidean", False)])
def test_knn_graph_same_edges(n, d, k, metric, symmetric):
    X = clustered(n, d, seed=n + k, duplicates=2 if n > 10 else 0)
    expected = nas_ext.knn_graph(X, k, metric=metric, symmetric=symmetric)
    got = nas_ext.knn_graph(X, k, metric=metric, symmetric=symmetric, device="cuda")
    assert_same_graph(expected, got)
    assert got.k == k and got.symmetric == symmetric
    # cosine: exact closed form on the GPU; euclidean: summed from the TF32 products (documented bound 1e-3)
    tolerance = 1e-5 if metric == "cosine" else 1e-3
    assert got.meta["mean_pairwise_distance"] == pytest.approx(expected.meta["mean_pairwise_distance"], rel=tolerance)


def test_knn_graph_cuda_errors():
    X = clustered(50, 4, seed=3)
    with pytest.raises(ValueError, match="'k'"):
        nas_ext.knn_graph(X, 50, device="cuda")
    bad = torch.from_numpy(X).cuda()
    bad[7, 0] = float("inf")
    with pytest.raises(ValueError, match="'X' .* row 7"):
        nas_ext.knn_graph(bad, 3, device="cuda")


# ---- CoverageState ----

def coverage_graph(seed=0, n=600):
    X = clustered(n, 12, seed=seed)
    return nas_ext.radius_graph(X, clear_delta(X, "cosine", 10))


def run_selection(graph, device, weights=None, *, tie_break="lowest", seed=None):
    state = nas_ext.CoverageState(graph, weights=weights, device=device)
    state.cover([3, 40, 41])
    state.block([7, 100])
    state.exclude([8, 9, 250])
    state.discount([11, 12, 13, 300], 0.5)
    state.discount([12, 301], 0.7, per_source=True)
    first, first_gains = state.pick(20, tie_break=tie_break, seed=seed)
    state.cover([500])
    second, second_gains = state.pick(30, tie_break=tie_break, seed=seed)
    picks = np.concatenate([host(first), host(second)])
    gains = np.concatenate([host(first_gains), host(second_gains)])
    return picks, gains, host(state.gains()), host(state.coverage()), state.n_candidates


@pytest.mark.parametrize("weighted", [False, True])
def test_coverage_same_picks_lowest(weighted):
    graph = coverage_graph()
    weights = np.random.default_rng(5).uniform(0.05, 1.0, graph.nnz) if weighted else None
    expected = run_selection(graph, "cpu", weights)
    got = run_selection(graph, "cuda", weights)
    np.testing.assert_array_equal(got[0], expected[0])
    np.testing.assert_allclose(got[1], expected[1], rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(got[2], expected[2], rtol=1e-9, atol=1e-9)
    np.testing.assert_array_equal(got[3], expected[3])
    assert got[4] == expected[4]


def test_coverage_same_picks_random_tie_break_and_cuda_graph():
    graph = coverage_graph(seed=1)
    expected = run_selection(graph, "cpu", tie_break="random", seed=11)
    got = run_selection(graph.to("cuda"), "cuda", tie_break="random", seed=11)
    np.testing.assert_array_equal(got[0], expected[0])


def test_coverage_exhausts_like_the_cpu():
    graph = nas_ext.Graph.from_scipy(sp.block_diag([sp.csr_matrix(np.ones((k, k))) for k in (3, 2, 1)], format="csr"))
    cpu = nas_ext.CoverageState(graph)
    gpu = nas_ext.CoverageState(graph, device="cuda")
    np.testing.assert_array_equal(host(gpu.pick(6)[0]), cpu.pick(6)[0])
    with pytest.raises(ValueError, match="'k'"):
        gpu.pick(1)


@pytest.mark.parametrize("weighted", [False, True])
def test_coverage_copy_and_peek_like_the_cpu(weighted):
    graph = coverage_graph(seed=2)
    weights = np.random.default_rng(6).uniform(0.05, 1.0, graph.nnz) if weighted else None
    results = []
    for device in ("cpu", "cuda"):
        base = nas_ext.CoverageState(graph, weights=weights, device=device)
        base.cover([3, 40])
        base.exclude([5, 6])
        clone = base.copy()
        node, gain = clone.peek()
        picks, _ = clone.pick(25)
        results.append((node, gain, host(picks), host(base.gains()), host(clone.gains()), base.n_candidates,
                        clone.n_candidates))
    cpu, gpu = results
    assert gpu[0] == cpu[0] and gpu[0] == gpu[2][0]
    assert gpu[1] == pytest.approx(cpu[1], rel=1e-9)
    np.testing.assert_array_equal(gpu[2], cpu[2])
    for got, expected in zip(gpu[3:5], cpu[3:5]):
        np.testing.assert_allclose(got, expected, rtol=1e-9, atol=1e-9)
    assert gpu[5:] == cpu[5:] and gpu[5] == gpu[6] + 25


# ---- diffuse ----

@pytest.mark.parametrize("dtype, columns", [(np.float64, None), (np.float32, None), (np.float64, 3)])
def test_diffuse_matches_cpu(dtype, columns):
    X = clustered(500, 10, seed=7)
    graph = nas_ext.knn_graph(X, 10)
    rng = np.random.default_rng(8)
    shape = (500,) if columns is None else (500, columns)
    values = rng.uniform(0, 2, shape).astype(dtype)
    fixed = rng.choice(500, 25, replace=False)
    expected = nas_ext.diffuse(graph, values, step=0.3, n_steps=7, fixed=fixed, fixed_value=0.25)
    got = nas_ext.diffuse(graph, values, step=0.3, n_steps=7, fixed=fixed, fixed_value=0.25, device="cuda")
    assert isinstance(got, torch.Tensor) and got.is_cuda and host(got).dtype == dtype
    np.testing.assert_allclose(host(got), expected, rtol=0, atol=1e-5)


def test_diffuse_on_a_cuda_graph_with_a_mask_and_cuda_values():
    X = clustered(300, 6, seed=9)
    graph = nas_ext.knn_graph(X, 8)
    values = np.random.default_rng(10).uniform(0, 1, 300)
    mask = np.zeros(300, dtype=bool)
    mask[::17] = True
    expected = nas_ext.diffuse(graph, values, n_steps=10, fixed=mask)
    got = nas_ext.diffuse(graph.to("cuda"), torch.from_numpy(values).cuda(), n_steps=10,
                          fixed=torch.from_numpy(mask).cuda(), device="cuda")
    np.testing.assert_allclose(host(got), expected, rtol=0, atol=1e-5)
    np.testing.assert_allclose(host(nas_ext.gaussian_weights(graph.to("cuda"))), nas_ext.gaussian_weights(graph),
                               rtol=1e-6, atol=1e-7)


def test_diffuse_cuda_errors():
    graph = nas_ext.knn_graph(clustered(40, 3, seed=4), 3)
    weights = np.ones(graph.nnz, dtype=np.float32)
    weights[5] = -1.0
    with pytest.raises(ValueError, match="'weights'"):
        nas_ext.diffuse(graph, np.ones(40), weights=weights, device="cuda")
    with pytest.raises(ValueError, match="'values'"):
        nas_ext.diffuse(graph, np.ones(39), device="cuda")
    with pytest.raises(ValueError, match="'fixed'"):
        nas_ext.diffuse(graph, np.ones(40), fixed=[40], device="cuda")


# ---- kcenter_greedy ----

@pytest.mark.parametrize("metric", ["euclidean", "cosine"])
@pytest.mark.parametrize("centers", [(), (0, 5, 77)])
def test_kcenter_same_picks(metric, centers):
    X = clustered(800, 20, seed=12, duplicates=5)
    expected = nas_ext.kcenter_greedy(X, 40, centers=centers, metric=metric)
    got = nas_ext.kcenter_greedy(X, 40, centers=centers, metric=metric, device="cuda")
    assert isinstance(got, torch.Tensor) and got.is_cuda
    np.testing.assert_array_equal(host(got), expected)


def test_kcenter_cuda_errors():
    X = clustered(30, 4, seed=13)
    with pytest.raises(ValueError, match="'budget'"):
        nas_ext.kcenter_greedy(X, 29, centers=[1, 2], device="cuda")
    with pytest.raises(ValueError, match="'centers'"):
        nas_ext.kcenter_greedy(X, 2, centers=[30], device="cuda")
