import numpy as np

from nas.strategies import TypiClust


def _blobs(seed=0, k=4, n_per=30):
    rng = np.random.default_rng(seed)
    centres = np.array([[0, 0], [10, 0], [0, 10], [10, 10]], dtype=float)[:k]
    X = np.concatenate([c + rng.standard_normal((n_per, 2)) for c in centres]).astype(np.float32)
    return X, np.repeat(np.arange(k), n_per)


def test_typiclust_picks_one_typical_sample_per_cluster():
    X, truth = _blobs()
    picks = TypiClust().select(X, 4, random_state=0)
    assert sorted(truth[picks]) == [0, 1, 2, 3]
    for p in picks:  # typical = near the cluster's dense centre
        centre = X[truth == truth[p]].mean(axis=0)
        assert np.linalg.norm(X[p] - centre) < 1.0


def test_typiclust_visits_clusters_with_fewest_labels_first():
    X, truth = _blobs()
    labeled = np.flatnonzero(truth == 0)[:2]
    picks = TypiClust().select(X, 3, clean=labeled, random_state=0)
    assert 0 not in truth[picks]


def test_typiclust_round_robin_beyond_the_cluster_count():
    X, truth = _blobs(k=2, n_per=10)
    picks = TypiClust(max_clusters=2).select(X, 8, random_state=0)
    assert np.bincount(truth[picks]).tolist() == [4, 4]
    assert len(set(picks.tolist())) == 8


def test_typiclust_small_clusters_used_when_large_ones_are_exhausted():
    X, _ = _blobs(k=2, n_per=4)  # every cluster has <= 5 members
    picks = TypiClust(max_clusters=2).select(X, 8, random_state=0)
    assert sorted(picks.tolist()) == list(range(8))


def test_typiclust_is_seeded():
    X, _ = _blobs(seed=3)
    a = TypiClust().select(X, 6, random_state=11)
    b = TypiClust().select(X, 6, random_state=11)
    np.testing.assert_array_equal(a, b)
