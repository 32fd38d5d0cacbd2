"""Argument helpers shared by the workspace verbs (init, query, annotate, status, export)."""
from __future__ import annotations

import argparse
import json
from typing import Dict, List, Optional

from nas.cli import CLIError


def add_directory(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("directory", metavar="DIR", help="the workspace directory")


def add_features_override(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--features", metavar="PATH", default=None,
                        help="where the embedding file is now, if it moved since `nas init` (its hash must match)")


def parse_params(pairs: Optional[List[str]], option: str) -> Dict:
    """KEY=VALUE pairs to a dict; values are read as JSON when they parse (numbers, true, null, lists)."""
    params: Dict = {}
    for pair in pairs or []:
        key, sep, text = pair.partition("=")
        key = key.strip().replace("-", "_")
        if not sep or not key.isidentifier():
            raise CLIError(f"{option} expects KEY=VALUE (e.g. {option} k=10); got '{pair}'.")
        try:
            params[key] = json.loads(text)
        except json.JSONDecodeError:
            params[key] = text
    return params
