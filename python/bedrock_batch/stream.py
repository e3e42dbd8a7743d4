"""Packing a source too big for memory: a file (Parquet, JSONL, CSV, WordPress XML) or an Arrow
stream is read a batch of rows at a time, each batch cleaned, packed and appended to the shard
files, then dropped, so memory grows with the batch, not the corpus.

    recs = bb.pack("posts.parquet", prompt=prompt, model=MODEL, clean={"content": "html"})
    shards = recs.write("batch/", quotas=bb.Quotas())   # one pass over the file

The jobs are balanced as ``Records.write`` balances them, which needs the number of rows first:
Parquet's metadata has it; JSONL and CSV are counted in a first pass; an Arrow stream (read only
once) needs ``total=``.
"""

from __future__ import annotations

import bisect
import importlib
import itertools
import os
import shutil
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .exceptions import InputError, InputTypeError

__all__ = ["StreamedRecords", "WrittenShard"]

BATCH_ROWS = 8192


@dataclass(frozen=True)
class WrittenShard:
    """One shard file a streaming write made; its folder is one job's S3 input prefix."""

    path: Path
    job: int
    records: int
    bytes: int
    input_tokens: int

    @property
    def job_dir(self) -> Path:
        return self.path.parent


def _needs_pyarrow() -> Any:
    try:
        import pyarrow as pa
    except ImportError:
        raise InputError(
            "packing from a file needs pyarrow: pip install 'bedrock-batch[arrow]'"
        ) from None
    return pa


def count_rows(path: Path) -> int:
    """Rows of a source file: Parquet from its metadata, JSONL by its lines, CSV and XML by a
    reading pass."""
    if not path.exists():
        raise InputError(f"{path}: no such file")
    suffix = path.suffix.lower()
    if suffix == ".parquet":
        _needs_pyarrow()
        import pyarrow.parquet as pq

        return int(pq.ParquetFile(path).metadata.num_rows)
    if suffix in (".jsonl", ".ndjson"):
        n = 0
        with open(path, "rb") as f:
            for block in iter(lambda: f.read(1 << 24), b""):
                n += block.count(b"\n")
            f.seek(0, os.SEEK_END)
            if f.tell():
                f.seek(-1, os.SEEK_END)
                n += f.read(1) != b"\n"  # a last line without its newline
        return n
    return sum(b.num_rows for b in batches(path, None, BATCH_ROWS))


def batches(source: Any, columns: list[str] | None, size: int) -> Iterator[Any]:
    """Record batches of a source file or an Arrow stream, ``size`` rows at most, only
    ``columns`` when given."""
    if isinstance(source, (str, os.PathLike)):
        path = Path(source)
        if not path.exists():
            raise InputError(f"{path}: no such file")
        suffix = path.suffix.lower()
        pa = _needs_pyarrow()
        if suffix == ".parquet":
            import pyarrow.parquet as pq

            # Without pre-buffering: it keeps every column chunk read so far (memory grows with
            # the file).
            parquet = pq.ParquetFile(path, pre_buffer=False)
            yield from parquet.iter_batches(batch_size=size, columns=columns)
            return
        # JSONL, CSV and WordPress XML through read_articles, which names a bad line.
        read_articles = importlib.import_module(".sources", __package__).read_articles
        stream = read_articles(path, columns=columns, batch_size=size)
        for b in pa.RecordBatchReader.from_stream(stream):
            yield from _slices(b, size)
        return
    pa = _needs_pyarrow()
    reader = (
        source
        if isinstance(source, pa.RecordBatchReader)
        else pa.RecordBatchReader.from_stream(source)
    )
    for b in reader:
        yield from _slices(b, size)


def _prefetched(it: Iterator[Any], depth: int = 2) -> Iterator[Any]:
    """The items of ``it``, made ahead on a thread of their own: decoding and packing the next
    batch (in C++ and Rust, without the GIL) overlaps writing this one."""
    import queue
    import threading

    q: queue.Queue[tuple[str, Any]] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def read() -> None:
        try:
            for item in it:
                while not stop.is_set():
                    try:
                        q.put(("item", item), timeout=0.1)
                        break
                    except queue.Full:
                        continue
                if stop.is_set():
                    return
            q.put(("end", None))
        except BaseException as e:  # raised in the consumer
            q.put(("error", e))

    t = threading.Thread(target=read, name="bb-read-ahead", daemon=True)
    t.start()
    try:
        while True:
            kind, item = q.get()
            if kind == "end":
                return
            if kind == "error":
                raise item
            yield item
    finally:
        stop.set()
        t.join(timeout=5)


