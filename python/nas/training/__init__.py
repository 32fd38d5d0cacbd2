"""Training on the labeled set of an active-learning round (the paper's two frameworks).

- framework 2: :class:`LinearProbe` on frozen embeddings (500 epochs);
- framework 1: :class:`ResNet18Classifier` on uint8 image arrays (200 epochs, horizontal flips).

Both use SGD (Nesterov 0.9, weight decay 3e-4, cosine LR from 0.025, batch 100), run on CPU or CUDA, and are
seeded by ``random_state``. :func:`train_and_evaluate` trains on the predicted-clean samples (or all labeled ones).
:class:`MTaDCS` (seed 002) trains on a confidence set it grows and prunes itself, with label correction.
"""
from .evaluate import FRAMEWORKS, TrainResult, make_classifier, train_and_evaluate, training_subset
from .linear import LinearProbe
from .mtadcs import MTaDCS
from .resnet import ResNet18, ResNet18Classifier

__all__ = ["FRAMEWORKS", "LinearProbe", "MTaDCS", "ResNet18", "ResNet18Classifier", "TrainResult", "make_classifier",
           "train_and_evaluate", "training_subset"]
