"""`run`: simulate active learning with a noisy annotator and compare strategies over budgets and repeats.

One repeat draws one noise realisation (the same for every strategy). Each strategy then runs the rounds of the
budget schedule from an empty labeled set; a round is: query (the strategy, or NAS with its internal filter) →
the pre-training filter on the whole labeled set → train a fresh classifier on the predicted-clean part →
top-1 accuracy on the clean test set. Accuracy differences are taken against Random in the same repeat and round.
"""
from __future__ import annotations

import logging
import time
import zlib
from dataclasses import dataclass
from typing import List, Optional, Sequence

import numpy as np
from tqdm.auto import tqdm

from nas_ext._validation import check_choice, check_features, check_int

from ..training import FRAMEWORKS, TrainResult, make_classifier, train_and_evaluate
from .budgets import BudgetSchedule, make_schedule
from .results import ExperimentResult
from .selection import STRATEGY_NAMES, LabeledSet, Selector, SharedGraphs

__all__ = ["run"]

log = logging.getLogger(__name__)
BASELINE = "random"
TRAININGS = ("probe", "mtadcs")
FILTER_POOL_MIN = 512


@dataclass
class _Data:
    """Validated inputs shared by every repeat."""

    X: np.ndarray
    y_true: np.ndarray
    test_inputs: object
    y_test: np.ndarray
    train_inputs: object
    n_classes: int


@dataclass
class _Settings:
    """Everything that stays fixed across repeats."""

    strategies: List[str]
    noise: object
    noise_filter: object
    filter_params: dict
    strategy_params: dict
    nas_params: dict
    schedule: BudgetSchedule
    budget_noise_rate: float
    framework: str
    epochs: Optional[int]
    training_params: dict
    train_on_all_labeled: bool
    device: str
    training: str = "probe"
    mtadcs_params: Optional[dict] = None


