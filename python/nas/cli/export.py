"""`nas export`: every labeled sample with its label and clean flag/score; optionally a linear probe."""
from __future__ import annotations

import argparse

from nas.cli._workspace_args import add_directory, add_features_override
from nas.cli.simulate import add_mtadcs_arguments, mtadcs_params

NAME = "export"
HELP = "write the labeled set with clean flags and scores as CSV; optionally train a linear probe"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_directory(parser)
    parser.add_argument("--out", required=True, metavar="LABELED.csv", help="CSV to write")
    parser.add_argument("--model", metavar="PROBE.pt", help="also train a linear probe on the predicted-clean "
                                                            "samples and save it here (torch.save)")
    parser.add_argument("--epochs", type=int, help="training epochs of the --model (probe or MTaDCS; default: the library's)")
    parser.add_argument("--device", default="cpu", help="device for training the probe (cpu or cuda)")
    add_mtadcs_arguments(parser)
    add_features_override(parser)


def run(args: argparse.Namespace) -> int:
    from nas.workspace import Workspace

    params = mtadcs_params(args)
    with Workspace.open(args.directory, features=args.features) as ws:
        r = ws.export(args.out, model=args.model, epochs=args.epochs, device=args.device, training=args.training,
                      mtadcs_params=params)
    rate = "" if r.predicted_noise_rate is None else f", predicted noise rate {r.predicted_noise_rate:.3f}"
    print(f"wrote {r.n_labeled} labeled samples ({r.n_clean} predicted clean{rate}) -> {r.path}")
    if r.model_path is not None:
        what = "the MTaDCS model" if args.training == "mtadcs" else "the linear probe"
        print(f"wrote {what} -> {r.model_path}")
    return 0
