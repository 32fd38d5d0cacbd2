import numpy as np
import pytest
import torch

from nas.filters import LowBudgetDisagreeNet
from nas.filters._beta_mixture import _two_means_split, high_component_posterior
from nas.filters.disagreenet import _monotone_clean


def test_beta_mixture_separates_two_modes():
    rng = np.random.default_rng(0)
    values = np.concatenate([rng.beta(2, 12, 40), rng.beta(12, 2, 60)])
    posterior = high_component_posterior(values)
    assert (posterior[:40] < 0.5).mean() > 0.9 and (posterior[40:] > 0.5).mean() > 0.9


def test_beta_mixture_needs_two_distinct_values():
    assert high_component_posterior(np.full(5, 0.7)) is None
    assert high_component_posterior(np.array([0.0, 1e-6])) is None  # equal after clipping


def test_two_means_split_is_exact():
    values = np.array([0.1, 0.9, 0.15, 0.8, 0.85])
    np.testing.assert_array_equal(_two_means_split(values), [False, True, False, True, True])


def test_decision_is_a_threshold_on_agreement():
    elp = np.array([0.1, 0.3, 0.5, 0.7, 0.9])
    posterior = np.array([0.9, 0.2, 0.4, 0.6, 0.9])  # a broad high component claiming the far tail
    np.testing.assert_array_equal(_monotone_clean(elp, posterior), [False, False, False, True, True])


def test_scores_are_ensemble_agreement_and_training_stops_early(planted):
    data = planted(noise_rate=0.2, seed=5)
    f = LowBudgetDisagreeNet(random_state=0)
    is_clean = f.fit_predict(data.X, data.y)
    assert ((f.scores_ >= 0) & (f.scores_ <= 1)).all() and f.epochs_ < 300
    assert f.scores_[data.is_noisy].mean() < f.scores_[~data.is_noisy].mean()
    assert f.scores_[is_clean].min() > f.scores_[~is_clean].max()


def test_only_labeled_samples_are_scored(planted):
    """No label leak: the scores depend on (X, y) alone, not on the pool."""
    data = planted(noise_rate=0.2, seed=6)
    a = LowBudgetDisagreeNet(random_state=0, max_epochs=20)
    b = LowBudgetDisagreeNet(random_state=0, max_epochs=20)
    a.fit_predict(data.X, data.y)
    b.fit_predict(data.X, data.y, pool=data.pool)
    np.testing.assert_array_equal(a.scores_, b.scores_)


@pytest.mark.cuda
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_matches_cpu(planted):
    data = planted(noise_rate=0.2, seed=3)
    cpu = LowBudgetDisagreeNet(random_state=0)
    cpu.fit_predict(data.X, data.y)
    gpu = LowBudgetDisagreeNet(device="cuda", random_state=0)
    gpu.fit_predict(data.X, data.y)
    assert abs(cpu.epochs_ - gpu.epochs_) <= 1
    np.testing.assert_allclose(cpu.scores_, gpu.scores_, atol=0.05)
