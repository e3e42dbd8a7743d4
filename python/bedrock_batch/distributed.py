"""The prep (clean, pack, write shards) on a cluster when a corpus outgrows one machine.

``bb.clean`` and ``bb.pack`` take a partition as they take any table (a pandas DataFrame of
Arrow strings, as Dask gives, or a pyarrow Table, as Ray Data's ``batch_format="pyarrow"``
gives), so they run inside ``map_partitions`` or ``map_batches`` unchanged. Writing shards from
many workers needs one plan for them all, so that the jobs stay balanced and within the quotas:
:func:`job_sizes` cuts the total into jobs, and :func:`write_partition` writes partition ``i``
(its rows ``offset``, ``offset + 1``, ... of the whole) into the jobs that hold those rows, in
files named after the partition (``job-0002/part-p00007-00001.jsonl``), so workers never write
the same file. :func:`write_shards_dask` does it all for a Dask DataFrame and
:func:`write_shards_ray` for a Ray Dataset; the shard folder is then a ``bb.Run``'s or
``Client.submit_all``'s input like any other.
"""

from __future__ import annotations

import bisect
import itertools
import os
from pathlib import Path
from typing import Any

from .exceptions import InputError
from .stream import WrittenShard

__all__ = ["job_sizes", "write_partition", "write_shards_dask", "write_shards_ray"]


def job_sizes(total: int, quotas: Any = None) -> list[int]:
    """The records of each job for ``total`` records: as few jobs as the per-job limit allows,
    their sizes within one of each other (so none is below the minimum)."""
    from .pack import Quotas

    q = quotas if quotas is not None else Quotas()
    if total < q.min_records_per_job:
        raise InputError(f"{total} records; a batch job needs at least {q.min_records_per_job}")
    k = -(-total // q.max_records_per_job)
    base, extra = divmod(total, k)
    return [base + (1 if j < extra else 0) for j in range(k)]


def write_partition(
    table: Any,
    out_dir: str | os.PathLike[str],
    *,
    partition: int,
    offset: int,
    sizes: list[int],
    quotas: Any = None,
    **pack_options: Any,
) -> list[WrittenShard]:
    """Packs one partition (``bb.pack``'s options) and writes it into the jobs of the plan
    ``sizes`` (:func:`job_sizes`), its first row being row ``offset`` of the whole; files within
    the per-file limits, named ``part-p<partition>-<n>.jsonl``, written under a temporary name
    and renamed. Returns what it wrote."""
    from .pack import Quotas, pack

    q = quotas if quotas is not None else Quotas()
    recs = pack(table, **pack_options)
    n = len(recs)
    starts = [0, *itertools.accumulate(sizes)]
    if offset + n > starts[-1]:
        raise InputError(
            f"partition {partition}: rows {offset}..{offset + n} are past the plan's "
            f"{starts[-1]} records"
        )
    line = recs.line_sizes()
    ends = list(itertools.accumulate(line))
    out = Path(out_dir)
    written: list[WrittenShard] = []
    i = 0
    files = 0
    while i < n:
        job = bisect.bisect_right(starts, offset + i) - 1  # the job holding global row offset+i
        job_end = starts[job + 1] - offset  # this partition's last row in that job, exclusive
        room = min(job_end, n) - i
        room = min(room, q.max_records_per_file)
        before = ends[i - 1] if i else 0
        fit = bisect.bisect_right(ends, before + q.max_bytes_per_file, i, i + room) - i
        if fit == 0:
            raise InputError(f"record {recs.ids[i]!r} is {line[i]} bytes, above max_bytes_per_file")
        files += 1
        final = out / f"job-{job + 1:04d}" / f"part-p{partition:05d}-{files:05d}.jsonl"
        final.parent.mkdir(parents=True, exist_ok=True)
        tmp = final.with_name(final.name + ".tmp")
        tmp.unlink(missing_ok=True)
        count, size, tokens = recs.append_to(tmp, i, i + fit)
        os.replace(tmp, final)
        written.append(WrittenShard(final, job + 1, count, size, tokens))
        i += count
    return written


def write_shards_dask(
    ddf: Any,
    out_dir: str | os.PathLike[str],
    *,
    quotas: Any = None,
    **pack_options: Any,
) -> list[WrittenShard]:
    """Writes the shards of a Dask DataFrame from its workers under one plan: the partitions'
    lengths are counted first (one pass), then each partition packs and writes its rows into
    the jobs that hold them. ``pack_options`` are ``bb.pack``'s (``prompt``, ``model``,
    ``id_column``, ``clean``, ...). ``out_dir`` must be a folder every worker can write (a
    shared file system), and must not hold job folders yet."""
    import dask
    from dask.delayed import delayed

    out = Path(out_dir)
    if out.exists() and any(out.glob("job-*")):
        raise InputError(f"{out} holds job folders already: write into a new folder")
    lengths = [int(n) for n in ddf.map_partitions(len).compute()]
    sizes = job_sizes(sum(lengths), quotas)
    offsets = [0, *itertools.accumulate(lengths)]
    tasks = [
        delayed(write_partition)(
            part,
            str(out),
            partition=i,
            offset=offsets[i],
            sizes=sizes,
            quotas=quotas,
            **pack_options,
        )
        for i, part in enumerate(ddf.to_delayed())
    ]
    results = dask.compute(*tasks)  # type: ignore[attr-defined,no-untyped-call]
    return _checked([s for part in results for s in part], sizes)


def _checked(shards: list[WrittenShard], sizes: list[int]) -> list[WrittenShard]:
    written = sum(s.records for s in shards)
    if written != sum(sizes):
        raise InputError(f"the partitions wrote {written} records, the plan has {sum(sizes)}")
    return sorted(shards, key=lambda s: (s.job, s.path.name))


def write_shards_ray(
    ds: Any,
    out_dir: str | os.PathLike[str],
    *,
    quotas: Any = None,
    **pack_options: Any,
) -> list[WrittenShard]:
    """Writes the shards of a Ray Dataset from Ray's workers under one plan, as
    :func:`write_shards_dask` does for Dask: the dataset is materialized, its blocks (pyarrow
    tables, in the dataset's order) counted, then each block packs and writes its rows into the
    jobs that hold them. ``out_dir`` must be a folder every worker can write."""
    import ray

    out = Path(out_dir)
    if out.exists() and any(out.glob("job-*")):
        raise InputError(f"{out} holds job folders already: write into a new folder")
    blocks = ds.materialize().to_arrow_refs()
    # Typed as Any: ray's stubs do not carry the wrapped function's signature.
    remote: Any = ray.remote
    count = remote(lambda t: t.num_rows)
    lengths = [int(n) for n in ray.get([count.remote(b) for b in blocks])]
    sizes = job_sizes(sum(lengths), quotas)
    offsets = [0, *itertools.accumulate(lengths)]
    write = remote(write_partition)
    tasks = [
        write.remote(
            block,
            str(out),
            partition=i,
            offset=offsets[i],
            sizes=sizes,
            quotas=quotas,
            **pack_options,
        )
        for i, block in enumerate(blocks)
        if lengths[i]
    ]
    return _checked([s for part in ray.get(tasks) for s in part], sizes)
