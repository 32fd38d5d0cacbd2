"""The runnable examples in the correction docstrings, and thread-count independence of the selection."""
import doctest

import numpy as np
import pytest

import nas_ext
from nas.correction import EntropyPropagation, alc, transition, weights


@pytest.mark.parametrize("module", [alc, transition, weights])
def test_docstring_examples_run(module):
    assert doctest.testmod(module).failed == 0


def test_same_picks_and_field_at_any_thread_count():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((6000, 4)).astype(np.float32)
    g = nas_ext.knn_graph(X, 10)
    e = rng.random(6000)
    assert g.n + g.nnz >= 2 << 15              # large enough for the kernel to start 2 threads
    before = nas_ext.get_num_threads()
    out = []
    try:
        for threads in (1, 2):
            nas_ext.set_num_threads(threads)
            out.append(EntropyPropagation(g).select(e, 20, order=np.arange(6000), candidate_size=3000))
    finally:
        nas_ext.set_num_threads(before)
    np.testing.assert_array_equal(out[0][0], out[1][0])
    assert np.array_equal(out[0][1], out[1][1])
