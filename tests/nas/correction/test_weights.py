"""Robust weights (Eqs. 3-4) and the weighted trainer they drive."""
import itertools

import numpy as np
import pytest

from nas.correction import RobustWeights, loss_scale, mean_absolute_difference, pin_weights, update_weights
from nas.training import LinearProbe


def test_mean_absolute_difference_matches_the_pairwise_definition():
    rng = np.random.default_rng(0)
    v = rng.random(13)
    brute = np.mean([abs(a - b) for a, b in itertools.permutations(v, 2)])
    assert mean_absolute_difference(v) == pytest.approx(brute, rel=1e-12)
    assert mean_absolute_difference([2.0]) == 0.0


def test_update_moves_weight_away_from_high_losses_and_stays_normalised():
    alpha = np.full(5, 0.2)
    out = update_weights(alpha, np.array([0.1, 0.1, 0.1, 0.1, 3.0]), rate=0.1)
    assert out.sum() == pytest.approx(1.0)
    assert out[4] < 0.2 < out[0]
    # Eq. 3 exactly: (1 - rate) alpha + rate g/|g|_1
    losses = np.array([0.1, 0.1, 0.1, 0.1, 3.0])
    g = np.exp(-losses ** 2 / loss_scale(losses))
    np.testing.assert_allclose(out, 0.9 * alpha + 0.1 * g / g.sum())


def test_equal_losses_keep_uniform_weights():
    out = update_weights(np.full(4, 0.25), np.ones(4))
    np.testing.assert_allclose(out, 0.25)


def test_weighted_probe_ignores_zero_weight_samples():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((200, 4)).astype(np.float32)
    y = (X[:, 0] > 0).astype(np.int64)
    flipped = y.copy()
    flipped[:100] = 1 - flipped[:100]                      # half the labels wrong...
    w = np.ones(200)
    w[:100] = 0.0                                          # ...and weighted out
    clean = LinearProbe(epochs=30, random_state=0).fit(X[100:], y[100:])
    weighted = LinearProbe(epochs=30, random_state=0).fit(X, flipped, sample_weight=w)
    assert weighted.score(X, y) > 90
    assert abs(weighted.score(X, y) - clean.score(X, y)) < 5


def test_epoch_callback_gets_per_sample_losses_every_epoch():
    rng = np.random.default_rng(1)
    X = rng.standard_normal((50, 3)).astype(np.float32)
    y = rng.integers(0, 2, 50)
    seen = []
    LinearProbe(epochs=4, random_state=0).fit(X, y, epoch_callback=lambda e, l: seen.append((e, l.shape)))
    assert seen == [(0, (50,)), (1, (50,)), (2, (50,)), (3, (50,))]
    rw = RobustWeights(50)
    LinearProbe(epochs=3, random_state=0).fit(X, y, sample_weight=rw.initial(), epoch_callback=rw)
    assert rw.alpha.sum() == pytest.approx(1.0) and not np.allclose(rw.alpha, 1 / 50)


def test_step_schedule_and_plain_momentum_are_deterministic():
    rng = np.random.default_rng(2)
    X = rng.standard_normal((80, 3)).astype(np.float32)
    y = rng.integers(0, 3, 80)
    kw = dict(epochs=12, lr=0.01, nesterov=False, lr_step=10, random_state=3)
    a = LinearProbe(**kw).fit(X, y)
    b = LinearProbe(**kw).fit(X, y)
    np.testing.assert_array_equal(a.coef_, b.coef_)
    assert not np.array_equal(a.coef_, LinearProbe(epochs=12, lr=0.01, random_state=3).fit(X, y).coef_)


@pytest.mark.parametrize("weights, message", [(np.ones(3), "shape"), (-np.ones(10), "non-negative"),
                                              (np.full(10, np.nan), "non-negative")])
def test_bad_sample_weights_are_clear_errors(weights, message):
    X = np.zeros((10, 2), np.float32)
    with pytest.raises(ValueError, match=message):
        LinearProbe(epochs=1).fit(X, np.zeros(10, int), sample_weight=weights)


def test_pinned_samples_get_the_largest_weight_after_every_epoch():
    pinned = np.array([True, False, False, False, True])
    rw = RobustWeights(5, pinned=pinned)
    for epoch, losses in enumerate([[3.0, 0.1, 0.2, 0.1, 2.0], [4.0, 0.1, 0.3, 0.1, 0.5]]):
        multipliers = rw(epoch, np.array(losses))
        assert rw.alpha.sum() == pytest.approx(1.0, abs=1e-12)
        np.testing.assert_array_equal(rw.alpha[pinned], [rw.alpha.max()] * 2)
        np.testing.assert_allclose(multipliers, 5 * rw.alpha)
    free = RobustWeights(5, pinned=np.zeros(5, dtype=bool))
    plain = RobustWeights(5)
    np.testing.assert_array_equal(free(0, np.array([3.0, 0.1, 0.2, 0.1, 2.0])),
                                  plain(0, np.array([3.0, 0.1, 0.2, 0.1, 2.0])))
    np.testing.assert_allclose(pin_weights(np.array([0.5, 0.25, 0.25]), np.array([False, True, False])),
                               [0.4, 0.4, 0.2])
    with pytest.raises(ValueError, match="'pinned' parameter of RobustWeights must be a boolean mask of shape"):
        RobustWeights(5, pinned=np.ones(4, dtype=bool))
