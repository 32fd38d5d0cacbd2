"""`nas status`: rounds, labels, predicted noise rate, coverage and time per stage of a workspace."""
from __future__ import annotations

import argparse
import json

from nas.cli._workspace_args import add_directory

NAME = "status"
HELP = "show rounds, labels, predicted noise rate, coverage and time per stage"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_directory(parser)
    parser.add_argument("--json", action="store_true", help="print the status as JSON")


def run(args: argparse.Namespace) -> int:
    from nas.workspace import Workspace

    with Workspace.open(args.directory) as ws:
        status = ws.status()
    print(json.dumps(status.to_dict(), indent=2) if args.json else status.to_text())
    return 0
