"""The query-strategy contract shared by every strategy, with input validation done once per call.

A strategy answers one question: given pool features ``X`` and the labeled samples (split into
``clean`` ones that cover their neighbourhood and ``noisy`` ones that cover nothing), which
``budget`` unlabeled samples should be labeled next?
"""
from __future__ import annotations

import abc
import time
import weakref
from typing import Any, ClassVar, Dict, Optional, Tuple

import numpy as np

from nas_ext._validation import check_features, check_indices, check_int, param_error

__all__ = ["Strategy", "check_random_state"]


def check_random_state(random_state: Any, function: str) -> np.random.Generator:
    """A numpy Generator from None, an int, a SeedSequence or a Generator (returned as is)."""
    if isinstance(random_state, np.random.Generator):
        return random_state
    if random_state is None or isinstance(random_state, np.random.SeedSequence):
        return np.random.default_rng(random_state)
    if isinstance(random_state, (int, np.integer)) and not isinstance(random_state, bool) and random_state >= 0:
        return np.random.default_rng(int(random_state))
    raise param_error(function, "random_state", "None, a non-negative int or a numpy Generator", random_state,
                      exc=TypeError)


def _check_labeled(clean: Any, noisy: Any, n: int, function: str) -> Tuple[np.ndarray, np.ndarray]:
    """``clean`` and ``noisy`` as int64 index arrays in [0, n), each free of duplicates and the two disjoint.

    One sort of their concatenation checks both constraints (NAS calls ``select`` once per share, so this
    runs hundreds of times per round); the detailed checks run only to word an error.
    """
    clean_idx = check_indices(clean, n, function, "clean", allow_duplicates=True)
    noisy_idx = check_indices(noisy, n, function, "noisy", allow_duplicates=True)
    both = np.sort(np.concatenate([clean_idx, noisy_idx]))
    if both.size > 1 and (both[1:] == both[:-1]).any():
        check_indices(clean_idx, n, function, "clean")
        check_indices(noisy_idx, n, function, "noisy")
        common = np.intersect1d(clean_idx, noisy_idx)
        raise param_error(function, "noisy", "disjoint from 'clean'", f"index {int(common[0])} in both",
                          describe=False)
    return clean_idx, noisy_idx


class _ValidatedFeatures:
    """Remembers the last feature matrix seen and its validated float32 form, so a strategy called once per
    NAS share on the same array validates it (an O(n·d) pass) only once.

    The cache is keyed by object identity and shape; an array modified in place between calls is not
    detected (call ``fit(X)`` again after such a change).
    """

    def __init__(self) -> None:
        self._source: Optional[weakref.ref] = None
        self._shape: Optional[Tuple[int, ...]] = None
        self.array: Optional[np.ndarray] = None

    def matches(self, X: Any) -> bool:
        return (self._source is not None and self._source() is X
                and getattr(X, "shape", None) == self._shape and self.array is not None)

    def store(self, X: Any, array: np.ndarray) -> None:
        try:
            self._source = weakref.ref(X)
        except TypeError:  # lists and other non-weakref-able containers are simply not cached
            self._source = None
        self._shape = getattr(X, "shape", None)
        self.array = array


