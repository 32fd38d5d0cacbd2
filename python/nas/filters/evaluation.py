"""How accurate are the noise filters? Planted noise over a grid of noise types, rates and budgets (Fig. 3.1).

For one embedding with true labels, :func:`evaluate_filters` repeats, for every noise type and rate: the
simulated annotator corrupts the labels of the whole pool once (nas.noise); one random order of the pool
gives nested labeled sets, the first ceil(E[SPC]·C/(1 − rate)) samples for each E[SPC] (the paper's
budget, nas.experiment.budgets); every filter partitions each labeled set, seeing max(|L|, 512) unlabeled
samples as ``pool`` (as the experiment runner does); noise_metrics compares the partition with the truth.
The result holds one record per (repeat, noise type, rate, E[SPC], filter) and their mean ± standard error.

Filters: the names of nas.filters.FILTERS (``ideal`` = the oracle, a sanity line) and ``cleanlab``
(:class:`~nas.filters.confident_learning.CleanlabBaseline`, needs the optional package cleanlab).
Cost: one filter call per cell; with the default grid a few minutes on two CPU cores.
"""
from __future__ import annotations

import json
import logging
import time
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional, Sequence

import numpy as np
from tqdm.auto import tqdm

from nas_ext._validation import check_choice, check_features, check_float, check_int, param_error

from ..experiment.budgets import spc_budget
from ..experiment.results import _json_safe, _write_csv, standard_error
from ..metrics import noise_metrics
from ..noise import AsymmetricNoise, InstanceDependentNoise, SimulatedAnnotator, SymmetricNoise
from . import FILTERS, make_filter
from .evaluation_data import nearest_class_transition

__all__ = ["FilterEvaluation", "evaluate_filters", "EVALUATION_FILTERS", "DEFAULT_FILTERS", "NOISE_TYPES",
           "METRICS"]

logger = logging.getLogger(__name__)

NOISE_TYPES = ("sym", "asym", "instance")
#: Everything the harness can run: the library's filters and the cleanlab baseline.
EVALUATION_FILTERS = tuple(FILTERS) + ("cleanlab",)
#: The default: every learned filter of the library and the cleanlab baseline (not the oracle).
DEFAULT_FILTERS = tuple(name for name in FILTERS if name != "ideal") + ("cleanlab",)
#: The measurements summarised (mean ± standard error over repeats) and tabulated.
METRICS = ("true_noise_rate", "predicted_noise_rate", "noise_precision", "noise_recall", "noise_f1",
           "balanced_accuracy", "seconds")
KEY_FIELDS = ("noise_type", "noise_rate", "spc", "filter")
POOL_MIN = 512


def _build_filter(name: str, params: dict, is_noisy: np.ndarray, random_state: int):
    if name == "cleanlab":
        from .confident_learning import CleanlabBaseline

        return CleanlabBaseline(random_state=random_state, **params)
    if name == "ideal":
        return make_filter(name, is_noisy=is_noisy, **params)
    return make_filter(name, random_state=random_state, **params)


def _seed(*key) -> int:
    """A seed from the cell's identity, so a filter's numbers do not depend on which others run."""
    return zlib.crc32("/".join(f"{k:g}" if isinstance(k, float) else str(k) for k in key).encode())


def _noise_model(noise_type: str, rate: float, transition: np.ndarray):
    if noise_type == "sym":
        return SymmetricNoise(rate)
    if noise_type == "asym":
        return AsymmetricNoise(rate, transition)
    return InstanceDependentNoise(rate)


