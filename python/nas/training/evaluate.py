"""Train a classifier on the labeled set of an active-learning round and measure it on the test set."""
from __future__ import annotations

import time
import warnings
from dataclasses import dataclass
from typing import Optional

import numpy as np

from nas_ext._validation import check_choice, check_int

from .linear import LinearProbe
from .resnet import ResNet18Classifier

__all__ = ["FRAMEWORKS", "TrainResult", "make_classifier", "training_subset", "train_and_evaluate"]

FRAMEWORKS = ("linear", "resnet18")
DEFAULT_EPOCHS = {"linear": 500, "resnet18": 200}


@dataclass
class TrainResult:
    """Test accuracy (top-1, %) of one training run, how many samples it used and how long it took."""

    accuracy: float
    n_train: int
    fell_back_to_all: bool
    seconds: float


def make_classifier(framework: str = "linear", *, epochs: Optional[int] = None, device="cpu", random_state=None,
                    **params):
    """A fresh classifier: ``"linear"`` → :class:`LinearProbe` (framework 2, 500 epochs by default),
    ``"resnet18"`` → :class:`ResNet18Classifier` (framework 1, 200 epochs by default)."""
    check_choice(framework, "make_classifier", "framework", FRAMEWORKS)
    epochs = DEFAULT_EPOCHS[framework] if epochs is None else check_int(epochs, "make_classifier", "epochs", low=1)
    cls = LinearProbe if framework == "linear" else ResNet18Classifier
    return cls(epochs=epochs, device=device, random_state=random_state, **params)


def training_subset(is_clean, *, train_on_all_labeled: bool = False) -> tuple:
    """Positions of the labeled samples to train on, and whether the clean set was empty.

    By default the predicted-clean samples; all of them with ``train_on_all_labeled=True``. When the filter marks
    every labeled sample as noisy, training on nothing is impossible (the reference loader loops forever): warn and
    fall back to all labeled samples.
    """
    is_clean = np.asarray(is_clean, dtype=bool)
    if is_clean.size == 0:
        raise ValueError("Cannot train on an empty labeled set: query some samples first.")
    if train_on_all_labeled:
        return np.arange(is_clean.size), False
    clean = np.flatnonzero(is_clean)
    if clean.size == 0:
        warnings.warn(f"The noise filter marked all {is_clean.size} labeled samples as noisy; training on all "
                      "labeled samples instead.", UserWarning, stacklevel=2)
        return np.arange(is_clean.size), True
    return clean, False


def train_and_evaluate(classifier, X_train, y_train, X_test, y_test, *, is_clean=None, n_classes: int,
                       train_on_all_labeled: bool = False) -> TrainResult:
    """Fit ``classifier`` on the (predicted-clean) labeled rows and return its test accuracy.

    ``X_train``/``y_train`` are the labeled samples (features or images) with their annotated labels, ``is_clean``
    the filter's mask over them (None: all clean). ``X_test``/``y_test`` are clean test data.
    """
    y_train = np.asarray(y_train)
    mask = np.ones(y_train.shape[0], dtype=bool) if is_clean is None else is_clean
    rows, fell_back = training_subset(mask, train_on_all_labeled=train_on_all_labeled)
    start = time.perf_counter()
    classifier.fit(np.asarray(X_train)[rows], y_train[rows], n_classes=n_classes)
    accuracy = classifier.score(X_test, y_test)
    return TrainResult(accuracy=accuracy, n_train=int(rows.size), fell_back_to_all=fell_back,
                       seconds=time.perf_counter() - start)
