"""CrossValidation: k-fold multinomial logistic regression votes (seed 000 §3.1, appendix C).

A sample is noisy when fewer than half of the fold models that vote on it predict its given label.
Also home of the cross-validated prediction helpers the LOF filter reuses.
"""
from __future__ import annotations

import logging
import warnings
from typing import NamedTuple, Tuple

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression

from nas_ext._validation import check_choice, check_float, check_int

from .base import NoiseFilter

__all__ = ["CrossValidation", "HeldoutVotes", "heldout_votes", "fit_class_probabilities"]

logger = logging.getLogger(__name__)


def fit_class_probabilities(X_train: np.ndarray, y_train: np.ndarray, X_test: np.ndarray, n_classes: int, *,
                            C: float = 1.0, max_iter: int = 1000) -> np.ndarray:
    """Fit a multinomial logistic regression and return (n_test, n_classes) class probabilities.

    Classes absent from ``y_train`` get probability 0; with a single training class the model is the
    constant predictor of that class (scikit-learn refuses to fit one class).
    """
    proba = np.zeros((X_test.shape[0], n_classes), dtype=np.float64)
    present = np.unique(y_train)
    if present.size == 1:
        proba[:, present[0]] = 1.0
        return proba
    model = LogisticRegression(C=C, max_iter=max_iter)
    with warnings.catch_warnings():
        # lbfgs stopping at max_iter still gives a usable vote; report it in the log, not as a warning.
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(X_train, y_train)
    if model.n_iter_.max() >= max_iter:
        logger.debug("logistic regression stopped at max_iter=%d before converging", max_iter)
    proba[:, model.classes_] = model.predict_proba(X_test)
    return proba


def _fold_ids(n: int, n_folds: int, rng: np.random.Generator) -> np.ndarray:
    """Fold id of each sample: a random permutation cut into min(n_folds, n) near-equal folds."""
    k = min(n_folds, n)
    ids = np.empty(n, dtype=np.int64)
    for fold, members in enumerate(np.array_split(rng.permutation(n), k)):
        ids[members] = fold
    return ids


class HeldoutVotes(NamedTuple):
    """Result of :func:`heldout_votes` (n = |L|)."""

    agree: np.ndarray  #: (n,) int64 held-out votes for the given label
    votes: np.ndarray  #: (n,) int64 non-abstaining held-out votes
    given_probability: np.ndarray  #: (n,) mean held-out probability of the given label (1.0 without votes)
    proba: np.ndarray  #: (n_repeats, n, n_classes) held-out class probabilities


def heldout_votes(X: np.ndarray, y: np.ndarray, n_classes: int, *, n_folds: int, n_repeats: int,
                  rng: np.random.Generator, C: float = 1.0, max_iter: int = 1000) -> HeldoutVotes:
    """Held-out votes of repeated k-fold logistic regressions.

    Each repeat shuffles L into min(n_folds, n) folds; the model trained on the other folds votes on
    each held-out sample, unless the sample's given label is absent from that training set (the model
    cannot know the class, so it abstains). With fewer than two samples nobody votes.
    Cost: n_repeats·k logistic-regression fits on about (k-1)/k·n samples.
    """
    n = X.shape[0]
    agree = np.zeros(n, dtype=np.int64)
    votes = np.zeros(n, dtype=np.int64)
    given_sum = np.zeros(n, dtype=np.float64)
    proba = np.zeros((n_repeats, n, n_classes), dtype=np.float64)
    if n < 2:
        return HeldoutVotes(agree, votes, np.ones(n), proba)
    for r in range(n_repeats):
        folds = _fold_ids(n, n_folds, rng)
        for fold in np.unique(folds):
            test, train = folds == fold, folds != fold
            proba[r, test] = fit_class_probabilities(X[train], y[train], X[test], n_classes, C=C,
                                                     max_iter=max_iter)
            rows = np.flatnonzero(test)[np.isin(y[test], y[train])]
            votes[rows] += 1
            agree[rows] += proba[r, rows].argmax(axis=1) == y[rows]
            given_sum[rows] += proba[r, rows, y[rows]]
    given = np.divide(given_sum, votes, out=np.ones(n), where=votes > 0)
    return HeldoutVotes(agree, votes, given, proba)


