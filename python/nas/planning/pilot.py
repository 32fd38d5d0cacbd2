"""Estimate the noisy annotator's noise rate η from a pilot batch it labeled (seed 000 §6.3, spec §3.3(5)).

A pilot file lists pool rows and the labels the noisy annotator gave them: a CSV with the columns ``index`` and
``label`` (integer class ids), or an .npy/.npz (n, 2) integer array of (index, label) rows. η̂ is the fraction a
``nas`` low-budget noise filter predicts noisy (CrossValidation by default; AUM and LOF are alternatives). The
pilot was bought from the noisy annotator, so its cost n_pilot·c_n comes off the budget.
"""
from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from nas_ext._validation import check_indices, param_error

__all__ = ["PilotEstimate", "read_pilot_labels", "estimate_noise_rate"]


@dataclass(frozen=True)
class PilotEstimate:
    """η̂ from a pilot batch: the filter used, how many labels, and how many it marked noisy."""

    noise_rate: float
    n_labels: int
    n_noisy: int
    filter: str


def read_pilot_labels(path) -> tuple:
    """(indices, labels) int64 arrays from a pilot file (CSV ``index,label`` or an (n, 2) .npy/.npz)."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"No such file: {path}")
    if path.suffix.lower() == ".csv":
        with open(path, newline="") as f:
            reader = csv.DictReader(f)
            if reader.fieldnames is None or not {"index", "label"} <= set(reader.fieldnames):
                raise ValueError(f"{path}: a pilot CSV needs the columns 'index' and 'label' "
                                 f"(got {reader.fieldnames}).")
            rows = []
            for line, row in enumerate(reader, start=2):
                try:
                    rows.append((int(row["index"]), int(row["label"])))
                except (TypeError, ValueError):
                    raise ValueError(f"{path}, line {line}: 'index' and 'label' must be integers "
                                     f"(got {row['index']!r}, {row['label']!r}).") from None
        table = np.asarray(rows, dtype=np.int64).reshape(-1, 2)
    else:
        from nas.arrays import load_array

        table = np.asarray(load_array(str(path), mmap=False))
        if table.ndim != 2 or table.shape[1] != 2 or not np.issubdtype(table.dtype, np.integer):
            raise ValueError(f"{path}: a pilot array must be an (n, 2) integer array of (index, label) rows "
                             f"(got shape {table.shape}, dtype {table.dtype}).")
        table = table.astype(np.int64)
    if table.shape[0] == 0:
        raise ValueError(f"{path} holds no pilot labels.")
    return table[:, 0].copy(), table[:, 1].copy()


def estimate_noise_rate(X, indices, labels, *, n_classes: int, noise_filter: str = "cv",
                        random_state: int = 0) -> PilotEstimate:
    """η̂ = fraction of the pilot labels the filter marks noisy. X: (N, d) pool; indices, labels: (n,) ints."""
    from nas.filters import make_filter

    owner = "estimate_noise_rate"
    indices = check_indices(indices, X.shape[0], owner, "indices")
    labels = np.asarray(labels)
    if labels.shape != indices.shape:
        raise param_error(owner, "labels", f"one label per pilot index ({indices.size})", labels)
    if labels.size and (labels.min() < 0 or labels.max() >= n_classes):
        bad = int(labels.min()) if labels.min() < 0 else int(labels.max())
        raise param_error(owner, "labels", f"class ids in [0, {n_classes})", f"label {bad}", describe=False)
    if indices.size < 2:
        raise param_error(owner, "indices", "at least 2 pilot labels", indices.size, describe=False)
    filt = make_filter(noise_filter, random_state=random_state)
    rest = np.setdiff1d(np.arange(X.shape[0]), indices)
    pool_rows = np.random.default_rng(random_state).choice(rest, size=min(rest.size, max(512, indices.size)),
                                                           replace=False) if rest.size else rest
    is_clean = filt.fit_predict(np.asarray(X[indices]), labels,
                                pool=np.asarray(X[np.sort(pool_rows)]) if pool_rows.size else None,
                                n_classes=n_classes)
    n_noisy = int(np.count_nonzero(~np.asarray(is_clean, dtype=bool)))
    return PilotEstimate(noise_rate=n_noisy / indices.size, n_labels=int(indices.size), n_noisy=n_noisy,
                         filter=noise_filter)
