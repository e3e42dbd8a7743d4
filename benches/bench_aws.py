"""Benchmark: the AWS layer against the local emulator, beside boto3, in one process.

    python benches/bench_aws.py [--mb 200] [--jobs 20]

1. Upload a shard folder of --mb MB (8 files) to the emulator's S3: bb.Client.upload (Rust,
   multipart, parallel) against boto3's upload_file per file (its default TransferConfig).
2. Submit --jobs jobs: asyncio.gather of Client.submit_async against the same steps done by
   boto3 sequentially (list the input prefix, put_object, create_model_invocation_job).
Both sides talk HTTP to the same loopback endpoint; medians of --repeat runs.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

import bedrock_batch as bb

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import timed

USER = "タイトル: {title}\n\n記事:\n{content}"

MODEL = "us.anthropic.claude-haiku-4-5-20251001-v1:0"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--mb", type=int, default=200)
    ap.add_argument("--jobs", type=int, default=20)
    ap.add_argument("--repeat", type=int, default=3)
    a = ap.parse_args()
    tmp = Path(tempfile.mkdtemp())
    folder = tmp / "job-0001"
    folder.mkdir()
    per_file = a.mb // 8
    block = os.urandom(1 << 20)
    for i in range(8):
        with open(folder / f"part-{i + 1:05d}.jsonl", "wb") as f:
            for _ in range(per_file):
                f.write(block)
    rows = [{"id": f"r{i}", "title": "t", "content": f"本文 {i}"} for i in range(100)]
    small = bb.pack(rows, prompt=bb.Prompt(user=USER), model=MODEL).write(tmp / "small")
    with bb.emulator.start(time_scale=5.0) as emu:
        emu.create_bucket("bench")
        client = emu.client()
        s3 = emu.boto3_client("s3")
        bedrock = emu.boto3_client("bedrock")
        files = sorted(folder.iterdir())

        def ours_upload() -> None:
            client.upload(folder, "s3://bench/ours/")

        def boto_upload() -> None:
            for f in files:
                s3.upload_file(str(f), "bench", f"boto/{f.name}")

        up_ours = timed(ours_upload, a.repeat)[0]
        up_boto = timed(boto_upload, a.repeat)[0]
        counter = iter(range(10**6))

        def ours_submit() -> None:
            run = next(counter)

            async def go() -> list[Any]:
                return await asyncio.gather(
                    *[
                        client.submit_async(
                            small,
                            model=MODEL,
                            role_arn=emu.role_arn(),
                            input_uri=f"s3://bench/in/o{run}-{i}/",
                            output_uri="s3://bench/out/",
                            name=f"o{run}-{i}",
                        )
                        for i in range(a.jobs)
                    ]
                )

            asyncio.run(go())

        def boto_submit() -> None:
            run = next(counter)
            body = (small[0].path).read_bytes()
            for i in range(a.jobs):
                # The same steps as Client.submit: check the prefix is empty, upload, create.
                s3.list_objects_v2(Bucket="bench", Prefix=f"in/b{run}-{i}/")
                s3.put_object(Bucket="bench", Key=f"in/b{run}-{i}/part-00001.jsonl", Body=body)
                bedrock.create_model_invocation_job(
                    jobName=f"b{run}-{i}",
                    roleArn=emu.role_arn(),
                    modelId=MODEL,
                    inputDataConfig={"s3InputDataConfig": {"s3Uri": f"s3://bench/in/b{run}-{i}/"}},
                    outputDataConfig={"s3OutputDataConfig": {"s3Uri": "s3://bench/out/"}},
                )

        sub_ours = timed(ours_submit, a.repeat)[0]
        sub_boto = timed(boto_submit, a.repeat)[0]
    size = sum(f.stat().st_size for f in files)
    print(f"{os.cpu_count()} cores, python {sys.version.split()[0]}, local emulator on loopback\n")
    print("| task | bedrock-batch (s) | boto3 (s) | boto3 / ours |")
    print("|---|---:|---:|---:|")
    print(
        f"| upload {size / 1e6:.0f} MB shard folder (8 files) | {up_ours:.2f} | {up_boto:.2f} | {up_boto / up_ours:.2f}x |"
    )
    print(
        f"| submit {a.jobs} jobs (upload + create) | {sub_ours:.2f} (gather of _async) | {sub_boto:.2f} (sequential) | {sub_boto / sub_ours:.2f}x |"
    )


if __name__ == "__main__":
    main()
