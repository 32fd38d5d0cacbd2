"""Training frameworks: the linear probe's hand-written SGD equals torch.optim.SGD, seeding, loader semantics,
the ResNet-18 architecture and the clean-subset fallback."""
import math

import numpy as np
import pytest
import torch

from nas.training import LinearProbe, ResNet18, ResNet18Classifier, make_classifier, train_and_evaluate, \
    training_subset
from nas.training._sgd import cosine_lr, epoch_batches, repeated_indices


def _blobs(rng, n=300, d=8, n_classes=3):
    centres = 4.0 * rng.standard_normal((n_classes, d))
    y = rng.integers(0, n_classes, n)
    return (centres[y] + rng.standard_normal((n, d))).astype(np.float32), y


def _reference_probe(X, y, n_classes, epochs, batch_size, seed):
    """The same recipe written with nn.Linear, autograd and torch.optim.SGD (the oracle)."""
    generator = torch.Generator().manual_seed(seed)
    layer = torch.nn.Linear(X.shape[1], n_classes)
    bound = 1.0 / math.sqrt(X.shape[1])
    init = (torch.rand(n_classes, X.shape[1] + 1, generator=generator) * 2.0 - 1.0) * bound
    with torch.no_grad():
        layer.weight.copy_(init[:, :-1])
        layer.bias.copy_(init[:, -1])
    optimizer = torch.optim.SGD(layer.parameters(), lr=0.025, momentum=0.9, nesterov=True, weight_decay=3e-4)
    index = repeated_indices(X.shape[0], batch_size)
    inputs, targets = torch.from_numpy(X), torch.from_numpy(y)
    for epoch in range(epochs):
        for group in optimizer.param_groups:
            group["lr"] = cosine_lr(0.025, epoch, epochs)
        for batch in epoch_batches(index, batch_size, generator):
            loss = torch.nn.functional.cross_entropy(layer(inputs[batch]), targets[batch])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    return layer.weight.detach().numpy(), layer.bias.detach().numpy()


