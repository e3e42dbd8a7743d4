"""Packing from a file or an Arrow stream batch by batch (bounded memory): the same records as
packing it whole, jobs balanced, files within the quotas, errors named."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.csv as pcsv
import pyarrow.parquet as pq
import pytest

import bedrock_batch as bb
from bedrock_batch.exceptions import InputError, InputTypeError

HAIKU = "us.anthropic.claude-haiku-4-5-20251001-v1:0"
PROMPT = bb.Prompt(user="タイトル: {title}\n\n記事:\n{content}", max_tokens=500)


def table(articles: list[dict[str, Any]], n: int) -> pa.Table:
    return pa.table(
        {
            "id": [f"r{i:05d}" for i in range(n)],
            "title": [articles[i % len(articles)].get("title") or "t" for i in range(n)],
            "content": [articles[i % len(articles)]["content"][:4000] for i in range(n)],
        }
    )


def lines(shards: list[Any]) -> bytes:
    return b"".join(Path(s.path).read_bytes() for s in shards)


@pytest.mark.parametrize("suffix", ["parquet", "jsonl", "csv"])
def test_a_file_streams_into_the_same_records(
    suffix: str, articles: list[dict[str, Any]], tmp_path: Path
) -> None:
    t = table(articles, 2500)
    path = tmp_path / f"src.{suffix}"
    if suffix == "parquet":
        pq.write_table(t, path, row_group_size=300)
    elif suffix == "csv":
        pcsv.write_csv(t, path)
    else:
        path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in t.to_pylist()))
    kw: dict[str, Any] = {"prompt": PROMPT, "model": HAIKU, "clean": {"content": "auto"}}
    q = bb.Quotas(max_records_per_job=700, max_records_per_file=300, max_bytes_per_file=900_000)
    whole = bb.pack(t, **kw).write(tmp_path / "whole", quotas=q)
    recs = bb.pack(path, batch_rows=333, **kw)
    assert len(recs) == 2500 and recs.ids[:2] == ["r00000", "r00001"]
    streamed = recs.write(tmp_path / "streamed", quotas=q)
    assert lines(streamed) == lines(whole)
    # Jobs balanced (2500 in 4 jobs of 625), files within the limits, written under their names.
    per_job: dict[int, int] = {}
    for s in streamed:
        per_job[s.job] = per_job.get(s.job, 0) + s.records
        assert s.records <= 300 and s.bytes <= 900_000 == q.max_bytes_per_file
        assert s.path.stat().st_size == s.bytes and s.path.name.startswith("part-")
    assert per_job == {1: 625, 2: 625, 3: 625, 4: 625}
    assert not list((tmp_path / "streamed").rglob("*.tmp"))
    assert sum(s.input_tokens for s in streamed) == sum(s.input_tokens for s in whole)
    report = bb.validate(tmp_path / "streamed", model=HAIKU, quotas=q)
    assert report.ok and report.records == 2500
    est = recs.estimate(output_tokens=100)
    assert est["records"] == 2500 and est["input_tokens"] == sum(s.input_tokens for s in whole)


def test_a_stream_needs_its_total_and_is_read_once(
    articles: list[dict[str, Any]], tmp_path: Path
) -> None:
    t = table(articles, 400)
    reader = pa.RecordBatchReader.from_batches(t.schema, t.to_batches(max_chunksize=64))
    with pytest.raises(InputTypeError, match="needs total="):
        bb.pack(reader, prompt=PROMPT, model=HAIKU, stream=True)
    reader = pa.RecordBatchReader.from_batches(t.schema, t.to_batches(max_chunksize=64))
    recs = bb.pack(reader, prompt=PROMPT, model=HAIKU, stream=True, total=400)
    shards = recs.write(tmp_path / "s")
    assert lines(shards) == bb.pack(t, prompt=PROMPT, model=HAIKU).to_jsonl()
    with pytest.raises(InputError, match="read already"):
        recs.write(tmp_path / "again")


def test_streaming_errors_are_named(articles: list[dict[str, Any]], tmp_path: Path) -> None:
    t = table(articles, 300)
    dup = pa.concat_tables([t, t.slice(0, 1)])
    path = tmp_path / "dup.parquet"
    pq.write_table(dup, path, row_group_size=100)
    with pytest.raises(InputError, match="recordId 'r00000' appears twice"):
        bb.pack(path, prompt=PROMPT, model=HAIKU, batch_rows=100).write(tmp_path / "o")
    assert not list((tmp_path / "o").rglob("*.tmp"))
    with pytest.raises(InputError, match="no such file"):
        bb.pack(tmp_path / "nope.parquet", prompt=PROMPT, model=HAIKU).write(tmp_path / "x")
    small = tmp_path / "small.parquet"
    pq.write_table(t.slice(0, 50), small)
    with pytest.raises(InputError, match="has 50 records; a batch job needs at least 100"):
        bb.pack(small, prompt=PROMPT, model=HAIKU).write(tmp_path / "y")
    pq.write_table(t, tmp_path / "ok.parquet")
    bb.pack(tmp_path / "ok.parquet", prompt=PROMPT, model=HAIKU).write(tmp_path / "z")
    with pytest.raises(InputError, match="holds job folders already"):
        bb.pack(tmp_path / "ok.parquet", prompt=PROMPT, model=HAIKU).write(tmp_path / "z")


def test_write_jobs_refuses_sizes_that_are_not_the_sources(tmp_path: Path) -> None:
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    path = tmp_path / "t.parquet"
    rows = [{"id": f"i{k}", "title": "t", "content": "c"} for k in range(150)]
    pq.write_table(pa.Table.from_pylist(rows), path)
    recs = bb.pack(
        str(path), prompt=bb.Prompt(user="{title} {content}"), model=HAIKU, id_column="id"
    )
    with pytest.raises(
        bb.exceptions.InputError, match="the jobs hold 140 records, the source has 150"
    ):
        recs.write_jobs(tmp_path / "out", [100, 40], bb.Quotas())
    assert not (tmp_path / "out").exists()
