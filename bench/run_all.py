"""`make bench`: run every bench/bench_*.py and rewrite bench/RESULTS.md.

Each benchmark module defines ``TITLE`` and ``run(quick: bool) -> str`` returning a markdown section
whose numbers are ratios against baselines measured in the same process.
"""
from __future__ import annotations

import argparse
import datetime
import importlib.util
import pathlib
import sys

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from _common import machine  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="small sizes (a smoke run, minutes)")
    parser.add_argument("--only", nargs="*", help="benchmark module names to run (default: all)")
    parser.add_argument("--out", default=str(HERE / "RESULTS.md"))
    args = parser.parse_args()
    sections = []
    for path in sorted(HERE.glob("bench_*.py")):
        if args.only and path.stem not in args.only:
            continue
        spec = importlib.util.spec_from_file_location(path.stem, path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        print(f"running {path.name} ...", flush=True)
        sections.append(f"## {module.TITLE}\n\nCommand: `python bench/{path.name}{' --quick' if args.quick else ''}`"
                        f"\n\n{module.run(args.quick)}\n")
        print(sections[-1], flush=True)
    header = (f"# Benchmark results\n\nWritten by `make bench` (bench/run_all.py) on "
              f"{datetime.date.today().isoformat()}.\n\nMachine: {machine()}\n\n")
    pathlib.Path(args.out).write_text(header + "\n".join(sections))
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