@pytest.mark.parametrize("n", [37, 250])
def test_linear_probe_equals_torch_sgd_with_nesterov(rng, n):
    X, y = _blobs(rng, n=n)
    probe = LinearProbe(epochs=7, batch_size=20, random_state=5).fit(X, y, n_classes=4)
    weight, bias = _reference_probe(X, y, 4, epochs=7, batch_size=20, seed=5)
    np.testing.assert_allclose(probe.coef_, weight, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(probe.intercept_, bias, rtol=1e-4, atol=1e-5)


def test_linear_probe_learns_separable_classes(rng):
    X, y = _blobs(rng)
    probe = LinearProbe(epochs=60, random_state=0).fit(X[:200], y[:200])
    assert probe.score(X[200:], y[200:]) > 95.0
    assert probe.predict(X).dtype == np.int64
    assert probe.decision_function(X).shape == (300, 3)


def test_linear_probe_same_seed_same_numbers_other_seed_differs(rng):
    X, y = _blobs(rng)
    a = LinearProbe(epochs=5, random_state=3).fit(X, y)
    b = LinearProbe(epochs=5, random_state=3).fit(X, y)
    c = LinearProbe(epochs=5, random_state=4).fit(X, y)
    np.testing.assert_array_equal(a.coef_, b.coef_)
    assert not np.array_equal(a.coef_, c.coef_)


def test_linear_probe_runs_on_every_device(rng, device):
    X, y = _blobs(rng)
    cpu = LinearProbe(epochs=10, random_state=0).fit(X, y)
    other = LinearProbe(epochs=10, random_state=0, device=device).fit(X, y)
    np.testing.assert_allclose(other.coef_, cpu.coef_, rtol=1e-3, atol=1e-4)


def test_loader_repeats_small_sets_and_drops_the_last_batch():
    assert repeated_indices(30, 100).numel() == 120
    assert repeated_indices(1, 100).numel() == 128
    assert repeated_indices(150, 100).numel() == 150
    generator = torch.Generator().manual_seed(0)
    batches = epoch_batches(repeated_indices(30, 100), 100, generator)
    assert batches.shape == (1, 100)
    assert torch.bincount(batches.flatten(), minlength=30).max() <= 4
    assert epoch_batches(repeated_indices(250, 100), 100, generator).shape == (2, 100)


def test_cosine_schedule_starts_at_base_and_halves_midway():
    assert cosine_lr(0.025, 0, 500) == pytest.approx(0.025)
    assert cosine_lr(0.025, 250, 500) == pytest.approx(0.0125)
    assert cosine_lr(0.025, 499, 500) < 1e-6


def test_single_sample_trains(rng):
    probe = LinearProbe(epochs=3, random_state=0).fit(rng.standard_normal((1, 4)), [2], n_classes=3)
    assert probe.coef_.shape == (3, 4)


@pytest.mark.parametrize("kwargs, exc", [
    (dict(epochs=0), ValueError), (dict(lr=-1.0), ValueError), (dict(batch_size=0), ValueError),
    (dict(device="tpu"), ValueError), (dict(random_state="x"), TypeError)])
def test_linear_probe_rejects_bad_parameters(rng, kwargs, exc):
    X, y = _blobs(rng, n=20)
    with pytest.raises(exc, match="LinearProbe"):
        LinearProbe(**kwargs).fit(X, y)


def test_linear_probe_rejects_bad_labels(rng):
    X, y = _blobs(rng, n=20)
    with pytest.raises(ValueError, match="labels in \\[0, 2\\)"):
        LinearProbe(epochs=1).fit(X, y, n_classes=2)
    with pytest.raises(ValueError, match="one per row"):
        LinearProbe(epochs=1).fit(X, y[:5])
    with pytest.raises(ValueError, match="finite"):
        LinearProbe(epochs=1).fit(np.full((3, 2), np.nan), [0, 1, 0])


def test_resnet18_has_the_cifar_architecture():
    model = ResNet18(100)
    assert sum(p.numel() for p in model.parameters()) == 11_220_132
    assert model.stem[0].stride == (1, 1) and model.stem[0].kernel_size == (3, 3)
    assert model(torch.zeros(2, 3, 32, 32)).shape == (2, 100)


def test_resnet18_classifier_is_seeded_and_predicts(rng):
    images = rng.integers(0, 256, (30, 8, 8, 3), dtype=np.uint8)
    y = rng.integers(0, 3, 30)
    make = lambda seed: ResNet18Classifier(epochs=2, width=4, batch_size=16, random_state=seed).fit(images, y)
    a, b, c = make(1), make(1), make(2)
    np.testing.assert_array_equal(a.decision_function(images), b.decision_function(images))
    assert not np.array_equal(a.decision_function(images), c.decision_function(images))
    assert a.predict(images).shape == (30,)
    assert 0.0 <= a.score(images, y) <= 100.0


def test_resnet18_classifier_rejects_float_images(rng):
    with pytest.raises(TypeError, match="uint8"):
        ResNet18Classifier(epochs=1).fit(rng.random((4, 8, 8, 3)), [0, 1, 0, 1])


def test_training_subset_uses_clean_samples_or_all():
    rows, fell_back = training_subset([True, False, True])
    np.testing.assert_array_equal(rows, [0, 2])
    assert not fell_back
    rows, _ = training_subset([True, False, True], train_on_all_labeled=True)
    np.testing.assert_array_equal(rows, [0, 1, 2])


def test_training_subset_falls_back_when_everything_is_noisy():
    with pytest.warns(UserWarning, match="all 3 labeled samples as noisy"):
        rows, fell_back = training_subset([False, False, False])
    np.testing.assert_array_equal(rows, [0, 1, 2])
    assert fell_back
    with pytest.raises(ValueError, match="empty labeled set"):
        training_subset([])


def test_train_and_evaluate_trains_on_the_clean_part(rng):
    X, y = _blobs(rng)
    noisy_y = y.copy()
    noisy_y[:100] = (y[:100] + 1) % 3
    is_clean = np.arange(300) >= 100
    clean = train_and_evaluate(make_classifier("linear", epochs=40, random_state=0), X, noisy_y, X, y,
                               is_clean=is_clean, n_classes=3)
    assert clean.n_train == 200 and not clean.fell_back_to_all
    assert clean.accuracy > 95.0
    everything = train_and_evaluate(make_classifier("linear", epochs=40, random_state=0), X, noisy_y, X, y,
                                    is_clean=is_clean, n_classes=3, train_on_all_labeled=True)
    assert everything.n_train == 300


def test_make_classifier_defaults():
    assert make_classifier("linear").epochs == 500
    assert make_classifier("resnet18").epochs == 200
    with pytest.raises(ValueError, match="framework"):
        make_classifier("vit")
