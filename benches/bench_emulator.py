"""Benchmark: how long the emulator takes to run a large set of jobs at ``time_scale=0``.

    python benches/bench_emulator.py [--records 60000] [--jobs 12] [--chars 700]

Packs --records records of ~1 KB (an article of --chars characters in a Claude request), writes
them as --jobs job folders, uploads each to the emulator's S3 and creates one job per folder
with boto3, then polls ListModelInvocationJobs until every job is final. Reports the wall time
from the first create to the last job's end (the worker's time: validation, answers, outputs)
and the records per second. There is no peer to compare with: this guards the emulator against
becoming the bottleneck of tests that drive many jobs.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import bedrock_batch as bb

USER = "タイトル: {title}\n\n記事:\n{content}"
SYSTEM = 'JSON形式で出力してください: {{"title_en": ..., "summary_en": ...}}'
MODEL = "us.anthropic.claude-haiku-4-5-20251001-v1:0"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--records", type=int, default=60_000)
    ap.add_argument("--jobs", type=int, default=12)
    ap.add_argument("--chars", type=int, default=700, help="article characters per record")
    ap.add_argument("--spawn", action="store_true", help="run the emulator in its own process")
    a = ap.parse_args()
    words = "Article body text with some words and 日本語の本文も少し. "
    rows = [
        {
            "id": f"r{i:06d}",
            "title": f"Post {i}",
            "content": (f"{i} " + words * (a.chars // len(words) + 1))[: a.chars],
        }
        for i in range(a.records)
    ]
    recs = bb.pack(
        rows, prompt=bb.Prompt(user=USER, system=SYSTEM, max_tokens=512, prefill="{"), model=MODEL
    )
    tmp = Path(tempfile.mkdtemp(prefix="bb-bench-emu-"))
    per_job = -(-a.records // a.jobs)
    recs.write(tmp / "batch", quotas=bb.Quotas(max_records_per_job=per_job))
    folders = sorted(p for p in (tmp / "batch").iterdir() if p.is_dir())
    size = sum(f.stat().st_size for d in folders for f in d.iterdir())
    print(
        f"{a.records:,} records in {len(folders)} jobs, {size / a.records:,.0f} bytes a record, "
        f"{size / 1e6:,.1f} MB"
    )
    emu = bb.emulator.spawn(time_scale=0) if a.spawn else bb.emulator.start(time_scale=0)
    with emu:
        emu.create_bucket("bench")
        client = emu.client()
        bedrock = emu.boto3_client("bedrock")
        for d in folders:
            client.upload(d, f"s3://bench/in/{d.name}/")
        t0 = time.perf_counter()
        for d in folders:
            bedrock.create_model_invocation_job(
                jobName=f"bench-{d.name}",
                roleArn=emu.role_arn(),
                modelId=MODEL,
                inputDataConfig={"s3InputDataConfig": {"s3Uri": f"s3://bench/in/{d.name}/"}},
                outputDataConfig={"s3OutputDataConfig": {"s3Uri": "s3://bench/out/"}},
            )
        created = time.perf_counter() - t0
        while True:
            jobs = bedrock.list_model_invocation_jobs(maxResults=100)["invocationJobSummaries"]
            if len(jobs) == len(folders) and all(j["status"] in bb.aws.FINAL_STATES for j in jobs):
                break
            time.sleep(0.02)
        took = time.perf_counter() - t0
        states = sorted({j["status"] for j in jobs})
        done = sum(j.get("processedRecordCount", 0) for j in jobs)
    print(
        f"created in {created:.2f} s; all {len(folders)} jobs {'/'.join(states)} after "
        f"{took:.2f} s ({done / took:,.0f} records/s)"
    )


if __name__ == "__main__":
    main()
