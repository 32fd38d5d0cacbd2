import torch
from threadpoolctl import threadpool_info

from nas.filters._threads import single_threaded


def test_single_threaded_limits_every_pool_and_restores_them():
    before_torch = torch.get_num_threads()
    before = {pool["filepath"]: pool["num_threads"] for pool in threadpool_info()}
    for _ in range(2):  # the second call reuses the pools found by the first
        with single_threaded():
            assert torch.get_num_threads() == 1
            assert all(pool["num_threads"] == 1 for pool in threadpool_info() if pool["filepath"] in before)
        assert torch.get_num_threads() == before_torch
        assert {pool["filepath"]: pool["num_threads"] for pool in threadpool_info()} == before
