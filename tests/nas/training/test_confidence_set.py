"""MTaDCS selection and label correction on hand-made data where the right answer is obvious."""
import numpy as np
import pytest

from nas.training._confidence_set import auto_correction_alpha, correct_labels, select_confidence_set


def _two_clusters(outlier=True):
    """Class 0: 10 points in a tight clump at the origin (+ one far outlier); class 1: 10 points at (10, 10)."""
    rng = np.random.default_rng(0)
    z = np.concatenate([0.1 * rng.standard_normal((10, 2)), 10 + 0.1 * rng.standard_normal((10, 2))])
    y = np.repeat([0, 1], 10)
    if outlier:
        z = np.vstack([z, [[4.0, -4.0]]])
        y = np.append(y, 0)
    return z, y


def test_a_class_outlier_does_not_join_while_its_clump_does():
    z, y = _two_clusters()
    sel = select_confidence_set(z, y, y.copy(), np.zeros(len(y), bool), n_neighbors=5)
    assert sel.added[:20].all()
    assert not sel.added[20]
    assert sel.lof[20] > 1.5 and np.all(sel.lof[:20] < 1.5)
    assert not sel.removed.any()


def test_a_mislabeled_point_whose_prediction_disagrees_never_enters():
    z, y = _two_clusters(outlier=False)
    z = np.vstack([z, [[0.01, 0.02]]])       # sits inside class 0's clump ...
    y = np.append(y, 1)                       # ... labelled 1, and the model predicts 0
    predictions = np.append(y[:-1], 0)
    for reference in ("candidates", "G_c+P_c"):
        sel = select_confidence_set(z, y, predictions, np.zeros(len(y), bool), n_neighbors=5,
                                    reference=reference)
        assert not sel.added[-1] and not sel.agrees[-1] and np.isnan(sel.lof[-1])
        assert sel.added[:20].all()


def test_members_whose_prediction_disagrees_are_removed_and_added_removed_are_disjoint():
    z, y = _two_clusters()
    in_set = np.zeros(len(y), bool)
    in_set[[0, 1, 10, 11]] = True
    predictions = y.copy()
    predictions[[1, 11]] = 1 - y[[1, 11]]
    sel = select_confidence_set(z, y, predictions, in_set, n_neighbors=5)
    assert np.flatnonzero(sel.removed).tolist() == [1, 11]
    assert not (sel.added & sel.removed).any()
    assert not sel.added[in_set].any()        # members are never re-added or re-scored
    assert np.isnan(sel.lof[in_set]).all()


def test_a_class_with_a_single_candidate_is_skipped():
    z = np.array([[0.0, 0.0], [1.0, 1.0], [1.1, 1.0]])
    y = np.array([0, 1, 1])
    sel = select_confidence_set(z, y, y.copy(), np.zeros(3, bool))
    assert not sel.added[0] and np.isnan(sel.lof[0])
    assert sel.added[1:].all()


def test_the_quantile_rule_keeps_the_lowest_lof_fraction_per_class():
    z, y = _two_clusters()
    sel = select_confidence_set(z, y, y.copy(), np.zeros(len(y), bool), n_neighbors=5, quantile=0.5)
    assert sel.added[y == 0].sum() == 5 and sel.added[y == 1].sum() == 5
    assert not sel.added[20]
    kept = sel.lof[np.flatnonzero(sel.added & (y == 0))]
    dropped = sel.lof[np.flatnonzero(~sel.added & (y == 0))]
    assert kept.max() <= dropped.min()


def test_label_correction_flips_only_above_gamma_and_to_the_argmax():
    P = np.array([[0.2, 0.8, 0.0],      # another class exactly at gamma: no flip (strictly greater)
                  [0.1, 0.0, 0.9],      # above gamma -> flips to class 2
                  [0.9, 0.1, 0.0],      # its own label is the high one: stays
                  [0.15, 0.85, 0.0]])   # above gamma but already labelled 1: stays
    y = np.array([0, 0, 0, 1])
    target = P.copy()                    # alpha blending with itself leaves P unchanged
    P_new, y_new, flipped = correct_labels(P, y, target, alpha=0.5, gamma=0.8)
    np.testing.assert_allclose(P_new, P, atol=1e-7)
    assert flipped.tolist() == [False, True, False, False]
    assert y_new.tolist() == [0, 2, 0, 1]
    assert y.tolist() == [0, 0, 0, 1]    # inputs untouched


def test_label_correction_blends_the_prediction_and_flips_after_the_stated_latency():
    gamma, post = 0.8, 9
    alpha = auto_correction_alpha(gamma, post)
    assert alpha == pytest.approx(1 - 0.2 ** (1 / 6), rel=1e-5)
    P = np.eye(3, dtype=np.float32)[[0]]
    y = np.array([0])
    prediction = np.eye(3, dtype=np.float32)[[2]]
    for epoch in range(1, 7):
        P, y, flipped = correct_labels(P, y, prediction, alpha=alpha, gamma=gamma)
        assert flipped[0] == (epoch == 6), epoch
    assert y[0] == 2
    # With the label's own one-hot as the target (the printed Eq. 7) nothing can ever flip.
    P, y = np.eye(3, dtype=np.float32)[[0]], np.array([0])
    for _ in range(50):
        P, y, flipped = correct_labels(P, y, np.eye(3, dtype=np.float32)[y], alpha=alpha, gamma=gamma)
        assert not flipped.any()
