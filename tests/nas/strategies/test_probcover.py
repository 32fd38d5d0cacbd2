import logging

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

import nas_ext
from nas.strategies import ProbCover
from nas.strategies.delta import delta_grid, purity_by_delta
from oracles.selection import pairwise_distances, probcover_greedy

# Two dense clusters and an outlier (euclidean, delta = 0.5): A = rows 0..5, B = rows 6..9, outlier = row 10.
A = [[0.0, 0.0], [0.1, 0.0], [0.0, 0.1], [0.1, 0.1], [0.05, 0.05], [0.12, 0.02]]
B = [[5.0, 5.0], [5.1, 5.0], [5.0, 5.1], [5.1, 5.1]]
OUTLIER = [[9.0, 0.0]]
X_TOY = np.array(A + B + OUTLIER, dtype=np.float32)
IN_A, IN_B = set(range(6)), set(range(6, 10))


def toy(**kw):
    kw.setdefault("metric", "euclidean")
    kw.setdefault("tie_break", "lowest")
    return ProbCover(0.5, **kw)


def test_two_clusters_and_outlier_picked_in_density_order(caplog):
    with caplog.at_level(logging.WARNING, logger="nas.strategies.probcover"):
        picks = toy().select(X_TOY, 3)
    assert picks[0] in IN_A and picks[1] in IN_B and picks[2] == 10
    # the third pick only covers itself: the graph is exhausted and the warning names the fix
    assert any("delta_policy='max_degree'" in r.getMessage() for r in caplog.records)


def test_no_exhaustion_warning_while_gains_exceed_one(caplog):
    with caplog.at_level(logging.WARNING, logger="nas.strategies.probcover"):
        toy().select(X_TOY, 2)
    assert not caplog.records


def test_exhaustion_warning_logged_once_per_graph(caplog):
    strategy = toy()
    with caplog.at_level(logging.WARNING, logger="nas.strategies.probcover"):
        strategy.select(X_TOY, 8)
        strategy.select(X_TOY, 1, clean=[0, 6])  # a NAS share after the graph ran dry: no repeat
        strategy.select(X_TOY, 2, clean=[0, 6, 10])
    assert len([r for r in caplog.records if "exhausted" in r.getMessage()]) == 1
    strategy.fit(X_TOY)
    with caplog.at_level(logging.WARNING, logger="nas.strategies.probcover"):
        strategy.select(X_TOY, 8)
    assert len([r for r in caplog.records if "exhausted" in r.getMessage()]) == 2


def test_noisy_representative_is_sampled_again_under_npc_not_under_probcover():
    strategy = toy()
    assert strategy.select(X_TOY, 1, clean=[0])[0] in IN_B          # ProbCover: cluster A is covered
    again = strategy.select(X_TOY, 1, noisy=[0])[0]                  # NPC: A's representative was noisy
    assert again in IN_A and again != 0
    assert strategy.last_gains_[0] == 6.0                            # the noisy sample itself is still uncovered


def test_noisy_sample_is_never_picked_even_when_it_is_the_densest():
    picks = toy().select(X_TOY, 10, noisy=[4])
    assert 4 not in picks


@pytest.mark.parametrize("weight, expected_cluster, expected_gain", [(0.75, IN_A, 4.5), (0.5, IN_B, 4.0)])
def test_weighted_npc_scales_noisy_covered_points_by_exactly_the_weight(weight, expected_cluster, expected_gain):
    strategy = toy()
    picks = strategy.select(X_TOY, 2, noisy=[0], noisy_weight=weight)
    assert picks[0] in expected_cluster
    assert strategy.last_gains_[0] == expected_gain
    if weight == 0.5:  # after B, a point of A gains exactly 6 x 0.5
        assert picks[1] in IN_A and strategy.last_gains_[1] == 3.0


def test_weighted_npc_clean_coverage_wins_over_the_noisy_weight():
    strategy = toy()
    picks = strategy.select(X_TOY, 1, clean=[1], noisy=[0], noisy_weight=0.9)
    assert picks[0] in IN_B and strategy.last_gains_[0] == 4.0


