import numpy as np
import pytest

import nas_ext


@pytest.fixture
def restore_threads():
    before = nas_ext.get_num_threads()
    yield
    nas_ext.set_num_threads(before)


def test_set_num_threads_round_trip(restore_threads):
    nas_ext.set_num_threads(1)
    assert nas_ext.get_num_threads() == 1 and nas_ext.build_info()["openmp_threads"] == 1


def test_results_do_not_depend_on_the_thread_count(restore_threads, rng):
    X = rng.standard_normal((8000, 8)).astype(np.float32)  # enough edges for 3 diffusion threads
    graph = nas_ext.knn_graph(X, 10)
    values = rng.uniform(0, 1, graph.n)
    results = []
    for threads in (1, 2, 3):
        nas_ext.set_num_threads(threads)
        again = nas_ext.knn_graph(X, 10)
        np.testing.assert_array_equal(again.indices, graph.indices)
        results.append(nas_ext.diffuse(graph, values, fixed=[0, 4000]))
    np.testing.assert_array_equal(results[0], results[1])
    np.testing.assert_array_equal(results[0], results[2])


@pytest.mark.parametrize("n, exc", [(0, ValueError), (1.5, TypeError)])
def test_set_num_threads_rejects_bad_counts(n, exc):
    with pytest.raises(exc, match="'n' parameter of set_num_threads"):
        nas_ext.set_num_threads(n)