def _slices(batch: Any, size: int) -> Iterator[Any]:
    for at in range(0, batch.num_rows, size):
        yield batch.slice(at, size)


class StreamedRecords:
    """Records packed from a file or a stream when they are written (see the module docs):
    ``write`` streams, ``len()`` counts, ``ids`` reads the id column only."""

    def __init__(
        self,
        source: Any,
        *,
        options: Mapping[str, Any],
        batch_rows: int = BATCH_ROWS,
        total: int | None = None,
    ) -> None:
        self.source = source
        self.options = dict(options)
        self.batch_rows = batch_rows
        self._total = total
        self._read = False
        if not isinstance(source, (str, os.PathLike)) and total is None:
            raise InputTypeError(
                "packing an Arrow stream as it is written needs total= (its number of rows: "
                "the jobs are balanced before the first row is written); or pass a file path"
            )

    def __len__(self) -> int:
        if self._total is None:
            self._total = count_rows(Path(self.source))
        return self._total

    def __repr__(self) -> str:
        return f"StreamedRecords({self.source!r}, model={self.options['model']!r})"

    def _columns(self) -> list[str]:
        prompt = self.options["prompt"]
        wanted = list(prompt.fields) + [
            c for c in (self.options.get("clean") or {}) if c not in prompt.fields
        ]
        if self.options.get("id_column"):
            wanted.append(self.options["id_column"])
        return list(dict.fromkeys(wanted))

    def _packed(self) -> Iterator[Any]:
        from .pack import pack

        if self._read and not isinstance(self.source, (str, os.PathLike)):
            raise InputError("this Arrow stream was read already; pack it again to write it")
        self._read = True

        def packed() -> Iterator[Any]:
            for batch in batches(self.source, self._columns(), self.batch_rows):
                if batch.num_rows:
                    yield pack(batch, **self.options)

        # Read and packed ahead on a thread: the next batch is decoded and cleaned while this
        # one is written.
        yield from _prefetched(packed())

    @property
    def ids(self) -> list[str]:
        """The recordIds, in order (reads the id column only)."""
        col = self.options.get("id_column")
        if not col:
            raise InputError("ids of a streamed source need id_column=")
        out: list[str] = []
        for batch in batches(self.source, [col], self.batch_rows):
            out.extend(str(v) for v in batch.column(0).to_pylist())
        return out

    def write(
        self, out_dir: str | os.PathLike[str], *, quotas: Any = None, overwrite: bool = False
    ) -> list[WrittenShard]:
        """Writes ``out_dir/job-0001/part-00001.jsonl``, ... as ``Records.write`` does (jobs
        balanced, none below the minimum, files within the record and byte limits, written
        under a temporary name and renamed), one batch of rows in memory at a time."""
        from .pack import Quotas

        q = quotas if quotas is not None else Quotas()
        total = len(self)
        if total < q.min_records_per_job:
            raise InputError(
                f"the source has {total} records; a batch job needs at least "
                f"{q.min_records_per_job}"
            )
        out = Path(out_dir)
        old = sorted(out.glob("job-*")) if out.exists() else []
        if old and not overwrite:
            raise InputError(
                f"{out} holds job folders already ({old[0].name}, ...): pass overwrite=True"
            )
        for d in old:
            shutil.rmtree(d)
        k = -(-total // q.max_records_per_job)
        base, extra = divmod(total, k)
        sizes = [base + (1 if j < extra else 0) for j in range(k)]
        return self.write_jobs(out, sizes, q)[0]

    def write_jobs(
        self, out: Path, sizes: list[int], quotas: Any
    ) -> tuple[list[WrittenShard], list[str], list[int]]:
        """Writes jobs of exactly ``sizes`` records into ``out`` (which holds no job folders),
        files within ``quotas``. Returns the shards, the recordIds in order and each record's
        input tokens."""
        total = len(self)
        if sum(sizes) != total:
            raise InputError(f"the jobs hold {sum(sizes)} records, the source has {total}")
        writer = _Writer(out, sizes, quotas)
        seen: set[str] = set()
        order: list[str] = []
        tokens: list[int] = []
        try:
            for recs in self._packed():
                ids = recs.ids
                dup = next((i for i in ids if i in seen), None)
                if dup is not None or len(set(ids)) != len(ids):
                    raise InputError(f"recordId {dup!r} appears twice in the source")
                seen.update(ids)
                order.extend(ids)
                tokens.extend(recs.token_counts())
                writer.add(recs, ids)
        except BaseException:
            writer.abort()
            raise
        shards = writer.finish()
        written = sum(s.records for s in shards)
        if written != total:
            raise InputError(
                f"the source gave {written} rows, {total} were counted: did it change while it "
                "was read?"
            )
        return shards, order, tokens

    def estimate(self, *, output_tokens: int | None = None) -> dict[str, Any]:
        """Records, estimated tokens and the cost (as ``Records.estimate``), streamed."""
        from . import _core

        records = tokens = 0
        for recs in self._packed():
            records += len(recs)
            tokens += recs.input_tokens
        prompt = self.options["prompt"]
        out = records * (output_tokens if output_tokens is not None else prompt.max_tokens)
        est = dict(_core.cost_estimate(self.options["model"], records, tokens, out))
        est.update({"records": records, "input_tokens": tokens, "output_tokens": out})
        return est


class _Writer:
    """Appends packed batches to the shard files, job after job and file after file."""

    def __init__(self, out: Path, sizes: list[int], q: Any) -> None:
        self.out, self.sizes, self.q = out, sizes, q
        self.job = 0  # index into sizes
        self.job_left = sizes[0]
        self.job_bytes = 0
        self.file = 0
        self.in_file = 0
        self.file_bytes = 0
        self.file_tokens = 0
        self.shards: list[WrittenShard] = []
        self.tmp: Path | None = None

    def _path(self) -> Path:
        return self.out / f"job-{self.job + 1:04d}" / f"part-{self.file:05d}.jsonl"

    def _open(self) -> Path:
        if self.tmp is None:
            self.file += 1
            final = self._path()
            final.parent.mkdir(parents=True, exist_ok=True)
            self.tmp = final.with_name(final.name + ".tmp")
            self.tmp.unlink(missing_ok=True)
        return self.tmp

    def _close(self) -> None:
        if self.tmp is None:
            return
        final = self._path()
        os.replace(self.tmp, final)
        self.shards.append(
            WrittenShard(final, self.job + 1, self.in_file, self.file_bytes, self.file_tokens)
        )
        self.tmp = None
        self.in_file = self.file_bytes = self.file_tokens = 0

    def add(self, recs: Any, ids: list[str]) -> None:
        q = self.q
        sizes = recs.line_sizes()
        ends = list(itertools.accumulate(sizes))
        i, n = 0, len(sizes)
        while i < n:
            if self.job_left == 0:
                self._close()
                self.job, self.file, self.job_bytes = self.job + 1, 0, 0
                self.job_left = self.sizes[self.job]
            room = min(self.job_left, q.max_records_per_file - self.in_file, n - i)
            before = ends[i - 1] if i else 0
            budget = min(
                q.max_bytes_per_file - self.file_bytes, q.max_bytes_per_job - self.job_bytes
            )
            fit = bisect.bisect_right(ends, before + budget, i, i + room) - i
            if fit == 0:
                if self.in_file == 0:
                    raise InputError(
                        f"record {ids[i]!r} is {sizes[i]} bytes, above what a file or job "
                        "may hold (max_bytes_per_file / max_bytes_per_job)"
                    )
                self._close()  # the next file of this job
                continue
            count, written, tokens = recs.append_to(self._open(), i, i + fit)
            i += count
            self.in_file += count
            self.file_bytes += written
            self.job_bytes += written
            self.file_tokens += tokens
            self.job_left -= count
            if self.in_file >= q.max_records_per_file:
                self._close()

    def finish(self) -> list[WrittenShard]:
        self._close()
        return self.shards

    def abort(self) -> None:
        if self.tmp is not None:
            self.tmp.unlink(missing_ok=True)
