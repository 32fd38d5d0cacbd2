import numpy as np
import pytest

from nas.filters import CrossValidation
from nas.filters.cross_validation import fit_class_probabilities, heldout_votes


def _two_blobs(n_per_class=9, seed=0):
    rng = np.random.default_rng(seed)
    y = np.repeat([0, 1], n_per_class)
    X = np.where(y[:, None] == 0, -3.0, 3.0) + rng.standard_normal((y.size, 2))
    return X, y


def test_flags_a_planted_flip():
    X, y = _two_blobs()
    y[2] = 1
    is_clean = CrossValidation(random_state=0).fit_predict(X, y)
    assert not is_clean[2] and is_clean.sum() == y.size - 1


def test_heldout_gives_one_vote_per_repeat_and_reference_votes_with_every_model():
    X, y = _two_blobs()
    held = heldout_votes(X, y, 2, n_folds=3, n_repeats=4, rng=np.random.default_rng(0))
    np.testing.assert_array_equal(held.votes, np.full(y.size, 4))
    assert held.proba.shape == (4, y.size, 2)
    np.testing.assert_allclose(held.proba.sum(axis=2), 1.0)
    f = CrossValidation(mode="reference", random_state=0)
    f.fit_predict(X, y)
    assert f.scores_.min() > 0.5  # every model of both blobs predicts the given label


def test_majority_rule_fewer_than_half_agree_is_noisy():
    X, y = _two_blobs(12, seed=4)
    y[0] = 1
    f = CrossValidation(n_repeats=5, random_state=1)
    is_clean = f.fit_predict(X, y)
    held = heldout_votes(X, y, 2, n_folds=3, n_repeats=5, rng=np.random.default_rng(1))
    np.testing.assert_array_equal(is_clean, 2 * held.agree >= held.votes)
    np.testing.assert_allclose(f.scores_, held.given_probability)
    assert not is_clean[0]


def test_class_unseen_by_the_fold_model_abstains():
    """A sample whose label appears nowhere else gets no vote and stays clean (held-out mode)."""
    X, y = _two_blobs()
    X = np.vstack([X, [[10.0, 10.0]]])
    y = np.append(y, 2)
    f = CrossValidation(random_state=0)
    assert f.fit_predict(X, y)[-1] and f.scores_[-1] == 1.0


def test_single_class_training_fold_is_a_constant_model():
    proba = fit_class_probabilities(np.zeros((3, 2)), np.array([1, 1, 1]), np.ones((2, 2)), 3)
    np.testing.assert_array_equal(proba, [[0, 1, 0], [0, 1, 0]])


def test_absent_classes_get_zero_probability():
    X, y = _two_blobs()
    proba = fit_class_probabilities(X, y * 2, X[:3], 4)
    assert proba.shape == (3, 4) and (proba[:, [1, 3]] == 0).all()
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)


@pytest.mark.parametrize("mode", ["heldout", "reference"])
def test_modes_are_seeded(mode):
    X, y = _two_blobs(seed=2)
    y[:3] = 1 - y[:3]
    a = CrossValidation(mode=mode, random_state=5).fit_predict(X, y)
    b = CrossValidation(mode=mode, random_state=5).fit_predict(X, y)
    np.testing.assert_array_equal(a, b)


def test_reference_mode_warns_that_repeats_are_ignored():
    X, y = _two_blobs()
    with pytest.warns(UserWarning, match="n_repeats=3 is ignored in mode='reference'"):
        CrossValidation(mode="reference", n_repeats=3, random_state=0).fit_predict(X, y)
