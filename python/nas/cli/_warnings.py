"""Collect the warnings of a long CLI run and report them once, grouped, instead of interleaving them with the
progress bar and the results table."""
from __future__ import annotations

import contextlib
import sys
import warnings
from collections import Counter
from typing import Iterator, List


@contextlib.contextmanager
def grouped_warnings() -> Iterator[List[warnings.WarningMessage]]:
    """Record every warning raised inside the block; on exit print one line per category to stderr."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        yield caught
    counts = Counter(w.category.__name__ for w in caught)
    examples = {}
    for w in caught:
        examples.setdefault(w.category.__name__, str(w.message))
    for name, count in counts.items():
        print(f"warning: {name} x{count}, e.g. {examples[name]}", file=sys.stderr)
