"""`nas init`: create an annotation workspace for a pool of embeddings."""
from __future__ import annotations

import argparse

from nas.cli._workspace_args import add_directory, parse_params

NAME = "init"
HELP = "create an annotation workspace (pool features, classes, strategy and filter)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_directory(parser)
    parser.add_argument("--features", required=True, metavar="POOL.npy",
                        help="(N, d) float32/float64 .npy embedding file of the unlabeled pool (hashed, not copied)")
    parser.add_argument("--classes", required=True, metavar="NAMES.txt", help="class names, one per line")
    parser.add_argument("--ids", metavar="IDS.txt", help="sample ids (e.g. image paths), one per line, one per row "
                                                         "of the features; default: the row index")
    parser.add_argument("--strategy", default="npc", help="selection strategy (default: npc)")
    parser.add_argument("--filter", default="aum", help="noise filter (default: aum)")
    parser.add_argument("--delta", type=float, help="ball radius of coverage strategies (npc, probcover, ...)")
    parser.add_argument("--batch-size", type=int, help="samples per query (default: the number of classes)")
    parser.add_argument("--seed", type=int, default=0, help="random seed of every choice (default: 0)")
    parser.add_argument("--strategy-param", action="append", metavar="KEY=VALUE", help="extra strategy argument")
    parser.add_argument("--filter-param", action="append", metavar="KEY=VALUE", help="extra filter argument")
    parser.add_argument("--nas-param", action="append", metavar="KEY=VALUE",
                        help="extra NAS argument (e.g. noise_dropout=true)")


def run(args: argparse.Namespace) -> int:
    from nas.workspace import Workspace

    strategy_params = parse_params(args.strategy_param, "--strategy-param")
    if args.delta is not None:
        strategy_params["delta"] = args.delta
    with Workspace.init(args.directory, features=args.features, classes=args.classes, ids=args.ids,
                        strategy=args.strategy, filter=args.filter, strategy_params=strategy_params,
                        filter_params=parse_params(args.filter_param, "--filter-param"),
                        nas_params=parse_params(args.nas_param, "--nas-param"), batch_size=args.batch_size,
                        seed=args.seed) as ws:
        print(f"created workspace {ws.directory}: {ws.n_samples} samples, {len(ws.classes)} classes, "
              f"strategy {args.strategy}, filter {args.filter}. Next: nas query {args.directory}")
    return 0
