"""`nas demo`: the built-in experiment of `make demo` (digits, 50% symmetric noise, Random/ProbCover/NPC/
Weighted NPC with the CrossValidation filter), printing a table and writing the plots."""
from __future__ import annotations

import argparse
import time
from pathlib import Path

from ._warnings import grouped_warnings

NAME = "demo"
HELP = "run the built-in experiment on scikit-learn's digits (no download) and plot it"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--quick", action="store_true", help="a smoke run in well under 30 seconds")
    parser.add_argument("--repeats", type=int, help="repetitions (default 20; 1 with --quick)")
    parser.add_argument("--delta", type=float, help="ProbCover/NPC radius (default 1.25: ProbCover's purity rule)")
    parser.add_argument("--lnl", choices=("aum", "cv", "knn", "centroids", "fine", "lof", "disagreenet", "ideal"),
                        help="noise filter (default cv = CrossValidation; aum = LowBudgetAUM)")
    parser.add_argument("--samples-per-class", "--spc", nargs="+", type=float, metavar="S",
                        help="cumulative E[SPC] targets (default 1 2 3 4 5)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default="nas_out/demo", help="output directory (default nas_out/demo)")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")


def run(args) -> int:
    import dataclasses

    from nas.demo import DemoSettings, run_demo

    settings = DemoSettings.quick() if args.quick else DemoSettings()
    overrides = {"repeats": args.repeats, "delta": args.delta, "noise_filter": args.lnl,
                 "samples_per_class": tuple(args.samples_per_class) if args.samples_per_class else None}
    settings = dataclasses.replace(settings, **{k: v for k, v in overrides.items() if v is not None})
    start = time.perf_counter()
    with grouped_warnings():
        result = run_demo(args.out, settings=settings, seed=args.seed, progress=not args.quiet)
    print(f"digits, {100 * settings.noise_rate:.0f}% symmetric noise, filter {settings.noise_filter}, "
          f"delta {settings.delta:g}, linear probe ({settings.epochs} epochs), {settings.repeats} repeat(s), "
          f"{time.perf_counter() - start:.0f} s\n")
    print(result.table(["accuracy", "accuracy_diff", "predicted_noise_rate"]))
    out = Path(args.out)
    print(f"\nwrote {out / 'results.json'}, {out / 'summary.csv'}, {out / 'accuracy_difference.png'}, "
          f"{out / 'filter_metrics.png'}")
    return 0
