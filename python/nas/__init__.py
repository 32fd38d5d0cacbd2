"""nas: active learning with a noisy annotator (Noise-Aware Active Sampling)."""
__version__ = "0.1.0"

_LAZY = {"NAS": "meta", "NASResult": "meta", "make_selector": "meta",
         "ActiveLabelCorrection": "correction"}

__all__ = ["__version__", *_LAZY]


def __getattr__(name):
    """Import the heavier parts (torch, the compiled kernels) only when first used."""
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(f"module 'nas' has no attribute {name!r}")
