"""Check the planner against ground truth on the built-in digits (seed 000 §6; spec §3.6 P2, P4, P5).

For every (B, t, seed), Algorithm 2 estimates n0 on the digits pool alone (KMeans pseudo-labels, no labels
read). Ground truth comes from ``nas.experiment.run``: the oracle (no noise) and the noisy annotator
(``SymmetricNoise(η)`` through ``SimulatedAnnotator``) each label a random N_o / N_n samples of the same pool,
a linear probe with the planner's epochs trains on all of them, and the clean digits test set scores it. A case
(B, t, η, seed) counts as correct when the planner's choice is the annotator with the higher real accuracy
(ties count as correct for either). With ``proxy_check`` the same search also runs on the true labels instead
of the pseudo-labels (spec P3: the KMeans proxy's error on n0). Run it with ``nas plan --validate-digits``
(``--quick`` for a smoke run).
"""
from __future__ import annotations

import itertools
import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Sequence, Tuple

import numpy as np
from tqdm.auto import tqdm

from .planner import choose_annotator
from .rule import check_costs, decide

__all__ = ["ValidationGrid", "validate_on_digits", "summary_table"]


@dataclass(frozen=True)
class ValidationGrid:
    """The grid: budgets B (c_o = 1, so B = N_o), cost ratios t = c_n, noise rates η, seeds; planner settings."""

    budgets: Tuple[float, ...] = (30, 100)
    ratios: Tuple[float, ...] = (0.2, 0.35, 0.5, 0.8)
    noise_rates: Tuple[float, ...] = (0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)
    seeds: Tuple[int, ...] = (0, 1, 2)
    repeats: int = 5
    tolerance: float = 1 / 32
    epochs: int = 200
    margin: float = 0.1
    proxy_check: bool = True

    @classmethod
    def quick(cls) -> "ValidationGrid":
        return cls(budgets=(30,), ratios=(0.2, 0.8), noise_rates=(0.1, 0.5, 0.9), seeds=(0,), repeats=2,
                   tolerance=1 / 8, epochs=50, proxy_check=False)


def _true_accuracy(X, y, X_test, y_test, rate: float, size: int, epochs: int, seed: int) -> float:
    from nas.experiment import run
    from nas.noise import SymmetricNoise

    result = run(X, y, X_test, y_test, noise=SymmetricNoise(rate), strategies=("random",), noise_filter="ideal",
                 samples_per_class=None, budget=size, n_rounds=1, n_classes=10, budget_noise_rate=0.0,
                 epochs=epochs, train_on_all_labeled=True, repeats=1, seed=seed, progress=False)
    return float(result.records[0]["accuracy"])


def validate_on_digits(grid: ValidationGrid = ValidationGrid(), *, out_dir=None, progress: bool = True) -> dict:
    """Run the grid; returns {"cases": [...], "plans": [...], "summary": {...}, "grid": {...}, "seconds": s}
    and writes validation.json there when ``out_dir`` is given."""
    from nas.demo import digits_data
    from nas.training._sgd import one_cpu_thread

    start = time.perf_counter()
    X, y, X_test, y_test = digits_data()
    plans, cases = [], []
    oracle_acc: Dict[tuple, float] = {}
    noisy_acc: Dict[tuple, float] = {}
    cells = list(itertools.product(grid.budgets, grid.ratios, grid.seeds))
    total = len(cells) * (1 + len(grid.noise_rates))
    with one_cpu_thread(), tqdm(total=total, desc="planner validation", disable=not progress) as bar:
        for budget, t, seed in cells:
            costs = check_costs(budget, 1.0, t, "validate_on_digits")
            plan = choose_annotator(X, budget=budget, cost_oracle=1.0, cost_noisy=t, noise_rate=0.0, n_classes=10,
                                    repeats=grid.repeats, tolerance=grid.tolerance, epochs=grid.epochs,
                                    random_state=seed)
            n0 = plan.n0
            n0_true = choose_annotator(X, budget=budget, cost_oracle=1.0, cost_noisy=t, noise_rate=0.0,
                                       n_classes=10, repeats=grid.repeats, tolerance=grid.tolerance,
                                       epochs=grid.epochs, labels=y, random_state=seed).n0 \
                if grid.proxy_check else None
            plans.append({"budget": budget, "t": t, "seed": seed, "n0": n0, "n0_true_labels": n0_true,
                          "n_oracle": costs.n_oracle,
                          "n_noisy": costs.n_noisy, "acc_oracle_pseudo": plan.estimate.oracle_mean,
                          "seconds": sum(plan.estimate.seconds.values())})
            bar.update(1)
            key_o = (budget, seed)
            if key_o not in oracle_acc:
                oracle_acc[key_o] = _true_accuracy(X, y, X_test, y_test, 0.0, costs.n_oracle, grid.epochs, seed)
            for eta in grid.noise_rates:
                key_n = (costs.n_noisy, eta, seed)
                if key_n not in noisy_acc:
                    noisy_acc[key_n] = _true_accuracy(X, y, X_test, y_test, eta, costs.n_noisy, grid.epochs, seed)
                acc_o, acc_n = oracle_acc[key_o], noisy_acc[key_n]
                choice = decide(eta, n0, tie_tolerance=grid.tolerance / 2)[0].replace("random", "tie")
                best = "oracle" if acc_o > acc_n else ("noisy" if acc_n > acc_o else "tie")
                cases.append({"budget": budget, "t": t, "eta": eta, "seed": seed, "n0": n0, "choice": choice,
                              "best": best, "acc_oracle": acc_o, "acc_noisy": acc_n,
                              "correct": choice == "tie" or best == "tie" or choice == best,
                              "regret": max(acc_o, acc_n) - (acc_o if choice == "oracle" else acc_n
                                                             if choice == "noisy" else (acc_o + acc_n) / 2),
                              "far": abs(eta - n0) > grid.margin})
                bar.update(1)
    result = {"grid": {k: list(v) if isinstance(v, tuple) else v for k, v in grid.__dict__.items()},
              "plans": plans, "cases": cases, "summary": _summary(cases, plans, grid),
              "seconds": time.perf_counter() - start}
    if out_dir is not None:
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        (out / "validation.json").write_text(json.dumps(result, indent=2))
    return result