def test_weight_one_equals_plain_npc():
    a = toy().select(X_TOY, 4, noisy=[0], noisy_weight=1.0)
    b = toy().select(X_TOY, 4, noisy=[0])
    np.testing.assert_array_equal(a, b)


def test_per_source_weight_applies_once_per_noisy_cover():
    strategy = toy()
    strategy.select(X_TOY, 1, noisy=[0, 1], noisy_weight=0.5, weight_mode="per_source")
    assert strategy.last_gains_[0] == 4.0  # B (4) beats A (6 x 0.25 = 1.5)
    strategy.select(X_TOY, 1, noisy=[0, 1], noisy_weight=0.5, weight_mode="once")
    assert strategy.last_gains_[0] == 4.0  # B (4) beats A (6 x 0.5 = 3)
    picks = strategy.select(X_TOY, 2, noisy=[0, 1], noisy_weight=0.5, weight_mode="per_source")
    assert picks[1] in IN_A and strategy.last_gains_[1] == 1.5


# ---------------------------------------------------------------- brute-force oracle (tie_break="lowest")
def _random_problem(seed, n, d, metric):
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((3, d))
    X = centres[rng.integers(0, 3, n)] + 0.4 * rng.standard_normal((n, d))
    X = X.astype(np.float32)
    assume(np.linalg.norm(X, axis=1).min() > 1e-2)
    D = pairwise_distances(X, metric)
    delta = float(np.quantile(D[np.triu_indices(n, 1)], rng.uniform(0.05, 0.5))) if n > 1 else 0.5
    assume(delta > 1e-3 and np.abs(D - delta).min() > 1e-4)
    return X, D, delta, rng


@settings(max_examples=40)
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(2, 40), d=st.integers(1, 5),
       metric=st.sampled_from(["cosine", "euclidean"]), with_labeled=st.booleans())
def test_matches_brute_force_greedy(seed, n, d, metric, with_labeled):
    X, D, delta, rng = _random_problem(seed, n, d, metric)
    clean = noisy = np.empty(0, dtype=np.int64)
    if with_labeled:
        perm = rng.permutation(n)
        n_clean, n_noisy = rng.integers(0, n // 3 + 1), rng.integers(0, n // 3 + 1)
        clean, noisy = perm[:n_clean], perm[n_clean:n_clean + n_noisy]
    budget = int(rng.integers(1, n - clean.size - noisy.size + 1))
    strategy = ProbCover(delta, metric=metric, tie_break="lowest")
    picks = strategy.select(X, budget, clean=clean, noisy=noisy)
    expected, gains = probcover_greedy(D < delta, budget, clean, noisy)
    np.testing.assert_array_equal(picks, expected)
    np.testing.assert_array_equal(strategy.last_gains_, gains)


@settings(max_examples=30)
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(3, 40), weight=st.sampled_from([0.0, 0.25, 0.5, 0.75]),
       per_source=st.booleans())
def test_weighted_matches_brute_force_greedy(seed, n, weight, per_source):
    X, D, delta, rng = _random_problem(seed, n, 3, "euclidean")
    perm = rng.permutation(n)
    clean, noisy = perm[:n // 4], perm[n // 4:n // 4 + max(1, n // 4)]
    budget = int(rng.integers(1, n - clean.size - noisy.size + 1))
    strategy = ProbCover(delta, metric="euclidean", tie_break="lowest")
    picks = strategy.select(X, budget, clean=clean, noisy=noisy, noisy_weight=weight,
                            weight_mode="per_source" if per_source else "once")
    expected, gains = probcover_greedy(D < delta, budget, clean, noisy, noisy_weight=weight, per_source=per_source)
    np.testing.assert_array_equal(picks, expected)
    np.testing.assert_allclose(strategy.last_gains_, gains, rtol=0, atol=1e-9)


@settings(max_examples=25)
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(4, 40), shares=st.integers(1, 6))
def test_reused_state_equals_fresh_state(seed, n, shares):
    """A strategy called share after share (state reused when the partition only grows, rebuilt when a
    pick comes back noisy) gives the same picks as a fresh strategy per share."""
    X, D, delta, rng = _random_problem(seed, n, 3, "cosine")
    persistent = ProbCover(delta, metric="cosine", tie_break="lowest")
    clean, noisy = [], []
    for _ in range(shares):
        left = n - len(clean) - len(noisy)
        if left == 0:
            break
        size = int(rng.integers(1, min(3, left) + 1))
        picks = persistent.select(X, size, clean=clean, noisy=noisy)
        fresh = ProbCover(delta, metric="cosine", tie_break="lowest").select(X, size, clean=clean, noisy=noisy)
        np.testing.assert_array_equal(picks, fresh)
        for p in picks:
            (noisy if rng.random() < 0.4 else clean).append(int(p))
        if clean and rng.random() < 0.2:  # the filter changes its mind about an old sample
            noisy.append(clean.pop(0))


