"""ActiveLabelCorrection: rounds, baselines, determinism and bad input."""
import numpy as np
import pytest

from nas.correction import METHODS, ActiveLabelCorrection
from nas.correction.simulate import correction_table, plot_correction, simulate
from nas.noise import SymmetricNoise


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
        ActiveLabelCorrection(method="dalc")
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
