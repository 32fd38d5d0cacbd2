"""Pilot files and the noise rate estimated from them."""
import numpy as np
import pytest

from nas.planning import estimate_noise_rate, read_pilot_labels


def test_reads_csv_and_npy(tmp_path):
    (tmp_path / "p.csv").write_text("index,label,extra\n3,1,x\n7,0,y\n")
    idx, lab = read_pilot_labels(tmp_path / "p.csv")
    assert idx.tolist() == [3, 7] and lab.tolist() == [1, 0] and idx.dtype == np.int64
    np.save(tmp_path / "p.npy", np.array([[1, 2], [4, 0]]))
    idx, lab = read_pilot_labels(tmp_path / "p.npy")
    assert idx.tolist() == [1, 4] and lab.tolist() == [2, 0]


@pytest.mark.parametrize("text, message", [("idx,label\n1,2\n", "columns 'index' and 'label'"),
                                           ("index,label\n1,cat\n", "line 2"), ("index,label\n", "no pilot")])
def test_bad_csv_is_a_clear_error(tmp_path, text, message):
    (tmp_path / "p.csv").write_text(text)
    with pytest.raises(ValueError, match=message):
        read_pilot_labels(tmp_path / "p.csv")


def test_noisier_pilots_get_higher_estimates():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 3, 300)
    X = (5.0 * np.eye(3, 5)[y] + 0.5 * rng.standard_normal((300, 5))).astype(np.float32)
    idx = np.arange(90)
    clean = estimate_noise_rate(X, idx, y[idx], n_classes=3)
    noisy_labels = y[idx].copy()
    noisy_labels[::2] = (noisy_labels[::2] + 1) % 3     # 50% noise
    noisy = estimate_noise_rate(X, idx, noisy_labels, n_classes=3)
    assert clean.noise_rate < 0.1 and noisy.noise_rate > 0.3 and noisy.n_labels == 90
    with pytest.raises(ValueError, match="'labels' parameter of estimate_noise_rate"):
        estimate_noise_rate(X, idx, np.full(90, 5), n_classes=3)
