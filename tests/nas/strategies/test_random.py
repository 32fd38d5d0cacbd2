import numpy as np
import pytest

from nas.strategies import Random, TypiClust


def test_random_is_uniform_over_unlabeled_and_seeded():
    X = np.zeros((20, 2), dtype=np.float32)
    picks = Random().select(X, 17, clean=[0, 1], noisy=[2], random_state=0)
    assert sorted(picks.tolist()) == list(range(3, 20))
    np.testing.assert_array_equal(Random().select(X, 5, random_state=1), Random().select(X, 5, random_state=1))


@pytest.mark.parametrize("cls", [Random, TypiClust])
def test_non_coverage_strategies_say_so(cls):
    assert not cls.supports_noise
