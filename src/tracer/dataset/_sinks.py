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
from typing import Any

from tracer.dataset._fs import join, remote_errors, require
from tracer.dataset.columns import Column, ListOf, Struct, Type, timestamp_columns

#: Default in-memory size of a row group (bytes of Arrow data).
ROW_GROUP_BYTES = 64 << 20
#: Default size at which a shard is closed and the next begun (bytes written).
SHARD_BYTES = 512 << 20


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


class _Sink:
    """A config's rows as numbered shards ``<root>/data/<config>/train-00000<suffix>``…: rows are buffered until
    ``row_group_bytes`` are pending, then written (:meth:`_write`); a shard is closed once it reaches
    ``shard_bytes`` and the next one begun.

    Args:
        fs, root, url: the dataset's file system, its root path there, and its URL (for messages).
        config, columns: the config's name and columns.
        row_group_bytes: bytes buffered before they are written (for Parquet: one row group).
        shard_bytes: a shard is closed after a write that takes it to this size.
    """

    suffix = ""

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
        self.fs = fs
        self.url = url
        self.columns = columns
        self.row_group_bytes = row_group_bytes
        self.shard_bytes = shard_bytes
        self.directory = join(fs, root, "data", config)
        self.relative = f"data/{config}"
        self.written: list[str] = []
        self._pending: list[Any] = []
        self._buffered = 0
        self._file: Any = None
        with remote_errors(f"cannot create {url}/{self.relative}"):
            fs.makedirs(self.directory, exist_ok=True)

    def prepare(self, rows: list[dict[str, Any]]) -> tuple[list[Any], int]:
        """One session's rows converted for writing, and their size in bytes; raises ``ValueError`` or
        ``TypeError`` on a malformed row, before anything of the session is written."""
        raise NotImplementedError

    def put(self, prepared: tuple[list[Any], int]) -> None:
        """Take what :meth:`prepare` made; write when the buffer is full."""
        items, size = prepared
        self._pending += items
        self._buffered += size
        if self._buffered >= self.row_group_bytes:
            self._flush()

    def close(self) -> list[str]:
        """Write the rest and close the last shard (an empty one when the config has no rows); return the shards'
        paths relative to the dataset."""
        self._flush()
        if self._file is None and not self.written:
            self._open()
        if self._file is not None:
            with remote_errors(f"cannot write {self.url}/{self.written[-1]}"):
                self._close_file()
        return self.written

    def _flush(self) -> None:
        if not self._pending:
            return
        pending, self._pending, self._buffered = self._pending, [], 0
        if self._file is None:
            self._open()
        with remote_errors(f"cannot write {self.url}/{self.written[-1]}"):
            self._write(pending)
            if self._file.tell() >= self.shard_bytes:
                self._close_file()

    def _open(self) -> None:
        name = f"train-{len(self.written):05d}{self.suffix}"
        self.written.append(f"{self.relative}/{name}")
        with remote_errors(f"cannot write {self.url}/{self.relative}/{name}"):
            self._file = self.fs.open(join(self.fs, self.directory, name), "wb")
            self._opened()

    def _opened(self) -> None:
        """A new shard file is open (``self._file``)."""

    def _write(self, items: list[Any]) -> None:
        raise NotImplementedError

    def _close_file(self) -> None:
        self._file.close()
        self._file = None


class ParquetSink(_Sink):
    """A config's rows as Parquet shards through a pyarrow ``ParquetWriter``: zstd, a page index, content-defined
    chunking where pyarrow has it; each write one row group (or a few, when one session alone holds more than a
    row group's worth)."""

    suffix = ".parquet"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._pa = require("pyarrow", "dataset", "writing Parquet")
        self._pq = require("pyarrow.parquet", "dataset", "writing Parquet")
        self.schema = arrow_schema(self.columns)
        self._writer: Any = None

    def prepare(self, rows: list[dict[str, Any]]) -> tuple[list[Any], int]:
        """One session's rows as an Arrow record batch."""
        if not rows:
            return [], 0
        batch = self._pa.RecordBatch.from_pylist(rows, schema=self.schema)
        return [batch], batch.nbytes

    def _opened(self) -> None:
        options: dict[str, Any] = {"compression": "zstd", "write_page_index": True}
        try:
            self._writer = self._pq.ParquetWriter(self._file, self.schema, use_content_defined_chunking=True, **options)
        except TypeError:  # pyarrow < 21
            self._writer = self._pq.ParquetWriter(self._file, self.schema, **options)

    def _write(self, batches: list[Any]) -> None:
        table = self._pa.Table.from_batches(batches, schema=self.schema)
        rows_per_group = max(1, int(table.num_rows * self.row_group_bytes / max(table.nbytes, 1)))
        self._writer.write_table(table, row_group_size=min(table.num_rows, rows_per_group))

    def _close_file(self) -> None:
        self._writer.close()
        self._writer = None
        super()._close_file()


def rfc3339_us(micros: int) -> str:
    """Microseconds since the Unix epoch as RFC 3339 text in UTC (``2026-11-21T10:30:00.123456Z``)."""
    when = dt.datetime(1970, 1, 1, tzinfo=dt.UTC) + dt.timedelta(microseconds=micros)
    return when.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class JsonlSink(_Sink):
    """A config's rows as JSON Lines shards: one object per row with every column's key, timestamps as
    RFC 3339 text."""

    suffix = ".jsonl"

    def prepare(self, rows: list[dict[str, Any]]) -> tuple[list[Any], int]:
        """One session's rows as JSON lines (bytes)."""
        times = timestamp_columns(self.columns)
        lines = []
        for row in rows:
            for name in times:
                if row[name] is not None:
                    row = {**row, name: rfc3339_us(row[name])}
            lines.append((json.dumps(row, ensure_ascii=False) + "\n").encode("utf-8"))
        return lines, sum(len(line) for line in lines)

    def _write(self, lines: list[Any]) -> None:
        self._file.write(b"".join(lines))


#: The sink of each ``--format``.
SINKS: dict[str, type[_Sink]] = {"parquet": ParquetSink, "jsonl": JsonlSink}