def run(features, true_labels, test_features, test_labels, *, noise, strategies: Sequence[str] = ("random",
        "probcover", "npc"), noise_filter="aum", samples_per_class: Optional[Sequence[float]] = (1, 2, 3, 4, 5),
        budget: Optional[int] = None, n_rounds: Optional[int] = None, n_classes: Optional[int] = None,
        budget_noise_rate: Optional[float] = None, strategy_params: Optional[dict] = None,
        filter_params: Optional[dict] = None, nas_params: Optional[dict] = None, framework: str = "linear",
        train_images=None, test_images=None, epochs: Optional[int] = None, training_params: Optional[dict] = None,
        train_on_all_labeled: bool = False, training: str = "probe", mtadcs_params: Optional[dict] = None,
        repeats: int = 1, seed: int = 0, device: str = "cpu", out_dir=None,
        progress: bool = True) -> ExperimentResult:
    """Compare query strategies under a simulated noisy annotator (the paper's experiment protocol).

    Parameters
    ----------
    features : (N, d) float array — pool embeddings used for selection, filtering and (framework 2) training.
    true_labels : (N,) int — ground truth; the annotator corrupts them with ``noise``.
    test_features, test_labels : clean test set (features for the linear probe).
    noise : a ``nas.noise`` model (``SymmetricNoise(0.5)``, ``FixedLabels(noisy)``, ...).
    strategies : CLI names (random, probcover, npc, weighted_npc, maxherding, maxherding_nas, coreset,
        coreset_nas, typiclust). Random is added when missing: it is the baseline of the differences.
    noise_filter : a filter name (ideal, cv, aum, knn, centroids, disagreenet, fine, lof) or a filter object;
        used before training and inside NAS. ``filter_params`` go to ``make_filter``.
    samples_per_class : cumulative E[SPC] targets; round budgets are the differences of
        ceil(s·C / (1 − p)), p = ``budget_noise_rate`` (default: the noise model's rate). Or ``budget`` per
        round for ``n_rounds`` rounds (then pass ``samples_per_class=None``).
    strategy_params : {strategy name: kwargs for ``make_strategy``}; ``nas_params``: kwargs for ``nas.NAS``
        (``noise_dropout``, ``batch_size``, ...).
    framework : "linear" (probe on ``features``, 500 epochs) or "resnet18" (on ``train_images`` /
        ``test_images``, uint8 N×H×W×C, 200 epochs); ``epochs`` overrides; ``training_params`` go to the
        classifier (e.g. ``{"lr": 0.01, "batch_size": 50}`` for the paper's ImageNet-50 setting).
    train_on_all_labeled : train on every labeled sample instead of the predicted-clean ones.
    training : "probe" (the framework's classifier on the predicted-clean samples) or "mtadcs"
        (``nas.training.MTaDCS`` on every labeled sample, its initial confidence set = the filter's clean set, or
        all samples with ``train_on_all_labeled``; backbone "mlp" for framework "linear", "resnet18" for images).
        ``mtadcs_params`` go to MTaDCS (``epochs`` there, not the probe's ``epochs``). Its per-epoch diagnostics
        (confidence-set size, precision/recall against the annotator's truth, corrections right/wrong) are in
        ``result.training_history``; its last-epoch values in the records as ``mtadcs_*``.
    repeats, seed : repeat r uses seed + r for the noise, the strategies, the filter and the training.
    out_dir : when given, results.json, records.csv and summary.csv are written there.

    Returns
    -------
    ExperimentResult with per-record and summarised (mean, standard error) accuracy, accuracy difference from
    Random, noise-filter metrics, noise rates and timings.
    """
    data = _validate_data(features, true_labels, test_features, test_labels, n_classes, framework,
                          train_images, test_images)
    repeats = check_int(repeats, "run", "repeats", low=1)
    seed = check_int(seed, "run", "seed", low=0)
    check_choice(training, "run", "training", TRAININGS)
    settings = _settings(data, noise=noise, strategies=strategies, noise_filter=noise_filter,
                         samples_per_class=samples_per_class, budget=budget, n_rounds=n_rounds,
                         budget_noise_rate=budget_noise_rate, strategy_params=strategy_params,
                         filter_params=filter_params, nas_params=nas_params, framework=framework, epochs=epochs,
                         training_params=training_params, train_on_all_labeled=train_on_all_labeled,
                         device=device)
    settings.training, settings.mtadcs_params = training, dict(mtadcs_params or {})
    total = repeats * len(settings.strategies) * settings.schedule.n_rounds
    records: List[dict] = []
    history: List[dict] = []
    graphs = SharedGraphs()
    with tqdm(total=total, desc="rounds x strategies x repeats", disable=not progress) as bar:
        for repeat in range(repeats):
            records += _run_repeat(data, settings, graphs, repeat, seed + repeat, bar)
    for record in records:
        history += record.pop("_training_history", [])
    result = ExperimentResult(config=_config(data, settings, repeats, seed), records=records,
                              training_history=history)
    if out_dir is not None:
        result.save(out_dir)
    return result


def _validate_data(features, true_labels, test_features, test_labels, n_classes, framework, train_images,
                   test_images) -> _Data:
    check_choice(framework, "run", "framework", FRAMEWORKS)
    X = check_features(features, "run", "features")
    y_true = _labels(true_labels, X.shape[0], "true_labels")
    train_inputs, test_inputs = _model_inputs(X, framework, test_features, train_images, test_images)
    y_test = _labels(test_labels, len(test_inputs), "test_labels")
    if n_classes is None:
        n_classes = int(max(y_true.max(), y_test.max())) + 1
    n_classes = check_int(n_classes, "run", "n_classes", low=2)
    if max(y_true.max(), y_test.max()) >= n_classes:
        raise ValueError(f"The labels of run must lie in [0, {n_classes}) (n_classes={n_classes}). "
                         f"Got {max(y_true.max(), y_test.max())}.")
    return _Data(X, y_true, test_inputs, y_test, train_inputs, n_classes)


