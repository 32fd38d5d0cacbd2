import math
import warnings

import numpy as np
import pytest
from sklearn.metrics import balanced_accuracy_score, f1_score, precision_score, recall_score

from nas.metrics import noise_metrics


def test_matches_scikit_learn_for_both_classes():
    rng = np.random.default_rng(0)
    true, pred = rng.random(200) > 0.3, rng.random(200) > 0.4
    m = noise_metrics(pred, true)
    assert m["clean_precision"] == pytest.approx(precision_score(true, pred))
    assert m["clean_recall"] == pytest.approx(recall_score(true, pred))
    assert m["clean_f1"] == pytest.approx(f1_score(true, pred))
    assert m["noise_precision"] == pytest.approx(precision_score(~true, ~pred))
    assert m["noise_recall"] == pytest.approx(recall_score(~true, ~pred))
    assert m["noise_f1"] == pytest.approx(f1_score(~true, ~pred))
    assert m["accuracy"] == pytest.approx((pred == true).mean())
    assert m["balanced_accuracy"] == pytest.approx(balanced_accuracy_score(true, pred))
    assert m["true_noise_rate"] == pytest.approx(1 - true.mean())
    assert m["predicted_noise_rate"] == pytest.approx(1 - pred.mean())
    assert m["n_samples"] == 200 and m["n_true_noisy"] == (~true).sum() and m["n_predicted_noisy"] == (~pred).sum()


def test_undefined_ratios_are_nan_without_warnings():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        nothing_flagged = noise_metrics([True, True], [True, False])
        empty = noise_metrics([], [])
        all_clean = noise_metrics([True, True], [True, True])
    assert math.isnan(nothing_flagged["noise_precision"]) and nothing_flagged["noise_recall"] == 0.0
    assert nothing_flagged["noise_f1"] == 0.0
    assert all(math.isnan(v) for k, v in empty.items() if not k.startswith("n_"))
    assert math.isnan(all_clean["noise_f1"]) and all_clean["clean_f1"] == 1.0


def test_bad_masks():
    with pytest.raises(ValueError, match="The 'is_clean_true' parameter of noise_metrics must be a 1-D boolean "
                                         "mask of length 3"):
        noise_metrics([True, False, True], [True, False])
    with pytest.raises(ValueError, match="The 'is_clean_pred' parameter of noise_metrics must be a 1-D boolean mask"):
        noise_metrics([0.5, 1.0], [True, False])
