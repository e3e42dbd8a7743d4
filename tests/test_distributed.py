"""The prep on Dask: a LocalCluster of two worker processes cleans and packs partitions and writes
the shards under one plan; the records are the single-machine ones, the jobs balanced."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

import bedrock_batch as bb
from bedrock_batch.distributed import job_sizes, write_partition

HAIKU = "us.anthropic.claude-haiku-4-5-20251001-v1:0"
PROMPT = bb.Prompt(user="タイトル: {title}\n\n記事:\n{content}", max_tokens=500)


@pytest.fixture(scope="module")
def cluster() -> Iterator[Any]:
    distributed = pytest.importorskip("distributed")
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
        ) as lc,
        distributed.Client(lc) as client,
    ):
        yield client


def frame(articles: list[dict[str, Any]], n: int) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "id": [f"d{i:05d}" for i in range(n)],
            "title": [articles[i % len(articles)].get("title") or "t" for i in range(n)],
            "content": [articles[i % len(articles)]["content"][:3000] for i in range(n)],
        }
    ).astype("str")


def test_dask_partitions_write_the_single_machine_records(
    cluster: Any, articles: list[dict[str, Any]], tmp_path: Path
) -> None:
    dd = pytest.importorskip("dask.dataframe")
    df = frame(articles, 2300)
    ddf = dd.from_pandas(df, npartitions=7)
    kw: dict[str, Any] = {"prompt": PROMPT, "model": HAIKU, "clean": {"content": "auto"}}
    # bb.clean as a partition function, as in any Dask pipeline.
    cleaned = ddf["content"].map_partitions(bb.clean, max_chars=2000, meta=("content", "str"))
    assert cleaned.compute().tolist() == bb.clean(df["content"], max_chars=2000).tolist()
    q = bb.Quotas(max_records_per_job=600, max_records_per_file=200)
    shards = bb.distributed.write_shards_dask(ddf, tmp_path / "dask", quotas=q, **kw)
    # The same records in the same order as one machine writes them, jobs of 575.
    ours = b"".join(s.path.read_bytes() for s in shards)
    assert ours == bb.pack(df, **kw).to_jsonl()
    per_job: dict[int, int] = {}
    for s in shards:
        per_job[s.job] = per_job.get(s.job, 0) + s.records
        assert s.records <= 200
    assert per_job == {1: 575, 2: 575, 3: 575, 4: 575} and job_sizes(2300, q) == [575] * 4
    report = bb.validate(tmp_path / "dask", model=HAIKU, quotas=q)
    assert report.ok and report.jobs == 4 and report.records == 2300


def test_a_partition_outside_its_plan_is_refused(
    articles: list[dict[str, Any]], tmp_path: Path
) -> None:
    df = frame(articles, 150)
    with pytest.raises(bb.exceptions.InputError, match="past the plan's 200 records"):
        write_partition(
            df, tmp_path, partition=3, offset=100, sizes=[200], prompt=PROMPT, model=HAIKU
        )


@pytest.mark.filterwarnings("ignore::DeprecationWarning", "ignore::FutureWarning")
def test_ray_blocks_write_the_single_machine_records(
    articles: list[dict[str, Any]], tmp_path: Path
) -> None:
    ray = pytest.importorskip("ray")
    pa = pytest.importorskip("pyarrow")
    pytest.importorskip("ray.data")
    df = frame(articles, 1300)
    kw: dict[str, Any] = {"prompt": PROMPT, "model": HAIKU, "clean": {"content": "auto"}}
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        ds = ray.data.from_arrow(pa.Table.from_pandas(df, preserve_index=False)).repartition(5)

        # bb.clean as a batch function, as in any Ray Data pipeline.
        def clean(t: Any) -> Any:
            return t.set_column(
                t.schema.get_field_index("content"),
                "content",
                bb.clean(t["content"], max_chars=2000),
            )

        cleaned = ds.map_batches(clean, batch_format="pyarrow").to_pandas()
        assert cleaned["content"].tolist() == bb.clean(df["content"], max_chars=2000).tolist()
        q = bb.Quotas(max_records_per_job=500, max_records_per_file=200)
        shards = bb.distributed.write_shards_ray(ds, tmp_path / "ray", quotas=q, **kw)
    finally:
        ray.shutdown()
    # The same records in the same order as one machine writes them, in three jobs.
    ours = b"".join(s.path.read_bytes() for s in shards)
    assert ours == bb.pack(df, **kw).to_jsonl()
    assert {s.job for s in shards} == {1, 2, 3} and job_sizes(1300, q) == [434, 433, 433]
    report = bb.validate(tmp_path / "ray", model=HAIKU, quotas=q)
    assert report.ok and report.jobs == 3 and report.records == 1300


def test_ray_refuses_a_folder_that_holds_jobs(tmp_path: Path) -> None:
    pytest.importorskip("ray")
    (tmp_path / "job-0001").mkdir()
    # Refused before Ray is asked anything: the folder check comes first.
    with pytest.raises(bb.exceptions.InputError, match="holds job folders already"):
        bb.distributed.write_shards_ray(object(), tmp_path, prompt=PROMPT, model=HAIKU)
