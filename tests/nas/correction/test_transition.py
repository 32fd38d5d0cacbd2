"""DALC's noise model: the transition estimates and the forward-corrected loss of the linear trainer."""
import numpy as np
import pytest
import torch

from nas.correction.transition import anchor_transition, count_transition, realised_transition, transition_error
from nas.training import LinearProbe
from nas.training.linear import _label_log_likelihood, _logit_gradient

FLIP = np.array([[0.6, 0.4], [0.0, 1.0]])      # class 0 is read as 1 four times in ten, class 1 never flips


def _flip_problem(n_per=300, seed=0, shift=1.0, spread=1.0):
    """Two Gaussian classes at ∓shift (overlapping by default), the labels of class 0 flipped to 1 by FLIP;
    plus a clean test set."""
    rng = np.random.default_rng(seed)

    def draw(m):
        y = np.repeat([0, 1], m)
        X = np.c_[np.where(y == 0, -shift, shift) + spread * rng.standard_normal(2 * m),
                  spread * rng.standard_normal(2 * m)]
        return X.astype(np.float32), y

    X, y = draw(n_per)
    noisy = np.where((y == 0) & (rng.random(y.size) < FLIP[0, 1]), 1, y)
    X_test, y_test = draw(1000)
    return X, y, noisy, X_test, y_test


def _rows_are_distributions(T):
    assert T.shape[0] == T.shape[1] and (T >= 0).all()
    np.testing.assert_allclose(T.sum(axis=1), 1.0, atol=1e-12)


def test_anchor_estimate_recovers_the_flip_direction_from_a_noisy_model():
    X, _, noisy, _, _ = _flip_problem(shift=1.0, spread=0.05)      # two tight clusters: p(y|x) is learnable
    probe = LinearProbe(epochs=30, lr=0.05, random_state=0).fit(X, noisy)
    logits = probe.decision_function(X).astype(np.float64)
    P = np.exp(logits - logits.max(axis=1, keepdims=True))
    P /= P.sum(axis=1, keepdims=True)
    for percentile in (97.0, 100.0):
        T = anchor_transition(P, percentile=percentile)
        _rows_are_distributions(T)
        assert T[0, 1] > T[1, 0] + 0.2            # class 0 leaks into 1, not the other way round
        np.testing.assert_allclose(T, FLIP, atol=0.1)


def test_anchor_rows_are_the_anchor_samples_distributions():
    rng = np.random.default_rng(1)
    P = rng.dirichlet(np.ones(4), size=200)
    T = anchor_transition(P, percentile=100.0)
    np.testing.assert_allclose(T, P[P.argmax(axis=0)])
    robust = anchor_transition(P)                   # below the 97th percentile: not the most extreme sample
    _rows_are_distributions(robust)
    assert all(robust[i, i] < T[i, i] for i in range(4))


def test_count_estimate_follows_counts_and_falls_back_to_the_prior():
    prior = np.array([[0.8, 0.1, 0.1], [0.1, 0.8, 0.1], [0.1, 0.1, 0.8]])
    true = np.array([0] * 30 + [1] * 2)
    observed = np.array([1] * 12 + [0] * 18 + [1, 1])
    T = count_transition(observed, true, 3, prior=prior)
    _rows_are_distributions(T)
    np.testing.assert_allclose(T[2], prior[2])                       # no answers for class 2: the prior
    np.testing.assert_allclose(T[0], (np.array([18, 12, 0]) + 3 * prior[0]) / 33)   # add-one, shared as prior
    assert abs(T[1, 1] - 1.0) < abs(prior[1, 1] - 1.0)               # two answers: part-way to the counts
    raw = count_transition(observed, true, 3, prior=prior, smoothing=0.0)
    np.testing.assert_allclose(raw[0], [0.6, 0.4, 0.0])
    np.testing.assert_allclose(realised_transition(observed, true, 3)[2], [0.0, 0.0, 1.0])
    assert transition_error(T, T) == 0.0 and transition_error(np.eye(2), FLIP) == pytest.approx(0.2)


