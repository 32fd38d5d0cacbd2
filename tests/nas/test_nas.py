"""NAS: shares, filtering, dropout, Weighted NPC, start_after, and the reference bugs it fixes."""
import math

import numpy as np
import pytest

from nas import NAS, NASResult
from nas.filters import AllNoisyWarning, CrossValidation, Ideal, LowBudgetAUM
from nas.strategies import Coreset, MaxHerding, ProbCover, Random, TypiClust


class MaskFilter:
    """A test double of a noise filter: predicts from a fixed noisy mask over the whole pool (like
    nas.filters.Ideal) or from a callable, and records every call."""

    def __init__(self, is_noisy=None, *, predict=None, is_ideal=False):
        self.is_noisy = None if is_noisy is None else np.asarray(is_noisy, dtype=bool)
        self.predict = predict
        self.is_ideal = is_ideal
        self.calls = []

    def fit_predict(self, X, y, *, pool=None, n_classes=None, indices=None):
        self.calls.append({"n": len(y), "pool": None if pool is None else pool.shape, "n_classes": n_classes,
                           "indices": np.array(indices), "pool_rows": pool})
        if self.predict is not None:
            mask = self.predict(np.asarray(indices))
        else:
            mask = ~self.is_noisy[np.asarray(indices)]
        self.noise_rate_ = 1.0 - mask.mean()
        return mask


def _clusters(k=4, n_per=10, seed=0):
    """k tight clusters far apart (euclidean delta 1 covers a cluster, nothing more)."""
    rng = np.random.default_rng(seed)
    centres = np.arange(k)[:, None] * np.array([[10.0, 0.0]])
    X = np.concatenate([c + 0.1 * rng.standard_normal((n_per, 2)) for c in centres]).astype(np.float32)
    return X, np.repeat(np.arange(k), n_per)


def _npc(filter_, n_classes=4, **kw):
    kw.setdefault("progress", False)
    return NAS(ProbCover(1.0, metric="euclidean", tie_break="lowest"), filter_, n_classes=n_classes, **kw)


# ---------------------------------------------------------------- share sizes
@pytest.mark.parametrize("budget, expected", [(10, [4, 3, 3]), (6, [3, 3]), (5, [5]), (2, [2]), (9, [3, 3, 3])])
def test_share_sizes_remainder_goes_to_the_first_share(budget, expected):
    nas = _npc(MaskFilter(np.zeros(40)), n_classes=3)
    assert [size for size, _ in nas.share_sizes(budget)] == expected


def test_reference_bug_budget_below_n_classes():
    """The reference's share split crashed (IndexError) for a budget below the number of classes."""
    X, truth = _clusters()
    nas = _npc(MaskFilter(np.zeros(40)), n_classes=10)
    assert nas.share_sizes(3) == [(3, False)]
    result = nas.run(X, 3, lambda idx: truth[idx])
    assert len(result.labeled) == 3 and len(result.history) == 1


def test_ideal_filter_uses_shares_of_one_and_batch_size_overrides():
    assert _npc(MaskFilter(np.zeros(40), is_ideal=True)).share_size == 1
    assert _npc(MaskFilter(np.zeros(40), is_ideal=True), batch_size=5).share_size == 5
    assert _npc(MaskFilter(np.zeros(40))).share_size == 4


def test_start_after_uses_one_plain_share_first():
    nas = _npc(MaskFilter(np.zeros(40)), n_classes=3, start_after=8)
    assert nas.share_sizes(10, n_labeled=2) == [(6, True), (4, False)]
    assert nas.share_sizes(10, n_labeled=9) == [(4, False), (3, False), (3, False)]
    assert nas.share_sizes(4, n_labeled=0) == [(4, True)]


# ---------------------------------------------------------------- the NPC behaviour
def test_npc_resamples_a_cluster_whose_representative_was_noisy():
    X, truth = _clusters()
    noisy = np.zeros(40, dtype=bool)
    noisy[0] = True  # the first pick of cluster 0 comes back mislabeled
    filter_ = MaskFilter(noisy, is_ideal=True)
    result = _npc(filter_).run(X, 5, lambda idx: truth[idx])
    # the ideal filter runs even below n_classes labels: the second pick goes back to cluster 0
    assert result.picks.tolist()[:2] == [0, 1]
    assert sorted(truth[result.picks]) == [0, 0, 1, 2, 3]
    assert [h["size"] for h in result.history] == [1] * 5
    np.testing.assert_array_equal(result.is_clean, ~noisy[result.labeled])
    plain = ProbCover(1.0, metric="euclidean", tie_break="lowest")
    assert truth[plain.select(X, 4)].tolist() == [0, 1, 2, 3]  # ProbCover treats cluster 0 as covered
    assert plain.last_gains_.tolist() == [10, 10, 10, 10]


