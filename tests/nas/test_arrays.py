"""nas.arrays.load_array: .npy (memory-mapped), .npz and .pt inputs, PATH:KEY selection, clear errors."""
import numpy as np
import pytest
import torch

from nas.arrays import load_array


def test_npy_is_memory_mapped(tmp_path):
    np.save(tmp_path / "a.npy", np.arange(6, dtype=np.float32).reshape(2, 3))
    arr = load_array(tmp_path / "a.npy")
    assert isinstance(arr, np.memmap) and arr.shape == (2, 3)
    assert load_array(tmp_path / "a.npy", mmap=False).__class__ is np.ndarray


def test_npz_single_array_or_named_key(tmp_path):
    np.savez(tmp_path / "one.npz", np.arange(3))
    np.savez(tmp_path / "two.npz", features=np.ones((2, 2)), labels=np.arange(2))
    np.testing.assert_array_equal(load_array(tmp_path / "one.npz"), [0, 1, 2])
    np.testing.assert_array_equal(load_array(f"{tmp_path / 'two.npz'}:labels"), [0, 1])
    with pytest.raises(ValueError, match="several arrays \\(features, labels\\)"):
        load_array(tmp_path / "two.npz")
    with pytest.raises(ValueError, match="no array named 'targets'"):
        load_array(f"{tmp_path / 'two.npz'}:targets")


def test_pt_tensor_dict_and_numpy_payload(tmp_path):
    torch.save(torch.arange(4), tmp_path / "t.pt")
    torch.save({"noisy_label": np.array([3, 1, 2]), "x": torch.ones(2)}, tmp_path / "d.pt")
    np.testing.assert_array_equal(load_array(tmp_path / "t.pt"), [0, 1, 2, 3])
    np.testing.assert_array_equal(load_array(f"{tmp_path / 'd.pt'}:noisy_label"), [3, 1, 2])
    with pytest.raises(ValueError, match="name one as"):
        load_array(tmp_path / "d.pt")


def test_missing_files_and_unknown_formats_are_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="No such file"):
        load_array(tmp_path / "nothing.npy")
    (tmp_path / "x.csv").write_text("1,2\n")
    with pytest.raises(ValueError, match="expected one of .npy, .npz, .pt, .pth"):
        load_array(tmp_path / "x.csv")
    np.save(tmp_path / "a.npy", np.arange(3))
    with pytest.raises(ValueError, match="single array"):
        load_array(f"{tmp_path / 'a.npy'}:key")
