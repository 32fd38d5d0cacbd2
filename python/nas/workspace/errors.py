"""Errors raised by workspaces; the CLI prints them as one line and exits with status 2."""
from __future__ import annotations

from typing import List, Tuple


class WorkspaceError(RuntimeError):
    """A workspace cannot do what was asked (missing, changed pool, newer schema, bad state)."""


class AnswerFileError(WorkspaceError):
    """An answer file was rejected as a whole; ``problems`` lists ``(line, message)`` pairs.

    Nothing from a rejected file is recorded.
    """

    def __init__(self, source: str, problems: List[Tuple[int, str]], *, shown: int = 5):
        self.source = source
        self.problems = list(problems)
        listed = "; ".join(f"line {line}: {message}" for line, message in self.problems[:shown])
        more = len(self.problems) - shown
        tail = f" (and {more} more problem{'s' if more > 1 else ''})" if more > 0 else ""
        super().__init__(f"{source} rejected, nothing recorded: {listed}{tail}")
