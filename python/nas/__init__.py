"""nas: active learning with a noisy annotator (Noise-Aware Active Sampling)."""
__version__ = "0.1.0"