def test_ideal_filter_like_sequence_reuses_the_state():
    strategy = toy()
    clean, noisy = [], []
    for i in range(6):
        pick = strategy.select(X_TOY, 1, clean=clean, noisy=noisy)[0]
        (noisy if i % 2 else clean).append(int(pick))
    assert strategy._session.rebuilds == 1 and strategy._session.reuses == 5


def test_noisy_sample_predicted_clean_later_keeps_the_state():
    strategy = toy()
    first = strategy.select(X_TOY, 1, noisy=[0])
    second = strategy.select(X_TOY, 1, clean=[0], noisy=[int(first[0])])
    assert second[0] in IN_B  # 0 now covers A; the state was extended, not rebuilt
    assert strategy._session.rebuilds == 1 and strategy._session.reuses == 1
    strategy.select(X_TOY, 1, noisy=[0, int(first[0]), int(second[0])])  # a covering sample turned noisy
    assert strategy._session.rebuilds == 2


# ---------------------------------------------------------------- randomness
def test_same_random_state_same_picks_and_global_rng_untouched():
    X = np.random.default_rng(0).standard_normal((60, 3)).astype(np.float32)
    np.random.seed(1)
    a = ProbCover(0.3).select(X, 10, random_state=7)
    np.random.seed(2)
    b = ProbCover(0.3).select(X, 10, random_state=7)
    np.testing.assert_array_equal(a, b)


def test_reference_bug_unseeded_ties_are_seeded():
    """The reference broke ties with the global numpy RNG; here `random_state` decides, nothing else."""
    X = (np.arange(40, dtype=np.float32)[:, None] * 10.0)  # 40 isolated points: every gain is 1
    picks = {}
    for seed in (1, 2):
        for global_seed in (0, 99):
            np.random.seed(global_seed)
            picks[seed, global_seed] = ProbCover(1.0, metric="euclidean", tie_break="random").select(
                X, 5, random_state=seed)
    np.testing.assert_array_equal(picks[1, 0], picks[1, 99])
    np.testing.assert_array_equal(picks[2, 0], picks[2, 99])
    assert not np.array_equal(picks[1, 0], picks[2, 0])
    lowest = ProbCover(1.0, metric="euclidean", tie_break="lowest").select(X, 5, random_state=3)
    np.testing.assert_array_equal(lowest, [0, 1, 2, 3, 4])


# ---------------------------------------------------------------- reference bugs of the graph
def test_reference_bug_tail_rows_keep_out_edges():
    """The reference built edges in blocks of 500 rows and dropped the last n mod 500 rows' out-edges.
    Here the densest cluster sits in the last 3 rows of a 503-point pool and is picked first."""
    rng = np.random.default_rng(0)
    spread = np.stack([np.arange(500) * 3.0, rng.uniform(0, 1, 500)], axis=1)
    tail = np.array([[2000.0, 0.0], [2000.1, 0.0], [2000.0, 0.1]])
    X = np.concatenate([spread, tail]).astype(np.float32)
    strategy = ProbCover(0.5, metric="euclidean", tie_break="lowest")
    assert strategy.select(X, 1)[0] in (500, 501, 502)
    np.testing.assert_array_equal(strategy.graph_.degrees()[500:], [3, 3, 3])


