"""Importing nas_ext from a source folder without the compiled _C says what happened and what to run."""
import shutil
import subprocess
import sys
from pathlib import Path

import nas_ext


def test_source_folder_without_extension_explains_itself(tmp_path):
    source = Path(nas_ext.__file__).resolve().parent
    shutil.copytree(source, tmp_path / "nas_ext", ignore=shutil.ignore_patterns("_C*", "__pycache__"))
    done = subprocess.run([sys.executable, "-c", "import nas_ext"], cwd=tmp_path, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode != 0
    assert "partially initialized" not in done.stderr
    assert "holds no compiled extension" in done.stderr and "make dev" in done.stderr
