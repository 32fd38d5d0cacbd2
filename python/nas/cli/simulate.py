"""`nas simulate`: compare query strategies under a simulated noisy annotator on embeddings you have.

The flags follow the research code's `train_al.py` (`--al`, `--lnl`, `--samples-per-class`, `--noise-type`,
`--noise-rate`, `--initial-delta`, `--delta-policy`, `--noise-dropout`, `--train-on-all-labeled`, ...).
"""
from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from . import CLIError
from ._warnings import grouped_warnings

NAME = "simulate"
HELP = "simulate active learning with a noisy annotator and compare strategies (the paper's experiments)"

NOISE_TYPES = ("sym", "asym", "instance", "file")
FILTER_NAMES = ("ideal", "cv", "aum", "knn", "centroids", "disagreenet", "fine", "lof")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from nas.experiment import STRATEGY_NAMES

    data = parser.add_argument_group("data (.npy, .npz or .pt; PATH:KEY picks an array inside .npz / dict .pt)")
    data.add_argument("--features", required=True, help="pool embeddings, N x d float")
    data.add_argument("--labels", required=True, help="true labels of the pool, N ints")
    data.add_argument("--test-features", help="test embeddings (required with --linear)")
    data.add_argument("--test-labels", required=True, help="clean test labels")
    data.add_argument("--n-classes", type=int, help="number of classes (default: max label + 1)")

    al = parser.add_argument_group("active learning")
    al.add_argument("--al", nargs="+", default=["random", "probcover", "npc"], choices=STRATEGY_NAMES,
                    metavar="STRATEGY", help=f"strategies to compare ({', '.join(STRATEGY_NAMES)}); "
                    "random is always added as the baseline")
    al.add_argument("--lnl", default="aum", choices=FILTER_NAMES,
                    help="noise filter, before training and inside NAS (default: aum = LowBudgetAUM)")
    budget = al.add_mutually_exclusive_group()
    budget.add_argument("--samples-per-class", "--spc", nargs="+", type=float, metavar="S",
                        help="cumulative E[SPC] targets; budget = ceil(S*C/(1-noise rate)) (default: 1 2 3 4 5)")
    budget.add_argument("--budget", type=int, help="fixed budget per round (with --rounds)")
    al.add_argument("--rounds", "--num-episodes", type=int, default=5, help="rounds with --budget (default 5)")
    al.add_argument("--initial-delta", type=float,
                    help="ProbCover/NPC ball radius delta (and MaxHerding's kernel length-scale)")
    al.add_argument("--delta-policy", choices=("constant", "max_degree", "max_deg_after_lt_2_take_min"),
                    help="delta update of the ProbCover family: constant (default) or max_degree (the paper's "
                         "policy; the reference's max_deg_after_lt_2_take_min is an alias)")
    al.add_argument("--metric", choices=("cosine", "euclidean"),
                    help="distance of ProbCover/NPC (default cosine) and Coreset (default euclidean)")
    al.add_argument("--noise-dropout", action="store_true", help="noise dropout inside NAS")
    al.add_argument("--share-size", type=int, help="NAS share size b (default: C, or 1 with --lnl ideal)")
    al.add_argument("--nas-after-spc", type=float, metavar="S",
                    help="NAS strategies run their plain strategy until the budget of E[SPC] = S is labeled, "
                         "NAS after (the paper's Fig. 4.5b uses 4)")
    al.add_argument("--filter-noise-rate", type=float, metavar="Q",
                    help="known-noise-rate prior: the filter marks the Q fraction of lowest-scoring labeled "
                         "samples noisy (appendix E)")

    noise = parser.add_argument_group("noise")
    noise.add_argument("--noise-type", default="sym", choices=NOISE_TYPES)
    noise.add_argument("--noise-rate", type=float,
                       help="noise rate (sym/asym/instance); with --noise-type file: the rate used for the "
                            "budget arithmetic (default: the file's realised rate)")
    noise.add_argument("--noisy-labels", help="annotator labels for --noise-type file (e.g. CIFAR-100N)")
    noise.add_argument("--transition", help="C x C row-stochastic transition matrix for --noise-type asym")

    train = parser.add_argument_group("training")
    framework = train.add_mutually_exclusive_group()
    framework.add_argument("--linear", action="store_true", help="linear probe on the features (default)")
    framework.add_argument("--images", metavar="PATH",
                           help="train a ResNet-18 on these N x H x W x C uint8 images (framework 1)")
    train.add_argument("--test-images", help="test images for --images")
    train.add_argument("--train-on-all-labeled", action="store_true",
                       help="train on all labeled samples, not only the predicted-clean ones")
    train.add_argument("--epochs", type=int, help="training epochs (default: 500 linear, 200 ResNet-18)")
    train.add_argument("--lr", type=float, help="base learning rate (default 0.025; the paper's ImageNet-50: 0.01)")
    train.add_argument("--batch-size", type=int, help="training batch size (default 100; ImageNet-50: 50)")
    train.add_argument("--device", default="cpu", help="cpu or cuda (selection kernels and training)")
    add_mtadcs_arguments(train)

    run = parser.add_argument_group("run")
    run.add_argument("--repeats", type=int, default=1, help="repetitions with seeds seed, seed+1, ...")
    run.add_argument("--seed", type=int, default=1)
    run.add_argument("--out", default="nas_out/simulate", help="output directory (results, CSV, plots)")
    run.add_argument("--no-plot", action="store_true", help="write results only")
    run.add_argument("--quiet", action="store_true", help="no progress bar")


