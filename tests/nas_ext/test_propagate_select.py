"""The batch-selection kernel of entropy propagation (``_C.propagate_select``): the same picks and, bit for bit,
the same field as its definition (a numpy argmax with the tie key, then a ``_C.diffuse`` call per pick), the
same at any thread count, and bad input named."""
import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given
from hypothesis import strategies as st

import nas_ext
from nas_ext import _C


def _csr(rng, n, density, isolated):
    """A random directed weighted CSR graph (float32 weights, some zero-degree rows) as kernel arrays."""
    A = sp.random(n, n, density=density, format="csr", random_state=rng, dtype=np.float64)
    A.data = rng.uniform(0.0, 2.0, A.nnz)
    if isolated:
        keep = np.ones(n)
        keep[n - isolated:] = 0
        A = (sp.diags(keep) @ A).tocsr()
        A.eliminate_zeros()
    A.sort_indices()
    return A.indptr.astype(np.int64), A.indices.astype(np.int32), A.data.astype(np.float32)


def _by_definition(graph, field, ranked, size, tie_key, n_picks, pinned, step, n_steps, pin_batch):
    """The loop the kernel fuses: argmax over the active rows (ties: lowest tie key), pin, ``_C.diffuse``."""
    indptr, indices, weights = graph
    cur = field.copy()
    active = np.zeros(cur.size, dtype=bool)
    active[ranked[:size]] = True
    upcoming, picks = size, []
    for _ in range(n_picks):
        rows = np.flatnonzero(active)
        best = rows[cur[rows] == cur[rows].max()]
        pick = int(best[np.argmin(tie_key[best])])
        picks.append(pick)
        active[pick] = False
        if upcoming < ranked.size:
            active[ranked[upcoming]] = True
            upcoming += 1
        held = np.unique(np.concatenate([pinned, picks])) if pin_batch else np.array([pick])
        out = np.empty_like(cur)
        _C.diffuse(indptr, indices, weights, cur, out, held.astype(np.int64), 0.0, step, n_steps)
        cur = out
    return np.array(picks, dtype=np.int64), cur


cases = st.tuples(
    st.integers(1, 40),                 # n
    st.floats(0.0, 0.4),                # density
    st.integers(0, 3),                  # zero-degree rows
    st.integers(0, 2**31 - 1),          # seed
    st.integers(0, 5),                  # n_steps
    st.booleans(),                      # pin_batch
    st.booleans(),                      # a field with many ties (few distinct values)
)


@given(cases, st.floats(0.01, 1.0))
def test_equals_the_loop_it_fuses(case, step):
    n, density, isolated, seed, n_steps, pin_batch, tied = case
    rng = np.random.default_rng(seed)
    graph = _csr(rng, n, density, min(isolated, n))
    field = rng.integers(0, 3, n).astype(np.float64) if tied else rng.random(n)
    ranked = rng.permutation(n)[: int(rng.integers(1, n + 1))].astype(np.int64)
    size = int(rng.integers(1, ranked.size + 1))
    n_picks = int(rng.integers(0, ranked.size + 1))
    tie_key = rng.permutation(n).astype(np.int64)
    outside = np.setdiff1d(np.arange(n), ranked)
    pinned = np.sort(rng.choice(outside, min(outside.size, 2), replace=False)).astype(np.int64)
    expected_picks, expected_field = _by_definition(graph, field, ranked, size, tie_key, n_picks, pinned, step,
                                                    n_steps, pin_batch)
    got = field.copy()
    picks = _C.propagate_select(*graph, got, ranked, size, tie_key, n_picks, pinned, step, n_steps, pin_batch)
    np.testing.assert_array_equal(picks, expected_picks)
    np.testing.assert_array_equal(got, expected_field)


def test_same_picks_and_field_at_any_thread_count():
    rng = np.random.default_rng(3)
    X = rng.standard_normal((6000, 8)).astype(np.float32)
    g = nas_ext.knn_graph(X, 10)             # big enough for the kernel to start two threads
    w = nas_ext.gaussian_weights(g)
    field = rng.random(g.n)
    ranked = rng.permutation(g.n).astype(np.int64)
    results = []
    before = nas_ext.get_num_threads()
    try:
        for threads in (1, 2, 3):
            nas_ext.set_num_threads(threads)
            for pin_batch in (False, True):
                got = field.copy()
                picks = _C.propagate_select(g.indptr, g.indices, w, got, ranked, 3000, np.arange(g.n), 40,
                                            np.empty(0, np.int64), 0.1, 10, pin_batch)
                results.append((threads, pin_batch, picks, got))
    finally:
        nas_ext.set_num_threads(before)
    for threads, pin_batch, picks, got in results:
        _, _, picks1, got1 = next(r for r in results if r[0] == 1 and r[1] == pin_batch)
        np.testing.assert_array_equal(picks, picks1, err_msg=f"{threads} threads")
        np.testing.assert_array_equal(got, got1, err_msg=f"{threads} threads")


def test_bad_input_is_named():
    indptr = np.array([0, 1, 2, 2], dtype=np.int64)
    indices = np.array([1, 0], dtype=np.int32)
    weights = np.ones(2, dtype=np.float32)
    none, key = np.empty(0, np.int64), np.arange(3, dtype=np.int64)

    def call(field=None, ranked=None, size=1, tie_key=key, n_picks=1, pinned=none, step=0.1, n_steps=1,
             indices=indices, weights=weights):
        field = np.ones(3) if field is None else field
        ranked = np.arange(3, dtype=np.int64) if ranked is None else ranked
        return _C.propagate_select(indptr, indices, weights, field, ranked, size, tie_key, n_picks, pinned, step,
                                   n_steps, False)

    for match, kwargs in [
        ("field", dict(field=np.array([1.0, np.nan, 1.0]))),
        ("field", dict(field=np.ones(2))),
        ("ranked", dict(ranked=np.array([0, 0], dtype=np.int64))),
        ("ranked", dict(ranked=np.array([3], dtype=np.int64))),
        ("n_picks", dict(n_picks=4)),
        ("candidate_size", dict(size=0)),
        ("tie_key", dict(tie_key=np.arange(2, dtype=np.int64))),
        ("pinned", dict(pinned=np.array([2, 1], dtype=np.int64))),
        ("step", dict(step=0.0)),
        ("n_steps", dict(n_steps=-1)),
        ("graph", dict(indices=np.array([1, 5], dtype=np.int32))),
        ("weights", dict(weights=np.array([1.0, -1.0], dtype=np.float32))),
    ]:
        with pytest.raises(ValueError, match=match):
            call(**kwargs)
