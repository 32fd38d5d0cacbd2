"""Ideal: the oracle filter for ablations — it knows which pool samples are mislabeled."""
from __future__ import annotations

import numpy as np

from nas_ext._validation import param_error, to_numpy

from .base import NoiseFilter

__all__ = ["Ideal"]


class Ideal(NoiseFilter):
    """Oracle: a labeled sample is clean iff the ground-truth mask says so.

    Parameters
    ----------
    is_noisy : (N,) bool array over the whole pool, indexed by pool sample id
        (e.g. ``SimulatedAnnotator.is_noisy``).
    noise_rate : float in [0, 1] or None
        Known-noise-rate prior (rarely useful here): mark round(q·|L|) samples noisy, the truly
        noisy first.

    ``fit_predict`` needs ``indices`` (the pool ids of the rows of X). NAS uses shares of b = 1 with
    this filter (``is_ideal``). ``scores_`` is 1.0 for clean and 0.0 for noisy samples. Cost Θ(|L|).

    Example
    -------
    >>> import numpy as np
    >>> from nas.filters import Ideal
    >>> Ideal(np.array([False, True, False])).fit_predict(np.zeros((2, 4)), [0, 1], indices=[1, 2]).tolist()
    [False, True]
    """

    is_ideal = True

    def __init__(self, is_noisy, *, noise_rate=None, random_state=None):
        self.is_noisy = is_noisy
        self.noise_rate = noise_rate
        self.random_state = random_state

    def _mask(self) -> np.ndarray:
        """The validated mask, checked once per mask object (NAS calls the filter once per pick)."""
        cached = getattr(self, "_validated_mask", None)
        if cached is not None and cached[0] is self.is_noisy:
            return cached[1]
        mask = to_numpy(self.is_noisy) if not isinstance(self.is_noisy, (list, tuple)) else np.asarray(self.is_noisy)
        if mask.ndim != 1 or not (mask.dtype == bool or np.issubdtype(mask.dtype, np.integer)) \
                or (mask.size and not np.isin(mask, (0, 1)).all()):
            raise param_error(type(self).__name__, "is_noisy", "a 1-D boolean mask over the pool", mask)
        mask = mask.astype(bool)
        self._validated_mask = (self.is_noisy, mask)
        return mask

    def _check_params(self) -> None:
        self._mask()

    def _score(self, X, y, *, pool, n_classes, indices, rng):
        mask = self._mask()
        function = f"{type(self).__name__}.fit_predict"
        if indices is None:
            raise param_error(function, "indices", "the pool indices of the rows of X (Ideal looks them up)", None)
        if indices.min() < 0 or indices.max() >= mask.size:
            bad = int(indices.min()) if indices.min() < 0 else int(indices.max())
            raise param_error(function, "indices", f"indices in [0, {mask.size})", f"index {bad}", describe=False)
        is_clean = ~mask[indices]
        return is_clean.astype(np.float64), is_clean
