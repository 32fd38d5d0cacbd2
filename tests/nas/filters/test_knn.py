import numpy as np
import pytest
from sklearn.neighbors import NearestNeighbors

from nas.filters import KNN


def test_k_is_labeled_size_over_classes():
    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((47, 3)), np.arange(47) % 5
    f = KNN()
    f.fit_predict(X, y, n_classes=5)
    assert f.k_ == 9
    f.fit_predict(X, y, n_classes=100)
    assert f.k_ == 1  # floor(47 / 100) = 0 -> at least one neighbour


def test_leave_one_out_vote_matches_a_brute_force_count():
    rng = np.random.default_rng(1)
    X, y = rng.standard_normal((40, 2)), rng.integers(0, 4, 40)
    f = KNN()
    is_clean = f.fit_predict(X, y, n_classes=4)
    _, neighbours = NearestNeighbors(n_neighbors=f.k_ + 1).fit(X).kneighbors(X)
    for i in range(40):
        votes = np.bincount(y[[j for j in neighbours[i] if j != i][:f.k_]], minlength=4)
        assert is_clean[i] == (votes[y[i]] == votes.max())
        assert f.scores_[i] == votes[y[i]] / f.k_


def test_tie_with_own_label_is_clean():
    X = np.array([[0.0], [1.0], [-1.1], [10.0], [11.0]])
    y = np.array([0, 0, 1, 1, 1])
    # k = floor(5 / 2) = 2; sample 0's neighbours are 1 (label 0) and 2 (label 1): a tie.
    is_clean = KNN().fit_predict(X, y)
    assert is_clean[0]


def test_reference_mode_includes_self_and_needs_k_of_three():
    X = np.array([[0.0], [0.1], [0.2], [0.3], [5.0], [5.1]])
    y = np.array([0, 0, 1, 0, 1, 1])
    # k = floor(6 / 2) = 3 with sample 2 as its own first neighbour: labels 1, 0, 0 -> noisy.
    assert KNN(mode="reference").fit_predict(X, y).tolist() == [True, True, False, True, True, True]
    f = KNN(mode="reference")
    f.fit_predict(X, y, n_classes=3)
    assert f.k_ == 2 and f.is_clean_.all()  # k < 3: filter disabled
    assert not KNN().fit_predict(X, y)[2]  # the paper's leave-one-out vote catches it


def test_reference_mode_breaks_ties_by_distance_order():
    X = np.array([[0.0], [0.4], [-0.5], [3.0], [3.1], [3.2], [9.0], [9.1], [9.2]])
    y = np.array([0, 1, 1, 0, 0, 0, 2, 2, 2])
    # k = 3: sample 1's neighbours in distance order are itself (1), 0 (0), 2 (1) -> majority 1.
    # sample 0's neighbours: itself (0), 1 (1), 2 (1) -> majority 1, noisy.
    is_clean = KNN(mode="reference").fit_predict(X, y)
    assert is_clean[1] and not is_clean[0]


@pytest.mark.parametrize("mode", ["paper", "reference"])
def test_detects_planted_noise(planted, mode):
    data = planted(samples_per_class=10, noise_rate=0.2, seed=4)
    is_clean = KNN(mode=mode).fit_predict(data.X, data.y, n_classes=10)
    assert (~is_clean & data.is_noisy).sum() >= 0.8 * data.is_noisy.sum()