def test_fewer_labeled_than_classes_means_no_filtering():
    X, truth = _clusters()
    filter_ = MaskFilter(np.ones(40, dtype=bool))  # would call everything noisy
    result = _npc(filter_, n_classes=4).run(X, 6, lambda idx: truth[idx])
    # shares: 6 (+remainder) -> one share; L = 0 < 4 before it: no filter call; one final call
    assert [h["mode"] for h in result.history] == ["unfiltered"]
    assert len(filter_.calls) == 1 and filter_.calls[0]["n"] == 6


def test_filter_is_called_once_per_share_and_once_at_the_end():
    X, truth = _clusters(k=4, n_per=20)
    filter_ = MaskFilter(np.zeros(80, dtype=bool))
    result = _npc(filter_, n_classes=4).run(X, 12, lambda idx: truth[idx], labeled=[0, 20, 40, 60],
                                            labels=[0, 1, 2, 3])
    assert [h["size"] for h in result.history] == [4, 4, 4]
    assert [c["n"] for c in filter_.calls] == [4, 8, 12, 16]
    call = filter_.calls[0]
    assert call["n_classes"] == 4 and call["pool"] == (min(76, 512), 2)
    np.testing.assert_array_equal(call["indices"], [0, 20, 40, 60])


@pytest.mark.parametrize("pool_size", [10, 70])
def test_filter_pool_is_a_seeded_subset_of_unlabeled_rows(pool_size):
    X, truth = _clusters(k=4, n_per=20)
    X = X + np.arange(80, dtype=np.float32)[:, None] * 1e-3  # distinct rows
    labeled = np.array([0, 20, 40, 60])
    pools = []
    for _ in range(2):
        filter_ = MaskFilter(np.zeros(80, dtype=bool))
        _npc(filter_, filter_pool_size=pool_size, random_state=4).step(X, labeled, truth[labeled], budget=4)
        pools.append(filter_.calls[0]["pool_rows"])
    np.testing.assert_array_equal(pools[0], pools[1])
    rows = [int(np.flatnonzero((X == row).all(axis=1))[0]) for row in pools[0]]
    assert len(set(rows)) == pool_size and not set(rows) & set(labeled.tolist()) and rows == sorted(rows)


def test_ideal_filter_gets_no_pool():
    X, truth = _clusters()
    filter_ = MaskFilter(np.zeros(40, dtype=bool), is_ideal=True)
    _npc(filter_).run(X, 3, lambda idx: truth[idx])
    assert [c["pool"] for c in filter_.calls] == [None, None, None]


def test_given_partition_skips_the_first_filter_call():
    X, truth = _clusters(k=4, n_per=20)
    filter_ = MaskFilter(np.zeros(80, dtype=bool))
    nas = _npc(filter_, n_classes=4)
    result = nas.run(X, 8, lambda idx: truth[idx], labeled=[0, 20, 40, 60], labels=[0, 1, 2, 3],
                     is_clean=np.array([False, True, True, True]))
    assert [c["n"] for c in filter_.calls] == [8, 12]
    assert result.history[0]["predicted_noise_rate"] == 0.25
    assert 0 < result.picks[0] < 20  # cluster 0's only label was given as noisy


def test_run_equals_a_sequence_of_steps():
    X, truth = _clusters(k=4, n_per=20)
    annotate = lambda idx: (truth[idx] + (idx % 3 == 0)) % 4  # noqa: E731  (a noisy annotator)
    flaky = MaskFilter(predict=lambda idx: idx % 3 != 0)
    result = _npc(flaky, n_classes=4, noise_dropout=True, random_state=3).run(X, 12, annotate)
    nas = _npc(MaskFilter(predict=lambda idx: idx % 3 != 0), n_classes=4, noise_dropout=True, random_state=3)
    labeled, labels = np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64)
    for size, _ in nas.share_sizes(12):
        picks = nas.step(X, labeled, labels, budget=size)
        labeled, labels = np.concatenate([labeled, picks]), np.concatenate([labels, annotate(picks)])
    np.testing.assert_array_equal(result.labeled, labeled)


def test_same_random_state_same_result():
    X, truth = _clusters(k=4, n_per=20)
    make = lambda: NAS(ProbCover(1.0, metric="euclidean"), MaskFilter(predict=lambda i: i % 4 != 1),  # noqa: E731
                       n_classes=4, noise_dropout=True, random_state=9, progress=False)
    a = make().run(X, 12, lambda idx: truth[idx])
    b = make().run(X, 12, lambda idx: truth[idx])
    np.testing.assert_array_equal(a.labeled, b.labeled)