def _model_inputs(X: np.ndarray, framework: str, test_features, train_images, test_images) -> tuple:
    """(train inputs, test inputs) of the classifier: the features, or the images for the ResNet."""
    if framework == "linear":
        test_inputs = check_features(test_features, "run", "test_features")
        if test_inputs.shape[1] != X.shape[1]:
            raise ValueError(f"test_features has {test_inputs.shape[1]} columns; features has {X.shape[1]}.")
        return X, test_inputs
    if train_images is None or test_images is None:
        raise ValueError("framework='resnet18' trains on images: pass train_images and test_images "
                         "(uint8 arrays of shape (n, height, width, channels)).")
    if len(train_images) != X.shape[0]:
        raise ValueError(f"train_images has {len(train_images)} images; features has {X.shape[0]} rows.")
    return train_images, test_images


def _labels(labels, n: int, name: str) -> np.ndarray:
    arr = np.asarray(labels)
    if arr.ndim != 1 or arr.shape[0] != n or arr.size == 0 or not np.issubdtype(arr.dtype, np.integer):
        raise ValueError(f"The '{name}' parameter of run must be a 1-D integer array of length {n}. "
                         f"Got an array of shape {arr.shape} and dtype {arr.dtype} instead.")
    if arr.min() < 0:
        raise ValueError(f"The '{name}' parameter of run must hold labels >= 0. Got {int(arr.min())}.")
    return arr.astype(np.int64, copy=False)


def _settings(data: _Data, *, noise, strategies, noise_filter, samples_per_class, budget, n_rounds,
              budget_noise_rate, strategy_params, filter_params, nas_params, framework, epochs,
              training_params, train_on_all_labeled, device) -> _Settings:
    names = list(dict.fromkeys(strategies))
    for name in names:
        check_choice(name, "run", "strategies", STRATEGY_NAMES)
    if BASELINE not in names:
        log.info("adding the 'random' strategy: accuracy differences are taken against it")
        names.insert(0, BASELINE)
    rate = _budget_noise_rate(noise, budget_noise_rate)
    schedule = make_schedule(samples_per_class=samples_per_class, budget=budget, n_rounds=n_rounds,
                             n_classes=data.n_classes, noise_rate=rate)
    if schedule.cumulative[-1] > data.X.shape[0]:
        raise ValueError(f"The budget schedule needs {schedule.cumulative[-1]} samples but the pool has only "
                         f"{data.X.shape[0]}.")
    return _Settings(names, noise, noise_filter, dict(filter_params or {}), dict(strategy_params or {}),
                     dict(nas_params or {}), schedule, rate, framework, epochs, dict(training_params or {}),
                     bool(train_on_all_labeled), str(device))


def _budget_noise_rate(noise, budget_noise_rate) -> float:
    """The p of ceil(s·C/(1 − p)): given explicitly, else the noise model's nominal ``rate``."""
    if budget_noise_rate is not None:
        return float(budget_noise_rate)
    rate = getattr(noise, "rate", None)
    if rate is None:
        raise ValueError("This noise model has no nominal rate: pass budget_noise_rate (the p of "
                         "budget = ceil(E[SPC]·C / (1 − p))).")
    return float(rate)


def _run_repeat(data: _Data, settings: _Settings, graphs: SharedGraphs, repeat: int, seed: int,
                bar) -> List[dict]:
    """All strategies on one noise realisation; adds the difference from Random."""
    from nas.noise import SimulatedAnnotator

    annotator = SimulatedAnnotator(data.y_true, settings.noise, n_classes=data.n_classes, random_state=seed,
                                   X=data.X)
    records = []
    for name in settings.strategies:
        records += _run_strategy(data, settings, graphs, name, annotator, repeat, seed, bar)
    _add_difference_from_baseline(records)
    return records


def _make_filter(settings: _Settings, annotator, seed: int):
    """A fresh filter per (repeat, strategy): the name's filter seeded with the repeat's seed, or the object."""
    if not isinstance(settings.noise_filter, str):
        return settings.noise_filter
    from nas.filters import Ideal, make_filter

    if settings.noise_filter == "ideal":
        return Ideal(annotator.is_noisy)
    return make_filter(settings.noise_filter, random_state=seed, **settings.filter_params)


def _stream(seed: int, name: str, round_: int) -> np.random.Generator:
    """A generator that depends on (seed, strategy name, round) only, not on the other strategies run."""
    return np.random.default_rng([seed, zlib.crc32(name.encode()), round_])