def add_mtadcs_arguments(group) -> None:
    """--training and the MTaDCS options (shared with `nas export`)."""
    group.add_argument("--training", default="probe", choices=("probe", "mtadcs"),
                       help="probe: the classifier on the predicted-clean samples (default); mtadcs: MTaDCS "
                            "(seed 002) on all labeled samples, starting from the filter's clean set")
    group.add_argument("--mtadcs-epochs", type=int, metavar="N", help="MTaDCS epochs, warm-up included (default 60)")
    group.add_argument("--mtadcs-warmup", type=int, metavar="N", help="MTaDCS warm-up epochs (default 5)")
    group.add_argument("--mtadcs-lof-threshold", type=float, metavar="T",
                       help="a candidate joins the confidence set when its LOF <= T (default 1.5)")
    group.add_argument("--mtadcs-gamma", type=float, metavar="G", help="label-correction threshold (default 0.8)")
    group.add_argument("--mtadcs-mixup-alpha", type=float, metavar="A", help="mixup Beta(A, A); 0 = off (default 1)")
    group.add_argument("--mtadcs-queue-size", type=int, metavar="L", help="contrastive memory bank (default 10000)")
    group.add_argument("--mtadcs-no-removal", action="store_true", help="MTaDCS without sample removal")
    group.add_argument("--mtadcs-no-correction", action="store_true", help="MTaDCS without label correction")
    group.add_argument("--mtadcs-no-contrastive", action="store_true", help="MTaDCS without the contrastive term")


def mtadcs_params(args) -> dict:
    """MTaDCS keyword arguments from the --mtadcs-* flags (only those given)."""
    named = {"epochs": args.mtadcs_epochs, "warmup_epochs": args.mtadcs_warmup,
             "lof_threshold": args.mtadcs_lof_threshold, "gamma": args.mtadcs_gamma,
             "mixup_alpha": args.mtadcs_mixup_alpha, "queue_size": args.mtadcs_queue_size}
    params = {k: v for k, v in named.items() if v is not None}
    if args.mtadcs_no_removal:
        params["sample_removal"] = False
    if args.mtadcs_no_correction:
        params["label_correction"] = False
    if args.mtadcs_no_contrastive:
        params["contrastive_weight"] = 0.0
    if params and args.training != "mtadcs":
        raise CLIError("the --mtadcs-* options need --training mtadcs")
    return params


def _load(path: str, what: str):
    from nas.arrays import load_array

    try:
        return load_array(path)
    except FileNotFoundError as exc:
        raise CLIError(f"--{what}: {exc}") from None


