"""Entropy propagation on tiny hand-made graphs: the pick's neighbours lose entropy, the clamp holds, the
kernel path equals the scipy loop, and the local mode adds exactly the pin's effect."""
import numpy as np
import pytest
import scipy.sparse as sp

import nas_ext
from nas.correction import EntropyPropagation, batch_redundancy, diffuse_scipy


def _path(n):
    """Points 0, 1, ..., n-1 on a line: the 1-NN graph is a path."""
    return nas_ext.knn_graph(np.arange(n, dtype=np.float32)[:, None], 1)


def _transition(graph):
    w = nas_ext.gaussian_weights(graph).astype(np.float64)
    A = sp.csr_matrix((w, graph.indices, graph.indptr), shape=(graph.n, graph.n))
    return sp.diags(1.0 / np.asarray(A.sum(axis=1)).ravel()) @ A


def test_propagation_lowers_the_entropy_of_the_picks_neighbours():
    g = _path(7)
    e = np.ones(7)
    e[3] = 2.0                                              # the obvious first pick
    prop = EntropyPropagation(g, n_steps=3)
    picks, field = prop.select(e, 1, order=np.arange(7), candidate_size=7)
    assert picks.tolist() == [3]
    assert field[3] == 0.0                                  # the clamp holds at the end
    assert field[2] < 1.0 and field[4] < 1.0                # neighbours lowered
    assert field[2] < field[1] < field[0] <= 1.0            # more the nearer they are


def test_second_pick_avoids_the_first_ones_neighbourhood():
    # two clusters of equal entropy: top-2 entropy would take both from cluster A; propagation spreads
    X = np.array([[0.0], [0.1], [0.2], [10.0], [10.1]], dtype=np.float32)
    g = nas_ext.knn_graph(X, 1)
    e = np.array([1.0, 1.0, 1.0, 0.95, 0.95])
    picks, _ = EntropyPropagation(g).select(e, 2, order=np.arange(5), candidate_size=5)
    assert picks[0] == 0 and picks[1] in (3, 4)
    assert batch_redundancy(g, picks) == 0.0
    assert batch_redundancy(g, [0, 1]) == 1.0


def test_batch_clamp_keeps_every_pick_at_zero():
    g = _path(9)
    e = np.linspace(1.0, 2.0, 9)
    _, field = EntropyPropagation(g, clamp="batch").select(e, 3, order=np.arange(9), candidate_size=9)
    picks, field_pick = EntropyPropagation(g, clamp="pick").select(e, 3, order=np.arange(9), candidate_size=9)
    assert (field[picks] == 0.0).all()
    assert field_pick[picks[-1]] == 0.0 and (field_pick[picks[:-1]] > 0.0).any()   # earlier zeros smeared


@pytest.mark.parametrize("clamp", ["pick", "batch"])
def test_global_mode_equals_the_scipy_loop(clamp):
    rng = np.random.default_rng(0)
    X = rng.standard_normal((150, 3)).astype(np.float32)
    g = nas_ext.knn_graph(X, 5)
    P = _transition(g).tocsr()
    e = rng.random(150)
    picks, field = EntropyPropagation(g, clamp=clamp).select(e, 12, order=np.arange(150), candidate_size=150)
    v, taken = e.copy(), []
    for _ in range(12):
        masked = v.copy()
        masked[taken] = -np.inf
        taken.append(int(np.argmax(masked)))
        v = diffuse_scipy(P, v, taken if clamp == "batch" else [taken[-1]], step=0.1, n_steps=10)
    assert picks.tolist() == taken
    np.testing.assert_allclose(field, v, atol=1e-12)


def test_local_mode_adds_exactly_the_pins_effect():
    rng = np.random.default_rng(1)
    X = rng.standard_normal((200, 2)).astype(np.float32)
    g = nas_ext.knn_graph(X, 4)
    P = _transition(g).tocsr()
    e = rng.random(200)
    prop = EntropyPropagation(g, mode="local", n_steps=3)
    picks, field = prop.select(e, 5, order=np.arange(200), candidate_size=200)
    v = e.copy()
    for x in picks:
        v = v + diffuse_scipy(P, v, [x], step=0.1, n_steps=3) - diffuse_scipy(P, v, [], step=0.1, n_steps=3)
        v[x] = 0.0
    np.testing.assert_allclose(field, v, atol=1e-9)
    assert max(prop.ball_sizes_) < 200                      # the work stayed local


def test_candidates_are_the_first_of_the_order_and_refill():
    g = _path(6)
    e = np.array([5.0, 1.0, 1.0, 1.0, 1.0, 9.0])
    order = np.array([1, 2, 0, 3, 4, 5])                     # 5 (highest entropy) ranked last
    picks, _ = EntropyPropagation(g, n_steps=0).select(e, 3, order=order, candidate_size=2)
    assert 5 not in picks.tolist() and picks[0] in (1, 2)
    assert picks.tolist()[:3].count(0) == 1                  # 0 enters C after a pick and wins


def test_ties_go_to_the_lowest_index_also_after_reordering():
    X = np.array([[0.0], [5.0], [10.0], [15.0]], dtype=np.float32)
    g = nas_ext.knn_graph(X, 1)
    picks, _ = EntropyPropagation(g, reorder=True).select(np.ones(4), 1, order=np.arange(4)[::-1],
                                                          candidate_size=4)
    assert picks.tolist() == [0]


def test_bad_inputs():
    g = _path(4)
    prop = EntropyPropagation(g)
    with pytest.raises(ValueError, match="n_picks"):
        prop.select(np.ones(4), 5, order=np.arange(4), candidate_size=4)
    with pytest.raises(ValueError, match="entropy"):
        prop.select(np.array([1.0, np.nan, 1.0, 1.0]), 1, order=np.arange(4), candidate_size=4)
    with pytest.raises(ValueError, match="order"):
        prop.select(np.ones(4), 1, order=np.array([0, 0]), candidate_size=1)
    with pytest.raises(TypeError, match="graph"):
        EntropyPropagation(np.eye(3))
    with pytest.raises(ValueError, match="step"):
        EntropyPropagation(g, step=0.0)


@pytest.mark.parametrize("clamp", ["pick", "batch"])
def test_a_progress_bar_does_not_change_the_batch(clamp):
    """With a progress bar the global kernel runs in chunks that continue one another: same picks, same field."""
    rng = np.random.default_rng(4)
    g = nas_ext.knn_graph(rng.standard_normal((300, 4)).astype(np.float32), 5)
    e, order = rng.random(300), rng.permutation(300)

    class Counter:
        n = 0

        def update(self, k):
            self.n += k

    prop = EntropyPropagation(g, clamp=clamp)
    picks, field = prop.select(e, 45, order=order, candidate_size=100)
    bar = Counter()
    chunked_picks, chunked_field = prop.select(e, 45, order=order, candidate_size=100, progress=bar)
    assert bar.n == 45
    np.testing.assert_array_equal(chunked_picks, picks)
    np.testing.assert_array_equal(chunked_field, field)