@dataclass
class FilterEvaluation:
    """What :func:`evaluate_filters` measured.

    ``records``: one dict per (repeat, noise type, noise rate, E[SPC], filter) with the budget, the
    filter's seconds and every field of :func:`nas.metrics.noise_metrics`. ``summary``: one dict per
    (noise type, noise rate, E[SPC], filter) with ``<metric>_mean`` and ``<metric>_sem`` over repeats.
    ``config``: the grid and settings of the run.
    """

    config: dict
    records: List[dict]
    summary: List[dict] = field(default_factory=list)

    def __post_init__(self):
        if not self.summary:
            self.summary = summarize_evaluation(self.records)

    def save(self, out_dir) -> Dict[str, Path]:
        """Write results.json (config, records, summary), records.csv and summary.csv under ``out_dir``."""
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        paths = {"results": out / "results.json", "records": out / "records.csv", "summary": out / "summary.csv"}
        with open(paths["results"], "w") as f:
            json.dump(_json_safe({"config": self.config, "records": self.records, "summary": self.summary}), f,
                      indent=1, allow_nan=False)
        _write_csv(paths["records"], self.records)
        _write_csv(paths["summary"], self.summary)
        return paths

    @classmethod
    def load(cls, path) -> "FilterEvaluation":
        """Read a results.json written by :meth:`save` (a directory holding one is accepted too)."""
        path = Path(path)
        data = json.loads((path / "results.json" if path.is_dir() else path).read_text())
        nan = lambda rows: [{k: (np.nan if v is None else v) for k, v in r.items()} for r in rows]  # noqa: E731
        return cls(data["config"], nan(data["records"]), nan(data["summary"]))

    def filters(self) -> List[str]:
        return list(dict.fromkeys(r["filter"] for r in self.summary))

    def rows(self, *, noise_type: Optional[str] = None, noise_rate: Optional[float] = None,
             spc: Optional[float] = None, filter: Optional[str] = None) -> List[dict]:
        """Summary rows matching every given key."""
        wanted = {"noise_type": noise_type, "noise_rate": noise_rate, "spc": spc, "filter": filter}
        return [r for r in self.summary
                if all(v is None or (r[k] == v if isinstance(v, str) else np.isclose(r[k], v))
                       for k, v in wanted.items())]

    def table(self, *, noise_type: Optional[str] = None, spc: Optional[float] = None,
              metrics: Sequence[str] = ("true_noise_rate", "predicted_noise_rate", "noise_precision",
                                        "noise_recall", "noise_f1", "balanced_accuracy")) -> str:
        """A Markdown table, one row per (noise type, rate, E[SPC], filter), cells "mean ± sem"."""
        header = ["noise", "rate", "E[SPC]", "|L|", "filter"] + [m.replace("_", " ") for m in metrics]
        lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
        for r in self.rows(noise_type=noise_type, spc=spc):
            cells = [r["noise_type"], f"{r['noise_rate']:g}", f"{r['spc']:g}", str(r["budget"]), r["filter"]]
            cells += [_cell(r.get(f"{m}_mean", np.nan), r.get(f"{m}_sem", np.nan)) for m in metrics]
            lines.append("| " + " | ".join(cells) + " |")
        return "\n".join(lines)


def _cell(mean: float, sem: float) -> str:
    if not np.isfinite(mean):
        return "–"
    return f"{mean:.2f}" if not np.isfinite(sem) else f"{mean:.2f} ± {sem:.2f}"


def summarize_evaluation(records: Sequence[dict]) -> List[dict]:
    """Group records by (noise type, rate, E[SPC], filter): ``<metric>_mean``/``_sem`` over the finite values."""
    groups: Dict[tuple, List[dict]] = {}
    for record in records:
        groups.setdefault(tuple(record[k] for k in KEY_FIELDS), []).append(record)
    summary = []
    for key, rows in groups.items():
        row = dict(zip(KEY_FIELDS, key), budget=rows[0]["budget"], n_repeats=len(rows))
        for metric in METRICS:
            values = np.asarray([r.get(metric, np.nan) for r in rows], dtype=np.float64)
            finite = values[np.isfinite(values)]
            row[f"{metric}_mean"] = float(finite.mean()) if finite.size else float("nan")
            row[f"{metric}_sem"] = standard_error(finite.tolist())
        summary.append(row)
    return summary


