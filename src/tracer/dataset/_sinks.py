"""Writing one config's rows as shards, streaming: Parquet through a pyarrow ``ParquetWriter``, or JSON Lines.

A sink holds at most :attr:`Sink.row_group_bytes` of rows in memory (as Arrow record batches) before it writes
them out as one row group, and starts a new shard once a file reaches :attr:`Sink.shard_bytes`. Shards are
``data/<config>/train-00000.parquet``, ``train-00001.parquet``… (the Hub's ``data/`` layout, one ``train``
split per config).

Row groups stay far below the 300 MB that the Hugging Face dataset viewer reads at once ("rows from parquet row
groups are too big to be read … max=286.10 MiB"), and every file has a page index, so the viewer and DuckDB can
read single pages; a config with no rows still gets one empty shard, so its schema is there to load.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any, Protocol

from tracer.dataset._fs import join, remote_errors, require
from tracer.dataset.columns import Column, ListOf, Struct, Type, timestamp_columns

#: Default in-memory size of a row group (bytes of Arrow data).
ROW_GROUP_BYTES = 64 << 20
#: Default size at which a shard is closed and the next begun (bytes written).
SHARD_BYTES = 512 << 20


class Sink(Protocol):
    """Where one config's rows go."""

    def prepare(self, rows: list[dict[str, Any]]) -> Any:
        """One session's rows converted for writing (raises ``ValueError``/``TypeError`` on a malformed row, before
        anything of the session is written)."""

    def put(self, prepared: Any) -> None:
        """Take what :meth:`prepare` made; write a row group when the buffer is full."""

    def close(self) -> list[str]:
        """Write what is buffered, close the last shard; return the shards' paths relative to the dataset."""


def _arrow_type(pa: Any, t: Type) -> Any:
    if isinstance(t, ListOf):
        return pa.list_(_arrow_type(pa, t.item))
    if isinstance(t, Struct):
        return pa.struct([_arrow_field(pa, c) for c in t.fields])
    return {
        "string": pa.string(),
        "int32": pa.int32(),
        "int64": pa.int64(),
        "float64": pa.float64(),
        "bool": pa.bool_(),
        "timestamp": pa.timestamp("us", tz="UTC"),
    }[t]


def _arrow_field(pa: Any, c: Column) -> Any:
    return pa.field(c.name, _arrow_type(pa, c.type), nullable=c.nullable)


def arrow_schema(columns: tuple[Column, ...]) -> Any:
    """The ``pyarrow.Schema`` of a config's columns.

    Raises:
        MissingExtra: pyarrow is not installed.
    """
    pa = require("pyarrow", "dataset", "writing Parquet")
    return pa.schema([_arrow_field(pa, c) for c in columns])


class _Shards:
    """Numbered shard files of one config in ``<root>/data/<config>/``."""

    def __init__(self, fs: Any, root: str, url: str, config: str, suffix: str, shard_bytes: int) -> None:
        self.fs = fs
        self.url = url
        self.directory = join(fs, root, "data", config)
        self.relative = f"data/{config}"
        self.suffix = suffix
        self.shard_bytes = shard_bytes
        self.written: list[str] = []
        with remote_errors(f"cannot create {url}/{self.relative}"):
            fs.makedirs(self.directory, exist_ok=True)

    def open(self) -> Any:
        name = f"train-{len(self.written):05d}{self.suffix}"
        self.written.append(f"{self.relative}/{name}")
        with remote_errors(f"cannot write {self.url}/{self.relative}/{name}"):
            return self.fs.open(join(self.fs, self.directory, name), "wb")


