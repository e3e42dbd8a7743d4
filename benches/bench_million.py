"""A million records from a Parquet file to validated shards in bounded memory, and a million-row
results table, each measured in a fresh process (wall time and peak resident memory).

    python benches/bench_million.py [--scales 100000 300000 1000000] [--keep]

It writes its own data: the corpus's articles repeated with unique ids, content cut to 10,000
characters, as Parquet (row groups of 10,000 rows). The pipeline is the production one: clean
(HTML, WordPress, Markdown), pack (Claude records), write (jobs of 50,000) and validate, with
``bb.pack(path, ...)`` streaming 8,192 rows at a time. The reference is the same pipeline on the
corpus's 14,108 records held in memory as a list of dicts (the median of three runs in one
process); the results part reads a
``.jsonl.out`` of a million answers into ``Results.to_pandas()``. Too long for CI: run it and
put its table in the README.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

CHILD = r"""
import json, os, sys, time
import bedrock_batch as bb

def status(key):
    for line in open("/proc/self/status"):
        if line.startswith(key):
            return int(line.split()[1]) * 1024
    import resource
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024

def peak():
    return status("VmHWM")

mode, src, out = sys.argv[1:4]
MODEL = "us.anthropic.claude-haiku-4-5-20251001-v1:0"
prompt = bb.Prompt(system="Summarise as JSON.", user="タイトル: {title}\n\n記事:\n{content}",
                   max_tokens=1024)
clean = {"content": {"format": "auto", "max_chars": 10_000}}
t = time.perf_counter()
base = 0
if mode == "stream":
    shards = bb.pack(src, prompt=prompt, model=MODEL, clean=clean).write(out)
    report = bb.validate(out, model=MODEL)
    assert report.ok, report
    n = report.records
elif mode == "memory":
    # The list of dicts is the input, as a notebook holds it; the median of three runs, so
    # the reference is the pipeline's steady rate, not its first call's.
    rows = [json.loads(line) for line in open(src, encoding="utf-8")]
    times = []
    for k in range(3):
        t = time.perf_counter()
        shards = bb.pack(rows, prompt=prompt, model=MODEL, clean=clean).write(out, overwrite=True)
        report = bb.validate(out, model=MODEL)
        times.append(time.perf_counter() - t)
    assert report.ok, report
    n = report.records
    t = time.perf_counter() - sorted(times)[1]
    del rows
else:  # results: the process before reading is the baseline (pandas and pyarrow imported)
    import pandas, pyarrow
    base = status("VmRSS")
    t = time.perf_counter()
    df = bb.read_results(src, schema=["title_en", "summary_ja"]).to_pandas()
    n = len(df)
print(json.dumps({"records": n, "seconds": time.perf_counter() - t, "peak": peak(), "base": base}))
"""


def make_parquet(path: Path, corpus: Path, rows: int) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    with open(corpus, encoding="utf-8") as f:
        arts = [json.loads(line) for line in f]
    schema = pa.schema([("id", pa.string()), ("title", pa.string()), ("content", pa.string())])
    # zstd without dictionaries: what a data lake's Parquet usually is, and quick to read.
    with pq.ParquetWriter(path, schema, compression="zstd", use_dictionary=False) as w:
        for at in range(0, rows, 10_000):
            n = min(10_000, rows - at)
            w.write_table(
                pa.table(
                    {
                        "id": [f"r{i:07d}" for i in range(at, at + n)],
                        "title": [
                            arts[i % len(arts)].get("title") or "" for i in range(at, at + n)
                        ],
                        "content": [
                            arts[i % len(arts)]["content"][:10_000] for i in range(at, at + n)
                        ],
                    },
                    schema=schema,
                )
            )


def make_outputs(path: Path, rows: int) -> None:
    with open(path, "w", encoding="utf-8") as f:
        for i in range(rows):
            answer = json.dumps(
                {"title_en": f"Post {i}", "summary_ja": "記事の要約です。" * 8}, ensure_ascii=False
            )
            line = {
                "recordId": f"r{i:07d}",
                "modelInput": {},
                "modelOutput": {
                    "content": [{"type": "text", "text": answer}],
                    "stop_reason": "end_turn",
                    "usage": {"input_tokens": 900, "output_tokens": 120},
                },
            }
            f.write(json.dumps(line, ensure_ascii=False) + "\n")


def child(mode: str, src: Path, out: Path) -> dict[str, float]:
    if mode != "results":
        shutil.rmtree(out, ignore_errors=True)
    done = subprocess.run(
        [sys.executable, "-c", CHILD, mode, str(src), str(out)], capture_output=True, text=True
    )
    if done.returncode != 0:
        raise SystemExit(done.stderr[-3000:])
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument(
        "--corpus", type=Path, default=ROOT.parent / "shared" / "corpus" / "articles.jsonl"
    )
    ap.add_argument("--scales", type=int, nargs="+", default=[100_000, 300_000, 1_000_000])
    ap.add_argument("--work", type=Path, default=None)
    a = ap.parse_args()
    work = a.work or Path(tempfile.mkdtemp(prefix="bb-million-"))
    print(f"{os.cpu_count()} cores, python {sys.version.split()[0]}; data in {work}\n")
    # The reference: the corpus repeated to 14,108 records, in memory.
    ref_src = work / "ref.jsonl"
    with open(a.corpus, encoding="utf-8") as f:
        arts = [json.loads(line) for line in f]
    with open(ref_src, "w", encoding="utf-8") as f:
        for i in range(14_108):
            art = arts[i % len(arts)]
            row = {
                "id": f"r{i:07d}",
                "title": art.get("title") or "",
                "content": art["content"][:10_000],
            }
            f.write(json.dumps(row, ensure_ascii=False) + "\n")
    ref = child("memory", ref_src, work / "ref-out")
    ref_rate = ref["records"] / ref["seconds"]
    print("| source | records | seconds | records/s | vs in memory | peak RSS | output |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    out_size = sum(p.stat().st_size for p in (work / "ref-out").rglob("*.jsonl"))
    print(
        f"| list of dicts in memory | {ref['records']:,} | {ref['seconds']:.2f} | {ref_rate:,.0f} | "
        f"1.00 | {ref['peak'] / 1e6:,.0f} MB | {out_size / 1e6:,.0f} MB |"
    )
    for n in a.scales:
        src = work / f"src-{n}.parquet"
        if not src.exists():
            make_parquet(src, a.corpus, n)
        out = work / f"out-{n}"
        r = child("stream", src, out)
        size = sum(p.stat().st_size for p in out.rglob("*.jsonl"))
        rate = r["records"] / r["seconds"]
        print(
            f"| Parquet, streamed | {r['records']:,} | {r['seconds']:.2f} | {rate:,.0f} | "
            f"{rate / ref_rate:.2f} | {r['peak'] / 1e6:,.0f} MB | {size / 1e6:,.0f} MB |"
        )
        shutil.rmtree(out)
    outputs = work / "results.jsonl.out"
    make_outputs(outputs, max(a.scales))
    r = child("results", outputs, work)
    size = outputs.stat().st_size
    print(
        f"\nResults.to_pandas() of {r['records']:,} answers ({size / 1e6:,.0f} MB file): "
        f"{r['seconds']:.2f} s, peak RSS {r['peak'] / 1e6:,.0f} MB = {r['peak'] / size:.2f}x the file; "
        f"grown from {r['base'] / 1e6:,.0f} MB before reading by {(r['peak'] - r['base']) / 1e6:,.0f} MB "
        f"= {(r['peak'] - r['base']) / size:.2f}x the file"
    )


if __name__ == "__main__":
    main()
