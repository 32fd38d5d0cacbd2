import numpy as np
import pytest

from nas.filters import Ideal


def test_looks_up_the_mask_by_pool_index():
    f = Ideal(np.array([False, True, False, True, False]))
    is_clean = f.fit_predict(np.zeros((3, 2)), [0, 1, 1], indices=[4, 3, 1])
    assert is_clean.tolist() == [True, False, False] and f.noise_rate_ == pytest.approx(2 / 3)
    assert Ideal.is_ideal and f.scores_.tolist() == [1.0, 0.0, 0.0]


def test_needs_valid_indices():
    f = Ideal(np.zeros(5, dtype=bool))
    with pytest.raises(ValueError, match="The 'indices' parameter of Ideal.fit_predict must be the pool indices"):
        f.fit_predict(np.zeros((2, 2)), [0, 1])
    with pytest.raises(ValueError, match=r"indices in \[0, 5\)\. Got index 5 instead"):
        f.fit_predict(np.zeros((2, 2)), [0, 1], indices=[0, 5])