# ---------------------------------------------------------------- noise dropout
@pytest.mark.parametrize("n_noisy, n_labeled, expected", [(8, 10, 1), (2, 10, 0), (5, 10, 2), (30, 40, 7),
                                                          (0, 10, 0)])
def test_dropout_count_follows_the_paper(n_noisy, n_labeled, expected):
    mask = np.ones(n_labeled, dtype=bool)
    mask[:n_noisy] = False
    q = n_noisy / n_labeled
    assert expected == math.floor(max(min(q, 1 - q), 0.1) * n_noisy)
    dropped = NAS._dropout(mask, np.random.default_rng(0))
    assert dropped == expected and (~mask).sum() == n_noisy - expected


def test_dropout_is_redrawn_each_share_and_reported():
    X, truth = _clusters(k=4, n_per=30)
    filter_ = MaskFilter(np.ones(120, dtype=bool))  # everything predicted noisy
    result = _npc(filter_, noise_dropout=True, random_state=0).run(
        X, 8, lambda idx: truth[idx], labeled=np.arange(0, 120, 6), labels=truth[::6])
    first, second = result.history
    assert first["n_dropped_out"] == 2 and first["predicted_noise_rate"] == 1.0  # floor(0.1 x 20)
    assert first["noise_rate_used"] == pytest.approx(18 / 20)
    assert second["n_dropped_out"] == 2  # floor(0.1 x 24)
    assert result.is_clean.sum() == 0  # the returned mask never has dropout


def test_reference_bug_dropout_reaches_maxherding():
    """In the reference's MaxHerding + NAS the dropout flipped the mask after the partition was taken
    (no effect) and crashed with an empty labeled set. Here the strategy sees the dropped-out clean set."""
    X, truth = _clusters(k=4, n_per=30)
    seen = []

    class Spy(MaxHerding):
        def _select(self, X, budget, clean, noisy, rng, timings, **extra):
            seen.append((clean.size, noisy.size))
            return super()._select(X, budget, clean, noisy, rng, timings, **extra)

    everything_noisy = MaskFilter(np.ones(120, dtype=bool))
    nas = NAS(Spy(mode="dense"), everything_noisy, n_classes=4, noise_dropout=True, random_state=0,
              progress=False)
    nas.run(X, 8, lambda idx: truth[idx])  # starts from an empty labeled set: no crash
    nas.run(X, 4, lambda idx: truth[idx], labeled=np.arange(0, 120, 6), labels=truth[::6])
    assert seen[0] == (0, 0) and seen[-1] == (2, 18)


# ---------------------------------------------------------------- Weighted NPC
def test_weighted_npc_prefers_uncovered_cluster_by_exactly_one_minus_q():
    """Cluster 0 (12 points) has a noisy label; cluster 1 (9 points) and cluster 2 (7 points) none.
    With q̂ = 1/4 the noisy-covered cluster counts 12 x 0.75 = 9 and ties with cluster 1 (lower index
    wins: cluster 0); with q̂ = 1/2 it counts 6 and cluster 1 (9) wins."""
    rng = np.random.default_rng(0)
    sizes = [12, 9, 7, 5]
    X = np.concatenate([np.array([[10.0 * c, 0.0]]) + 0.1 * rng.standard_normal((s, 2))
                        for c, s in enumerate(sizes)]).astype(np.float32)
    truth = np.repeat(np.arange(4), sizes)
    labeled = np.array([0, 28, 29, 30])  # one labeled sample in cluster 0, three in cluster 3
    for noisy_ids, weight, winner in (([0], 0.75, 0), ([0, 28], 0.5, 1)):
        is_noisy = np.zeros(len(X), dtype=bool)
        is_noisy[noisy_ids] = True
        nas = NAS(ProbCover(1.0, metric="euclidean", tie_break="lowest"), MaskFilter(is_noisy),
                  n_classes=4, weighted=True, progress=False)
        picks = nas.step(X, labeled, truth[labeled], budget=1)
        assert nas.last_share_["noisy_weight"] == weight
        assert truth[picks[0]] == winner
        assert nas.strategy.last_gains_[0] == 9.0


def test_weighted_requires_a_weighting_strategy():
    with pytest.raises(ValueError, match="'weighted' parameter of NAS"):
        NAS(MaxHerding(), MaskFilter(np.zeros(3)), n_classes=2, weighted=True)


# ---------------------------------------------------------------- wrapping
@pytest.mark.parametrize("strategy", [Random(), TypiClust()])
def test_non_coverage_strategies_cannot_be_wrapped(strategy):
    with pytest.raises(TypeError, match="does not use a clean/noisy partition"):
        NAS(strategy, MaskFilter(np.zeros(3)), n_classes=2)