def evaluate_filters(X, y, *, filters: Sequence[str] = DEFAULT_FILTERS, noise_types: Sequence[str] = NOISE_TYPES,
                     noise_rates: Sequence[float] = (0.2, 0.4, 0.6, 0.8),
                     samples_per_class: Sequence[float] = (1, 2, 5, 10), repeats: int = 3,
                     n_classes: Optional[int] = None, transition=None, filter_params: Optional[dict] = None,
                     seed: int = 0, progress: bool = True) -> FilterEvaluation:
    """Measure every filter's noise detection over noise types × rates × E[SPC] × repeats.

    Parameters
    ----------
    X : (N, d) float — the embedding (finite); y : (N,) int — its true labels in [0, n_classes).
    filters : names from :data:`EVALUATION_FILTERS`.
    noise_types : subset of ("sym", "asym", "instance"); asymmetric noise uses ``transition`` (C × C,
        rows normalised) or, by default, :func:`nearest_class_transition` (each class confused with
        its nearest class); instance-dependent noise is ``InstanceDependentNoise(rate)``.
    noise_rates : floats in [0, 1). samples_per_class : E[SPC] targets > 0; |L| = ceil(s·C/(1 − rate)),
        which must leave at least one unlabeled sample.
    repeats : noise realisations and labeled-set draws per (type, rate); repeat r derives every seed from
        (seed, r, type, rate), so the same arguments give the same numbers.
    filter_params : {filter name: constructor keyword arguments}.

    Cost: len(filters)·len(noise_types)·len(noise_rates)·len(samples_per_class)·repeats filter calls.
    """
    owner = "evaluate_filters"
    X = check_features(X, owner, "X", dtype=np.float64)
    y = np.asarray(y)
    if y.ndim != 1 or y.shape[0] != X.shape[0] or (y.size and not np.issubdtype(y.dtype, np.integer)):
        raise param_error(owner, "y", f"a 1-D integer array with one label per row of X ({X.shape[0]})", y)
    y = y.astype(np.int64)
    n_classes = int(y.max()) + 1 if n_classes is None else check_int(n_classes, owner, "n_classes", low=2)
    if y.min() < 0 or y.max() >= n_classes:
        raise param_error(owner, "y", f"labels in [0, {n_classes})", f"labels in [{y.min()}, {y.max()}]",
                          describe=False)
    filters = [check_choice(f, owner, "filters", EVALUATION_FILTERS) for f in filters]
    noise_types = [check_choice(t, owner, "noise_types", NOISE_TYPES) for t in noise_types]
    rates = [check_float(q, owner, "noise_rates", low=0.0, high=1.0, high_open=True) for q in noise_rates]
    spcs = sorted(check_float(s, owner, "samples_per_class", low=0.0, low_open=True) for s in samples_per_class)
    repeats = check_int(repeats, owner, "repeats", low=1)
    if not (filters and noise_types and rates and spcs):
        raise param_error(owner, "filters, noise_types, noise_rates and samples_per_class", "non-empty", "an empty one",
                          describe=False)
    largest = max(spc_budget(spcs[-1], n_classes, q) for q in rates)
    if largest >= X.shape[0]:
        raise param_error(owner, "samples_per_class", f"small enough that |L| < N = {X.shape[0]} at every noise rate",
                          f"E[SPC] {spcs[-1]:g}, which needs |L| = {largest}", describe=False)
    params = dict(filter_params or {})
    if "asym" in noise_types:
        transition = nearest_class_transition(X, y, n_classes) if transition is None else transition

    records: List[dict] = []
    total = repeats * len(noise_types) * len(rates) * len(spcs) * len(filters)
    bar = tqdm(total=total, desc="filters", unit="call", disable=not progress)
    for repeat in range(repeats):
        for noise_type in noise_types:
            for rate in rates:
                rng = np.random.default_rng(_seed(seed, repeat, noise_type, rate))
                annotator = SimulatedAnnotator(y, _noise_model(noise_type, rate, transition), n_classes=n_classes,
                                               random_state=int(rng.integers(2**31)), X=X)
                order = rng.permutation(X.shape[0])
                for spc in spcs:
                    budget = spc_budget(spc, n_classes, rate)
                    labeled = order[:budget]
                    unlabeled = order[budget:]
                    pool = X[np.sort(unlabeled[:max(budget, POOL_MIN)])]
                    for name in filters:
                        filter_seed = _seed(seed, repeat, noise_type, rate, spc, name)
                        noise_filter = _build_filter(name, params.get(name, {}), annotator.is_noisy, filter_seed)
                        start = time.perf_counter()
                        is_clean = noise_filter.fit_predict(X[labeled], annotator.noisy_labels[labeled], pool=pool,
                                                            n_classes=n_classes, indices=labeled)
                        seconds = time.perf_counter() - start
                        records.append({"repeat": repeat, "noise_type": noise_type, "noise_rate": rate, "spc": spc,
                                        "budget": budget, "filter": name, "seconds": seconds,
                                        **noise_metrics(is_clean, ~annotator.is_noisy[labeled])})
                        bar.update()
    bar.close()
    config = {"n_samples": int(X.shape[0]), "n_features": int(X.shape[1]), "n_classes": n_classes,
              "filters": filters, "noise_types": noise_types, "noise_rates": rates, "samples_per_class": spcs,
              "repeats": repeats, "seed": seed, "filter_params": params,
              "labeled_sets": "uniform random, nested across E[SPC]", "pool": f"max(|L|, {POOL_MIN}) unlabeled"}
    return FilterEvaluation(config, records)
