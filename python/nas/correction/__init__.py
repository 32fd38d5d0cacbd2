"""Active label correction (seed 003): choose which already-labeled samples to send back to an accurate
annotator so that the most wrong labels get fixed and the classifier improves fastest.

- :class:`ActiveLabelCorrection` — robust per-sample weights, entropy, entropy propagation, rounds
  (``fit`` / ``select`` / ``update`` / ``run``), and the paper's baselines (``method=``), DALC included.
- :func:`anchor_transition`, :func:`count_transition` — DALC's class transition (noise model) estimates.
- :class:`EntropyPropagation` — the batch selector over a kNN graph (``nas_ext.diffuse``).
- :func:`simulate` — the paper's experiment: noisy labels, methods x repeats, hit rate and accuracy per round.
"""
from .alc import METHODS, ActiveLabelCorrection, CorrectionResult, entropy_of
from .propagation import EntropyPropagation, batch_redundancy, diffuse_scipy
from .transition import anchor_transition, count_transition
from .weights import RobustWeights, loss_scale, mean_absolute_difference, pin_weights, update_weights

__all__ = ["ActiveLabelCorrection", "CorrectionResult", "METHODS", "EntropyPropagation", "RobustWeights",
           "anchor_transition", "batch_redundancy", "count_transition", "diffuse_scipy", "entropy_of", "loss_scale",
           "mean_absolute_difference", "pin_weights", "update_weights", "simulate"]


def __getattr__(name):
    if name == "simulate":
        from .simulate import simulate

        return simulate
    raise AttributeError(f"module 'nas.correction' has no attribute {name!r}")
