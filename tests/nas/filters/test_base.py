"""The shared contract of every filter: input checks, fitted attributes, the noise-rate prior,
edge cases (reference §14) and the all-noisy warning."""
import numpy as np
import pytest

from nas.filters import FILTERS, AllNoisyWarning, Ideal, make_filter
from nas.filters.base import lowest_scores_noisy

ALL = list(FILTERS)
LEARNED = [name for name in FILTERS if not FILTERS[name].is_ideal]


def _data(n=30, d=4, n_classes=3, seed=0):
    rng = np.random.default_rng(seed)
    y = np.arange(n) % n_classes
    X = 3 * np.eye(d)[y % d] + rng.standard_normal((n, d))
    return X, y


@pytest.mark.parametrize("name", ALL)
def test_fitted_attributes(name, build_filter, fit):
    X, y = _data()
    f = build_filter(name)
    is_clean = fit(f, X, y, n_classes=3)
    assert is_clean.dtype == bool and is_clean.shape == (30,)
    np.testing.assert_array_equal(f.is_clean_, is_clean)
    assert f.scores_.dtype == np.float64 and f.scores_.shape == (30,) and np.isfinite(f.scores_).all()
    assert f.noise_rate_ == pytest.approx(1 - is_clean.mean())


@pytest.mark.parametrize("name", ALL)
def test_same_seed_same_output(name, build_filter, fit):
    X, y = _data(seed=3)
    y[:4] = (y[:4] + 1) % 3
    a, b = build_filter(name), build_filter(name)
    np.testing.assert_array_equal(fit(a, X, y), fit(b, X, y))
    np.testing.assert_array_equal(a.scores_, b.scores_)


@pytest.mark.parametrize("name", LEARNED)
def test_noise_rate_prior_marks_lowest_scores(name, build_filter, fit):
    X, y = _data(n=31)
    own = build_filter(name)
    fit(own, X, y)
    f = build_filter(name, noise_rate=0.3)
    is_clean = fit(f, X, y)
    assert (~is_clean).sum() == 9  # round(0.3 * 31)
    np.testing.assert_array_equal(f.scores_, own.scores_)
    assert f.scores_[~is_clean].max() <= f.scores_[is_clean].min()


def test_lowest_scores_noisy_rounds_half_up_and_breaks_ties_by_index():
    np.testing.assert_array_equal(lowest_scores_noisy(np.array([1.0, 0.0, 0.0, 2.0]), 0.5),
                                  [True, False, False, True])
    np.testing.assert_array_equal(lowest_scores_noisy(np.array([1.0, 1.0, 1.0, 1.0]), 0.1), [True] * 4)
    np.testing.assert_array_equal(lowest_scores_noisy(np.array([1.0, 1.0, 1.0, 1.0]), 0.125),
                                  [False, True, True, True])
    np.testing.assert_array_equal(lowest_scores_noisy(np.array([1.0, 1.0, 1.0, 1.0]), 0.375),
                                  [False, False, True, True])


@pytest.mark.parametrize("name", ALL)
def test_all_noisy_warns(name, build_filter, fit):
    X, y = _data(n=10)
    with pytest.warns(AllNoisyWarning, match="all 10 labeled samples noisy"):
        is_clean = fit(build_filter(name, noise_rate=1.0), X, y)
    assert not is_clean.any()


def test_ideal_all_noisy_warns():
    with pytest.warns(AllNoisyWarning):
        Ideal(np.ones(5, dtype=bool)).fit_predict(np.zeros((3, 2)), [0, 1, 0], indices=[0, 2, 4])


@pytest.mark.parametrize("name", ALL)
def test_empty_labeled_set(name, build_filter, fit):
    f = build_filter(name)
    is_clean = fit(f, np.empty((0, 4)), np.empty(0, dtype=np.int64), indices=np.empty(0, dtype=np.int64))
    assert is_clean.shape == (0,) and f.scores_.shape == (0,) and f.noise_rate_ == 0.0


EDGE_CASES = {
    "one sample": (np.array([[0.0, 1.0]]), np.array([2])),
    "fewer samples than folds": (np.array([[0.0, 1.0], [1.0, 0.0]]), np.array([0, 1])),
    "one class present": (np.random.default_rng(0).standard_normal((8, 2)), np.zeros(8, dtype=np.int64)),
    "a class with one sample": (np.random.default_rng(1).standard_normal((9, 2)), np.array([0] * 4 + [1] * 4 + [2])),
    "fewer samples than classes": (np.random.default_rng(2).standard_normal((4, 2)), np.array([0, 3, 5, 7])),
    "duplicate rows": (np.ones((6, 2)), np.array([0, 0, 0, 1, 1, 1])),
}


@pytest.mark.filterwarnings("ignore::nas.filters.AllNoisyWarning")
@pytest.mark.parametrize("case", list(EDGE_CASES))
@pytest.mark.parametrize("name", ALL)
def test_edge_cases_never_fail(name, case, build_filter, fit):
    X, y = EDGE_CASES[case]
    f = build_filter(name)
    is_clean = fit(f, X, y, n_classes=10)
    assert is_clean.shape == y.shape and np.isfinite(f.scores_).all()


