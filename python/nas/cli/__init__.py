"""The `nas` command: git-like verbs, each in its own module under nas.cli.

A verb module defines ``NAME``, ``HELP``, ``add_arguments(parser)`` and ``run(args) -> int``.
"""
from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys
from typing import List, Optional

VERB_MODULES: List[str] = ["demo", "simulate", "init", "query", "annotate", "status", "export", "bench", "plan",
                           "correct", "filters"]


class CLIError(Exception):
    """A user-facing error: printed as one line, exit status 2."""


def build_parser(argv: Optional[List[str]] = None) -> argparse.ArgumentParser:
    """The `nas` parser. With ``argv`` naming a verb, only that verb's arguments are built: some verbs'
    ``add_arguments`` import heavy modules (torch) that a quick `nas status` should not wait for."""
    from nas import __version__

    parser = argparse.ArgumentParser(prog="nas", description="Active learning with a noisy annotator.")
    parser.add_argument("--version", action="version", version=f"nas {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress details")
    sub = parser.add_subparsers(dest="verb", metavar="VERB")
    sub.required = True
    modules = [importlib.import_module(f"nas.cli.{name}") for name in VERB_MODULES]
    requested = next((a for a in (argv or []) if not a.startswith("-")), None)
    requested = requested if any(m.NAME == requested for m in modules) else None
    for module in modules:
        p = sub.add_parser(module.NAME, help=module.HELP, description=module.HELP)
        if requested is None or module.NAME == requested:
            module.add_arguments(p)
        p.set_defaults(_run=module.run)
    return parser


def main(argv: Optional[List[str]] = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    parser = build_parser(argv)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")
    try:
        return int(args._run(args) or 0)
    except BrokenPipeError:
        # The reader went away (`nas status | head`): stop quietly, as other command-line tools do.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except (CLIError, ValueError, TypeError, FileNotFoundError, RuntimeError) as exc:
        print(f"nas {args.verb}: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
