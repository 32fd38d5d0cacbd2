import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from nas.noise import (AsymmetricNoise, FixedLabels, InstanceDependentNoise, SimulatedAnnotator, SymmetricNoise,
                       make_noise)


@given(n=st.integers(0, 300), n_classes=st.integers(2, 12), rate=st.floats(0, 1), seed=st.integers(0, 2**32))
def test_symmetric_noise_is_exact_and_never_the_true_label(n, n_classes, rate, seed):
    true = np.random.default_rng(seed).integers(0, n_classes, n)
    noisy = SymmetricNoise(rate).apply(true, n_classes=n_classes, random_state=seed)
    assert noisy.dtype == np.int64 and noisy.shape == true.shape
    assert (noisy != true).sum() == int(np.floor(rate * n + 1e-9))
    assert noisy.min(initial=0) >= 0 and noisy.max(initial=0) < n_classes


def test_symmetric_rate_floors_despite_binary_fractions():
    noisy = SymmetricNoise(0.29).apply(np.zeros(100, dtype=int), n_classes=3, random_state=0)
    assert (noisy != 0).sum() == 29


def test_symmetric_new_labels_are_uniform_over_the_other_classes():
    true = np.zeros(30000, dtype=int)
    noisy = SymmetricNoise(1.0).apply(true, n_classes=4, random_state=1)
    counts = np.bincount(noisy, minlength=4)
    assert counts[0] == 0 and np.allclose(counts[1:] / 30000, 1 / 3, atol=0.01)


@pytest.mark.parametrize("noise", [SymmetricNoise(0.4), AsymmetricNoise(0.4, np.ones((5, 5))),
                                   InstanceDependentNoise(0.4)])
def test_same_seed_same_labels_and_seeds_differ(noise):
    rng = np.random.default_rng(0)
    true, X = rng.integers(0, 5, 200), rng.standard_normal((200, 3))
    a = noise.apply(true, n_classes=5, random_state=3, X=X)
    np.testing.assert_array_equal(a, noise.apply(true, n_classes=5, random_state=3, X=X))
    assert not np.array_equal(a, noise.apply(true, n_classes=5, random_state=4, X=X))


def test_asymmetric_follows_the_transition_rows():
    T = np.array([[0.5, 0.5, 0.0], [0.0, 0.7, 0.3], [0.0, 0.0, 1.0]])
    true = np.repeat([0, 1, 2], 1000)
    noisy = AsymmetricNoise(0.3, T).apply(true, n_classes=3, random_state=0)
    assert (noisy != true).sum() == 900
    assert set(noisy[true == 0]) <= {0, 1} and set(noisy[true == 1]) <= {1, 2} and (noisy[true == 2] == 2).all()
    # class shares ∝ N_c (1 - T_cc): 0.5 : 0.3 : 0 of 900, i.e. 562.5 and 337.5
    assert abs((noisy[true == 0] != 0).sum() - 562.5) == 0.5


def test_asymmetric_reference_allocation_is_nearly_uniform():
    T = np.array([[0.5, 0.5, 0.0], [0.0, 0.7, 0.3], [0.2, 0.2, 0.6]])
    true = np.repeat([0, 1, 2], 1000)
    noisy = AsymmetricNoise(0.3, T, reference_allocation=True).apply(true, n_classes=3, random_state=0)
    flips = [(noisy[true == c] != c).sum() for c in range(3)]
    weights = 1 - np.diag(T) / 3  # 0.833, 0.767, 0.8
    np.testing.assert_allclose(flips, 900 * weights / weights.sum(), atol=1)


def test_asymmetric_caps_each_class_at_its_size_and_rejects_impossible_rates():
    T = np.array([[0.0, 1.0], [0.0, 1.0]])  # only class 0 can flip
    true = np.array([0] * 3 + [1] * 7)
    noisy = AsymmetricNoise(0.3, T).apply(true, n_classes=2, random_state=0)
    assert (noisy[:3] == 1).all() and (noisy[3:] == 1).all()
    with pytest.raises(ValueError, match="The 'rate' parameter of AsymmetricNoise must be at most 0.3"):
        AsymmetricNoise(0.4, T).apply(true, n_classes=2, random_state=0)


@pytest.mark.parametrize("T, message", [(np.ones((2, 2)), r"a square matrix of shape \(3, 3\)"),
                                        (-np.eye(3), "non-negative with a positive sum in every row"),
                                        (np.zeros((3, 3)), "non-negative with a positive sum in every row")])
def test_asymmetric_rejects_bad_matrices(T, message):
    with pytest.raises(ValueError, match="The 'transition' parameter of AsymmetricNoise must be " + message):
        AsymmetricNoise(0.2, T).apply([0, 1, 2], n_classes=3)


def _knn_noise_agreement(X, is_noisy, k=10):
    """Fraction of a noisy sample's k nearest neighbours that are noisy too."""
    d2 = ((X[:, None] - X[None]) ** 2).sum(axis=2)
    np.fill_diagonal(d2, np.inf)
    neighbours = np.argsort(d2, axis=1)[:, :k]
    return is_noisy[neighbours][is_noisy].mean()