@pytest.mark.parametrize("name", ["cv", "knn", "centroids"])
def test_label_comparing_filters_keep_a_single_sample_or_class(name, build_filter, fit):
    assert fit(build_filter(name), np.array([[0.0, 1.0]]), np.array([2])).all()
    X, y = EDGE_CASES["one class present"]
    assert fit(build_filter(name), X, y).all()


def test_make_filter_names_and_ideal_flag():
    assert set(FILTERS) == {"ideal", "cv", "aum", "knn", "centroids", "disagreenet", "fine", "lof"}
    assert [n for n in FILTERS if FILTERS[n].is_ideal] == ["ideal"]
    assert make_filter("knn", mode="reference").mode == "reference"
    with pytest.raises(ValueError, match="The 'name' parameter of make_filter must be one of"):
        make_filter("cleanlab")


@pytest.mark.parametrize("name", ALL)
class TestBadInput:
    def test_label_out_of_range(self, name, build_filter, fit):
        X, y = _data()
        with pytest.raises(ValueError, match=r"'y' parameter of \w+\.fit_predict must be integer labels in \[0, 3\)\. "
                                             r"Got label 3 instead"):
            fit(build_filter(name), X, y + 1, n_classes=3)
        with pytest.raises(ValueError, match="Got label -1 instead"):
            fit(build_filter(name), X, y - 1)

    def test_length_mismatch(self, name, build_filter, fit):
        X, y = _data()
        with pytest.raises(ValueError, match=r"'y' parameter .* one label per row of X \(30\)\. Got 29 labels"):
            fit(build_filter(name), X, y[:-1], indices=np.arange(29))

    def test_nan_features(self, name, build_filter, fit):
        X, y = _data()
        X[4, 1] = np.nan
        with pytest.raises(ValueError, match="'X' parameter .* must be finite .* row 4"):
            fit(build_filter(name), X, y)

    def test_pool_dimension(self, name, build_filter, fit):
        X, y = _data()
        with pytest.raises(ValueError, match=r"'pool' parameter .* must be a 2-D array with 4 columns"):
            fit(build_filter(name), X, y, pool=np.zeros((10, 5)))

    def test_wrong_types_and_shapes(self, name, build_filter, fit):
        X, y = _data()
        with pytest.raises(TypeError, match="'y' parameter"):
            fit(build_filter(name), X, y.astype(float))
        with pytest.raises(ValueError, match="'X' parameter"):
            fit(build_filter(name), X[:, 0], y)
        with pytest.raises(ValueError, match="'indices' parameter"):
            fit(build_filter(name), X, y, indices=np.arange(5))

    def test_bad_noise_rate(self, name, build_filter, fit):
        X, y = _data()
        with pytest.raises(ValueError, match=r"The 'noise_rate' parameter of \w+ must be a float in \[0, 1\]\. "
                                             r"Got 1.5 instead"):
            fit(build_filter(name, noise_rate=1.5), X, y)


@pytest.mark.parametrize("name, params, message", [
    ("cv", {"n_folds": 1}, "The 'n_folds' parameter of CrossValidation must be an int in [2, inf]. Got 1 instead."),
    ("cv", {"mode": "train-on-one"}, "The 'mode' parameter of CrossValidation must be one of"),
    ("aum", {"percentile": 120}, "The 'percentile' parameter of LowBudgetAUM must be a float in [0, 100]."),
    ("aum", {"device": "tpu"}, "The 'device' parameter of LowBudgetAUM must be 'cpu' or 'cuda'."),
    ("knn", {"mode": "exact"}, "The 'mode' parameter of KNN must be one of"),
    ("centroids", {"subset_fraction": 0.0}, "The 'subset_fraction' parameter of Centroids must be a float in (0, 1]."),
    ("disagreenet", {"n_models": 0}, "The 'n_models' parameter of LowBudgetDisagreeNet must be an int in [1, inf]."),
    ("lof", {"threshold": -1.0}, "The 'threshold' parameter of LOF must be a float in (0, inf]."),
    ("cv", {"random_state": -3}, "The 'random_state' parameter of CrossValidation must be None, a non-negative int"),
])
def test_bad_parameters_name_the_parameter(name, params, message, build_filter, fit):
    X, y = _data()
    with pytest.raises(ValueError) as info:
        fit(build_filter(name, **params), X, y)
    assert str(info.value).startswith(message)


def test_bad_boolean_and_mask_parameters(build_filter, fit):
    X, y = _data()
    with pytest.raises(TypeError, match="The 'standardize' parameter of LowBudgetFINE must be a bool"):
        fit(build_filter("fine", standardize="yes"), X, y)
    with pytest.raises(ValueError, match="The 'is_noisy' parameter of Ideal must be a 1-D boolean mask"):
        fit(Ideal(np.full((4, 4), False)), X, y)
