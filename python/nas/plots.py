"""The paper's figures from experiment results, as PNG files with the data behind them (CSV).

- :func:`plot_accuracy_difference`: accuracy minus Random's accuracy vs E[SPC], mean ± standard error band,
  one line per strategy (Fig. 4.1–4.5 style).
- :func:`plot_filter_metrics`: noise precision, noise recall and predicted noise rate of the pre-training filter vs
  E[SPC], one line per strategy, the true noise rate of the labeled set dashed (Fig. 3.1 style).
- :func:`plot_training_history`: MTaDCS per-epoch diagnostics — confidence-set size, its precision and recall,
  labels corrected right and wrong — mean ± standard error over the runs of each group.
- :func:`plot_filter_evaluation`: the same three metrics from a planted-noise filter evaluation
  (nas.filters.evaluation), one column per E[SPC], x = noise rate, one line per filter (Fig. 3.1's layout).

Figures are drawn on a bare ``matplotlib.figure.Figure`` with the Agg canvas: no pyplot state, no GUI backend.
"""
from __future__ import annotations

import csv
import math
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple, Union

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from .experiment.results import ExperimentResult

__all__ = ["plot_accuracy_difference", "plot_filter_metrics", "plot_filter_evaluation", "plot_experiment",
           "plot_training_history", "FILTER_PANELS", "HISTORY_PANELS"]

FILTER_PANELS: Tuple[Tuple[str, str], ...] = (("noise_precision", "noise precision"),
                                              ("noise_recall", "noise recall"),
                                              ("predicted_noise_rate", "predicted noise rate"))

HISTORY_PANELS: Tuple[Tuple[Tuple[str, ...], str], ...] = (
    (("size_G",), "confidence-set size |G|"),
    (("precision_G", "recall_G"), "precision / recall of G (true labels)"),
    (("n_flipped_right", "n_flipped_wrong"), "labels corrected per epoch (right / wrong)"))

ResultLike = Union[ExperimentResult, str, Path]


def _result(result: ResultLike) -> ExperimentResult:
    return result if isinstance(result, ExperimentResult) else ExperimentResult.load(result)


def _series(result: ExperimentResult, strategy: str, field: str) -> List[dict]:
    rows = sorted((r for r in result.summary if r["strategy"] == strategy), key=lambda r: r["round"])
    return [{"strategy": strategy, "round": r["round"], "budget": r["budget"], "spc": r["spc"],
             "mean": r.get(f"{field}_mean", math.nan), "sem": r.get(f"{field}_sem", math.nan)} for r in rows]


def _draw(ax, series: List[dict], label: str, *, x_field: str = "spc", **style) -> None:
    x = [p[x_field] for p in series]
    mean = [p["mean"] for p in series]
    sem = [0.0 if not math.isfinite(p["sem"]) else p["sem"] for p in series]
    style.setdefault("marker", "o")
    line, = ax.plot(x, mean, label=label, **style)
    ax.fill_between(x, [m - s for m, s in zip(mean, sem)], [m + s for m, s in zip(mean, sem)],
                    color=line.get_color(), alpha=0.2, linewidth=0)


