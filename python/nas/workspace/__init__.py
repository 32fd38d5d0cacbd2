"""Annotation workspaces: crash-safe rounds of query → label → filter over days (`nas init/query/...`).

A workspace is a directory holding one SQLite database (``nas.sqlite``) with the pool reference
(path and content hash of the embedding file), class names, the selection configuration, every
query batch, every label received, every filter result and per-stage timings, plus the CSV files
of the queries. See :class:`Workspace` for the Python API; the CLI verbs call it.
"""
from .core import AnnotateResult, ExportResult, Query, Workspace
from .errors import AnswerFileError, WorkspaceError
from .report import Status
from .schema import SCHEMA_VERSION
from .store import Config

__all__ = ["Workspace", "Query", "AnnotateResult", "ExportResult", "Status", "Config", "WorkspaceError",
           "AnswerFileError", "SCHEMA_VERSION"]
