"""`nas bench`: profile selection throughput (graph build, greedy picks, diffusion, filter) per stage."""
from __future__ import annotations

import argparse
import json

NAME = "bench"
HELP = "profile selection throughput on your features or synthetic ones (per-stage table or --json)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--features", metavar="POOL.npy", help="(N, d) float .npy features to profile on")
    source.add_argument("--n", "--samples", dest="n", type=int,
                        help="synthetic pool size (default 20000; 4000 with --quick; spell it --samples under "
                             "torchrun, whose own options swallow --n)")
    parser.add_argument("--d", "--dim", dest="d", type=int, default=384,
                        help="synthetic feature dimension (default 384; --dim under torchrun)")
    parser.add_argument("--device", default="cpu", help="cpu or cuda")
    parser.add_argument("--delta", type=float, help="cosine radius of the graph (default: mean degree --degree)")
    parser.add_argument("--degree", type=float, default=32.0, help="target mean degree when choosing delta")
    parser.add_argument("--picks", type=int, help="greedy picks to time (default min(1000, N/10))")
    parser.add_argument("--filter", default="aum", help="noise filter to time ('none' to skip; default aum)")
    parser.add_argument("--strategy", default="npc", help="strategy to time ('none' to skip; default npc)")
    parser.add_argument("--labeled", type=int, help="labeled samples for the filter/strategy (default min(1000, N/10))")
    parser.add_argument("--classes", type=int, default=10, help="classes of the synthetic labels (default 10)")
    parser.add_argument("--stages", help="comma-separated stages to time (default all: radius,greedy,knn,diffusion,"
                        "kcenter,filter,strategy; from 200k rows: radius,greedy,filter,strategy, since the exact kNN "
                        "graph is dense n^2 d work)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--quick", action="store_true", help="a small synthetic pool (seconds)")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    parser.add_argument("--distributed", action="store_true",
                        help="time the sharded graph and distributed greedy on every rank of a torchrun launch "
                             "(`torchrun --nproc-per-node 2 -m nas bench --distributed`); rank 0 prints")
    parser.add_argument("--backend", choices=("gloo", "nccl"), default="gloo",
                        help="torch.distributed backend with --distributed (default gloo)")
    parser.add_argument("--tie-break", choices=("lowest", "random"), default="lowest",
                        help="tie rule of the timed picks with --distributed (default lowest)")


def run(args: argparse.Namespace) -> int:
    from nas.cli import CLIError
    from nas.profiling import profile_selection, synthetic_features

    if args.features:
        from nas.workspace.pool import open_features

        X = open_features(args.features)
    else:
        n = args.n if args.n is not None else (4000 if args.quick else 20000)
        if n < 2 or args.d < 1:
            raise CLIError(f"--n must be at least 2 and --d at least 1; got --n {n} --d {args.d}.")
        X = synthetic_features(n, args.d, seed=args.seed)
    if args.distributed:
        return _run_distributed(args, X)
    stages = _stages(args.stages, X.shape[0])
    report = profile_selection(
        X, device=args.device, delta=args.delta, target_degree=args.degree, picks=args.picks,
        noise_filter=None if args.filter == "none" else args.filter,
        strategy=None if args.strategy == "none" else args.strategy, n_labeled=args.labeled,
        n_classes=args.classes, seed=args.seed, stages=stages)
    print(json.dumps(report.to_dict(), indent=2) if args.json else report.to_text())
    return 0


ALL_STAGES = ("radius", "greedy", "knn", "diffusion", "kcenter", "filter", "strategy")
LARGE_POOL = 200_000


def _stages(spec, n: int) -> tuple:
    """The stages named by --stages; by default all, without the dense kNN / diffusion / k-center from 200k rows."""
    from nas.cli import CLIError

    if spec is None:
        return ALL_STAGES if n < LARGE_POOL else ("radius", "greedy", "filter", "strategy")
    names = tuple(part.strip() for part in spec.split(",") if part.strip())
    unknown = [name for name in names if name not in ALL_STAGES]
    if unknown or not names:
        raise CLIError(f"--stages must name stages among {', '.join(ALL_STAGES)}; got {spec!r}.")
    return names


def _run_distributed(args: argparse.Namespace, X) -> int:
    """Every rank profiles its block; rank 0 prints the report."""
    from nas.cli import CLIError
    from nas.distributed import init_distributed
    from nas.distributed.profile import profile_distributed, report_text
    from nas.profiling import choose_delta

    if args.device != "cpu":
        raise CLIError("--distributed runs the graph and the gains on each rank's CPU; use --backend nccl for "
                       "GPU messaging and leave --device at cpu.")
    comm = init_distributed(backend=args.backend)
    n = X.shape[0]
    delta = args.delta if args.delta is not None else choose_delta(X, args.degree, seed=args.seed)
    picks = args.picks if args.picks is not None else min(1000, max(1, n // 10))
    if not 1 <= picks <= n:
        raise CLIError(f"--picks must be in [1, {n}]; got {picks}.")
    report = profile_distributed(X, comm, delta=delta, picks=picks, tie_break=args.tie_break, seed=args.seed)
    if report is not None:
        print(json.dumps(report, indent=2) if args.json else report_text(report))
    import torch.distributed as dist

    dist.destroy_process_group()
    return 0