class Strategy(abc.ABC):
    """Base class of the query strategies.

    Subclasses implement ``_select(X, budget, clean, noisy, rng, **extra) -> int64 picks`` and may
    override ``_fit(X)`` to precompute per-pool structures (graphs, kernel sums), which are kept for
    as long as the same feature array is passed.

    Attributes set by every ``select`` call:
    ``last_timings_`` — seconds per stage: ``validate`` and ``fit`` (only when the pool changed; ``fit``
    includes strategy-specific parts such as ``graph``), ``selection`` (everything after fitting,
    strategy-specific parts of it such as ``sync`` listed too) and ``total``; ``last_gains_`` — the
    objective gain of each pick (None for strategies without one).
    """

    #: True when the strategy uses the clean/noisy partition (noisy samples cover nothing), i.e. it can
    #: be wrapped by NAS. Strategies without it treat both sets simply as labeled.
    supports_noise: ClassVar[bool] = True
    #: True when ``select`` accepts ``noisy_weight`` (the Weighted NPC down-weighting).
    supports_weighting: ClassVar[bool] = False

    def __init__(self) -> None:
        self._features = _ValidatedFeatures()
        self.last_timings_: Dict[str, float] = {}
        self.last_gains_: Optional[np.ndarray] = None

    # ------------------------------------------------------------------ public API
    def fit(self, X) -> "Strategy":
        """Validate ``X`` (n_samples, n_features) and precompute what ``select`` reuses for this pool.

        Calling ``fit`` is optional: ``select`` fits on first use of a new array. Returns ``self``.
        """
        timings: Dict[str, float] = {}
        self._fit_features(X, timings)
        self.last_timings_ = timings
        return self

    def select(self, X, budget: int, *, clean=(), noisy=(), random_state=None) -> np.ndarray:
        """Pick ``budget`` unlabeled samples of ``X``.

        Parameters
        ----------
        X : array (n_samples, n_features), float
            Pool features; row ``i`` is sample ``i``.
        budget : int
            Number of picks, 1 <= budget <= n_samples - len(clean) - len(noisy).
        clean : 1-D int array
            Labeled samples that count as labeled for coverage.
        noisy : 1-D int array
            Labeled samples predicted mislabeled: never re-picked and (for strategies that support it)
            covering nothing. Must be disjoint from ``clean``.
        random_state : None, int or numpy Generator
            Seeds every random choice (ties, random picks); nothing uses the global RNG.

        Returns
        -------
        int64 array of shape (budget,): the picks in selection order, never labeled, never repeated.
        """
        return self._run_select(X, budget, clean, noisy, random_state)

    # ------------------------------------------------------------------ shared machinery
    @property
    def _name(self) -> str:
        return type(self).__name__

    def _fit_features(self, X, timings: Dict[str, float], **fit_options) -> np.ndarray:
        t0 = time.perf_counter()
        array = check_features(X, f"{self._name}.fit")
        timings["validate"] = time.perf_counter() - t0
        self._features.store(None, None)
        t1 = time.perf_counter()
        self._fit(array, timings, **fit_options)
        timings["fit"] = time.perf_counter() - t1
        self._features.store(X, array)
        return array

    def _fit(self, X: np.ndarray, timings: Dict[str, float]) -> None:
        """Precompute per-pool state (default: nothing)."""

    def _run_select(self, X, budget, clean, noisy, random_state, **extra) -> np.ndarray:
        function = f"{self._name}.select"
        start = time.perf_counter()
        timings: Dict[str, float] = {}
        if self._features.matches(X):
            array = self._features.array
        else:
            array = self._fit_features(X, timings)
        n = array.shape[0]
        clean_idx, noisy_idx = _check_labeled(clean, noisy, n, function)
        n_unlabeled = n - clean_idx.size - noisy_idx.size
        if n_unlabeled < 1:
            raise param_error(function, "clean", "leaving at least one unlabeled sample",
                              f"all {n} samples labeled", describe=False)
        budget = check_int(budget, function, "budget", low=1, high=n_unlabeled)
        rng = check_random_state(random_state, function)
        self.last_gains_ = None
        t0 = time.perf_counter()
        picks = np.asarray(self._select(array, budget, clean_idx, noisy_idx, rng, timings, **extra), dtype=np.int64)
        timings["selection"] = time.perf_counter() - t0
        timings["total"] = time.perf_counter() - start
        self.last_timings_ = timings
        return picks

    @abc.abstractmethod
    def _select(self, X: np.ndarray, budget: int, clean: np.ndarray, noisy: np.ndarray,
                rng: np.random.Generator, timings: Dict[str, float], **extra) -> np.ndarray:
        """Subclasses implement this."""

    @staticmethod
    def _unlabeled(n: int, clean: np.ndarray, noisy: np.ndarray) -> np.ndarray:
        """Indices of the samples in neither set (ascending)."""
        mask = np.ones(n, dtype=bool)
        mask[clean] = False
        mask[noisy] = False
        return np.flatnonzero(mask)

    def __repr__(self) -> str:
        params = ", ".join(f"{k}={v!r}" for k, v in self._params().items())
        return f"{self._name}({params})"

    def _params(self) -> Dict[str, Any]:
        return {}
