"""The cleanlab baseline: confident learning on the out-of-fold probabilities of CrossValidation's models."""
import numpy as np
from cleanlab.filter import find_label_issues

from nas.filters.confident_learning import CleanlabBaseline
from nas.filters.cross_validation import heldout_votes
from nas.metrics import noise_metrics
from oracles.planted_noise import make_planted


def test_is_cleanlab_on_heldout_probabilities():
    data = make_planted(noise_rate=0.3, samples_per_class=10, seed=3)
    f = CleanlabBaseline(random_state=5)
    is_clean = f.fit_predict(data.X, data.y, n_classes=10)
    proba = heldout_votes(data.X, data.y, 10, n_folds=3, n_repeats=1, rng=np.random.default_rng(5)).proba[0]
    proba = np.maximum(proba, 1e-6)
    proba /= proba.sum(axis=1, keepdims=True)
    np.testing.assert_array_equal(is_clean, ~find_label_issues(data.y, proba))
    np.testing.assert_allclose(f.scores_, proba[np.arange(100), data.y])
    assert noise_metrics(is_clean, ~data.is_noisy)["noise_f1"] > 0.6


def test_one_class_and_prior():
    X = np.random.default_rng(0).standard_normal((6, 3))
    assert CleanlabBaseline(random_state=0).fit_predict(X, np.zeros(6, dtype=int), n_classes=3).all()
    data = make_planted(noise_rate=0.2, seed=1)
    f = CleanlabBaseline(noise_rate=0.2, random_state=0)
    assert (~f.fit_predict(data.X, data.y, n_classes=10)).sum() == 10
