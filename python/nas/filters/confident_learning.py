"""A baseline from outside the paper: cleanlab's confident learning on out-of-fold probabilities.

``cleanlab.filter.find_label_issues`` (Northcutt et al.) flags a sample when its given label is
unlikely under out-of-fold predicted probabilities, with per-class thresholds estimated from the
data. The probabilities come from the same held-out 3-fold logistic regressions as CrossValidation,
so the two differ only in the decision rule. cleanlab is an optional extra (``pip install
nas[cleanlab]``): it is imported when the filter runs, never by ``import nas``. Not in
``nas.filters.FILTERS``: it is a yardstick for the evaluation harness and the benchmarks.
"""
from __future__ import annotations

import warnings

import numpy as np

from nas_ext._validation import check_int

from .base import NoiseFilter
from .cross_validation import heldout_votes

__all__ = ["CleanlabBaseline", "import_find_label_issues"]

#: Floor of an out-of-fold probability: a fold without a class gives it 0, which cleanlab rejects.
PROBABILITY_FLOOR = 1e-6


def import_find_label_issues():
    """``cleanlab.filter.find_label_issues``, or an ImportError saying how to install it."""
    try:
        from cleanlab.filter import find_label_issues
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError("The cleanlab baseline needs the optional package cleanlab "
                          "(pip install 'nas[cleanlab]').") from exc
    return find_label_issues


class CleanlabBaseline(NoiseFilter):
    """cleanlab ``find_label_issues`` on out-of-fold logistic-regression probabilities.

    Parameters
    ----------
    n_folds : int, default 3
        Folds of the held-out probabilities (as CrossValidation).
    noise_rate : float in [0, 1] or None
        Known-noise-rate prior instead of cleanlab's own rule.
    random_state : None, int or numpy Generator
        Seeds the fold shuffle.

    ``scores_`` is the out-of-fold probability of the given label (cleanlab's "self confidence").
    Cost: as CrossValidation (n_folds lbfgs fits) plus cleanlab's O(n·C) confident joint.

    Example
    -------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> y = np.repeat([0, 1], 20); X = 3.0 * y[:, None] + 0.5 * rng.standard_normal((40, 2))
    >>> y[0] = 1  # a flipped label
    >>> bool(CleanlabBaseline(random_state=0).fit_predict(X, y)[0])
    False
    """

    def __init__(self, n_folds: int = 3, *, noise_rate=None, random_state=None):
        self.n_folds = n_folds
        self.noise_rate = noise_rate
        self.random_state = random_state

    def _check_params(self) -> None:
        check_int(self.n_folds, type(self).__name__, "n_folds", low=2)

    def _score(self, X, y, *, pool, n_classes, indices, rng):
        find_label_issues = import_find_label_issues()
        proba = heldout_votes(X, y, n_classes, n_folds=self.n_folds, n_repeats=1, rng=rng).proba[0]
        proba = np.maximum(proba, PROBABILITY_FLOOR)
        proba /= proba.sum(axis=1, keepdims=True)
        scores = proba[np.arange(y.size), y]
        if np.unique(y).size < 2:  # cleanlab needs two classes; one class has nothing to disagree with
            return scores, np.ones(y.size, dtype=bool)
        with warnings.catch_warnings():
            # cleanlab warns about classes with few labels, which is every class of a low-budget set.
            warnings.simplefilter("ignore")
            issues = find_label_issues(y, proba)
        return scores, ~np.asarray(issues, dtype=bool)
