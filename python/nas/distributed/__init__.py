"""Selection beyond one machine: a row-sharded radius graph and the coverage greedy on torch.distributed.

Start one process per GPU (NCCL) or per CPU share (gloo) with ``torchrun``; every rank runs the same code
on its block of rows and gets the same picks as one process would. See the README section "Selection on
several processes and hosts" and ``nas bench --distributed``.
"""
from ._comm import DEFAULT_TIMEOUT_S, Comm, DistributedError, init_distributed, shard_range
from .coverage import DistributedCoverage
from .graph import ShardedGraph, sharded_radius_graph

__all__ = ["Comm", "DistributedError", "init_distributed", "shard_range", "DEFAULT_TIMEOUT_S", "ShardedGraph",
           "sharded_radius_graph", "DistributedCoverage"]