def _reference_votes(X: np.ndarray, y: np.ndarray, n_classes: int, *, n_folds: int, rng: np.random.Generator,
                     C: float, max_iter: int) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The reference code's orientation: each model trains on ONE fold and votes on every sample."""
    n = X.shape[0]
    folds = _fold_ids(n, n_folds, rng)
    agree = np.zeros(n, dtype=np.int64)
    prob_sum = np.zeros(n, dtype=np.float64)
    k = int(folds.max()) + 1
    for fold in range(k):
        train = folds == fold
        proba = fit_class_probabilities(X[train], y[train], X, n_classes, C=C, max_iter=max_iter)
        agree += proba.argmax(axis=1) == y
        prob_sum += proba[np.arange(n), y]
    return agree, np.full(n, k, dtype=np.int64), prob_sum / k


class CrossValidation(NoiseFilter):
    """k-fold logistic-regression votes: noisy when fewer than half of the voting models agree.

    Parameters
    ----------
    n_folds : int, default 3
        Folds of L (capped at |L|). Appendix C of seed 000 uses three.
    n_repeats : int, default 1
        Repeated shuffles; each gives every sample one held-out vote (held-out mode only).
    mode : {"heldout", "reference"}, default "heldout"
        "heldout" (the paper): a model votes only on the fold it did not see; a model whose training
        folds lack the sample's given label abstains, and a sample with no vote stays clean.
        "reference": the research code's orientation — each model is trained on a single fold and
        votes on all samples (including the ones it was trained on); no abstention.
    C, max_iter : logistic regression regularisation and lbfgs iteration cap (sklearn's meaning).
    noise_rate : float in [0, 1] or None
        Known-noise-rate prior: mark the round(q·|L|) lowest-scoring samples noisy instead.
    random_state : None, int or numpy Generator
        Seeds the fold shuffles.

    ``scores_`` is the mean held-out probability of the given label (1.0 for samples without a
    vote); in reference mode, the mean probability over all models.

    Cost: n_folds·n_repeats lbfgs fits on ≈ |L| samples with d features and C classes.

    Example
    -------
    >>> import numpy as np
    >>> from nas.filters import CrossValidation
    >>> rng = np.random.default_rng(0)
    >>> y = np.repeat([0, 1], 10); X = 3.0 * y[:, None] + 0.5 * rng.standard_normal((20, 2))
    >>> y[0] = 1  # a flipped label
    >>> bool(CrossValidation(random_state=0).fit_predict(X, y)[0])
    False
    """

    def __init__(self, n_folds: int = 3, *, n_repeats: int = 1, mode: str = "heldout", C: float = 1.0,
                 max_iter: int = 1000, noise_rate=None, random_state=None):
        self.n_folds = n_folds
        self.n_repeats = n_repeats
        self.mode = mode
        self.C = C
        self.max_iter = max_iter
        self.noise_rate = noise_rate
        self.random_state = random_state

    def _check_params(self) -> None:
        name = type(self).__name__
        check_int(self.n_folds, name, "n_folds", low=2)
        check_int(self.n_repeats, name, "n_repeats", low=1)
        check_choice(self.mode, name, "mode", ("heldout", "reference"))
        if self.mode == "reference" and self.n_repeats != 1:
            warnings.warn(f"{name}: n_repeats={self.n_repeats} is ignored in mode='reference' (one model per "
                          "fold votes on every sample).", UserWarning, stacklevel=3)
        check_float(self.C, name, "C", low=0.0, low_open=True)
        check_int(self.max_iter, name, "max_iter", low=1)

    def _score(self, X, y, *, pool, n_classes, indices, rng):
        if self.mode == "reference":
            agree, votes, scores = _reference_votes(X, y, n_classes, n_folds=self.n_folds, rng=rng, C=self.C,
                                                    max_iter=self.max_iter)
        else:
            held = heldout_votes(X, y, n_classes, n_folds=self.n_folds, n_repeats=self.n_repeats, rng=rng,
                                 C=self.C, max_iter=self.max_iter)
            agree, votes, scores = held.agree, held.votes, held.given_probability
        return scores, 2 * agree >= votes
