"""The planner's figure: accuracy vs injected noise rate on the pseudo-task, with n0, η and 1 − t marked.

Drawn like ``nas.plots`` (a bare Figure on the Agg canvas, PNG plus the plotted numbers as CSV).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

from ..plots import _save
from .planner import Plan

__all__ = ["plot_plan"]


def _sem(values: np.ndarray) -> float:
    return float(np.std(values, ddof=1) / np.sqrt(values.size)) if values.size > 1 else 0.0


def plot_plan(plan: Plan, path) -> Path:
    """Mean ± standard error of the noisy annotator's accuracy at every injected rate measured (search steps
    and curve points), the oracle's accuracy as a band, n0 (solid), η (dashed) and the bound 1 − t (dotted).
    Writes ``path`` (PNG) and the points next to it (.csv)."""
    est = plan.estimate
    points = {s.noise_rate: ("search", s.accuracies) for s in est.trace}
    points.update({r: ("search" if r in points else "curve", a) for r, a in est.curve.items()})
    rows = [{"series": "noisy", "kind": kind, "noise_rate": rate, "mean": float(np.mean(acc)), "sem": _sem(acc),
             "repeats": int(acc.size)} for rate, (kind, acc) in sorted(points.items())]
    fig = Figure(figsize=(6.0, 4.2))
    ax = fig.add_subplot()
    if est.acc_oracle.size:
        mean, sem = float(np.mean(est.acc_oracle)), _sem(est.acc_oracle)
        ax.axhline(mean, color="black", linewidth=1.2, label=f"oracle, N_o = {est.n_oracle}")
        ax.axhspan(mean - sem, mean + sem, color="black", alpha=0.12, linewidth=0)
        rows.append({"series": "oracle", "kind": "oracle", "noise_rate": 0.0, "mean": mean, "sem": sem,
                     "repeats": int(est.acc_oracle.size)})
    for kind, marker in (("curve", "o"), ("search", "s")):
        sel = [r for r in rows if r["series"] == "noisy" and r["kind"] == kind]
        if sel:
            ax.errorbar([r["noise_rate"] for r in sel], [r["mean"] for r in sel], yerr=[r["sem"] for r in sel],
                        fmt=marker, capsize=3, label=f"noisy, N_n = {est.n_noisy} ({kind} points)")
    ax.axvline(plan.n0, color="tab:red", linewidth=1.5, label=f"n0 = {plan.n0:.3f}")
    ax.axvline(plan.noise_rate, color="tab:green", linestyle="--", linewidth=1.2, label=f"eta = {plan.noise_rate:.3f}")
    bound = 1.0 - est.t
    if 0.0 <= bound <= 1.0:
        ax.axvline(bound, color="gray", linestyle=":", linewidth=1.2, label=f"1 - t = {bound:.3f}")
    ax.set_xlim(-0.02, 1.02)
    ax.set_xlabel("injected noise rate of the noisy annotator")
    ax.set_ylabel("pseudo-label test accuracy (%)")
    ax.set_title(f"B = {est.costs.budget:g}, t = {est.t:.3g}: buy from the {plan.choice}")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    fig.tight_layout()
    return _save(fig, Path(path), rows)