def _run_strategy(data: _Data, settings: _Settings, graphs: SharedGraphs, name: str, annotator, repeat: int,
                  seed: int, bar) -> List[dict]:
    noise_filter = _make_filter(settings, annotator, seed)
    selector = Selector(name, n_classes=data.n_classes, noise_filter=_make_filter(settings, annotator, seed),
                        strategy_params=settings.strategy_params.get(name), nas_params=settings.nas_params,
                        random_state=seed, graphs=graphs)
    labeled = LabeledSet()
    records = []
    for round_, round_budget in enumerate(settings.schedule.round_budgets):
        record = _run_round(data, settings, selector, noise_filter, labeled, annotator, round_budget,
                            _stream(seed, name, round_), seed)
        record.update(repeat=repeat, seed=seed, strategy=name, round=round_, round_budget=round_budget,
                      budget=settings.schedule.cumulative[round_], spc=settings.schedule.spc[round_])
        for row in record.get("_training_history", []):
            row.update(repeat=repeat, seed=seed, strategy=name, round=round_)
        records.append(record)
        bar.update(1)
    return records


def _run_round(data: _Data, settings: _Settings, selector: Selector, noise_filter, labeled: LabeledSet,
               annotator, budget: int, rng: np.random.Generator, seed: int) -> dict:
    """Query → pre-training filter → train → evaluate; updates ``labeled`` in place, returns the measurements."""
    start = time.perf_counter()
    query = selector.query(data.X, labeled, budget, annotator, rng)
    query_seconds = time.perf_counter() - start
    labeled.add(query.picks, query.labels)

    start = time.perf_counter()
    labeled.is_clean = _filter_labeled(noise_filter, data, labeled, rng)
    filter_seconds = time.perf_counter() - start

    if settings.training == "mtadcs":
        trained, extra = _train_mtadcs(data, settings, labeled, seed)
    else:
        classifier = make_classifier(settings.framework, epochs=settings.epochs, device=settings.device,
                                     random_state=seed, **settings.training_params)
        trained = train_and_evaluate(classifier, data.train_inputs[labeled.indices], labeled.labels,
                                     data.test_inputs, data.y_test, is_clean=labeled.is_clean,
                                     n_classes=data.n_classes, train_on_all_labeled=settings.train_on_all_labeled)
        extra = {}
    record = _measurements(labeled, annotator, query, trained, query_seconds, filter_seconds)
    record.update(extra)
    return record


def _train_mtadcs(data: _Data, settings: _Settings, labeled: LabeledSet, seed: int) -> tuple:
    """MTaDCS on every labeled sample, G0 = the filter's clean set (all of them when it is empty or with
    train_on_all_labeled); the annotator's true labels feed its diagnostics only."""
    from nas.training import MTaDCS

    start = time.perf_counter()
    is_clean = np.asarray(labeled.is_clean, dtype=bool)
    fell_back = not settings.train_on_all_labeled and not is_clean.any()
    initial = None if settings.train_on_all_labeled or fell_back else is_clean
    if fell_back:
        log.warning("the noise filter marked all %d labeled samples as noisy; MTaDCS starts from all of them",
                    is_clean.size)
    params = dict(settings.mtadcs_params)
    params.setdefault("backbone", "mlp" if settings.framework == "linear" else "resnet18")
    model = MTaDCS(device=settings.device, random_state=seed, **params)
    model.fit(data.train_inputs[labeled.indices], labeled.labels, n_classes=data.n_classes, initial_set=initial,
              y_true=data.y_true[labeled.indices])
    accuracy = model.score(data.test_inputs, data.y_test)
    h = model.history_
    trained = TrainResult(accuracy=accuracy, n_train=int(model.in_confidence_set_.sum()), fell_back_to_all=fell_back,
                          seconds=time.perf_counter() - start)
    extra = {"mtadcs_size_G": int(h["size_G"][-1]), "mtadcs_precision_G": float(h["precision_G"][-1]),
             "mtadcs_recall_G": float(h["recall_G"][-1]),
             "mtadcs_flipped_right": int(h["n_flipped_right"].sum()),
             "mtadcs_flipped_wrong": int(h["n_flipped_wrong"].sum()),
             "_training_history": [{k: (v[i].item() if hasattr(v[i], "item") else v[i]) for k, v in h.items()}
                                   for i in range(len(h["epoch"]))]}
    return trained, extra