def test_reference_bug_large_pool_has_no_separate_path():
    """Above 100k samples the reference switched to a broken graph builder (wrong, duplicated targets) and
    its loop subsampled the pool but fed the selection rows of the full feature file. Here there is one
    path for every pool size and the picks index the rows given: on a 100,050-row pool whose densest
    cluster is the last 5 rows, ProbCover (on a graph over those rows) and Coreset pick from the tail."""
    import scipy.sparse as sp

    n = 100_050
    X = np.zeros((n, 2), dtype=np.float32)
    X[:, 0] = np.arange(n)
    X[-5:] = [[n + 1e6, 0.0], [n + 1e6, 0.1], [n + 1e6, 0.2], [n + 1e6, 0.3], [n + 1e6, 0.4]]
    blocks = sp.block_diag([sp.identity(n - 5, format="csr"), sp.csr_matrix(np.ones((5, 5)))], format="csr")
    graph = nas_ext.Graph.from_scipy(blocks * 0.1, metric="euclidean", delta=1.0, symmetric=True)
    strategy = ProbCover(1.0, metric="euclidean", tie_break="lowest").fit(X, graph=graph)
    assert strategy.select(X, 1)[0] == n - 5
    assert strategy.last_gains_[0] == 5.0
    from nas.strategies import Coreset

    assert Coreset().select(X, 1, clean=[0])[0] >= n - 5


def test_fit_accepts_a_prebuilt_graph_and_checks_it():
    graph = nas_ext.radius_graph(X_TOY, 0.8, metric="euclidean")
    strategy = ProbCover(0.5, metric="euclidean", tie_break="lowest").fit(X_TOY, graph=graph)
    assert strategy.build_delta_ == 0.8 and strategy.delta_ == 0.5
    np.testing.assert_array_equal(strategy.select(X_TOY, 3), toy().select(X_TOY, 3))
    with pytest.raises(ValueError, match="'graph' parameter of ProbCover.fit"):
        ProbCover(0.9, metric="euclidean").fit(X_TOY, graph=graph)
    with pytest.raises(ValueError, match="metric 'cosine'"):
        ProbCover(0.5).fit(X_TOY, graph=graph)


# ---------------------------------------------------------------- delta heuristic (purity)
def test_purity_by_delta_matches_brute_force():
    rng = np.random.default_rng(3)
    X = rng.standard_normal((80, 3)).astype(np.float32)
    labels = rng.integers(0, 3, 80)
    graph = nas_ext.radius_graph(X, 1.5, metric="euclidean")
    grid = delta_grid(1.5, 0.1)
    D = pairwise_distances(X, "euclidean")
    expected = [np.mean([(labels[D[i] < d] == labels[i]).all() for i in range(80)]) for d in grid]
    np.testing.assert_allclose(purity_by_delta(graph, labels, grid), expected)


def _clusters(seed=0, n_per=40, k=4, scale=1.0):
    rng = np.random.default_rng(seed)
    centres = np.eye(k, 8) * 3.0
    X = np.concatenate([c + 0.05 * rng.standard_normal((n_per, 8)) for c in centres])
    truth = np.repeat(np.arange(k), n_per)
    return (X * scale).astype(np.float32), truth


def test_delta_heuristic_picks_largest_pure_delta():
    X, truth = _clusters()
    strategy = ProbCover(None, metric="euclidean", n_clusters=4, random_state=0).fit(X)
    grid = delta_grid(0.6)
    D = pairwise_distances(X, "euclidean")
    purity = [np.mean([(truth[D[i] < d] == truth[i]).all() for i in range(len(X))]) for d in grid]
    expected = grid[np.flatnonzero(np.array(purity) >= 0.95)[-1]]
    assert strategy.delta_ == pytest.approx(expected)
    assert strategy.build_delta_ == pytest.approx(0.6)  # one build at the largest grid delta, restricted


def test_delta_heuristic_needs_n_clusters():
    X, _ = _clusters()
    with pytest.raises(ValueError, match="'n_clusters' parameter of ProbCover"):
        ProbCover(None).fit(X)


