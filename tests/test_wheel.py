"""`pip wheel .` builds a wheel that installs into a fresh virtual environment and runs.

The wheel is cached under build/wheel-cache/<hash of the sources> so that the suite rebuilds it only
when a source file changed; scikit-build-core's per-tag build directory (build/<wheel tag>) also
makes a rebuild incremental after `make install`. The fresh venv has no access to this checkout or
to the test environment's packages, except that the wheel's dependencies (numpy, torch, ...) are
made importable by a .pth file pointing at the test environment's site-packages: installing torch
again from an index would take minutes and gigabytes on a CI machine. Set NAS_WHEEL_TEST_INDEX=1
to install the dependencies from the package index instead (a fully independent environment).
"""
import hashlib
import os
import shutil
import site
import subprocess
import sys
import time
import venv
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CACHE = ROOT / "build" / "wheel-cache"
SOURCE_SUFFIXES = {".py", ".cpp", ".h", ".hpp", ".cu", ".cuh", ".txt", ".toml", ".md", ".in"}
SOURCE_ROOTS = ("csrc", "nas_ext", "python", "CMakeLists.txt", "pyproject.toml", "README.md")

pytestmark = pytest.mark.slow


def source_hash() -> str:
    """Hash of every file that goes into the wheel (paths and bytes)."""
    digest = hashlib.blake2b(digest_size=12)
    for top in SOURCE_ROOTS:
        path = ROOT / top
        files = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file())
        for f in files:
            if f.suffix in SOURCE_SUFFIXES and "__pycache__" not in f.parts:
                digest.update(str(f.relative_to(ROOT)).encode() + b"\0" + f.read_bytes() + b"\0")
    return digest.hexdigest()


def cached_wheel() -> Path:
    """The wheel for the current sources, built with `pip wheel .` on a cache miss."""
    key = source_hash()
    target = CACHE / key
    wheels = sorted(target.glob("nas-*.whl")) if target.is_dir() else []
    if wheels:
        return wheels[0]
    staging = CACHE / f".staging-{key}-{os.getpid()}"
    shutil.rmtree(staging, ignore_errors=True)
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "pip", "wheel", str(ROOT), "--no-build-isolation", "--no-deps",
                    "-w", str(staging)], check=True, capture_output=True, text=True, cwd=ROOT)
    print(f"built the wheel in {time.perf_counter() - start:.1f} s")
    for old in sorted(p for p in CACHE.iterdir() if p.is_dir() and not p.name.startswith("."))[:-2] \
            if CACHE.is_dir() else []:
        shutil.rmtree(old, ignore_errors=True)
    os.replace(staging, target) if not target.exists() else shutil.rmtree(staging)
    return sorted(target.glob("nas-*.whl"))[0]


def clean_env(venv_dir: Path) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV")}
    env["PATH"] = f"{venv_dir / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    env["VIRTUAL_ENV"] = str(venv_dir)
    return env


def test_wheel_installs_into_a_fresh_venv_and_runs(tmp_path):
    wheel = cached_wheel()
    venv_dir = tmp_path / "venv"
    venv.EnvBuilder(with_pip=False, system_site_packages=False).create(venv_dir)
    python = venv_dir / "bin" / "python"
    from_index = os.environ.get("NAS_WHEEL_TEST_INDEX") == "1"
    install = [sys.executable, "-m", "pip", "--python", str(python), "install", "--only-binary", ":all:",
               str(wheel)] + ([] if from_index else ["--no-deps", "--no-index"])
    subprocess.run(install, check=True, capture_output=True, text=True, cwd=tmp_path)
    if not from_index:
        purelib = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                                 check=True, capture_output=True, text=True).stdout.strip()
        Path(purelib, "_nas_test_dependencies.pth").write_text("\n".join(site.getsitepackages()) + "\n")
    env = clean_env(venv_dir)

    def run(*args):
        return subprocess.run(list(args), check=True, capture_output=True, text=True, cwd=tmp_path, env=env)

    where = run(str(python), "-c", "import nas, nas_ext; print(nas.__file__); print(nas_ext.__file__); "
                                   "print(nas_ext.build_info())").stdout.splitlines()
    assert all(Path(line).is_relative_to(venv_dir) for line in where[:2]), where
    assert "'version': '0.1.0'" in where[2]
    check = run(sys.executable, "-m", "pip", "--python", str(python), "check")
    assert "No broken requirements" in check.stdout
    help_text = run(str(venv_dir / "bin" / "nas"), "--help").stdout
    for verb in ("init", "query", "annotate", "status", "export", "bench"):
        assert verb in help_text
    if "demo" in help_text:
        run(str(venv_dir / "bin" / "nas"), "demo", "--quick")
