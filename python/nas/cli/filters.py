"""`nas filters evaluate`: how accurate each noise filter is on planted noise (seed 000 Fig. 3.1, across rates).

Draws labeled sets at E[SPC] targets under symmetric, asymmetric and instance-dependent noise at several rates,
runs every filter, and prints / writes predicted vs true noise rate, noise precision, recall, F1 and balanced
accuracy (mean ± standard error over repeats), with one Fig. 3.1-style plot per noise type.
"""
from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from . import CLIError
from ._warnings import grouped_warnings

NAME = "filters"
HELP = "evaluate the noise filters on planted noise across noise types, rates and budgets"

DEFAULT_RATES = (0.2, 0.4, 0.6, 0.8)
DEFAULT_SPC = (1, 2, 5, 10)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from nas.filters.evaluation import DEFAULT_FILTERS, EVALUATION_FILTERS, NOISE_TYPES
    from nas.filters.evaluation_data import EMBEDDINGS

    actions = parser.add_subparsers(dest="action", metavar="ACTION")
    actions.required = True
    ev = actions.add_parser("evaluate", help=HELP, description=__doc__.split("\n\n")[1].replace("\n", " "))
    data = ev.add_mutually_exclusive_group(required=True)
    data.add_argument("--embedding", choices=tuple(EMBEDDINGS),
                      help="a built-in embedding: digits (scikit-learn's), blobs-easy, blobs-hard (synthetic)")
    data.add_argument("--features", help="your embedding, N x d (.npy, .npz, .pt; PATH:KEY for an array inside)")
    ev.add_argument("--labels", help="true labels of --features, N ints")
    ev.add_argument("--n-classes", type=int, help="number of classes (default: max label + 1)")
    ev.add_argument("--filters", nargs="+", default=list(DEFAULT_FILTERS), choices=EVALUATION_FILTERS,
                    metavar="FILTER", help=f"filters to run ({', '.join(EVALUATION_FILTERS)}; cleanlab needs the "
                    "optional package cleanlab); default: all but ideal")
    ev.add_argument("--noise-types", nargs="+", default=list(NOISE_TYPES), choices=NOISE_TYPES, metavar="TYPE",
                    help="sym, asym (each class confused with its nearest class, or --transition), instance")
    ev.add_argument("--noise-rates", nargs="+", type=float, default=list(DEFAULT_RATES), metavar="Q",
                    help="noise rates in [0, 1) (default 0.2 0.4 0.6 0.8)")
    ev.add_argument("--samples-per-class", "--spc", nargs="+", type=float, default=list(DEFAULT_SPC), metavar="S",
                    help="E[SPC] targets; |L| = ceil(S*C/(1-Q)) (default 1 2 5 10)")
    ev.add_argument("--filter-param", action="append", metavar="FILTER.KEY=VALUE",
                    help="a constructor argument of one filter, e.g. aum.epochs=40 or knn.mode=reference (repeatable)")
    ev.add_argument("--transition", help="C x C transition matrix for asym noise (default: nearest class)")
    ev.add_argument("--repeats", type=int, default=3, help="noise draws per cell (default 3)")
    ev.add_argument("--seed", type=int, default=0)
    ev.add_argument("--out", default="nas_out/filters", help="output directory (default nas_out/filters)")
    ev.add_argument("--no-plot", action="store_true", help="write results only")
    ev.add_argument("--quiet", action="store_true", help="no progress bar")


def _data(args):
    from nas.arrays import load_array
    from nas.filters.evaluation_data import load_embedding

    if args.embedding:
        if args.labels:
            raise CLIError("--labels goes with --features, not with --embedding")
        X, y = load_embedding(args.embedding, seed=args.seed)
        return X, y, args.embedding
    if not args.labels:
        raise CLIError("--features needs --labels (the true labels)")
    try:
        X, y = load_array(args.features), load_array(args.labels)
    except FileNotFoundError as exc:
        raise CLIError(str(exc)) from None
    return X, np.asarray(y), str(args.features)


def filter_params(pairs, filters) -> dict:
    """--filter-param FILTER.KEY=VALUE pairs to {filter: {key: value}}, each filter built once to check its keys."""
    from nas.filters.evaluation import _build_filter

    from ._workspace_args import parse_params

    params: dict = {}
    for pair in pairs or []:
        name, dot, rest = pair.partition(".")
        if not dot or "=" not in rest:
            raise CLIError(f"--filter-param expects FILTER.KEY=VALUE (e.g. --filter-param aum.epochs=40); got '{pair}'.")
        if name not in filters:
            raise CLIError(f"--filter-param names the filter '{name}', which is not among --filters "
                           f"({', '.join(filters)}).")
        params.setdefault(name, {}).update(parse_params([rest], "--filter-param"))
    for name, kwargs in params.items():
        try:
            built = _build_filter(name, kwargs, np.zeros(1, dtype=bool), 0)
            if hasattr(built, "_check_params"):
                built._check_params()
        except (TypeError, ValueError) as exc:
            raise CLIError(f"--filter-param for the filter '{name}': {exc}") from None
    return params


def run(args) -> int:
    from nas.arrays import load_array
    from nas.filters.evaluation import evaluate_filters
    from nas.plots import plot_filter_evaluation

    params = filter_params(args.filter_param, args.filters)
    X, y, name = _data(args)
    transition = None
    if args.transition:
        transition = np.asarray(load_array(args.transition), dtype=np.float64)
    start = time.perf_counter()
    with grouped_warnings():
        evaluation = evaluate_filters(X, y, filters=args.filters, noise_types=args.noise_types,
                                      noise_rates=args.noise_rates, samples_per_class=args.samples_per_class,
                                      repeats=args.repeats, n_classes=args.n_classes, transition=transition,
                                      filter_params=params, seed=args.seed, progress=not args.quiet)
    evaluation.config["embedding"] = name
    print(f"{name}: {X.shape[0]} samples, {X.shape[1]} features, {evaluation.config['n_classes']} classes; "
          f"{args.repeats} repeat(s), {time.perf_counter() - start:.0f} s\n")
    print(evaluation.table())
    out = Path(args.out)
    written = list(evaluation.save(out).values())
    if not args.no_plot:
        written += [plot_filter_evaluation(evaluation, out / f"filter_evaluation_{t}.png", noise_type=t)
                    for t in evaluation.config["noise_types"]]
    print("\nwrote " + ", ".join(str(p) for p in written))
    return 0
