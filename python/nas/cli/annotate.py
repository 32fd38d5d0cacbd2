"""`nas annotate`: record the labels of an answer file (all of it, or nothing if any row is wrong)."""
from __future__ import annotations

import argparse

from nas.cli._workspace_args import add_directory

NAME = "annotate"
HELP = "record labels from a CSV answer file (columns index or id, label[, annotator]); all or nothing"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_directory(parser)
    parser.add_argument("answers", metavar="ANSWERS.csv", help="CSV with a header: index and/or id, label "
                                                               "(class name or number), optional annotator")
    parser.add_argument("--annotator", help="who labeled the rows without an annotator column")


def run(args: argparse.Namespace) -> int:
    from nas.workspace import Workspace

    with Workspace.open(args.directory) as ws:
        r = ws.annotate(args.answers, annotator=args.annotator)
    notes = [f"{n} {what}" for n, what in ((r.already_recorded, "already recorded"),
                                           (r.unanswered, "without a label")) if n]
    print(f"recorded {r.recorded} labels" + (f" ({', '.join(notes)})" if notes else ""))
    if r.open_round is not None:
        print(f"round {r.open_round}: {r.pending} samples still unanswered")
    else:
        print(f"all queried samples are labeled. Next: nas query {args.directory}")
    return 0