def test_instance_dependent_noise_forms_clusters():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((600, 4))
    true = (X[:, 0] > 0).astype(int) + 2 * (X[:, 1] > 0)
    instance = InstanceDependentNoise(0.2, n_regions=4).apply(true, n_classes=4, random_state=1, X=X)
    spread_out = InstanceDependentNoise(0.2, concentration=0.0).apply(true, n_classes=4, random_state=1, X=X)
    symmetric = SymmetricNoise(0.2).apply(true, n_classes=4, random_state=1)
    assert (instance != true).sum() == 120
    assert _knn_noise_agreement(X, instance != true) > 2 * _knn_noise_agreement(X, symmetric != true)
    assert _knn_noise_agreement(X, spread_out != true) < 0.3


def test_instance_dependent_labels_confuse_the_nearest_class():
    X = np.array([[0.0], [0.1], [1.0], [1.1], [10.0], [10.1]])
    true = np.array([0, 0, 1, 1, 2, 2])
    noisy = InstanceDependentNoise(1.0).apply(true, n_classes=3, random_state=0, X=X)
    np.testing.assert_array_equal(noisy, [1, 1, 0, 0, 1, 1])
    uniform = InstanceDependentNoise(1.0, label_choice="uniform").apply(true, n_classes=3, random_state=0, X=X)
    assert (uniform != true).all()


def test_instance_dependent_needs_matching_features():
    with pytest.raises(ValueError, match="The 'X' parameter of InstanceDependentNoise.apply must be the"):
        InstanceDependentNoise(0.2).apply([0, 1], n_classes=2)
    with pytest.raises(ValueError, match="one row per label"):
        InstanceDependentNoise(0.2).apply([0, 1], n_classes=2, X=np.zeros((3, 2)))


def test_fixed_labels_and_files(tmp_path):
    labels = np.array([2, 0, 1, 1])
    np.testing.assert_array_equal(FixedLabels(labels).apply([2, 0, 0, 1], n_classes=3), labels)
    np.save(tmp_path / "labels.npy", labels)
    (tmp_path / "labels.txt").write_text("2\n0\n1\n1\n")
    torch.save({"noisy_label": torch.tensor(labels)}, tmp_path / "human.pt")
    for noise in (make_noise("file", path=tmp_path / "labels.npy"), make_noise("file", path=tmp_path / "labels.txt"),
                  make_noise("file", path=tmp_path / "human.pt", key="noisy_label")):
        np.testing.assert_array_equal(noise.apply([0, 0, 0, 0], n_classes=3), labels)
    with pytest.raises(ValueError, match="'noisy_labels' parameter of FixedLabels.apply must be one label per sample"):
        FixedLabels(labels).apply([0, 1], n_classes=3)
    with pytest.raises(ValueError, match=r"integer labels in \[0, 2\)\. Got label 2"):
        FixedLabels(labels).apply([0, 0, 0, 0], n_classes=2)
    with pytest.raises(FileNotFoundError):
        FixedLabels.from_file(tmp_path / "missing.npy")


def test_annotator_repeats_its_mistakes():
    true = np.arange(100) % 7
    annotator = SimulatedAnnotator(true, SymmetricNoise(0.3), n_classes=7, random_state=0)
    first = annotator(np.arange(100))
    np.testing.assert_array_equal(annotator([5, 5, 5]), [first[5]] * 3)
    np.testing.assert_array_equal(annotator(np.arange(100)), first)
    np.testing.assert_array_equal(annotator.is_noisy, first != true)
    assert annotator.noise_rate == 0.3 and len(annotator) == 100


def test_annotator_and_noise_input_errors():
    with pytest.raises(ValueError, match=r"The 'true_labels' parameter of SymmetricNoise.apply must be integer "
                                         r"labels in \[0, 3\)\. Got label 3 instead"):
        SymmetricNoise(0.1).apply([0, 3], n_classes=3)
    with pytest.raises(ValueError, match=r"The 'rate' parameter of SymmetricNoise must be a float in \[0, 1\]"):
        SymmetricNoise(1.2).apply([0, 1], n_classes=3)
    with pytest.raises(ValueError, match="The 'n_classes' parameter of SymmetricNoise.apply must be at least 2"):
        SymmetricNoise(0.5).apply([0, 0], n_classes=1)
    annotator = SimulatedAnnotator([0, 1, 2], SymmetricNoise(0.0), n_classes=3)
    with pytest.raises(ValueError, match=r"The 'indices' parameter of SimulatedAnnotator must be indices in \[0, 3\)"):
        annotator([3])
    with pytest.raises(TypeError, match="The 'noise' parameter of SimulatedAnnotator must be a noise model"):
        SimulatedAnnotator([0, 1], "sym", n_classes=2)
    with pytest.raises(ValueError, match="The 'name' parameter of make_noise must be one of"):
        make_noise("pairflip", rate=0.1)
