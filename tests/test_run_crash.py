"""A run survives kill -9 of its driving process at any moment: the emulator runs in a process of
its own (so the jobs outlive the client), ``bedrock-batch run`` is SIGKILLed at random moments
and restarted, and in the end every shard has exactly one job, the cap was never exceeded and
the results hold every input row once."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

import bedrock_batch as bb

MODEL = "us.anthropic.claude-haiku-4-5-20251001-v1:0"
BUCKET = "bb-crash"


def write_source(path: Path, articles: list[dict[str, Any]], n: int) -> None:
    with open(path, "w", encoding="utf-8") as f:
        for i in range(n):
            a = articles[i % len(articles)]
            row = {"id": f"a{i:06d}", "title": a.get("title") or "", "content": a["content"][:400]}
            f.write(json.dumps(row, ensure_ascii=False) + "\n")


def write_config(path: Path, endpoint: str, name: str, **extra: Any) -> None:
    quotas = extra.pop("quotas", {"max_records_per_job": 5000, "max_concurrent_jobs": 3})
    lines = [
        f'name = "{name}"',
        f's3 = "s3://{BUCKET}/runs/"',
        f'model = "{MODEL}"',
        'role_arn = "arn:aws:iam::123456789012:role/BedrockBatchRole"',
        'region = "us-east-1"',
        f'endpoint_url = "{endpoint}"',
        'schema = ["title_en", "summary_ja"]',
        "poll_interval = 0.1",
        'cache_dir = "cache"',
        *(f"{k} = {json.dumps(v)}" for k, v in extra.items()),
        "[source]",
        'path = "source.jsonl"',
        "[prompt]",
        'system = "JSON: {{\\"title_en\\": ..., \\"summary_ja\\": ...}}"',
        'user = "タイトル: {title}\\n\\n記事:\\n{content}"',
        "max_tokens = 200",
        'prefill = "{"',
        "[quotas]",
        *(f"{k} = {v}" for k, v in quotas.items()),
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def cli(*args: str, cwd: Path, env: dict[str, str], log: str) -> subprocess.Popen[bytes]:
    """``bedrock-batch ARGS`` in a process of its own, its output in ``cwd/log``."""
    with open(cwd / log, "wb") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "bedrock_batch", *args],
            cwd=cwd,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )


def all_jobs(emu: Any, name: str) -> list[dict[str, Any]]:
    bedrock = emu.boto3_client("bedrock")
    out: list[dict[str, Any]] = []
    kw: dict[str, Any] = {"nameContains": name, "maxResults": 100}
    while True:
        page = bedrock.list_model_invocation_jobs(**kw)
        out += page["invocationJobSummaries"]
        if not page.get("nextToken"):
            return out
        kw["nextToken"] = page["nextToken"]


def peak_active(jobs: list[dict[str, Any]]) -> int:
    events = []
    for j in jobs:
        events.append((j["submitTime"], 1))
        events.append((j.get("endTime") or j["lastModifiedTime"], -1))
    active = peak = 0
    for _, d in sorted(events, key=lambda e: (e[0], e[1])):
        active += d
        peak = max(peak, active)
    return peak


@pytest.mark.slow
def test_kill_9_at_random_moments(tmp_path: Path, articles: list[dict[str, Any]]) -> None:
    with bb.emulator.spawn(time_scale=0.02, max_concurrent_jobs=3, model_id_form="arn") as emu:
        emu.create_bucket(BUCKET)
        write_source(tmp_path / "source.jsonl", articles, 60_000)
        write_config(tmp_path / "run.toml", emu.endpoint_url, "crash60k", pilot=1000)
        env = {**os.environ, "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}
        env.pop("AWS_PROFILE", None)
        rng = random.Random(20261203)
        kills = 0
        finished = None
        for attempt in range(40):
            p = cli(
                "run", "run.toml", "--no-progress", cwd=tmp_path, env=env, log=f"run-{attempt}.log"
            )
            time.sleep(rng.uniform(0.3, 3.0))
            if p.poll() is not None:
                finished = p
                break
            p.send_signal(signal.SIGKILL)
            p.wait()
            kills += 1
            if kills >= 8:
                break
        assert kills >= 5, "the run finished before it could be killed five times"
        if finished is None:
            finished = cli(
                "run", "run.toml", "--no-progress", cwd=tmp_path, env=env, log="run-final.log"
            )
        finished.wait(timeout=600)
        logs = sorted(tmp_path.glob("run-*.log"))
        assert finished.returncode == 0, logs[-1].read_text(errors="replace")[-3000:]
        jobs = all_jobs(emu, "crash60k-")
        names = [j["jobName"] for j in jobs]
        # One job per shard (the pilot and 12 of 5,000 or fewer), never a second one.
        assert len(names) == len(set(names)) == 13, sorted(names)
        assert {n.rsplit("-", 2)[-2] for n in names} == {"pilot"} | {
            f"s{i:04d}" for i in range(1, 13)
        }
        assert all(j["status"] == "Completed" for j in jobs)
        assert peak_active(jobs) <= 3
        res = cli(
            "results", "run.toml", "-o", "results.jsonl", cwd=tmp_path, env=env, log="results.log"
        )
        res.wait(timeout=300)
        assert res.returncode == 0, (tmp_path / "results.log").read_text(errors="replace")[-3000:]
        with open(tmp_path / "results.jsonl", encoding="utf-8") as f:
            rows = [json.loads(line) for line in f]
        ids = [r["recordId"] for r in rows]
        assert len(ids) == 60_000 and len(set(ids)) == 60_000
        assert set(ids) == {f"a{i:06d}" for i in range(60_000)}
        assert {r["status"] for r in rows} == {"succeeded"}


def test_two_drivers_one_proceeds_the_other_exits_clearly(
    tmp_path: Path, articles: list[dict[str, Any]]
) -> None:
    with bb.emulator.spawn(time_scale=0.05, max_concurrent_jobs=3) as emu:
        emu.create_bucket(BUCKET)
        write_source(tmp_path / "source.jsonl", articles, 2000)
        write_config(
            tmp_path / "run.toml",
            emu.endpoint_url,
            "twodrivers",
            quotas={"max_records_per_job": 500, "max_concurrent_jobs": 2},
        )
        env = {**os.environ, "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}
        first = cli("run", "run.toml", "--no-progress", cwd=tmp_path, env=env, log="first.log")
        # The second starts once the first holds the lease (its lease.json exists).
        s3 = emu.boto3_client("s3")
        deadline = time.monotonic() + 60
        while (
            s3.list_objects_v2(Bucket=BUCKET, Prefix="runs/twodrivers/lease.json").get(
                "KeyCount", 0
            )
            == 0
        ):
            assert time.monotonic() < deadline and first.poll() is None
            time.sleep(0.05)
        second = cli("run", "run.toml", "--no-progress", cwd=tmp_path, env=env, log="second.log")
        second.wait(timeout=120)
        first.wait(timeout=300)
        said = (tmp_path / "second.log").read_text()
        assert second.returncode == 2, said
        assert (
            f"run 'twodrivers' is being driven by {__import__('socket').gethostname()} pid {first.pid} since"
            in said
        )
        assert first.returncode == 0, (tmp_path / "first.log").read_text()[-2000:]
        assert len(all_jobs(emu, "twodrivers-")) == 4
