"""Device selection for nas_ext ops: 'cpu' always; 'cuda' only in a CUDA build with a visible GPU."""
from __future__ import annotations

from ._validation import param_error


def resolve_device(device, function: str) -> str:
    """Return 'cpu' or 'cuda' (a 'cuda:N' string or a torch.device is accepted); never falls back silently."""
    name = str(device)
    kind = name.split(":", 1)[0]
    if kind not in ("cpu", "cuda"):
        raise param_error(function, "device", "'cpu' or 'cuda'", device)
    if kind == "cuda":
        from . import _C

        if not _C.build_info()["cuda"]:
            raise RuntimeError(
                f"{function}: device='cuda' was requested but this nas_ext build has no CUDA support "
                "(it was compiled without nvcc). Reinstall on a machine with the CUDA toolkit, or use device='cpu'."
            )
        import torch

        if not torch.cuda.is_available():
            raise RuntimeError(f"{function}: device='cuda' was requested but torch sees no CUDA device.")
    return kind
