"""Low-budget noise filters: partition a labeled set into predicted-clean and predicted-noisy samples.

Every filter follows one contract: the constructor stores parameters; ``fit_predict(X, y, *,
pool=None, n_classes=None, indices=None)`` returns a boolean ``is_clean`` mask and sets
``is_clean_``, ``scores_`` (higher = more likely clean) and ``noise_rate_``. ``noise_rate=q`` on any
filter replaces its own decision rule by the known-noise-rate prior of seed 000 appendix E (the
round(q·|L|) lowest-scoring samples are noisy). ``make_filter`` builds one from its CLI name.
"""
from __future__ import annotations

from nas_ext._validation import check_choice

from .aum import LowBudgetAUM
from .base import AllNoisyWarning, NoiseFilter
from .centroids import Centroids
from .cross_validation import CrossValidation
from .disagreenet import LowBudgetDisagreeNet
from .fine import LowBudgetFINE
from .ideal import Ideal
from .knn import KNN
from .lof import LOF

__all__ = ["NoiseFilter", "AllNoisyWarning", "CrossValidation", "LowBudgetAUM", "KNN", "Centroids",
           "LowBudgetDisagreeNet", "LowBudgetFINE", "LOF", "Ideal", "FILTERS", "make_filter"]

#: CLI name -> filter class.
FILTERS = {
    "ideal": Ideal,
    "cv": CrossValidation,
    "aum": LowBudgetAUM,
    "knn": KNN,
    "centroids": Centroids,
    "disagreenet": LowBudgetDisagreeNet,
    "fine": LowBudgetFINE,
    "lof": LOF,
}


def make_filter(name: str, **kwargs) -> NoiseFilter:
    """Build a filter from its CLI name (ideal, cv, aum, knn, centroids, disagreenet, fine, lof).

    Keyword arguments go to the constructor; ``ideal`` needs ``is_noisy``.

    >>> make_filter("cv", random_state=0)
    CrossValidation(n_folds=3, n_repeats=1, mode='heldout', C=1.0, max_iter=1000, noise_rate=None, random_state=0)
    """
    check_choice(name, "make_filter", "name", tuple(FILTERS))
    return FILTERS[name](**kwargs)
