"""Run the `nas` command in a subprocess with the same `nas` and `nas_ext` the tests import."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Dict

import nas
import nas_ext


def cli_env() -> Dict[str, str]:
    """Environment whose PYTHONPATH finds the imported `nas` and `nas_ext` (source tree or installed)."""
    roots = []
    for module in (nas, nas_ext):
        root = str(Path(module.__file__).resolve().parents[1])
        if root not in roots:
            roots.append(root)
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(roots + ([env["PYTHONPATH"]] if env.get("PYTHONPATH") else []))
    return env


def nas_command(*args) -> list:
    return [sys.executable, "-m", "nas", *map(str, args)]


def neutral_cwd() -> str:
    """A working directory for `python -m nas` whose own entry on sys.path cannot shadow the imported
    packages: the folder holding the imported `nas` (a source checkout's root would put its
    uncompiled `nas_ext/` first)."""
    return str(Path(nas.__file__).resolve().parents[1])


def run_nas(*args, check: bool = True, cwd=None) -> subprocess.CompletedProcess:
    """Run `nas ARGS...`; with ``check`` a non-zero exit fails with the command's stderr."""
    proc = subprocess.run(nas_command(*args), capture_output=True, text=True, env=cli_env(),
                          cwd=cwd if cwd is not None else neutral_cwd())
    if check and proc.returncode != 0:
        raise AssertionError(f"nas {' '.join(map(str, args))} exited {proc.returncode}:\n{proc.stderr}")
    return proc
