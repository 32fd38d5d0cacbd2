"""`nas correct`: active label correction (seed 003) - which already-labeled samples to send back.

- ``nas correct simulate``: the paper's experiment on embeddings with known labels: corrupt them, compare
  ALC with Random / Entropy / CorrActive (loss) / LossEnt / DALC, and report per round the noisy-hit rate of the
  queries (Table 1) and the test accuracy vs labels queried (Figs. 2-3), mean ± standard error.
- ``nas correct init | queue | answer | status | export``: rounds on a workspace whose labels came from a
  noisy source (see nas.correction.workspace).
"""
from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from . import CLIError
from ._warnings import grouped_warnings

NAME = "correct"
HELP = "active label correction: choose which noisily labeled samples to re-label (seed 003)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="action", metavar="ACTION")
    sub.required = True
    _simulate_arguments(sub.add_parser("simulate", help="compare ALC and its baselines on simulated noise"))
    from . import correct_workspace

    correct_workspace.add_subcommands(sub)


def _alc_arguments(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("method (defaults: the paper's, spec 2.2)")
    g.add_argument("--epochs", type=int, default=30, help="classifier epochs per round (30)")
    g.add_argument("--lr", type=float, default=0.01, help="SGD learning rate (0.01, x0.1 every 10 epochs)")
    g.add_argument("--n-neighbors", type=int, default=10, help="k of the kNN graph (10)")
    g.add_argument("--propagation", choices=("global", "local"), default="global",
                   help="global: the paper's loop; local: the pin's exact effect only (faster)")
    g.add_argument("--clamp", choices=("pick", "batch"), default="pick")
    g.add_argument("--candidate-size", type=float,
                   help="|C|: an int count or a fraction in (0, 1] of the pool (default: the alpha < 1/n samples)")
    g.add_argument("--pin-relabelled", action="store_true",
                   help="robust methods: give the re-labelled samples alpha = max(alpha) after every epoch "
                        "(spec 2.4(5); default: the paper's, weighted like the others)")
    g.add_argument("--anchor-percentile", type=float, default=97.0,
                   help="dalc: round 0's T from the anchor below this percentile of p(i|x) (97; 100 = argmax)")
    g.add_argument("--transition-smoothing", type=float, default=1.0,
                   help="dalc: pseudo-counts per class towards round 0's T in the later rounds' T (1)")


def alc_params(args) -> dict:
    """ActiveLabelCorrection keyword arguments from the shared method flags."""
    size = args.candidate_size
    if size is not None:
        size = int(size) if size > 1 else float(size)
    return {"epochs": args.epochs, "lr": args.lr, "n_neighbors": args.n_neighbors, "propagation": args.propagation,
            "clamp": args.clamp, "candidate_size": size, "pin_relabelled": args.pin_relabelled,
            "anchor_percentile": args.anchor_percentile, "transition_smoothing": args.transition_smoothing}


def _simulate_arguments(p: argparse.ArgumentParser) -> None:
    from nas.correction import METHODS
    from nas.correction.simulate import DEFAULT_METHODS

    data = p.add_argument_group("data (.npy, .npz or .pt; PATH:KEY picks an array inside .npz / dict .pt)")
    data.add_argument("--features", required=True, help="pool embeddings, N x d float")
    data.add_argument("--labels", required=True, help="true labels of the pool (the oracle's answers)")
    data.add_argument("--test-features", help="test embeddings (default: hold out --test-fraction of the pool)")
    data.add_argument("--test-labels", help="test labels (with --test-features)")
    data.add_argument("--test-fraction", type=float, default=1 / 3, help="held-out share without a test set")
    data.add_argument("--standardize", action="store_true", help="z-score the features (pool statistics)")
    data.add_argument("--n-classes", type=int)
    noise = p.add_argument_group("noise")
    noise.add_argument("--noise-type", default="sym", choices=("sym", "asym", "instance", "file"))
    noise.add_argument("--noise-rate", type=float, default=0.8,
                       help="fraction of labels flipped to another class (0.8; the paper's 80%% uniform noise, "
                            "which may redraw the true label, is 0.8*(C-1)/C)")
    noise.add_argument("--noisy-labels", help="observed labels for --noise-type file")
    noise.add_argument("--transition", help="C x C row-stochastic matrix for --noise-type asym")
    run = p.add_argument_group("run")
    run.add_argument("--methods", nargs="+", default=list(DEFAULT_METHODS),
                     choices=sorted(METHODS), metavar="METHOD",
                     help=f"methods to compare ({', '.join(sorted(METHODS))}; loss = CorrActive)")
    run.add_argument("--budget", type=int, required=True, help="G, labels to re-query in total")
    run.add_argument("--batch", type=int, required=True, help="Q, labels per round")
    run.add_argument("--repeats", type=int, default=3)
    run.add_argument("--seed", type=int, default=0)
    run.add_argument("--out", default="nas_out/correct", help="output directory")
    run.add_argument("--no-plot", action="store_true")
    run.add_argument("--quiet", action="store_true", help="no progress bar")
    _alc_arguments(p)


def _load(path: str, what: str):
    from nas.arrays import load_array

    try:
        return np.asarray(load_array(path))
    except FileNotFoundError as exc:
        raise CLIError(f"--{what}: {exc}") from None


def _split(args, X, y):
    if args.test_features:
        if not args.test_labels:
            raise CLIError("--test-features needs --test-labels")
        return X, y, _load(args.test_features, "test-features"), _load(args.test_labels, "test-labels"), None
    if not 0.0 < args.test_fraction < 1.0:
        raise CLIError(f"--test-fraction must be in (0, 1); got {args.test_fraction}")
    order = np.random.default_rng(args.seed).permutation(len(y))
    n_test = int(round(args.test_fraction * len(y)))
    if n_test < 1 or n_test >= len(y) - 1:
        raise CLIError(f"--test-fraction {args.test_fraction} leaves no pool or no test set of {len(y)} samples")
    test, pool = order[:n_test], order[n_test:]
    return X[pool], y[pool], X[test], y[test], pool


def _simulate(args) -> int:
    from nas.correction.simulate import correction_table, plot_correction, simulate
    from nas.experiment.results import _json_safe  # noqa: F401 (saved through ExperimentResult)

    from .simulate import _noise_model

    X = _load(args.features, "features")
    y = _load(args.labels, "labels")
    if y.ndim != 1 or y.shape[0] != X.shape[0]:
        raise CLIError(f"--labels must hold one label per row of --features ({X.shape[0]}); got shape {y.shape}")
    X, y, X_test, y_test, pool = _split(args, X, y)
    if args.standardize:
        mean, std = X.mean(axis=0), X.std(axis=0)
        std[std == 0] = 1.0
        X, X_test = (X - mean) / std, (X_test - mean) / std
    if not np.issubdtype(y.dtype, np.integer) or not np.issubdtype(np.asarray(y_test).dtype, np.integer):
        raise CLIError("--labels / --test-labels must be integer class labels")
    n_classes = args.n_classes or int(max(y.max(), np.asarray(y_test).max())) + 1
    if args.noise_type == "file" and pool is not None:
        raise CLIError("--noise-type file needs --test-features/--test-labels (the noisy labels are per pool row)")
    noise, _ = _noise_model(args, y.astype(np.int64), n_classes)
    with grouped_warnings():
        result = simulate(X, y, X_test, y_test, noise=noise, budget=args.budget, batch_size=args.batch,
                          methods=args.methods, repeats=args.repeats, seed=args.seed, n_classes=n_classes,
                          params=alc_params(args), progress=not args.quiet)
    print(correction_table(result, ("hit_rate", "accuracy", "redundancy", "transition_error")))
    auroc = [r["weight_auroc_mean"] for r in result.summary if r["round"] == 0 and "weight_auroc_mean" in r
             and r["weight_auroc_mean"] == r["weight_auroc_mean"]]
    if auroc:
        print(f"\nAUROC of -alpha for a wrong label, after round 0's training: {auroc[0]:.3f}")
    out = Path(args.out)
    written = list(result.save(out).values())
    if not args.no_plot:
        written += list(plot_correction(result, out).values())
    print("\nwrote " + ", ".join(str(p) for p in written))
    return 0


def run(args) -> int:
    if args.action == "simulate":
        return _simulate(args)
    from . import correct_workspace

    return correct_workspace.run(args)