def _save(fig: Figure, path: Path, rows: List[dict]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    FigureCanvasAgg(fig)
    fig.savefig(path, dpi=120)
    with open(path.with_suffix(".csv"), "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]) if rows else ["strategy"])
        writer.writeheader()
        writer.writerows({k: ("" if isinstance(v, float) and not math.isfinite(v) else v) for k, v in row.items()}
                         for row in rows)
    return path


def plot_accuracy_difference(result: ResultLike, path, *, baseline: str = "random",
                             strategies: Optional[Sequence[str]] = None, title: Optional[str] = None) -> Path:
    """Accuracy difference from ``baseline`` vs E[SPC] with standard-error bands; writes ``path`` (PNG) and the
    plotted numbers next to it (same name, ``.csv``). ``result`` is an ExperimentResult or a results.json path."""
    result = _result(result)
    names = [s for s in (strategies or result.strategies()) if s != baseline]
    fig = Figure(figsize=(6.0, 4.2))
    ax = fig.add_subplot()
    ax.axhline(0.0, color="black", linestyle="--", linewidth=1, label=f"{baseline} (reference)")
    rows = []
    for name in names:
        series = _series(result, name, "accuracy_diff")
        _draw(ax, series, name)
        rows += series
    ax.set_xlabel("E[SPC] (expected clean samples per class)")
    ax.set_ylabel(f"accuracy difference from {baseline} (%)")
    ax.set_title(title or _default_title(result))
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return _save(fig, Path(path), rows)


def plot_filter_metrics(result: ResultLike, path, *, strategies: Optional[Sequence[str]] = None,
                        panels: Sequence[Tuple[str, str]] = FILTER_PANELS, title: Optional[str] = None) -> Path:
    """One panel per filter metric vs E[SPC] (mean ± standard error), one line per strategy; the predicted
    noise rate panel also shows the labeled set's true noise rate (dashed). Writes PNG + CSV."""
    result = _result(result)
    names = list(strategies or result.strategies())
    available = [(field, label) for field, label in panels
                 if any(f"{field}_mean" in row for row in result.summary)]
    fig = Figure(figsize=(4.0 * max(len(available), 1), 3.8))
    rows = []
    for i, (field, label) in enumerate(available):
        ax = fig.add_subplot(1, len(available), i + 1)
        for name in names:
            series = _series(result, name, field)
            _draw(ax, series, name)
            rows += [dict(p, metric=field) for p in series]
            if field == "predicted_noise_rate":
                truth = _series(result, name, "true_noise_rate")
                ax.plot([p["spc"] for p in truth], [p["mean"] for p in truth], linestyle="--", linewidth=1,
                        color=ax.lines[-1].get_color())
                rows += [dict(p, metric="true_noise_rate") for p in truth]
        ax.set_xlabel("E[SPC]")
        ax.set_title(label + (" (dashed: true rate)" if field == "predicted_noise_rate" else ""))
        ax.grid(alpha=0.3)
        if i == 0:
            ax.legend(fontsize=7)
    fig.suptitle(title or f"noise filter: {result.config.get('noise_filter', '')}")
    fig.tight_layout()
    return _save(fig, Path(path), rows)


def plot_filter_evaluation(evaluation, path, *, noise_type: Optional[str] = None,
                           filters: Optional[Sequence[str]] = None,
                           panels: Sequence[Tuple[str, str]] = FILTER_PANELS, title: Optional[str] = None) -> Path:
    """Fig. 3.1 of seed 000 from a filter evaluation: one row per metric, one column per E[SPC], x = noise rate,
    one line per filter (mean ± standard error); the predicted-noise-rate row shows the true rate dashed.

    ``evaluation`` is a :class:`nas.filters.evaluation.FilterEvaluation` or the path of its results.json;
    ``noise_type`` picks one of its noise types (default: the first). Writes ``path`` (PNG) and its ``.csv``.
    """
    if isinstance(evaluation, (str, Path)):
        from .filters.evaluation import FilterEvaluation

        evaluation = FilterEvaluation.load(evaluation)
    noise_type = noise_type or evaluation.config["noise_types"][0]
    names = list(filters or evaluation.filters())
    spcs = evaluation.config["samples_per_class"]
    fig = Figure(figsize=(2.6 * len(spcs) + 0.6, 2.4 * len(panels) + 0.6))
    rows = []
    for i, (field, label) in enumerate(panels):
        for j, spc in enumerate(spcs):
            ax = fig.add_subplot(len(panels), len(spcs), i * len(spcs) + j + 1)
            for name in names:
                found = sorted(evaluation.rows(noise_type=noise_type, spc=spc, filter=name),
                               key=lambda r: r["noise_rate"])
                series = [{"filter": name, "noise_type": noise_type, "spc": spc, "noise_rate": r["noise_rate"],
                           "budget": r["budget"], "metric": field, "mean": r.get(f"{field}_mean", math.nan),
                           "sem": r.get(f"{field}_sem", math.nan)} for r in found]
                _draw(ax, series, name, x_field="noise_rate", markersize=3)
                rows += series
            if field == "predicted_noise_rate":
                truth = sorted(evaluation.rows(noise_type=noise_type, spc=spc, filter=names[0]),
                               key=lambda r: r["noise_rate"])
                ax.plot([r["noise_rate"] for r in truth], [r["true_noise_rate_mean"] for r in truth],
                        linestyle="--", color="black", linewidth=1, label="true rate")
            ax.set_ylim(-0.03, 1.03)
            ax.grid(alpha=0.3)
            if i == 0:
                ax.set_title(f"E[SPC] = {spc:g}")
            if i == len(panels) - 1:
                ax.set_xlabel("noise rate")
            if j == 0:
                ax.set_ylabel(label)
    fig.axes[len(spcs) * (len(panels) - 1)].legend(fontsize=6)
    fig.suptitle(title or f"noise filters on planted {noise_type} noise "
                 f"({evaluation.config.get('embedding', 'embedding')}, {evaluation.config['repeats']} repeats)")
    fig.tight_layout()
    return _save(fig, Path(path), rows)


def plot_experiment(result: ResultLike, out_dir) -> Dict[str, Path]:
    """Both figures under ``out_dir``: accuracy_difference.png/.csv and filter_metrics.png/.csv, plus
    mtadcs_history.png/.csv when the run trained with MTaDCS (its per-epoch diagnostics)."""
    result = _result(result)
    out = Path(out_dir)
    paths = {"accuracy_difference": plot_accuracy_difference(result, out / "accuracy_difference.png"),
             "filter_metrics": plot_filter_metrics(result, out / "filter_metrics.png")}
    history = getattr(result, "training_history", None)
    if history:
        last = max(row["round"] for row in history)
        rows = [row for row in history if row["round"] == last]
        paths["training_history"] = plot_training_history(
            rows, out / "mtadcs_history.png", title=f"MTaDCS diagnostics, last round ({last + 1})")
    return paths


def _history_rows(history) -> List[dict]:
    """A list of per-epoch dicts, from such a list or from one fit's ``MTaDCS.history_`` (dict of arrays)."""
    if isinstance(history, dict):
        n = len(history["epoch"])
        return [{k: (v[i].item() if hasattr(v[i], "item") else v[i]) for k, v in history.items()} for i in range(n)]
    return list(history)


def plot_training_history(history, path, *, group: str = "strategy", title: Optional[str] = None) -> Path:
    """Per-epoch MTaDCS diagnostics (see ``HISTORY_PANELS``): one panel per quantity, one line per value of
    ``group`` (all rows one line when the rows lack it), mean ± standard error over the rows of the same group
    and epoch (e.g. repeats). ``history``: ``MTaDCS.history_`` or a list of per-epoch dicts (the
    ``training_history`` of an experiment result). Writes ``path`` (PNG) and the plotted numbers (``.csv``)."""
    from .experiment.results import standard_error

    rows = _history_rows(history)
    if not rows:
        raise ValueError("plot_training_history needs at least one epoch of history.")
    groups: Dict[str, Dict[int, List[dict]]] = {}
    for row in rows:
        groups.setdefault(str(row.get(group, "MTaDCS")), {}).setdefault(int(row["epoch"]), []).append(row)
    fig = Figure(figsize=(4.2 * len(HISTORY_PANELS), 3.8))
    out_rows = []
    for i, (fields, label) in enumerate(HISTORY_PANELS):
        ax = fig.add_subplot(1, len(HISTORY_PANELS), i + 1)
        for name, epochs in groups.items():
            for j, field_name in enumerate(fields):
                series = []
                for epoch in sorted(epochs):
                    values = [float(r.get(field_name, math.nan)) for r in epochs[epoch]]
                    finite = [v for v in values if math.isfinite(v)]
                    mean = sum(finite) / len(finite) if finite else math.nan
                    series.append({group: name, "metric": field_name, "epoch": epoch, "spc": epoch,
                                   "mean": mean, "sem": standard_error(values)})
                _draw(ax, series, f"{name}: {field_name}" if len(fields) > 1 or len(groups) > 1 else field_name,
                      linestyle="-" if j == 0 else "--", marker=None)
                out_rows += [{k: v for k, v in p.items() if k != "spc"} for p in series]
        ax.set_xlabel("epoch")
        ax.set_title(label, fontsize=9)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    fig.suptitle(title or "MTaDCS confidence set and label correction per epoch")
    fig.tight_layout()
    return _save(fig, Path(path), out_rows)


def _default_title(result: ExperimentResult) -> str:
    config = result.config
    noise = config.get("noise", {})
    rate = noise.get("rate")
    rate_text = f" {100 * rate:.0f}%" if isinstance(rate, (int, float)) else ""
    return (f"{noise.get('model', 'noise')}{rate_text}, filter {config.get('noise_filter', '?')}, "
            f"{config.get('framework', '')} ({config.get('repeats', '?')} repeats)")
