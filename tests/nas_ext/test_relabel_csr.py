"""_C.relabel_csr (the cell-ordered radius graph back to the input order) against a scipy oracle."""
import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from nas_ext import _C


def oracle(indptr, indices, dist, order):
    """Node p -> order[p] by scipy: rows and columns permuted, then every row sorted by column."""
    n = indptr.shape[0] - 1
    coo = sp.csr_matrix((dist, indices, indptr), shape=(n, n)).tocoo()
    rows, cols = order[coo.row], order[coo.col]
    sort = np.lexsort((cols, rows))
    out_indptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(rows, minlength=n), out=out_indptr[1:])
    return out_indptr, cols[sort].astype(np.int32), coo.data[sort].astype(np.float32)


@settings(max_examples=60, deadline=None)
@given(n=st.integers(1, 40), density=st.floats(0.0, 0.5), seed=st.integers(0, 2**31 - 1))
def test_relabel_csr_matches_the_oracle(n, density, seed):
    rng = np.random.default_rng(seed)
    M = sp.random(n, n, density=density, format="csr", random_state=rng, dtype=np.float32)
    M.sort_indices()
    indptr, indices = M.indptr.astype(np.int64), M.indices.astype(np.int32)
    dist = rng.random(indices.shape[0]).astype(np.float32)  # distinct values: the order of ties shows
    order = rng.permutation(n).astype(np.int64)
    want = oracle(indptr, indices, dist, order)
    got_indptr = _C.relabel_csr(indptr, indices, dist, order)  # indices, dist rewritten in place
    np.testing.assert_array_equal(got_indptr, want[0])
    np.testing.assert_array_equal(indices, want[1])
    np.testing.assert_array_equal(dist, want[2])


def test_relabel_csr_rejects_bad_input():
    indptr = np.array([0, 1, 2], dtype=np.int64)
    indices = np.array([1, 0], dtype=np.int32)
    dist = np.ones(2, dtype=np.float32)
    with pytest.raises(ValueError, match="'order'"):
        _C.relabel_csr(indptr, indices, dist, np.array([0, 0], dtype=np.int64))
    with pytest.raises(ValueError, match="'order'"):
        _C.relabel_csr(indptr, indices, dist, np.array([0, 1, 2], dtype=np.int64))
    with pytest.raises(ValueError, match="'graph'"):
        _C.relabel_csr(indptr, np.array([1, 5], dtype=np.int32), dist, np.array([1, 0], dtype=np.int64))
    with pytest.raises(ValueError, match="'graph'"):
        _C.relabel_csr(np.array([0, 2, 1], dtype=np.int64), indices, dist, np.array([1, 0], dtype=np.int64))
