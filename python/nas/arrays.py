"""Read features, labels and images from .npy / .npz / .pt files (memory-mapped where the format allows).

``PATH`` or ``PATH:KEY`` — the key picks an array inside an .npz archive or a dict saved with torch.save.
"""
from __future__ import annotations

from pathlib import Path
from typing import Optional, Tuple

import numpy as np

__all__ = ["load_array", "split_key"]

SUFFIXES = (".npy", ".npz", ".pt", ".pth")


def split_key(spec: str) -> Tuple[Path, Optional[str]]:
    """``"file.npz:features"`` → (Path("file.npz"), "features"); a plain path → (path, None)."""
    path = Path(spec)
    if path.exists() or ":" not in spec:
        return path, None
    head, key = spec.rsplit(":", 1)
    return Path(head), key


def load_array(spec, *, mmap: bool = True) -> np.ndarray:
    """The array stored at ``spec`` (``PATH`` or ``PATH:KEY``).

    .npy files are memory-mapped (read-only) when ``mmap``; .pt/.pth files are loaded with
    ``torch.load(weights_only=True, mmap=...)`` and tensors shared with numpy; .npz members are read into memory.
    """
    path, key = split_key(str(spec))
    if not path.exists():
        raise FileNotFoundError(f"No such file: {path}")
    suffix = path.suffix.lower()
    if suffix not in SUFFIXES:
        raise ValueError(f"Cannot read {path}: expected one of {', '.join(SUFFIXES)}.")
    if suffix == ".npy":
        if key is not None:
            raise ValueError(f"{path} holds a single array; drop the ':{key}' suffix.")
        return np.load(path, mmap_mode="r" if mmap else None, allow_pickle=False)
    if suffix == ".npz":
        with np.load(path, allow_pickle=False) as archive:
            return archive[_pick_key(path, list(archive.files), key)]
    return _load_torch(path, key, mmap)


def _pick_key(path: Path, keys, key: Optional[str]) -> str:
    if key is None:
        if len(keys) == 1:
            return keys[0]
        raise ValueError(f"{path} holds several arrays ({', '.join(map(str, keys))}); name one as {path}:KEY.")
    if key not in keys:
        raise ValueError(f"{path} has no array named {key!r}; it holds {', '.join(map(str, keys))}.")
    return key


def _numpy_array_globals() -> list:
    """What unpickling a plain numpy array needs (files such as CIFAR-100_human.pt store numpy arrays)."""
    multiarray = getattr(np, "_core", None) or np.core
    return [multiarray.multiarray._reconstruct, np.ndarray, np.dtype] + \
        [type(np.dtype(code)) for code in "?bBhHiIlLqQefdgFDGUS"]


def _load_torch(path: Path, key: Optional[str], mmap: bool) -> np.ndarray:
    """torch.load with weights_only=True (no arbitrary code), numpy arrays allowed; mmap when the format allows."""
    import torch

    with torch.serialization.safe_globals(_numpy_array_globals()):
        try:
            obj = torch.load(path, map_location="cpu", weights_only=True, mmap=mmap)
        except RuntimeError:
            obj = torch.load(path, map_location="cpu", weights_only=True)
    if isinstance(obj, dict):
        obj = obj[_pick_key(path, list(obj), key)]
    elif key is not None:
        raise ValueError(f"{path} holds a single tensor; drop the ':{key}' suffix.")
    if isinstance(obj, torch.Tensor):
        return obj.detach().numpy()
    if isinstance(obj, (np.ndarray, list, tuple)):
        return np.asarray(obj)
    raise ValueError(f"{path} does not hold a tensor or array (got {type(obj).__name__}).")