def _noise_model(args, true_labels: np.ndarray, n_classes: int):
    """The noise model named by --noise-type, and the noise rate of the budget arithmetic."""
    from nas import noise as noise_models

    if args.noise_type == "file":
        if not args.noisy_labels:
            raise CLIError("--noise-type file needs --noisy-labels FILE")
        noisy = np.asarray(_load(args.noisy_labels, "noisy-labels")).astype(np.int64)
        if noisy.shape != true_labels.shape:
            raise CLIError(f"--noisy-labels has {noisy.shape[0]} labels; the pool has {true_labels.shape[0]}")
        rate = float(np.mean(noisy != true_labels)) if args.noise_rate is None else args.noise_rate
        return noise_models.FixedLabels(noisy), rate
    if args.noise_rate is None:
        raise CLIError(f"--noise-type {args.noise_type} needs --noise-rate")
    if args.noise_type == "sym":
        return noise_models.SymmetricNoise(args.noise_rate), args.noise_rate
    if args.noise_type == "instance":
        return noise_models.InstanceDependentNoise(args.noise_rate), args.noise_rate
    if not args.transition:
        raise CLIError("--noise-type asym needs --transition FILE (a C x C row-stochastic matrix)")
    transition = np.asarray(_load(args.transition, "transition"), dtype=np.float64)
    return noise_models.AsymmetricNoise(args.noise_rate, transition), args.noise_rate


def strategy_params(args, strategies) -> dict:
    """make_strategy keyword arguments per strategy from --initial-delta / --delta-policy."""
    from nas.experiment.selection import strategy_options

    return strategy_options(strategies, delta=args.initial_delta, delta_policy=args.delta_policy,
                            metric=args.metric, device=args.device)


def _training_inputs(args) -> tuple:
    """(framework, test features, train images, test images) for --linear or --images."""
    if args.images:
        if not args.test_images:
            raise CLIError("--images needs --test-images")
        return "resnet18", None, _load(args.images, "images"), _load(args.test_images, "test-images")
    if not args.test_features:
        raise CLIError("the linear probe needs --test-features (or train a ResNet-18 with --images)")
    return "linear", _load(args.test_features, "test-features"), None, None


def _filter_params(args) -> dict:
    return {} if args.filter_noise_rate is None else {"noise_rate": args.filter_noise_rate}


def _nas_params(args, n_classes: int, budget_rate: float) -> dict:
    """NAS options: --noise-dropout, --share-size, --nas-after-spc (as a number of labeled samples)."""
    from nas.experiment import spc_budget

    params = {}
    if args.noise_dropout:
        params["noise_dropout"] = True
    if args.share_size is not None:
        params["batch_size"] = args.share_size
    if args.nas_after_spc is not None:
        params["start_after"] = spc_budget(args.nas_after_spc, n_classes, budget_rate)
    return params


def run(args) -> int:
    from nas.experiment import run as run_experiment
    from nas.plots import plot_experiment

    features = _load(args.features, "features")
    labels = np.asarray(_load(args.labels, "labels"))
    test_labels = np.asarray(_load(args.test_labels, "test-labels"))
    framework, test_features, train_images, test_images = _training_inputs(args)
    n_classes = args.n_classes or int(max(labels.max(), test_labels.max())) + 1
    noise, budget_rate = _noise_model(args, labels.astype(np.int64), n_classes)
    with grouped_warnings():
        result = run_experiment(
            features, labels, test_features, test_labels, noise=noise, strategies=args.al, noise_filter=args.lnl,
            samples_per_class=None if args.budget else (args.samples_per_class or [1, 2, 3, 4, 5]),
            budget=args.budget, n_rounds=args.rounds if args.budget else None, n_classes=n_classes,
            budget_noise_rate=budget_rate, strategy_params=strategy_params(args, args.al),
            filter_params=_filter_params(args), nas_params=_nas_params(args, n_classes, budget_rate),
            framework=framework, train_images=train_images, test_images=test_images, epochs=args.epochs,
            training_params={k: v for k, v in (("lr", args.lr), ("batch_size", args.batch_size)) if v is not None},
            train_on_all_labeled=args.train_on_all_labeled, training=args.training,
            mtadcs_params=mtadcs_params(args), repeats=args.repeats, seed=args.seed,
            device=args.device, out_dir=args.out, progress=not args.quiet)
    print(result.table())
    out = Path(args.out)
    written = [out / "results.json", out / "records.csv", out / "summary.csv"]
    if not args.no_plot:
        written += list(plot_experiment(result, out).values())
    print("\nwrote " + ", ".join(str(p) for p in written))
    return 0