def test_identity_transition_is_exactly_the_plain_model():
    X, _, noisy, _, _ = _flip_problem(n_per=100)
    kw = dict(epochs=15, lr=0.05, random_state=4, nesterov=False, lr_step=5)
    plain = LinearProbe(**kw).fit(X, noisy, sample_weight=np.linspace(0.5, 1.5, noisy.size))
    same = LinearProbe(**kw).fit(X, noisy, sample_weight=np.linspace(0.5, 1.5, noisy.size), transition=np.eye(2))
    np.testing.assert_array_equal(plain.coef_, same.coef_)
    np.testing.assert_array_equal(plain.intercept_, same.intercept_)
    masked_off = LinearProbe(**kw).fit(X, noisy, sample_weight=np.linspace(0.5, 1.5, noisy.size), transition=FLIP,
                                       transition_mask=np.zeros(noisy.size, dtype=bool))
    np.testing.assert_array_equal(plain.coef_, masked_off.coef_)


def test_forward_gradient_matches_autograd_and_callback_gets_the_corrected_loss():
    rng = np.random.default_rng(2)
    y = rng.integers(0, 3, 50)
    T = rng.dirichlet(np.ones(3), size=3)
    log_lik = torch.from_numpy(_label_log_likelihood(T, None, y, 3, "test"))
    logits = torch.randn(50, 3, requires_grad=True)
    (-torch.logsumexp(torch.log_softmax(logits, dim=1) + log_lik, dim=1)).sum().backward()
    got = _logit_gradient(logits.detach(), torch.from_numpy(y), torch.arange(50), log_lik)
    torch.testing.assert_close(got, logits.grad, atol=1e-6, rtol=1e-5)
    X = rng.standard_normal((50, 4)).astype(np.float32)
    seen = []
    probe = LinearProbe(epochs=2, random_state=0, batch_size=10).fit(X, y, transition=T,
                                                                       epoch_callback=lambda e, l: seen.append(l))
    p = np.exp(probe.decision_function(X).astype(np.float64))
    p /= p.sum(axis=1, keepdims=True)
    np.testing.assert_allclose(seen[-1], -np.log((p @ T)[np.arange(50), y]), rtol=1e-4)    # -log (Tᵀ p)_y


def test_forward_correction_with_the_true_transition_predicts_better():
    X, _, noisy, X_test, y_test = _flip_problem()
    kw = dict(epochs=40, lr=0.05, random_state=0)
    plain = LinearProbe(**kw).fit(X, noisy).score(X_test, y_test)
    corrected = LinearProbe(**kw).fit(X, noisy, transition=FLIP).score(X_test, y_test)
    assert corrected > plain + 3.0


def test_bad_transitions_are_clear_errors():
    X, _, noisy, _, _ = _flip_problem(n_per=20)
    probe = LinearProbe(epochs=1)
    with pytest.raises(ValueError, match=r"'transition' parameter of LinearProbe.fit must be a square matrix of "
                                         r"shape \(2, 2\)"):
        probe.fit(X, noisy, transition=np.eye(3))
    with pytest.raises(ValueError, match="'transition' .* must be row-stochastic"):
        probe.fit(X, noisy, transition=np.array([[0.5, 0.4], [0.0, 1.0]]))
    with pytest.raises(ValueError, match="row-stochastic"):
        probe.fit(X, noisy, transition=np.array([[1.2, -0.2], [0.0, 1.0]]))
    with pytest.raises(ValueError, match="finite"):
        probe.fit(X, noisy, transition=np.array([[np.nan, 1.0], [0.0, 1.0]]))
    with pytest.raises(ValueError, match="'transition_mask' parameter .* boolean mask of shape"):
        probe.fit(X, noisy, transition=FLIP, transition_mask=np.ones(3, dtype=bool))
    with pytest.raises(ValueError, match="every observed label has a positive probability"):
        probe.fit(X, np.ones_like(noisy), transition=np.array([[1.0, 0.0], [1.0, 0.0]]))
    with pytest.raises(ValueError, match="'probabilities' parameter of anchor_transition"):
        anchor_transition(np.array([[0.5, 0.6]]))
    with pytest.raises(ValueError, match="'percentile' parameter"):
        anchor_transition(np.array([[0.5, 0.5]]), percentile=0.0)
    with pytest.raises(ValueError, match="'prior' parameter of count_transition"):
        count_transition([0], [1], 2, prior=np.eye(3))
    with pytest.raises(ValueError, match="'smoothing' parameter"):
        count_transition([0], [1], 2, prior=np.eye(2), smoothing=-1.0)