def _summary(cases: List[dict], plans: List[dict], grid: ValidationGrid) -> dict:
    def rate(sel):
        return float(np.mean([c["correct"] for c in sel])) if sel else float("nan")

    rows = []
    for budget, t in itertools.product(grid.budgets, grid.ratios):
        sel = [c for c in cases if c["budget"] == budget and c["t"] == t]
        n0s = [p["n0"] for p in plans if p["budget"] == budget and p["t"] == t]
        far = [c for c in sel if c["far"]]
        gaps = [abs(p["n0"] - p["n0_true_labels"]) for p in plans
                if p["budget"] == budget and p["t"] == t and p["n0_true_labels"] is not None]
        rows.append({"budget": budget, "t": t, "n0_mean": float(np.mean(n0s)), "n0_min": float(np.min(n0s)),
                     "n0_max": float(np.max(n0s)), "agreement": rate(sel), "agreement_far": rate(far),
                     "n_cases": len(sel), "n_far": len(far),
                     "mean_regret": float(np.mean([c["regret"] for c in sel])),
                     "bound_holds": bool(all(n <= 1 - t + 0.05 for n in n0s)),
                     "proxy_gap_max": float(max(gaps)) if gaps else None})
    far = [c for c in cases if c["far"]]
    return {"rows": rows, "agreement": rate(cases), "agreement_far": rate(far), "n_cases": len(cases),
            "n_far": len(far), "mean_regret": float(np.mean([c["regret"] for c in cases]))}


def summary_table(result: dict) -> str:
    """The summary as a Markdown table (as in the README)."""
    lines = ["| B (= N_o) | t = c_n/c_o | N_n | n0 mean [min, max] | 1 - t | max abs(n0 - n0 on true labels) | "
             "agreement, all eta | agreement, abs(eta - n0) > 0.1 | mean regret (points) |",
             "|---|---|---|---|---|---|---|---|---|"]
    for r in result["summary"]["rows"]:
        n_noisy = check_costs(r["budget"], 1.0, r["t"], "summary_table").n_noisy
        lines.append(f"| {r['budget']:g} | {r['t']:g} | {n_noisy} | {r['n0_mean']:.3f} [{r['n0_min']:.3f}, "
                     f"{r['n0_max']:.3f}] | {1 - r['t']:.2f} | "
                     + ("-" if r["proxy_gap_max"] is None else f"{r['proxy_gap_max']:.3f}")
                     + f" | {100 * r['agreement']:.0f}% ({r['n_cases']}) | "
                     f"{100 * r['agreement_far']:.0f}% ({r['n_far']}) | {r['mean_regret']:.2f} |")
    s = result["summary"]
    lines.append(f"| all | | | | | | {100 * s['agreement']:.0f}% ({s['n_cases']}) | {100 * s['agreement_far']:.0f}% "
                 f"({s['n_far']}) | {s['mean_regret']:.2f} |")
    return "\n".join(lines)