def test_delta_heuristic_with_impure_data_falls_back_to_smallest_delta(caplog):
    X = np.random.default_rng(0).standard_normal((150, 2)).astype(np.float32) * 0.01
    with caplog.at_level(logging.WARNING, logger="nas.strategies.delta"):
        strategy = ProbCover(None, metric="euclidean", n_clusters=5, random_state=0).fit(X)
    assert strategy.delta_ == pytest.approx(0.02)
    assert any("no delta" in r.getMessage() for r in caplog.records)


# ---------------------------------------------------------------- delta update policy
LINE = np.array([[0.107 * i, 0.0] for i in range(7)], dtype=np.float32)  # spacing off the 0.02 grid


def test_max_degree_policy_shrinks_delta_when_exhausted():
    strategy = ProbCover(1.0, metric="euclidean", tie_break="lowest", delta_policy="max_degree")
    picks = strategy.select(LINE, 2)
    # at delta 1.0 one pick covers the line; the best smaller delta (max degree 4 on (0.214, 0.321],
    # smallest grid value 0.22) leaves points 3..6 uncovered around point 4
    assert picks.tolist() == [0, 4]
    assert strategy.delta_ == pytest.approx(0.22)
    labeled, old, new, curve = strategy.delta_history_[0]
    assert (labeled, old, new) == (1, 1.0, pytest.approx(0.22))
    assert curve[0.22] == 4.0 and max(curve.values()) == 4.0


def test_without_policy_the_exhausted_graph_keeps_its_delta(caplog):
    strategy = ProbCover(1.0, metric="euclidean", tie_break="lowest")
    with caplog.at_level(logging.WARNING, logger="nas.strategies.probcover"):
        strategy.select(LINE, 2)
    assert strategy.delta_ == 1.0
    assert any("max_degree" in r.getMessage() for r in caplog.records)


def test_reference_bug_delta_scan_uses_selection_geometry():
    """The reference's delta scan ran on max-norm-scaled, non-projected features while the selection used
    unit-sphere ones. Here the scan restricts the selection graph itself: its max-degree curve equals a
    brute-force scan of the same features under the same metric (cosine, rows of varied norms)."""
    rng = np.random.default_rng(5)
    X = np.concatenate([c + 0.6 * rng.standard_normal((15, 8)) for c in np.eye(3, 8) * 3.0])
    X = (X * rng.uniform(0.5, 20.0, (len(X), 1))).astype(np.float32)  # norms differ; cosine ignores them
    strategy = ProbCover(0.9, metric="cosine", tie_break="lowest", delta_policy="max_degree")
    picks = strategy.select(X, 5)
    assert strategy.delta_history_, "the policy should have fired"
    labeled_count, old, new, curve = strategy.delta_history_[0]
    covering = picks[:labeled_count]
    D = pairwise_distances(X, "cosine")
    for delta, value in curve.items():
        A = D < delta
        covered = A[covering].any(axis=0)
        gains = (A & ~covered[None, :]).sum(axis=1)
        gains[covering] = -1
        assert value == gains.max(), delta
    scaled = ProbCover(0.9, metric="cosine", tie_break="lowest", delta_policy="max_degree")
    np.testing.assert_array_equal(scaled.select(X / np.linalg.norm(X, axis=1, keepdims=True), 5), picks)


# ---------------------------------------------------------------- validation
def test_parameter_errors_use_the_standard_sentence():
    with pytest.raises(ValueError, match=r"The 'delta' parameter of ProbCover must be a float in \(0, inf\)"):
        ProbCover(-0.1)
    with pytest.raises(ValueError, match="'tie_break' parameter of ProbCover"):
        ProbCover(0.5, tie_break="first")
    with pytest.raises(ValueError, match="'delta_policy' parameter of ProbCover"):
        ProbCover(0.5, delta_policy="max_std")
    with pytest.raises(ValueError, match="'noisy_weight' parameter of ProbCover.select"):
        toy().select(X_TOY, 1, noisy=[0], noisy_weight=1.5)
