"""ActiveLabelCorrection: rounds, baselines, determinism and bad input."""
import numpy as np
import pytest

from nas.correction import METHODS, ActiveLabelCorrection
from nas.correction.simulate import correction_table, plot_correction, simulate
from nas.noise import SymmetricNoise
from nas.training import LinearProbe


def _blobs(n_per=40, k=3, seed=0):
    rng = np.random.default_rng(seed)
    X = (np.repeat(np.eye(k, 6) * 4, n_per, axis=0) + rng.standard_normal((n_per * k, 6))).astype(np.float32)
    truth = np.repeat(np.arange(k), n_per)
    noisy = truth.copy()
    wrong = rng.choice(truth.size, truth.size // 5, replace=False)
    noisy[wrong] = (noisy[wrong] + 1) % k
    return X, truth, noisy


FAST = dict(epochs=10, lr=0.1, train_batch_size=20)


@pytest.mark.parametrize("method", sorted(METHODS))
def test_every_method_queries_distinct_unrelabelled_samples_and_applies_answers(method):
    X, truth, noisy = _blobs()
    alc = ActiveLabelCorrection(method=method, batch_size=10, random_state=0, **FAST).fit(X, noisy)
    result = alc.run(lambda idx: truth[idx], budget=25, X_test=X, y_test=truth, y_true=truth)
    assert [h["batch"] for h in result.history] == [0, 10, 10, 5]
    assert len(set(result.order.tolist())) == 25 and result.relabelled.sum() == 25
    np.testing.assert_array_equal(result.labels[result.order], truth[result.order])
    untouched = ~result.relabelled
    np.testing.assert_array_equal(result.labels[untouched], noisy[untouched])
    assert all(0.0 <= h["hit_rate"] <= 1.0 for h in result.history[1:])


def test_loss_ranking_finds_the_wrong_labels_and_robust_weights_flag_them():
    X, truth, noisy = _blobs()
    loss = ActiveLabelCorrection(method="loss", batch_size=10, random_state=0, **FAST).fit(X, noisy)
    assert np.mean(noisy[loss.select()] != truth[loss.select()]) >= 0.9
    alc = ActiveLabelCorrection(batch_size=10, random_state=0, **FAST).fit(X, noisy)
    wrong = noisy != truth
    assert alc.alpha_[wrong].mean() < alc.alpha_[~wrong].mean()
    row = alc.run(lambda idx: truth[idx], budget=10, y_true=truth).history[0]
    assert row["weight_auroc"] > 0.8


@pytest.mark.parametrize("method", ["alc", "random", "entropy"])
def test_same_seed_same_queries(method):
    X, truth, noisy = _blobs()
    runs = [ActiveLabelCorrection(method=method, batch_size=8, random_state=5, **FAST).fit(X, noisy)
            .run(lambda idx: truth[idx], budget=16) for _ in range(2)]
    np.testing.assert_array_equal(runs[0].order, runs[1].order)
    np.testing.assert_array_equal(runs[0].alpha, runs[1].alpha)


def test_local_propagation_runs_the_same_loop():
    X, truth, noisy = _blobs()
    result = ActiveLabelCorrection(batch_size=10, propagation="local", random_state=0, **FAST).fit(X, noisy) \
        .run(lambda idx: truth[idx], budget=20)
    assert result.relabelled.sum() == 20


def test_bad_input_gives_clear_errors():
    X, truth, noisy = _blobs()
    alc = ActiveLabelCorrection(batch_size=10, **FAST)
    with pytest.raises(ValueError, match="'budget' parameter of ActiveLabelCorrection.run must be an int in"):
        alc.fit(X, noisy).run(lambda idx: truth[idx], budget=X.shape[0] + 1)
    bad = noisy.copy()
    bad[0] = 7
    with pytest.raises(ValueError, match=r"labels in \[0, 3\)"):
        alc.fit(X, bad, n_classes=3)
    Xn = X.copy()
    Xn[4, 2] = np.nan
    with pytest.raises(ValueError, match="finite"):
        alc.fit(Xn, noisy)
    with pytest.raises(ValueError, match="method"):
        ActiveLabelCorrection(method="corractive")
    with pytest.raises(TypeError, match="'pin_relabelled' parameter of ActiveLabelCorrection must be a bool"):
        ActiveLabelCorrection(pin_relabelled="yes")
    with pytest.raises(ValueError, match="'anchor_percentile' parameter"):
        ActiveLabelCorrection(anchor_percentile=0.0)
    with pytest.raises(ValueError, match="'transition_smoothing' parameter"):
        ActiveLabelCorrection(transition_smoothing=-1.0)
    with pytest.raises(ValueError, match="candidate_size"):
        ActiveLabelCorrection(candidate_size=0)
    with pytest.raises(RuntimeError, match="fit"):
        ActiveLabelCorrection().select()
    fitted = ActiveLabelCorrection(batch_size=5, **FAST).fit(X, noisy)
    with pytest.raises(ValueError, match="not re-labelled before"):
        fitted.update([1, 1], [0, 0])
    with pytest.raises(ValueError, match="'n' parameter"):
        fitted.select(X.shape[0] + 1)


def test_simulate_writes_both_measures(tmp_path):
    X, truth, _ = _blobs()
    result = simulate(X, truth, X, truth, noise=SymmetricNoise(0.3), budget=20, batch_size=10,
                      methods=["random", "loss", "alc"], repeats=2, params=FAST, progress=False)
    table = correction_table(result)
    assert "hit_rate" in table and "accuracy" in table and "alc" in table
    rows = {(r["strategy"], r["round"]): r for r in result.summary}
    assert rows[("loss", 1)]["hit_rate_mean"] > rows[("random", 1)]["hit_rate_mean"]
    assert rows[("random", 2)]["budget"] == 20 and rows[("random", 2)]["n_repeats"] == 2
    paths = plot_correction(result, tmp_path)
    assert paths["accuracy"].exists() and paths["hit_rate"].with_suffix(".csv").exists()
    with pytest.raises(ValueError, match="budget"):
        simulate(X, truth, X, truth, noise=SymmetricNoise(0.3), budget=10_000, batch_size=10, progress=False)


#: Each method's 20 queries on _blobs() with FAST, seed 0, batches of 10, recorded before DALC and pinning were
#: added (commit 753cf89): the defaults must keep selecting exactly these.
RECORDED_ORDERS = {
    "alc": [86, 23, 56, 108, 98, 112, 71, 68, 57, 67, 52, 18, 14, 80, 118, 55, 93, 84, 74, 49],
    "alc_topq": [86, 23, 14, 55, 52, 56, 71, 108, 21, 35, 93, 80, 98, 118, 54, 65, 77, 114, 57, 60],
    "entropy": [23, 86, 18, 52, 2, 14, 55, 21, 40, 42, 56, 89, 71, 93, 9, 66, 31, 50, 101, 73],
    "loss": [88, 27, 98, 80, 108, 91, 30, 74, 67, 118, 114, 38, 49, 29, 65, 3, 57, 44, 56, 21],
    "lossent": [88, 27, 98, 108, 80, 30, 91, 74, 118, 67, 114, 38, 49, 29, 65, 57, 3, 44, 56, 21],
    "random": [88, 66, 44, 34, 71, 2, 98, 113, 19, 50, 108, 28, 26, 75, 92, 56, 39, 94, 93, 111],
}


@pytest.mark.parametrize("method", sorted(RECORDED_ORDERS))
def test_defaults_select_what_they_selected_before_dalc_and_pinning(method):
    X, truth, noisy = _blobs()
    runs = [ActiveLabelCorrection(method=method, batch_size=10, random_state=0, **FAST, **extra).fit(X, noisy)
            .run(lambda idx: truth[idx], budget=20) for extra in ({}, {"pin_relabelled": False})]
    assert runs[0].order.tolist() == RECORDED_ORDERS[method]
    np.testing.assert_array_equal(runs[0].alpha, runs[1].alpha)
    assert runs[0].transition is None


def test_pinning_gives_relabelled_samples_the_largest_weight():
    X, truth, noisy = _blobs()
    alc = ActiveLabelCorrection(batch_size=10, pin_relabelled=True, random_state=0, **FAST).fit(X, noisy)
    plain = ActiveLabelCorrection(batch_size=10, random_state=0, **FAST).fit(X, noisy)
    np.testing.assert_array_equal(alc.alpha_, plain.alpha_)               # nothing re-labelled yet: no effect
    picks = alc.select()
    alc.update(picks, truth[picks])
    assert alc.alpha_.sum() == pytest.approx(1.0, abs=1e-12)
    np.testing.assert_array_equal(alc.alpha_[picks], np.full(picks.size, alc.alpha_.max()))
    plain.update(picks, truth[picks])
    assert plain.alpha_[picks].min() < plain.alpha_.max()                 # the paper's: not pinned
    assert len(set(alc.select().tolist()) & set(picks.tolist())) == 0


def _two_tight_clusters(seed=0):
    """Two tight clusters; 40% of class 0's labels read as 1, class 1's never flip: T = [[.6, .4], [0, 1]]."""
    rng = np.random.default_rng(seed)
    truth = np.repeat([0, 1], 60)
    X = (np.c_[np.where(truth == 0, -1.0, 1.0), np.zeros(120)] + 0.05 * rng.standard_normal((120, 2)))
    noisy = truth.copy()
    noisy[rng.choice(60, 24, replace=False)] = 1
    return X.astype(np.float32), truth, noisy


DALC_FAST = dict(epochs=30, lr=0.5, train_batch_size=20)


def test_dalc_estimates_the_flip_then_learns_it_from_the_answers():
    X, truth, noisy = _two_tight_clusters()
    alc = ActiveLabelCorrection(method="dalc", batch_size=20, random_state=0, **DALC_FAST).fit(X, noisy)
    T0 = alc.transition_
    np.testing.assert_allclose(T0.sum(axis=1), 1.0)
    assert T0[1, 0] < 0.05 and 0.2 < T0[0, 1] < 0.5                    # the anchors see the flip (0.4) direction
    result = alc.run(lambda idx: truth[idx], budget=40, y_true=truth)
    assert np.isfinite([row["transition_error"] for row in result.history]).all()
    S = result.relabelled
    counts = np.zeros((2, 2))
    np.add.at(counts, (truth[S], noisy[S]), 1.0)
    expected = (counts + 2 * T0) / (counts.sum(axis=1, keepdims=True) + 2)  # add-one, shared as round 0's row
    np.testing.assert_allclose(result.transition, expected)
    np.testing.assert_allclose(result.transition.sum(axis=1), 1.0)
    entropy = ActiveLabelCorrection(method="entropy", batch_size=20, random_state=0, **DALC_FAST).fit(X, noisy)
    assert alc.probe_.score(X, truth) >= entropy.probe_.score(X, truth)


def test_dalc_corrects_only_the_unverified_labels():
    X, truth, noisy = _two_tight_clusters()
    alc = ActiveLabelCorrection(method="dalc", batch_size=20, random_state=0, **DALC_FAST).fit(X, noisy)
    picks = alc.select()
    alc.update(picks, truth[picks], retrain=False)
    seen = {}
    original_fit = LinearProbe.fit

    def spy(self, *args, **kwargs):
        seen.update(kwargs)
        return original_fit(self, *args, **kwargs)

    LinearProbe.fit = spy
    try:
        alc.train_round()
    finally:
        LinearProbe.fit = original_fit
    np.testing.assert_array_equal(seen["transition_mask"], ~alc.relabelled_)
    np.testing.assert_array_equal(seen["transition"], alc.transition_)


def test_dalc_is_deterministic_and_resumes_like_an_uninterrupted_run():
    X, truth, noisy = _two_tight_clusters()
    runs = [ActiveLabelCorrection(method="dalc", batch_size=15, random_state=2, **DALC_FAST).fit(X, noisy)
            .run(lambda idx: truth[idx], budget=30) for _ in range(2)]
    np.testing.assert_array_equal(runs[0].order, runs[1].order)
    np.testing.assert_array_equal(runs[0].transition, runs[1].transition)
    first = runs[0].order[:15]
    current = noisy.copy()
    current[first] = truth[first]
    done = np.zeros(noisy.size, dtype=bool)
    done[first] = True
    resumed = ActiveLabelCorrection(method="dalc", batch_size=15, random_state=2, **DALC_FAST) \
        .fit(X, current, relabelled=done, start_round=1, observed=noisy)
    np.testing.assert_array_equal(resumed.select(), runs[0].order[15:])
    with pytest.raises(ValueError, match="'observed' parameter of ActiveLabelCorrection.fit must be equal to y"):
        ActiveLabelCorrection(method="dalc", **DALC_FAST).fit(X, current, observed=noisy)
