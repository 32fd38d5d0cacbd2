import pytest

from nas import NAS, make_selector
from nas.strategies import (STRATEGY_NAMES, Coreset, MaxHerding, ProbCover, Random, TypiClust, make_strategy,
                            nas_options)


class _Filter:
    def fit_predict(self, X, y, *, pool=None, n_classes=None, indices=None):
        raise AssertionError("not called")


def test_every_cli_name_builds():
    expected = {"random": Random, "probcover": ProbCover, "npc": ProbCover, "weighted_npc": ProbCover,
                "maxherding": MaxHerding, "maxherding_nas": MaxHerding, "coreset": Coreset,
                "coreset_nas": Coreset, "typiclust": TypiClust}
    assert set(STRATEGY_NAMES) == set(expected)
    for name, cls in expected.items():
        kwargs = {"delta": 0.5} if cls is ProbCover else {}
        assert type(make_strategy(name, **kwargs)) is cls


def test_nas_options_mark_the_nas_names():
    assert nas_options("npc") == {} and nas_options("maxherding_nas") == {} and nas_options("coreset_nas") == {}
    assert nas_options("weighted_npc") == {"weighted": True}
    for plain in ("random", "probcover", "maxherding", "coreset", "typiclust"):
        assert nas_options(plain) is None


def test_unknown_name_and_parameter_errors():
    with pytest.raises(ValueError, match="'name' parameter of make_strategy must be one of"):
        make_strategy("badge")
    with pytest.raises(TypeError, match="ProbCover does not take 'sigma'; its parameters are delta, metric"):
        make_strategy("probcover", sigma=1.0)


def test_make_selector_returns_strategy_or_nas():
    assert isinstance(make_selector("probcover", delta=0.5), ProbCover)
    selector = make_selector("weighted_npc", _Filter(), n_classes=10, delta=0.5,
                             nas_kwargs={"noise_dropout": True, "random_state": 0})
    assert isinstance(selector, NAS) and selector.weighted and selector.noise_dropout
    assert isinstance(selector.strategy, ProbCover)
    heuristic = make_selector("npc", _Filter(), n_classes=7)
    assert heuristic.strategy.n_clusters == 7 and heuristic.strategy.delta is None
    with pytest.raises(ValueError, match="'noise_filter' parameter of make_selector"):
        make_selector("npc", n_classes=3, delta=0.5)
    with pytest.raises(ValueError, match="'nas_kwargs' parameter of make_selector"):
        make_selector("coreset", nas_kwargs={"noise_dropout": True})
