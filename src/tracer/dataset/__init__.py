"""Sessions as data: a dataset in the Hugging Face layout (Parquet or JSON Lines shards, a dataset card, SWE-bench
files) and sessions pushed to shared storage, on a local directory or any fsspec URL.

Public API::

    build_dataset(out, Selection(...), BuildOptions(...)) -> BuildReport     tracer dataset build
    push_sessions([S, ...], url) -> PushReport                               tracer push
    trace_features() -> datasets.Features                                    load trace exports with datasets
    CONFIGS                                                                  the configs and their columns

Everything that leaves the machine here goes through export-time redaction: a ``redact`` callable applied to
each session, read whole (:class:`tracer.redact.SessionRedaction`). pyarrow and fsspec come with the ``dataset``
extra; the backends of ``s3://``, ``gs://``, ``hf://`` and ``sftp://`` with the ``s3``, ``gcs``, ``hf`` and
``sftp`` extras.
"""

from tracer.dataset.build import (
    FORMATS,
    MAX_OUTPUT,
    MAX_TOOL_OUTPUT,
    BuildOptions,
    BuildReport,
    Selection,
    build_dataset,
    parse_since,
)
from tracer.dataset.columns import CONFIGS
from tracer.dataset.push import PushReport, push_sessions
from tracer.dataset.rows import Redact, identity
from tracer.dataset.traces import trace_features

__all__ = [
    "CONFIGS",
    "FORMATS",
    "MAX_OUTPUT",
    "MAX_TOOL_OUTPUT",
    "BuildOptions",
    "BuildReport",
    "PushReport",
    "Redact",
    "Selection",
    "build_dataset",
    "identity",
    "parse_since",
    "push_sessions",
    "trace_features",
]
