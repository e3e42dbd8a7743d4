"""The run's own overhead: a corpus of --records records through bb.Run against the local emulator
in a process of its own at time scale 0, in jobs of --per-job records (and of the other sizes
given, to show that memory does not grow with the number of jobs).

Each configuration runs in a fresh child process, which reports its phases and its peak resident
memory. The emulator's work is the time during which at least one of the run's jobs was active
(from the jobs' submit and end times); the run's overhead is the wall time of start() + wait()
minus that, plus planning and reading the results, given per 10,000 records.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import bedrock_batch as bb

ROOT = Path(__file__).resolve().parents[1]
MODEL = "us.anthropic.claude-haiku-4-5-20251001-v1:0"

CHILD = r"""
import json, os, sys, time
import bedrock_batch as bb

def peak():
    if os.path.exists("/proc/self/status"):
        for line in open("/proc/self/status"):
            if line.startswith("VmHWM"):
                return int(line.split()[1]) * 1024
    import resource
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return rss if sys.platform == "darwin" else rss * 1024

endpoint, source, name, per_job, cache = sys.argv[1:6]
rows = [json.loads(line) for line in open(source, encoding="utf-8")]
client = bb.Client(region="us-east-1", endpoint_url=endpoint, _credentials=("testing", "testing"))
t0 = time.perf_counter()
run = bb.Run(name, source=rows, prompt=bb.Prompt(system='JSON: {{"title_en": ...}}',
             user="{title}\n\n{content}", max_tokens=200, prefill="{"),
             model=__MODEL__, s3="s3://bench/runs/", role_arn="arn:aws:iam::123456789012:role/R",
             schema=["title_en"], quotas=bb.Quotas(max_records_per_job=int(per_job)),
             client=client, poll_interval=0.1, cache_dir=cache)
plan = run.plan()
t1 = time.perf_counter()
run.start()
t2 = time.perf_counter()
run.wait(progress=False)
t3 = time.perf_counter()
df = run.results().to_pandas()
t4 = time.perf_counter()
assert len(df) == len(rows) and df["recordId"].is_unique
print(json.dumps({"jobs": len(plan.shards), "plan": t1 - t0, "start": t2 - t1, "wait": t3 - t2,
                  "results": t4 - t3, "started": time.time() - (t4 - t1), "peak": peak(),
                  "rows": len(df)}))
""".replace("__MODEL__", repr(MODEL))


def busy(jobs: list[dict[str, object]]) -> float:
    """Seconds during which at least one job was active."""
    spans = sorted((j["submitTime"].timestamp(), j["endTime"].timestamp()) for j in jobs)  # type: ignore[union-attr]
    total, end = 0.0, float("-inf")
    for a, b in spans:
        if a > end:
            total += b - a
            end = b
        elif b > end:
            total += b - end
            end = b
    return total


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--corpus", default=str(ROOT.parent / "shared" / "corpus"))
    ap.add_argument("--records", type=int, default=60_000)
    ap.add_argument("--per-job", type=int, nargs="+", default=[5000, 1000, 500])
    ap.add_argument("--chars", type=int, default=1000, help="content cut to this many characters")
    a = ap.parse_args()
    with open(Path(a.corpus) / "articles.jsonl", encoding="utf-8") as f:
        articles = [json.loads(line) for line in f]
    tmp = Path(tempfile.mkdtemp(prefix="bb-bench-run-"))
    source = tmp / "source.jsonl"
    with open(source, "w", encoding="utf-8") as f:
        for i in range(a.records):
            art = articles[i % len(articles)]
            row = {
                "id": f"r{i:07d}",
                "title": art.get("title") or "",
                "content": art["content"][: a.chars],
            }
            f.write(json.dumps(row, ensure_ascii=False) + "\n")
    print(
        f"{a.records:,} records (content cut to {a.chars:,} characters); {os.cpu_count()} cores, "
        f"python {sys.version.split()[0]}, emulator at time scale 0 in its own process\n"
    )
    print(
        "| jobs | plan (s) | start: upload + first submits (s) | wait (s) | emulator busy (s) "
        "| results (s) | run overhead per 10k records (s) | peak RSS of the driver |"
    )
    print("|---:|---:|---:|---:|---:|---:|---:|---:|")
    with bb.emulator.spawn(time_scale=0, max_concurrent_jobs=20) as emu:
        emu.create_bucket("bench")
        for per_job in a.per_job:
            name = f"bench-{per_job}"
            out = subprocess.run(
                [
                    sys.executable,
                    "-c",
                    CHILD,
                    emu.endpoint_url,
                    str(source),
                    name,
                    str(per_job),
                    str(tmp / name),
                ],
                capture_output=True,
                text=True,
                check=True,
            )
            r = json.loads(out.stdout.strip().splitlines()[-1])
            bedrock = emu.boto3_client("bedrock")
            jobs, kw = [], {"nameContains": name + "-", "maxResults": 100}
            while True:
                page = bedrock.list_model_invocation_jobs(**kw)
                jobs += page["invocationJobSummaries"]
                if not page.get("nextToken"):
                    break
                kw["nextToken"] = page["nextToken"]
            emu_busy = busy(jobs)
            overhead = r["plan"] + r["start"] + r["wait"] - emu_busy + r["results"]
            per10k = overhead / (a.records / 10_000)
            print(
                f"| {r['jobs']} | {r['plan']:.2f} | {r['start']:.2f} | {r['wait']:.2f} | {emu_busy:.2f} "
                f"| {r['results']:.2f} | {per10k:.2f} | {r['peak'] / 1e6:,.0f} MB |"
            )


if __name__ == "__main__":
    main()