class ParquetSink:
    """A config's rows as Parquet shards (zstd, page index, content-defined chunking where pyarrow has it).

    Args:
        fs, root, url: the dataset's file system, its root path there, and its URL (for messages).
        config, columns: the config's name and columns.
        row_group_bytes: rows buffered (Arrow bytes) before a row group is written.
        shard_bytes: a shard is closed after a row group that takes it to this size.
    """

    def __init__(
        self,
        fs: Any,
        root: str,
        url: str,
        config: str,
        columns: tuple[Column, ...],
        *,
        row_group_bytes: int = ROW_GROUP_BYTES,
        shard_bytes: int = SHARD_BYTES,
    ) -> None:
        self._pa = require("pyarrow", "dataset", "writing Parquet")
        self._pq = require("pyarrow.parquet", "dataset", "writing Parquet")
        self.schema = arrow_schema(columns)
        self.row_group_bytes = row_group_bytes
        self._shards = _Shards(fs, root, url, config, ".parquet", shard_bytes)
        self._batches: list[Any] = []
        self._buffered = 0
        self._file: Any = None
        self._writer: Any = None

    def prepare(self, rows: list[dict[str, Any]]) -> Any:
        """One session's rows as an Arrow record batch (``None`` for no rows)."""
        return self._pa.RecordBatch.from_pylist(rows, schema=self.schema) if rows else None

    def put(self, batch: Any) -> None:
        """Buffer a batch; write a row group when the buffer is full."""
        if batch is None:
            return
        self._batches.append(batch)
        self._buffered += batch.nbytes
        if self._buffered >= self.row_group_bytes:
            self._flush()

    def _flush(self) -> None:
        if not self._batches:
            return
        table = self._pa.Table.from_batches(self._batches, schema=self.schema)
        self._batches, self._buffered = [], 0
        if self._writer is None:
            self._open()
        # one session can hold more than a row group's worth: split it so no group is much over the limit
        rows_per_group = max(1, int(table.num_rows * self.row_group_bytes / max(table.nbytes, 1)))
        with remote_errors(f"cannot write {self._shards.url}/{self._shards.written[-1]}"):
            self._writer.write_table(table, row_group_size=min(table.num_rows, rows_per_group))
            if self._file.tell() >= self._shards.shard_bytes:
                self._close_shard()

    def _open(self) -> None:
        self._file = self._shards.open()
        options: dict[str, Any] = {"compression": "zstd", "write_page_index": True}
        try:
            self._writer = self._pq.ParquetWriter(self._file, self.schema, use_content_defined_chunking=True, **options)
        except TypeError:  # pyarrow < 21
            self._writer = self._pq.ParquetWriter(self._file, self.schema, **options)

    def _close_shard(self) -> None:
        self._writer.close()
        self._file.close()
        self._writer = self._file = None

    def close(self) -> list[str]:
        """Write the rest and close the last shard (an empty one when the config has no rows)."""
        self._flush()
        if self._writer is None and not self._shards.written:
            self._open()
        if self._writer is not None:
            with remote_errors(f"cannot write {self._shards.url}/{self._shards.written[-1]}"):
                self._close_shard()
        return self._shards.written


def rfc3339_us(micros: int) -> str:
    """Microseconds since the Unix epoch as RFC 3339 text in UTC (``2026-11-21T10:30:00.123456Z``)."""
    when = dt.datetime(1970, 1, 1, tzinfo=dt.UTC) + dt.timedelta(microseconds=micros)
    return when.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class JsonlSink:
    """A config's rows as JSON Lines shards: one object per row with every column's key, timestamps as
    RFC 3339 text. Same arguments as :class:`ParquetSink`; ``row_group_bytes`` is the write buffer."""

    def __init__(
        self,
        fs: Any,
        root: str,
        url: str,
        config: str,
        columns: tuple[Column, ...],
        *,
        row_group_bytes: int = ROW_GROUP_BYTES,
        shard_bytes: int = SHARD_BYTES,
    ) -> None:
        self._shards = _Shards(fs, root, url, config, ".jsonl", shard_bytes)
        self._times = timestamp_columns(columns)
        self._buffer: list[bytes] = []
        self._buffered = 0
        self.row_group_bytes = row_group_bytes
        self._file: Any = None
        self._size = 0

    def prepare(self, rows: list[dict[str, Any]]) -> list[bytes]:
        """One session's rows as JSON lines."""
        lines = []
        for row in rows:
            for name in self._times:
                if row[name] is not None:
                    row = {**row, name: rfc3339_us(row[name])}
            lines.append((json.dumps(row, ensure_ascii=False) + "\n").encode("utf-8"))
        return lines

    def put(self, lines: list[bytes]) -> None:
        """Buffer lines; write them out when the buffer is full."""
        self._buffer += lines
        self._buffered += sum(len(line) for line in lines)
        if self._buffered >= self.row_group_bytes:
            self._flush()

    def _flush(self) -> None:
        if not self._buffer:
            return
        if self._file is None:
            self._file = self._shards.open()
            self._size = 0
        data = b"".join(self._buffer)
        self._buffer, self._buffered = [], 0
        with remote_errors(f"cannot write {self._shards.url}/{self._shards.written[-1]}"):
            self._file.write(data)
            self._size += len(data)
            if self._size >= self._shards.shard_bytes:
                self._file.close()
                self._file = None

    def close(self) -> list[str]:
        """Write the rest and close the last shard (an empty one when the config has no rows)."""
        self._flush()
        if self._file is None and not self._shards.written:
            self._file = self._shards.open()
        if self._file is not None:
            with remote_errors(f"cannot write {self._shards.url}/{self._shards.written[-1]}"):
                self._file.close()
            self._file = None
        return self._shards.written
