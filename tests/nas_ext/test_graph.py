import numpy as np
import pytest
import scipy.sparse as sp

from nas_ext.graph import Graph


def _graph():
    dense = np.array([[0.0, 0.2, 0.0, 0.5], [0.2, 0.0, 0.0, 0.0], [0.0, 0.0, 0.0, 0.0], [0.5, 0.0, 0.0, 0.0]])
    m = sp.csr_matrix(dense)
    m.setdiag(0.0)  # explicit self-loops at distance 0, row 2 keeps only its loop
    return Graph.from_scipy(m, delta=0.6, symmetric=True)


def test_restrict_keeps_edges_below_delta_and_empty_rows():
    g = _graph()
    r = g.restrict(0.3)
    assert r.n == g.n and r.delta == 0.3
    keep = g.dist < 0.3
    np.testing.assert_array_equal(r.indices, g.indices[keep])
    np.testing.assert_array_equal(r.degrees(), [2, 2, 1, 1])


def test_restrict_rejects_delta_above_build_radius():
    with pytest.raises(ValueError, match="'delta' parameter of Graph.restrict"):
        _graph().restrict(0.7)


def test_to_scipy_round_trip():
    g = _graph()
    back = Graph.from_scipy(g.to_scipy(), delta=g.delta)
    np.testing.assert_array_equal(back.indptr, g.indptr)
    np.testing.assert_array_equal(back.indices, g.indices)
