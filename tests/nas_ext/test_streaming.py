"""nas_ext._streaming: row gathers from memmaps in window-sized batches, and the resident-page window."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nas_ext import _streaming
from nas_ext._streaming import PageWindow, resident_file_bytes, take_rows


@pytest.fixture(scope="module")
def pool(tmp_path_factory):
    X = np.random.default_rng(0).standard_normal((3000, 48)).astype(np.float32)
    path = tmp_path_factory.mktemp("pool") / "features.npy"
    np.save(path, X)
    return X, np.load(path, mmap_mode="r")


@settings(max_examples=40, deadline=None)
@given(idx=st.lists(st.integers(0, 2999), min_size=0, max_size=700), budget_kib=st.sampled_from([64, 256, 4096]))
def test_take_rows_is_fancy_indexing(pool, idx, budget_kib):
    X, mm = pool
    idx = np.asarray(idx, dtype=np.int64)
    window = PageWindow(mm, budget=budget_kib << 10)
    got = take_rows(mm, idx, window)
    assert got.dtype == np.float32 and got.shape == (idx.size, 48)
    np.testing.assert_array_equal(got, X[idx])
    np.testing.assert_array_equal(take_rows(X, idx), X[idx])


def test_a_window_over_in_memory_arrays_never_releases():
    window = PageWindow(np.zeros((10, 3), dtype=np.float32))
    window.check()
    assert window.arrays == [] and window.releases == 0


def test_take_rows_reads_views_and_the_unlinked_working_copy(pool, monkeypatch):
    X, mm = pool
    idx = np.random.default_rng(2).integers(0, 1000, 500)
    view = mm[1000:2000]
    assert _streaming._row_file(view) is not None
    np.testing.assert_array_equal(take_rows(view, idx), X[1000:2000][idx])
    work = _streaming.working_array((3000, 48), low_memory=True)
    work[:] = X
    np.testing.assert_array_equal(take_rows(work, idx), X[idx])
    monkeypatch.setattr(_streaming, "_row_file", lambda arr: None)  # the mapped fallback
    window = PageWindow(mm, budget=1 << 16)
    np.testing.assert_array_equal(take_rows(mm, idx, window), X[idx])


@pytest.mark.skipif(resident_file_bytes() is None, reason="needs /proc/self/statm")
def test_a_scattered_gather_does_not_map_the_file(tmp_path):
    """Scattered rows read through a mapping map whole neighbourhoods (up to a folio); pread maps none."""
    rows, d = 8192, 1024  # 32 MiB
    path = tmp_path / "big.npy"
    np.save(path, np.ones((rows, d), dtype=np.float32))
    mm = np.load(path, mmap_mode="r")
    _streaming.release_pages(mm)
    base = resident_file_bytes()
    got = take_rows(mm, np.random.default_rng(1).permutation(rows))
    assert float(got.sum()) == rows * d
    assert resident_file_bytes() - base < (1 << 20)


@pytest.mark.skipif(resident_file_bytes() is None, reason="needs /proc/self/statm")
def test_the_window_bounds_a_sequential_pass(tmp_path):
    rows, d = 8192, 1024
    path = tmp_path / "big.npy"
    np.save(path, np.ones((rows, d), dtype=np.float32))
    mm = np.load(path, mmap_mode="r")
    _streaming.release_pages(mm)
    budget = 4 << 20
    window = PageWindow(mm, budget=budget)
    base, peak = resident_file_bytes(), 0
    for start in range(0, rows, 256):  # 1 MiB per chunk
        assert float(mm[start:start + 256].sum()) == 256 * d
        peak = max(peak, resident_file_bytes() - base)
        window.check()
    assert window.releases > 0
    assert peak <= budget + 2 * _streaming.FAULT_AROUND_BYTES + (1 << 20)