@pytest.mark.parametrize("strategy", [MaxHerding(mode="dense"), Coreset(),
                                      ProbCover(1.0, metric="euclidean")])
def test_every_coverage_strategy_runs_under_nas(strategy):
    X, truth = _clusters(k=4, n_per=15)
    is_noisy = np.arange(60) % 5 == 0
    result = NAS(strategy, MaskFilter(is_noisy), n_classes=4, random_state=0, progress=False).run(
        X, 14, lambda idx: truth[idx])
    assert isinstance(result, NASResult)
    assert len(set(result.labeled.tolist())) == 14
    np.testing.assert_array_equal(result.is_clean, ~is_noisy[result.labeled])
    assert {"filter", "selection", "annotate", "final_filter", "total"} <= set(result.timings)


def test_coreset_nas_with_empty_start_does_not_crash():
    """The reference's Coreset + NAS indexed an empty centre matrix when nothing was labeled."""
    X, truth = _clusters()
    result = NAS(Coreset(), MaskFilter(np.zeros(40, dtype=bool)), n_classes=4, random_state=1,
                 progress=False).run(X, 9, lambda idx: truth[idx])
    assert len(result.labeled) == 9


# ---------------------------------------------------------------- with the real filters
def _noisy_pool(seed=0, k=4, n_per=40, rate=0.25):
    X, truth = _clusters(k=k, n_per=n_per, seed=seed)
    rng = np.random.default_rng(seed + 1)
    is_noisy = rng.random(len(truth)) < rate
    given = np.where(is_noisy, (truth + rng.integers(1, k, len(truth))) % k, truth)
    return X, truth, is_noisy, given


def test_npc_with_the_ideal_filter_flags_exactly_the_mislabeled_picks():
    X, _, is_noisy, given = _noisy_pool()
    result = NAS(ProbCover(1.0, metric="euclidean"), Ideal(is_noisy), n_classes=4, random_state=0,
                 progress=False).run(X, 12, lambda idx: given[idx])
    assert len(result.history) == 12
    np.testing.assert_array_equal(result.is_clean, ~is_noisy[result.labeled])
    # every cluster whose picks so far all came back noisy is still uncovered, so each cluster ends with a clean label
    clean_clusters = {int(c) for c in (result.labeled[result.is_clean] // 40)}
    assert clean_clusters == {0, 1, 2, 3}


@pytest.mark.parametrize("noise_filter", [CrossValidation(random_state=0), LowBudgetAUM(random_state=0)],
                         ids=["cv", "aum"])
def test_npc_runs_with_learned_filters(noise_filter):
    X, _, _, given = _noisy_pool(n_per=30)
    nas = NAS(ProbCover(1.0, metric="euclidean"), noise_filter, n_classes=4, noise_dropout=True, random_state=0,
              progress=False)
    result = nas.run(X, 16, lambda idx: given[idx])
    assert len(set(result.labeled.tolist())) == 16 and result.is_clean.shape == (16,)
    assert [h["size"] for h in result.history] == [4, 4, 4, 4]
    assert all(h["predicted_noise_rate"] is not None for h in result.history[1:])


def test_all_noisy_warning_only_for_the_final_mask():
    X, truth = _clusters()
    everything_noisy = Ideal(np.ones(40, dtype=bool))
    nas = NAS(ProbCover(1.0, metric="euclidean"), everything_noisy, n_classes=4, progress=False)
    with pytest.warns(AllNoisyWarning) as record:
        nas.run(X, 3, lambda idx: truth[idx])
    assert len(record) == 1


# ---------------------------------------------------------------- validation
def test_run_validates_its_inputs():
    X, truth = _clusters()
    nas = _npc(MaskFilter(np.zeros(40, dtype=bool)))
    with pytest.raises(ValueError, match=r"'budget' parameter of NAS.run must be an int in \[1, 38\]"):
        nas.run(X, 39, lambda idx: truth[idx], labeled=[0, 1], labels=[0, 0])
    with pytest.raises(ValueError, match="'labels' parameter of NAS.run"):
        nas.run(X, 2, lambda idx: truth[idx], labeled=[0, 1], labels=[0])
    with pytest.raises(ValueError, match=r"class ids in \[0, 4\)"):
        nas.run(X, 2, lambda idx: truth[idx], labeled=[0], labels=[7])
    with pytest.raises(TypeError, match="'annotator' parameter of NAS.run"):
        nas.run(X, 2, lambda idx: truth[idx][:1])
    with pytest.raises(TypeError, match="'noise_filter' parameter of NAS"):
        NAS(ProbCover(0.5), object(), n_classes=3)
