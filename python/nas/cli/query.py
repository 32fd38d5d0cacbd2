"""`nas query`: write the next batch to label (or the open one again) as CSV."""
from __future__ import annotations

import argparse
import os

from nas.cli._workspace_args import add_directory, add_features_override

NAME = "query"
HELP = "write the next batch of samples to label as CSV (index,id,label); an open batch is returned again"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_directory(parser)
    parser.add_argument("--batch-size", type=int, help="samples in a new batch (default: from `nas init`)")
    parser.add_argument("--out", metavar="PATH", help="CSV to write (default: DIR/queries/round-NNNN.csv)")
    add_features_override(parser)


def run(args: argparse.Namespace) -> int:
    from nas.workspace import Workspace

    with Workspace.open(args.directory, features=args.features) as ws:
        q = ws.query(args.batch_size, out=args.out)
    if int(os.environ.get("RANK", "0")) != 0:
        return 0  # under torchrun (strategy_params distributed=true) rank 0 reports for all ranks
    if q.new:
        print(f"round {q.round}: {len(q.samples)} samples to label -> {q.path}")
    else:
        print(f"round {q.round} is still open: {len(q.pending)} of {len(q.samples)} samples unanswered -> {q.path}")
    print(f"fill in the label column (class name or number), then: nas annotate {args.directory} {q.path}")
    return 0
