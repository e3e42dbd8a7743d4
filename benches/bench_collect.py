"""Benchmark: parsing a batch output into a DataFrame beside ../shared/bench/peers.py.

    python benches/bench_collect.py [--corpus ../shared/corpus/articles.jsonl] [--records 14108]

peers.make_output writes a 14,108-record `.jsonl.out` in Bedrock's shape (modelInput echoed,
Claude modelOutput whose text is a JSON string, 1% error lines). Each contender turns it into a
pandas DataFrame with title_en, summary_ja and summary_en as columns: bb.read_results(schema=...)
.to_pandas(), polars read_ndjson + json_decode, and the json.loads loop. Peak memory of ours is
measured in a child process (growth of the peak RSS while parsing), against the file size.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import bedrock_batch as bb

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import cleaned_rows, corpus_args, load_peers, timed

FIELDS = ["title_en", "summary_ja", "summary_en"]


CHILD = """
import os
import sys
import bedrock_batch as bb
import pandas

def status(key):
    for line in open("/proc/self/status"):
        if line.startswith(key):
            return int(line.split()[1]) * 1024

def peak():
    # Linux: the peak since it was reset; macOS (bytes) and other Unix (KiB): since the start.
    if os.path.exists("/proc/self/status"):
        return status("VmHWM")
    import resource
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return rss if sys.platform == "darwin" else rss * 1024

if os.path.exists("/proc/self/clear_refs"):
    with open("/proc/self/clear_refs", "w") as f:  # reset the peak (VmHWM) after the imports
        f.write("5")
before = peak()
df = bb.read_results(sys.argv[1], schema={fields!r}).to_pandas()
print(peak() - before, len(df))
"""


def main() -> None:
    a = corpus_args(__doc__).parse_args()
    peers = load_peers(a.peers)
    rows = cleaned_rows(peers, a.corpus, a.records)
    path = os.path.join(tempfile.mkdtemp(), "part-00001.jsonl.out")
    size = peers.make_output(rows, path)

    def ours() -> Any:
        return bb.read_results(path, schema=FIELDS).to_pandas()

    contenders = [
        ("bb.read_results().to_pandas()", ours),
        ("polars read_ndjson + json_decode", lambda: peers.polars_parse(path)),
        ("json.loads loop (baseline)", lambda: peers.baseline_parse(path)),
    ]
    results = []
    for name, fn in contenders:
        t, out = timed(fn, a.repeat)
        results.append((name, t))
        if name.startswith("bb"):
            ok = int((out["status"] == "succeeded").sum())
            assert ok == len(rows) - sum(1 for k in range(len(rows)) if k % 97 == 13), ok
            assert list(out.columns[3:6]) == FIELDS
    try:
        child = subprocess.run(
            [sys.executable, "-c", CHILD.format(fields=FIELDS), path],
            capture_output=True,
            text=True,
            check=True,
        )
        grown, n = (int(x) for x in child.stdout.split())
    except (subprocess.CalledProcessError, ValueError):  # no /proc and no resource (Windows)
        grown, n = -1, len(rows)
    print(
        f"{len(rows)} records, {size / 1e6:.1f} MB output file; {os.cpu_count()} cores, python {sys.version.split()[0]}\n"
    )
    print("| parsing into a DataFrame | seconds (median) | MB/s | bb.read_results is faster by |")
    print("|---|---:|---:|---:|")
    for name, t in results:
        print(f"| {name} | {t:.3f} | {size / 1e6 / t:,.0f} | {t / results[0][1]:.1f}x |")
    if grown < 0:
        print("\npeak memory not measured on this platform")
    else:
        print(
            f"\npeak memory growth while parsing ({n} rows): {grown / 1e6:.1f} MB = {grown / size:.2f}x the file size"
        )


if __name__ == "__main__":
    main()
