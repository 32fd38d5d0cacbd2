"""The README's workspace round runs exactly as written (a new user copies it)."""
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from helpers.cli import cli_env

ROOT = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.slow


def readme_block(marker: str) -> str:
    text = (ROOT / "README.md").read_text()
    match = re.search(re.escape(marker) + r".*?\n```bash\n(.*?)```", text, re.S)
    assert match, f"README.md has no bash block after {marker!r}"
    return match.group(1)


def test_readme_workspace_round_runs_as_written(tmp_path):
    shims = tmp_path / "bin"
    shims.mkdir()
    for name, target in (("python", f'exec "{sys.executable}" "$@"'), ("nas", f'exec "{sys.executable}" -m nas "$@"')):
        (shims / name).write_text(f"#!/bin/sh\n{target}\n")
        (shims / name).chmod(0o755)
    env = cli_env()
    env["PATH"] = f"{shims}{os.pathsep}{env['PATH']}"
    script = readme_block("<!-- workspace-round")
    proc = subprocess.run(["bash", "-euo", "pipefail", "-c", script], cwd=tmp_path, env=env, capture_output=True,
                          text=True)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.count("recorded 5 labels") == 3
    assert "predicted noise rate" in proc.stdout
    lines = (tmp_path / "labeled.csv").read_text().splitlines()
    assert lines[0] == "index,id,label,label_index,round,annotator,is_clean,score" and len(lines) == 16
    assert (tmp_path / "probe.pt").is_file()