def _filter_labeled(noise_filter, data: _Data, labeled: LabeledSet, rng: np.random.Generator) -> np.ndarray:
    """The pre-training filter on the whole labeled set (also the partition NAS starts from next round).

    Every strategy gets the same procedure; the filter sees max(|L|, 512) random unlabeled samples as ``pool``
    (LowBudgetAUM's fake class), as inside NAS.
    """
    unlabeled = np.ones(data.X.shape[0], dtype=bool)
    unlabeled[labeled.indices] = False
    candidates = np.flatnonzero(unlabeled)
    size = min(max(labeled.indices.size, FILTER_POOL_MIN), candidates.size)
    pool = data.X[np.sort(rng.choice(candidates, size=size, replace=False))] if size else None
    is_clean = noise_filter.fit_predict(data.X[labeled.indices], labeled.labels, pool=pool,
                                        n_classes=data.n_classes, indices=labeled.indices)
    return np.asarray(is_clean, dtype=bool)


def _measurements(labeled: LabeledSet, annotator, query, trained, query_seconds: float,
                  filter_seconds: float) -> dict:
    from nas.metrics import noise_metrics

    truly_clean = ~np.asarray(annotator.is_noisy)[labeled.indices]
    record = {"accuracy": trained.accuracy, "n_labeled": int(labeled.indices.size), "n_train": trained.n_train,
              "trained_on_all_fallback": float(trained.fell_back_to_all),
              "true_noise_rate": float(1.0 - truly_clean.mean()),
              "predicted_noise_rate": float(1.0 - labeled.is_clean.mean()),
              "nas_filter_calls": query.n_filter_calls, "nas_predicted_noise_rate": query.internal_noise_rate}
    metrics = noise_metrics(labeled.is_clean, truly_clean)
    record["filter_accuracy"] = float(metrics.pop("accuracy"))
    record.update({k: float(v) for k, v in metrics.items() if k not in ("n_samples", "n_true_noisy")})
    record.update(query_seconds=query_seconds, filter_seconds=filter_seconds, train_seconds=trained.seconds)
    record.update({f"query_{stage}_seconds": float(seconds) for stage, seconds in query.timings.items()})
    return record


def _add_difference_from_baseline(records: List[dict]) -> None:
    """accuracy_diff = accuracy − Random's accuracy in the same repeat and round."""
    baseline = {r["round"]: r["accuracy"] for r in records if r["strategy"] == BASELINE}
    for r in records:
        r["accuracy_diff"] = r["accuracy"] - baseline[r["round"]]


def _config(data: _Data, settings: _Settings, repeats: int, seed: int) -> dict:
    noise = settings.noise
    return {"n_pool": int(data.X.shape[0]), "n_features": int(data.X.shape[1]), "n_test": int(len(data.y_test)),
            "n_classes": data.n_classes, "strategies": settings.strategies,
            "noise": {"model": type(noise).__name__, "rate": getattr(noise, "rate", None)},
            "noise_filter": settings.noise_filter if isinstance(settings.noise_filter, str)
            else type(settings.noise_filter).__name__,
            "filter_params": settings.filter_params, "strategy_params": settings.strategy_params,
            "nas_params": settings.nas_params, "budget_noise_rate": settings.budget_noise_rate,
            "round_budgets": settings.schedule.round_budgets,
            "cumulative_budgets": settings.schedule.cumulative, "spc": settings.schedule.spc,
            "framework": settings.framework, "epochs": settings.epochs,
            "training_params": settings.training_params,
            "train_on_all_labeled": settings.train_on_all_labeled, "training": settings.training,
            "mtadcs_params": settings.mtadcs_params, "repeats": repeats, "seed": seed,
            "device": settings.device}
