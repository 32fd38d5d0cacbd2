"""`nas plan`: buy labels from the accurate oracle or the cheaper noisy annotator? (seed 000 §6, Algorithm 2)

Three modes: a pool file (``--features``), a workspace's next round (``--workspace``: its unlabeled pool, its
labeled set and its predicted noise rate as the pilot estimate), and the ground-truth check on the built-in digits
(``--validate-digits``).
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

from . import CLIError
from ._warnings import grouped_warnings
from ._workspace_args import parse_params

NAME = "plan"
HELP = "choose between an accurate oracle and a cheaper noisy annotator for a budget (Algorithm 2)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from nas.planning import SEARCH_STRATEGIES
    from nas.planning.equilibrium import DEFAULT_EPOCHS

    source = parser.add_argument_group("pool (one of)")
    source.add_argument("--features", metavar="POOL", help="unlabeled pool embeddings, N x d (.npy/.npz/.pt)")
    source.add_argument("--workspace", metavar="DIR", help="plan the next round of this workspace")
    source.add_argument("--validate-digits", action="store_true",
                        help="check the planner against simulated ground truth on the built-in digits "
                             "(README table); --quick for a smoke run")
    source.add_argument("--n-classes", type=int, help="number of classes K (pseudo-label clusters); required with "
                        "--features")

    costs = parser.add_argument_group("budget and costs")
    costs.add_argument("--budget", type=float, help="budget B in currency units (workspace: this round's budget)")
    costs.add_argument("--cost-oracle", type=float, help="cost c_o of one label from the accurate oracle")
    costs.add_argument("--cost-noisy", type=float, help="cost c_n of one label from the noisy annotator")
    costs.add_argument("--spent", type=float, help="workspace: currency spent so far (default: its labels x "
                       "c_n, i.e. bought from the noisy annotator); round r plans with B = spent + --budget")
    eta = costs.add_mutually_exclusive_group()
    eta.add_argument("--noise-rate", type=float, metavar="ETA", help="noise rate of the noisy annotator (a prior)")
    eta.add_argument("--pilot-labels", metavar="FILE",
                     help="labels the noisy annotator gave a pilot batch (CSV index,label or an (n, 2) .npy); "
                          "eta is estimated with --pilot-filter and the pilot's cost comes off the budget")
    costs.add_argument("--pilot-filter", default="cv", choices=("cv", "aum", "lof", "knn", "centroids"),
                       help="noise filter estimating eta from the pilot (default cv = CrossValidation)")

    search = parser.add_argument_group("Algorithm 2")
    search.add_argument("--repeats", type=int, default=5, help="probes per arm and search step, R (default 5)")
    search.add_argument("--tolerance", type=float, default=1 / 32,
                        help="stop when the n0 bracket is this narrow (default 1/32: 5 steps)")
    search.add_argument("--epochs", type=int, default=DEFAULT_EPOCHS,
                        help=f"linear-probe epochs per probe (default {DEFAULT_EPOCHS})")
    search.add_argument("--strategy", default="random", choices=SEARCH_STRATEGIES,
                        help="how the simulated annotators select their samples (default random)")
    search.add_argument("--strategy-param", action="append", metavar="KEY=VALUE",
                        help="parameter of --strategy (repeatable), e.g. delta=1.25 metric=euclidean")
    search.add_argument("--uncoupled", action="store_true",
                        help="fresh noise draws per search step (the thesis) instead of nested ones")
    search.add_argument("--curve-points", type=int, default=6,
                        help="extra injected rates 0..1 measured for the plot, R probes each (0: search only)")
    search.add_argument("--max-samples", type=int, default=20000, help="pool rows Algorithm 2 works on")
    search.add_argument("--kmeans-samples", type=int, default=10000, help="rows KMeans is fitted on")
    search.add_argument("--device", default="cpu")
    search.add_argument("--seed", type=int, default=0)

    out = parser.add_argument_group("output")
    out.add_argument("--out", help="output directory (default nas_out/plan, or DIR/plans/round-NNNN)")
    out.add_argument("--no-plot", action="store_true")
    out.add_argument("--quick", action="store_true", help="with --validate-digits: a small grid (seconds)")
    out.add_argument("--quiet", action="store_true", help="no progress bar")


def _require(args, *names) -> None:
    missing = [f"--{n.replace('_', '-')}" for n in names if getattr(args, n) is None]
    if missing:
        raise CLIError(f"missing {', '.join(missing)}")


def _validate(args) -> int:
    from nas.planning.validation import ValidationGrid, summary_table, validate_on_digits

    grid = ValidationGrid.quick() if args.quick else ValidationGrid()
    out = Path(args.out or "nas_out/plan-validation")
    with grouped_warnings():
        result = validate_on_digits(grid, out_dir=out, progress=not args.quiet)
    print(summary_table(result))
    print(f"\n{result['summary']['n_cases']} cases in {result['seconds']:.0f} s; wrote {out / 'validation.json'}")
    return 0


def _pool(args):
    """(X, n_classes, exclude, default out dir, workspace facts or None)."""
    from nas.arrays import load_array

    if args.workspace:
        from nas.workspace import Workspace

        with Workspace.open(args.workspace, features=args.features) as ws:
            status = ws.status()
            X = ws.features()
            labeled, _ = ws.labeled()
        next_round = len(status.rounds) + (0 if status.open_round else 1)
        facts = {"workspace": str(args.workspace), "round": next_round, "n_labels": status.n_labels,
                 "predicted_noise_rate": status.predicted_noise_rate,
                 "noise_rate_labeled": status.noise_rate_labeled}
        return X, len(status.classes), labeled, Path(args.workspace) / "plans" / f"round-{next_round:04d}", facts
    if args.features is None:
        raise CLIError("give --features POOL (with --n-classes), --workspace DIR or --validate-digits")
    _require(args, "n_classes")
    try:
        X = load_array(args.features)
    except FileNotFoundError as exc:
        raise CLIError(f"--features: {exc}") from None
    return X, args.n_classes, None, Path("nas_out/plan"), None


def _noise_rate(args, X, n_classes, costs_args, facts):
    """(eta, source, pilot info, budget after the pilot)."""
    from nas.planning import estimate_noise_rate, read_pilot_labels

    budget = costs_args["budget"]
    if args.pilot_labels:
        try:
            indices, labels = read_pilot_labels(args.pilot_labels)
        except FileNotFoundError as exc:
            raise CLIError(f"--pilot-labels: {exc}") from None
        pilot = estimate_noise_rate(X, indices, labels, n_classes=n_classes, noise_filter=args.pilot_filter,
                                    random_state=args.seed)
        cost = pilot.n_labels * costs_args["cost_noisy"]
        if cost >= budget:
            raise CLIError(f"the pilot ({pilot.n_labels} labels x c_n = {cost:g}) costs the whole budget "
                           f"({budget:g}); nothing is left to plan")
        info = {"n_labels": pilot.n_labels, "n_noisy": pilot.n_noisy, "filter": pilot.filter, "cost": cost,
                "budget_before": budget}
        return pilot.noise_rate, "pilot", info, budget - cost
    if args.noise_rate is not None:
        return args.noise_rate, "given", None, budget
    if facts is not None and facts["predicted_noise_rate"] is not None:
        return facts["predicted_noise_rate"], "workspace", None, budget
    if facts is not None:
        raise CLIError("the workspace has no filter result yet: pass --noise-rate ETA or --pilot-labels FILE")
    raise CLIError("give the noisy annotator's noise rate: --noise-rate ETA or --pilot-labels FILE")


def run(args) -> int:
    if args.validate_digits:
        return _validate(args)
    _require(args, "budget", "cost_oracle", "cost_noisy")
    if args.noise_rate is not None and not 0.0 <= args.noise_rate <= 1.0:
        raise CLIError(f"--noise-rate must be in [0, 1]; got {args.noise_rate:g}")
    if args.curve_points < 0:
        raise CLIError(f"--curve-points must be >= 0; got {args.curve_points}")
    from nas.planning import check_costs, choose_annotator, explain

    check_costs(args.budget, args.cost_oracle, args.cost_noisy, "nas plan")
    X, n_classes, exclude, default_out, facts = _pool(args)
    costs = {"budget": args.budget, "cost_oracle": args.cost_oracle, "cost_noisy": args.cost_noisy}
    eta, source, pilot, budget = _noise_rate(args, X, n_classes, costs, facts)
    if facts is not None:
        spent = facts["n_labels"] * args.cost_noisy if args.spent is None else args.spent
        if spent < 0:
            raise CLIError(f"--spent must be >= 0; got {spent:g}")
        facts["spent"] = spent
        budget = spent + budget
    n = args.curve_points
    curve = [i / (n - 1) for i in range(n)] if n > 1 else ([0.5] if n == 1 else [])
    with grouped_warnings():
        plan = choose_annotator(X, budget=budget, cost_oracle=args.cost_oracle, cost_noisy=args.cost_noisy,
                                noise_rate=eta, n_classes=n_classes, noise_rate_source=source, pilot=pilot,
                                repeats=args.repeats, tolerance=args.tolerance, epochs=args.epochs,
                                strategy=args.strategy, strategy_params=parse_params(args.strategy_param,
                                                                                     "--strategy-param"),
                                coupled=not args.uncoupled, curve_rates=curve,
                                max_samples=args.max_samples, kmeans_samples=args.kmeans_samples,
                                exclude=exclude, device=args.device, random_state=args.seed,
                                progress=not args.quiet)
    out = Path(args.out) if args.out else default_out
    out.mkdir(parents=True, exist_ok=True)
    record = plan.to_dict()
    if facts is not None:
        record["workspace"] = facts
    (out / "plan.json").write_text(json.dumps(record, indent=2))
    written = [out / "plan.json"]
    if not args.no_plot:
        from nas.planning.plot import plot_plan

        written.append(plot_plan(plan, out / "plan.png"))
    print(explain(plan))
    if pilot:
        print(f"  pilot: {pilot['n_labels']} labels, {pilot['n_noisy']} predicted noisy by {pilot['filter']}; "
              f"its cost {pilot['cost']:g} came off the budget ({pilot['budget_before']:g} -> {budget:g})")
    if facts is not None:
        print(f"  workspace round {facts['round']}: {facts['n_labels']} labels so far, spent {facts['spent']:g}; "
              f"planned with the cumulative budget B = {budget:g}; give this whole round to the {plan.choice}")
    est = plan.estimate
    if est.reason == "search":
        print(f"  cost: {est.n_probes} probe fits ({len(est.trace)} search steps + {len(est.curve)} plot points, "
              f"x {est.settings['repeats']}), KMeans on {est.n_kmeans_rows} of {est.n_rows} rows, "
              f"{sum(est.seconds.values()):.1f} s")
    print("wrote " + ", ".join(str(p) for p in written))
    return 0
