"""Results of an experiment: one record per (repeat, strategy, round), their mean and standard error over
repeats, and the JSON/CSV files they are saved to."""
from __future__ import annotations

import csv
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, Iterable, List, Optional, Sequence

import numpy as np

__all__ = ["ExperimentResult", "summarize", "standard_error"]

# Fields that identify a record rather than measure something.
KEY_FIELDS = ("strategy", "round")
ID_FIELDS = ("repeat", "seed") + KEY_FIELDS
# Fields that are the same for every repeat of a (strategy, round): copied into the summary as they are.
SCHEDULE_FIELDS = ("round_budget", "budget", "spc")


def standard_error(values: Sequence[float]) -> float:
    """Standard error of the mean (sample std / sqrt(n)) over the finite values; NaN with fewer than two."""
    finite = np.asarray([v for v in values if v is not None and math.isfinite(v)], dtype=float)
    if finite.size < 2:
        return math.nan
    return float(finite.std(ddof=1) / math.sqrt(finite.size))


def _mean(values: Sequence[float]) -> float:
    finite = [v for v in values if v is not None and math.isfinite(v)]
    return float(np.mean(finite)) if finite else math.nan


def _is_number(value) -> bool:
    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool)


def summarize(records: Iterable[dict]) -> List[dict]:
    """Group records by (strategy, round); every numeric measurement gets ``<name>_mean`` and ``<name>_sem``."""
    groups: Dict[tuple, List[dict]] = {}
    for record in records:
        groups.setdefault((record["strategy"], record["round"]), []).append(record)
    summary = []
    for (strategy, round_), rows in groups.items():
        row = {"strategy": strategy, "round": round_, "n_repeats": len(rows)}
        row.update({name: rows[0][name] for name in SCHEDULE_FIELDS if name in rows[0]})
        measured = [k for k, v in rows[0].items()
                    if k not in ID_FIELDS and k not in SCHEDULE_FIELDS and (_is_number(v) or v is None)]
        for name in measured:
            values = [r.get(name) for r in rows]
            row[f"{name}_mean"] = _mean(values)
            row[f"{name}_sem"] = standard_error(values)
        summary.append(row)
    return summary


def _json_safe(value):
    """NaN/inf become null (strict JSON); numpy scalars become Python numbers."""
    if isinstance(value, dict):
        return {k: _json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _write_csv(path: Path, rows: List[dict]) -> None:
    columns: List[str] = []
    for row in rows:
        columns += [k for k in row if k not in columns]
    with open(path, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=columns)
        writer.writeheader()
        for row in rows:
            writer.writerow({k: ("" if v is None or (isinstance(v, float) and not math.isfinite(v)) else v)
                             for k, v in row.items()})


@dataclass
class ExperimentResult:
    """What :func:`nas.experiment.run` measured.

    ``records``: one dict per (repeat, strategy, round) — accuracy (top-1 %), accuracy_diff (minus Random's
    accuracy in the same repeat and round), noise-filter metrics, predicted/true noise rate, timings (seconds).
    ``summary``: one dict per (strategy, round) with ``<field>_mean`` and ``<field>_sem`` over repeats.
    ``config``: the settings of the run.
    ``training_history``: per-epoch diagnostics of trainers that have them (MTaDCS), one dict per (repeat,
    strategy, round, epoch); saved in results.json and training_history.csv when present.
    """

    config: dict
    records: List[dict]
    summary: List[dict] = field(default_factory=list)
    training_history: List[dict] = field(default_factory=list)

    def __post_init__(self):
        if not self.summary:
            self.summary = summarize(self.records)

    def save(self, out_dir) -> Dict[str, Path]:
        """Write ``results.json`` (everything), ``records.csv`` and ``summary.csv`` under ``out_dir``."""
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        paths = {"json": out / "results.json", "records": out / "records.csv", "summary": out / "summary.csv"}
        payload = {"config": self.config, "summary": self.summary, "records": self.records}
        if self.training_history:
            payload["training_history"] = self.training_history
        paths["json"].write_text(json.dumps(_json_safe(payload), indent=1, allow_nan=False))
        _write_csv(paths["records"], self.records)
        _write_csv(paths["summary"], self.summary)
        if self.training_history:
            paths["training_history"] = out / "training_history.csv"
            _write_csv(paths["training_history"], self.training_history)
        return paths

    @classmethod
    def load(cls, path) -> "ExperimentResult":
        """Read a ``results.json`` written by :meth:`save` (missing values come back as NaN)."""
        data = json.loads(Path(path).read_text())
        nan = lambda rows: [{k: (math.nan if v is None else v) for k, v in row.items()} for row in rows]
        return cls(config=data["config"], records=nan(data["records"]), summary=nan(data["summary"]),
                   training_history=nan(data.get("training_history", [])))

    def strategies(self) -> List[str]:
        """Strategy names in the order they were run."""
        return list(dict.fromkeys(row["strategy"] for row in self.summary))

    def table(self, fields: Optional[Sequence[str]] = None) -> str:
        """A plain-text table: one row per round, one column per strategy, "mean ± sem" of each field."""
        fields = list(fields or ("accuracy", "accuracy_diff"))
        strategies = self.strategies()
        by_key = {(row["strategy"], row["round"]): row for row in self.summary}
        rounds = sorted({row["round"] for row in self.summary})
        lines = []
        for name in fields:
            header = [f"{name} (mean ± sem)", "budget", "E[SPC]"] + strategies
            body = []
            for r in rounds:
                first = by_key[(strategies[0], r)]
                cells = [f"round {r + 1}", str(first["budget"]), f"{first['spc']:.3g}"]
                for s in strategies:
                    row = by_key.get((s, r), {})
                    cells.append(_cell(row.get(f"{name}_mean", math.nan), row.get(f"{name}_sem", math.nan),
                                       signed=name.endswith("_diff")))
                body.append(cells)
            lines.append(_format_table(header, body))
        return "\n\n".join(lines)


def _cell(mean: float, sem: float, *, signed: bool) -> str:
    if not math.isfinite(mean):
        return "-"
    text = f"{mean:+.2f}" if signed else f"{mean:.2f}"
    return f"{text} ± {sem:.2f}" if math.isfinite(sem) else text


def _format_table(header: List[str], body: List[List[str]]) -> str:
    widths = [max(len(row[i]) for row in [header] + body) for i in range(len(header))]
    fmt = lambda row: "  ".join(cell.rjust(w) if i else cell.ljust(w) for i, (cell, w) in
                                enumerate(zip(row, widths)))
    return "\n".join([fmt(header), fmt(["-" * w for w in widths])] + [fmt(row) for row in body])
