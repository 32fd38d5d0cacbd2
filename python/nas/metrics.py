"""Noise-detection metrics: how well a filter's clean/noisy partition matches the truth.

"Clean" is the positive class of the clean metrics and "noisy" of the noise metrics. An undefined
ratio (0/0, e.g. noise precision when nothing was predicted noisy) is NaN, without a warning.
"""
from __future__ import annotations

import numpy as np

from nas_ext._validation import param_error, to_numpy

__all__ = ["noise_metrics"]


def _ratio(numerator: int, denominator: int) -> float:
    return float(numerator) / denominator if denominator else float("nan")


def _mask(values, name: str, length=None) -> np.ndarray:
    arr = to_numpy(values) if not isinstance(values, (list, tuple)) else np.asarray(values)
    if arr.ndim != 1 or (arr.size and not (arr.dtype == bool or (np.issubdtype(arr.dtype, np.integer)
                                                                  and np.isin(arr, (0, 1)).all()))):
        raise param_error("noise_metrics", name, "a 1-D boolean mask", arr)
    if length is not None and arr.size != length:
        raise param_error("noise_metrics", name, f"a 1-D boolean mask of length {length} (as is_clean_pred)", arr)
    return arr.astype(bool)


def noise_metrics(is_clean_pred, is_clean_true) -> dict:
    """Compare a predicted clean mask with the true one (both (n,) bool).

    Returns a dict of floats: ``accuracy``; ``clean_precision``, ``clean_recall``, ``clean_f1``;
    ``noise_precision``, ``noise_recall``, ``noise_f1``; ``balanced_accuracy`` (mean of the clean and
    noise recalls: 0.5 for any filter that ignores the data, whatever the noise rate); ``true_noise_rate``,
    ``predicted_noise_rate``; and the counts ``n_samples``, ``n_true_noisy``, ``n_predicted_noisy``.
    F1 = 2·TP / (2·TP + FP + FN) (NaN only when the class is absent from both masks).

    >>> m = noise_metrics([True, False, False, True], [True, False, True, True])
    >>> m["noise_precision"], m["noise_recall"], m["predicted_noise_rate"]
    (0.5, 1.0, 0.5)
    """
    pred = _mask(is_clean_pred, "is_clean_pred")
    true = _mask(is_clean_true, "is_clean_true", pred.size)
    n = pred.size
    tp = int((pred & true).sum())  # clean kept
    fp = int((pred & ~true).sum())  # noisy kept
    fn = int((~pred & true).sum())  # clean flagged
    tn = int((~pred & ~true).sum())  # noisy flagged
    return {
        "n_samples": n,
        "n_true_noisy": tn + fp,
        "n_predicted_noisy": tn + fn,
        "accuracy": _ratio(tp + tn, n),
        "clean_precision": _ratio(tp, tp + fp),
        "clean_recall": _ratio(tp, tp + fn),
        "clean_f1": _ratio(2 * tp, 2 * tp + fp + fn),
        "noise_precision": _ratio(tn, tn + fn),
        "noise_recall": _ratio(tn, tn + fp),
        "noise_f1": _ratio(2 * tn, 2 * tn + fn + fp),
        "balanced_accuracy": 0.5 * (_ratio(tp, tp + fn) + _ratio(tn, tn + fp)),
        "true_noise_rate": _ratio(tn + fp, n),
        "predicted_noise_rate": _ratio(tn + fn, n),
    }
